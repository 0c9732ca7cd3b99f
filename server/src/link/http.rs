//! The JSON requests a node makes to a hub outside the sync (enrolment).

use anyhow::Context;

use super::tls_client_config;

/// A small HTTP/1.1 JSON POST over the same TLS setup the sync uses.
pub async fn post_json<T: serde::de::DeserializeOwned>(
    url: &url::Url,
    body: &serde_json::Value,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<T> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.host_str().context("the URL has no host")?.to_string();
    let port = url.port_or_known_default().context("the URL has no port")?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot reach {host}:{port}"))?;
    let payload = body.to_string();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        url.path(),
        payload.len()
    );
    let mut response = Vec::new();
    if url.scheme() == "https" {
        let config = std::sync::Arc::new(tls_client_config(ca_cert)?);
        let name = rustls_pki_types::ServerName::try_from(host.clone())?;
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .context("TLS handshake with the hub failed")?;
        tls.write_all(request.as_bytes()).await?;
        tls.read_to_end(&mut response).await?;
    } else {
        let mut tcp = tcp;
        tcp.write_all(request.as_bytes()).await?;
        tcp.read_to_end(&mut response).await?;
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the hub sent no HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the hub sent a malformed HTTP response")?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.to_string());
        anyhow::bail!("the hub answered {status}: {message}");
    }
    serde_json::from_str(body).context("the hub's answer is not the expected JSON")
}
