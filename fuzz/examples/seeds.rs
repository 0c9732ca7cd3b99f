//! Writes the seed corpora: `cargo run --example seeds -- <corpus dir>`
//! makes `<corpus dir>/<target>/<name>` for every fuzz target.

fn main() -> std::io::Result<()> {
    let root = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::path::PathBuf::from("corpus"), Into::into);
    let mut count = 0;
    for (target, name, bytes) in motcua_fuzz::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        count += 1;
    }
    println!("wrote {count} seeds under {}", root.display());
    Ok(())
}
