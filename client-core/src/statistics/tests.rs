//! Report 06a on a fixed data set whose figures are worked out by hand, and
//! properties that hold for any stage logs.
//!
//! The period is March 2026: Sun 1 to Tue 31, no holidays (Tết 2026 was
//! 16–20 February). Office hours are the defaults: 07:00–11:30, 13:30–17:00.
//! A morning receipt is due at 11:30 of its last working day.

use proptest::prelude::*;

use super::*;
use crate::calendar::WorkingCalendar;
use crate::deadline::{self, PauseRule, ProcessingTime};
use crate::stage::Stage;
use crate::time::parse_rfc3339;

fn calendar() -> WorkingCalendar {
    WorkingCalendar::seeded(2025..=2027).unwrap()
}

/// Milliseconds of a local time written `2026-03-02 09:00`.
fn ms(local: &str) -> i64 {
    parse_rfc3339(&format!("{}:00+07:00", local.replace(' ', "T")))
        .unwrap()
        .timestamp_millis()
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn march() -> Period {
    Period::new(day("2026-03-01"), day("2026-03-31")).unwrap()
}

struct Spec {
    code: &'static str,
    channel: Channel,
    field: &'static str,
    clerk: &'static str,
    received: &'static str,
    days: u32,
    rule: PauseRule,
    /// Stages after the receipt.
    stages: Vec<(Stage, &'static str)>,
}

fn facts(spec: Spec) -> DossierFacts {
    let received_at = ms(spec.received);
    let processing = ProcessingTime::working_days(spec.days);
    let received = crate::time::from_millis(received_at).unwrap();
    let due = deadline::due_at(&calendar(), received, processing).unwrap();
    let mut stages = vec![StageEvent {
        stage: Stage::Received,
        at: received_at,
    }];
    stages.extend(spec.stages.iter().map(|(stage, at)| StageEvent {
        stage: *stage,
        at: ms(at),
    }));
    DossierFacts {
        code: spec.code.to_string(),
        unit: UnitCode::parse(spec.code.split('-').next().unwrap()).unwrap(),
        field: spec.field.into(),
        channel: spec.channel,
        clerk: spec.clerk.into(),
        due_at: due.timestamp_millis(),
        terms: DeadlineTerms {
            received_at,
            processing,
            pause_rule: spec.rule,
        },
        stages,
    }
}

const LAND: &str = "dia_chinh";
const CIVIL: &str = "tu_phap_ho_tich";

/// The fixed data set. Each dossier says where March puts it and why.
fn data_set() -> Vec<DossierFacts> {
    use Channel::*;
    use PauseRule::*;
    use Stage::*;
    let d = |code, channel, field, clerk, received, days, rule, stages| {
        facts(Spec {
            code,
            channel,
            field,
            clerk,
            received,
            days,
            rule,
            stages,
        })
    };
    vec![
        // A. Received Fri 27 Feb, 30 working days: 1 in February, 22 in March
        // (2–6, 9–13, 16–20, 23–27, 30–31), the 30th is Fri 10 Apr. Open on
        // 31 Mar → carried over, within deadline.
        d(
            "X0101-260227-0001",
            Direct,
            LAND,
            "an",
            "2026-02-27 09:00",
            30,
            Extend,
            vec![(HandedOver, "2026-02-27 10:00")],
        ),
        // B. Mon 2 Mar 09:00 + 3 → due Thu 5 Mar 11:30; done Thu 5 Mar 16:00,
        // after 11:30 but on the appointment date → on time.
        d(
            "X0101-260302-0001",
            Direct,
            CIVIL,
            "an",
            "2026-03-02 09:00",
            3,
            Extend,
            vec![
                (Done, "2026-03-05 16:00"),
                (ResultReturned, "2026-03-06 08:00"),
            ],
        ),
        // C. Online, same appointment Thu 5 Mar; done Fri 6 Mar, the day
        // after → late, by one working day (Fri 6).
        d(
            "X0101-260302-0002",
            Online,
            CIVIL,
            "binh",
            "2026-03-02 09:00",
            3,
            Extend,
            vec![(Done, "2026-03-06 08:00")],
        ),
        // D. Mon 2 Mar 14:00 + 5 → due Mon 9 Mar 17:00; done Wed 4 → early.
        d(
            "X0101-260302-0003",
            Direct,
            LAND,
            "binh",
            "2026-03-02 14:00",
            5,
            Extend,
            vec![
                (Done, "2026-03-04 10:00"),
                (ResultReturned, "2026-03-05 09:00"),
            ],
        ),
        // E. Supplement under the extend rule. Mon 9 Mar 09:00 + 3 → due Thu
        // 12 Mar 11:30. Waited from Tue 10 to Mon 16: the working days it
        // touched except the day it ended are Tue 10, Wed 11, Thu 12, Fri 13
        // (4), so the appointment moves to Thu 12 + 4 = Wed 18 Mar. Done Wed
        // 18 → on time (it would be late without the extension).
        d(
            "X0101-260309-0001",
            Direct,
            CIVIL,
            "an",
            "2026-03-09 09:00",
            3,
            Extend,
            vec![
                (SupplementRequested, "2026-03-10 09:00"),
                (SupplementReceived, "2026-03-16 09:00"),
                (Done, "2026-03-18 15:00"),
            ],
        ),
        // F. Supplement under the restart rule. Mon 9 Mar 09:00 + 5 → due Mon
        // 16 Mar. Waited Wed 11 to Fri 20 14:00; the full 5 days restart from
        // Fri 20 afternoon: Mon 23, Tue 24, Wed 25, Thu 26, Fri 27 → due Fri
        // 27 Mar 17:00. Done Thu 26 → early. (Extending instead would give
        // Mon 16 + 7 working days = Wed 25, and Thu 26 would be late.)
        d(
            "X0101-260309-0002",
            Direct,
            LAND,
            "binh",
            "2026-03-09 09:00",
            5,
            Restart,
            vec![
                (SupplementRequested, "2026-03-11 10:00"),
                (SupplementReceived, "2026-03-20 14:00"),
                (Done, "2026-03-26 10:00"),
            ],
        ),
        // G. Mon 23 Mar + 3 → due Thu 26; waiting for a supplement since Wed
        // 25 → clock stopped on 31 Mar → within deadline, awaiting supplement.
        d(
            "X0101-260323-0001",
            Direct,
            CIVIL,
            "binh",
            "2026-03-23 09:00",
            3,
            Extend,
            vec![(SupplementRequested, "2026-03-25 09:00")],
        ),
        // H. Refused an hour after receipt → refused.
        d(
            "X0101-260303-0001",
            Direct,
            CIVIL,
            "an",
            "2026-03-03 09:00",
            3,
            Extend,
            vec![(Refused, "2026-03-03 10:00")],
        ),
        // I. By post, withdrawn by the citizen on Fri 6 Mar → withdrawn.
        d(
            "X0101-260304-0001",
            Postal,
            CIVIL,
            "binh",
            "2026-03-04 09:00",
            5,
            Extend,
            vec![
                (Processing, "2026-03-04 10:00"),
                (Withdrawn, "2026-03-06 09:00"),
            ],
        ),
        // J. Sent up to the province and returned. Mon 2 Mar + 10 → due Mon 16
        // Mar (3–6, 9–13, 16). Done Fri 13 → early, counted once, at X0101,
        // however many stages the province recorded.
        d(
            "X0101-260302-0004",
            Direct,
            LAND,
            "an",
            "2026-03-02 09:00",
            10,
            Extend,
            vec![
                (SentToLevel, "2026-03-03 09:00"),
                (Processing, "2026-03-04 09:00"),
                (ReturnedFromLevel, "2026-03-12 09:00"),
                (Done, "2026-03-13 09:00"),
                (ResultReturned, "2026-03-16 09:00"),
            ],
        ),
        // K. Another commune. Mon 16 Mar + 3 → due Thu 19 Mar; still being
        // processed on 31 Mar → overdue, by 8 working days (20, 23–27, 30, 31).
        d(
            "X0102-260316-0001",
            Direct,
            CIVIL,
            "an",
            "2026-03-16 09:00",
            3,
            Extend,
            vec![(Processing, "2026-03-17 09:00")],
        ),
        // L. Another commune, waiting for the fee since Fri 13 Mar → awaiting
        // payment.
        d(
            "X0102-260310-0001",
            Direct,
            LAND,
            "binh",
            "2026-03-10 09:00",
            5,
            Extend,
            vec![
                (Processing, "2026-03-11 09:00"),
                (AwaitingFee, "2026-03-13 09:00"),
            ],
        ),
        // M. Received, done and returned in February → not March's business.
        d(
            "X0101-260202-0001",
            Direct,
            CIVIL,
            "an",
            "2026-02-02 09:00",
            3,
            Extend,
            vec![
                (Done, "2026-02-04 09:00"),
                (ResultReturned, "2026-02-05 09:00"),
            ],
        ),
        // N. Received on 1 April → not yet received as of 31 March.
        d(
            "X0101-260401-0001",
            Direct,
            CIVIL,
            "an",
            "2026-04-01 09:00",
            3,
            Extend,
            vec![],
        ),
        // O. Thu 26 Feb + 5 → Fri 27, Mon 2, Tue 3, Wed 4, Thu 5 Mar; done Mon
        // 9 Mar → carried over, late by two working days (Fri 6, Mon 9).
        d(
            "X0101-260226-0001",
            Direct,
            CIVIL,
            "binh",
            "2026-02-26 09:00",
            5,
            Extend,
            vec![(Processing, "2026-02-27 09:00"), (Done, "2026-03-09 10:00")],
        ),
    ]
}

fn counts(f: &Figures) -> Vec<(Column, u32)> {
    Column::ALL.iter().map(|c| (*c, f.get(*c))).collect()
}

/// Expected figures, in the order of [`Column::ALL`]: received, carried over,
/// new online, new direct/postal; resolved, early, on time, late; refused,
/// withdrawn; in progress, within deadline, awaiting supplement, overdue;
/// awaiting payment.
fn expect(values: [u32; Column::COUNT]) -> Vec<(Column, u32)> {
    Column::ALL.iter().copied().zip(values).collect()
}

#[test]
fn march_figures_match_the_hand_count() {
    let data = data_set();
    let report = Report06a::compute(&data, march(), &calendar());
    assert!(report.unclassified().is_empty());
    // Counted: A B C D E F G H I J K L O (13); not M (closed in February) or
    // N (received in April).
    // Intake: carried over A, O; online C; direct/postal the other 10.
    // Resolved: early D F J, on time B E, late C O. Refused H, withdrawn I.
    // In progress: within A G (G awaiting supplement), overdue K. Payment L.
    assert_eq!(
        counts(report.total()),
        expect([13, 2, 1, 10, 7, 3, 2, 2, 1, 1, 3, 2, 1, 1, 1])
    );
    // (3 + 2) / (3 + 2 + 2)
    assert_eq!(report.total().on_time_rate(), Some(5.0 / 7.0));

    // By unit: X0102 has K (overdue) and L (payment); X0101 the other 11,
    // J included once although the province recorded stages on it.
    let units: Vec<&str> = report.rows(Grouping::Unit).iter().map(|r| r.0).collect();
    assert_eq!(units, vec!["X0101", "X0102"]);
    assert_eq!(
        counts(&report.figures(Grouping::Unit, "X0102")),
        expect([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1])
    );
    assert_eq!(
        counts(&report.figures(Grouping::Unit, "X0101")),
        expect([11, 2, 1, 8, 7, 3, 2, 2, 1, 1, 2, 2, 1, 0, 0])
    );

    // By field. Land: A D F J L → carried A; early D F J; within A; payment L.
    assert_eq!(
        counts(&report.figures(Grouping::Field, LAND)),
        expect([5, 1, 0, 4, 3, 3, 0, 0, 0, 0, 1, 1, 0, 0, 1])
    );
    assert_eq!(
        report.figures(Grouping::Field, LAND).on_time_rate(),
        Some(1.0)
    );
    // Civil status: B C E G H I K O → carried O; online C; on time B E; late
    // C O; refused H; withdrawn I; within G (supplement); overdue K.
    assert_eq!(
        counts(&report.figures(Grouping::Field, CIVIL)),
        expect([8, 1, 1, 6, 4, 0, 2, 2, 1, 1, 2, 1, 1, 1, 0])
    );
    assert_eq!(
        report.figures(Grouping::Field, CIVIL).on_time_rate(),
        Some(0.5)
    );

    // By clerk. An: A B E H J K → carried A; early J; on time B E; refused
    // H; within A; overdue K.
    assert_eq!(
        counts(&report.figures(Grouping::Clerk, "an")),
        expect([6, 1, 0, 5, 3, 1, 2, 0, 1, 0, 2, 1, 0, 1, 0])
    );
    // Bình: C D F G I L O → carried O; online C; early D F; late C O;
    // withdrawn I; within G (supplement); payment L.
    assert_eq!(
        counts(&report.figures(Grouping::Clerk, "binh")),
        expect([7, 1, 1, 5, 4, 2, 0, 2, 0, 1, 1, 1, 1, 0, 1])
    );
}

#[test]
fn every_figure_drills_down_to_its_dossiers() {
    let data = data_set();
    let report = Report06a::compute(&data, march(), &calendar());
    let codes = |g, key, c| -> Vec<String> {
        report
            .drill_down(g, key, c)
            .iter()
            .map(|l| l.facts.code.clone())
            .collect()
    };
    assert_eq!(
        codes(Grouping::Total, "", Column::Late),
        vec!["X0101-260226-0001", "X0101-260302-0002"]
    );
    assert_eq!(
        codes(Grouping::Total, "", Column::OnTime),
        vec!["X0101-260302-0001", "X0101-260309-0001"]
    );
    assert_eq!(
        codes(Grouping::Total, "", Column::CarriedOver),
        vec!["X0101-260226-0001", "X0101-260227-0001"]
    );
    assert_eq!(
        codes(Grouping::Total, "", Column::AwaitingSupplement),
        vec!["X0101-260323-0001"]
    );
    assert_eq!(
        codes(Grouping::Clerk, "an", Column::Early),
        vec!["X0101-260302-0004"]
    );
    // Every list is exactly as long as its figure, in every row.
    for grouping in Grouping::ALL {
        for (key, figures) in report.rows(grouping) {
            for column in Column::ALL {
                assert_eq!(
                    report.drill_down(grouping, key, column).len() as u32,
                    figures.get(column),
                    "{grouping:?} {key} {column:?}"
                );
            }
        }
    }
    // The summary carries the same lists when asked.
    let summary = report.summary(true);
    let late = &summary.total.dossiers.as_ref().unwrap()[&Column::Late];
    assert_eq!(late, &vec!["X0101-260226-0001", "X0101-260302-0002"]);
    assert!(report.summary(false).total.dossiers.is_none());
}

#[test]
fn a_past_period_does_not_change_when_later_stages_are_recorded() {
    let before = data_set();
    let march_before = Report06a::compute(&before, march(), &calendar()).summary(true);
    // In April: G's supplement arrives and it is done, K is done, A is done,
    // L's fee is paid and the result returned.
    let mut after = data_set();
    let mut record = |code: &str, stage: Stage, at: &str| {
        let f = after.iter_mut().find(|f| f.code == code).unwrap();
        f.stages.push(StageEvent { stage, at: ms(at) });
    };
    record(
        "X0101-260323-0001",
        Stage::SupplementReceived,
        "2026-04-02 09:00",
    );
    record("X0101-260323-0001", Stage::Done, "2026-04-03 09:00");
    record("X0102-260316-0001", Stage::Done, "2026-04-01 09:00");
    record("X0101-260227-0001", Stage::Done, "2026-04-02 10:00");
    record(
        "X0102-260310-0001",
        Stage::ResultReturned,
        "2026-04-01 10:00",
    );
    let march_after = Report06a::compute(&after, march(), &calendar()).summary(true);
    assert_eq!(march_after, march_before);

    // April sees them: carried over A G K L (open on 31 Mar) and new N.
    let april = Period::new(day("2026-04-01"), day("2026-04-30")).unwrap();
    let report = Report06a::compute(&after, april, &calendar());
    assert_eq!(report.total().get(Column::CarriedOver), 4);
    assert_eq!(report.total().get(Column::NewDirectOrPostal), 1);
    // G: due Thu 26 Mar, waited Wed 25 Mar – Thu 2 Apr: 25, 26, 27, 30, 31,
    // 1 = 6 working days → Thu 26 Mar + 6 = Fri 3 Apr; done Fri 3 → on time.
    // K: due Thu 19 Mar, done 1 Apr → late. A: due 10 Apr, done 2 Apr →
    // early. L: paid and returned 1 Apr (no "done": judged on the return):
    // due Tue 17 Mar + the fee wait (13 Mar – 1 Apr: 13, 16–20, 23–27, 30,
    // 31 = 13 working days) = Fri 3 Apr → early.
    let late = |c: Column| {
        report
            .drill_down(Grouping::Total, "", c)
            .iter()
            .map(|l| l.facts.code.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(late(Column::OnTime), vec!["X0101-260323-0001"]);
    assert_eq!(late(Column::Late), vec!["X0102-260316-0001"]);
    assert_eq!(
        late(Column::Early),
        vec!["X0101-260227-0001", "X0102-260310-0001"]
    );
    // N: Wed 1 Apr + 3 → due Mon 6 Apr, still open on 30 Apr → overdue.
    assert_eq!(late(Column::Overdue), vec!["X0101-260401-0001"]);
}

#[test]
fn the_late_report_lists_late_and_overdue_dossiers_with_working_days_late() {
    let data = data_set();
    let cal = calendar();
    let report = Report06a::compute(&data, march(), &cal);
    let late: Vec<(&str, Disposition, u32)> = report
        .late(&cal)
        .iter()
        .map(|l| {
            (
                l.line.facts.code.as_str(),
                l.line.disposition,
                l.working_days_late,
            )
        })
        .collect();
    assert_eq!(
        late,
        vec![
            // K: due Thu 19 Mar, open on Tue 31: 20, 23–27, 30, 31.
            ("X0102-260316-0001", Disposition::Overdue, 8),
            // O: due Thu 5 Mar, done Mon 9: Fri 6, Mon 9.
            ("X0101-260226-0001", Disposition::Late, 2),
            // C: due Thu 5 Mar, done Fri 6.
            ("X0101-260302-0002", Disposition::Late, 1),
        ]
    );
}

#[test]
fn a_dossier_done_before_the_period_and_awaiting_the_fee_in_it_is_carried_over() {
    use Stage::*;
    let f = facts(Spec {
        code: "X0101-260223-0001",
        channel: Channel::Direct,
        field: LAND,
        clerk: "an",
        received: "2026-02-23 09:00",
        days: 3,
        rule: PauseRule::Extend,
        stages: vec![
            (Done, "2026-02-25 09:00"),
            (AwaitingFee, "2026-03-02 09:00"),
        ],
    });
    let february = Period::new(day("2026-02-01"), day("2026-02-28")).unwrap();
    let in_feb = Report06a::compute([&f], february, &calendar());
    assert_eq!(in_feb.total().get(Column::Early), 1);
    let in_march = Report06a::compute([&f], march(), &calendar());
    assert_eq!(in_march.total().get(Column::CarriedOver), 1);
    assert_eq!(in_march.total().get(Column::AwaitingPayment), 1);
}

#[test]
fn a_report_computed_in_parts_equals_the_whole() {
    let data = data_set();
    let cal = calendar();
    let whole = Report06a::compute(&data, march(), &cal);
    let (left, right) = data.split_at(6);
    let mut parts = Report06a::compute(left, march(), &cal);
    parts.absorb(Report06a::compute(right, march(), &cal));
    assert_eq!(parts.summary(true), whole.summary(true));
}

#[test]
fn from_dossier_orders_the_log_and_names_the_receiving_clerk() {
    let mut d = crate::dossier::tests::sample();
    let entry = |id: &str, stage, at, user: &str| crate::stage::StageEntry {
        id: id.into(),
        stage,
        at,
        user: user.into(),
        device: "tablet".into(),
        unit: d.unit.clone(),
        note: String::new(),
        missing: Vec::new(),
    };
    // Merged out of order: the log order is by time.
    d.stages = vec![
        entry("2@b", Stage::Done, d.received_at + 2_000, "specialist"),
        entry("1@a", Stage::Received, d.received_at, "clerk1"),
        entry(
            "3@a",
            Stage::Processing,
            d.received_at + 1_000,
            "specialist",
        ),
    ];
    let f = DossierFacts::from_dossier(&d);
    assert_eq!(f.code, "26734-261128-0001");
    assert_eq!(f.terms, d.deadline_terms());
    assert_eq!(&*f.clerk, "clerk1");
    let stages: Vec<Stage> = f.stages.iter().map(|e| e.stage).collect();
    assert_eq!(
        stages,
        vec![Stage::Received, Stage::Processing, Stage::Done]
    );
}

#[test]
fn periods_are_whole_local_days() {
    let p = march();
    assert_eq!(p.starts_at(), ms("2026-03-01 00:00"));
    assert_eq!(p.ends_at(), ms("2026-04-01 00:00") - 1);
    assert!(Period::new(day("2026-03-02"), day("2026-03-01")).is_err());
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, r#"{"from":"2026-03-01","to":"2026-03-31"}"#);
    assert!(serde_json::from_str::<Period>(r#"{"from":"2026-03-02","to":"2026-03-01"}"#).is_err());
}

/// Random logs that follow the stage machine, over February to April.
fn arb_facts() -> impl Strategy<Value = DossierFacts> {
    (
        0u32..60,
        0u32..8,
        any::<bool>(),
        proptest::collection::vec((0usize..13, 1i64..(5 * 86_400_000)), 0..8),
        0usize..3,
    )
        .prop_map(|(start_day, days, restart, steps, channel)| {
            let received_at = ms("2026-02-01 08:00") + i64::from(start_day) * 86_400_000;
            let mut stages = vec![StageEvent {
                stage: Stage::Received,
                at: received_at,
            }];
            let mut at = received_at;
            for (choice, gap) in steps {
                let current = stages.last().unwrap().stage;
                let next = current.next_stages();
                if next.is_empty() {
                    break;
                }
                at += gap;
                stages.push(StageEvent {
                    stage: next[choice % next.len()],
                    at,
                });
            }
            DossierFacts {
                code: format!("X0101-260201-{start_day:04}"),
                unit: UnitCode::parse(if days % 2 == 0 { "X0101" } else { "X0102" }).unwrap(),
                field: if restart { LAND } else { CIVIL }.into(),
                channel: [Channel::Direct, Channel::Postal, Channel::Online][channel],
                clerk: ["an", "binh"][(days % 2) as usize].into(),
                due_at: received_at,
                terms: DeadlineTerms {
                    received_at,
                    processing: ProcessingTime::working_days(days),
                    pause_rule: if restart {
                        PauseRule::Restart
                    } else {
                        PauseRule::Extend
                    },
                },
                stages,
            }
        })
}

proptest! {
    #[test]
    fn the_columns_add_up_for_any_logs(
        data in proptest::collection::vec(arb_facts(), 0..40),
        from in 0u32..40,
        len in 0u32..40,
    ) {
        let from = day("2026-02-01") + chrono::Days::new(u64::from(from));
        let period = Period::new(from, from + chrono::Days::new(u64::from(len))).unwrap();
        let report = Report06a::compute(&data, period, &calendar());
        prop_assert!(report.unclassified().is_empty());
        for grouping in Grouping::ALL {
            for (_, f) in report.rows(grouping) {
                let g = |c| f.get(c);
                use Column::*;
                prop_assert_eq!(g(Received), g(CarriedOver) + g(NewOnline) + g(NewDirectOrPostal));
                prop_assert_eq!(g(Resolved), g(Early) + g(OnTime) + g(Late));
                prop_assert_eq!(g(InProgress), g(WithinDeadline) + g(Overdue));
                prop_assert!(g(AwaitingSupplement) <= g(WithinDeadline));
                prop_assert_eq!(
                    g(Received),
                    g(Resolved) + g(Refused) + g(Withdrawn) + g(InProgress) + g(AwaitingPayment)
                );
            }
        }
        // What is open at the end of one period is carried into the next,
        // unless a dossier done earlier was reopened to wait for the fee.
        let reopened = data.iter().any(|f| {
            f.stages.windows(2).any(|w| w[0].stage == Stage::Done && w[1].stage == Stage::AwaitingFee)
        });
        let next_from = period.to().succ_opt().unwrap();
        let next = Period::new(next_from, next_from).unwrap();
        let open_at_end = report.total().get(Column::InProgress)
            + report.total().get(Column::AwaitingPayment);
        let carried = Report06a::compute(&data, next, &calendar()).total().get(Column::CarriedOver);
        prop_assume!(!reopened);
        prop_assert_eq!(carried, open_at_end);
    }
}
