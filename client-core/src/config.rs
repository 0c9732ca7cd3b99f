//! Configuration documents: the unit tree, the procedure catalogue and the
//! working calendar, published by the top hub and received read-only by
//! every device and every hub below it.
//!
//! Each is one Automerge document with a fixed, well-known id, holding the
//! configuration as JSON text in one field: the publisher replaces it as a
//! whole, so there is never a half-merged catalogue.
//!
//! ```text
//! { type: "config", name: "catalogue", body: "<json>", updated_at: timestamp }
//! ```

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkingCalendar};
use crate::catalogue::Catalogue;
use crate::ids::DocId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    Units,
    Catalogue,
    Calendar,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 3] = [
        ConfigKind::Units,
        ConfigKind::Catalogue,
        ConfigKind::Calendar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConfigKind::Units => "units",
            ConfigKind::Catalogue => "catalogue",
            ConfigKind::Calendar => "calendar",
        }
    }

    /// The document's fixed id, the same on every hub and device.
    pub fn doc_id(self) -> DocId {
        DocId::named(&format!("motcua/config/{}", self.name()))
    }

    pub fn of_doc_id(id: &DocId) -> Option<ConfigKind> {
        Self::ALL.into_iter().find(|k| k.doc_id() == *id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("not a configuration document: {0}")]
    NotConfig(String),
    #[error("configuration document could not be written: {0}")]
    Write(String),
}

/// Replaces the configuration held by `doc` (made by `publisher` at `at`).
pub fn write(
    doc: &mut Automerge,
    kind: ConfigKind,
    body_json: &str,
    at: i64,
) -> Result<(), ConfigError> {
    doc.transact_with(
        |_| {
            CommitOptions::default()
                .with_time(at)
                .with_message(format!("publish {}", kind.name()))
        },
        |tx| {
            tx.put(ROOT, "type", "config")?;
            tx.put(ROOT, "name", kind.name())?;
            tx.put(ROOT, "body", body_json)?;
            tx.put(ROOT, "updated_at", ScalarValue::Timestamp(at))?;
            Ok::<(), automerge::AutomergeError>(())
        },
    )
    .map(|_| ())
    .map_err(|f| ConfigError::Write(f.error.to_string()))
}

/// The kind, JSON body and publication time of a configuration document.
pub fn read(doc: &Automerge) -> Result<(ConfigKind, String, i64), ConfigError> {
    let text = |key: &str| match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(ConfigError::NotConfig(format!("'{key}' is not text"))),
        },
        _ => Err(ConfigError::NotConfig(format!("'{key}' is missing"))),
    };
    if text("type")? != "config" {
        return Err(ConfigError::NotConfig("type is not \"config\"".into()));
    }
    let name = text("name")?;
    let kind = ConfigKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| ConfigError::NotConfig(format!("unknown configuration '{name}'")))?;
    let updated_at = match doc.get(ROOT, "updated_at") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Timestamp(t) => *t,
            _ => 0,
        },
        _ => 0,
    };
    Ok((kind, text("body")?, updated_at))
}

/// The catalogue a device works with: the published one once it has
/// synced, the built-in seed before (or if the published one is damaged).
pub fn catalogue_or_seed(published: Option<&str>) -> Catalogue {
    published
        .and_then(|json| Catalogue::from_json(json).ok())
        .unwrap_or_else(Catalogue::seed)
}

/// The working calendar a device works with: the published one once it has
/// synced, before that the statutory rules for the years around `year`.
pub fn calendar_or_seeded(
    published: Option<&str>,
    year: i32,
) -> Result<WorkingCalendar, CalendarError> {
    match published.and_then(|json| serde_json::from_str::<WorkingCalendar>(json).ok()) {
        Some(calendar) => Ok(calendar),
        None => WorkingCalendar::seeded(year - 1..=year + 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_configuration_reads_back_and_the_latest_wins() {
        let mut doc = Automerge::new();
        write(&mut doc, ConfigKind::Catalogue, "{\"v\":1}", 10).unwrap();
        let mut copy = doc.fork();
        write(&mut doc, ConfigKind::Catalogue, "{\"v\":2}", 20).unwrap();
        copy.merge(&mut doc).unwrap();
        assert_eq!(
            read(&copy).unwrap(),
            (ConfigKind::Catalogue, "{\"v\":2}".to_string(), 20)
        );
        assert_eq!(
            ConfigKind::of_doc_id(&ConfigKind::Units.doc_id()),
            Some(ConfigKind::Units)
        );
        assert_ne!(ConfigKind::Units.doc_id(), ConfigKind::Calendar.doc_id());
    }

    #[test]
    fn before_the_first_sync_a_device_works_with_the_seeds() {
        assert_eq!(
            catalogue_or_seed(None).current().len(),
            Catalogue::seed().current().len()
        );
        assert_eq!(catalogue_or_seed(Some("not json")), Catalogue::seed());
        let seeded = calendar_or_seeded(None, 2026).unwrap();
        let new_year = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert!(!seeded.is_working_day(new_year));
        // A published calendar without holidays: 1 January 2027 is a Friday.
        let json = serde_json::to_string(&WorkingCalendar::default()).unwrap();
        assert!(
            calendar_or_seeded(Some(&json), 2026)
                .unwrap()
                .is_working_day(new_year)
        );
    }

    #[test]
    fn a_dossier_is_not_a_configuration() {
        let mut doc = Automerge::new();
        doc.transact(|tx| tx.put(ROOT, "type", "dossier")).unwrap();
        assert!(read(&doc).is_err());
    }
}
