//! The Một Cửa Sync hub and the native device, as a library the `motcua`
//! binary and the tests drive.
//!
//! - [`store`]: the hub's SQLite database behind one narrow interface.
//! - [`hub`]: the HTTP API, the WebSocket sync endpoint, TLS, metrics.
//! - [`device`]: the native device: its replica and its sync connection.
//! - [`logging`]: log lines as text or JSON.
//! - [`parallel`]: work shared among a few threads (reports).
//! - [`reports`]: report 06a, the late-dossier report, forms 06 and 07, as
//!   JSON, CSV, XLSX and printable HTML.

pub mod device;
pub mod hub;
pub mod logging;
pub mod parallel;
pub mod reports;
pub mod store;
