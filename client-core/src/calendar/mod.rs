//! The working calendar: which days count as working days and when the
//! office is open.
//!
//! Deadlines are counted in working days (sometimes working hours), so every
//! appointment date depends on this calendar. It starts from the statutory
//! rules ([`holidays`], computed with the lunar calendar in [`lunar`]) and is
//! then edited by an administrator as data, because each year the government
//! swaps days (a Friday next to Tết off, a Saturday worked instead) and
//! provinces declare their own days off.
//!
//! # The calendar file
//!
//! A calendar is stored and exchanged as JSON, the format of
//! `motcua deadline --calendar <file>`:
//!
//! ```
//! # use client_core::calendar::WorkingCalendar;
//! let json = r#"{
//!   "weekend": ["Sat", "Sun"],
//!   "office_hours": {
//!     "morning": { "start": "07:00", "end": "11:30" },
//!     "afternoon": { "start": "13:30", "end": "17:00" },
//!     "same_day_cutoff": "15:00"
//!   },
//!   "holidays": [
//!     { "date": "2026-01-01", "name": "Tết Dương lịch", "kind": "statutory" },
//!     { "date": "2026-01-02", "name": "Nghỉ hoán đổi, làm bù thứ Bảy 10/1", "kind": "declared" },
//!     { "date": "2026-04-26", "name": "Giỗ Tổ Hùng Vương (10/3 âm lịch)", "kind": "statutory" },
//!     { "date": "2026-04-27", "name": "Nghỉ bù Giỗ Tổ Hùng Vương (10/3 âm lịch)", "kind": "compensatory" }
//!   ],
//!   "swapped_working_days": ["2026-01-10"]
//! }"#;
//! let calendar: WorkingCalendar = serde_json::from_str(json)?;
//! let date = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
//! assert!(!calendar.is_working_day(date("2026-01-02"))); // a Friday given off
//! assert!(calendar.is_working_day(date("2026-01-10"))); // the Saturday worked for it
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! - `weekend`: the weekly rest days, as English day names (`"Mon"` …
//!   `"Sun"`). Default Saturday and Sunday.
//! - `office_hours`: the two sessions of the day and the same-day cut-off
//!   (`"HH:MM"`, local time UTC+7). Default 07:00–11:30, 13:30–17:00, 15:00.
//! - `holidays`: days off, each with its date, Vietnamese name and kind
//!   (`statutory`, `compensatory` or `declared`); at most one per date,
//!   written in date order.
//! - `swapped_working_days`: weekend dates that are working days.
//!
//! Every field may be left out to take its default. Unknown fields are
//! refused, so a misspelt field is an error rather than silently ignored, and
//! a file that breaks a rule (office hours out of order, a swapped working
//! day that is not on a weekend, a date both a holiday and a working day) is
//! refused with the reason.
//!
//! Dates with no entry are ordinary: working days unless on the weekend. A
//! calendar that should know a year's holidays must list them, which is what
//! [`WorkingCalendar::seeded`] does for the statutory ones.

pub mod holidays;
pub mod lunar;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

pub use holidays::{Holiday, HolidayKind, SeedError};

/// The working calendar of a unit: weekend days, holidays, swapped working
/// days and office hours.
///
/// Always valid: it can only be built or edited through checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarFile", into = "CalendarFile")]
pub struct WorkingCalendar {
    /// Weekly rest days, Monday first, without repeats.
    weekend: Vec<Weekday>,
    holidays: BTreeMap<NaiveDate, Holiday>,
    swapped_working_days: BTreeSet<NaiveDate>,
    office_hours: OfficeHours,
    /// The three fields above as one bit a day.
    days: DayBitsOnce,
}

/// Which days of 2000–2099 are working days, one bit a day, each year
/// worked out when first asked about, so that counting working days — which
/// every deadline of every report does — costs a bit test a day. Derived
/// from the calendar's own rules and forgotten by every edit; days outside
/// the range are worked out from the rules directly.
#[derive(Clone)]
struct DayBitsOnce(Box<[std::sync::OnceLock<[u64; 6]>; DayBitsOnce::YEARS]>);

impl Default for DayBitsOnce {
    fn default() -> Self {
        DayBitsOnce(Box::new(std::array::from_fn(|_| {
            std::sync::OnceLock::new()
        })))
    }
}

impl DayBitsOnce {
    const FIRST_YEAR: i32 = 2000;
    const YEARS: usize = 100;

    /// Whether `date` is a working day, if its year is in range.
    fn get(&self, calendar: &WorkingCalendar, date: NaiveDate) -> Option<bool> {
        let year = usize::try_from(date.year() - Self::FIRST_YEAR).ok()?;
        let bits = self.0.get(year)?.get_or_init(|| {
            let mut bits = [0u64; 6];
            let first = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date);
            for (i, day) in first
                .iter_days()
                .take_while(|d| d.year() == date.year())
                .enumerate()
            {
                if calendar.is_working_day_by_rules(day) {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
            bits
        });
        let i = date.ordinal0() as usize;
        Some(bits[i / 64] & (1 << (i % 64)) != 0)
    }
}

impl PartialEq for DayBitsOnce {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DayBitsOnce {}

impl std::fmt::Debug for DayBitsOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DayBits")
    }
}

/// When the counter is open: a morning and an afternoon session, and the
/// latest time at which a same-day procedure is still done the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    pub morning: Session,
    pub afternoon: Session,
    #[serde(with = "clock_time")]
    pub same_day_cutoff: NaiveTime,
}

