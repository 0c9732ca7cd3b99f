//! Shared helpers for integration tests.
//!
//! - [`proxy`]: a TCP proxy between two nodes that drops, delays,
//!   duplicates, reorders and cuts WebSocket traffic, stalls and throttles.
//! - [`process`]: real `motcua` hub processes on fresh data directories.
//! - [`netem`]: two network namespaces joined by a link shaped with
//!   `tc netem` (rate, delay, loss), where the machine allows it.

pub mod netem;
pub mod process;
pub mod proxy;
