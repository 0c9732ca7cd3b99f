//! `motcua serve`: run a hub.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use server::device::client::Endpoint;
use server::hub::tls::TlsSource;
use server::hub::uplink::UplinkConfig;
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
    /// With --demo: on first start, also give the demo communes this many
    /// realistic dossiers received over the past two months.
    #[arg(long, default_value_t = 0)]
    demo_dossiers: usize,
    /// Directory of the built web app to serve (default: pwa/dist when it exists).
    #[arg(long)]
    pwa: Option<PathBuf>,
    /// Sync this hub's scope with a parent hub (a commune node under its
    /// province, a district under its province).
    #[arg(long)]
    uplink: Option<String>,
    /// The token this hub was enrolled with at the parent (kept after the
    /// first start; see --uplink-code).
    #[arg(long, requires = "uplink")]
    uplink_token: Option<String>,
    /// A one-time enrolment code the parent's administrator made for this
    /// hub (`motcua admin enrolment --hub`); exchanged for a token on first
    /// start.
    #[arg(long, requires = "uplink")]
    uplink_code: Option<String>,
    /// Seconds to wait for an expected answer from the parent before
    /// starting the connection again.
    #[arg(long, default_value_t = server::device::client::STALL_AFTER.as_secs())]
    uplink_stall_after: u64,
    /// Seconds between checks, on a connection that stays up, that this
    /// hub and its parent hold the same documents.
    #[arg(long, default_value_t = server::device::client::VERIFY_EVERY.as_secs())]
    uplink_verify_every: u64,
    /// Longest wait, in seconds, between attempts to reach the parent.
    #[arg(long, default_value_t = 60)]
    uplink_retry_max: u64,
    /// Trust this PEM certificate for the parent (its self-signed one).
    #[arg(long)]
    uplink_ca_cert: Option<PathBuf>,
    /// Documents kept loaded in memory; the others load when needed.
    #[arg(long, default_value_t = server::store::documents::CACHE_DOCS)]
    cache_documents: usize,
    /// How log lines on standard error look: text, or one JSON object a line.
    #[arg(long, value_enum, default_value_t, env = "MOTCUA_LOG_FORMAT")]
    pub(super) log_format: server::logging::LogFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open_with_cache(&args.data, args.cache_documents)
        .with_context(|| format!("opening the hub database in {}", args.data.display()))?;
    let uplink = match &args.uplink {
        Some(url) => {
            if args.demo {
                anyhow::bail!(
                    "--demo seeds a top hub; a hub with --uplink receives its configuration from the parent"
                );
            }
            let mut endpoint = Endpoint::parse(url, args.uplink_ca_cert.as_deref())?;
            endpoint.stall_after = std::time::Duration::from_secs(args.uplink_stall_after.max(1));
            endpoint.verify_every = std::time::Duration::from_secs(args.uplink_verify_every.max(1));
            let token = uplink_token(
                &store,
                url,
                args.uplink_token.as_deref(),
                args.uplink_code.as_deref(),
                args.uplink_ca_cert.as_deref(),
            )?;
            store.set_uplink(url)?;
            Some(UplinkConfig {
                endpoint,
                token,
                retry_max: std::time::Duration::from_secs(args.uplink_retry_max.max(1)),
            })
        }
        None => None,
    };
    if args.demo {
        let logins = server::hub::demo::seed(&store)?;
        println!("{logins}");
        if args.demo_dossiers > 0 && store.dossier_count()? == 0 {
            let communes = store.units().commune_codes();
            let plan = server::hub::seed::SeedPlan {
                days: 60,
                ..server::hub::seed::SeedPlan::new(args.demo_dossiers, communes)
            };
            server::hub::seed::seed_dossiers(&store, &plan, None)?;
            println!(
                "{} demo dossiers received in the demo communes",
                args.demo_dossiers
            );
        }
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
        uplink,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(hub::serve(Hub::new(store), config))
}

/// The token for the parent: given, kept from an earlier start, or obtained
/// once with a one-time enrolment code.
fn uplink_token(
    store: &Store,
    url: &str,
    token: Option<&str>,
    code: Option<&str>,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    if let Some(token) = token {
        store.set_meta("uplink_token", token)?;
        return Ok(token.to_string());
    }
    if let Some(token) = store.meta("uplink_token")? {
        return Ok(token);
    }
    let Some(code) = code else {
        anyhow::bail!("--uplink needs --uplink-token or --uplink-code the first time");
    };
    let mut enrol = url::Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    enrol.set_path("/api/enrol");
    let body = serde_json::json!({ "code": code, "actors": [store.actor().to_hex_string()] });
    let runtime = tokio::runtime::Runtime::new()?;
    let enrolled: serde_json::Value =
        runtime.block_on(server::device::client::post_json(&enrol, &body, ca_cert))?;
    let token = enrolled["token"]
        .as_str()
        .context("the parent sent no token")?
        .to_string();
    store.set_meta("uplink_token", &token)?;
    Ok(token)
}
