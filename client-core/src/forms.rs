//! What the standard forms of Phụ lục I, Thông tư 03/2025/TT-VPCP say about
//! a dossier, derived from its stage log: Form 06, the control sheet (phiếu
//! kiểm soát quá trình giải quyết hồ sơ), and a line of Form 07, the
//! register (sổ theo dõi hồ sơ).
//!
//! Only the content lives here, so the hub and the web app print the same
//! thing; how it is laid out on paper is the printer's business.

use serde::{Deserialize, Serialize};

use crate::calendar::WorkingCalendar;
use crate::deadline::{DeadlineError, Timeliness};
use crate::dossier::Dossier;
use crate::ids::UnitCode;
use crate::stage::{Outcome, Progress, Stage, StageEntry, StageEvent};
use crate::statistics::DossierFacts;

/// Who holds the dossier at a step: a unit and one of its staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub unit: UnitCode,
    pub user: String,
}

/// One row of the control sheet: the dossier passed from one party to the
/// next (or, on the first row, from the citizen to the counter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandOff {
    /// Who gave it; `None` on the first row (the citizen).
    pub from: Option<Party>,
    /// Who received it and recorded the step.
    pub to: Party,
    /// When, in milliseconds.
    pub at: i64,
    /// What the step was.
    pub stage: Stage,
    /// For the step that finished processing: how it stood against the
    /// appointment.
    pub timeliness: Option<Timeliness>,
    pub note: String,
}

/// Form 06: the control sheet of one dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlSheet {
    /// The appointment after waits, as of the finish (or of `as_of` while
    /// open), in milliseconds.
    pub due_at: i64,
    /// Early, on time or late once resolved; within deadline or overdue
    /// while open; none once refused or withdrawn.
    pub timeliness: Option<Timeliness>,
    /// One row per step of the stage log that counts, in log order.
    pub rows: Vec<HandOff>,
}

impl ControlSheet {
    /// The control sheet of `dossier` as of `as_of` (milliseconds).
    pub fn of(
        dossier: &Dossier,
        calendar: &WorkingCalendar,
        as_of: i64,
    ) -> Result<ControlSheet, DeadlineError> {
        let standing = dossier.standing(calendar, as_of)?;
        let Progress {
            timeline, outcome, ..
        } = &standing.progress;
        let finished_at = outcome.finished_at();
        let mut rows: Vec<HandOff> = Vec::with_capacity(timeline.len());
        for entry in timeline {
            let to = Party {
                unit: entry.unit.clone(),
                user: entry.user.clone(),
            };
            rows.push(HandOff {
                from: rows.last().map(|previous| previous.to.clone()),
                to,
                at: entry.at,
                stage: entry.stage,
                timeliness: (Some(entry.at) == finished_at
                    && matches!(entry.stage, Stage::Done | Stage::ResultReturned))
                .then_some(standing.timeliness),
                note: hand_off_note(entry),
            });
        }
        // Only the step that decided the finish carries the timeliness.
        if let Some(last) = rows.iter().rposition(|r| r.timeliness.is_some()) {
            for row in &mut rows[..last] {
                row.timeliness = None;
            }
        }
        let ended_unjudged = matches!(outcome, Outcome::Refused { .. } | Outcome::Withdrawn { .. });
        Ok(ControlSheet {
            due_at: standing.due.at.timestamp_millis(),
            timeliness: (!ended_unjudged).then_some(standing.timeliness),
            rows,
        })
    }
}

/// The note column of a step: for a supplement request, the documents asked
/// for, each after a dash, then the clerk's note, on one line as every note.
fn hand_off_note(entry: &StageEntry) -> String {
    let mut parts: Vec<String> = entry.missing.iter().map(|m| format!("- {m}")).collect();
    if !entry.note.is_empty() {
        parts.push(entry.note.clone());
    }
    parts.join(" ")
}

/// The dates of one line of Form 07, the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterDates {
    /// Nhận hồ sơ.
    pub received_at: i64,
    /// Hẹn trả kết quả: the appointment on the receipt.
    pub due_at: i64,
    /// Chuyển hồ sơ đến cơ quan giải quyết: the first hand-over, assignment,
    /// processing step or dispatch to another level.
    pub handed_over_at: Option<i64>,
    /// Nhận kết quả từ cơ quan giải quyết: when the result was ready (the
    /// last "done").
    pub result_ready_at: Option<i64>,
    /// Trả kết quả cho tổ chức, cá nhân.
    pub returned_at: Option<i64>,
    /// Refused or withdrawn, and when (Ghi chú).
    pub closed: Option<StageEvent>,
}

