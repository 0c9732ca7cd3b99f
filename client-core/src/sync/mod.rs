//! Replication between devices and hubs.
//!
//! - [`protocol`]: the messages and their binary frames — the one type that
//!   stands between bytes and behaviour.
//! - [`reconcile`]: anti-entropy by range fingerprints.
//! - [`replica`]: what the engine needs from storage, and the device replica.
//! - [`device`]: the device side of a connection (sans-IO).
//! - [`hub`]: the hub side of a connection (sans-IO) and what it needs from
//!   the hub's storage, including the checks a push must pass.
//! - `testing` (feature `testing`): a hub store in memory for tests and
//!   fuzzing.
//!
//! Both sides are state machines: bytes and events in, bytes and effects
//! out, no sockets, no clocks, no threads. The server drives them with tokio,
//! the browser with its WebSocket, and tests directly.

pub mod device;
pub mod hub;
pub mod protocol;
pub mod reconcile;
pub mod replica;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
