//! Reports at a real hub: a fixed March 2026 worked by hand, received and
//! processed on real devices through the CLI, synced, then reported over
//! the HTTP API and by `motcua report` on the hub's SQLite file — and the
//! same figures computed by client-core from a device's own replica.
//!
//! March 2026: Sun 1 to Tue 31, no holidays (Tết was 16–20 February).
//! Office hours 07:00–11:30, 13:30–17:00; a morning receipt is due at 11:30
//! of its last working day. Procedures from the seed catalogue:
//!
//! | procedure | field          | time    | pause rule |
//! |-----------|----------------|---------|------------|
//! | 1.004873  | tu_phap_ho_tich| 3 days  | restart    |
//! | 1.004884  | tu_phap_ho_tich| 5 days  | restart    |
//! | 1.013831  | dia_chinh      | 5 days  | extend     |
//! | 1.012786  | dia_chinh      | 10 days | extend     |
//! | 1.013978  | dia_chinh      | 20 days | extend     |

use std::collections::BTreeMap;

use anyhow::Context;
use calamine::{Data, Reader, Xlsx};
use client_core::calendar::WorkingCalendar;
use client_core::dossier::Dossier;
use client_core::statistics::{DossierFacts, Period, Report06a};
use motcua_tests::{Device, HubOptions, HubProcess, motcua, motcua_json};
use serde_json::Value;

const MARCH: &str = "from=2026-03-01&to=2026-03-31";

/// Local time in Vietnam, `2026-03-02 09:00` → RFC 3339.
fn at(local: &str) -> String {
    format!("{}:00+07:00", local.replace(' ', "T"))
}

/// The hub, its devices, and the codes of the data set by letter.
struct March {
    hub: HubProcess,
    tan_phong: Device,
    dong_hoa: Device,
    province: Device,
    codes: BTreeMap<char, String>,
}

impl March {
    fn code(&self, letter: char) -> &str {
        &self.codes[&letter]
    }
}

