//! The link from a node to the hub above it, shared by the native device
//! (`device::client`) and a hub syncing with its parent (`hub::uplink`):
//! where the hub is ([`Endpoint`]), how its certificate is trusted
//! ([`tls_client_config`]), the WebSocket ([`connect`]) and the engine's
//! frames over it ([`send_frames`], [`read_frame`]), how long a quiet link
//! is trusted, how reconnections back off ([`Backoff`]), and the small JSON
//! requests made before a sync (enrolment, [`post_json`]).

mod backoff;
mod http;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use client_core::sync::device::{DeviceSync, Millis, Timers};
use client_core::sync::protocol::limits;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use backoff::Backoff;
pub use http::post_json;

/// Where to sync, and how to trust the hub's certificate.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: url::Url,
    /// A PEM certificate to trust (the hub's self-signed one); without it,
    /// the system's trusted roots.
    pub ca_cert: Option<std::path::PathBuf>,
    /// How long to wait for an expected answer before giving up on the
    /// connection and starting again (answers lost on a broken link).
    pub stall_after: Duration,
    /// On a connection that stays up, how often to check again that both
    /// ends hold the same heads (repairs what a faulty link lost).
    pub verify_every: Duration,
}

/// The engine's defaults ([`Timers`] says why), as the flags' defaults.
pub const STALL_AFTER: Duration = Duration::from_millis(Timers::DEFAULT.stall_after);
pub const VERIFY_EVERY: Duration = Duration::from_millis(Timers::DEFAULT.verify_every);

impl Endpoint {
    /// Accepts `http(s)://host:port` or `ws(s)://host:port[/sync]`.
    pub fn parse(server: &str, ca_cert: Option<&Path>) -> anyhow::Result<Endpoint> {
        let mut url = url::Url::parse(server)
            .with_context(|| format!("'{server}' is not a URL such as https://hub.example:8443"))?;
        let scheme = match url.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            other => bail!("unsupported scheme '{other}': use https:// (or http:// on loopback)"),
        };
        url.set_scheme(scheme)
            .map_err(|_| anyhow::anyhow!("cannot use scheme {scheme}"))?;
        if !url.path().ends_with("/sync") {
            url.set_path("/sync");
        }
        Ok(Endpoint {
            url,
            ca_cert: ca_cert.map(Path::to_path_buf),
            stall_after: STALL_AFTER,
            verify_every: VERIFY_EVERY,
        })
    }

    /// The engine's timers as set for this endpoint.
    pub fn timers(&self) -> Timers {
        Timers {
            stall_after: self.stall_after.as_millis() as Millis,
            verify_every: self.verify_every.as_millis() as Millis,
        }
    }
}

/// On a link that stays up: how often an idle link is pinged, and after how
/// long without a word from the hub it is given up.
pub const PING_EVERY: Duration = Duration::from_secs(15);
pub const LINK_DEAD_AFTER: Duration = Duration::from_secs(45);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(endpoint: &Endpoint) -> anyhow::Result<Socket> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(limits::MAX_FRAME_BYTES + 1024 * 1024);
    config.max_frame_size = Some(limits::MAX_FRAME_BYTES + 1024 * 1024);
    let connector = if endpoint.url.scheme() == "wss" {
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(
            tls_client_config(endpoint.ca_cert.as_deref())?,
        )))
    } else {
        None
    };
    let (socket, response) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_tls_with_config(
            endpoint.url.as_str(),
            Some(config),
            true,
            connector,
        ),
    )
    .await
    .context("timed out connecting to the hub")?
    .with_context(|| format!("cannot connect to {}", endpoint.url))?;
    // The hub logs the whole session under this id: quote it to its operator.
    if let Some(id) = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
    {
        tracing::info!(request_id = %id, "connected to {}", endpoint.url);
    }
    Ok(socket)
}

/// Trusts the PEM certificate(s) in `ca_cert` (a hub's self-signed one)
/// or, without it, the system's trusted roots.
pub fn tls_client_config(ca_cert: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_cert {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls_pki_types::CertificateDer<'static> =
                    cert.with_context(|| format!("{} is not a PEM certificate", path.display()))?;
                roots.add(cert)?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Sends every frame the engine has ready.
pub async fn send_frames(socket: &mut Socket, engine: &mut DeviceSync) -> anyhow::Result<()> {
    while let Some(frame) = engine.poll_transmit() {
        socket.send(WsMessage::Binary(frame.into())).await?;
    }
    Ok(())
}

/// What came in on the socket: a frame for the engine, `None` for the
/// WebSocket's own messages (pings, pongs), or the end of the link, as an
/// error that names the `peer` ("hub", "parent hub") and its reason.
pub fn read_frame(
    incoming: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    peer: &str,
) -> anyhow::Result<Option<bytes::Bytes>> {
    match incoming {
        None => bail!("the {peer} closed the connection"),
        Some(Err(e)) => Err(e).with_context(|| format!("the connection to the {peer} failed")),
        Some(Ok(WsMessage::Binary(frame))) => Ok(Some(frame)),
        Some(Ok(WsMessage::Close(frame))) => bail!(
            "the {peer} closed the connection{}",
            frame.map(|f| format!(": {}", f.reason)).unwrap_or_default()
        ),
        Some(Ok(_)) => Ok(None),
    }
}

/// A driver's clock for the engine: milliseconds since it started.
pub struct Clock(std::time::Instant);

impl Clock {
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    pub fn now(&self) -> Millis {
        self.0.elapsed().as_millis() as Millis
    }

    /// Sleeps until the engine's deadline; forever when it has none.
    pub async fn sleep_until(&self, deadline: Option<Millis>) {
        match deadline {
            Some(at) => tokio::time::sleep_until((self.0 + Duration::from_millis(at)).into()).await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_map_to_the_sync_path_and_websocket_schemes() {
        assert_eq!(
            Endpoint::parse("https://hub.example:8443", None)
                .unwrap()
                .url
                .as_str(),
            "wss://hub.example:8443/sync"
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9000/", None)
                .unwrap()
                .url
                .as_str(),
            "ws://127.0.0.1:9000/sync"
        );
        assert!(Endpoint::parse("ftp://x", None).is_err());
    }
}
