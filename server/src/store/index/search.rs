//! The dossier list: filters by status, stage, field, unit and lateness,
//! and search by code, ID number, phone or applicant name, as SQL over the
//! `dossiers` rows, with the exact Vietnamese matching rule applied after.

use std::collections::BTreeSet;

use client_core::ids::UnitCode;
use client_core::search::SearchQuery;
use client_core::stage::Stage;
use rusqlite::params_from_iter;
use serde::{Deserialize, Serialize};

use super::lists::{DossierSummary, SUMMARY_COLUMNS, summary_from_row};
use crate::store::{Result, Store};

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
                let u = UnitCode::parse(u)?;
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
            let stage: Stage = stage.parse()?;
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
                    let code = s.code.to_string();
                    code.eq_ignore_ascii_case(raw.trim())
                        || q.matches(&s.applicant_name)
                        || q.matches(&code)
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
}

/// Midnight (UTC+7) of the day containing `ms`, in milliseconds.
pub fn start_of_local_day(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    const OFFSET: i64 = 7 * 3_600_000;
    (ms + OFFSET).div_euclid(DAY) * DAY - OFFSET
}