/// Receives and processes the data set. Where March puts each dossier:
///
/// - A (X0101) 20 days from Fri 27 Feb: 2–6, 9–13, 16–20, 23–27 Mar → due
///   Fri 27 Mar; only handed over → carried over, overdue on 31 Mar (late by
///   Mon 30 and Tue 31: 2 working days).
/// - B (X0101) 3 days from Mon 2 Mar → due Thu 5; done Thu 5 16:00 → on
///   time (on the appointment day).
/// - C (X0101, online) the same, done Fri 6, the day after → late.
/// - D (X0101) 5 days, extend, from Mon 9 → due Mon 16; supplement asked
///   Tue 10, received Mon 16: 10, 11, 12, 13 given back → due Fri 20; done
///   Fri 20 → on time.
/// - E (X0101) 5 days, restart, from Mon 9 → due Mon 16; supplement asked
///   Wed 11, received Fri 20 14:00: 5 days again from then → due Fri 27;
///   done Thu 26 → early (extending would have made it late).
/// - F (X0101) refused an hour after receipt → refused.
/// - G (X0102, by post) withdrawn Fri 6 → withdrawn.
/// - H (X0101) 10 days from Mon 2 → due Mon 16; sent to the province Tue 3,
///   processed there, returned Thu 12, done Fri 13 → early, counted once, at
///   X0101.
/// - I (X0102) awaiting the fee since Fri 13 → awaiting payment.
/// - J (X0102) 3 days from Mon 23 → due Thu 26; supplement asked Wed 25,
///   still awaited → within deadline, awaiting supplement.
/// - K (X0101) received, done and returned in February → not counted.
/// - L (X0102) 20 days from Mon 16 → due Mon 13 Apr; handed over → within
///   deadline.
fn march() -> anyhow::Result<March> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let tan_phong = hub.enrol_device("X0101")?;
    let dong_hoa = hub.enrol_device("X0102")?;
    let province = hub.enrol_device("T01")?;
    let mut codes = BTreeMap::new();
    let clerk1 = "canbo.tanphong";
    let clerk2 = "canbo.donghoa";
    let mut receive = |letter: char,
                       device: &Device,
                       procedure: &str,
                       when: &str,
                       extra: &[&str]|
     -> anyhow::Result<String> {
        let user = if std::ptr::eq(device, &tan_phong) {
            clerk1
        } else {
            clerk2
        };
        let mut args = vec!["--user", user];
        args.extend_from_slice(extra);
        let code = device.receive_at(procedure, &format!("Công dân {letter}"), &at(when), &args)?;
        codes.insert(letter, code.clone());
        Ok(code)
    };
    let stages = |device: &Device, code: &str, steps: &[(&str, &str)], user: &str| {
        steps
            .iter()
            .try_for_each(|(stage, when)| device.stage_at(code, stage, &at(when), user).map(|_| ()))
    };

    let a = receive('A', &tan_phong, "1.013978", "2026-02-27 09:00", &[])?;
    stages(
        &tan_phong,
        &a,
        &[("handed_over", "2026-02-27 10:00")],
        clerk1,
    )?;
    let b = receive('B', &tan_phong, "1.004873", "2026-03-02 09:00", &[])?;
    stages(
        &tan_phong,
        &b,
        &[
            ("done", "2026-03-05 16:00"),
            ("result_returned", "2026-03-06 08:00"),
        ],
        clerk1,
    )?;
    let c = receive(
        'C',
        &tan_phong,
        "1.004873",
        "2026-03-02 09:00",
        &["--channel", "online"],
    )?;
    stages(&tan_phong, &c, &[("done", "2026-03-06 08:00")], clerk1)?;
    let d = receive('D', &tan_phong, "1.013831", "2026-03-09 09:00", &[])?;
    stages(
        &tan_phong,
        &d,
        &[
            ("supplement_requested", "2026-03-10 09:00"),
            ("supplement_received", "2026-03-16 09:00"),
            ("done", "2026-03-20 15:00"),
        ],
        clerk1,
    )?;
    let e = receive('E', &tan_phong, "1.004884", "2026-03-09 09:00", &[])?;
    stages(
        &tan_phong,
        &e,
        &[
            ("supplement_requested", "2026-03-11 10:00"),
            ("supplement_received", "2026-03-20 14:00"),
            ("done", "2026-03-26 10:00"),
        ],
        clerk1,
    )?;
    let f = receive('F', &tan_phong, "1.004873", "2026-03-03 09:00", &[])?;
    stages(&tan_phong, &f, &[("refused", "2026-03-03 10:00")], clerk1)?;
    let k = receive('K', &tan_phong, "1.004873", "2026-02-02 09:00", &[])?;
    stages(
        &tan_phong,
        &k,
        &[
            ("done", "2026-02-04 09:00"),
            ("result_returned", "2026-02-05 09:00"),
        ],
        clerk1,
    )?;
    let h = receive('H', &tan_phong, "1.012786", "2026-03-02 09:00", &[])?;
    stages(
        &tan_phong,
        &h,
        &[("sent_to_level", "2026-03-03 09:00")],
        clerk1,
    )?;

    let g = receive(
        'G',
        &dong_hoa,
        "1.013831",
        "2026-03-04 09:00",
        &["--channel", "postal"],
    )?;
    stages(
        &dong_hoa,
        &g,
        &[
            ("processing", "2026-03-04 10:00"),
            ("withdrawn", "2026-03-06 09:00"),
        ],
        clerk2,
    )?;
    let i = receive('I', &dong_hoa, "1.013831", "2026-03-10 09:00", &[])?;
    stages(
        &dong_hoa,
        &i,
        &[
            ("processing", "2026-03-11 09:00"),
            ("awaiting_fee", "2026-03-13 09:00"),
        ],
        clerk2,
    )?;
    let j = receive('J', &dong_hoa, "1.004873", "2026-03-23 09:00", &[])?;
    stages(
        &dong_hoa,
        &j,
        &[("supplement_requested", "2026-03-25 09:00")],
        clerk2,
    )?;
    let l = receive('L', &dong_hoa, "1.013978", "2026-03-16 09:00", &[])?;
    stages(
        &dong_hoa,
        &l,
        &[("handed_over", "2026-03-16 10:00")],
        clerk2,
    )?;

    // H goes up to the province and comes back.
    tan_phong.sync()?;
    dong_hoa.sync()?;
    province.sync()?;
    stages(
        &province,
        &h,
        &[
            ("processing", "2026-03-04 09:00"),
            ("returned_from_level", "2026-03-12 09:00"),
        ],
        "chuyenvien.tinh",
    )?;
    province.sync()?;
    tan_phong.sync()?;
    stages(
        &tan_phong,
        &h,
        &[
            ("done", "2026-03-13 09:00"),
            ("result_returned", "2026-03-16 09:00"),
        ],
        clerk1,
    )?;
    tan_phong.sync()?;
    province.sync()?;
    Ok(March {
        hub,
        tan_phong,
        dong_hoa,
        province,
        codes,
    })
}

