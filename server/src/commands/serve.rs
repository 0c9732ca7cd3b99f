//! `motcua serve`: run a hub.
//!
//! Every setting comes from a flag, an environment variable (`MOTCUA_…`),
//! a key of the TOML file given with `--config`, or its default, in that
//! order of precedence. The file is read into the same struct clap fills, so
//! a flag added here is a file key too.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};
use server::hub::tls::TlsSource;
use server::hub::uplink::UplinkConfig;
use server::hub::{self, Hub, ServeConfig};
use server::link::Endpoint;
use server::store::Store;

const PRECEDENCE: &str = "\
Every flag can also be given as an environment variable (shown as [env: …]) \
or as a key of the --config file, named as the flag without its leading dashes: \
`listen = \"0.0.0.0:8443\"`, `tls-self-signed = true`, `cache-documents = 20000`. \
A flag wins over its variable, the variable over the file, the file over the default. \
A key the file does not know is refused.";

/// The settings of a hub. Field names are the flags; in the file they are
/// written as the flags are (`tls-cert`), hence kebab-case.
#[derive(Debug, clap::Args, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Args {
    /// A TOML file of settings (see below).
    #[arg(long, env = "MOTCUA_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Directory holding the hub's SQLite database (created on first run). Required.
    #[arg(long, env = "MOTCUA_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "MOTCUA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PEM certificate (with --tls-key).
    #[arg(long, env = "MOTCUA_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, env = "MOTCUA_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Make a self-signed certificate (kept in <data>/tls/) and serve HTTPS.
    #[arg(long, env = "MOTCUA_TLS_SELF_SIGNED", value_parser = BoolishValueParser::new())]
    tls_self_signed: bool,
    /// Allow plain HTTP on an address other than loopback.
    #[arg(long, env = "MOTCUA_INSECURE", value_parser = BoolishValueParser::new())]
    insecure: bool,
    /// Behind a reverse proxy you run that appends the client's address to
    /// X-Forwarded-For: throttle log-ins by that address, not the proxy's.
    #[arg(long, env = "MOTCUA_TRUST_FORWARDED_FOR", value_parser = BoolishValueParser::new())]
    trust_forwarded_for: bool,
    /// Seed a demo province (units, users, devices, catalogue, calendar) and print the log-ins.
    #[arg(long, env = "MOTCUA_DEMO", value_parser = BoolishValueParser::new())]
    demo: bool,
    /// With --demo: on first start, also give the demo communes this many
    /// realistic dossiers received over the past two months.
    #[arg(long, env = "MOTCUA_DEMO_DOSSIERS", default_value_t = 0)]
    demo_dossiers: usize,
    /// Directory of the built web app to serve (default: the installed one,
    /// see `webapp::installed`).
    #[arg(long, env = "MOTCUA_PWA", value_name = "DIR")]
    pwa: Option<PathBuf>,
    /// Sync this hub's scope with a parent hub (a commune node under its
    /// province, a district under its province).
    #[arg(long, env = "MOTCUA_UPLINK", value_name = "URL")]
    uplink: Option<String>,
    /// The token this hub was enrolled with at the parent (kept after the
    /// first start; see --uplink-code). With --uplink.
    #[arg(long, env = "MOTCUA_UPLINK_TOKEN")]
    uplink_token: Option<String>,
    /// A one-time enrolment code the parent's administrator made for this
    /// hub (`motcua admin enrolment --hub`); exchanged for a token on first
    /// start. With --uplink.
    #[arg(long, env = "MOTCUA_UPLINK_CODE")]
    uplink_code: Option<String>,
    /// Seconds to wait for an expected answer from the parent before
    /// starting the connection again.
    #[arg(long, env = "MOTCUA_UPLINK_STALL_AFTER", default_value_t = server::link::STALL_AFTER.as_secs())]
    uplink_stall_after: u64,
    /// Seconds between checks, on a connection that stays up, that this
    /// hub and its parent hold the same documents.
    #[arg(long, env = "MOTCUA_UPLINK_VERIFY_EVERY", default_value_t = server::link::VERIFY_EVERY.as_secs())]
    uplink_verify_every: u64,
    /// Longest wait, in seconds, between attempts to reach the parent.
    #[arg(long, env = "MOTCUA_UPLINK_RETRY_MAX", default_value_t = 60)]
    uplink_retry_max: u64,
    /// Trust this PEM certificate for the parent (its self-signed one).
    #[arg(long, env = "MOTCUA_UPLINK_CA_CERT", value_name = "FILE")]
    uplink_ca_cert: Option<PathBuf>,
    /// Documents kept loaded in memory; the others load when needed.
    #[arg(long, env = "MOTCUA_CACHE_DOCUMENTS", default_value_t = server::store::documents::CACHE_DOCS)]
    cache_documents: usize,
    /// Back the database up into this directory every --backup-every
    /// (files `motcua-backup-<UTC time>.tar`, as `motcua admin backup`).
    #[arg(long, env = "MOTCUA_BACKUP_DIR", value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Time between scheduled backups, e.g. 6h, 30m, 1day (with --backup-dir).
    #[arg(long, env = "MOTCUA_BACKUP_EVERY", default_value = "6h", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    backup_every: std::time::Duration,
    /// Scheduled backups kept in --backup-dir; older ones are deleted.
    #[arg(long, env = "MOTCUA_BACKUP_KEEP", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..))]
    backup_keep: u32,
    /// How log lines on standard error look: text, or one JSON object a line.
    #[arg(long, value_enum, default_value_t, env = "MOTCUA_LOG_FORMAT")]
    pub(super) log_format: server::logging::LogFormat,
}

