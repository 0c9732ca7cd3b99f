//! The dossier index: one row per dossier (and one per stage entry) holding
//! what lists, searches and reports filter on. Rows are rewritten from the
//! validated document in the same transaction that stores its changes, so
//! the index never disagrees with the documents.

use std::collections::BTreeSet;
use std::sync::Arc;

use client_core::calendar::WorkingCalendar;
use client_core::deadline::{DeadlineTerms, PauseRule, ProcessingTime, TimeUnit};
use client_core::dossier::{Channel, Dossier};
use client_core::ids::{DocId, UnitCode};
use client_core::search::{SearchQuery, fold};
use client_core::stage::{NationalStatus, Outcome, Stage, StageEvent};
use client_core::statistics::{DossierFacts, KeyMap, Period, Unclassified, receiving_clerk};
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

pub fn write_dossier(
    tx: &Transaction<'_>,
    doc_id: &DocId,
    dossier: &Dossier,
    seq: u64,
    calendar: &WorkingCalendar,
) -> Result<()> {
    let s = summarize(doc_id, dossier, calendar, super::now_ms());
    let facts = DossierFacts::from_dossier(dossier);
    tx.execute(
        "INSERT OR REPLACE INTO dossiers (doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status,
            applicant_name, applicant_folded, id_number, phone, received_by, received_at, due_at, effective_due_at,
            clock_stopped, finished_at, outcome, updated_seq, applicant_address, sets)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
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
            dossier.applicant.address,
            dossier.sets,
        ],
    )?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO dossier_facts (doc_id, unit, field, received_at, open, last_stage_at, facts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        doc_id.as_bytes(),
        facts.unit.as_str(),
        &*facts.field,
        facts.terms.received_at,
        s.outcome == "open",
        last_stage_at(&facts),
        encode_facts(&facts),
    ])?;
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

/// What the index rows hold. Rows written with an older one are rebuilt
/// from their documents on opening (the columns come from migrations.rs).
pub const INDEX_VERSION: u32 = 2;

/// Bytes per stage in the stored stage log.
const EVENT_BYTES: usize = 9;

/// A stage log as the index stores it: per stage, its position in
/// [`Stage::ALL`] (one byte) and its time (eight bytes, little-endian), in
/// log order. Compact, so a report reads a million logs quickly.
pub fn encode_stage_log(events: &[StageEvent]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(events.len() * EVENT_BYTES);
    for e in events {
        let position = Stage::ALL.iter().position(|s| *s == e.stage).unwrap_or(0);
        bytes.push(position as u8);
        bytes.extend_from_slice(&e.at.to_le_bytes());
    }
    bytes
}

/// Reads what [`encode_stage_log`] wrote; `None` when the bytes are damaged.
pub fn decode_stage_log(bytes: &[u8]) -> Option<Vec<StageEvent>> {
    if !bytes.len().is_multiple_of(EVENT_BYTES) {
        return None;
    }
    bytes
        .chunks_exact(EVENT_BYTES)
        .map(|chunk| {
            let stage = *Stage::ALL.get(usize::from(chunk[0]))?;
            let at = i64::from_le_bytes(chunk[1..].try_into().ok()?);
            Some(StageEvent { stage, at })
        })
        .collect()
}

/// When the latest stage happened (the receipt, for an empty log).
fn last_stage_at(facts: &DossierFacts) -> i64 {
    facts
        .stages
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(facts.terms.received_at)
}

const CHANNELS: [Channel; 3] = [Channel::Direct, Channel::Postal, Channel::Online];
const TIME_UNITS: [TimeUnit; 2] = [TimeUnit::WorkingDays, TimeUnit::WorkingHours];
const PAUSE_RULES: [PauseRule; 2] = [PauseRule::Extend, PauseRule::Restart];
/// The layout of a facts record; a record of another is damaged.
const FACTS_LAYOUT: u8 = 1;