/// Counts in the order of report 06a's columns: received, carried over, new
/// online, new direct/postal; resolved, early, on time, late; refused,
/// withdrawn; in progress, within deadline, awaiting supplement, overdue;
/// awaiting payment.
const COLUMNS: [&str; 15] = [
    "received",
    "carried_over",
    "new_online",
    "new_direct_or_postal",
    "resolved",
    "early",
    "on_time",
    "late",
    "refused",
    "withdrawn",
    "in_progress",
    "within_deadline",
    "awaiting_supplement",
    "overdue",
    "awaiting_payment",
];

fn counts(figures: &Value) -> Vec<u64> {
    COLUMNS
        .iter()
        .map(|c| figures[c].as_u64().unwrap_or(u64::MAX))
        .collect()
}

fn row<'a>(report: &'a Value, grouping: &str, key: &str) -> &'a Value {
    report[grouping]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["key"] == key))
        .map_or(&Value::Null, |r| &r["figures"])
}

/// The hand count of March, as in [`march`].
fn assert_march_figures(report: &Value) {
    // Counted: A–J and L (11); not K. Intake: carried over A; online C;
    // direct/postal the other 9. Resolved: early E H, on time B D, late C.
    // Refused F, withdrawn G. In progress: within J L (J awaiting a
    // supplement), overdue A. Awaiting payment I.
    assert_eq!(
        counts(&report["total"]["figures"]),
        vec![11, 1, 1, 9, 5, 2, 2, 1, 1, 1, 3, 2, 1, 1, 1],
        "{report}"
    );
    // (2 + 2) / (2 + 2 + 1)
    assert_eq!(report["total"]["figures"]["on_time_rate"], 0.8);
    // X0101: A B C D E F H — H once, although the province recorded stages.
    assert_eq!(
        counts(row(report, "by_unit", "X0101")),
        vec![7, 1, 1, 5, 5, 2, 2, 1, 1, 0, 1, 0, 0, 1, 0]
    );
    // X0102: G I J L.
    assert_eq!(
        counts(row(report, "by_unit", "X0102")),
        vec![4, 0, 0, 4, 0, 0, 0, 0, 0, 1, 2, 2, 1, 0, 1]
    );
    let units: Vec<&Value> = report["by_unit"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["key"]).collect())
        .unwrap_or_default();
    assert_eq!(units, vec!["X0101", "X0102"]);
    // Land (dia_chinh): A D G H I L → carried A; early H; on time D;
    // withdrawn G; within L; overdue A; payment I.
    assert_eq!(
        counts(row(report, "by_field", "dia_chinh")),
        vec![6, 1, 0, 5, 2, 1, 1, 0, 0, 1, 2, 1, 0, 1, 1]
    );
    // By clerk: the receiving clerk of each commune.
    assert_eq!(row(report, "by_clerk", "canbo.tanphong")["received"], 7);
    assert_eq!(row(report, "by_clerk", "canbo.donghoa")["received"], 4);
}

/// Report 06a computed by client-core from a device's own replica: the
/// path the web app takes offline.
fn replica_report(device: &Device, period: Period) -> anyhow::Result<Value> {
    let mut facts = Vec::new();
    for listed in device.list()? {
        let code = listed["code"].as_str().context("code")?;
        let shown = device.show(code)?;
        let dossier: Dossier = serde_json::from_value(shown["dossier"].clone())?;
        facts.push(DossierFacts::from_dossier(&dossier));
    }
    let calendar = WorkingCalendar::seeded(2025..=2027)?;
    Ok(serde_json::to_value(
        Report06a::compute(&facts, period, &calendar).summary(true),
    )?)
}

fn period(from: &str, to: &str) -> Period {
    Period::new(from.parse().unwrap(), to.parse().unwrap()).unwrap()
}

