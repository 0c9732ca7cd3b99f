//! Support for the integration tests.
//!
//! - [`hub`]: real `motcua` hub processes on random loopback ports with
//!   fresh SQLite files, devices driven through the CLI, and a helper to
//!   wait for what eventually happens.
//! - [`proxy`]: a TCP proxy between two nodes that drops, delays,
//!   duplicates, reorders and cuts WebSocket traffic, stalls and throttles.
//! - [`netem`]: two network namespaces joined by a link shaped with
//!   `tc netem` (rate, delay, loss), where the machine allows it.

pub mod hub;
pub mod netem;
pub mod proxy;

pub use hub::{Device, HubOptions, HubProcess, eventually, motcua, motcua_json};
