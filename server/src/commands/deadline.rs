//! `motcua deadline`: the appointment date for a receipt time and a processing time.
//!
//! Prints one JSON object, for instance
//! `{"received":"2026-11-27T09:30:00+07:00","effective_start":"2026-11-27T09:30:00+07:00","processing":{"amount":3,"unit":"working_days"},"due":"2026-12-02T11:30:00+07:00","calendar":"statutory holidays 2025–2027"}`.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Datelike;
use client_core::calendar::WorkingCalendar;
use client_core::calendar::holidays::SEED_YEARS;
use client_core::deadline::{ProcessingTime, due_at, effective_start};
use client_core::time::{VnDateTime, format_rfc3339, parse_rfc3339};
use serde::Serialize;

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("processing_time").required(true).args(["days", "hours"])
))]
pub struct Args {
    /// When the dossier was received, as RFC 3339 (e.g. 2026-11-27T09:30:00+07:00).
    #[arg(long, value_name = "RFC3339", value_parser = parse_received)]
    received: VnDateTime,
    /// Processing time in working days (0 = same-day procedure).
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Processing time in working hours.
    #[arg(long, value_name = "N")]
    hours: Option<u32>,
    /// A working-calendar JSON file; without it, the statutory holidays of
    /// the years around the receipt.
    #[arg(long, value_name = "FILE")]
    calendar: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Appointment {
    received: String,
    effective_start: String,
    processing: ProcessingTime,
    due: String,
    calendar: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(&appointment(&args)?)?);
    Ok(())
}

fn appointment(args: &Args) -> anyhow::Result<Appointment> {
    let processing = match (args.days, args.hours) {
        (Some(days), _) => ProcessingTime::working_days(days),
        (None, Some(hours)) => ProcessingTime::working_hours(hours),
        // clap requires exactly one of them.
        (None, None) => anyhow::bail!("give --days <N> or --hours <N>"),
    };
    let (calendar, source, due) = match &args.calendar {
        Some(path) => {
            let calendar = read_calendar(path)?;
            let due = due_at(&calendar, args.received, processing)?;
            (calendar, path.display().to_string(), due)
        }
        None => statutory_due(args.received, processing)?,
    };
    Ok(Appointment {
        received: format_rfc3339(&args.received),
        effective_start: format_rfc3339(&effective_start(&calendar, args.received)?),
        processing,
        due: format_rfc3339(&due),
        calendar: source,
    })
}

fn parse_received(text: &str) -> Result<VnDateTime, String> {
    parse_rfc3339(text).map_err(|error| {
        format!(
            "\"{text}\" is not an RFC 3339 date-time ({error}): write it with a date, a time and an offset, e.g. 2026-11-27T09:30:00+07:00"
        )
    })
}

fn read_calendar(path: &std::path::Path) -> anyhow::Result<WorkingCalendar> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "không đọc được tệp lịch / cannot read the calendar file {}",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "tệp lịch {} không hợp lệ / the calendar file {} is not a valid working calendar",
            path.display(),
            path.display()
        )
    })
}

