//! Worked examples of the deadline rules on the statutory calendar, with the
//! arithmetic in the comments, and properties that must hold for any receipt.
//!
//! Office hours are the defaults: 07:00–11:30, 13:30–17:00, cut-off 15:00.

use chrono::NaiveDate;
use client_core::calendar::{Holiday, HolidayKind, WorkingCalendar};
use client_core::deadline::{
    DeadlineError, Due, PauseInterval, PauseRule, ProcessingTime, Timeliness, classify, due_at,
    effective_due, effective_start,
};
use client_core::time::{VnDateTime, format_rfc3339, parse_rfc3339};
use proptest::prelude::*;

fn calendar() -> WorkingCalendar {
    WorkingCalendar::seeded(2023..=2028).unwrap()
}

/// A local time in Vietnam, written `2026-03-02 09:00`.
fn at(local: &str) -> VnDateTime {
    parse_rfc3339(&format!("{}:00+07:00", local.replace(' ', "T"))).unwrap()
}

fn days(n: u32) -> ProcessingTime {
    ProcessingTime::working_days(n)
}

fn hours(n: u32) -> ProcessingTime {
    ProcessingTime::working_hours(n)
}

fn due(received: &str, time: ProcessingTime) -> String {
    format_rfc3339(&due_at(&calendar(), at(received), time).unwrap())
}

fn pause(start: &str, end: &str) -> PauseInterval {
    PauseInterval {
        start: at(start),
        end: Some(at(end)),
    }
}

fn open_pause(start: &str) -> PauseInterval {
    PauseInterval {
        start: at(start),
        end: None,
    }
}

// 2026-03-02 is a Monday; March 2026 has no holidays.

#[test]
fn morning_receipt_is_due_at_the_end_of_a_morning() {
    // Mon 2 Mar 09:00 + 3 working days: Tue 3 (1), Wed 4 (2), Thu 5 (3),
    // morning → 11:30.
    assert_eq!(
        due("2026-03-02 09:00", days(3)),
        "2026-03-05T11:30:00+07:00"
    );
}

#[test]
fn afternoon_receipt_is_due_at_the_end_of_an_afternoon_after_the_weekend() {
    // Fri 6 Mar 14:00 + 3: Mon 9 (1), Tue 10 (2), Wed 11 (3), afternoon → 17:00.
    assert_eq!(
        due("2026-03-06 14:00", days(3)),
        "2026-03-11T17:00:00+07:00"
    );
}

#[test]
fn weekend_receipt_counts_from_monday_morning() {
    // Sat 7 Mar 10:00 → starts Mon 9 07:00 (morning); + 1 → Tue 10 11:30.
    let cal = calendar();
    assert_eq!(
        effective_start(&cal, at("2026-03-07 10:00")).unwrap(),
        at("2026-03-09 07:00")
    );
    assert_eq!(
        due("2026-03-07 10:00", days(1)),
        "2026-03-10T11:30:00+07:00"
    );
}

#[test]
fn lunch_time_receipt_counts_from_the_afternoon() {
    // Mon 9 Mar 12:00 → 13:30 (afternoon); + 2 → Wed 11 17:00.
    let cal = calendar();
    assert_eq!(
        effective_start(&cal, at("2026-03-09 12:00")).unwrap(),
        at("2026-03-09 13:30")
    );
    assert_eq!(
        due("2026-03-09 12:00", days(2)),
        "2026-03-11T17:00:00+07:00"
    );
    // 11:30 exactly is already lunch.
    assert_eq!(
        due("2026-03-09 11:30", days(2)),
        "2026-03-11T17:00:00+07:00"
    );
}

#[test]
fn receipt_after_closing_counts_from_the_next_morning() {
    // Mon 9 Mar 17:30 → Tue 10 07:00 (morning); + 1 → Wed 11 11:30.
    assert_eq!(
        due("2026-03-09 17:30", days(1)),
        "2026-03-11T11:30:00+07:00"
    );
    // 17:00 exactly is closed too.
    assert_eq!(
        due("2026-03-09 17:00", days(1)),
        "2026-03-11T11:30:00+07:00"
    );
}

