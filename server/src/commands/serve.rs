//! `motcua serve`: run a hub.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use server::hub::tls::TlsSource;
use server::hub::{self, Hub, ServeConfig};
use server::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory holding the hub's SQLite database (created on first run).
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PEM certificate (with --tls-key).
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Make a self-signed certificate (kept in <data>/tls/) and serve HTTPS.
    #[arg(long)]
    tls_self_signed: bool,
    /// Allow plain HTTP on an address other than loopback.
    #[arg(long)]
    insecure: bool,
    /// Seed a demo province (units, users, devices, catalogue, calendar) and print the log-ins.
    #[arg(long)]
    demo: bool,
    /// Directory of the built web app to serve (default: pwa/dist when it exists).
    #[arg(long)]
    pwa: Option<PathBuf>,
    /// Documents kept loaded in memory; the others load when needed.
    #[arg(long, default_value_t = server::store::documents::CACHE_DOCS)]
    cache_documents: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open_with_cache(&args.data, args.cache_documents)
        .with_context(|| format!("opening the hub database in {}", args.data.display()))?;
    if args.demo {
        let logins = server::hub::demo::seed(&store)?;
        println!("{logins}");
    }
    let tls = match (args.tls_cert, args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
        (_, _, true) => Some(TlsSource::SelfSigned),
        _ => None,
    };
    let pwa = args
        .pwa
        .or_else(|| Some(PathBuf::from("pwa/dist")).filter(|p| p.join("index.html").exists()));
    let config = ServeConfig {
        data: args.data,
        listen: args.listen,
        tls,
        insecure: args.insecure,
        pwa,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(hub::serve(Hub::new(store), config))
}
