//! Time in Vietnam: one fixed offset, UTC+7, with no daylight saving.
//!
//! Documents store instants as Automerge timestamps (milliseconds since the
//! Unix epoch); everything that reasons about days — deadlines, calendars,
//! dossier codes, reports — converts to local time with these helpers.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// Seconds east of UTC for Vietnam (Indochina Time).
pub const VN_OFFSET_SECONDS: i32 = 7 * 3600;

/// A date-time in Vietnam's local time.
pub type VnDateTime = DateTime<FixedOffset>;

/// Vietnam's UTC offset.
pub fn vn_offset() -> FixedOffset {
    FixedOffset::east_opt(VN_OFFSET_SECONDS).expect("UTC+7 is a valid offset")
}

/// Converts any instant to Vietnam's local time.
pub fn to_vn<Tz: TimeZone>(t: &DateTime<Tz>) -> VnDateTime {
    t.with_timezone(&vn_offset())
}

/// The local instant of a millisecond timestamp, or `None` when out of range.
pub fn from_millis(ms: i64) -> Option<VnDateTime> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| to_vn(&t))
}

/// Milliseconds since the Unix epoch, as stored in documents.
pub fn to_millis<Tz: TimeZone>(t: &DateTime<Tz>) -> i64 {
    t.timestamp_millis()
}

/// The local calendar date of an instant.
pub fn vn_date<Tz: TimeZone>(t: &DateTime<Tz>) -> NaiveDate {
    to_vn(t).date_naive()
}

/// Parses an RFC 3339 date-time and expresses it in Vietnam's local time.
pub fn parse_rfc3339(s: &str) -> Result<VnDateTime, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| to_vn(&t))
}

/// Formats an instant as RFC 3339 in UTC+7 (`2026-11-28T08:00:00+07:00`).
pub fn format_rfc3339(t: &VnDateTime) -> String {
    to_vn(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_millis_in_local_time() {
        let t = parse_rfc3339("2026-11-28T01:30:00Z").unwrap();
        assert_eq!(format_rfc3339(&t), "2026-11-28T08:30:00+07:00");
        assert_eq!(from_millis(to_millis(&t)).unwrap(), t);
    }

    #[test]
    fn local_date_changes_at_local_midnight_not_utc_midnight() {
        let t = parse_rfc3339("2026-11-27T17:30:00Z").unwrap();
        assert_eq!(vn_date(&t), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
    }
}
