//! `GET /sync`: the WebSocket endpoint devices sync through.
//!
//! A thin tokio driver around the sans-IO [`HubSession`]: frames in, frames
//! out, committed changes fanned out through a broadcast channel. Database
//! work runs on blocking threads so one device's heavy push never stalls
//! the runtime that serves the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use client_core::sync::hub::{HubEvent, HubSession};
use client_core::sync::protocol::{ErrorCode, ErrorMessage, Message, limits};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;

use super::Hub;

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(hub): State<Arc<Hub>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> Response {
    // The session outlives the upgrade request but keeps its span, so every
    // line it logs carries the request id the upgrade answered with.
    let span = tracing::Span::current();
    // Frames a little over our limit still reach the decoder, which answers
    // with a protocol error; far larger ones are cut by the WebSocket layer.
    ws.max_message_size(limits::MAX_FRAME_BYTES + 1024 * 1024)
        .max_frame_size(limits::MAX_FRAME_BYTES + 1024 * 1024)
        .on_upgrade(move |socket| {
            async move {
                let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
                hub.metrics.connections.inc();
                hub.metrics.connections_total.inc();
                match run(hub.clone(), socket, id).await {
                    Ok(()) => tracing::info!(connection = id, %addr, "sync connection closed"),
                    Err(e) => {
                        tracing::info!(connection = id, %addr, "sync connection ended: {e:#}")
                    }
                }
                hub.metrics.connections.dec();
                hub.metrics.forget_connection(id);
            }
            .instrument(span)
        })
}

async fn run(hub: Arc<Hub>, socket: WebSocket, id: u64) -> anyhow::Result<()> {
    let (mut sink, mut stream) = socket.split();
    let mut live = hub.commits.subscribe();
    let mut session = HubSession::new();
    // How long the last frame took to handle: a push's latency when it was one.
    let mut last_frame = Duration::ZERO;
    loop {
        // Send everything the session produced, then report its events.
        while let Some(frame) = session.poll_transmit() {
            hub.metrics.frames_out.inc();
            hub.metrics.bytes_out.inc_by(frame.len() as u64);
            sink.send(WsMessage::Binary(frame.into())).await?;
        }
        while let Some(event) = session.poll_event() {
            match event {
                // The store already fanned them out, in order.
                HubEvent::Committed(commits) => {
                    hub.metrics.pushes_accepted.inc_by(commits.len() as u64);
                }
                HubEvent::Acknowledged { documents } => {
                    hub.metrics.push_seconds.observe(last_frame.as_secs_f64());
                    tracing::debug!(connection = id, documents, "push acknowledged");
                }
                HubEvent::CaughtUp { documents, bytes } => {
                    hub.metrics.catchup_documents.observe(documents as f64);
                    hub.metrics.catchup_bytes.observe(bytes as f64);
                    tracing::info!(connection = id, documents, bytes, "caught up");
                }
                HubEvent::Refused {
                    doc,
                    reason,
                    message,
                } => {
                    hub.metrics.pushes_refused.inc();
                    tracing::warn!(connection = id, %doc, reason = reason.as_str(), "refused push: {message}");
                }
                HubEvent::BadFrame(message) => {
                    hub.metrics.bad_frames.inc();
                    tracing::warn!(connection = id, "sync error: {message}");
                }
                HubEvent::Authenticated(device) => {
                    tracing::info!(connection = id, device = %device.device_id, unit = %device.unit, "device connected");
                }
            }
        }
        hub.metrics.set_position(id, session.sent_upto());
        if session.is_closed() {
            let _ = sink.close().await;
            return Ok(());
        }

        let catching_up = session.is_catching_up();
        tokio::select! {
            biased;
            incoming = stream.next() => {
                let Some(incoming) = incoming else { return Ok(()) };
                match incoming? {
                    WsMessage::Binary(frame) => {
                        hub.metrics.frames_in.inc();
                        hub.metrics.bytes_in.inc_by(frame.len() as u64);
                        let started = Instant::now();
                        session = match on_blocking(&hub, session, move |session, store| session.handle_frame(&frame, store).map(|_| ())).await {
                            Ok(session) => session,
                            Err(e) => match disk_full(&e) {
                                // Nothing of the push was stored or acknowledged: the
                                // device is told why and keeps its changes for later.
                                Some(message) => {
                                    tracing::warn!(connection = id, "push refused: {message}");
                                    let error = ErrorMessage { code: ErrorCode::Internal, message, fatal: true };
                                    sink.send(WsMessage::Binary(Message::Error(error).encode().into())).await?;
                                    let _ = sink.close().await;
                                    return Ok(());
                                }
                                None => return Err(e),
                            },
                        };
                        last_frame = started.elapsed();
                    }
                    WsMessage::Text(_) => {
                        let error = ErrorMessage { code: ErrorCode::Malformed, message: "sync frames are binary".into(), fatal: true };
                        sink.send(WsMessage::Binary(Message::Error(error).encode().into())).await?;
                        hub.metrics.bad_frames.inc();
                        return Ok(());
                    }
                    WsMessage::Close(_) => return Ok(()),
                    WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                }
            }
            commit = live.recv() => match commit {
                Ok(c) => session.on_committed(&c),
                Err(RecvError::Lagged(_)) => session.on_lagged(),
                Err(RecvError::Closed) => return Ok(()),
            },
            // Catch-up pages go out only while nothing else is waiting.
            _ = std::future::ready(()), if catching_up => {
                session = on_blocking(&hub, session, |session, store| session.poll_catchup(store).map(|_| ())).await?;
            }
        }
    }
}

/// The store's explanation, when a step failed because the disk is full.
fn disk_full(e: &anyhow::Error) -> Option<String> {
    match e.downcast_ref::<client_core::sync::hub::HubSessionError<crate::store::StoreError>>() {
        Some(client_core::sync::hub::HubSessionError::Store(s)) if s.is_disk_full() => {
            Some(s.to_string())
        }
        _ => None,
    }
}

/// Runs a session step that touches the database on a blocking thread.
async fn on_blocking(
    hub: &Arc<Hub>,
    session: HubSession,
    step: impl FnOnce(
        &mut HubSession,
        &mut crate::store::Store,
    )
        -> Result<(), client_core::sync::hub::HubSessionError<crate::store::StoreError>>
    + Send
    + 'static,
) -> anyhow::Result<HubSession> {
    let mut store = hub.store.clone();
    let mut session = session;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        step(&mut session, &mut store)?;
        Ok::<_, anyhow::Error>(session)
    })
    .await?
}
