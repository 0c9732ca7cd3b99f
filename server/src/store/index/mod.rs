//! The dossier index: one row per dossier (and one per stage entry) holding
//! what lists, searches and reports filter on. Rows are rewritten from the
//! validated document in the same transaction that stores its changes, so
//! the index never disagrees with the documents.
//!
//! - [`lists`]: the list row of a dossier ([`DossierSummary`]) and look-ups
//!   by code and unit.
//! - [`search`]: the dossier list's filters and search, as SQL.
//! - [`facts_codec`]: the binary record of a dossier's report facts and its
//!   stage log.
//! - [`reports`]: loading report facts in parallel, registers and lists.
//! - [`verify`]: re-deriving every row from its document.
//!
//! This module writes the rows and rebuilds them when [`INDEX_VERSION`]
//! changes.

mod facts_codec;
mod lists;
mod reports;
mod search;
mod verify;

use client_core::calendar::WorkingCalendar;
use client_core::dossier::Dossier;
use client_core::ids::DocId;
use client_core::search::fold;
use client_core::stage::NationalStatus;
use client_core::statistics::DossierFacts;
use rusqlite::{Transaction, params};

use super::{Result, Store};

pub use facts_codec::{decode_stage_log, encode_facts, encode_stage_log};
pub use lists::{DossierSummary, OutcomeKind, summarize};
pub use reports::{FactsLoad, ListedDossier};
pub use search::{DossierFilter, DossierPage, start_of_local_day};

pub fn write_dossier(
    tx: &Transaction<'_>,
    doc_id: &DocId,
    dossier: &Dossier,
    seq: u64,
    calendar: &WorkingCalendar,
) -> Result<()> {
    let s = summarize(doc_id, dossier, calendar, crate::store::now_ms());
    let facts = DossierFacts::from_dossier(dossier);
    tx.execute(
        "INSERT OR REPLACE INTO dossiers (doc_id, code, unit, field, procedure_id, procedure_name, channel, stage, status,
            applicant_name, applicant_folded, id_number, phone, received_by, received_at, due_at, effective_due_at,
            clock_stopped, finished_at, outcome, updated_seq, applicant_address, sets)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            doc_id.as_bytes(),
            s.code.to_string(),
            s.unit.as_str(),
            s.field,
            s.procedure_id,
            s.procedure_name,
            s.channel.as_str(),
            s.stage.map(|stage| stage.as_str()),
            s.status.map(NationalStatus::code),
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
            s.outcome.as_str(),
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
        s.outcome == OutcomeKind::Open,
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

/// When the latest stage happened (the receipt, for an empty log).
fn last_stage_at(facts: &DossierFacts) -> i64 {
    facts
        .stages
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(facts.terms.received_at)
}

impl Store {
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
}