/// A dossier's report facts as `dossier_facts.facts` stores them, one record
/// so that a report reads two columns a row (`unit` and this):
///
/// ```text
/// layout (1) · channel · processing unit · pause rule   one byte each, positions in
///                                                       CHANNELS, TIME_UNITS, PAUSE_RULES
/// processing amount                                     u32, little-endian
/// received_at · due_at                                  i64 milliseconds, little-endian
/// code · field · clerk                                  u16 length + UTF-8 each
/// the stage log                                         the rest, as encode_stage_log
/// ```
pub fn encode_facts(f: &DossierFacts) -> Vec<u8> {
    let position = |found: Option<usize>| found.unwrap_or(0) as u8;
    let mut bytes = Vec::with_capacity(40 + f.code.len() + f.field.len() + f.clerk.len());
    bytes.push(FACTS_LAYOUT);
    bytes.push(position(CHANNELS.iter().position(|c| *c == f.channel)));
    bytes.push(position(
        TIME_UNITS
            .iter()
            .position(|u| *u == f.terms.processing.unit),
    ));
    bytes.push(position(
        PAUSE_RULES.iter().position(|r| *r == f.terms.pause_rule),
    ));
    bytes.extend_from_slice(&f.terms.processing.amount.to_le_bytes());
    bytes.extend_from_slice(&f.terms.received_at.to_le_bytes());
    bytes.extend_from_slice(&f.due_at.to_le_bytes());
    for text in [f.code.as_str(), &f.field, &f.clerk] {
        // Texts are limited far below 64 KiB when a dossier is validated.
        let text = &text.as_bytes()[..text.len().min(usize::from(u16::MAX))];
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text);
    }
    bytes.extend_from_slice(&encode_stage_log(&f.stages));
    bytes
}

/// Reads what [`encode_facts`] wrote, for a dossier of `unit`; `None` when
/// the record is damaged.
fn decode_facts(unit: UnitCode, bytes: &[u8], shared: &mut SharedTexts) -> Option<DossierFacts> {
    let mut rest = bytes;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    let head = take(4)?;
    if head[0] != FACTS_LAYOUT {
        return None;
    }
    let channel = *CHANNELS.get(usize::from(head[1]))?;
    let time_unit = *TIME_UNITS.get(usize::from(head[2]))?;
    let pause_rule = *PAUSE_RULES.get(usize::from(head[3]))?;
    let amount = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let received_at = i64::from_le_bytes(take(8)?.try_into().ok()?);
    let due_at = i64::from_le_bytes(take(8)?.try_into().ok()?);
    let mut text = || -> Option<&str> {
        let len = u16::from_le_bytes(take(2)?.try_into().ok()?);
        std::str::from_utf8(take(usize::from(len))?).ok()
    };
    let code = text()?.to_string();
    let field = shared.text(text()?);
    let clerk = shared.text(text()?);
    Some(DossierFacts {
        code,
        unit,
        field,
        channel,
        clerk,
        due_at,
        terms: DeadlineTerms {
            received_at,
            processing: ProcessingTime {
                amount,
                unit: time_unit,
            },
            pause_rule,
        },
        stages: decode_stage_log(rest)?,
    })
}

/// The texts many rows share (units, fields, clerks), kept once while rows
/// are read, so a million rows do not allocate them a million times.
#[derive(Default)]
struct SharedTexts {
    units: KeyMap<String, UnitCode>,
    texts: KeyMap<String, Arc<str>>,
}

impl SharedTexts {
    fn unit(&mut self, code: &str) -> Option<UnitCode> {
        if let Some(unit) = self.units.get(code) {
            return Some(unit.clone());
        }
        let unit = UnitCode::parse(code).ok()?;
        self.units.insert(code.to_string(), unit.clone());
        Some(unit)
    }

    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = text.into();
        self.texts.insert(text.to_string(), shared.clone());
        shared
    }
}

/// The columns of `dossier_facts f` that [`facts_from_row`] reads, in its
/// order.
const FACTS_COLUMNS: &str = "f.unit, f.facts";

/// A dossier's report facts from its `dossier_facts` row (columns
/// [`FACTS_COLUMNS`] from `first`), or what is wrong with the row.
fn facts_from_row(
    r: &rusqlite::Row<'_>,
    first: usize,
    shared: &mut SharedTexts,
) -> std::result::Result<DossierFacts, String> {
    let unit = r.get_ref(first).and_then(|v| Ok(v.as_str()?));
    let facts = r.get_ref(first + 1).and_then(|v| Ok(v.as_blob()?));
    match (unit, facts) {
        (Ok(unit), Ok(facts)) => shared
            .unit(unit)
            .and_then(|unit| decode_facts(unit, facts, shared))
            .ok_or_else(|| "its report facts are damaged".to_string()),
        (Err(e), _) | (_, Err(e)) => Err(format!("its report facts cannot be read: {e}")),
    }
}

/// The report facts of dossiers, and the rows that could not be read (named,
/// never dropped silently: `motcua admin verify` repairs them).
#[derive(Debug, Default)]
pub struct FactsLoad {
    /// In parts of similar size, read in parallel, for computing in parallel.
    pub parts: Vec<Vec<DossierFacts>>,
    pub damaged: Vec<Unclassified>,
}

