//! Processing stages, the transitions between them, and the status a dossier
//! has because of its stage log.
//!
//! The stage log is append-only and replicated: devices that were offline
//! record stages concurrently, and every replica that has merged the same
//! entries must show the same status. So the status is never stored; it is
//! derived from the *set* of entries, ordered by their time and then their id
//! (a total order every replica agrees on, whatever order the entries were
//! merged in):
//!
//! - the latest entry decides the current stage;
//! - except that a final stage (result returned, refused, withdrawn) closes
//!   the dossier for good: entries after it do not reopen it, and merging an
//!   older non-final entry never undoes it;
//! - if two different final stages were recorded concurrently, the one with
//!   the higher precedence wins (result returned > refused > withdrawn: a
//!   result in the citizen's hands is a fact) and the other is reported.
//!
//! Transitions are checked when a stage is *recorded* (a user may only move
//! a dossier along the allowed edges from its current stage); merged entries
//! are never rejected for order, because two replicas may each have made a
//! legal move from the same stage.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::UnitCode;

/// A processing stage (bước xử lý).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Registered online, not yet accepted at the counter.
    Submitted,
    Received,
    HandedOver,
    Assigned,
    Processing,
    /// Sent to another level (liên thông).
    SentToLevel,
    ReturnedFromLevel,
    Reviewed,
    Signed,
    /// Waiting for the citizen to pay a tax or fee.
    AwaitingFee,
    /// Waiting for the citizen to supplement the dossier (Form 02).
    SupplementRequested,
    SupplementReceived,
    /// Processing stopped (Form 05).
    Paused,
    Resumed,
    /// The result is ready.
    Done,
    ResultReturned,
    /// Not accepted for processing (Form 03).
    Refused,
    Withdrawn,
}

impl Stage {
    pub const ALL: [Stage; 18] = [
        Stage::Submitted,
        Stage::Received,
        Stage::HandedOver,
        Stage::Assigned,
        Stage::Processing,
        Stage::SentToLevel,
        Stage::ReturnedFromLevel,
        Stage::Reviewed,
        Stage::Signed,
        Stage::AwaitingFee,
        Stage::SupplementRequested,
        Stage::SupplementReceived,
        Stage::Paused,
        Stage::Resumed,
        Stage::Done,
        Stage::ResultReturned,
        Stage::Refused,
        Stage::Withdrawn,
    ];

