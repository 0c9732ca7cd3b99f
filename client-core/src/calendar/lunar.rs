//! The Vietnamese lunar calendar (âm lịch), computed astronomically.
//!
//! Tết Nguyên đán and Giỗ Tổ Hùng Vương are lunar dates, so the statutory
//! holidays of every year depend on this module. The calendar is the
//! traditional lunisolar one, reckoned at Vietnam's meridian (UTC+7) since
//! 1968; China reckons the same rules at UTC+8, and the two disagree whenever
//! a new moon or a solar term falls between 23:00 and midnight Vietnam time
//! (Tết 1985, 2007, 2030 and 2053 differ, for instance).
//!
//! The rules:
//!
//! - A lunar month begins on the local day of a new moon.
//! - Month 11 is the month that contains the winter solstice (the sun's
//!   apparent longitude reaching 270°).
//! - From one month 11 to the next there are 12 or 13 months. With 13, the
//!   first month after month 11 that contains no major solar term (trung khí:
//!   a multiple of 30° of solar longitude) is a leap month and repeats the
//!   number of the month before it.
//!
//! New moons follow Meeus, *Astronomical Algorithms* (2nd ed.), chapter 49;
//! the sun's apparent longitude chapter 25; ΔT the Espenak–Meeus polynomials.
//! Their errors are seconds (new moons) to minutes (solar terms). Checked
//! against a full ephemeris, every month from 1900 to 2100 begins on the same
//! day except one: the new moon of 7 July 1967 came 2.5 seconds after
//! midnight Vietnam time, and the formula puts it a few seconds before. (In
//! 1967 Vietnam still reckoned at UTC+8, where there is no such doubt.)
//! Outside 1900–2100 the functions still give a consistent calendar, but no
//! astronomical accuracy is claimed.
//!
//! Internally every function takes the time zone as a parameter (in hours),
//! so that the difference from China's calendar can be shown; the public API
//! is fixed to Vietnam's UTC+7.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Vietnam's time zone, the meridian of the Vietnamese lunar calendar.
const VIETNAM_HOURS: f64 = 7.0;

/// A date in the Vietnamese lunar calendar.
///
/// `year` is the Gregorian year in which the lunar year began (so 1/1 of
/// lunar year 2025 is 2025-01-29); `leap` marks a leap month (tháng nhuận),
/// which repeats the number of the month before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LunarDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub leap: bool,
}

impl LunarDate {
    /// A date in a regular (not leap) month.
    pub const fn new(year: i32, month: u8, day: u8) -> Self {
        Self {
            year,
            month,
            day,
            leap: false,
        }
    }
}

/// The lunar date of a solar (Gregorian) date.
pub fn solar_to_lunar(date: NaiveDate) -> LunarDate {
    solar_to_lunar_at(date, VIETNAM_HOURS)
}

/// The solar date of a lunar date, or `None` when no such day exists (day 30
/// of a 29-day month, a leap month the year does not have, month 0 or 13).
pub fn lunar_to_solar(date: LunarDate) -> Option<NaiveDate> {
    lunar_to_solar_at(date, VIETNAM_HOURS)
}

/// The first day of lunar year `year` (Mùng 1 Tết), or `None` only for years
/// beyond the range of dates that can be represented.
pub fn lunar_new_year(year: i32) -> Option<NaiveDate> {
    lunar_to_solar(LunarDate::new(year, 1, 1))
}

/// The number of the leap month of lunar year `year`, if it has one.
pub fn leap_month(year: i32) -> Option<u8> {
    leap_month_at(year, VIETNAM_HOURS)
}

/// The number of days (29 or 30) of a lunar month, or `None` if the year has
/// no such month.
pub fn month_length(year: i32, month: u8, leap: bool) -> Option<u8> {
    let span = MonthSpan::holding(year, month, VIETNAM_HOURS)?;
    let index = span.index_of(month, leap)?;
    Some(span.length(index))
}

