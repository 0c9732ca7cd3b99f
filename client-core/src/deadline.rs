//! The deadline engine: appointment dates, pauses and timeliness.
//!
//! Given a working calendar, the instant a dossier was received and its
//! procedure's processing time, this module says when the result is due (the
//! appointment printed on the receipt), how waits for the citizen move that
//! date, and whether the dossier was or is early, on time or late. All
//! instants are in Vietnam's time (UTC+7); nothing here reads a clock, so
//! "now" is always passed in, which is also what lets reports be computed as
//! of any instant.
//!
//! The rules, each with its reason next to the code:
//!
//! - A receipt outside office hours counts from the next working session.
//! - Received in the morning, due at the end of a morning; in the
//!   afternoon, at the end of an afternoon.
//! - `N ≥ 1` working days: due on the `N`-th working day after the (effective)
//!   day of receipt.
//! - `0` working days (same day): due at the close of the same day if
//!   received before the cut-off (15:00), else at the close of the next
//!   working day.
//! - `N` working hours: `N` hours of office time from the effective start.
//! - Waits for the citizen either extend the deadline by the working time
//!   they took ([`PauseRule::Extend`]) or restart it in full when they end
//!   ([`PauseRule::Restart`]). While a wait is open the clock is stopped.

use std::cmp::Ordering;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::calendar::{OfficeHours, WorkingCalendar};
use crate::stage;
use crate::time::{VnDateTime, to_vn, vn_offset};

/// How a procedure's processing time is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    WorkingDays,
    WorkingHours,
}

/// A procedure's statutory processing time. `0 working days` is a same-day
/// procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessingTime {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl ProcessingTime {
    pub const fn working_days(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingDays,
        }
    }

    pub const fn working_hours(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingHours,
        }
    }
}

/// What happens to the clock while a dossier waits for the citizen (a
/// supplement or a payment). Chosen per procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseRule {
    /// The appointment moves later by the working time spent waiting.
    Extend,
    /// The full processing time starts again when the wait ends.
    Restart,
}

impl TimeUnit {
    /// The identifier stored in documents and indexes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkingDays => "working_days",
            Self::WorkingHours => "working_hours",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "working_days" => Some(Self::WorkingDays),
            "working_hours" => Some(Self::WorkingHours),
            _ => None,
        }
    }

    fn vietnamese(self) -> &'static str {
        match self {
            Self::WorkingDays => "ngày làm việc",
            Self::WorkingHours => "giờ làm việc",
        }
    }

    fn english(self) -> &'static str {
        match self {
            Self::WorkingDays => "working days",
            Self::WorkingHours => "working hours",
        }
    }
}

/// The longest processing time in working days the engine accepts. Real
/// procedures take at most a few months; anything far beyond is a typing
/// mistake, and refusing it keeps the day-by-day counting bounded.
pub const MAX_WORKING_DAYS: u32 = 3_650;
/// The longest processing time in working hours the engine accepts, for the
/// same reason.
pub const MAX_WORKING_HOURS: u32 = 30_000;

impl PauseRule {
    /// The identifier stored in documents and indexes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extend => "extend",
            Self::Restart => "restart",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "extend" => Some(Self::Extend),
            "restart" => Some(Self::Restart),
            _ => None,
        }
    }
}

/// A wait for the citizen (a supplement or a payment) during which the
/// dossier's clock does not run. `end` is `None` while still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseInterval {
    pub start: VnDateTime,
    pub end: Option<VnDateTime>,
}

/// A dossier's due instant as of some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// When the result is due, counting waits up to that moment. While the
    /// clock is stopped this is the due instant if the wait ended right then;
    /// it moves later the longer the wait lasts.
    pub at: VnDateTime,
    /// Whether the dossier is waiting for the citizen at that moment.
    pub clock_stopped: bool,
}

/// How a dossier stands against its deadline (the categories of report 06a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// Finished before the due date (trước hạn).
    Early,
    /// Finished on the due date (đúng hạn).
    OnTime,
    /// Finished after the due date (quá hạn).
    Late,
    /// Not finished, due date not passed, or waiting for the citizen (trong
    /// hạn).
    WithinDeadline,
    /// Not finished and the due date has passed (quá hạn, đang xử lý).
    Overdue,
}