    /// The identifier used in documents, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Submitted => "submitted",
            Stage::Received => "received",
            Stage::HandedOver => "handed_over",
            Stage::Assigned => "assigned",
            Stage::Processing => "processing",
            Stage::SentToLevel => "sent_to_level",
            Stage::ReturnedFromLevel => "returned_from_level",
            Stage::Reviewed => "reviewed",
            Stage::Signed => "signed",
            Stage::AwaitingFee => "awaiting_fee",
            Stage::SupplementRequested => "supplement_requested",
            Stage::SupplementReceived => "supplement_received",
            Stage::Paused => "paused",
            Stage::Resumed => "resumed",
            Stage::Done => "done",
            Stage::ResultReturned => "result_returned",
            Stage::Refused => "refused",
            Stage::Withdrawn => "withdrawn",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Stage::Submitted => "Đăng ký trực tuyến",
            Stage::Received => "Tiếp nhận",
            Stage::HandedOver => "Chuyển hồ sơ",
            Stage::Assigned => "Phân công xử lý",
            Stage::Processing => "Đang xử lý",
            Stage::SentToLevel => "Chuyển cấp khác (liên thông)",
            Stage::ReturnedFromLevel => "Nhận lại từ cấp khác",
            Stage::Reviewed => "Thẩm định",
            Stage::Signed => "Ký duyệt",
            Stage::AwaitingFee => "Chờ thực hiện nghĩa vụ tài chính",
            Stage::SupplementRequested => "Yêu cầu bổ sung",
            Stage::SupplementReceived => "Nhận bổ sung",
            Stage::Paused => "Dừng xử lý",
            Stage::Resumed => "Tiếp tục xử lý",
            Stage::Done => "Đã xử lý xong",
            Stage::ResultReturned => "Đã trả kết quả",
            Stage::Refused => "Từ chối tiếp nhận",
            Stage::Withdrawn => "Rút hồ sơ",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Stage::Submitted => "Submitted online",
            Stage::Received => "Received",
            Stage::HandedOver => "Handed over",
            Stage::Assigned => "Assigned",
            Stage::Processing => "Processing",
            Stage::SentToLevel => "Sent to another level",
            Stage::ReturnedFromLevel => "Returned from another level",
            Stage::Reviewed => "Reviewed",
            Stage::Signed => "Signed",
            Stage::AwaitingFee => "Awaiting fee",
            Stage::SupplementRequested => "Supplement requested",
            Stage::SupplementReceived => "Supplement received",
            Stage::Paused => "Paused",
            Stage::Resumed => "Resumed",
            Stage::Done => "Done",
            Stage::ResultReturned => "Result returned",
            Stage::Refused => "Refused",
            Stage::Withdrawn => "Withdrawn",
        }
    }

    /// The national dossier status code this stage maps to.
    pub fn national_status(self) -> NationalStatus {
        use NationalStatus as N;
        match self {
            Stage::Submitted => N::NewlyRegistered,
            Stage::Received => N::Received,
            Stage::Refused => N::NotAccepted,
            Stage::HandedOver
            | Stage::Assigned
            | Stage::Processing
            | Stage::SentToLevel
            | Stage::ReturnedFromLevel
            | Stage::Reviewed
            | Stage::Signed
            | Stage::SupplementReceived
            | Stage::Resumed => N::InProgress,
            Stage::SupplementRequested => N::SupplementRequested,
            Stage::AwaitingFee => N::FinancialObligation,
            Stage::Withdrawn => N::WithdrawalRequested,
            Stage::Paused => N::Stopped,
            Stage::Done => N::Resolved,
            Stage::ResultReturned => N::ResultReturned,
        }
    }

    /// Final stages close a dossier for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Stage::ResultReturned | Stage::Refused | Stage::Withdrawn
        )
    }

    /// Which final stage wins when several were recorded concurrently.
    fn final_precedence(self) -> u8 {
        match self {
            Stage::ResultReturned => 3,
            Stage::Refused => 2,
            Stage::Withdrawn => 1,
            _ => 0,
        }
    }

    /// The stages that can start a dossier's log.
    pub fn is_initial(self) -> bool {
        matches!(self, Stage::Submitted | Stage::Received)
    }

    /// The kind of wait for the citizen (or a stop) this stage begins, if any.
    pub fn starts_wait(self) -> Option<WaitKind> {
        match self {
            Stage::SupplementRequested => Some(WaitKind::Supplement),
            Stage::AwaitingFee => Some(WaitKind::Fee),
            Stage::Paused => Some(WaitKind::Stopped),
            _ => None,
        }
    }

    /// The stages a user may record next when the dossier is at `self`.
    pub fn next_stages(self) -> &'static [Stage] {
        use Stage::*;
        // Any working stage may move to any other working step, pause for the
        // citizen, finish, or end; waits may only be left the way they end.
        const WORKING: &[Stage] = &[
            HandedOver,
            Assigned,
            Processing,
            SentToLevel,
            ReturnedFromLevel,
            Reviewed,
            Signed,
            AwaitingFee,
            SupplementRequested,
            Paused,
            Done,
            Refused,
            Withdrawn,
        ];
        const FROM_RECEIVED: &[Stage] = &[
            HandedOver,
            Assigned,
            Processing,
            SentToLevel,
            Reviewed,
            Signed,
            AwaitingFee,
            SupplementRequested,
            Paused,
            Done,
            Refused,
            Withdrawn,
        ];
        match self {
            Submitted => &[Received, Refused, Withdrawn],
            Received => FROM_RECEIVED,
            HandedOver | Assigned | Processing | SentToLevel | ReturnedFromLevel | Reviewed
            | Signed | SupplementReceived | Resumed => WORKING,
            SupplementRequested => &[SupplementReceived, Refused, Withdrawn],
            AwaitingFee => &[Resumed, Processing, Done, ResultReturned, Withdrawn],
            Paused => &[Resumed, Refused, Withdrawn],
            Done => &[ResultReturned, AwaitingFee],
            ResultReturned | Refused | Withdrawn => &[],
        }
    }

    pub fn can_move_to(self, next: Stage) -> bool {
        self.next_stages().contains(&next)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a stage; stages are: submitted, received, handed_over, assigned, processing, sent_to_level, returned_from_level, reviewed, signed, awaiting_fee, supplement_requested, supplement_received, paused, resumed, done, result_returned, refused, withdrawn"
)]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, UnknownStage> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s.trim())
            .ok_or_else(|| UnknownStage(s.chars().take(40).collect()))
    }
}