#[test]
fn report_06a_at_the_hub_matches_the_hand_count_and_the_replicas_own_computation()
-> anyhow::Result<()> {
    let m = march()?;
    let leader = m.hub.login("lanhdao.tinh", "motcua2026")?;
    let (status, report) = m.hub.get(
        &format!("/api/reports/06a?{MARCH}&unit=T01&lists=true"),
        Some(&leader),
    )?;
    assert_eq!(status, 200, "{report}");
    assert_march_figures(&report);
    assert_eq!(report["unclassified"], serde_json::json!([]));
    assert_eq!(report["names"]["unit"]["X0101"], "Xã Tân Phong");

    // The province's replica, computed by client-core, says exactly the same,
    // lists of codes included.
    let replica = replica_report(&m.province, period("2026-03-01", "2026-03-31"))?;
    for part in ["total", "by_unit", "by_field", "by_clerk"] {
        assert_eq!(report[part], replica[part], "{part}");
    }
    assert_eq!(
        report["total"]["dossiers"]["late"],
        serde_json::json!([m.code('C')])
    );
    // A commune's replica agrees for its own unit.
    let tan_phong = replica_report(&m.tan_phong, period("2026-03-01", "2026-03-31"))?;
    let (_, commune) = m.hub.get(
        &format!("/api/reports/06a?{MARCH}&unit=X0101&lists=true"),
        Some(&leader),
    )?;
    assert_eq!(commune["total"], tan_phong["total"]);
    let dong_hoa = replica_report(&m.dong_hoa, period("2026-03-01", "2026-03-31"))?;
    let (_, commune) = m.hub.get(
        &format!("/api/reports/06a?{MARCH}&unit=X0102&lists=true"),
        Some(&leader),
    )?;
    assert_eq!(commune["total"], dong_hoa["total"]);
    Ok(())
}

#[test]
fn a_report_for_a_past_month_does_not_change_when_stages_are_recorded_today() -> anyhow::Result<()>
{
    let m = march()?;
    let leader = m.hub.login("lanhdao.tinh", "motcua2026")?;
    let path = format!("/api/reports/06a?{MARCH}&unit=T01&lists=true");
    let (_, before) = m.hub.get(&path, Some(&leader))?;
    assert_march_figures(&before);

    // Today: A is done, I's fee is paid and the result returned, J's
    // supplement arrives and it is done, L is done.
    let vn_today = || {
        chrono::Utc::now()
            .with_timezone(&client_core::time::vn_offset())
            .format("%Y-%m-%d")
            .to_string()
    };
    let first_day = vn_today();
    let today = |device: &Device, letter: char, stage: &str, user: &str| -> anyhow::Result<()> {
        let data = device.data();
        motcua_json(&[
            "dossier",
            "stage",
            "--data",
            &data,
            m.code(letter),
            stage,
            "--user",
            user,
        ])?;
        Ok(())
    };
    today(&m.tan_phong, 'A', "done", "canbo.tanphong")?;
    today(&m.dong_hoa, 'I', "result_returned", "canbo.donghoa")?;
    today(&m.dong_hoa, 'J', "supplement_received", "canbo.donghoa")?;
    today(&m.dong_hoa, 'J', "done", "canbo.donghoa")?;
    today(&m.dong_hoa, 'L', "done", "canbo.donghoa")?;
    m.tan_phong.sync()?;
    m.dong_hoa.sync()?;

    let (_, after) = m.hub.get(&path, Some(&leader))?;
    assert_eq!(after, before);

    // Today's own report sees them: carried over from before today (A I J L
    // were open), all four resolved now.
    let (_, now) = m.hub.get(
        &format!(
            "/api/reports/06a?from={first_day}&to={}&unit=T01",
            vn_today()
        ),
        Some(&leader),
    )?;
    assert_eq!(now["total"]["figures"]["carried_over"], 4, "{now}");
    assert_eq!(now["total"]["figures"]["resolved"], 4, "{now}");
    Ok(())
}

