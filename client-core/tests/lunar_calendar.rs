//! The lunar calendar checked month by month against an independent
//! ephemeris, 1900–2100 (`data/lunar_month_starts.txt`).

use chrono::NaiveDate;
use client_core::calendar::lunar::{LunarDate, lunar_to_solar, solar_to_lunar};

const MONTH_STARTS: &str = include_str!("data/lunar_month_starts.txt");

fn reference_months() -> Vec<(NaiveDate, LunarDate)> {
    MONTH_STARTS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let date = fields[0].parse().expect("a date");
            let lunar = LunarDate {
                year: fields[1].parse().expect("a year"),
                month: fields[2].parse().expect("a month"),
                day: 1,
                leap: fields[3] == "1",
            };
            (date, lunar)
        })
        .collect()
}

#[test]
fn every_month_from_1900_to_2100_begins_on_the_ephemeris_day() {
    let months = reference_months();
    assert_eq!(months.len(), 2487);
    let disagreements: Vec<NaiveDate> = months
        .iter()
        .filter(|(date, lunar)| {
            lunar_to_solar(*lunar) != Some(*date) || solar_to_lunar(*date) != *lunar
        })
        .map(|(date, _)| *date)
        .collect();
    // The new moon of 7 July 1967 came 2.5 s after midnight at UTC+7; the
    // formula's error of a few seconds puts it before. Nothing else differs.
    let july_1967 = NaiveDate::from_ymd_opt(1967, 7, 8).expect("a date");
    assert_eq!(disagreements, vec![july_1967]);
}