/// The national dossier status codes exchanged with the national portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum NationalStatus {
    NewlyRegistered = 1,
    Received = 2,
    NotAccepted = 3,
    InProgress = 4,
    SupplementRequested = 5,
    FinancialObligation = 6,
    WithdrawalRequested = 7,
    Stopped = 8,
    Resolved = 9,
    ResultReturned = 10,
}

impl NationalStatus {
    pub const ALL: [NationalStatus; 10] = [
        NationalStatus::NewlyRegistered,
        NationalStatus::Received,
        NationalStatus::NotAccepted,
        NationalStatus::InProgress,
        NationalStatus::SupplementRequested,
        NationalStatus::FinancialObligation,
        NationalStatus::WithdrawalRequested,
        NationalStatus::Stopped,
        NationalStatus::Resolved,
        NationalStatus::ResultReturned,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            NationalStatus::NewlyRegistered => "Mới đăng ký",
            NationalStatus::Received => "Được tiếp nhận",
            NationalStatus::NotAccepted => "Không được tiếp nhận",
            NationalStatus::InProgress => "Đang xử lý",
            NationalStatus::SupplementRequested => "Yêu cầu bổ sung giấy tờ",
            NationalStatus::FinancialObligation => "Yêu cầu thực hiện nghĩa vụ tài chính",
            NationalStatus::WithdrawalRequested => "Công dân yêu cầu rút hồ sơ",
            NationalStatus::Stopped => "Dừng xử lý",
            NationalStatus::Resolved => "Đã xử lý xong",
            NationalStatus::ResultReturned => "Đã trả kết quả",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            NationalStatus::NewlyRegistered => "Newly registered",
            NationalStatus::Received => "Received",
            NationalStatus::NotAccepted => "Not accepted",
            NationalStatus::InProgress => "In progress",
            NationalStatus::SupplementRequested => "Supplement requested",
            NationalStatus::FinancialObligation => "Awaiting financial obligation",
            NationalStatus::WithdrawalRequested => "Withdrawn at the citizen's request",
            NationalStatus::Stopped => "Processing stopped",
            NationalStatus::Resolved => "Resolved",
            NationalStatus::ResultReturned => "Result returned",
        }
    }
}

impl From<NationalStatus> for u8 {
    fn from(s: NationalStatus) -> u8 {
        s.code()
    }
}

impl TryFrom<u8> for NationalStatus {
    type Error = String;
    fn try_from(code: u8) -> Result<Self, String> {
        NationalStatus::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| format!("{code} is not a national status code (1 to 10)"))
    }
}

/// One entry of a dossier's stage log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEntry {
    /// Unique and identical on every replica (the entry's document object id).
    pub id: String,
    pub stage: Stage,
    /// When the stage happened, in milliseconds since the Unix epoch.
    pub at: i64,
    pub user: String,
    pub device: String,
    /// The unit whose staff recorded the stage (differs from the receiving
    /// unit when the dossier was sent to another level).
    pub unit: UnitCode,
    pub note: String,
    /// On a supplement request (Form 02): the documents the citizen must
    /// still bring, one item each. Empty on every other stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl StageEntry {
    /// The stage and its time, which is all the status depends on.
    pub fn event(&self) -> StageEvent {
        StageEvent {
            stage: self.stage,
            at: self.at,
        }
    }

    /// The order every replica agrees on.
    fn log_order(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at).then_with(|| self.id.cmp(&other.id))
    }
}