/// One session of the working day, from `start` (inclusive) to `end`
/// (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    #[serde(with = "clock_time")]
    pub start: NaiveTime,
    #[serde(with = "clock_time")]
    pub end: NaiveTime,
}

impl Session {
    /// Whether `time` is inside the session.
    pub fn contains(&self, time: NaiveTime) -> bool {
        self.start <= time && time < self.end
    }
}

impl Default for OfficeHours {
    /// The usual hours of a commune's one-stop counter.
    fn default() -> Self {
        Self {
            morning: Session {
                start: hm(7, 0),
                end: hm(11, 30),
            },
            afternoon: Session {
                start: hm(13, 30),
                end: hm(17, 0),
            },
            same_day_cutoff: hm(15, 0),
        }
    }
}

impl OfficeHours {
    /// Checks that the sessions are in order and the cut-off inside them.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let Self {
            morning,
            afternoon,
            same_day_cutoff,
        } = *self;
        if !(morning.start < morning.end
            && morning.end <= afternoon.start
            && afternoon.start < afternoon.end)
        {
            return Err(CalendarError::OfficeHoursOutOfOrder {
                morning: format_session(morning),
                afternoon: format_session(afternoon),
            });
        }
        if !(morning.start < same_day_cutoff && same_day_cutoff <= afternoon.end) {
            return Err(CalendarError::CutoffOutsideOfficeHours {
                cutoff: same_day_cutoff.format("%H:%M").to_string(),
                opens: morning.start.format("%H:%M").to_string(),
                closes: afternoon.end.format("%H:%M").to_string(),
            });
        }
        Ok(())
    }

    /// The sessions in the order of the day.
    pub fn sessions(&self) -> [Session; 2] {
        [self.morning, self.afternoon]
    }
}

