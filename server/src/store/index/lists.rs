//! The list row of a dossier (`dossiers`), as lists and search show it,
//! and look-ups by code and unit.

use client_core::calendar::WorkingCalendar;
use client_core::dossier::{Channel, Dossier};
use client_core::ids::{DocId, DossierCode, UnitCode};
use client_core::stage::{NationalStatus, Outcome, Stage};
use client_core::statistics::receiving_clerk;
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store, StoreError};

/// The facts about one dossier that the index keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierSummary {
    pub doc_id: DocId,
    pub code: DossierCode,
    pub unit: UnitCode,
    pub field: String,
    pub procedure_id: String,
    pub procedure_name: String,
    pub channel: Channel,
    pub stage: Option<Stage>,
    /// Sent as its national code.
    pub status: Option<NationalStatus>,
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
    pub outcome: OutcomeKind,
}

/// Whether a dossier's processing has ended, and how: [`Outcome`] without
/// its times, as the index column and the API name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Open,
    Resolved,
    Refused,
    Withdrawn,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 4] = [
        OutcomeKind::Open,
        OutcomeKind::Resolved,
        OutcomeKind::Refused,
        OutcomeKind::Withdrawn,
    ];

    /// The name in the `outcome` column and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Open => "open",
            OutcomeKind::Resolved => "resolved",
            OutcomeKind::Refused => "refused",
            OutcomeKind::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<OutcomeKind> {
        OutcomeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
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
        Outcome::Open => (None, OutcomeKind::Open),
        Outcome::Resolved { at, .. } => (Some(at), OutcomeKind::Resolved),
        Outcome::Refused { at } => (Some(at), OutcomeKind::Refused),
        Outcome::Withdrawn { at } => (Some(at), OutcomeKind::Withdrawn),
    };
    let received_by = receiving_clerk(&dossier.stages).to_string();
    DossierSummary {
        doc_id: *doc_id,
        code: dossier.code.clone(),
        unit: dossier.unit.clone(),
        field: dossier.field.clone(),
        procedure_id: dossier.procedure.id.clone(),
        procedure_name: dossier.procedure.name.clone(),
        channel: dossier.channel,
        stage: progress.current,
        status: progress.status,
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
        outcome,
    }
}

pub(super) const SUMMARY_COLUMNS: &str = "doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status, applicant_name,
    received_by, received_at, due_at, effective_due_at, clock_stopped, finished_at, outcome";

/// A column that does not read as its type: the row is damaged.
fn damaged(column: usize, message: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        message.into().into(),
    )
}

fn parsed<T>(
    r: &rusqlite::Row<'_>,
    column: usize,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> rusqlite::Result<T> {
    let text: String = r.get(column)?;
    parse(&text).map_err(|e| damaged(column, e))
}

pub(super) fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DossierSummary> {
    let id: Vec<u8> = r.get(0)?;
    let doc_id = <[u8; 16]>::try_from(id.as_slice())
        .map(DocId::from_bytes)
        .map_err(|_| damaged(0, "stored document id is damaged"))?;
    let stage: Option<String> = r.get(7)?;
    let stage = stage
        .map(|s| s.parse::<Stage>())
        .transpose()
        .map_err(|e| damaged(7, e.to_string()))?;
    let status: Option<u8> = r.get(8)?;
    let status = status
        .map(NationalStatus::try_from)
        .transpose()
        .map_err(|e| damaged(8, e))?;
    Ok(DossierSummary {
        doc_id,
        code: parsed(r, 1, |s| DossierCode::parse(s).map_err(|e| e.to_string()))?,
        unit: parsed(r, 2, |s| UnitCode::parse(s).map_err(|e| e.to_string()))?,
        field: r.get(3)?,
        procedure_id: r.get(4)?,
        procedure_name: r.get(5)?,
        channel: parsed(r, 6, |s| {
            Channel::parse(s).ok_or_else(|| format!("'{s}' is not a channel"))
        })?,
        stage,
        status,
        status_name: status.map(|s| s.name_vi().to_string()),
        applicant_name: r.get(9)?,
        received_by: r.get(10)?,
        received_at: r.get(11)?,
        due_at: r.get(12)?,
        effective_due_at: r.get(13)?,
        clock_stopped: r.get(14)?,
        finished_at: r.get(15)?,
        outcome: parsed(r, 16, |s| {
            OutcomeKind::parse(s).ok_or_else(|| format!("'{s}' is not an outcome"))
        })?,
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