/// Why a deadline cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error(
        "thời hạn giải quyết {amount} {} vượt quá mức tối đa {max} / a processing time of {amount} {} is longer than the longest accepted, {max}: check the procedure's processing time",
        .unit.vietnamese(),
        .unit.english()
    )]
    ProcessingTimeTooLong {
        amount: u32,
        unit: TimeUnit,
        max: u32,
    },
    #[error(
        "khoảng chờ kết thúc lúc {end}, trước khi bắt đầu lúc {start} / a wait ends at {end}, before it starts at {start}: correct the times of the wait"
    )]
    PauseEndsBeforeStart { start: String, end: String },
    #[error(
        "ngày hẹn vượt quá phạm vi ngày tháng có thể tính / the due date falls beyond the range of dates that can be computed: check the receipt time"
    )]
    OutOfRange,
}

/// When the clock starts for a dossier received at `received`: the receipt
/// itself if it is inside a working session, else the start of the next one.
pub fn effective_start(
    calendar: &WorkingCalendar,
    received: VnDateTime,
) -> Result<VnDateTime, DeadlineError> {
    let start = clock_start(calendar, local(received))?;
    vn_instant(start.at)
}

/// The due instant of a dossier received at `received` with no waits.
pub fn due_at(
    calendar: &WorkingCalendar,
    received: VnDateTime,
    time: ProcessingTime,
) -> Result<VnDateTime, DeadlineError> {
    check_processing_time(time)?;
    vn_instant(due_from_receipt(calendar, local(received), time)?)
}

/// The due instant as of `now`, counting the waits for the citizen under
/// `rule`.
///
/// What happened after `now` is not known as of `now`: waits that start
/// later are left out and waits that end later are still open.
pub fn effective_due(
    calendar: &WorkingCalendar,
    received: VnDateTime,
    time: ProcessingTime,
    rule: PauseRule,
    pauses: &[PauseInterval],
    now: VnDateTime,
) -> Result<Due, DeadlineError> {
    check_processing_time(time)?;
    let received = local(received);
    let waits = waits_as_of(pauses, received, local(now))?;
    let mut due = due_from_receipt(calendar, received, time)?;
    let mut clock_stopped = false;
    for wait in waits {
        // A wait that begins after the due date cannot rescue a dossier that
        // was already late; it leaves the deadline alone.
        if wait.start.date() > due.date() {
            break;
        }
        due = match rule {
            PauseRule::Extend => extend(calendar, due, &wait, time.unit)?,
            // The wait ends with a complete dossier: count again as if it
            // had just been received.
            PauseRule::Restart => due_from_receipt(calendar, wait.end, time)?,
        };
        clock_stopped = wait.open;
    }
    Ok(Due {
        at: vn_instant(due)?,
        clock_stopped,
    })
}

/// Whether a dossier is or was early, on time or late, as of `now`.
///
/// A finished dossier is compared by date: finished before the due date is
/// early, on it on time, after it late. An open one is overdue once `now` is
/// past the due date, unless its clock is stopped by a wait. A dossier
/// finished after `now` is still open as of `now`.
pub fn classify(
    calendar: &WorkingCalendar,
    received: VnDateTime,
    time: ProcessingTime,
    rule: PauseRule,
    pauses: &[PauseInterval],
    finished: Option<VnDateTime>,
    now: VnDateTime,
) -> Result<Timeliness, DeadlineError> {
    let finished = finished.filter(|finished| *finished <= now);
    let due = effective_due(
        calendar,
        received,
        time,
        rule,
        pauses,
        finished.unwrap_or(now),
    )?;
    Ok(judge(&due, finished, now))
}

/// The timeliness of a dossier whose due instant, as of its finish (or of
/// `now` while open), is `due` — the comparison [`classify`] makes.
fn judge(due: &Due, finished: Option<VnDateTime>, now: VnDateTime) -> Timeliness {
    let due_on = local(due.at).date();
    match finished {
        Some(finished) => match local(finished).date().cmp(&due_on) {
            Ordering::Less => Timeliness::Early,
            Ordering::Equal => Timeliness::OnTime,
            Ordering::Greater => Timeliness::Late,
        },
        // Waiting for the citizen counts as within the deadline, as report
        // 06a has it.
        None if !due.clock_stopped && local(now).date() > due_on => Timeliness::Overdue,
        None => Timeliness::WithinDeadline,
    }
}

/// What fixes a dossier's deadline: when it was received, and its
/// procedure's processing time and pause rule (all fixed at receipt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineTerms {
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    pub processing: ProcessingTime,
    pub pause_rule: PauseRule,
}

/// A dossier's deadline as of a moment, and how it stands against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The appointment after waits, as of the finish (or of the moment, while
    /// open).
    pub due: Due,
    pub timeliness: Timeliness,
}