fn solar_to_lunar_at(date: NaiveDate, hours: f64) -> LunarDate {
    let day = day_number(date);
    // Month 11 of this Gregorian year begins in November or December: dates
    // from it on belong to the span that ends with next year's month 11.
    let mut span = MonthSpan::ending_in(date.year() + 1, hours);
    if day < span.starts[0] {
        span = MonthSpan::ending_in(date.year(), hours);
    }
    let index = span.starts[..span.months()]
        .iter()
        .rposition(|&start| start <= day)
        .unwrap_or(0);
    let (month, leap) = span.label(index);
    LunarDate {
        year: span.lunar_year_of(month),
        month,
        // A month has at most 30 days, so the offset fits.
        day: (day - span.starts[index] + 1) as u8,
        leap,
    }
}

fn lunar_to_solar_at(date: LunarDate, hours: f64) -> Option<NaiveDate> {
    if !(1..=30).contains(&date.day) {
        return None;
    }
    let span = MonthSpan::holding(date.year, date.month, hours)?;
    let index = span.index_of(date.month, date.leap)?;
    if date.day > span.length(index) {
        return None;
    }
    date_of(span.starts[index] + i64::from(date.day) - 1)
}

fn leap_month_at(year: i32, hours: f64) -> Option<u8> {
    // Months 1–10 of lunar year `year` lie in the span ending in `year`;
    // a leap 11th or 12th month lies in the next one.
    let early = MonthSpan::ending_in(year, hours);
    if let Some(index) = early.leap {
        let (month, _) = early.label(index);
        if month <= 10 {
            return Some(month);
        }
    }
    let late = MonthSpan::ending_in(year.checked_add(1)?, hours);
    late.leap
        .map(|index| late.label(index).0)
        .filter(|&month| month >= 11)
}

/// A Julian Day Number: a count of days that does not care about months,
/// which is what the astronomy works in.
type DayNumber = i64;

/// The Julian Day Number of 0001-01-01 minus one, linking chrono's day count
/// to Julian Day Numbers.
const JDN_OF_CE_DAY_ZERO: i64 = 1_721_425;

fn day_number(date: NaiveDate) -> DayNumber {
    i64::from(date.num_days_from_ce()) + JDN_OF_CE_DAY_ZERO
}

fn date_of(day: DayNumber) -> Option<NaiveDate> {
    let days_from_ce = i32::try_from(day - JDN_OF_CE_DAY_ZERO).ok()?;
    NaiveDate::from_num_days_from_ce_opt(days_from_ce)
}

/// 31 December of a Gregorian year as a day number, by arithmetic so that it
/// works for any `i32` year, not only those chrono can represent.
fn december_31(year: i32) -> DayNumber {
    // Fliegel & Van Flandern's day-number formula for the Gregorian calendar,
    // specialised to month 12, day 31.
    let y = i64::from(year) + 4800;
    let m = 9; // December counted from March
    31 + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
        - 32_045
}

/// The months from one month 11 (inclusive) to the next (exclusive).
///
/// This is the natural unit of the calendar: whether a leap month exists, and
/// where, is decided between two winter solstices.
struct MonthSpan {
    /// Local day on which each month begins, plus the start of the next
    /// month 11 at the end: 13 or 14 entries.
    starts: Vec<DayNumber>,
    /// Index (into `starts`) of the leap month, if any.
    leap: Option<usize>,
    /// The Gregorian year in which the span ends, which is also the lunar
    /// year of its months 1 to 10.
    year: i32,
}

impl MonthSpan {
    /// The span that ends with the month 11 of Gregorian year `year`.
    fn ending_in(year: i32, hours: f64) -> Self {
        let first = month_11(year.saturating_sub(1), hours);
        let next = month_11(year, hours);
        let starts: Vec<DayNumber> = (first..=next).map(|k| new_moon_day(k, hours)).collect();
        let months = starts.len() - 1;
        // Thirteen months hold only the twelve major terms from one winter
        // solstice to the next, so one of them has none: the first such month
        // is the leap month. Month 11 itself holds the solstice.
        let leap = (months == 13)
            .then(|| {
                (1..months).find(|&i| {
                    major_term_at_day_start(starts[i], hours)
                        == major_term_at_day_start(starts[i + 1], hours)
                })
            })
            .flatten();
        Self { starts, leap, year }
    }

    /// The span holding month `month` of lunar year `year`.
    fn holding(year: i32, month: u8, hours: f64) -> Option<Self> {
        match month {
            1..=10 => Some(Self::ending_in(year, hours)),
            11 | 12 => Some(Self::ending_in(year.checked_add(1)?, hours)),
            _ => None,
        }
    }

