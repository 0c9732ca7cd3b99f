//! `motcua calendar`: a year's non-working holidays.
//!
//! Prints a JSON array of the year's holiday dates on the statutory calendar,
//! compensatory days included, in order: `["2026-01-01","2026-02-16",…]`.

use client_core::calendar::WorkingCalendar;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The year, 2000–2100.
    #[arg(long, value_name = "YYYY")]
    year: i32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(&holiday_dates(args.year)?)?);
    Ok(())
}

/// The year's holiday dates as `YYYY-MM-DD`, in order.
fn holiday_dates(year: i32) -> anyhow::Result<Vec<String>> {
    let calendar = WorkingCalendar::seeded(year..=year)?;
    Ok(calendar
        .non_working_holidays(year)
        .iter()
        .map(|date| date.format("%Y-%m-%d").to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_year_s_holidays_with_make_up_days_in_order() {
        assert_eq!(
            holiday_dates(2025).unwrap(),
            [
                "2025-01-01", // Wed
                "2025-01-28", // 29 tháng Chạp (Tue); Tết is Wed 29 Jan
                "2025-01-29",
                "2025-01-30",
                "2025-01-31",
                "2025-02-01", // mùng 4, a Saturday
                "2025-02-03", // its make-up day, Monday
                "2025-04-07", // Giỗ Tổ, Monday
                "2025-04-30", // Wed
                "2025-05-01", // Thu
                "2025-09-01", // Mon, with 2/9 on a Tuesday
                "2025-09-02",
            ]
        );
    }

    #[test]
    fn refuses_years_outside_2000_to_2100() {
        for year in [1999, 2101] {
            let error = holiday_dates(year).unwrap_err().to_string();
            assert!(error.contains("outside 2000–2100"), "{error}");
        }
        assert!(holiday_dates(2000).is_ok() && holiday_dates(2100).is_ok());
    }
}