impl DeadlineTerms {
    /// The appointment and timeliness as of `as_of`, given the waits of the
    /// stage log as of then and when processing finished (if it had). All
    /// instants in milliseconds; the one place the stage log meets the
    /// deadline rules.
    pub fn assess(
        &self,
        calendar: &WorkingCalendar,
        waits: &[stage::Wait],
        finished: Option<i64>,
        as_of: i64,
    ) -> Result<Assessment, DeadlineError> {
        let at = |ms: i64| crate::time::from_millis(ms).ok_or(DeadlineError::OutOfRange);
        let pauses = waits
            .iter()
            .map(|w| {
                Ok(PauseInterval {
                    start: at(w.start)?,
                    end: w.end.map(at).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, DeadlineError>>()?;
        let now = at(as_of)?;
        let finished = finished.map(at).transpose()?.filter(|f| *f <= now);
        let due = effective_due(
            calendar,
            at(self.received_at)?,
            self.processing,
            self.pause_rule,
            &pauses,
            finished.unwrap_or(now),
        )?;
        Ok(Assessment {
            due,
            timeliness: judge(&due, finished, now),
        })
    }
}

fn check_processing_time(time: ProcessingTime) -> Result<(), DeadlineError> {
    let max = match time.unit {
        TimeUnit::WorkingDays => MAX_WORKING_DAYS,
        TimeUnit::WorkingHours => MAX_WORKING_HOURS,
    };
    if time.amount > max {
        return Err(DeadlineError::ProcessingTimeTooLong {
            amount: time.amount,
            unit: time.unit,
            max,
        });
    }
    Ok(())
}

/// Which session the clock started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Morning,
    Afternoon,
}

/// The effective start of a receipt, in local time.
#[derive(Debug, Clone, Copy)]
struct ClockStart {
    at: NaiveDateTime,
    part: Part,
}

fn clock_start(
    calendar: &WorkingCalendar,
    received: NaiveDateTime,
) -> Result<ClockStart, DeadlineError> {
    let hours = calendar.office_hours();
    let (day, time) = (received.date(), received.time());
    if calendar.is_working_day(day) {
        let at = |time: NaiveTime| day.and_time(time);
        // Before opening: the clock starts when the counter opens.
        if time < hours.morning.start {
            return Ok(ClockStart {
                at: at(hours.morning.start),
                part: Part::Morning,
            });
        }
        if hours.morning.contains(time) {
            return Ok(ClockStart {
                at: received,
                part: Part::Morning,
            });
        }
        // Lunch: nobody works the dossier until the afternoon opens.
        if time < hours.afternoon.start {
            return Ok(ClockStart {
                at: at(hours.afternoon.start),
                part: Part::Afternoon,
            });
        }
        if hours.afternoon.contains(time) {
            return Ok(ClockStart {
                at: received,
                part: Part::Afternoon,
            });
        }
    }
    // After closing, or a day off: the next working morning.
    Ok(ClockStart {
        at: next_working_day(calendar, day)?.and_time(hours.morning.start),
        part: Part::Morning,
    })
}

/// The due instant, in local time, of a receipt at `received`.
fn due_from_receipt(
    calendar: &WorkingCalendar,
    received: NaiveDateTime,
    time: ProcessingTime,
) -> Result<NaiveDateTime, DeadlineError> {
    let start = clock_start(calendar, received)?;
    let hours = calendar.office_hours();
    match (time.unit, time.amount) {
        (TimeUnit::WorkingDays, 0) => {
            // Same-day procedures: a dossier received late in the day cannot
            // be done by closing time, so it is due at the next close.
            let day = if start.at.time() < hours.same_day_cutoff {
                start.at.date()
            } else {
                next_working_day(calendar, start.at.date())?
            };
            Ok(day.and_time(hours.afternoon.end))
        }
        (TimeUnit::WorkingDays, days) => {
            let day = calendar
                .add_working_days(start.at.date(), days)
                .ok_or(DeadlineError::OutOfRange)?;
            // The citizen comes back in the same part of the day as they
            // came: due at the end of that session.
            Ok(day.and_time(session_end(hours, start.part)))
        }
        (TimeUnit::WorkingHours, hours_due) => {
            add_office_time(calendar, start.at, Duration::hours(i64::from(hours_due)))
        }
    }
}

fn session_end(hours: &OfficeHours, part: Part) -> NaiveTime {
    match part {
        Part::Morning => hours.morning.end,
        Part::Afternoon => hours.afternoon.end,
    }
}

fn next_working_day(
    calendar: &WorkingCalendar,
    day: NaiveDate,
) -> Result<NaiveDate, DeadlineError> {
    calendar
        .next_working_day(day)
        .ok_or(DeadlineError::OutOfRange)
}

/// The instant `amount` of office time after `from`, counting only the
/// sessions of working days. A count that ends exactly at the end of a
/// session ends there, not at the start of the next one.
fn add_office_time(
    calendar: &WorkingCalendar,
    from: NaiveDateTime,
    amount: Duration,
) -> Result<NaiveDateTime, DeadlineError> {
    let mut remaining = amount;
    if remaining <= Duration::zero() {
        return Ok(from);
    }
    let mut day = from.date();
    let mut earliest = from.time();
    loop {
        if calendar.is_working_day(day) {
            for session in calendar.office_hours().sessions() {
                if earliest >= session.end {
                    continue;
                }
                let begin = earliest.max(session.start);
                let available = session.end - begin;
                if remaining <= available {
                    return Ok(day.and_time(begin) + remaining);
                }
                remaining -= available;
            }
        }
        day = next_working_day(calendar, day)?;
        earliest = NaiveTime::MIN;
    }
}

/// The office time (inside sessions, on working days) between two instants.
fn office_time_between(
    calendar: &WorkingCalendar,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Duration {
    from.date()
        .iter_days()
        .take_while(|day| *day <= to.date())
        .filter(|day| calendar.is_working_day(*day))
        .flat_map(|day| {
            calendar.office_hours().sessions().map(move |session| {
                let begin = day.and_time(session.start).max(from);
                let end = day.and_time(session.end).min(to);
                (end - begin).max(Duration::zero())
            })
        })
        .sum()
}

/// A wait as known at some moment, in local time.
#[derive(Debug, Clone, Copy)]
struct Wait {
    start: NaiveDateTime,
    /// When it ended, or the moment of reckoning if it is still open.
    end: NaiveDateTime,
    open: bool,
}

/// The waits that matter as of `now`, in order, overlapping ones merged so
/// that no working time is counted twice.
fn waits_as_of(
    pauses: &[PauseInterval],
    received: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<Wait>, DeadlineError> {
    let mut waits = Vec::with_capacity(pauses.len());
    for pause in pauses {
        let start = local(pause.start);
        if let Some(end) = pause.end
            && local(end) < start
        {
            return Err(DeadlineError::PauseEndsBeforeStart {
                start: crate::time::format_rfc3339(&pause.start),
                end: crate::time::format_rfc3339(&end),
            });
        }
        // Not yet begun as of `now`: unknown then.
        if start > now {
            continue;
        }
        let (end, open) = match pause.end.map(local) {
            Some(end) if end <= now => (end, false),
            _ => (now, true),
        };
        // The clock cannot stop before it was received.
        if end < received {
            continue;
        }
        waits.push(Wait {
            start: start.max(received),
            end,
            open,
        });
    }
    waits.sort_by_key(|wait| wait.start);
    let mut merged: Vec<Wait> = Vec::with_capacity(waits.len());
    for wait in waits {
        match merged.last_mut() {
            Some(last) if wait.start <= last.end => {
                // An open wait ends at `now`, after every closed one.
                last.end = last.end.max(wait.end);
                last.open |= wait.open;
            }
            _ => merged.push(wait),
        }
    }
    Ok(merged)
}

/// The due instant moved later by the working time a wait took.
fn extend(
    calendar: &WorkingCalendar,
    due: NaiveDateTime,
    wait: &Wait,
    unit: TimeUnit,
) -> Result<NaiveDateTime, DeadlineError> {
    match unit {
        TimeUnit::WorkingDays => {
            // Every working day touched by the wait, except the one it ended
            // on (work resumes that day), is given back.
            let days = calendar.working_days_between(wait.start.date(), wait.end.date());
            let day = calendar
                .add_working_days(due.date(), days)
                .ok_or(DeadlineError::OutOfRange)?;
            Ok(day.and_time(due.time()))
        }
        TimeUnit::WorkingHours => add_office_time(
            calendar,
            due,
            office_time_between(calendar, wait.start, wait.end),
        ),
    }
}

/// An instant as Vietnam's local wall-clock time.
fn local(instant: VnDateTime) -> NaiveDateTime {
    to_vn(&instant).naive_local()
}

fn vn_instant(local: NaiveDateTime) -> Result<VnDateTime, DeadlineError> {
    vn_offset()
        .from_local_datetime(&local)
        .single()
        .ok_or(DeadlineError::OutOfRange)
}