/// What is wrong with a calendar or an edit to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "giờ làm việc không theo thứ tự (sáng {morning}, chiều {afternoon}) / office hours are out of order (morning {morning}, afternoon {afternoon}): each session must end after it starts, and the afternoon must start no earlier than the morning ends"
    )]
    OfficeHoursOutOfOrder { morning: String, afternoon: String },
    #[error(
        "giờ chốt trong ngày {cutoff} nằm ngoài giờ làm việc {opens}–{closes} / the same-day cut-off {cutoff} is outside office hours {opens}–{closes}: set it after the office opens and no later than it closes"
    )]
    CutoffOutsideOfficeHours {
        cutoff: String,
        opens: String,
        closes: String,
    },
    #[error(
        "mọi ngày trong tuần đều là ngày nghỉ / every day of the week is a weekend day: leave at least one working weekday"
    )]
    NoWorkingWeekday,
    #[error(
        "ngày {date} đã là ngày nghỉ \"{name}\" / {date} is already a holiday (\"{name}\"): remove it first to replace it"
    )]
    HolidayExists { date: NaiveDate, name: String },
    #[error(
        "ngày {date} ({weekday}) không phải ngày nghỉ cuối tuần nên không thể là ngày làm bù / {date} is a {weekday}, not a weekend day, so it cannot be a swapped working day"
    )]
    SwappedDayNotOnWeekend { date: NaiveDate, weekday: Weekday },
    #[error(
        "ngày {date} vừa là ngày nghỉ \"{name}\" vừa là ngày làm bù / {date} is both a holiday (\"{name}\") and a swapped working day: keep only one"
    )]
    HolidayOnSwappedDay { date: NaiveDate, name: String },
    #[error(transparent)]
    Seed(#[from] SeedError),
}

impl Default for WorkingCalendar {
    /// Saturday and Sunday off, the usual office hours, no holidays.
    fn default() -> Self {
        Self {
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: BTreeMap::new(),
            swapped_working_days: BTreeSet::new(),
            office_hours: OfficeHours::default(),
            days: DayBitsOnce::default(),
        }
    }
}

impl WorkingCalendar {
    /// The default calendar with the statutory holidays of `years` (each
    /// within [`holidays::SEED_YEARS`]).
    pub fn seeded(years: RangeInclusive<i32>) -> Result<Self, CalendarError> {
        let mut calendar = Self::default();
        for year in years {
            for holiday in holidays::statutory_holidays(year)? {
                calendar.holidays.insert(holiday.date, holiday);
            }
        }
        calendar.edited();
        Ok(calendar)
    }

