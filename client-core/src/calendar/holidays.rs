//! Statutory holidays (Bộ luật Lao động 2019, Điều 112), the seed of every
//! year's working calendar.
//!
//! Eleven days a year, two of them lunar:
//!
//! - 1 January, Tết Dương lịch;
//! - Tết Nguyên đán, five days: the last day of the old lunar year and
//!   lunar 1/1 to 1/4;
//! - Giỗ Tổ Hùng Vương, lunar 3/10;
//! - 30 April and 1 May;
//! - Quốc khánh, 2 September and one day next to it (1 or 3 September).
//!
//! A holiday that falls on a weekly rest day (Saturday or Sunday) is made up
//! by a compensatory day off on the next working day (Điều 112, khoản 3).
//! The government also moves days off by decision each year; those edits
//! belong to the admin-edited [`WorkingCalendar`](super::WorkingCalendar),
//! not to these rules.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::lunar::{LunarDate, lunar_new_year, lunar_to_solar, solar_to_lunar};

/// The years for which the statutory rules are seeded. The rules are those of
/// the 2019 Labour Code; the lunar calendar behind them is exact for these
/// years.
pub const SEED_YEARS: RangeInclusive<i32> = 2000..=2100;

/// A day off.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    /// The Vietnamese name shown to clerks and citizens.
    pub name: String,
    pub kind: HolidayKind,
}

/// Why a day is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// A holiday named by Điều 112.
    Statutory,
    /// A day off making up for a statutory holiday that fell on a weekend
    /// (nghỉ bù).
    Compensatory,
    /// A day off declared by the government or the province outside the
    /// statute, such as the working day swapped next to Tết.
    Declared,
}

impl Holiday {
    fn statutory(date: NaiveDate, name: impl Into<String>) -> Self {
        Self {
            date,
            name: name.into(),
            kind: HolidayKind::Statutory,
        }
    }
}

/// Why a year cannot be seeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error(
        "năm {year} nằm ngoài khoảng {from}–{to} có lịch nghỉ lễ theo luật / year {year} is outside {from}–{to}, the years whose statutory holidays are known: choose a year in that range, or list the holidays of other years in a calendar file",
        from = SEED_YEARS.start(),
        to = SEED_YEARS.end()
    )]
    YearOutOfRange { year: i32 },
}

/// The statutory holidays of `year` and their compensatory days, in date
/// order.
pub fn statutory_holidays(year: i32) -> Result<Vec<Holiday>, SeedError> {
    if !SEED_YEARS.contains(&year) {
        return Err(SeedError::YearOutOfRange { year });
    }
    let mut holidays = named_holidays(year);
    // Two named holidays never share a date: Giỗ Tổ falls between 30 March
    // and 29 April in every seed year, and Tết never reaches 1 January.
    holidays.sort_by_key(|holiday| holiday.date);
    let compensatory = compensatory_days(&holidays);
    holidays.extend(compensatory);
    holidays.sort_by_key(|holiday| holiday.date);
    Ok(holidays)
}

/// The eleven days named by Điều 112, in no particular order.
fn named_holidays(year: i32) -> Vec<Holiday> {
    let mut holidays = vec![Holiday::statutory(ymd(year, 1, 1), "Tết Dương lịch")];

    // The seed years are far inside the range of representable dates, so
    // every lunar date below exists.
    if let Some(tet) = lunar_new_year(year) {
        if let Some(eve) = tet.pred_opt() {
            // Month 12 has 29 or 30 days: the eve is "29 Tết" or "30 Tết".
            let month_12_day = solar_to_lunar(eve).day;
            holidays.push(Holiday::statutory(
                eve,
                format!("Tết Nguyên đán ({month_12_day} tháng Chạp)"),
            ));
        }
        for (offset, day) in (0u64..4).zip(1..) {
            if let Some(date) = tet.checked_add_days(Days::new(offset)) {
                holidays.push(Holiday::statutory(
                    date,
                    format!("Tết Nguyên đán (mùng {day} tháng Giêng)"),
                ));
            }
        }
    }
    if let Some(date) = lunar_to_solar(LunarDate::new(year, 3, 10)) {
        holidays.push(Holiday::statutory(date, "Giỗ Tổ Hùng Vương (10/3 âm lịch)"));
    }
    holidays.push(Holiday::statutory(
        ymd(year, 4, 30),
        "Ngày Chiến thắng (30/4)",
    ));
    holidays.push(Holiday::statutory(
        ymd(year, 5, 1),
        "Ngày Quốc tế lao động (1/5)",
    ));
    holidays.push(Holiday::statutory(ymd(year, 9, 2), "Quốc khánh (2/9)"));
    holidays.push(Holiday::statutory(
        national_day_companion(year),
        "Quốc khánh (ngày liền kề 2/9)",
    ));
    holidays
}