#[test]
fn receipt_before_opening_counts_from_that_morning() {
    // Mon 9 Mar 06:15 → 07:00 the same day; + 1 → Tue 10 11:30.
    let cal = calendar();
    assert_eq!(
        effective_start(&cal, at("2026-03-09 06:15")).unwrap(),
        at("2026-03-09 07:00")
    );
    assert_eq!(
        due("2026-03-09 06:15", days(1)),
        "2026-03-10T11:30:00+07:00"
    );
}

#[test]
fn same_day_procedure_before_the_cut_off_is_due_that_evening() {
    assert_eq!(
        due("2026-03-09 08:00", days(0)),
        "2026-03-09T17:00:00+07:00"
    );
    assert_eq!(
        due("2026-03-09 14:59", days(0)),
        "2026-03-09T17:00:00+07:00"
    );
    // Lunch counts from 13:30, before the cut-off.
    assert_eq!(
        due("2026-03-09 12:00", days(0)),
        "2026-03-09T17:00:00+07:00"
    );
}

#[test]
fn same_day_procedure_at_or_after_the_cut_off_is_due_next_working_day() {
    // 15:00 exactly is no longer before the cut-off.
    assert_eq!(
        due("2026-03-09 15:00", days(0)),
        "2026-03-10T17:00:00+07:00"
    );
    // Friday 15:00 → Monday.
    assert_eq!(
        due("2026-03-06 15:00", days(0)),
        "2026-03-09T17:00:00+07:00"
    );
    // After closing → next morning, which is before the cut-off.
    assert_eq!(
        due("2026-03-09 18:00", days(0)),
        "2026-03-10T17:00:00+07:00"
    );
}

#[test]
fn tet_2026_stops_the_count_for_a_whole_week() {
    // Tết 2026: Mon 16 Feb (29 tháng Chạp) to Fri 20 Feb (mùng 4).
    // Thu 12 Feb 10:00 + 5: Fri 13 (1), 14–22 all off, Mon 23 (2), Tue 24 (3),
    // Wed 25 (4), Thu 26 (5) → 11:30.
    assert_eq!(
        due("2026-02-12 10:00", days(5)),
        "2026-02-26T11:30:00+07:00"
    );
}

#[test]
fn tet_2023_and_its_make_up_days_span_two_weeks() {
    // Tết 2023: Sat 21 Jan (30 tháng Chạp) to Wed 25; the weekend days are
    // made up on Thu 26 and Fri 27. Fri 20 Jan 08:00 + 2: 21–29 all off,
    // Mon 30 (1), Tue 31 (2) → 11:30.
    assert_eq!(
        due("2023-01-20 08:00", days(2)),
        "2023-01-31T11:30:00+07:00"
    );
}

#[test]
fn tet_2024_make_up_days_follow_tet() {
    // Tết 2024: Fri 9 Feb (29 tháng Chạp: that month had no 30th) to Tue 13; Sat 10 and Sun 11 made
    // up on Wed 14 and Thu 15. Thu 8 Feb 15:00 + 1 → Fri 16 Feb 17:00.
    assert_eq!(
        due("2024-02-08 15:00", days(1)),
        "2024-02-16T17:00:00+07:00"
    );
}

#[test]
fn a_compensatory_day_is_not_a_working_day() {
    // Giỗ Tổ 2026 is Sun 26 Apr, made up Mon 27; 30/4 Thu, 1/5 Fri.
    // Fri 24 Apr 09:00 + 1 → Tue 28; + 2 → Wed 29; + 3 → (30/4, 1/5, weekend)
    // Mon 4 May.
    assert_eq!(
        due("2026-04-24 09:00", days(1)),
        "2026-04-28T11:30:00+07:00"
    );
    assert_eq!(
        due("2026-04-24 09:00", days(2)),
        "2026-04-29T11:30:00+07:00"
    );
    assert_eq!(
        due("2026-04-24 09:00", days(3)),
        "2026-05-04T11:30:00+07:00"
    );
}

