//! Statistics of dossier processing: report 06a and the late-dossier report.
//!
//! Leaders are judged on these figures, so there is exactly one
//! implementation of them, and both ends run it: the hub over its index
//! tables (a province, a million dossiers) and the web app over its local
//! replica (offline, in WebAssembly). Both build the same plain input, one
//! [`DossierFacts`] per dossier, and call [`Report06a::compute`].
//!
//! # As of the end of the period
//!
//! A report for a [`Period`] is computed from each dossier's stage log *as it
//! was at the period's last instant*: stages whose time is later are ignored,
//! so a report for last month does not change because of what is recorded
//! today. Where a dossier stood at the period's start decides whether it
//! belongs to the period at all.
//!
//! # Which dossiers a period counts, and where
//!
//! A dossier counts in a period when it was received by the period's end and
//! was not already closed (done, refused or withdrawn) before the period
//! began — or was reopened since: a dossier done earlier and then waiting
//! for the citizen's fee is open again. It counts once, at its *receiving unit* — a dossier sent up to
//! another level (liên thông) and returned stays with the unit that received
//! it, whoever recorded the stages in between.
//!
//! Every counted dossier falls in exactly one intake column and exactly one
//! disposition column, so the columns add up:
//!
//! ```text
//! received  = carried over + new online + new direct/postal
//! received  = resolved (early + on time + late) + refused + withdrawn
//!           + in progress (within deadline + overdue) + awaiting payment
//! ```
//!
//! - **Carried over** (kỳ trước chuyển sang): received before the period and
//!   still open at its start (or reopened during it). **New** (mới tiếp nhận): received during the
//!   period, online or direct/postal by its channel.
//! - **Resolved** (đã giải quyết): processing finished ("done", or the result
//!   returned with no separate "done") during the period, judged by the date
//!   it finished against its appointment date: *early* (trước hạn) before
//!   it, *on time* (đúng hạn) **on the appointment date itself**, *late*
//!   (quá hạn) after it.
//! - **Refused** (từ chối) and **withdrawn** (rút hồ sơ) during the period.
//! - **In progress** (đang giải quyết) at the period's end: *overdue* (quá
//!   hạn) once the period's last day is after the appointment date and the
//!   clock is running, else *within deadline* (trong hạn). A dossier waiting
//!   for the citizen's supplement has its clock stopped, so it is within
//!   deadline, and is also shown on its own (*awaiting supplement*, a part of
//!   within deadline) — unless the supplement was only asked for after the
//!   appointment date had passed, which cannot rescue a late dossier.
//! - **Awaiting payment** (chờ thực hiện nghĩa vụ tài chính): open and
//!   waiting for the citizen's tax or fee at the period's end.
//! - **On-time rate** = (early + on time) / (early + on time + late); none
//!   when nothing was resolved.
//!
//! # The appointment date
//!
//! The appointment is computed by [`crate::deadline`] from the receipt time
//! and the procedure's processing time on the working calendar, then moved
//! by every wait for the citizen (a supplement, a payment, a stop) recorded
//! in the log up to the moment of judgement, by the procedure's pause rule:
//!
//! - [`PauseRule::Extend`]: the appointment moves later by the working days
//!   the wait touched, except the day it ended (work resumes that day) — or
//!   by the office hours it took, for procedures counted in hours;
//! - [`PauseRule::Restart`]: when the wait ends the full processing time
//!   starts again, as if the dossier had been received then.
//!
//! A wait that starts after the appointment date leaves it alone.
//!
//! [`PauseRule::Extend`]: crate::deadline::PauseRule::Extend
//! [`PauseRule::Restart`]: crate::deadline::PauseRule::Restart

mod report;
#[cfg(test)]
mod tests;

pub use report::{
    Column, Disposition, Figures, Grouping, Intake, KeyHasher, KeyMap, LateDossier, Line,
    ON_TIME_RATE_EN, ON_TIME_RATE_VI, Report06a, Row, Summary, Unclassified, classify,
};

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

