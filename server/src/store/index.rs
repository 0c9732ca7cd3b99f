//! The dossier index: one row per dossier (and one per stage entry) holding
//! what lists, searches and reports filter on. Rows are rewritten from the
//! validated document in the same transaction that stores its changes, so
//! the index never disagrees with the documents.

use std::collections::BTreeSet;

use client_core::calendar::WorkingCalendar;
use client_core::dossier::Dossier;
use client_core::ids::{DocId, UnitCode};
use client_core::search::{SearchQuery, fold};
use client_core::stage::{NationalStatus, Outcome, Stage};
use rusqlite::{Transaction, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};

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
    let received_by = progress
        .timeline
        .iter()
        .find(|e| e.stage.is_initial())
        .map(|e| e.user.clone())
        .unwrap_or_default();
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

pub fn write_dossier(
    tx: &Transaction<'_>,
    doc_id: &DocId,
    dossier: &Dossier,
    seq: u64,
    calendar: &WorkingCalendar,
) -> Result<()> {
    let s = summarize(doc_id, dossier, calendar, super::now_ms());
    tx.execute(
        "INSERT OR REPLACE INTO dossiers (doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status,
            applicant_name, applicant_folded, id_number, phone, received_by, received_at, due_at, effective_due_at,
            clock_stopped, finished_at, outcome, updated_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        params![
            doc_id.as_bytes(),
            s.code,
            s.unit,
            s.field,
            s.procedure_id,
            s.procedure_name,
            s.channel,
            s.stage,
            s.status,
            s.applicant_name,
            fold(&s.applicant_name),
            dossier.applicant.id_number.as_str(),
            dossier.applicant.phone.as_ref().map_or("", |p| p.as_str()),
            s.received_by,
            s.received_at,
            s.due_at,
            s.effective_due_at,
            s.clock_stopped,
            s.finished_at,
            s.outcome,
            seq as i64,
        ],
    )?;
    tx.execute(
        "DELETE FROM dossier_stages WHERE doc_id = ?1",
        [doc_id.as_bytes()],
    )?;
    let mut stmt = tx.prepare_cached("INSERT INTO dossier_stages (doc_id, entry_id, stage, at, user, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for e in &dossier.stages {
        stmt.execute(params![
            doc_id.as_bytes(),
            e.id,
            e.stage.as_str(),
            e.at,
            e.user,
            e.unit.as_str()
        ])?;
    }
    Ok(())
}

/// Filters of the dossier list; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DossierFilter {
    pub status: Option<u8>,
    pub stage: Option<String>,
    pub field: Option<String>,
    pub unit: Option<String>,
    /// Open dossiers past their appointment date (as of `now`).
    pub overdue: Option<bool>,
    /// Code, ID number, phone, or applicant name (diacritics optional).
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DossierPage {
    pub total: usize,
    pub items: Vec<DossierSummary>,
}