#[test]
fn working_hours_run_across_the_night() {
    // Mon 9 Mar 10:00 + 8 h: 10:00–11:30 (1.5), 13:30–17:00 (3.5, total 5),
    // Tue 07:00–10:00 (3, total 8) → Tue 10:00.
    assert_eq!(
        due("2026-03-09 10:00", hours(8)),
        "2026-03-10T10:00:00+07:00"
    );
}

#[test]
fn working_hours_skip_holidays_and_the_weekend() {
    // Wed 29 Apr 2026 15:00 + 8 h: 15:00–17:00 (2); 30/4, 1/5, 2–3/5 off;
    // Mon 4 May 07:00–11:30 (4.5, total 6.5), 13:30–15:00 (1.5, total 8).
    assert_eq!(
        due("2026-04-29 15:00", hours(8)),
        "2026-05-04T15:00:00+07:00"
    );
}

#[test]
fn working_hours_that_fill_a_session_end_with_it() {
    // Mon 9 Mar 07:00 + 4 h → 11:00; lunch receipt + 1 h → 14:30.
    assert_eq!(
        due("2026-03-09 07:00", hours(4)),
        "2026-03-09T11:00:00+07:00"
    );
    assert_eq!(
        due("2026-03-09 12:15", hours(1)),
        "2026-03-09T14:30:00+07:00"
    );
    // Mon 9 Mar 09:30 + 2 h fills the morning: due 11:30, not 13:30.
    assert_eq!(
        due("2026-03-09 09:30", hours(2)),
        "2026-03-09T11:30:00+07:00"
    );
}

fn due_with(
    received: &str,
    time: ProcessingTime,
    rule: PauseRule,
    pauses: &[PauseInterval],
    now: &str,
) -> Due {
    effective_due(&calendar(), at(received), time, rule, pauses, at(now)).unwrap()
}

#[test]
fn extend_adds_the_working_days_spent_waiting() {
    // Mon 2 Mar 09:00 + 5 → Mon 9 Mar 11:30. Waiting Tue 3 10:00 → Thu 5
    // 08:00 takes the working days Tue 3 and Wed 4 (the day it ends on is
    // worked): 2 days later → Wed 11 Mar 11:30.
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &[pause("2026-03-03 10:00", "2026-03-05 08:00")],
        "2026-03-06 09:00",
    );
    assert_eq!(
        due,
        Due {
            at: at("2026-03-11 11:30"),
            clock_stopped: false
        }
    );
}

#[test]
fn restart_counts_the_full_time_again_from_the_end_of_the_wait() {
    // Same wait: the supplement arrives Thu 5 Mar 08:00 (morning), counted as
    // a fresh receipt: + 5 → Fri 6 (1), Mon 9 (2), Tue 10 (3), Wed 11 (4),
    // Thu 12 (5) → 11:30.
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Restart,
        &[pause("2026-03-03 10:00", "2026-03-05 08:00")],
        "2026-03-06 09:00",
    );
    assert_eq!(due.at, at("2026-03-12 11:30"));
}

#[test]
fn restart_after_a_wait_ending_in_the_afternoon_is_due_in_the_afternoon() {
    // Supplement Thu 5 Mar 16:00 (afternoon) + 5 → Thu 12 Mar 17:00.
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Restart,
        &[pause("2026-03-03 10:00", "2026-03-05 16:00")],
        "2026-03-06 09:00",
    );
    assert_eq!(due.at, at("2026-03-12 17:00"));
}

#[test]
fn extend_adds_each_of_several_waits() {
    // Base Mon 9 Mar 11:30. Wait 1: Tue 3 → Wed 4 = 1 day (Tue). Wait 2:
    // Fri 6 14:00 → Tue 10 09:00 = Fri 6, Mon 9 = 2 days. 3 days later than
    // Mon 9 → Thu 12 Mar 11:30.
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &[
            pause("2026-03-06 14:00", "2026-03-10 09:00"),
            pause("2026-03-03 10:00", "2026-03-04 10:00"),
        ],
        "2026-03-16 09:00",
    );
    assert_eq!(due.at, at("2026-03-12 11:30"));
}

