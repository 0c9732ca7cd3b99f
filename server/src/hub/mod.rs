//! The hub: HTTP API, WebSocket sync, TLS, serving the web app.
//!
//! - [`sync`] — the `/sync` WebSocket endpoint, one sans-IO session per
//!   device.
//! - [`api`] — the JSON API (log-in, dossiers, public look-up,
//!   administration).
//! - [`admin_config`] — editing and republishing units, catalogue and
//!   calendar.
//! - [`browser_devices`] — a logged-in user's browser enrols itself.
//! - [`webapp`] — serving the built web app, with its caching rules.
//! - [`reports`] — report 06a, the late-dossier report, forms 06 and 07.
//! - [`demo`] — the demo province.
//! - [`publish`] — publishing units, catalogue and calendar to devices.
//! - [`seed`] — filling a hub with realistic dossiers fast, through its own
//!   commit path (benchmarks, trials at a province's scale).
//! - [`metrics`] — Prometheus metrics.
//! - [`requests`] — a request id and a log span for every request.
//! - [`headers`] — CSP, nosniff, referrer policy and (over TLS) HSTS.
//! - [`tls`] — certificate files or a self-signed certificate.
//! - [`uplink`] — syncing this hub's scope with a parent hub.

pub mod admin_config;
pub mod api;
pub mod browser_devices;
pub mod demo;
pub mod headers;
pub mod login_guard;
pub mod metrics;
pub mod publish;
pub mod reports;
pub mod requests;
pub mod seed;
pub mod sync;
pub mod tls;
pub mod uplink;
pub mod webapp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use client_core::sync::hub::Committed;
use tokio::sync::broadcast;

use crate::store::Store;
use metrics::Metrics;
use tls::TlsSource;

/// Live changes kept for connections that fall behind, before they must
/// catch up from the database instead.
const LIVE_BUFFER: usize = 4096;

/// State shared by every request and connection.
pub struct Hub {
    pub store: Store,
    pub commits: broadcast::Sender<Committed>,
    pub metrics: Metrics,
    pub public_limiter: api::RateLimiter,
    pub login_guard: login_guard::LoginGuard,
}

impl Hub {
    pub fn new(store: Store) -> Arc<Hub> {
        let (commits, _) = broadcast::channel(LIVE_BUFFER);
        // Fan-out happens inside the store's write lock, so connections see
        // changes in sequence order.
        let sender = commits.clone();
        store.set_commit_listener(move |batch| {
            for c in batch {
                // No receivers is fine: nobody else is connected.
                let _ = sender.send(c.clone());
            }
        });
        Arc::new(Hub {
            metrics: Metrics::new(&store),
            store,
            commits,
            public_limiter: api::RateLimiter::public_lookup(),
            login_guard: login_guard::LoginGuard::default(),
        })
    }

    /// Every route the hub serves.
    pub fn router(self: &Arc<Hub>, pwa: Option<PathBuf>) -> Router {
        let mut router = Router::new()
            .route("/healthz", get(api::healthz))
            .route("/readyz", get(api::readyz))
            .route("/metrics", get(api::metrics))
            .route("/sync", get(sync::upgrade))
            .merge(api::routes())
            .merge(browser_devices::routes())
            .merge(admin_config::routes())
            .merge(reports::routes());
        if let Some(dir) = pwa {
            router = router.merge(webapp::routes(dir));
        }
        let router = router
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                metrics::observe_http,
            ))
            .with_state(self.clone());
        requests::layer(router)
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub tls: Option<TlsSource>,
    /// Allow plain HTTP on an address other than loopback.
    pub insecure: bool,
    pub pwa: Option<PathBuf>,
    pub uplink: Option<uplink::UplinkConfig>,
}

/// Runs the hub until it is stopped (Ctrl-C or SIGTERM).
pub async fn serve(hub: Arc<Hub>, config: ServeConfig) -> anyhow::Result<()> {
    if config.tls.is_none() && !config.listen.ip().is_loopback() && !config.insecure {
        anyhow::bail!(
            "refusing to serve plain HTTP on {}: use --tls-self-signed or --tls-cert/--tls-key, \
             listen on a loopback address, or pass --insecure to accept the risk",
            config.listen
        );
    }
    let app = headers::layer(hub.router(config.pwa.clone()), config.tls.is_some())
        .into_make_service_with_connect_info::<SocketAddr>();
    if let Some(uplink) = config.uplink.clone() {
        tokio::spawn(uplink::run(hub.clone(), uplink));
    }
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    match &config.tls {
        Some(source) => {
            let identity = tls::load(source, &config.data)?;
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem(
                identity.cert_pem.clone(),
                identity.key_pem.clone(),
            )
            .await
            .context("loading the TLS certificate and key")?;
            announce("https", addr, Some(&identity));
            axum_server::from_tcp_rustls(listener, rustls)?
                .handle(handle)
                .serve(app)
                .await?;
        }
        None => {
            announce("http", addr, None);
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(app)
                .await?;
        }
    }
    Ok(())
}

fn announce(scheme: &str, addr: SocketAddr, tls: Option<&tls::TlsIdentity>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // Tests and scripts read this line to find the port.
    let _ = writeln!(out, "motcua hub listening on {scheme}://{addr}");
    if let Some(identity) = tls {
        let _ = writeln!(
            out,
            "TLS certificate: {} (SHA-256 {})",
            identity.cert_path.display(),
            identity.fingerprint()
        );
    }
    let _ = out.flush();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