/// Why the user may not record a stage now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a dossier's log must start with 'received' or 'submitted', not '{0}'")]
    NotInitial(Stage),
    #[error("the dossier is closed ('{0}'); no stage can be recorded after it")]
    Closed(Stage),
    #[error("'{to}' cannot follow '{from}'; allowed next: {allowed}")]
    NotAllowed {
        from: Stage,
        to: Stage,
        allowed: String,
    },
}

/// Checks that `next` may be recorded when the dossier is at `current`
/// (`None` for an empty log).
pub fn check_transition(current: Option<Stage>, next: Stage) -> Result<(), TransitionError> {
    match current {
        None if next.is_initial() => Ok(()),
        None => Err(TransitionError::NotInitial(next)),
        Some(from) if from.is_final() => Err(TransitionError::Closed(from)),
        Some(from) if from.can_move_to(next) => Ok(()),
        Some(from) => Err(TransitionError::NotAllowed {
            from,
            to: next,
            allowed: from
                .next_stages()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// What kind of wait a pause in processing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Waiting for the citizen's supplement: the procedure's pause rule applies.
    Supplement,
    /// Waiting for the citizen's payment: the procedure's pause rule applies.
    Fee,
    /// Processing stopped by the office: the clock is extended.
    Stopped,
}

/// A period during which the dossier waited; `end` is `None` while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    pub kind: WaitKind,
    pub start: i64,
    pub end: Option<i64>,
}

/// How a dossier's processing ended, if it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Open,
    /// Processed (Done) — possibly already returned to the citizen. `at` is
    /// when it was done, which is what timeliness is judged on.
    Resolved {
        at: i64,
        returned: bool,
    },
    Refused {
        at: i64,
    },
    Withdrawn {
        at: i64,
    },
}

/// Why an entry does not count towards the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Overruled {
    /// Recorded (often offline) after the time the dossier was closed.
    AfterClose { closed_by: String },
    /// A different final stage recorded concurrently lost to `winner`.
    LosingFinal { winner: String },
}

/// The status of a dossier derived from its stage log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The stage that decides the status, `None` only for an empty log.
    pub current: Option<Stage>,
    pub status: Option<NationalStatus>,
    pub outcome: Outcome,
    /// When the dossier was first received (or submitted online).
    pub received_at: Option<i64>,
    pub waits: Vec<Wait>,
    /// Entries in log order (time, then id) that count towards the status.
    pub timeline: Vec<StageEntry>,
    /// Entries that were recorded but do not count, with the reason.
    pub overruled: Vec<(StageEntry, Overruled)>,
}

impl Progress {
    /// Derives the status from the entries, in any order.
    pub fn derive(entries: &[StageEntry]) -> Progress {
        Self::derive_as_of(entries, i64::MAX)
    }

    /// Derives the status as it was at `as_of` (inclusive), ignoring entries
    /// whose time is later. Reports for a past period use this so that stages
    /// recorded since do not change them.
    pub fn derive_as_of(entries: &[StageEntry], as_of: i64) -> Progress {
        let sorted = in_log_order(entries);
        let (course, counted) = Course::derive(&sorted, as_of, |e| e.event());
        let mut timeline = Vec::new();
        let mut overruled = Vec::new();
        for (i, entry) in sorted[..counted.known].iter().enumerate() {
            match counted.overruled(i, sorted[i].stage) {
                Some(reason) => {
                    let winner = counted
                        .winner
                        .map(|w| sorted[w].id.clone())
                        .unwrap_or_default();
                    overruled.push((
                        (*entry).clone(),
                        match reason {
                            Overruling::LosingFinal => Overruled::LosingFinal { winner },
                            Overruling::AfterClose => Overruled::AfterClose { closed_by: winner },
                        },
                    ));
                }
                None => timeline.push((*entry).clone()),
            }
        }
        Progress {
            current: course.current,
            status: course.current.map(Stage::national_status),
            outcome: course.outcome,
            received_at: course.received_at,
            waits: course.waits,
            timeline,
            overruled,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.current.is_some_and(Stage::is_final)
    }
}

/// Entries in the order every replica agrees on: by time, then by id.
pub fn in_log_order(entries: &[StageEntry]) -> Vec<&StageEntry> {
    let mut sorted: Vec<&StageEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.log_order(b));
    sorted
}