#[test]
fn overlapping_waits_are_not_counted_twice() {
    // Mon 2 → Wed 4 and Tue 3 → Thu 5 together cover Mon 2, Tue 3, Wed 4:
    // 3 days, not 2 + 2. Base Mon 9 Mar + 3 → Thu 12 Mar 11:30.
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &[
            pause("2026-03-02 10:00", "2026-03-04 10:00"),
            pause("2026-03-03 10:00", "2026-03-05 10:00"),
        ],
        "2026-03-16 09:00",
    );
    assert_eq!(due.at, at("2026-03-12 11:30"));
}

#[test]
fn restart_after_several_waits_counts_from_the_last() {
    // Received Mon 2 Mar 09:00, 3 days → Thu 5 Mar 11:30. First wait ends Wed
    // 4 Mar 14:00 → restart: + 3 → Mon 9 Mar 17:00. Second wait starts Fri 6
    // and ends Tue 10 Mar 09:00 → restart: + 3 → Fri 13 Mar 11:30.
    let due = due_with(
        "2026-03-02 09:00",
        days(3),
        PauseRule::Restart,
        &[
            pause("2026-03-03 08:00", "2026-03-04 14:00"),
            pause("2026-03-06 08:00", "2026-03-10 09:00"),
        ],
        "2026-03-16 09:00",
    );
    assert_eq!(due.at, at("2026-03-13 11:30"));
}

#[test]
fn an_open_wait_stops_the_clock() {
    // Waiting since Tue 3 Mar 10:00, still waiting on Thu 5 16:00: were the
    // supplement to arrive now, Tue 3 and Wed 4 would be given back → Wed 11
    // Mar 11:30. The clock is stopped.
    let pauses = [open_pause("2026-03-03 10:00")];
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &pauses,
        "2026-03-05 16:00",
    );
    assert_eq!(
        due,
        Due {
            at: at("2026-03-11 11:30"),
            clock_stopped: true
        }
    );
    // A month later the due date has moved on with it, and the dossier is
    // not overdue.
    let later = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &pauses,
        "2026-04-06 09:00",
    );
    assert!(later.at > due.at && later.clock_stopped);
    let timeliness = classify(
        &calendar(),
        at("2026-03-02 09:00"),
        days(5),
        PauseRule::Extend,
        &pauses,
        None,
        at("2026-04-06 09:00"),
    );
    assert_eq!(timeliness, Ok(Timeliness::WithinDeadline));
}

#[test]
fn a_wait_known_later_is_unknown_earlier() {
    // As of Wed 4 Mar the wait that ends Thu 5 is still open, and a wait that
    // starts Fri 6 has not begun.
    let pauses = [
        pause("2026-03-03 10:00", "2026-03-05 08:00"),
        pause("2026-03-06 08:00", "2026-03-09 08:00"),
    ];
    let due = due_with(
        "2026-03-02 09:00",
        days(5),
        PauseRule::Extend,
        &pauses,
        "2026-03-04 09:00",
    );
    // [Tue 3, Wed 4) = 1 day → Tue 10 Mar 11:30.
    assert_eq!(
        due,
        Due {
            at: at("2026-03-10 11:30"),
            clock_stopped: true
        }
    );
}

#[test]
fn a_wait_that_begins_after_the_due_date_does_not_move_it() {
    // Mon 2 Mar 09:00 + 1 → Tue 3 Mar 11:30. A supplement asked for on Wed 4
    // comes too late to excuse the delay, under either rule.
    let pauses = [pause("2026-03-04 09:00", "2026-03-06 09:00")];
    for rule in [PauseRule::Extend, PauseRule::Restart] {
        let due = due_with(
            "2026-03-02 09:00",
            days(1),
            rule,
            &pauses,
            "2026-03-09 09:00",
        );
        assert_eq!(
            due,
            Due {
                at: at("2026-03-03 11:30"),
                clock_stopped: false
            }
        );
    }
    // Asked for on the due date itself (after 11:30), it still counts.
    let pauses = [pause("2026-03-03 14:00", "2026-03-05 09:00")];
    let due = due_with(
        "2026-03-02 09:00",
        days(1),
        PauseRule::Extend,
        &pauses,
        "2026-03-09 09:00",
    );
    // [Tue 3, Thu 5) = 2 days → Thu 5 Mar 11:30.
    assert_eq!(due.at, at("2026-03-05 11:30"));
}