#[test]
fn the_cli_writes_report_06a_as_json_csv_xlsx_and_html_with_vietnamese_headers()
-> anyhow::Result<()> {
    let m = march()?;
    let data = m.hub.data_dir();
    let out = m.hub.data.path();
    let report = |format: &str, file: &str| -> anyhow::Result<std::path::PathBuf> {
        let path = out.join(file);
        let path_text = path.to_string_lossy().to_string();
        motcua(&[
            "report",
            "06a",
            "--data",
            &data,
            "--unit",
            "T01",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--format",
            format,
            "--out",
            &path_text,
        ])?;
        Ok(path)
    };

    let json: Value = serde_json::from_slice(&std::fs::read(report("json", "r.json")?)?)?;
    assert_march_figures(&json);

    let csv = String::from_utf8(std::fs::read(report("csv", "r.csv")?)?)?;
    let mut lines = csv.lines();
    let header = lines.next().context("header")?;
    assert!(header.starts_with("\u{feff}Đơn vị,Tổng số hồ sơ tiếp nhận,Kỳ trước chuyển sang,"));
    assert!(header.ends_with("Tỷ lệ giải quyết đúng hạn (%)"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows,
        vec![
            "Xã Tân Phong,7,1,1,5,5,2,2,1,1,0,1,0,0,1,0,80.0",
            "Xã Đông Hòa,4,0,0,4,0,0,0,0,0,1,2,2,1,0,1,",
            "Tổng cộng,11,1,1,9,5,2,2,1,1,1,3,2,1,1,1,80.0",
        ]
    );

    let mut workbook: Xlsx<_> = calamine::open_workbook(report("xlsx", "r.xlsx")?)?;
    let sheet = workbook.worksheet_range("Mẫu 06a")?;
    let cell = |r: u32, c: u32| sheet.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    assert!(
        matches!(cell(0, 0), Data::String(s) if s.contains("Mẫu 06a") && s.contains("Tỉnh Sơn Lâm"))
    );
    assert_eq!(cell(2, 0), Data::String("Đơn vị".into()));
    assert_eq!(cell(2, 6), Data::String("Giải quyết trước hạn".into()));
    assert_eq!(cell(5, 0), Data::String("Tổng cộng".into()));
    assert_eq!(cell(5, 1), Data::Float(11.0));
    assert_eq!(cell(5, 16), Data::Float(0.8));

    let html = std::fs::read_to_string(report("html", "r.html")?)?;
    assert!(html.contains("Mẫu số 06a"));
    assert!(html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert!(html.contains("@page { size: A4 landscape"));
    assert!(html.contains("từ ngày 01/03/2026 đến ngày 31/03/2026"));
    assert!(!html.contains("<script") && !html.contains("<link"));

    // Bad input is refused with what to do.
    let err = motcua(&[
        "report",
        "06a",
        "--data",
        &data,
        "--unit",
        "T01",
        "--from",
        "2026-03-31",
        "--to",
        "2026-03-01",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("swap the dates"), "{err}");
    let empty = out.join("no-hub");
    let err = motcua(&[
        "report",
        "06a",
        "--data",
        &empty.to_string_lossy(),
        "--unit",
        "T01",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("no hub database"), "{err}");
    assert!(!empty.exists(), "a report must not create a hub");
    Ok(())
}

#[test]
fn drill_down_late_report_and_forms_06_and_07_stay_within_the_callers_subtree() -> anyhow::Result<()>
{
    let m = march()?;
    let leader = m.hub.login("lanhdao.tinh", "motcua2026")?;
    let clerk = m.hub.login("canbo.donghoa", "motcua2026")?;

    // Drill-down: the on-time figure of X0101 is B and D.
    let (status, list) = m.hub.get(
        &format!("/api/reports/06a/dossiers?{MARCH}&unit=T01&group=unit&key=X0101&column=on_time"),
        Some(&leader),
    )?;
    assert_eq!(status, 200, "{list}");
    let codes: Vec<&str> = list["dossiers"]
        .as_array()
        .context("dossiers")?
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    let mut expected = vec![m.code('B'), m.code('D')];
    expected.sort();
    assert_eq!(codes, expected);
    assert_eq!(list["dossiers"][0]["applicant"], "Công dân B");

    // The late report: A overdue by 2 working days, C late by 1.
    let (_, late) = m.hub.get(
        &format!("/api/reports/late?{MARCH}&unit=T01"),
        Some(&leader),
    )?;
    let late: Vec<(String, String, u64)> = late["dossiers"]
        .as_array()
        .context("dossiers")?
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["disposition"].as_str().unwrap_or_default().to_string(),
                d["working_days_late"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(
        late,
        vec![
            (m.code('A').to_string(), "overdue".to_string(), 2),
            (m.code('C').to_string(), "late".to_string(), 1),
        ]
    );
    let (status, head, xlsx) = m.hub.get_raw(
        &format!("/api/reports/late?{MARCH}&unit=T01&format=xlsx"),
        Some(&leader),
    )?;
    assert_eq!(status, 200);
    assert!(head.contains("attachment; filename=\"ho-so-qua-han_T01_20260301_20260331.xlsx\""));
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx))?;
    let sheet = workbook.worksheet_range("Hồ sơ quá hạn")?;
    assert_eq!(
        sheet.get_value((2, 10)),
        Some(&Data::String("Số ngày làm việc quá hạn".into()))
    );

    // Form 06 of H: one row per hand-off, the province's among them.
    let (status, head, body) = m.hub.get_raw(
        &format!("/api/reports/form06/{}", m.code('H')),
        Some(&leader),
    )?;
    assert_eq!(status, 200);
    assert!(head.contains("text/html"));
    let html = String::from_utf8(body)?;
    assert!(html.contains("Phiếu kiểm soát quá trình giải quyết hồ sơ"));
    assert_eq!(html.matches("<td>Giao: ").count(), 6, "{html}");
    assert!(html.contains("Nhận: Tỉnh Sơn Lâm — Lê Thị Thu (chuyenvien.tinh)"));
    assert!(html.contains("Đã xử lý xong — Trước hạn"));

    // Form 07 of Tân Phong for March: B C D E F H, in order of receipt (A and
    // K were received in February).
    let (_, register) = m.hub.get(
        &format!("/api/reports/form07?{MARCH}&unit=X0101&format=json"),
        Some(&leader),
    )?;
    let listed: Vec<&str> = register["dossiers"]
        .as_array()
        .context("dossiers")?
        .iter()
        .filter_map(|d| d["facts"]["code"].as_str())
        .collect();
    // B, C and H were all received on Mon 2 at 09:00 (in the order of their
    // codes), F on Tue 3, D and E on Mon 9.
    let in_order: Vec<&str> = "BCHFDE".chars().map(|c| m.code(c)).collect();
    assert_eq!(listed, in_order);
    let (_, _, register_html) = m.hub.get_raw(
        &format!("/api/reports/form07?{MARCH}&unit=X0101"),
        Some(&leader),
    )?;
    let register_html = String::from_utf8(register_html)?;
    assert!(register_html.contains("Sổ theo dõi hồ sơ"));
    assert!(register_html.contains("Trả kết quả cho tổ chức, cá nhân"));

    // A commune clerk sees their own commune only; another unit, or another
    // unit's dossier, looks like nothing at all.
    let (status, own) = m
        .hub
        .get(&format!("/api/reports/06a?{MARCH}"), Some(&clerk))?;
    assert_eq!(status, 200);
    assert_eq!(own["total"]["figures"]["received"], 4);
    let (status, _) = m.hub.get(
        &format!("/api/reports/06a?{MARCH}&unit=X0101"),
        Some(&clerk),
    )?;
    assert_eq!(status, 404);
    let (other, _, _) = m.hub.get_raw(
        &format!("/api/reports/form06/{}", m.code('H')),
        Some(&clerk),
    )?;
    let (missing, _, _) = m
        .hub
        .get_raw("/api/reports/form06/X0101-991231-0001", Some(&clerk))?;
    assert_eq!((other, missing), (404, 404));
    let (status, _) = m.hub.get(&format!("/api/reports/06a?{MARCH}"), None)?;
    assert_eq!(status, 401);
    let (status, body) = m.hub.get(
        "/api/reports/06a?from=2026-03-01&to=31-03-2026",
        Some(&clerk),
    )?;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("YYYY-MM-DD")
    );
    Ok(())
}

#[test]
fn an_applicant_named_like_a_formula_is_text_in_the_csv_register() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let device = hub.enrol_device("X0101")?;
    let formula = "=HYPERLINK(\"http://evil.example/\",\"Bấm vào đây\")";
    device.receive_at(
        "1.004873",
        formula,
        &at("2026-03-02 09:00"),
        &[
            "--user",
            "canbo.tanphong",
            "--address",
            "@SUM(1+1)*cmd|' /C calc'!A0",
        ],
    )?;
    device.sync()?;
    let leader = hub.login("lanhdao.tinh", "motcua2026")?;
    let (status, _, body) = hub.get_raw(
        &format!("/api/reports/form07?{MARCH}&unit=X0101&format=csv"),
        Some(&leader),
    )?;
    assert_eq!(status, 200);
    let csv = String::from_utf8(body)?;
    // Quoted because of the comma and quotes inside; the leading `'` makes
    // Excel show it as text instead of running it.
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Bấm vào đây\"\")\""),
        "{csv}"
    );
    assert!(csv.contains(",'@SUM(1+1)*cmd|' /C calc'!A0,"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    Ok(())
}