use crate::deadline::DeadlineTerms;
use crate::dossier::{Channel, Dossier};
use crate::ids::UnitCode;
use crate::stage::{StageEntry, StageEvent, in_log_order};
use crate::time::vn_offset;

/// What the statistics need to know about one dossier. Plain data, so the
/// hub builds it from its index tables without loading documents and the
/// web app builds it from its replica with [`DossierFacts::from_dossier`].
/// The texts many dossiers share (unit, field, clerk) are shared, not
/// copied, when a million are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierFacts {
    /// The dossier code (mã hồ sơ), which drill-down lists show.
    pub code: String,
    /// The receiving unit, where the dossier is counted.
    pub unit: UnitCode,
    /// The field (lĩnh vực) id from the catalogue.
    pub field: Arc<str>,
    pub channel: Channel,
    /// The clerk who received it (cán bộ tiếp nhận): see
    /// [`receiving_clerk`].
    pub clerk: Arc<str>,
    /// The appointment printed on the receipt, in milliseconds.
    pub due_at: i64,
    /// When it was received, and the procedure's processing time and pause
    /// rule.
    pub terms: DeadlineTerms,
    /// The stage log in log order (by time, then by entry id).
    pub stages: Vec<StageEvent>,
}

impl DossierFacts {
    pub fn from_dossier(dossier: &Dossier) -> DossierFacts {
        DossierFacts {
            code: dossier.code.to_string(),
            unit: dossier.unit.clone(),
            field: dossier.field.as_str().into(),
            channel: dossier.channel,
            clerk: receiving_clerk(&dossier.stages).into(),
            due_at: dossier.due_at,
            terms: dossier.deadline_terms(),
            stages: in_log_order(&dossier.stages)
                .into_iter()
                .map(StageEntry::event)
                .collect(),
        }
    }

    /// When it was received, in milliseconds.
    pub fn received_at(&self) -> i64 {
        self.terms.received_at
    }
}

/// The clerk a dossier is counted for in the by-clerk rows: whoever recorded
/// its first "received" (or "submitted") entry, in log order; empty for a log
/// without one.
pub fn receiving_clerk(entries: &[StageEntry]) -> &str {
    in_log_order(entries)
        .into_iter()
        .find(|e| e.stage.is_initial())
        .map_or("", |e| e.user.as_str())
}

/// A reporting period: whole days in Vietnam's time, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PeriodDates")]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Deserialize)]
struct PeriodDates {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<PeriodDates> for Period {
    type Error = PeriodError;
    fn try_from(dates: PeriodDates) -> Result<Self, PeriodError> {
        Period::new(dates.from, dates.to)
    }
}

/// Why a period is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "kỳ báo cáo kết thúc ngày {to}, trước ngày bắt đầu {from} / the period ends on {to}, before it starts on {from}: swap the dates"
    )]
    EndsBeforeStart { from: NaiveDate, to: NaiveDate },
    #[error(
        "ngày {0} nằm ngoài phạm vi tính được / {0} is outside the range of dates that can be reported on"
    )]
    OutOfRange(NaiveDate),
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError::EndsBeforeStart { from, to });
        }
        match to.succ_opt().and_then(local_midnight) {
            Some(_) => Ok(Period { from, to }),
            None => Err(PeriodError::OutOfRange(to)),
        }
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// The first instant (00:00 of the first day, UTC+7), in milliseconds.
    pub fn starts_at(&self) -> i64 {
        local_midnight(self.from).unwrap_or(i64::MIN)
    }

    /// The last instant (the millisecond before midnight after the last day,
    /// UTC+7): the moment the report is computed as of.
    pub fn ends_at(&self) -> i64 {
        self.to
            .succ_opt()
            .and_then(local_midnight)
            .map_or(i64::MAX, |next| next - 1)
    }

    pub fn contains(&self, ms: i64) -> bool {
        (self.starts_at()..=self.ends_at()).contains(&ms)
    }
}

fn local_midnight(day: NaiveDate) -> Option<i64> {
    vn_offset()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.timestamp_millis())
}