/// A dossier's report facts with what registers (Form 07) and lists print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedDossier {
    pub facts: DossierFacts,
    pub procedure_name: String,
    pub applicant_name: String,
    pub applicant_address: String,
    pub phone: String,
    pub sets: u32,
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
    /// rows that differ (there should be none), and index rows that have no
    /// document.
    pub fn verify_index(&self) -> Result<Vec<String>> {
        let rows: Vec<(Vec<u8>, String)> = self.read(|c| {
            let mut stmt = c.prepare("SELECT doc_id, kind FROM documents")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let calendar = self.calendar();
        let mut problems: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT code FROM dossiers WHERE doc_id NOT IN (SELECT doc_id FROM documents)
                 UNION SELECT hex(doc_id) FROM dossier_facts WHERE doc_id NOT IN (SELECT doc_id FROM dossiers)",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows
                .map(|code| code.map(|code| format!("{code}: index row without a document")))
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        for (id, kind) in rows {
            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                problems.push("a document id is damaged".to_string());
                continue;
            };
            type Indexed = (
                String,
                Option<String>,
                String,
                String,
                u32,
                (String, String, i64, bool, i64),
                std::result::Result<DossierFacts, String>,
            );
            let indexed: Option<Indexed> = self.read(|c| {
                Ok(rusqlite::OptionalExtension::optional(c.query_row(
                    &format!(
                        "SELECT d.code, d.stage, d.outcome, d.applicant_address, d.sets,
                                f.unit, f.field, f.received_at, f.open, f.last_stage_at, {FACTS_COLUMNS}
                         FROM dossiers d JOIN dossier_facts f ON f.doc_id = d.doc_id WHERE d.doc_id = ?1"
                    ),
                    [id.as_bytes()],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            (r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
                            facts_from_row(r, 10, &mut SharedTexts::default()),
                        ))
                    },
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
            let expected_facts = DossierFacts::from_dossier(&dossier);
            match indexed {
                None => problems.push(format!("{id}: no index row")),
                Some((code, stage, outcome, ..))
                    if code != expected.code
                        || stage != expected.stage
                        || outcome != expected.outcome =>
                {
                    problems.push(format!(
                        "{id}: index says {code} {stage:?} {outcome}, document says {} {:?} {}",
                        expected.code, expected.stage, expected.outcome
                    ))
                }
                Some((code, .., Err(damage))) => {
                    problems.push(format!("{id} ({code}): {damage}"));
                }
                Some((code, _, _, address, sets, filters, Ok(facts)))
                    if facts != expected_facts
                        || filters
                            != (
                                facts.unit.to_string(),
                                facts.field.to_string(),
                                facts.terms.received_at,
                                expected.outcome == "open",
                                last_stage_at(&facts),
                            )
                        || address != dossier.applicant.address
                        || sets != dossier.sets =>
                {
                    problems.push(format!(
                        "{id} ({code}): the report columns of the index row differ from the document"
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(problems)
    }

    /// Rebuilds every index row from its document when the rows were
    /// written by an older [`INDEX_VERSION`], or a migration added columns
    /// or tables they fill (it clears the recorded version).
    pub(super) fn upgrade_index(&self) -> Result<()> {
        let version: u32 = self
            .meta("index_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        if version >= INDEX_VERSION {
            return Ok(());
        }
        let rebuilt = self.rebuild_index()?;
        if rebuilt > 0 {
            tracing::info!(
                "rebuilt the index rows of {rebuilt} dossiers (index version {INDEX_VERSION})"
            );
        }
        self.set_meta("index_version", &INDEX_VERSION.to_string())
    }

    /// Rewrites every dossier's index rows from its document, a few hundred
    /// per transaction; returns how many. A document that does not read is
    /// left as it is and logged (`motcua admin verify` names it).
    pub fn rebuild_index(&self) -> Result<usize> {
        let ids: Vec<(Vec<u8>, i64)> = self.read(|c| {
            let mut stmt =
                c.prepare("SELECT doc_id, last_seq FROM documents WHERE kind = 'dossier'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let calendar = self.calendar();
        let mut rebuilt = 0;
        for chunk in ids.chunks(500) {
            let mut dossiers = Vec::with_capacity(chunk.len());
            for (id, seq) in chunk {
                let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                    continue;
                };
                let Some(doc) = self.load_doc(&id)? else {
                    continue;
                };
                match client_core::dossier::DossierDoc::read_from(&doc) {
                    Ok(dossier) => dossiers.push((id, dossier, *seq)),
                    Err(e) => tracing::warn!("dossier {id} does not read, index row kept: {e}"),
                }
            }
            self.write(|tx| {
                for (id, dossier, seq) in &dossiers {
                    write_dossier(tx, id, dossier, *seq as u64, &calendar)?;
                }
                Ok(())
            })?;
            rebuilt += dossiers.len();
        }
        Ok(rebuilt)
    }

    /// The report facts of the dossiers of `units` that `period` may count,
    /// optionally of one field, read on up to `parts` threads.
    ///
    /// A dossier closed now whose every stage is earlier than the period's
    /// start was closed before it began and is not read; every other
    /// dossier received by the period's end is, and the statistics decide.
    /// A scope of many units is read by scanning the table in ranges of its
    /// rows; a scope of few, through the index by unit.
    pub fn report_facts(
        &self,
        units: &[UnitCode],
        period: &Period,
        field: Option<&str>,
        parts: usize,
    ) -> Result<FactsLoad> {
        let scan = units.len() * 4 >= self.units().len();
        self.report_facts_by(units, period, field, parts, scan)
    }

    /// [`Store::report_facts`] by a scan of the table (`scan`) or through
    /// the index by unit.
    pub(super) fn report_facts_by(
        &self,
        units: &[UnitCode],
        period: &Period,
        field: Option<&str>,
        parts: usize,
        scan: bool,
    ) -> Result<FactsLoad> {
        if units.is_empty() {
            return Ok(FactsLoad::default());
        }
        let parts = parts.clamp(1, 16);
        let period_filter = "received_at <= ? AND (open = 1 OR last_stage_at >= ?)";
        let field_filter = if field.is_some() {
            " AND field = ?"
        } else {
            ""
        };
        let mut filters: Vec<rusqlite::types::Value> =
            vec![period.ends_at().into(), period.starts_at().into()];
        filters.extend(field.map(|f| f.to_string().into()));
        // Each part: its SQL, its own leading values, and how many rows it
        // may have (so its vector is allocated once).
        let jobs: Vec<(String, Vec<rusqlite::types::Value>, usize)> = if scan {
            let (low, high): (i64, i64) = self.read(|c| {
                // Two subqueries, so that each is a single look-up.
                Ok(c.query_row(
                    "SELECT coalesce((SELECT min(id) FROM dossier_facts), 0),
                            coalesce((SELECT max(id) FROM dossier_facts), -1)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })?;
            // More ranges than threads, so that a free thread takes the next.
            let ranges = parts as i64 * 4;
            let step = (high - low + 1).max(0) / ranges + 1;
            // The scope is checked on each row below: cheaper than an IN
            // list of hundreds of units in SQL.
            let sql = format!(
                "SELECT {FACTS_COLUMNS}, f.id FROM dossier_facts f NOT INDEXED
                     WHERE id BETWEEN ? AND ? AND {period_filter}{field_filter}"
            );
            (0..ranges)
                .map(|i| (low + i * step, (low + (i + 1) * step - 1).min(high)))
                .filter(|(from, to)| from <= to)
                .map(|(from, to)| {
                    let rows = usize::try_from(to - from + 1).unwrap_or(0);
                    (sql.clone(), vec![from.into(), to.into()], rows)
                })
                .collect()
        } else {
            let sql = format!(
                "SELECT {FACTS_COLUMNS}, f.id FROM dossier_facts f
                     WHERE unit = ? AND {period_filter}{field_filter}"
            );
            units
                .iter()
                .map(|u| (sql.clone(), vec![u.to_string().into()], 0))
                .collect()
        };
        let scope: KeyMap<&str, ()> = units.iter().map(|u| (u.as_str(), ())).collect();
        let read_job = |(sql, values, rows): &(String, Vec<rusqlite::types::Value>, usize),
                        facts: &mut Vec<DossierFacts>,
                        damaged: &mut Vec<Unclassified>| {
            self.read(|conn| {
                // Reads of a large table go through the page cache, not copies.
                conn.execute_batch("PRAGMA mmap_size = 4294967296")?;
                let mut stmt = conn.prepare_cached(sql)?;
                let all = values.iter().chain(filters.iter()).cloned();
                facts.reserve(*rows);
                let mut shared = SharedTexts::default();
                let mut rows = stmt.query(params_from_iter(all))?;
                while let Some(row) = rows.next()? {
                    let unit = row.get_ref(0)?.as_str().unwrap_or_default();
                    if !scope.contains_key(unit) {
                        continue;
                    }
                    match facts_from_row(row, 0, &mut shared) {
                        Ok(f) => facts.push(f),
                        Err(reason) => damaged.push(Unclassified {
                            code: format!(
                                "dossier_facts #{}",
                                row.get::<_, i64>(2).unwrap_or_default()
                            ),
                            reason: format!("index row {reason}; run motcua admin verify"),
                        }),
                    }
                }
                Ok(())
            })
        };
        let results = crate::parallel::map(&jobs, parts, |job| {
            let mut facts = Vec::new();
            let mut damaged = Vec::new();
            read_job(job, &mut facts, &mut damaged).map(|()| (facts, damaged))
        });
        let mut load = FactsLoad::default();
        for result in results {
            let (facts, damaged) = result?;
            if !facts.is_empty() {
                load.parts.push(facts);
            }
            load.damaged.extend(damaged);
        }
        Ok(load)
    }

    /// The dossiers of `units` received during `period`, in order of
    /// receipt: the register (sổ theo dõi hồ sơ, Form 07).
    pub fn register(&self, units: &[UnitCode], period: &Period) -> Result<Vec<ListedDossier>> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {LISTED_COLUMNS} FROM dossier_facts f JOIN dossiers d ON d.doc_id = f.doc_id
             WHERE f.received_at BETWEEN ?1 AND ?2 AND f.unit IN ({})
             ORDER BY f.received_at, d.code",
            vec!["?"; units.len()].join(", ")
        );
        let values: Vec<rusqlite::types::Value> = [period.starts_at(), period.ends_at()]
            .into_iter()
            .map(rusqlite::types::Value::from)
            .chain(units.iter().map(|u| u.to_string().into()))
            .collect();
        self.read(|conn| listed(conn, &sql, values))
    }

    /// The listed form of the dossiers with these codes (those the hub has),
    /// by code.
    pub fn listed_by_code(&self, codes: &[&str]) -> Result<Vec<ListedDossier>> {
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(500) {
            let sql = format!(
                "SELECT {LISTED_COLUMNS} FROM dossiers d JOIN dossier_facts f ON f.doc_id = d.doc_id
                 WHERE d.code IN ({}) ORDER BY d.code",
                vec!["?"; chunk.len()].join(", ")
            );
            let values = chunk.iter().map(|c| c.to_string().into()).collect();
            out.extend(self.read(|conn| listed(conn, &sql, values))?);
        }
        Ok(out)
    }

    /// Writes index rows for dossiers that have no document: a data set for
    /// timing reports at a province's scale (`motcua bench report06a`), not
    /// a usable hub — `motcua admin verify` names every such row.
    pub fn write_index_only(&self, dossiers: &[(DocId, Dossier)]) -> Result<()> {
        let calendar = self.calendar();
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        // The rows reference documents that do not exist; and a data set
        // that is made again if lost need not wait for the disk.
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -524288;",
        )?;
        let written = (|| -> Result<()> {
            let tx = conn.transaction()?;
            for (id, dossier) in dossiers {
                write_dossier(&tx, id, dossier, 0, &calendar)?;
            }
            tx.commit()?;
            Ok(())
        })();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA cache_size = -2000;",
        )?;
        written
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

/// The columns [`listed`] reads, of `dossier_facts f JOIN dossiers d`: the
/// facts, then what lists print.
const LISTED_COLUMNS: &str = "f.unit, f.facts,
    d.procedure_name, d.applicant_name, d.applicant_address, d.phone, d.sets, d.code";

fn listed(
    conn: &rusqlite::Connection,
    sql: &str,
    values: Vec<rusqlite::types::Value>,
) -> Result<Vec<ListedDossier>> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut shared = SharedTexts::default();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let facts = facts_from_row(r, 0, &mut shared).map_err(|e| {
            let code: String = r.get(7).unwrap_or_default();
            StoreError::Invalid(format!(
                "the index row of {code}: {e}; run motcua admin verify"
            ))
        })?;
        out.push(ListedDossier {
            facts,
            procedure_name: r.get(2)?,
            applicant_name: r.get(3)?,
            applicant_address: r.get(4)?,
            phone: r.get(5)?,
            sets: r.get(6)?,
        });
    }
    Ok(out)
}

/// Midnight (UTC+7) of the day containing `ms`, in milliseconds.
pub fn start_of_local_day(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    const OFFSET: i64 = 7 * 3_600_000;
    (ms + OFFSET).div_euclid(DAY) * DAY - OFFSET
}
