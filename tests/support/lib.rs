//! Support for the integration tests: real hub processes, devices driven
//! through the CLI, and helpers to wait for what eventually happens.

pub mod hub;

pub use hub::{Device, HubOptions, HubProcess, eventually, motcua, motcua_json};
