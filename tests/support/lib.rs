//! Shared helpers for integration tests.
//!
//! - [`proxy`]: a TCP proxy between two nodes that drops, delays,
//!   duplicates, reorders and cuts WebSocket traffic, stalls and throttles.
//! - [`process`]: real `motcua` hub processes on fresh data directories.

pub mod process;
pub mod proxy;
