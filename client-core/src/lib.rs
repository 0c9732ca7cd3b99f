//! The domain of Một Cửa Sync and its sans-IO sync engine.
//!
//! Everything that a hub, a native device and the browser must agree on lives
//! here, so that it is written once and compiled both natively and to
//! WebAssembly. Nothing in this crate does I/O, reads a clock or spawns a task:
//! callers pass time, randomness and bytes in, and get values and bytes out.
//!
//! Map of the crate:
//!
//! - [`ids`]: domain values that can only be built by parsing — unit codes,
//!   dossier codes, citizen ID numbers, phone numbers.
//! - [`time`]: Vietnam's fixed UTC+7 offset and conversions to and from the
//!   millisecond timestamps stored in documents.
//! - [`units`]: the administrative unit tree (any depth) and scope checks.
//! - [`catalogue`]: procedures (thủ tục hành chính) and the seed catalogue.
//! - [`calendar`]: the working calendar — weekends, statutory holidays from
//!   the Vietnamese lunar calendar, swapped days, office hours.
//! - [`deadline`]: appointment dates, pause rules and early / on time / late
//!   classification.
//! - [`stage`]: the processing stages, the transitions between them, their
//!   national status codes, and the status derived from a stage log.
//! - [`dossier`]: the dossier as an Automerge document — typed reads and
//!   writes, validation, conflicts.
//! - [`codes`]: offline, collision-free dossier code issuing.
//! - [`config`]: the unit tree, catalogue and calendar as read-only
//!   configuration documents published by the top hub.
//! - [`intake`]: receiving a dossier — procedure, code, appointment, first
//!   stage.
//! - [`counter`]: the clerk's operations on a device's replica — receive,
//!   record a stage, request a supplement, return the result.
//! - [`search`]: Vietnamese text normalisation and matching.
//! - [`forms`]: what the standard forms 06 (control sheet) and 07
//!   (register) say about a dossier, from its stage log.
//! - [`statistics`]: report 06a and the late-dossier report, computed as of
//!   a period's end from each dossier's stage log, with drill-down to the
//!   dossiers behind every figure.
//! - `testing` (feature `testing`): fixtures for tests, here and in the
//!   other crates.
//! - [`sync`]: the sync protocol, anti-entropy, replicas and the sans-IO
//!   engines of both ends of a connection.

pub mod calendar;
pub mod catalogue;
pub mod codes;
pub mod config;
pub mod counter;
pub mod deadline;
pub mod dossier;
pub mod forms;
pub mod ids;
pub mod intake;
pub mod search;
pub mod stage;
pub mod statistics;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod units;