    fn months(&self) -> usize {
        self.starts.len() - 1
    }

    fn length(&self, index: usize) -> u8 {
        (self.starts[index + 1] - self.starts[index]) as u8
    }

    /// The month number and leap flag of the month at `index`.
    fn label(&self, index: usize) -> (u8, bool) {
        let (ordinal, leap) = match self.leap {
            Some(leap) if index == leap => (index - 1, true),
            Some(leap) if index > leap => (index - 1, false),
            _ => (index, false),
        };
        // Ordinal 0 is month 11, 1 is month 12, 2 is month 1, …
        (((ordinal + 10) % 12 + 1) as u8, leap)
    }

    fn index_of(&self, month: u8, leap: bool) -> Option<usize> {
        (0..self.months()).find(|&i| self.label(i) == (month, leap))
    }

    /// Months 11 and 12 at the head of the span belong to the lunar year that
    /// began the previous Tết.
    fn lunar_year_of(&self, month: u8) -> i32 {
        if month >= 11 {
            self.year - 1
        } else {
            self.year
        }
    }
}

/// The index `k` (see [`new_moon_jde`]) of the new moon that begins month 11
/// of Gregorian year `year`: the month containing the December solstice.
fn month_11(year: i32, hours: f64) -> i64 {
    let december_31 = december_31(year);
    // The last new moon on or before 31 December, found from an estimate.
    let mut k = ((december_31 as f64 - NEW_MOON_EPOCH_JDE) / SYNODIC_MONTH).floor() as i64;
    while new_moon_day(k + 1, hours) <= december_31 {
        k += 1;
    }
    while new_moon_day(k, hours) > december_31 {
        k -= 1;
    }
    // If the solstice had already passed when that month began, the month
    // that contains it is the one before.
    if major_term_at_day_start(new_moon_day(k, hours), hours) >= 9 {
        k - 1
    } else {
        k
    }
}

/// Mean length of a synodic month, in days.
const SYNODIC_MONTH: f64 = 29.530_588_861;
/// How far from 2000, in centuries, the polynomial terms of the astronomy
/// are followed.
const MAX_CENTURIES: f64 = 30.0;
/// Julian Ephemeris Day of the mean new moon `k = 0` (6 January 2000).
const NEW_MOON_EPOCH_JDE: f64 = 2_451_550.097_66;

/// The local day on which new moon `k` falls.
fn new_moon_day(k: i64, hours: f64) -> DayNumber {
    let jde = new_moon_jde(k);
    let ut = jde - delta_t_days(jde);
    // A Julian Day starts at noon UT; +0.5 moves to midnight, then the zone.
    (ut + 0.5 + hours / 24.0).floor() as DayNumber
}

/// Which 30° sector of apparent solar longitude (0 = from the March equinox,
/// 9 = from the December solstice) the sun is in when local day `day` begins.
/// A month contains a major term exactly when this changes across it.
fn major_term_at_day_start(day: DayNumber, hours: f64) -> i64 {
    let ut = day as f64 - 0.5 - hours / 24.0;
    let jde = ut + delta_t_days(ut);
    (sun_apparent_longitude(jde) / 30.0).floor() as i64
}