impl RegisterDates {
    /// The register dates of a dossier from its stage log, as of `as_of`.
    pub fn of(facts: &DossierFacts, as_of: i64) -> RegisterDates {
        let known = facts.stages.iter().filter(|e| e.at <= as_of);
        let mut dates = RegisterDates {
            received_at: facts.received_at(),
            due_at: facts.due_at,
            handed_over_at: None,
            result_ready_at: None,
            returned_at: None,
            closed: None,
        };
        for event in known {
            match event.stage {
                Stage::HandedOver | Stage::Assigned | Stage::Processing | Stage::SentToLevel => {
                    dates.handed_over_at.get_or_insert(event.at);
                }
                Stage::Done => dates.result_ready_at = Some(event.at),
                Stage::ResultReturned => {
                    dates.returned_at.get_or_insert(event.at);
                }
                Stage::Refused | Stage::Withdrawn => {
                    dates.closed.get_or_insert(*event);
                }
                _ => {}
            }
        }
        dates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, stage: Stage, at: i64, unit: &str, user: &str, note: &str) -> StageEntry {
        StageEntry {
            id: id.into(),
            stage,
            at,
            user: user.into(),
            device: "tablet".into(),
            unit: UnitCode::parse(unit).unwrap(),
            note: note.into(),
            missing: Vec::new(),
        }
    }

    #[test]
    fn the_control_sheet_has_one_row_per_hand_off_and_judges_the_finish() {
        const H: i64 = 3_600_000;
        let mut d = crate::dossier::tests::sample();
        let t0 = d.received_at;
        d.unit = UnitCode::parse("26734").unwrap();
        d.stages = vec![
            entry("1@a", Stage::Received, t0, "26734", "canbo", ""),
            entry(
                "2@a",
                Stage::SentToLevel,
                t0 + H,
                "26734",
                "canbo",
                "gửi tỉnh",
            ),
            entry("3@b", Stage::Processing, t0 + 2 * H, "26", "chuyenvien", ""),
            entry(
                "4@b",
                Stage::ReturnedFromLevel,
                t0 + 24 * H,
                "26",
                "chuyenvien",
                "",
            ),
            entry("5@a", Stage::Done, t0 + 25 * H, "26734", "canbo", ""),
            entry(
                "6@a",
                Stage::ResultReturned,
                t0 + 26 * H,
                "26734",
                "canbo",
                "",
            ),
        ];
        let calendar = WorkingCalendar::seeded(2026..=2027).unwrap();
        let sheet = ControlSheet::of(&d, &calendar, t0 + 100 * H).unwrap();
        assert_eq!(sheet.rows.len(), 6);
        assert_eq!(sheet.rows[0].from, None);
        assert_eq!(sheet.rows[2].from.as_ref().unwrap().user, "canbo");
        assert_eq!(sheet.rows[2].to.unit.as_str(), "26");
        assert_eq!(sheet.rows[1].note, "gửi tỉnh");
        // Received Sat 28 Nov 2026 08:00 → counted from Mon 30 Nov; 3 days
        // → Thu 3 Dec. Done on Sun 29 Nov → early, on the "done" row only.
        assert_eq!(sheet.timeliness, Some(Timeliness::Early));
        let judged: Vec<Stage> = sheet
            .rows
            .iter()
            .filter(|r| r.timeliness.is_some())
            .map(|r| r.stage)
            .collect();
        assert_eq!(judged, vec![Stage::Done]);
    }

    #[test]
    fn a_supplement_request_shows_its_missing_documents_in_the_note_column() {
        let mut d = crate::dossier::tests::sample();
        let t0 = d.received_at;
        let mut request = entry(
            "2@a",
            Stage::SupplementRequested,
            t0 + 1000,
            "26734",
            "canbo",
            "Mang theo CCCD",
        );
        request.missing = vec!["Giấy chứng sinh".into(), "Sổ hộ khẩu".into()];
        d.stages = vec![
            entry("1@a", Stage::Received, t0, "26734", "canbo", ""),
            request,
        ];
        let calendar = WorkingCalendar::seeded(2026..=2027).unwrap();
        let sheet = ControlSheet::of(&d, &calendar, t0 + 2000).unwrap();
        // As such a request's note read before the list had its own field.
        assert_eq!(
            sheet.rows[1].note,
            "- Giấy chứng sinh - Sổ hộ khẩu Mang theo CCCD"
        );
        assert_eq!(sheet.rows[0].note, "");
    }

    #[test]
    fn register_dates_come_from_the_log_as_of_a_moment() {
        let mut d = crate::dossier::tests::sample();
        let t0 = d.received_at;
        d.stages = vec![
            entry("1@a", Stage::Received, t0, "26734", "canbo", ""),
            entry("2@a", Stage::HandedOver, t0 + 10, "26734", "canbo", ""),
            entry("3@a", Stage::Processing, t0 + 20, "26734", "cv", ""),
            entry("4@a", Stage::Done, t0 + 30, "26734", "cv", ""),
            entry("5@a", Stage::ResultReturned, t0 + 40, "26734", "canbo", ""),
        ];
        let facts = DossierFacts::from_dossier(&d);
        let all = RegisterDates::of(&facts, t0 + 40);
        assert_eq!(all.handed_over_at, Some(t0 + 10));
        assert_eq!(all.result_ready_at, Some(t0 + 30));
        assert_eq!(all.returned_at, Some(t0 + 40));
        let earlier = RegisterDates::of(&facts, t0 + 35);
        assert_eq!(earlier.returned_at, None);
        assert_eq!(earlier.due_at, d.due_at);
    }
}
