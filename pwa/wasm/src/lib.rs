//! client-core for the browser.
//!
//! The web app gets all of its domain logic and all of its sync from here:
//! this crate is a thin layer over client-core, compiled to WebAssembly, and
//! the JavaScript side only draws screens, owns the WebSocket and writes the
//! bytes this crate hands out to IndexedDB.
//!
//! - [`device`]: [`device::BrowserDevice`], the browser's device — a
//!   [`client_core::sync::replica::DeviceReplica`] over memory whose writes
//!   the page persists, the [`client_core::sync::device::DeviceSync`] engine,
//!   and the counter's operations (receive, stages, supplement, result,
//!   edits and conflicts) and queries (search, deadlines, inbox, and report
//!   06a through client-core's statistics).
//! - [`persist`]: what IndexedDB stores — write batches out, saved state in,
//!   and the repair of a damaged record.
//! - [`views`]: the plain values the screens show.
//! - [`bindings`]: the `#[wasm_bindgen]` surface: JSON text and byte arrays
//!   in and out, nothing else.
//!
//! Everything but [`bindings`] is ordinary Rust and is tested natively,
//! against client-core's in-memory hub.

pub mod bindings;
pub mod device;
pub mod persist;
pub mod views;

pub use device::{BrowserDevice, Identity, WebError};