/// A stage and when it happened (milliseconds since the Unix epoch): all
/// that a dossier's status depends on. Reports over many dossiers keep their
/// logs in this form, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEvent {
    pub stage: Stage,
    pub at: i64,
}

/// What a stage log says as of a moment — current stage, outcome, waits —
/// without the entries themselves. [`Progress`] is this plus the entries;
/// reports derive only this, for every dossier, as of a period's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    /// The stage that decides the status, `None` for an empty log.
    pub current: Option<Stage>,
    pub outcome: Outcome,
    /// When the dossier was first received (or submitted online).
    pub received_at: Option<i64>,
    pub waits: Vec<Wait>,
}

/// Which of the sorted entries a [`Course`] counted.
#[derive(Debug, Clone, Copy)]
struct Counted {
    /// How many entries (a prefix, in log order) are not later than the moment.
    known: usize,
    /// The index of the final stage that closes the dossier, if any.
    winner: Option<usize>,
}

enum Overruling {
    LosingFinal,
    AfterClose,
}

impl Counted {
    /// Why the `i`-th entry does not count, if it does not.
    fn overruled(&self, i: usize, stage: Stage) -> Option<Overruling> {
        let w = self.winner?;
        if stage.is_final() && i != w {
            Some(Overruling::LosingFinal)
        } else if i > w {
            Some(Overruling::AfterClose)
        } else {
            None
        }
    }
}

impl Course {
    /// The course of a log given as events already in log order (by time,
    /// then by entry id; see [`in_log_order`]), as it was at `as_of`
    /// (inclusive).
    pub fn of(events: &[StageEvent], as_of: i64) -> Course {
        Self::derive(events, as_of, |e| *e).0
    }

    /// The one derivation of a status from a sorted log, for entries of any
    /// shape: the rules are in the module documentation.
    fn derive<T>(sorted: &[T], as_of: i64, event: impl Fn(&T) -> StageEvent) -> (Course, Counted) {
        // Sorted by time, so what is known at `as_of` is a prefix.
        let known = sorted.partition_point(|e| event(e).at <= as_of);
        let mut winner: Option<(usize, u8)> = None;
        for (i, e) in sorted[..known].iter().enumerate() {
            let precedence = event(e).stage.final_precedence();
            // Highest precedence wins; among equals, the earliest.
            if precedence > 0 && winner.is_none_or(|(_, best)| precedence > best) {
                winner = Some((i, precedence));
            }
        }
        let counted = Counted {
            known,
            winner: winner.map(|(i, _)| i),
        };

        let mut current = None;
        let mut last_at = 0;
        let mut last_done = None;
        let mut received_at = None;
        let mut waits: Vec<Wait> = Vec::new();
        for (i, e) in sorted[..known].iter().enumerate() {
            let e = event(e);
            if counted.overruled(i, e.stage).is_some() {
                continue;
            }
            if received_at.is_none() && e.stage.is_initial() {
                received_at = Some(e.at);
            }
            if let Some(open) = waits.last_mut().filter(|w| w.end.is_none()) {
                open.end = Some(e.at);
            }
            if let Some(kind) = e.stage.starts_wait() {
                waits.push(Wait {
                    kind,
                    start: e.at,
                    end: None,
                });
            }
            if e.stage == Stage::Done {
                last_done = Some(e.at);
            }
            current = Some(e.stage);
            last_at = e.at;
        }

        let outcome = match current {
            Some(Stage::Refused) => Outcome::Refused { at: last_at },
            Some(Stage::Withdrawn) => Outcome::Withdrawn { at: last_at },
            // Judged on when the result was ready: the last "done", or the
            // return itself when nobody recorded "done" separately.
            Some(stage @ (Stage::Done | Stage::ResultReturned)) => Outcome::Resolved {
                at: last_done.unwrap_or(last_at),
                returned: stage == Stage::ResultReturned,
            },
            _ => Outcome::Open,
        };
        (
            Course {
                current,
                outcome,
                received_at,
                waits,
            },
            counted,
        )
    }

