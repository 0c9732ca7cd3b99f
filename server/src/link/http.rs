//! The JSON requests a node makes to a hub outside the sync (enrolment),
//! with reqwest over the same rustls configuration the sync uses.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::tls_client_config;

/// How long an enrolment request may take in all, and to connect.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// POSTs `body` as JSON and reads the JSON answer; a hub's error answer
/// (`{"error": {"message"}}`) becomes the error's text.
pub async fn post_json<T: serde::de::DeserializeOwned>(
    url: &url::Url,
    body: &serde_json::Value,
    ca_cert: Option<&Path>,
) -> anyhow::Result<T> {
    post_json_within(url, body, ca_cert, REQUEST_TIMEOUT).await
}

/// [`post_json`], giving up after `timeout`.
pub async fn post_json_within<T: serde::de::DeserializeOwned>(
    url: &url::Url,
    body: &serde_json::Value,
    ca_cert: Option<&Path>,
    timeout: Duration,
) -> anyhow::Result<T> {
    let mut client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        // Enrolment codes and tokens go to the hub named, not elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if url.scheme() == "https" {
        client = client.use_preconfigured_tls(tls_client_config(ca_cert)?);
    }
    let client = client.build().context("setting up the HTTP client")?;
    let failed = |e: reqwest::Error| -> anyhow::Error {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or_default();
        if e.is_timeout() {
            anyhow::anyhow!(
                "the hub at {host}:{port} did not answer within {} s",
                timeout.as_secs_f64()
            )
        } else if e.is_connect() {
            anyhow::Error::new(e).context(format!("cannot reach {host}:{port}"))
        } else {
            anyhow::Error::new(e).context(format!("the request to {url} failed"))
        }
    };
    let response = client
        .post(url.as_str())
        .json(body)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    let text = response.text().await.map_err(failed)?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        anyhow::bail!("the hub answered {}: {message}", status.as_u16());
    }
    serde_json::from_str(&text).context("the hub's answer is not the expected JSON")
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// Reads one request, head and `Content-Length` body, off `stream`.
    async fn read_request(stream: &mut TcpStream) -> String {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("reading the request");
            assert!(n > 0, "the client closed before sending a whole request");
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
        }
    }

    /// A loopback server that answers one request with `answer`, sent as is.
    async fn answering_once(answer: &'static str) -> (url::Url, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!(
            "http://{}/api/enrol",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let request = read_request(&mut stream).await;
            stream.write_all(answer.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            request
        });
        (url, server)
    }

    #[tokio::test]
    async fn a_chunked_answer_is_decoded() {
        let (url, server) = answering_once(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             9\r\n{\"token\":\r\n8\r\n\"dev-1\"}\r\n0\r\n\r\n",
        )
        .await;
        let body = serde_json::json!({ "code": "ABCD-1234", "actors": [] });
        let answer: serde_json::Value = post_json(&url, &body, None).await.unwrap();
        assert_eq!(answer, serde_json::json!({ "token": "dev-1" }));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /api/enrol HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.ends_with(&body.to_string()), "{request}");
    }

    #[tokio::test]
    async fn a_chunked_error_answer_gives_the_hubs_message() {
        let (url, _server) = answering_once(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             13\r\n{\"error\":{\"code\":\"n\r\n2e\r\not_found\",\"message\":\"enrolment code unknown\"}}\r\n0\r\n\r\n",
        )
        .await;
        let err = post_json::<serde_json::Value>(&url, &serde_json::json!({}), None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the hub answered 404: enrolment code unknown"
        );
    }

    #[tokio::test]
    async fn a_hub_that_never_answers_is_given_up_with_a_clear_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!(
            "http://{}/api/enrol",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            read_request(&mut stream).await;
            // Keeps the connection open and silent until the client gives up.
            let _ = held.await;
        });
        let err = post_json_within::<serde_json::Value>(
            &url,
            &serde_json::json!({}),
            None,
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        let port = url.port().unwrap();
        assert_eq!(
            err.to_string(),
            format!("the hub at 127.0.0.1:{port} did not answer within 0.3 s")
        );
        drop(release);
        server.await.unwrap();
    }
}
