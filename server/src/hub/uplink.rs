//! `motcua serve --uplink <URL> --uplink-token <T>`: this hub syncs its
//! whole scope with a parent hub, as one device of the parent.
//!
//! The same sans-IO device engine the tablets use drives the connection,
//! over [`UplinkReplica`] (the hub's own database). Changes made here —
//! pushed by this hub's devices — go up as soon as they commit; changes that
//! come down are stored as this hub's own and fanned out to its devices
//! live. When the link is down this hub keeps serving its devices, and it
//! reconnects with back-off and jitter.

use std::sync::Arc;
use std::time::{Duration, Instant};

use client_core::sync::device::{DeviceConfig, DeviceEvent, DeviceSync};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::Hub;
use crate::link::{
    Backoff, Clock, Endpoint, LINK_DEAD_AFTER, PING_EVERY, connect, read_frame, send_frames,
};
use crate::store::documents::UPLINK_ORIGIN;
use crate::store::uplink::UplinkReplica;

#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub endpoint: Endpoint,
    pub token: String,
    /// The longest wait between reconnection attempts.
    pub retry_max: Duration,
}

/// Runs forever: connect, sync, stay live, reconnect after failures.
pub async fn run(hub: Arc<Hub>, config: UplinkConfig) {
    let mut backoff = Backoff::with_max(config.retry_max);
    loop {
        let started = Instant::now();
        match session(&hub, &config).await {
            Ok(()) => tracing::info!("uplink session ended; reconnecting"),
            Err(e) => tracing::warn!("uplink to {} failed: {e:#}", config.endpoint.url),
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Backoff::with_max(config.retry_max);
        }
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

/// Runs one engine step on a blocking thread (it reads and writes SQLite).
async fn step(
    engine: DeviceSync,
    replica: UplinkReplica,
    f: impl FnOnce(&mut DeviceSync, &mut UplinkReplica) -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<(DeviceSync, UplinkReplica)> {
    let (mut engine, mut replica) = (engine, replica);
    tokio::task::spawn_blocking(move || {
        f(&mut engine, &mut replica)?;
        Ok::<_, anyhow::Error>((engine, replica))
    })
    .await?
}

async fn session(hub: &Arc<Hub>, config: &UplinkConfig) -> anyhow::Result<()> {
    let store = hub.store.clone();
    let actors = relay_actors(&store).await?;
    // Refusals for actors the parent did not know yet are retried now that
    // this connection announces every actor.
    tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.retry_uplink_refusals("foreign_actor")
    })
    .await??;
    let mut socket = connect(&config.endpoint).await?;
    let clock = Clock::start();
    let mut engine = DeviceSync::new(DeviceConfig {
        token: config.token.clone(),
        actors: actors.clone(),
        agent: format!("motcua-hub/{}", env!("CARGO_PKG_VERSION")),
    });
    engine.set_timers(config.endpoint.timers());
    engine.advance(clock.now());
    let (mut engine, mut replica) = step(engine, UplinkReplica::new(store.clone()), |e, r| {
        Ok(e.start(r)?)
    })
    .await?;
    let mut local = hub.commits.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_heard = Instant::now();
    let mut last_ping = Instant::now();
    let mut local_changes = false;
    loop {
        send_frames(&mut socket, &mut engine).await?;
        while let Some(event) = engine.poll_event() {
            match event {
                DeviceEvent::Welcomed(w) => {
                    let depth = w.hub_depth.saturating_add(1);
                    let store = store.clone();
                    tokio::task::spawn_blocking(move || store.set_depth(depth)).await??;
                    tracing::info!(unit = %w.unit, depth, "uplink connected to parent hub {}", w.hub);
                }
                DeviceEvent::Refused {
                    doc,
                    reason,
                    message,
                } => tracing::warn!(%doc, "parent hub refused: {} ({message})", reason.as_str()),
                DeviceEvent::HubError(e) => tracing::warn!("parent hub error: {}", e.message),
                DeviceEvent::Unreadable { doc, message } => {
                    tracing::warn!(%doc, "unreadable changes from the parent: {message}")
                }
                DeviceEvent::InSync { repaired } if repaired > 0 => {
                    tracing::info!(repaired, "uplink repaired documents")
                }
                _ => {}
            }
        }
        if local_changes {
            local_changes = false;
            (engine, replica) = step(engine, replica, |e, r| Ok(e.local_changes(r)?)).await?;
            engine.advance(clock.now());
            continue;
        }
        tokio::select! {
            incoming = socket.next() => {
                last_heard = Instant::now();
                engine.advance(clock.now());
                if let Some(frame) = read_frame(incoming, "parent hub")? {
                    (engine, replica) = step(engine, replica, move |e, r| Ok(e.handle_frame(&frame, r)?)).await?;
                }
            }
            _ = clock.sleep_until(engine.poll_timeout()) => {
                let now = clock.now();
                (engine, replica) = step(engine, replica, move |e, r| Ok(e.handle_timeout(now, r)?)).await?;
            }
            commit = local.recv() => {
                match commit {
                    // Only what was made here goes up; what came down is there already.
                    Ok(c) if c.origin != UPLINK_ORIGIN => local_changes = true,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => local_changes = true,
                    Err(RecvError::Closed) => return Ok(()),
                }
                // Changes by a device enrolled since we connected must not go
                // up before the parent has learnt its actor.
                if local_changes && relay_actors(&store).await? != actors {
                    return Ok(());
                }
            }
            _ = tick.tick() => {
                if last_heard.elapsed() > LINK_DEAD_AFTER {
                    anyhow::bail!("the parent hub stopped answering");
                }
                if last_ping.elapsed() > PING_EVERY {
                    last_ping = Instant::now();
                    socket.send(WsMessage::Ping(Vec::new().into())).await?;
                }
                // A device enrolled here since we connected signs with an
                // actor the parent must learn: reconnect to announce it.
                if relay_actors(&store).await? != actors {
                    return Ok(());
                }
            }
        }
    }
}

async fn relay_actors(store: &crate::store::Store) -> anyhow::Result<Vec<Vec<u8>>> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || store.relay_actors()).await??)
}