/// The day next to 2 September that is also off (1 or 3 September).
///
/// The statute leaves the choice to the Prime Minister; what the decisions
/// have done since 2021 is: take a neighbour that is a working weekday, so
/// the day is really off; if both are, take the one touching the weekend, for
/// a longer break; with 2 September on a Wednesday neither does, and 1
/// September is taken.
fn national_day_companion(year: i32) -> NaiveDate {
    let before = ymd(year, 9, 1);
    let after = ymd(year, 9, 3);
    match ymd(year, 9, 2).weekday() {
        // Neighbours Sun/Tue: only the 3rd is a working day.
        Weekday::Mon => after,
        // Mon/Wed: Monday touches the weekend.
        Weekday::Tue => before,
        // Tue/Thu: neither touches the weekend.
        Weekday::Wed => before,
        // Wed/Fri: Friday touches the weekend.
        Weekday::Thu => after,
        // Thu/Sat and Fri/Sun: only the 1st is a working day.
        Weekday::Fri | Weekday::Sat => before,
        // Sat/Mon: only the 3rd is a working day.
        Weekday::Sun => after,
    }
}

/// A compensatory day for each holiday on a Saturday or Sunday, on the next
/// day that is neither a weekend day, nor a holiday, nor already given as a
/// compensatory day. `holidays` must be in date order, so that earlier
/// holidays get the earlier days.
fn compensatory_days(holidays: &[Holiday]) -> Vec<Holiday> {
    let mut taken: BTreeSet<NaiveDate> = holidays.iter().map(|holiday| holiday.date).collect();
    let mut compensatory = Vec::new();
    for holiday in holidays
        .iter()
        .filter(|holiday| is_weekly_rest_day(holiday.date))
    {
        let mut day = holiday.date;
        while let Some(next) = day.succ_opt() {
            day = next;
            if !is_weekly_rest_day(day) && !taken.contains(&day) {
                taken.insert(day);
                compensatory.push(Holiday {
                    date: day,
                    name: format!("Nghỉ bù {}", holiday.name),
                    kind: HolidayKind::Compensatory,
                });
                break;
            }
        }
    }
    compensatory
}