    /// Whether `date` is a working day: a swapped working day, or neither a
    /// weekend day nor a holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days
            .get(self, date)
            .unwrap_or_else(|| self.is_working_day_by_rules(date))
    }

    fn is_working_day_by_rules(&self, date: NaiveDate) -> bool {
        self.swapped_working_days.contains(&date)
            || !(self.holidays.contains_key(&date) || self.weekend.contains(&date.weekday()))
    }

    /// Forgets the day bits after an edit.
    fn edited(&mut self) {
        self.days = DayBitsOnce::default();
    }

    /// The dates of all holidays in `year`, compensatory and declared ones
    /// included, in order. A holiday on a weekend is listed too.
    pub fn non_working_holidays(&self, year: i32) -> Vec<NaiveDate> {
        self.holidays
            .keys()
            .copied()
            .filter(|date| date.year() == year)
            .collect()
    }

    /// The holiday on `date`, if there is one.
    pub fn holiday(&self, date: NaiveDate) -> Option<&Holiday> {
        self.holidays.get(&date)
    }

    /// All holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = &Holiday> {
        self.holidays.values()
    }

    /// Makes a day off. Refused when the date already is a holiday or is a
    /// swapped working day.
    pub fn add_holiday(&mut self, holiday: Holiday) -> Result<(), CalendarError> {
        if let Some(existing) = self.holidays.get(&holiday.date) {
            return Err(CalendarError::HolidayExists {
                date: holiday.date,
                name: existing.name.clone(),
            });
        }
        if self.swapped_working_days.contains(&holiday.date) {
            return Err(CalendarError::HolidayOnSwappedDay {
                date: holiday.date,
                name: holiday.name,
            });
        }
        self.holidays.insert(holiday.date, holiday);
        self.edited();
        Ok(())
    }

    /// Removes the holiday on `date` and returns it.
    pub fn remove_holiday(&mut self, date: NaiveDate) -> Option<Holiday> {
        self.edited();
        self.holidays.remove(&date)
    }

    /// The weekend dates that are working days, in order.
    pub fn swapped_working_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.swapped_working_days.iter().copied()
    }

    /// Makes a weekend date a working day. Refused when the date is not on
    /// the weekend or is a holiday.
    pub fn add_swapped_working_day(&mut self, date: NaiveDate) -> Result<(), CalendarError> {
        if !self.weekend.contains(&date.weekday()) {
            return Err(CalendarError::SwappedDayNotOnWeekend {
                date,
                weekday: date.weekday(),
            });
        }
        if let Some(holiday) = self.holidays.get(&date) {
            return Err(CalendarError::HolidayOnSwappedDay {
                date,
                name: holiday.name.clone(),
            });
        }
        self.swapped_working_days.insert(date);
        self.edited();
        Ok(())
    }

    /// Makes a swapped working day a weekend day again; whether it was one.
    pub fn remove_swapped_working_day(&mut self, date: NaiveDate) -> bool {
        self.edited();
        self.swapped_working_days.remove(&date)
    }

    /// The weekly rest days, Monday first.
    pub fn weekend(&self) -> &[Weekday] {
        &self.weekend
    }

    /// Changes the weekly rest days. Refused when no weekday would be left
    /// to work, or a swapped working day would no longer be on the weekend.
    pub fn set_weekend(
        &mut self,
        days: impl IntoIterator<Item = Weekday>,
    ) -> Result<(), CalendarError> {
        let weekend = normalise_weekend(days)?;
        if let Some(&date) = self
            .swapped_working_days
            .iter()
            .find(|date| !weekend.contains(&date.weekday()))
        {
            return Err(CalendarError::SwappedDayNotOnWeekend {
                date,
                weekday: date.weekday(),
            });
        }
        self.weekend = weekend;
        self.edited();
        Ok(())
    }

    pub fn office_hours(&self) -> &OfficeHours {
        &self.office_hours
    }

    /// Changes the office hours, if they are valid.
    pub fn set_office_hours(&mut self, office_hours: OfficeHours) -> Result<(), CalendarError> {
        office_hours.validate()?;
        self.office_hours = office_hours;
        Ok(())
    }

    /// The first working day after `date`. `None` only past the last
    /// representable date.
    pub fn next_working_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        // Terminates: at least one weekday is a working day and holidays are
        // finitely many.
        let mut day = date.succ_opt()?;
        while !self.is_working_day(day) {
            day = day.succ_opt()?;
        }
        Some(day)
    }

    /// `date` itself if it is a working day, otherwise the next one.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        if self.is_working_day(date) {
            Some(date)
        } else {
            self.next_working_day(date)
        }
    }

    /// The `n`-th working day after `date` (`date` itself for `n = 0`).
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        (0..n).try_fold(date, |day, _| self.next_working_day(day))
    }

    /// The number of working days `d` with `from <= d < to` (zero when `to`
    /// is not after `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .take_while(|day| *day < to)
            .filter(|day| self.is_working_day(*day))
            .count()
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

/// The calendar as written in a file: every field optional, checked on the
/// way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default = "default_weekend")]
    weekend: Vec<Weekday>,
    #[serde(default)]
    office_hours: OfficeHours,
    #[serde(default)]
    holidays: Vec<Holiday>,
    #[serde(default)]
    swapped_working_days: Vec<NaiveDate>,
}

fn default_weekend() -> Vec<Weekday> {
    WorkingCalendar::default().weekend
}

impl TryFrom<CalendarFile> for WorkingCalendar {
    type Error = CalendarError;

    fn try_from(file: CalendarFile) -> Result<Self, Self::Error> {
        let mut calendar = Self {
            weekend: normalise_weekend(file.weekend)?,
            ..Self::default()
        };
        calendar.set_office_hours(file.office_hours)?;
        for holiday in file.holidays {
            calendar.add_holiday(holiday)?;
        }
        for date in file.swapped_working_days {
            calendar.add_swapped_working_day(date)?;
        }
        Ok(calendar)
    }
}