/// Julian Ephemeris Day of the true new moon `k` (Meeus, ch. 49): `k = 0` is
/// the new moon of 6 January 2000, negative `k` are earlier ones.
fn new_moon_jde(k: i64) -> f64 {
    let k = k as f64;
    // Centuries from 2000, held within ±3000 years in the slowly varying
    // terms: beyond that their polynomials grow without bound and would stop
    // new moons from coming in order, while the linear terms in `k` keep the
    // calendar consistent.
    let t = (k / 1236.85).clamp(-MAX_CENTURIES, MAX_CENTURIES);
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);

    let mean = NEW_MOON_EPOCH_JDE + SYNODIC_MONTH * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4;

    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let sun_anomaly = deg(2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3);
    let moon_anomaly = deg(
        201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4,
    );
    let latitude = deg(
        160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4,
    );
    let node = deg(124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3);
    let (m, mp, f) = (sun_anomaly, moon_anomaly, latitude);

    let periodic = -0.40720 * mp.sin()
        + 0.17241 * e * m.sin()
        + 0.01608 * (2.0 * mp).sin()
        + 0.01039 * (2.0 * f).sin()
        + 0.00739 * e * (mp - m).sin()
        - 0.00514 * e * (mp + m).sin()
        + 0.00208 * e * e * (2.0 * m).sin()
        - 0.00111 * (mp - 2.0 * f).sin()
        - 0.00057 * (mp + 2.0 * f).sin()
        + 0.00056 * e * (2.0 * mp + m).sin()
        - 0.00042 * (3.0 * mp).sin()
        + 0.00042 * e * (m + 2.0 * f).sin()
        + 0.00038 * e * (m - 2.0 * f).sin()
        - 0.00024 * e * (2.0 * mp - m).sin()
        - 0.00017 * node.sin()
        - 0.00007 * (mp + 2.0 * m).sin()
        + 0.00004 * (2.0 * mp - 2.0 * f).sin()
        + 0.00004 * (3.0 * m).sin()
        + 0.00003 * (mp + m - 2.0 * f).sin()
        + 0.00003 * (2.0 * mp + 2.0 * f).sin()
        - 0.00003 * (mp + m + 2.0 * f).sin()
        + 0.00003 * (mp - m + 2.0 * f).sin()
        - 0.00002 * (mp - m - 2.0 * f).sin()
        - 0.00002 * (3.0 * mp + m).sin()
        + 0.00002 * (4.0 * mp).sin();

    // Perturbations by the planets.
    const PLANETARY: [(f64, f64, f64); 14] = [
        (0.000_325, 299.77, 0.107_408),
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    let planetary: f64 = PLANETARY
        .iter()
        .enumerate()
        .map(|(i, &(amplitude, base, rate))| {
            // Only the first argument has a quadratic term.
            let quadratic = if i == 0 { -0.009_173 * t2 } else { 0.0 };
            amplitude * deg(base + rate * k + quadratic).sin()
        })
        .sum();

    mean + periodic + planetary
}

/// The sun's apparent geocentric longitude in degrees, in `[0, 360)`, at a
/// Julian Ephemeris Day (Meeus, ch. 25, accurate to about 0.01°).
fn sun_apparent_longitude(jde: f64) -> f64 {
    let t = (jde - 2_451_545.0) / 36_525.0;
    // The motion is linear in `t`; the slowly varying terms are held within
    // ±3000 years, as in `new_moon_jde`.
    let slow = t.clamp(-MAX_CENTURIES, MAX_CENTURIES);
    let slow2 = slow * slow;
    let mean_longitude = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * slow2;
    let m = deg(357.529_11 + 35_999.050_29 * t - 0.000_153_7 * slow2);
    let centre = (1.914_602 - 0.004_817 * slow - 0.000_014 * slow2) * m.sin()
        + (0.019_993 - 0.000_101 * slow) * (2.0 * m).sin()
        + 0.000_289 * (3.0 * m).sin();
    let node = deg(125.04 - 1_934.136 * t);
    // Nutation and aberration.
    let apparent = mean_longitude + centre - 0.005_69 - 0.004_78 * node.sin();
    apparent.rem_euclid(360.0)
}