#[test]
fn extend_for_working_hours_adds_the_office_hours_spent_waiting() {
    // Mon 9 Mar 10:00 + 8 h → Tue 10 10:00.
    // Waiting 14:00–15:30 takes 1.5 office hours → Tue 11:30.
    let due = due_with(
        "2026-03-09 10:00",
        hours(8),
        PauseRule::Extend,
        &[pause("2026-03-09 14:00", "2026-03-09 15:30")],
        "2026-03-11 09:00",
    );
    assert_eq!(due.at, at("2026-03-10 11:30"));
    // Waiting 11:00–14:00 takes 11:00–11:30 and 13:30–14:00, 1 hour; lunch
    // is not office time → Tue 11:00.
    let due = due_with(
        "2026-03-09 10:00",
        hours(8),
        PauseRule::Extend,
        &[pause("2026-03-09 11:00", "2026-03-09 14:00")],
        "2026-03-11 09:00",
    );
    assert_eq!(due.at, at("2026-03-10 11:00"));
    // Waiting over a night: Mon 16:00 → Tue 08:00 is 1 h + 1 h = 2 h, and
    // adding 2 h to Tue 10:00 crosses lunch: 10:00–11:30, 13:30–14:00.
    let due = due_with(
        "2026-03-09 10:00",
        hours(8),
        PauseRule::Extend,
        &[pause("2026-03-09 16:00", "2026-03-10 08:00")],
        "2026-03-11 09:00",
    );
    assert_eq!(due.at, at("2026-03-10 14:00"));
}

#[test]
fn a_wait_ending_before_it_starts_is_refused() {
    let result = effective_due(
        &calendar(),
        at("2026-03-02 09:00"),
        days(5),
        PauseRule::Extend,
        &[pause("2026-03-05 08:00", "2026-03-03 10:00")],
        at("2026-03-06 09:00"),
    );
    let error = result.unwrap_err();
    assert!(matches!(error, DeadlineError::PauseEndsBeforeStart { .. }));
    assert!(
        error
            .to_string()
            .contains("before it starts at 2026-03-05T08:00:00+07:00")
    );
}

#[test]
fn an_absurd_processing_time_is_refused() {
    let error = due_at(&calendar(), at("2026-03-02 09:00"), days(100_000)).unwrap_err();
    assert!(error.to_string().contains("100000"), "{error}");
}

fn timeliness(finished: Option<&str>, now: &str) -> Timeliness {
    // Mon 2 Mar 09:00 + 3 → Thu 5 Mar 11:30.
    classify(
        &calendar(),
        at("2026-03-02 09:00"),
        days(3),
        PauseRule::Extend,
        &[],
        finished.map(at),
        at(now),
    )
    .unwrap()
}

#[test]
fn finished_dossiers_are_judged_by_the_due_date() {
    assert_eq!(
        timeliness(Some("2026-03-04 16:00"), "2026-03-10 08:00"),
        Timeliness::Early
    );
    // On the due date, even after 11:30, is on time.
    assert_eq!(
        timeliness(Some("2026-03-05 16:30"), "2026-03-10 08:00"),
        Timeliness::OnTime
    );
    assert_eq!(
        timeliness(Some("2026-03-06 08:00"), "2026-03-10 08:00"),
        Timeliness::Late
    );
}