/// The due instant on the statutory calendar, seeded from the year before
/// the receipt (a receipt on a holiday looks at that day) to the year of the
/// due date.
fn statutory_due(
    received: VnDateTime,
    processing: ProcessingTime,
) -> anyhow::Result<(WorkingCalendar, String, VnDateTime)> {
    let year = received.year();
    if !SEED_YEARS.contains(&year) {
        anyhow::bail!(
            "năm {year} ngoài khoảng {}–{} có lịch nghỉ lễ theo luật / the receipt is in {year}, outside {}–{}, the years with statutory holidays: pass --calendar <file> with that year's holidays",
            SEED_YEARS.start(),
            SEED_YEARS.end(),
            SEED_YEARS.start(),
            SEED_YEARS.end()
        );
    }
    let first = (year - 1).max(*SEED_YEARS.start());
    let mut last = (year + 1).min(*SEED_YEARS.end());
    loop {
        let calendar = WorkingCalendar::seeded(first..=last)?;
        let due = due_at(&calendar, received, processing)?;
        if due.year() <= last {
            return Ok((calendar, format!("statutory holidays {first}–{last}"), due));
        }
        if last == *SEED_YEARS.end() {
            anyhow::bail!(
                "the due date falls after {last}, past the years with statutory holidays: pass --calendar <file> with the holidays of the years it spans"
            );
        }
        // A long processing time ran past the seeded years: seed further.
        last = (due.year() + 1).min(*SEED_YEARS.end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &[&str]) -> Result<Args, clap::Error> {
        Command::try_parse_from(std::iter::once("deadline").chain(line.iter().copied()))
            .map(|command| command.args)
    }

    fn json(line: &[&str]) -> serde_json::Value {
        let args = parse(line).unwrap();
        serde_json::to_value(appointment(&args).unwrap()).unwrap()
    }

    #[test]
    fn prints_the_due_instant_and_how_it_was_reached() {
        // Fri 27 Nov 2026 09:30 + 3 working days: Mon 30, Tue 1, Wed 2 Dec.
        let out = json(&["--received", "2026-11-27T09:30:00+07:00", "--days", "3"]);
        assert_eq!(out["due"], "2026-12-02T11:30:00+07:00");
        assert_eq!(out["received"], "2026-11-27T09:30:00+07:00");
        assert_eq!(out["effective_start"], "2026-11-27T09:30:00+07:00");
        assert_eq!(
            out["processing"],
            serde_json::json!({"amount": 3, "unit": "working_days"})
        );
    }

    #[test]
    fn days_0_is_a_same_day_procedure_and_hours_count_office_time() {
        let out = json(&["--received", "2026-11-27T15:00:00+07:00", "--days", "0"]);
        assert_eq!(out["due"], "2026-11-30T17:00:00+07:00");
        // Received in UTC: 08:00Z is 15:00 in Vietnam; + 8 h over a holiday
        // and a weekend → Mon 4 May 15:00.
        let out = json(&["--received", "2026-04-29T08:00:00Z", "--hours", "8"]);
        assert_eq!(out["received"], "2026-04-29T15:00:00+07:00");
        assert_eq!(out["due"], "2026-05-04T15:00:00+07:00");
        assert_eq!(out["processing"]["unit"], "working_hours");
    }

    #[test]
    fn exactly_one_of_days_and_hours_is_required() {
        let received = ["--received", "2026-11-27T09:30:00+07:00"];
        let both = [&received[..], &["--days", "3", "--hours", "2"]].concat();
        assert_eq!(
            parse(&both).unwrap_err().kind(),
            clap::error::ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse(&received).unwrap_err().kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn a_bad_receipt_time_says_how_to_write_it() {
        let error = parse(&["--received", "27/11/2026 9:30", "--days", "3"]).unwrap_err();
        assert!(
            error.to_string().contains("e.g. 2026-11-27T09:30:00+07:00"),
            "{error}"
        );
    }

    #[test]
    fn a_calendar_file_replaces_the_statutory_seed() {
        let path =
            std::env::temp_dir().join(format!("motcua-calendar-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"holidays": [{"date": "2026-11-30", "name": "Nghỉ", "kind": "declared"}]}"#,
        )
        .unwrap();
        let out = json(&[
            "--received",
            "2026-11-27T09:30:00+07:00",
            "--days",
            "3",
            "--calendar",
            path.to_str().unwrap(),
        ]);
        std::fs::remove_file(&path).unwrap();
        // Mon 30 Nov is off: Tue 1, Wed 2, Thu 3 Dec.
        assert_eq!(out["due"], "2026-12-03T11:30:00+07:00");
    }

    #[test]
    fn the_seed_grows_with_a_long_processing_time() {
        // 600 working days from mid-2026 end in 2028, whose holidays count.
        let args = parse(&["--received", "2026-06-01T09:00:00+07:00", "--days", "600"]).unwrap();
        let out = appointment(&args).unwrap();
        let seeded = WorkingCalendar::seeded(2025..=2030).unwrap();
        let expected = due_at(&seeded, args.received, ProcessingTime::working_days(600)).unwrap();
        assert_eq!(out.due, format_rfc3339(&expected));
        assert!(out.due.starts_with("2028-"), "{}", out.due);
    }

    #[test]
    fn receipts_outside_the_seed_years_need_a_calendar_file() {
        let args = parse(&["--received", "1999-06-01T09:00:00+07:00", "--days", "3"]).unwrap();
        let error = appointment(&args).unwrap_err().to_string();
        assert!(error.contains("pass --calendar <file>"), "{error}");
    }
}