    pub fn is_closed(&self) -> bool {
        self.current.is_some_and(Stage::is_final)
    }
}

impl Outcome {
    /// When processing ended (done, refused or withdrawn), if it has.
    pub fn finished_at(&self) -> Option<i64> {
        match *self {
            Outcome::Open => None,
            Outcome::Resolved { at, .. } | Outcome::Refused { at } | Outcome::Withdrawn { at } => {
                Some(at)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(id: &str, stage: Stage, at: i64) -> StageEntry {
        StageEntry {
            id: id.to_string(),
            stage,
            at,
            user: "u".into(),
            device: "d".into(),
            unit: UnitCode::parse("26734").unwrap(),
            note: String::new(),
            missing: Vec::new(),
        }
    }

    #[test]
    fn every_stage_maps_to_one_national_code_and_every_code_is_reachable() {
        for status in NationalStatus::ALL {
            assert!(
                Stage::ALL.iter().any(|s| s.national_status() == status),
                "no stage maps to {status:?}"
            );
        }
        assert_eq!(Stage::Withdrawn.national_status().code(), 7);
        assert_eq!(Stage::ResultReturned.national_status().code(), 10);
    }

    #[test]
    fn stage_names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>().unwrap(), stage);
            assert_eq!(
                serde_json::to_string(&stage).unwrap(),
                format!("\"{}\"", stage.as_str())
            );
        }
        assert!(
            "finished"
                .parse::<Stage>()
                .unwrap_err()
                .to_string()
                .contains("result_returned")
        );
    }

    #[test]
    fn transitions_follow_the_table_and_finals_allow_nothing() {
        assert!(check_transition(None, Stage::Received).is_ok());
        assert!(check_transition(None, Stage::Done).is_err());
        assert!(check_transition(Some(Stage::Received), Stage::Processing).is_ok());
        assert!(check_transition(Some(Stage::SupplementRequested), Stage::Done).is_err());
        assert!(
            check_transition(Some(Stage::SupplementRequested), Stage::SupplementReceived).is_ok()
        );
        assert!(check_transition(Some(Stage::Done), Stage::ResultReturned).is_ok());
        for stage in Stage::ALL {
            let err = check_transition(Some(Stage::Withdrawn), stage).unwrap_err();
            assert_eq!(err, TransitionError::Closed(Stage::Withdrawn));
            // A log starts only once: nothing leads back to an initial stage
            // except accepting an online registration at the counter.
            assert!(!stage.next_stages().contains(&Stage::Submitted));
            assert_eq!(
                stage.next_stages().contains(&Stage::Received),
                stage == Stage::Submitted
            );
        }
    }

    #[test]
    fn latest_entry_decides_and_waits_are_closed_by_the_next_entry() {
        let p = Progress::derive(&[
            entry("c", Stage::SupplementRequested, 30),
            entry("a", Stage::Received, 10),
            entry("b", Stage::Processing, 20),
            entry("d", Stage::SupplementReceived, 40),
            entry("e", Stage::AwaitingFee, 50),
        ]);
        assert_eq!(p.current, Some(Stage::AwaitingFee));
        assert_eq!(p.status, Some(NationalStatus::FinancialObligation));
        assert_eq!(p.received_at, Some(10));
        assert_eq!(
            p.waits,
            vec![
                Wait {
                    kind: WaitKind::Supplement,
                    start: 30,
                    end: Some(40)
                },
                Wait {
                    kind: WaitKind::Fee,
                    start: 50,
                    end: None
                },
            ]
        );
        assert_eq!(p.outcome, Outcome::Open);
    }

    #[test]
    fn a_final_stage_is_not_undone_by_a_later_or_older_entry() {
        let withdrawn = [
            entry("a", Stage::Received, 10),
            entry("b", Stage::Withdrawn, 20),
            entry("c", Stage::Processing, 30), // recorded offline, later
            entry("d", Stage::Assigned, 15),   // older, merged late
        ];
        let p = Progress::derive(&withdrawn);
        assert_eq!(p.current, Some(Stage::Withdrawn));
        assert_eq!(p.outcome, Outcome::Withdrawn { at: 20 });
        assert_eq!(p.overruled.len(), 1);
        assert_eq!(p.overruled[0].0.id, "c");
    }