/// ΔT = TT − UT in days at a Julian Day, from the Espenak–Meeus
/// polynomials. Outside 1800–2150 it is held at the nearest end: there the
/// calendar only needs to be consistent, not exact.
fn delta_t_days(jd: f64) -> f64 {
    let year = (2000.0 + (jd - 2_451_545.0) / 365.25).clamp(1800.0, 2150.0);
    let seconds = if year < 1860.0 {
        let t = year - 1800.0;
        13.72 - 0.332_447 * t + 0.006_861_2 * t.powi(2) + 0.004_111_6 * t.powi(3)
            - 0.000_374_36 * t.powi(4)
            + 0.000_012_127_2 * t.powi(5)
            - 0.000_000_169_9 * t.powi(6)
            + 0.000_000_000_875 * t.powi(7)
    } else if year < 1900.0 {
        let t = year - 1860.0;
        7.62 + 0.5737 * t - 0.251_754 * t.powi(2) + 0.016_806_68 * t.powi(3)
            - 0.000_447_362_4 * t.powi(4)
            + t.powi(5) / 233_174.0
    } else if year < 1920.0 {
        let t = year - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3)
            - 0.000_197 * t.powi(4)
    } else if year < 1941.0 {
        let t = year - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if year < 1961.0 {
        let t = year - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if year < 1986.0 {
        let t = year - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if year < 2005.0 {
        let t = year - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if year < 2050.0 {
        let t = year - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else {
        let u = (year - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u - 0.5628 * (2150.0 - year)
    };
    seconds / 86_400.0
}

/// Degrees to radians, reduced to one turn to keep `sin` accurate.
fn deg(degrees: f64) -> f64 {
    degrees.rem_euclid(360.0).to_radians()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn tet_at(year: i32, hours: f64) -> NaiveDate {
        lunar_to_solar_at(LunarDate::new(year, 1, 1), hours).unwrap()
    }

    #[test]
    fn new_moon_matches_meeus_worked_example() {
        // Meeus, example 49.a: the new moon of February 1977 (k = −283) is at
        // JDE 2443192.65118.
        assert!((new_moon_jde(-283) - 2_443_192.651_18).abs() < 0.000_01);
    }

    #[test]
    fn sun_longitude_matches_meeus_worked_example() {
        // Meeus, example 25.a: 1992 October 13.0 TD, apparent longitude
        // 199°.90895 (low-accuracy method).
        let longitude = sun_apparent_longitude(2_448_908.5);
        assert!((longitude - 199.908_95).abs() < 0.001, "{longitude}");
    }

    #[test]
    fn tet_falls_on_the_dates_vietnam_celebrated() {
        let known = [
            (1985, ymd(1985, 1, 21)),
            (2019, ymd(2019, 2, 5)),
            (2020, ymd(2020, 1, 25)),
            (2021, ymd(2021, 2, 12)),
            (2022, ymd(2022, 2, 1)),
            (2023, ymd(2023, 1, 22)),
            (2024, ymd(2024, 2, 10)),
            (2025, ymd(2025, 1, 29)),
            (2026, ymd(2026, 2, 17)),
        ];
        for (year, tet) in known {
            assert_eq!(lunar_new_year(year), Some(tet), "Tết {year}");
        }
    }

    #[test]
    fn hung_kings_day_is_the_tenth_of_the_third_month() {
        let known = [
            (2023, ymd(2023, 4, 29)),
            (2024, ymd(2024, 4, 18)),
            (2025, ymd(2025, 4, 7)),
            (2026, ymd(2026, 4, 26)),
        ];
        for (year, date) in known {
            assert_eq!(
                lunar_to_solar(LunarDate::new(year, 3, 10)),
                Some(date),
                "{year}"
            );
            assert_eq!(solar_to_lunar(date), LunarDate::new(year, 3, 10));
        }
    }

    #[test]
    fn reckoning_at_utc_plus_8_gives_china_s_new_year_instead() {
        // 1985: the winter solstice of 1984 came at 23:22 on 21 December in
        // Hanoi but 00:22 on 22 December in Beijing, the day a new moon began
        // a month. So Vietnam's month 11 began on 23 November and China's on
        // 22 December, and Tết came a whole month apart.
        assert_eq!(tet_at(1985, 7.0), ymd(1985, 1, 21));
        assert_eq!(tet_at(1985, 8.0), ymd(1985, 2, 20));
        // 2030: the new moon is at 23:07 on 2 February in Hanoi, already
        // 3 February in Beijing.
        assert_eq!(tet_at(2030, 7.0), ymd(2030, 2, 2));
        assert_eq!(tet_at(2030, 8.0), ymd(2030, 2, 3));
        assert_eq!(tet_at(2007, 7.0), ymd(2007, 2, 17));
        assert_eq!(tet_at(2007, 8.0), ymd(2007, 2, 18));
        assert_eq!(tet_at(2053, 7.0), ymd(2053, 2, 18));
        assert_eq!(tet_at(2053, 8.0), ymd(2053, 2, 19));
    }

    #[test]
    fn in_2038_tet_agrees_with_china_but_the_third_month_does_not() {
        // The new moon of 4 February 2038 is in the daytime at both offsets,
        // so Tết is the same day. The one of April comes at 23:42 on the 4th
        // in Hanoi, 00:42 on the 5th in Beijing: month 3, and so Giỗ Tổ,
        // starts a day earlier in Vietnam.
        assert_eq!(tet_at(2038, 7.0), ymd(2038, 2, 4));
        assert_eq!(tet_at(2038, 8.0), ymd(2038, 2, 4));
        let hung_kings = LunarDate::new(2038, 3, 10);
        assert_eq!(lunar_to_solar_at(hung_kings, 7.0), Some(ymd(2038, 4, 13)));
        assert_eq!(lunar_to_solar_at(hung_kings, 8.0), Some(ymd(2038, 4, 14)));
    }

    #[test]
    fn leap_months_fall_where_the_calendar_has_them() {
        assert_eq!(leap_month(2020), Some(4));
        assert_eq!(leap_month(2023), Some(2));
        assert_eq!(leap_month(2025), Some(6));
        assert_eq!(leap_month(2024), None);
        assert_eq!(leap_month(2026), None);
        // The leap sixth month of 2025 starts on 25 July.
        assert_eq!(
            lunar_to_solar(LunarDate {
                year: 2025,
                month: 6,
                day: 1,
                leap: true
            }),
            Some(ymd(2025, 7, 25))
        );
        assert_eq!(
            lunar_to_solar(LunarDate {
                year: 2024,
                month: 6,
                day: 1,
                leap: true
            }),
            None
        );
    }

    #[test]
    fn months_eleven_and_twelve_belong_to_the_year_before_tet() {
        // 2025-12-20 is in month 11 of the lunar year that began 2025-01-29,
        // and the eve of Tết 2026 is the 29th of month 12 of lunar 2025.
        assert_eq!(
            solar_to_lunar(ymd(2025, 12, 20)),
            LunarDate::new(2025, 11, 1)
        );
        assert_eq!(
            solar_to_lunar(ymd(2026, 2, 16)),
            LunarDate::new(2025, 12, 29)
        );
        assert_eq!(
            lunar_to_solar(LunarDate::new(2025, 12, 29)),
            Some(ymd(2026, 2, 16))
        );
    }

    #[test]
    fn impossible_lunar_dates_have_no_solar_date() {
        // Month 12 of lunar 2025 has 29 days.
        assert_eq!(month_length(2025, 12, false), Some(29));
        assert_eq!(lunar_to_solar(LunarDate::new(2025, 12, 30)), None);
        assert_eq!(lunar_to_solar(LunarDate::new(2025, 13, 1)), None);
        assert_eq!(lunar_to_solar(LunarDate::new(2025, 0, 1)), None);
        assert_eq!(lunar_to_solar(LunarDate::new(2025, 1, 0)), None);
        assert_eq!(lunar_to_solar(LunarDate::new(2025, 1, 31)), None);
    }

    #[test]
    fn tet_is_always_between_21_january_and_20_february() {
        for year in 1900..=2100 {
            let tet = lunar_new_year(year).unwrap();
            assert!(
                tet >= ymd(year, 1, 21) && tet <= ymd(year, 2, 20),
                "{year}: {tet}"
            );
        }
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let lunar = solar_to_lunar(date);
            assert!((1..=12).contains(&lunar.month));
        }
        assert_eq!(lunar_new_year(i32::MAX), None);
        assert_eq!(lunar_to_solar(LunarDate::new(i32::MIN, 11, 1)), None);
    }

    fn date_2000_to_2100() -> impl Strategy<Value = NaiveDate> {
        let first = ymd(2000, 1, 1);
        let days = (ymd(2100, 12, 31) - first).num_days();
        (0..=days).prop_map(move |offset| first + chrono::Duration::days(offset))
    }

    proptest! {
        #[test]
        fn lunar_dates_round_trip(date in date_2000_to_2100()) {
            let lunar = solar_to_lunar(date);
            prop_assert_eq!(lunar_to_solar(lunar), Some(date));
        }

        #[test]
        fn lunar_months_have_29_or_30_days(date in date_2000_to_2100()) {
            let lunar = solar_to_lunar(date);
            let length = month_length(lunar.year, lunar.month, lunar.leap).unwrap();
            prop_assert!(length == 29 || length == 30, "{:?} has {} days", lunar, length);
            prop_assert!(lunar.day <= length);
        }
    }
}
