//! `motcua admin verify`: every index row re-derived from its document and
//! compared, column by column.

use client_core::ids::DocId;
use client_core::stage::Stage;
use client_core::statistics::DossierFacts;

use super::facts_codec::{FACTS_COLUMNS, SharedTexts, facts_from_row};
use super::{OutcomeKind, last_stage_at, summarize};
use crate::store::documents::DocKind;
use crate::store::{Result, Store};

impl Store {
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
            if DocKind::parse(&kind) != Some(DocKind::Dossier) {
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
            let expected = summarize(&id, &dossier, &calendar, crate::store::now_ms());
            let expected_facts = DossierFacts::from_dossier(&dossier);
            match indexed {
                None => problems.push(format!("{id}: no index row")),
                Some((code, stage, outcome, ..))
                    if code != expected.code.to_string()
                        || stage.as_deref() != expected.stage.map(Stage::as_str)
                        || outcome != expected.outcome.as_str() =>
                {
                    problems.push(format!(
                        "{id}: index says {code} {stage:?} {outcome}, document says {} {:?} {}",
                        expected.code,
                        expected.stage.map(|s| s.as_str().to_string()),
                        expected.outcome.as_str()
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
                                expected.outcome == OutcomeKind::Open,
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
}
