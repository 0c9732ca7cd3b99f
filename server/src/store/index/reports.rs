//! Reading the report facts of many dossiers from `dossier_facts`, in
//! parallel row ranges, and the registers and lists that print them.

use client_core::ids::UnitCode;
use client_core::statistics::{DossierFacts, KeyMap, Period, Unclassified};
use rusqlite::params_from_iter;
use serde::Serialize;

use super::facts_codec::{FACTS_COLUMNS, SharedTexts, facts_from_row};
use crate::store::{Result, Store, StoreError};

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

impl Store {
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
    pub(in crate::store) fn report_facts_by(
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
            StoreError::DamagedRecord(format!(
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