const SUMMARY_COLUMNS: &str = "doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status, applicant_name,
    received_by, received_at, due_at, effective_due_at, clock_stopped, finished_at, outcome";

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DossierSummary> {
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
    /// Dossiers in `scope` matching `filter`, newest first.
    pub fn list_dossiers(
        &self,
        scope: &BTreeSet<UnitCode>,
        filter: &DossierFilter,
        now: i64,
    ) -> Result<DossierPage> {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let units: Vec<&UnitCode> = match &filter.unit {
            Some(u) => {
                let u = UnitCode::parse(u).map_err(|e| StoreError::Invalid(e.to_string()))?;
                // A unit outside the caller's scope is as empty as an unknown one.
                scope
                    .iter()
                    .filter(|s| **s == u || self.units().is_within(s, &u))
                    .collect()
            }
            None => scope.iter().collect(),
        };
        if units.is_empty() {
            return Ok(DossierPage {
                total: 0,
                items: Vec::new(),
            });
        }
        conditions.push(format!("unit IN ({})", vec!["?"; units.len()].join(", ")));
        values.extend(
            units
                .iter()
                .map(|u| rusqlite::types::Value::from(u.to_string())),
        );
        if let Some(status) = filter.status {
            conditions.push("status = ?".into());
            values.push(i64::from(status).into());
        }
        if let Some(stage) = &filter.stage {
            let stage: Stage = stage
                .parse()
                .map_err(|e: client_core::stage::UnknownStage| {
                    StoreError::Invalid(e.to_string())
                })?;
            conditions.push("stage = ?".into());
            values.push(stage.as_str().to_string().into());
        }
        if let Some(field) = &filter.field {
            conditions.push("field = ?".into());
            values.push(field.clone().into());
        }
        if filter.overdue == Some(true) {
            // Past the end of the appointment day, still open, clock running.
            conditions
                .push("outcome = 'open' AND clock_stopped = 0 AND effective_due_at < ?".into());
            values.push(start_of_local_day(now).into());
        }
        let query = filter
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(SearchQuery::parse);
        if let (Some(q), Some(raw)) = (&query, &filter.q) {
            let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
            let mut alternatives = vec!["code = ?".to_string()];
            values.push(raw.trim().to_uppercase().into());
            if !digits.is_empty() {
                alternatives.push("id_number LIKE ? OR phone LIKE ? OR code LIKE ?".into());
                values.push(format!("{digits}%").into());
                values.push(format!("%{digits}%").into());
                values.push(format!("%{}%", raw.trim().to_uppercase()).into());
            }
            let likes = q.like_patterns();
            if !likes.is_empty() {
                alternatives.push(format!(
                    "({})",
                    vec!["applicant_folded LIKE ?"; likes.len()].join(" AND ")
                ));
                values.extend(likes.into_iter().map(rusqlite::types::Value::from));
            }
            conditions.push(format!("({})", alternatives.join(" OR ")));
        }
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, id_number, phone FROM dossiers WHERE {} ORDER BY received_at DESC",
            conditions.join(" AND ")
        );
        let rows: Vec<(DossierSummary, String, String)> = self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(values.iter()), |r| {
                Ok((summary_from_row(r)?, r.get(17)?, r.get(18)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        // The LIKE prefilter is loose on purpose; the exact Vietnamese rule decides.
        let matching: Vec<DossierSummary> = rows
            .into_iter()
            .filter(|(s, id_number, phone)| match (&query, &filter.q) {
                (Some(q), Some(raw)) => {
                    s.code.eq_ignore_ascii_case(raw.trim())
                        || q.matches(&s.applicant_name)
                        || q.matches(&s.code)
                        || q.matches(id_number)
                        || q.matches(phone)
                }
                _ => true,
            })
            .map(|(s, _, _)| s)
            .collect();
        let total = matching.len();
        let offset = filter.offset.unwrap_or(0) as usize;
        let limit = filter.limit.unwrap_or(100).min(1000) as usize;
        Ok(DossierPage {
            total,
            items: matching.into_iter().skip(offset).take(limit).collect(),
        })
    }

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
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Invalid("stored document id is damaged".into()))?;
                Ok((
                    DocId::from_bytes(id),
                    UnitCode::parse(&unit).map_err(|e| StoreError::Invalid(e.to_string()))?,
                ))
            })
            .transpose()
        })
    }

    /// Re-derives every dossier's index row from its document and lists the
    /// rows that differ (there should be none).
    pub fn verify_index(&self) -> Result<Vec<String>> {
        let rows: Vec<(Vec<u8>, String)> = self.read(|c| {
            let mut stmt = c.prepare("SELECT doc_id, kind FROM documents")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let calendar = self.calendar();
        let mut problems = Vec::new();
        for (id, kind) in rows {
            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                problems.push("a document id is damaged".to_string());
                continue;
            };
            let indexed: Option<(String, Option<String>, String)> = self.read(|c| {
                Ok(rusqlite::OptionalExtension::optional(c.query_row(
                    "SELECT code, stage, outcome FROM dossiers WHERE doc_id = ?1",
                    [id.as_bytes()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                ))?)
            })?;
            if kind != "dossier" {
                if indexed.is_some() {
                    problems.push(format!("{id}: a {kind} document has a dossier index row"));
                }
                continue;
            }
            let Some(doc) = self.load_doc(&id)? else {
                continue;
            };
            let dossier = match client_core::dossier::DossierDoc::from_automerge(doc).read() {
                Ok(d) => d,
                Err(e) => {
                    problems.push(format!("{id}: stored dossier does not validate: {e}"));
                    continue;
                }
            };
            let expected = summarize(&id, &dossier, &calendar, super::now_ms());
            match indexed {
                None => problems.push(format!("{id}: no index row")),
                Some((code, stage, outcome))
                    if code != expected.code
                        || stage != expected.stage
                        || outcome != expected.outcome =>
                {
                    problems.push(format!(
                        "{id}: index says {code} {stage:?} {outcome}, document says {} {:?} {}",
                        expected.code, expected.stage, expected.outcome
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(problems)
    }

    pub fn dossier_count(&self) -> Result<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM dossiers", [], |r| r.get(0))?))
    }
}

/// Midnight (UTC+7) of the day containing `ms`, in milliseconds.
pub fn start_of_local_day(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    const OFFSET: i64 = 7 * 3_600_000;
    (ms + OFFSET).div_euclid(DAY) * DAY - OFFSET
}