    #[test]
    fn concurrent_finals_resolve_by_precedence_and_report_the_loser() {
        let p = Progress::derive(&[
            entry("a", Stage::Received, 10),
            entry("b", Stage::Done, 20),
            entry("w", Stage::Withdrawn, 25),
            entry("r", Stage::ResultReturned, 30),
        ]);
        assert_eq!(p.current, Some(Stage::ResultReturned));
        assert_eq!(
            p.outcome,
            Outcome::Resolved {
                at: 20,
                returned: true
            }
        );
        assert_eq!(
            p.overruled,
            vec![(
                entry("w", Stage::Withdrawn, 25),
                Overruled::LosingFinal { winner: "r".into() }
            )]
        );
    }

    #[test]
    fn as_of_ignores_entries_recorded_for_later_times() {
        let log = [
            entry("a", Stage::Received, 10),
            entry("b", Stage::Done, 20),
            entry("c", Stage::ResultReturned, 30),
        ];
        assert_eq!(Progress::derive_as_of(&log, 19).outcome, Outcome::Open);
        assert_eq!(
            Progress::derive_as_of(&log, 20).outcome,
            Outcome::Resolved {
                at: 20,
                returned: false
            }
        );
        assert_eq!(Progress::derive_as_of(&log, 5).current, None);
    }

    fn arb_entry() -> impl Strategy<Value = StageEntry> {
        (0usize..Stage::ALL.len(), 0i64..50, "[a-f]{1,3}")
            .prop_map(|(s, at, id)| entry(&id, Stage::ALL[s], at))
    }

    proptest! {
        #[test]
        fn status_depends_on_the_set_of_entries_not_their_order(
            mut entries in proptest::collection::vec(arb_entry(), 0..12),
            seed in any::<u64>(),
        ) {
            // Ids are unique on every replica.
            entries.sort_by(|a, b| a.id.cmp(&b.id));
            entries.dedup_by(|a, b| a.id == b.id);
            let reference = Progress::derive(&entries);
            let mut shuffled = entries.clone();
            // A simple deterministic shuffle from the seed.
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(Progress::derive(&shuffled), reference);
        }

        #[test]
        fn the_course_of_events_is_the_status_of_the_entries(
            mut entries in proptest::collection::vec(arb_entry(), 0..12),
            as_of in 0i64..55,
        ) {
            entries.sort_by(|a, b| a.id.cmp(&b.id));
            entries.dedup_by(|a, b| a.id == b.id);
            let progress = Progress::derive_as_of(&entries, as_of);
            let events: Vec<StageEvent> =
                in_log_order(&entries).into_iter().map(StageEntry::event).collect();
            let course = Course::of(&events, as_of);
            prop_assert_eq!(course.current, progress.current);
            prop_assert_eq!(course.outcome, progress.outcome);
            prop_assert_eq!(course.received_at, progress.received_at);
            prop_assert_eq!(course.waits, progress.waits);
        }

        #[test]
        fn once_closed_adding_any_entries_keeps_it_closed(
            base in proptest::collection::vec(arb_entry(), 1..8),
            extra in proptest::collection::vec(arb_entry(), 0..8),
        ) {
            let mut base = base;
            base.sort_by(|a, b| a.id.cmp(&b.id));
            base.dedup_by(|a, b| a.id == b.id);
            let before = Progress::derive(&base);
            let mut merged = base.clone();
            for mut e in extra {
                e.id = format!("x{}", e.id); // distinct from the base's ids
                if !merged.iter().any(|m| m.id == e.id) {
                    merged.push(e);
                }
            }
            let after = Progress::derive(&merged);
            if before.is_closed() {
                prop_assert!(after.is_closed());
                // Only a final of higher precedence may replace it.
                let (b, a) = (before.current.unwrap(), after.current.unwrap());
                prop_assert!(a.final_precedence() >= b.final_precedence());
            }
        }
    }
}