#[test]
fn open_dossiers_are_overdue_only_after_the_due_date() {
    assert_eq!(
        timeliness(None, "2026-03-05 16:59"),
        Timeliness::WithinDeadline
    );
    assert_eq!(timeliness(None, "2026-03-06 07:00"), Timeliness::Overdue);
    // Finished after `now`: still open as of `now`.
    assert_eq!(
        timeliness(Some("2026-03-09 08:00"), "2026-03-06 07:00"),
        Timeliness::Overdue
    );
}

#[test]
fn a_wait_can_turn_a_late_finish_into_an_on_time_one() {
    // Due Thu 5 Mar; a wait over Tue 3 moves it to Fri 6; finishing Fri 6 is
    // on time.
    let result = classify(
        &calendar(),
        at("2026-03-02 09:00"),
        days(3),
        PauseRule::Extend,
        &[pause("2026-03-03 08:00", "2026-03-04 08:00")],
        Some(at("2026-03-06 10:00")),
        at("2026-03-10 08:00"),
    );
    assert_eq!(result, Ok(Timeliness::OnTime));
}

// Properties, over receipts at any minute of 2025–2027.

fn receipt() -> impl Strategy<Value = VnDateTime> {
    let first = at("2025-01-01 00:00");
    (0i64..3 * 365 * 24 * 60).prop_map(move |minutes| first + chrono::Duration::minutes(minutes))
}

fn processing_time() -> impl Strategy<Value = ProcessingTime> {
    prop_oneof![(0u32..=40).prop_map(days), (0u32..=60).prop_map(hours)]
}

fn day_2025_to_2027() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    (0i64..3 * 365).prop_map(move |offset| first + chrono::Duration::days(offset))
}

proptest! {
    #[test]
    fn due_is_never_before_the_effective_start(received in receipt(), time in processing_time()) {
        let cal = calendar();
        let start = effective_start(&cal, received).unwrap();
        prop_assert!(start >= received);
        prop_assert!(due_at(&cal, received, time).unwrap() >= start);
    }

    #[test]
    fn the_due_date_is_a_working_day(received in receipt(), time in processing_time()) {
        let cal = calendar();
        let due = due_at(&cal, received, time).unwrap();
        prop_assert!(cal.is_working_day(due.date_naive()), "{}", format_rfc3339(&due));
    }

    #[test]
    fn a_new_holiday_never_brings_a_due_date_forward(
        received in receipt(),
        time in processing_time(),
        day_off in day_2025_to_2027(),
    ) {
        let cal = calendar();
        let mut with_holiday = cal.clone();
        let added = with_holiday.add_holiday(Holiday {
            date: day_off,
            name: "Nghỉ theo quyết định".into(),
            kind: HolidayKind::Declared,
        });
        prop_assume!(added.is_ok());
        let before = due_at(&cal, received, time).unwrap();
        let after = due_at(&with_holiday, received, time).unwrap();
        prop_assert!(after >= before);
    }

    #[test]
    fn n_working_days_leave_n_minus_one_working_days_in_between(
        received in receipt(),
        n in 1u32..=40,
    ) {
        let cal = calendar();
        let start = effective_start(&cal, received).unwrap().date_naive();
        let due = due_at(&cal, received, days(n)).unwrap().date_naive();
        let between = cal.working_days_between(start.succ_opt().unwrap(), due);
        prop_assert_eq!(between, n - 1);
    }

    #[test]
    fn extending_never_brings_a_due_date_forward(
        received in receipt(),
        time in processing_time(),
        wait_starts_after in 0i64..20 * 24 * 60,
        wait_minutes in 0i64..20 * 24 * 60,
    ) {
        let cal = calendar();
        let start = received + chrono::Duration::minutes(wait_starts_after);
        let end = start + chrono::Duration::minutes(wait_minutes);
        let pauses = [PauseInterval { start, end: Some(end) }];
        let now = end + chrono::Duration::days(1);
        let plain = due_at(&cal, received, time).unwrap();
        for rule in [PauseRule::Extend, PauseRule::Restart] {
            let due = effective_due(&cal, received, time, rule, &pauses, now).unwrap();
            prop_assert!(due.at >= plain);
            prop_assert!(cal.is_working_day(due.at.date_naive()));
        }
    }
}
