//! How `motcua` reads its settings, through the real binary: every `serve`
//! setting from a flag, an environment variable or the `--config` TOML
//! file, in that order, over the default; an unknown key in the file refused
//! by name; and a typo in an enumerated option refused by clap, with the
//! choices, before anything is created or written.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use motcua_tests::hub::{TempDir, motcua_bin};

const DB_FILE: &str = "motcua.sqlite";

/// `motcua` with only the environment a test gives it (no `MOTCUA_*`
/// variable of the machine running the tests leaks in).
fn motcua_cmd(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(motcua_bin());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MOTCUA_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .env("MOTCUA_LOG", "warn")
        .envs(env.iter().copied());
    cmd
}

/// A hub started with these arguments and variables; killed when dropped.
struct Started {
    child: Child,
    /// `http://host:port` it listens on.
    url: String,
    /// What it printed before listening.
    banner: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], env: &[(&str, &str)]) -> Started {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    let child = motcua_cmd(&all, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting motcua serve");
    // Owned by `Started` at once, so a failure below still stops the hub.
    let mut hub = Started {
        child,
        url: String::new(),
        banner: String::new(),
    };
    let mut reader = BufReader::new(hub.child.stdout.take().expect("stdout"));
    loop {
        let mut line = String::new();
        if reader
            .read_line(&mut line)
            .expect("reading the hub's output")
            == 0
        {
            panic!(
                "the hub exited before listening; it printed:\n{}",
                hub.banner
            );
        }
        if let Some(url) = line.trim().strip_prefix("motcua hub listening on ") {
            hub.url = url.to_string();
            std::thread::spawn(move || for _ in reader.lines() {});
            return hub;
        }
        hub.banner.push_str(&line);
    }
}

/// Runs `motcua` to its end.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    motcua_cmd(args, env).output().expect("running motcua")
}