fn is_weekly_rest_day(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A fixed Gregorian date of a seed year; every such date exists.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a fixed date of a seed year")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dates(year: i32) -> Vec<NaiveDate> {
        statutory_holidays(year)
            .unwrap()
            .iter()
            .map(|h| h.date)
            .collect()
    }

    fn compensatory(year: i32) -> Vec<NaiveDate> {
        statutory_holidays(year)
            .unwrap()
            .iter()
            .filter(|h| h.kind == HolidayKind::Compensatory)
            .map(|h| h.date)
            .collect()
    }

    #[test]
    fn national_day_companion_follows_the_decisions_taken() {
        assert_eq!(national_day_companion(2021), date(2021, 9, 3)); // 2/9 Thu
        assert_eq!(national_day_companion(2022), date(2022, 9, 1)); // Fri
        assert_eq!(national_day_companion(2023), date(2023, 9, 1)); // Sat
        assert_eq!(national_day_companion(2024), date(2024, 9, 3)); // Mon
        assert_eq!(national_day_companion(2025), date(2025, 9, 1)); // Tue
        assert_eq!(national_day_companion(2026), date(2026, 9, 1)); // Wed
        assert_eq!(national_day_companion(2029), date(2029, 9, 3)); // Sun
    }

    #[test]
    fn year_2026_has_eleven_days_off_and_one_make_up_day() {
        // Tết 2026 is Tue 17 Feb: 16 Feb (29 tháng Chạp) to 20 Feb, all
        // weekdays. Giỗ Tổ is Sun 26 Apr, made up on Mon 27 Apr. 30/4 Thu,
        // 1/5 Fri. 2/9 is a Wednesday, so 1/9 goes with it.
        assert_eq!(
            dates(2026),
            vec![
                date(2026, 1, 1),
                date(2026, 2, 16),
                date(2026, 2, 17),
                date(2026, 2, 18),
                date(2026, 2, 19),
                date(2026, 2, 20),
                date(2026, 4, 26),
                date(2026, 4, 27),
                date(2026, 4, 30),
                date(2026, 5, 1),
                date(2026, 9, 1),
                date(2026, 9, 2),
            ]
        );
        assert_eq!(compensatory(2026), vec![date(2026, 4, 27)]);
    }

    #[test]
    fn national_day_on_saturday_is_made_up_on_monday() {
        // 2023: Fri 1/9 and Sat 2/9 off; Sat is made up on Mon 4/9.
        assert!(dates(2023).contains(&date(2023, 9, 1)));
        assert!(compensatory(2023).contains(&date(2023, 9, 4)));
    }

    #[test]
    fn year_2023_makes_up_six_weekend_holidays_in_date_order() {
        // 2023 is a year of weekend holidays, and the government did give
        // these days:
        // - 1/1 is a Sunday → Mon 2/1.
        // - Tết is Sun 22 Jan: Sat 21 (30 tháng Chạp) and Sun 22 are on the
        //   weekend, Mon–Wed 23–25 are the other Tết days → Thu 26, Fri 27.
        // - Giỗ Tổ is Sat 29/4: Sun 30/4 is a weekend day, Mon 1/5 a holiday
        //   → Tue 2/5. Then 30/4 (Sunday) → Wed 3/5.
        // - 2/9 is a Saturday (with Fri 1/9) → Mon 4/9.
        assert_eq!(
            compensatory(2023),
            vec![
                date(2023, 1, 2),
                date(2023, 1, 26),
                date(2023, 1, 27),
                date(2023, 5, 2),
                date(2023, 5, 3),
                date(2023, 9, 4)
            ]
        );
        let holidays = statutory_holidays(2023).unwrap();
        let eve = holidays
            .iter()
            .find(|h| h.date == date(2023, 1, 21))
            .unwrap();
        assert_eq!(eve.name, "Tết Nguyên đán (30 tháng Chạp)");
        let make_up = holidays
            .iter()
            .find(|h| h.date == date(2023, 5, 3))
            .unwrap();
        assert_eq!(make_up.name, "Nghỉ bù Ngày Chiến thắng (30/4)");
    }

    #[test]
    fn april_30_and_may_1_on_a_weekend_are_made_up_in_turn() {
        // 2022: Sat 30/4 → Mon 2/5, Sun 1/5 → Tue 3/5.
        let made_up = compensatory(2022);
        assert!(made_up.contains(&date(2022, 5, 2)));
        assert!(made_up.contains(&date(2022, 5, 3)));
    }

    #[test]
    fn every_seed_year_has_eleven_distinct_statutory_days() {
        for year in SEED_YEARS {
            let holidays = statutory_holidays(year).unwrap();
            let statutory: BTreeSet<NaiveDate> = holidays
                .iter()
                .filter(|h| h.kind == HolidayKind::Statutory)
                .map(|h| h.date)
                .collect();
            assert_eq!(statutory.len(), 11, "{year}");
            let weekend = statutory.iter().filter(|d| is_weekly_rest_day(**d)).count();
            let made_up: Vec<&Holiday> = holidays
                .iter()
                .filter(|h| h.kind == HolidayKind::Compensatory)
                .collect();
            assert_eq!(made_up.len(), weekend, "{year}");
            for day in made_up {
                assert!(!is_weekly_rest_day(day.date), "{year}: {day:?}");
                assert!(!statutory.contains(&day.date), "{year}: {day:?}");
                assert_eq!(day.date.year(), year, "{year}: {day:?}");
            }
        }
    }

    #[test]
    fn years_outside_the_seed_range_are_refused() {
        assert_eq!(
            statutory_holidays(1999),
            Err(SeedError::YearOutOfRange { year: 1999 })
        );
        assert!(statutory_holidays(2101).is_err());
        assert!(statutory_holidays(2100).is_ok());
    }
}
