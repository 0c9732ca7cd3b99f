//! Publishing the configuration documents every device receives read-only:
//! the unit tree, the catalogue of procedures and the working calendar.
//! Only the top hub publishes; hubs below receive configuration from it.

use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::config::{self, ConfigKind};

use crate::store::{Result, Store, StoreError, now_ms};

/// Publishes the unit tree, catalogue and calendar configuration documents.
pub fn publish_all(store: &Store) -> Result<()> {
    publish_units(store)?;
    publish(
        store,
        ConfigKind::Catalogue,
        &Catalogue::seed()
            .to_json()
            .map_err(|e| StoreError::ConfigEncoding(e.to_string()))?,
    )?;
    publish_calendar(store, &store.calendar())
}

/// Publishes the working calendar and starts computing deadlines with it.
pub fn publish_calendar(store: &Store, calendar: &WorkingCalendar) -> Result<()> {
    let json =
        serde_json::to_string(calendar).map_err(|e| StoreError::ConfigEncoding(e.to_string()))?;
    publish(store, ConfigKind::Calendar, &json)?;
    store.set_calendar_in_memory(calendar.clone());
    Ok(())
}

/// Publishes the unit tree as the store has it.
pub fn publish_units(store: &Store) -> Result<()> {
    let json = serde_json::to_string(store.units().as_ref())
        .map_err(|e| StoreError::ConfigEncoding(e.to_string()))?;
    publish(store, ConfigKind::Units, &json)
}

/// Publishes one configuration document if its content changed.
pub fn publish(store: &Store, kind: ConfigKind, json: &str) -> Result<()> {
    if let Some(parent) = store.uplink()? {
        return Err(StoreError::NotTopHub { parent });
    }
    store.publish_config(kind.doc_id(), |doc| {
        if config::read(doc).is_ok_and(|(_, body, _)| body == json) {
            return Ok(());
        }
        config::write(doc, kind, json, now_ms())
            .map_err(|e| StoreError::ConfigEncoding(e.to_string()))
    })?;
    Ok(())
}
