//! The list row of a dossier (`dossiers`), as lists and search show it,
//! and look-ups by code and unit.

use client_core::calendar::WorkingCalendar;
use client_core::dossier::Dossier;
use client_core::ids::{DocId, UnitCode};
use client_core::stage::{NationalStatus, Outcome};
use client_core::statistics::receiving_clerk;
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store, StoreError};

/// The facts about one dossier that the index keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierSummary {
    pub doc_id: String,
    pub code: String,
    pub unit: String,
    pub field: String,
    pub procedure_id: String,
    pub procedure_name: String,
    pub channel: String,
    pub stage: Option<String>,
    pub status: Option<u8>,
    pub status_name: Option<String>,
    pub applicant_name: String,
    pub received_by: String,
    pub received_at: i64,
    /// The appointment on the receipt.
    pub due_at: i64,
    /// The appointment after pauses, as of the last change.
    pub effective_due_at: i64,
    pub clock_stopped: bool,
    pub finished_at: Option<i64>,
    pub outcome: String,
}

/// Derives the index row of a dossier, with its appointment after waits as
/// of `now`.
pub fn summarize(
    doc_id: &DocId,
    dossier: &Dossier,
    calendar: &WorkingCalendar,
    now: i64,
) -> DossierSummary {
    let standing = dossier.standing(calendar, now).ok();
    let progress = dossier.progress();
    let (finished_at, outcome) = match progress.outcome {
        Outcome::Open => (None, "open"),
        Outcome::Resolved { at, .. } => (Some(at), "resolved"),
        Outcome::Refused { at } => (Some(at), "refused"),
        Outcome::Withdrawn { at } => (Some(at), "withdrawn"),
    };
    let received_by = receiving_clerk(&dossier.stages).to_string();
    DossierSummary {
        doc_id: doc_id.to_string(),
        code: dossier.code.to_string(),
        unit: dossier.unit.to_string(),
        field: dossier.field.clone(),
        procedure_id: dossier.procedure.id.clone(),
        procedure_name: dossier.procedure.name.clone(),
        channel: dossier.channel.as_str().to_string(),
        stage: progress.current.map(|s| s.as_str().to_string()),
        status: progress.status.map(NationalStatus::code),
        status_name: progress.status.map(|s| s.name_vi().to_string()),
        applicant_name: dossier.applicant.full_name.clone(),
        received_by,
        received_at: dossier.received_at,
        due_at: dossier.due_at,
        effective_due_at: standing
            .as_ref()
            .map_or(dossier.due_at, |s| s.due.at.timestamp_millis()),
        clock_stopped: standing.as_ref().is_some_and(|s| s.due.clock_stopped),
        finished_at,
        outcome: outcome.to_string(),
    }
}

pub(super) const SUMMARY_COLUMNS: &str = "doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status, applicant_name,
    received_by, received_at, due_at, effective_due_at, clock_stopped, finished_at, outcome";

pub(super) fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DossierSummary> {
    let status: Option<u8> = r.get(8)?;
    Ok(DossierSummary {
        doc_id: hex::encode(r.get::<_, Vec<u8>>(0)?),
        code: r.get(1)?,
        unit: r.get(2)?,
        field: r.get(3)?,
        procedure_id: r.get(4)?,
        procedure_name: r.get(5)?,
        channel: r.get(6)?,
        stage: r.get(7)?,
        status,
        status_name: status
            .and_then(|c| NationalStatus::try_from(c).ok())
            .map(|s| s.name_vi().to_string()),
        applicant_name: r.get(9)?,
        received_by: r.get(10)?,
        received_at: r.get(11)?,
        due_at: r.get(12)?,
        effective_due_at: r.get(13)?,
        clock_stopped: r.get(14)?,
        finished_at: r.get(15)?,
        outcome: r.get(16)?,
    })
}

impl Store {
    /// The document id of a dossier code, if the hub has it.
    pub fn doc_id_for_code(&self, code: &str) -> Result<Option<(DocId, UnitCode)>> {
        self.read(|conn| {
            let row: Option<(Vec<u8>, String)> =
                rusqlite::OptionalExtension::optional(conn.query_row(
                    "SELECT doc_id, unit FROM dossiers WHERE code = ?1",
                    [code.trim().to_uppercase()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                ))?;
            row.map(|(id, unit)| {
                let id: [u8; 16] = id.as_slice().try_into().map_err(|_| {
                    StoreError::DamagedRecord("stored document id is damaged".into())
                })?;
                Ok((
                    DocId::from_bytes(id),
                    UnitCode::parse(&unit).map_err(|e| StoreError::DamagedRecord(e.to_string()))?,
                ))
            })
            .transpose()
        })
    }

    /// How many dossiers each unit has, by unit code.
    pub fn dossiers_per_unit(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT unit, count(*) FROM dossiers GROUP BY unit ORDER BY unit")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn dossier_count(&self) -> Result<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM dossiers", [], |r| r.get(0))?))
    }
}