fn host(url: &str) -> &str {
    let authority = url.split("://").nth(1).expect("scheme://host:port");
    authority.rsplit_once(':').expect("host:port").0
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("motcua.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

// Every loopback address 127.0.0.0/8 answers on Linux, so each level of
// precedence gets its own host and the address the hub prints says which
// level won; port 0 keeps the tests clear of each other.

#[test]
fn the_config_file_sets_what_no_flag_or_variable_gives() {
    let tmp = TempDir::new("config-file");
    let data = tmp.path().join("from-file");
    let config = write_config(
        tmp.path(),
        &format!(
            "data = {:?}\nlisten = \"127.0.0.2:0\"\ndemo = true\ndemo-dossiers = 2\n",
            path_str(&data)
        ),
    );
    let hub = serve(&["--config", &config], &[]);
    assert_eq!(host(&hub.url), "127.0.0.2", "listen from the file");
    assert!(data.join(DB_FILE).exists(), "data from the file");
    assert!(
        hub.banner.contains("2 demo dossiers received"),
        "demo and demo-dossiers from the file:\n{}",
        hub.banner
    );
}

#[test]
fn a_variable_beats_the_config_file() {
    let tmp = TempDir::new("config-env");
    let file_data = tmp.path().join("from-file");
    let env_data = tmp.path().join("from-env");
    let config = write_config(
        tmp.path(),
        &format!(
            "data = {:?}\nlisten = \"127.0.0.2:0\"\n",
            path_str(&file_data)
        ),
    );
    // The file itself named by a variable too.
    let hub = serve(
        &[],
        &[
            ("MOTCUA_CONFIG", &config),
            ("MOTCUA_DATA", path_str(&env_data)),
            ("MOTCUA_LISTEN", "127.0.0.3:0"),
        ],
    );
    assert_eq!(host(&hub.url), "127.0.0.3");
    assert!(env_data.join(DB_FILE).exists());
    assert!(
        !file_data.exists(),
        "the file's data directory was not used"
    );
}

#[test]
fn a_flag_beats_the_variable_and_the_file() {
    let tmp = TempDir::new("config-flag");
    let file_data = tmp.path().join("from-file");
    let env_data = tmp.path().join("from-env");
    let flag_data = tmp.path().join("from-flag");
    let config = write_config(
        tmp.path(),
        &format!(
            "data = {:?}\nlisten = \"127.0.0.2:0\"\n",
            path_str(&file_data)
        ),
    );
    let hub = serve(
        &[
            "--config",
            &config,
            "--data",
            path_str(&flag_data),
            "--listen",
            "127.0.0.4:0",
        ],
        &[
            ("MOTCUA_DATA", path_str(&env_data)),
            ("MOTCUA_LISTEN", "127.0.0.3:0"),
        ],
    );
    assert_eq!(host(&hub.url), "127.0.0.4");
    assert!(flag_data.join(DB_FILE).exists());
    assert!(!file_data.exists() && !env_data.exists());
}

#[test]
fn defaults_hold_where_nothing_sets_a_value() {
    let tmp = TempDir::new("config-default");
    let data = tmp.path().join("data");
    // A boolean from a variable; --demo-dossiers from nowhere: its default
    // (0) gives the demo province no dossiers.
    let hub = serve(
        &["--data", path_str(&data), "--listen", "127.0.0.1:0"],
        &[("MOTCUA_DEMO", "true")],
    );
    assert!(hub.banner.contains("mcd_"), "demo log-ins:\n{}", hub.banner);
    assert!(
        !hub.banner.contains("demo dossiers received"),
        "{}",
        hub.banner
    );
    // A variable saying "false" is a value too, over a file saying true.
    let config = write_config(tmp.path(), "demo = true\n");
    let quiet = serve(
        &[
            "--config",
            &config,
            "--data",
            path_str(&tmp.path().join("other")),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("MOTCUA_DEMO", "false")],
    );
    assert!(!quiet.banner.contains("mcd_"), "{}", quiet.banner);
    let help = run(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[env: MOTCUA_LISTEN=]") && help.contains("[default: 127.0.0.1:8080]"));
    assert!(help.contains("A flag wins over its variable"), "{help}");
}

#[test]
fn an_unknown_key_in_the_config_file_is_refused_by_name() {
    let tmp = TempDir::new("config-unknown");
    let data = tmp.path().join("data");
    let config = write_config(
        tmp.path(),
        &format!("data = {:?}\nlisen = \"127.0.0.1:0\"\n", path_str(&data)),
    );
    let out = run(&["serve", "--config", &config], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("unknown key `lisen`"), "{stderr}");
    assert!(
        stderr.contains("listen"),
        "the known keys are listed: {stderr}"
    );
    assert!(!data.exists(), "nothing was created");
    // A value of the wrong type is refused too, naming the file.
    let config = write_config(
        tmp.path(),
        &format!("data = {:?}\ncache-documents = \"many\"\n", path_str(&data)),
    );
    let out = run(&["serve", "--config", &config], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&config) && stderr.contains("many"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing was created");
}

/// A typo in an enumerated option: clap's refusal listing the choices, a
/// non-zero exit, and nothing created or written.
fn refused(args: &[&str], typo: &str, choices: &str, untouched: &Path) {
    let out = run(args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "clap's usage error: {stderr}");
    assert!(
        stderr.contains(&format!("invalid value '{typo}'")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("[possible values: {choices}")),
        "{stderr}"
    );
    assert!(!untouched.exists(), "{} was created", untouched.display());
}

#[test]
fn a_typo_in_a_choice_is_refused_before_anything_runs() {
    let tmp = TempDir::new("choices");
    let data = tmp.path().join("data");
    let d = path_str(&data);
    let out_file = tmp.path().join("report.json");
    let o = path_str(&out_file);
    refused(
        &[
            "admin",
            "--data",
            d,
            "user",
            "--username",
            "lan",
            "--full-name",
            "Lan",
            "--role",
            "clerkk",
            "--unit",
            "X0101",
            "--password",
            "matkhau123",
        ],
        "clerkk",
        "clerk, specialist, leader, admin",
        &data,
    );
    refused(
        &[
            "admin", "--data", d, "unit", "--code", "X0101", "--name", "Xã", "--level", "comune",
        ],
        "comune",
        "national, province, district, commune",
        &data,
    );
    let scope = [
        "--data",
        d,
        "--unit",
        "T01",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--out",
        o,
    ];
    let mut group = vec!["report", "06a", "--group", "uint"];
    group.extend(scope);
    refused(&group, "uint", "total, unit, field, clerk", &out_file);
    let mut format = vec!["report", "late", "--format", "xslx"];
    format.extend(scope);
    refused(&format, "xslx", "json, csv, xlsx, html", &out_file);
    refused(
        &[
            "report",
            "form06",
            "--data",
            d,
            "X0101-260301-0001",
            "--format",
            "csv",
            "--out",
            o,
        ],
        "csv",
        "html, json",
        &out_file,
    );
    refused(
        &[
            "dossier",
            "stage",
            "--data",
            d,
            "X0101-260301-0001",
            "recieved",
        ],
        "recieved",
        "submitted, received, handed_over",
        &data,
    );
    refused(
        &[
            "dossier",
            "edit",
            "--data",
            d,
            "X0101-260301-0001",
            "--field",
            "applicant.fullname",
            "--value",
            "Lan",
        ],
        "applicant.fullname",
        "applicant.full_name, applicant.id_number",
        &data,
    );
    refused(
        &[
            "dossier",
            "receive",
            "--data",
            d,
            "--procedure",
            "1.001193",
            "--name",
            "Lan",
            "--id-number",
            "001086000123",
            "--channel",
            "onlin",
        ],
        "onlin",
        "direct, postal, online",
        &data,
    );
    // And --help lists them.
    let help = run(&["report", "06a", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("[possible values: json, csv, xlsx, html]"),
        "{help}"
    );
}