impl From<WorkingCalendar> for CalendarFile {
    fn from(calendar: WorkingCalendar) -> Self {
        Self {
            weekend: calendar.weekend,
            office_hours: calendar.office_hours,
            holidays: calendar.holidays.into_values().collect(),
            swapped_working_days: calendar.swapped_working_days.into_iter().collect(),
        }
    }
}

/// Weekend days Monday first without repeats, with at least one working
/// weekday left.
fn normalise_weekend(
    days: impl IntoIterator<Item = Weekday>,
) -> Result<Vec<Weekday>, CalendarError> {
    let mut weekend: Vec<Weekday> = days.into_iter().collect();
    weekend.sort_by_key(|day| day.num_days_from_monday());
    weekend.dedup();
    if weekend.len() >= 7 {
        return Err(CalendarError::NoWorkingWeekday);
    }
    Ok(weekend)
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid clock time")
}

fn format_session(session: Session) -> String {
    format!(
        "{}–{}",
        session.start.format("%H:%M"),
        session.end.format("%H:%M")
    )
}

/// Clock times in files as `"HH:MM"`.
mod clock_time {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&time.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
            D::Error::custom(format!(
                "giờ \"{text}\" không hợp lệ / \"{text}\" is not a clock time: write it as HH:MM, e.g. \"07:30\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn seeded_2025_to_2027() -> WorkingCalendar {
        WorkingCalendar::seeded(2025..=2027).unwrap()
    }

    #[test]
    fn weekends_and_holidays_are_not_working_days() {
        let calendar = seeded_2025_to_2027();
        assert!(calendar.is_working_day(date(2026, 4, 24))); // Friday
        assert!(!calendar.is_working_day(date(2026, 4, 25))); // Saturday
        assert!(!calendar.is_working_day(date(2026, 4, 26))); // Sunday, Giỗ Tổ
        assert!(!calendar.is_working_day(date(2026, 4, 27))); // Monday, make-up day
        assert!(calendar.is_working_day(date(2026, 4, 28))); // Tuesday
    }

    #[test]
    fn non_working_holidays_lists_every_holiday_of_the_year_in_order() {
        let calendar = seeded_2025_to_2027();
        let dates = calendar.non_working_holidays(2026);
        assert_eq!(dates.len(), 12);
        assert_eq!(dates.first(), Some(&date(2026, 1, 1)));
        assert_eq!(dates.last(), Some(&date(2026, 9, 2)));
        assert!(dates.windows(2).all(|pair| pair[0] < pair[1]));
        // A statutory day on a weekend is listed too.
        assert!(dates.contains(&date(2026, 4, 26)));
        assert!(calendar.non_working_holidays(2030).is_empty());
    }

    #[test]
    fn working_day_arithmetic_skips_weekends_and_holidays() {
        let calendar = seeded_2025_to_2027();
        // Thu 23 Apr 2026 → Fri 24 → (Sat, Sun Giỗ Tổ, Mon make-up) → Tue 28.
        assert_eq!(
            calendar.next_working_day(date(2026, 4, 23)),
            Some(date(2026, 4, 24))
        );
        assert_eq!(
            calendar.next_working_day(date(2026, 4, 24)),
            Some(date(2026, 4, 28))
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 4, 23), 2),
            Some(date(2026, 4, 28))
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 4, 23), 0),
            Some(date(2026, 4, 23))
        );
        // 28, 29 Apr work; 30 Apr, 1 May off; 2, 3 May weekend; 4 May works.
        assert_eq!(
            calendar.add_working_days(date(2026, 4, 27), 3),
            Some(date(2026, 5, 4))
        );
        assert_eq!(
            calendar.working_days_between(date(2026, 4, 20), date(2026, 5, 4)),
            7
        );
        assert_eq!(
            calendar.working_days_between(date(2026, 5, 4), date(2026, 4, 20)),
            0
        );
        assert_eq!(
            calendar.working_day_on_or_after(date(2026, 4, 25)),
            Some(date(2026, 4, 28))
        );
    }

    #[test]
    fn the_day_bits_follow_the_rules_and_every_edit() {
        let mut calendar = seeded_2025_to_2027();
        let agree = |c: &WorkingCalendar| {
            date(2025, 1, 1)
                .iter_days()
                .take_while(|d| *d <= date(2027, 12, 31))
                .all(|d| c.is_working_day(d) == c.is_working_day_by_rules(d))
        };
        assert!(agree(&calendar));
        // Asked about once (so the year's bits exist), then edited.
        let friday = date(2026, 3, 6);
        assert!(calendar.is_working_day(friday));
        calendar
            .add_holiday(Holiday {
                date: friday,
                name: "Nghỉ".into(),
                kind: HolidayKind::Declared,
            })
            .unwrap();
        assert!(!calendar.is_working_day(friday));
        calendar.add_swapped_working_day(date(2026, 3, 7)).unwrap();
        assert!(calendar.is_working_day(date(2026, 3, 7)));
        assert!(agree(&calendar));
        calendar.remove_holiday(friday);
        calendar.remove_swapped_working_day(date(2026, 3, 7));
        assert!(calendar.is_working_day(friday));
        assert!(!calendar.is_working_day(date(2026, 3, 7)));
        calendar.set_weekend([Weekday::Sun]).unwrap();
        assert!(calendar.is_working_day(date(2026, 3, 7)));
        assert!(agree(&calendar));
        // Outside the years kept as bits, the rules answer directly.
        assert!(!calendar.is_working_day(date(2150, 1, 4))); // a Sunday
        assert!(calendar.is_working_day(date(2150, 1, 3))); // a Saturday, worked now
    }

    #[test]
    fn admin_edits_swap_a_friday_off_for_a_saturday_at_work() {
        let mut calendar = seeded_2025_to_2027();
        calendar
            .add_holiday(Holiday {
                date: date(2026, 1, 2),
                name: "Nghỉ hoán đổi, làm bù thứ Bảy 10/1".into(),
                kind: HolidayKind::Declared,
            })
            .unwrap();
        calendar.add_swapped_working_day(date(2026, 1, 10)).unwrap();
        assert!(!calendar.is_working_day(date(2026, 1, 2)));
        assert!(calendar.is_working_day(date(2026, 1, 10)));
        // Wed 31 Dec 2025 + 1 working day: Thu 1/1 and Fri 2/1 off, then the
        // weekend → Mon 5 Jan.
        assert_eq!(
            calendar.add_working_days(date(2025, 12, 31), 1),
            Some(date(2026, 1, 5))
        );

        assert!(calendar.remove_swapped_working_day(date(2026, 1, 10)));
        assert!(!calendar.is_working_day(date(2026, 1, 10)));
        assert_eq!(
            calendar.remove_holiday(date(2026, 1, 2)).map(|h| h.kind),
            Some(HolidayKind::Declared)
        );
        assert!(calendar.is_working_day(date(2026, 1, 2)));
    }

    #[test]
    fn conflicting_edits_are_refused_with_the_reason() {
        let mut calendar = seeded_2025_to_2027();
        let error = calendar
            .add_holiday(Holiday {
                date: date(2026, 9, 2),
                name: "Trùng".into(),
                kind: HolidayKind::Declared,
            })
            .unwrap_err();
        assert_eq!(
            error,
            CalendarError::HolidayExists {
                date: date(2026, 9, 2),
                name: "Quốc khánh (2/9)".into()
            }
        );
        let error = calendar
            .add_swapped_working_day(date(2026, 1, 7))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("2026-01-07 is a Wed, not a weekend day"),
            "{error}"
        );
        let error = calendar
            .add_swapped_working_day(date(2026, 4, 26))
            .unwrap_err();
        assert!(matches!(error, CalendarError::HolidayOnSwappedDay { .. }));
    }

    #[test]
    fn the_weekend_must_leave_a_working_day_and_keep_swapped_days_on_it() {
        use Weekday::*;
        let mut calendar = WorkingCalendar::default();
        let all = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
        assert_eq!(
            calendar.set_weekend(all),
            Err(CalendarError::NoWorkingWeekday)
        );
        calendar.add_swapped_working_day(date(2026, 1, 10)).unwrap(); // a Saturday
        assert!(matches!(
            calendar.set_weekend([Sun]),
            Err(CalendarError::SwappedDayNotOnWeekend { .. })
        ));
        calendar.set_weekend([Sun, Sat, Sun, Fri]).unwrap();
        assert_eq!(calendar.weekend(), &[Fri, Sat, Sun]);
        assert!(!calendar.is_working_day(date(2026, 1, 9)));
    }

    #[test]
    fn office_hours_out_of_order_are_refused() {
        let mut calendar = WorkingCalendar::default();
        let mut hours = OfficeHours::default();
        hours.afternoon.start = hm(11, 0); // before the morning ends
        let error = calendar.set_office_hours(hours).unwrap_err();
        assert_eq!(
            error,
            CalendarError::OfficeHoursOutOfOrder {
                morning: "07:00–11:30".into(),
                afternoon: "11:00–17:00".into()
            }
        );
        let hours = OfficeHours {
            same_day_cutoff: hm(17, 30),
            ..OfficeHours::default()
        };
        let error = calendar.set_office_hours(hours).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cut-off 17:30 is outside office hours 07:00–17:00")
        );
        assert_eq!(calendar.office_hours(), &OfficeHours::default());
    }

    #[test]
    fn a_seeded_and_edited_calendar_round_trips_through_json() {
        let mut calendar = seeded_2025_to_2027();
        calendar
            .add_holiday(Holiday {
                date: date(2026, 1, 2),
                name: "Nghỉ hoán đổi".into(),
                kind: HolidayKind::Declared,
            })
            .unwrap();
        calendar.add_swapped_working_day(date(2026, 1, 10)).unwrap();
        calendar.remove_holiday(date(2027, 1, 1));
        let mut hours = OfficeHours::default();
        hours.morning.start = hm(7, 30);
        calendar.set_office_hours(hours).unwrap();

        let json = serde_json::to_string_pretty(&calendar).unwrap();
        let back: WorkingCalendar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, calendar);
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        assert!(json.contains(r#""start": "07:30""#), "{json}");
        assert!(
            json.contains(
                r#""weekend": [
    "Sat",
    "Sun"
  ]"#
            ),
            "{json}"
        );
    }

    #[test]
    fn a_file_may_leave_out_fields_to_take_the_defaults() {
        let calendar: WorkingCalendar = serde_json::from_str("{}").unwrap();
        assert_eq!(calendar, WorkingCalendar::default());
    }

    #[test]
    fn a_bad_file_is_refused_with_the_reason() {
        let reason = |json: &str| {
            serde_json::from_str::<WorkingCalendar>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(reason(r#"{"holiday": []}"#).contains("unknown field `holiday`"));
        assert!(
            reason(
                r#"{"office_hours": {"morning": {"start": "7h", "end": "11:30"},
            "afternoon": {"start": "13:30", "end": "17:00"}, "same_day_cutoff": "15:00"}}"#
            )
            .contains("\"7h\" is not a clock time")
        );
        assert!(
            reason(r#"{"swapped_working_days": ["2026-01-07"]}"#).contains("not a weekend day")
        );
        let twice = r#"{"holidays": [
            {"date": "2026-01-01", "name": "A", "kind": "statutory"},
            {"date": "2026-01-01", "name": "B", "kind": "declared"}]}"#;
        assert!(reason(twice).contains("2026-01-01 is already a holiday (\"A\")"));
        assert!(
            reason(r#"{"holidays": [{"date": "2026-01-01", "name": "A", "kind": "festival"}]}"#)
                .contains("unknown variant `festival`")
        );
    }

    #[test]
    fn seeding_outside_the_supported_years_is_refused() {
        assert_eq!(
            WorkingCalendar::seeded(2099..=2101),
            Err(CalendarError::Seed(SeedError::YearOutOfRange {
                year: 2101
            }))
        );
    }
}