/// What clap parsed, and which settings a flag or a variable gave (those
/// the file must not override).
#[derive(Debug)]
pub struct Layered {
    args: Args,
    given: Vec<String>,
}

fn flags() -> clap::Command {
    <Args as clap::Args>::augment_args(clap::Command::new("serve"))
}

impl clap::Args for Layered {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Args::augment_args(cmd).after_help(PRECEDENCE)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Args::augment_args_for_update(cmd).after_help(PRECEDENCE)
    }
}

impl clap::FromArgMatches for Layered {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let given = flags()
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .filter(|id| {
                matches!(
                    matches.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .map(file_key)
            .collect();
        Ok(Layered {
            args: Args::from_arg_matches(matches)?,
            given,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// A flag's id (`tls_cert`) as its key in the file (`tls-cert`).
fn file_key(id: &str) -> String {
    id.replace('_', "-")
}

impl Layered {
    /// The log format, known before anything else runs (logging starts
    /// first): a flag or variable, else the file's `log-format`, else text.
    /// An unreadable file is reported by [`Layered::resolve`] afterwards.
    pub(super) fn log_format(&self) -> server::logging::LogFormat {
        let from_file = || {
            let text = std::fs::read_to_string(self.args.config.as_ref()?).ok()?;
            let file: toml::Table = toml::from_str(&text).ok()?;
            file.get("log-format")?.clone().try_into().ok()
        };
        if self.given.iter().any(|k| k == "log-format") {
            return self.args.log_format;
        }
        from_file().unwrap_or(self.args.log_format)
    }

    /// The settings: flags and variables over the file over the defaults.
    fn resolve(self) -> anyhow::Result<Args> {
        let Layered { args, given } = self;
        let Some(path) = args.config.clone() else {
            return Ok(args);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let file: toml::Table = toml::from_str(&text)
            .with_context(|| format!("the config file {} is not valid TOML", path.display()))?;
        let known: Vec<String> = flags()
            .get_arguments()
            .map(|a| file_key(a.get_id().as_str()))
            .filter(|k| k != "config")
            .collect();
        if let Some(unknown) = file.keys().find(|k| !known.contains(k)) {
            anyhow::bail!(
                "the config file {} has an unknown key `{unknown}`; the keys are: {}",
                path.display(),
                known.join(", ")
            );
        }
        let mut merged = toml::Table::try_from(&args)?;
        for (key, value) in file {
            if !given.contains(&key) {
                merged.insert(key, value);
            }
        }
        let mut resolved: Args = merged
            .try_into()
            .with_context(|| format!("in the config file {}", path.display()))?;
        resolved.config = Some(path);
        Ok(resolved)
    }
}

impl Args {
    /// The checks between settings, made once every source has been read
    /// (a certificate may be in the file and its key in a variable).
    fn check(&self) -> anyhow::Result<PathBuf> {
        let data = self
            .data
            .clone()
            .context("--data DIR is required (or MOTCUA_DATA, or `data` in the --config file)")?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("--tls-cert and --tls-key go together: give both or neither");
        }
        if self.tls_cert.is_some() && self.tls_self_signed {
            anyhow::bail!("--tls-cert and --tls-self-signed exclude each other: choose one");
        }
        if self.uplink.is_none() && (self.uplink_token.is_some() || self.uplink_code.is_some()) {
            anyhow::bail!("--uplink-token and --uplink-code need --uplink (the parent hub's URL)");
        }
        if self.backup_keep == 0 {
            anyhow::bail!("--backup-keep must keep at least one backup");
        }
        Ok(data)
    }
}

pub fn run(args: Layered) -> anyhow::Result<()> {
    let args = args.resolve()?;
    let data = args.check()?;
    let store = Store::open_with_cache(&data, args.cache_documents)
        .with_context(|| format!("opening the hub database in {}", data.display()))?;
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
    if let Some(dir) = &args.backup_dir {
        let every = args.backup_every.max(std::time::Duration::from_secs(1));
        server::store::backup::schedule(
            data.clone(),
            dir.clone(),
            every,
            args.backup_keep as usize,
        )
        .context("starting scheduled backups")?;
    }
    let tls = match (args.tls_cert, args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
        (_, _, true) => Some(TlsSource::SelfSigned),
        _ => None,
    };
    let pwa = args.pwa.or_else(server::hub::webapp::installed);
    let config = ServeConfig {
        data,
        listen: args.listen,
        tls,
        insecure: args.insecure,
        pwa,
        uplink,
    };
    let hub = Hub::new(store);
    hub.login_guard
        .trust_forwarded_for(args.trust_forwarded_for);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(hub::serve(hub, config))
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
        runtime.block_on(server::link::post_json(&enrol, &body, ca_cert))?;
    let token = enrolled["token"]
        .as_str()
        .context("the parent sent no token")?
        .to_string();
    store.set_meta("uplink_token", &token)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flag added later gets its variable and its file key like the others.
    #[test]
    fn every_flag_has_its_variable() {
        for arg in flags().get_arguments() {
            let id = arg.get_id().as_str();
            let want = format!("MOTCUA_{}", id.to_ascii_uppercase());
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(want.as_str()),
                "--{}",
                file_key(id)
            );
        }
    }
}
