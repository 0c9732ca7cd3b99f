//! `motcua bench report06a`: times report 06a at a province's scale.
//!
//! A benchmark, not a test: it generates a province (a hundred communes, a
//! year of realistic activity) straight into the hub's index tables — index
//! rows only, no documents, so it is a data set for timing and not a usable
//! hub — then times the hub's report path exactly as the API runs it
//! (reading the facts from SQLite in parallel parts, classifying with
//! client-core, adding up), and writes the figures to a JSON file.
//!
//! The data set is kept in its directory and reused by later runs with the
//! same size and seed (and generator); `--fresh` makes it again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDate, TimeZone};
use client_core::catalogue::{Catalogue, Procedure};
use client_core::deadline;
use client_core::dossier::{Channel, DeliveryMethod, Dossier, Fee, ProcedureRef, ResultDelivery};
use client_core::ids::{DocId, DossierCode, UnitCode};
use client_core::stage::{Stage, StageEntry};
use client_core::statistics::{Column, Period};
use client_core::units::{Unit, UnitLevel};
use server::reports::{ReportData, ReportRequest};
use server::store::Store;

use server::activity::{Rng, applicant};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report 06a over a generated province.
    #[command(name = "report06a")]
    Report06a(Report06aArgs),
}

#[derive(Debug, clap::Args)]
struct Report06aArgs {
    /// Dossiers in the generated province.
    #[arg(long, default_value_t = 1_000_000)]
    dossiers: usize,
    /// Communes in the province.
    #[arg(long, default_value_t = 100)]
    communes: usize,
    /// Where the data set lives (default: a directory in the system's
    /// temporary directory named after the size and seed).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Make the data set again even if one of this size and seed exists.
    #[arg(long)]
    fresh: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Write the figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Report06a(args) => report_06a(args),
    }
}

const PROVINCE: &str = "T99";
/// Changes whenever the generator makes different data.
const GENERATOR: &str = "v2";
/// The generated year's receipts run from 1 January to 30 November 2026.
const FIRST_DAY: (i32, u32, u32) = (2026, 1, 1);
const LAST_DAY: (i32, u32, u32) = (2026, 11, 30);

fn day((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn report_06a(args: Report06aArgs) -> anyhow::Result<()> {
    let dir = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "motcua-bench-report06a-{}-{}-{}",
            args.dossiers, args.communes, args.seed
        ))
    });
    // The generator's version, size and seed: a data set made otherwise is
    // made again.
    let signature = format!(
        "{GENERATOR} {} {} {}",
        args.dossiers, args.communes, args.seed
    );
    let mut store = Store::open(&dir)?;
    match store.meta("bench_data_set")? {
        Some(existing) if existing == signature && !args.fresh => {}
        Some(_) => {
            drop(store);
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
            store = Store::open(&dir)?;
        }
        // Never a hub's own data.
        None if store.dossier_count()? > 0 => anyhow::bail!(
            "{} holds a hub's dossiers, not a benchmark data set: give another --data",
            dir.display()
        ),
        None => {}
    }
    let generated = match store.meta("bench_data_set")? {
        Some(_) => None,
        None => {
            let started = Instant::now();
            // Marked first, so a generation cut short is made again next time.
            store.set_meta("bench_data_set", "incomplete")?;
            generate(&store, &args)?;
            store.set_meta("bench_data_set", &signature)?;
            Some(started.elapsed())
        }
    };

    let province = UnitCode::parse(PROVINCE)?;
    let year = Period::new(day(FIRST_DAY), day(LAST_DAY))?;
    let november = Period::new(day((2026, 11, 1)), day(LAST_DAY))?;
    let timed_year = time_report(&store, &province, year, args.runs)?;
    let timed_month = time_report(&store, &province, november, args.runs)?;
    // One commune's year, read through the index by unit.
    let commune = UnitCode::parse("X0001")?;
    let timed_commune = time_report(&store, &commune, year, args.runs)?;

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let figures = serde_json::json!({
        "benchmark": "report06a",
        "build": build,
        "threads": threads,
        "dossiers": args.dossiers,
        "communes": args.communes,
        "seed": args.seed,
        "data": dir,
        "generate_seconds": generated.map(|d| d.as_secs_f64()),
        "year": timed_year.json(year),
        "month": timed_month.json(november),
        "commune_year": timed_commune.json(year),
    });
    println!(
        "report 06a, {} dossiers ({build}, {threads} threads): a year's report over {} counted dossiers \
         in {:.3} s (median of {}; read {:.3} s, compute {:.3} s; processor time {:.3} s); a month's in {:.3} s; \
         one commune's year in {:.3} s",
        args.dossiers,
        timed_year.counted,
        timed_year.median(|r| r.total).as_secs_f64(),
        args.runs,
        timed_year.median(|r| r.read).as_secs_f64(),
        timed_year.median(|r| r.compute).as_secs_f64(),
        timed_year
            .median(|r| r.cpu.unwrap_or_default())
            .as_secs_f64(),
        timed_month.median(|r| r.total).as_secs_f64(),
        timed_commune.median(|r| r.total).as_secs_f64(),
    );
    if let Some(path) = &args.json {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("đã ghi / written: {}", path.display());
    }
    Ok(())
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
struct Run {
    read: Duration,
    compute: Duration,
    total: Duration,
    /// Processor time of all threads (user and system), where the system
    /// says it: on a machine shared with other work the wall time says less
    /// than this does.
    cpu: Option<Duration>,
}

/// This process's processor time so far, from /proc (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name in parentheses: utime and stime are fields 14
    // and 15, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

struct Timed {
    runs: Vec<Run>,
    counted: u32,
    facts_read: usize,
    late: u32,
}

impl Timed {
    fn median(&self, part: impl Fn(&Run) -> Duration) -> Duration {
        let mut values: Vec<Duration> = self.runs.iter().map(part).collect();
        values.sort();
        values.get(values.len() / 2).copied().unwrap_or_default()
    }

    fn json(&self, period: Period) -> serde_json::Value {
        let seconds = |d: Duration| d.as_secs_f64();
        let totals: Vec<f64> = self.runs.iter().map(|r| seconds(r.total)).collect();
        serde_json::json!({
            "period": period,
            "counted": self.counted,
            "facts_read": self.facts_read,
            "late": self.late,
            "runs": totals,
            "median_seconds": seconds(self.median(|r| r.total)),
            "min_seconds": totals.iter().copied().fold(f64::INFINITY, f64::min),
            "median_read_seconds": seconds(self.median(|r| r.read)),
            "median_compute_seconds": seconds(self.median(|r| r.compute)),
            "median_cpu_seconds": self.runs.iter().all(|r| r.cpu.is_some())
                .then(|| seconds(self.median(|r| r.cpu.unwrap_or_default()))),
        })
    }
}

/// Times the hub's path for report 06a: what the API runs before rendering.
fn time_report(
    store: &Store,
    unit: &UnitCode,
    period: Period,
    runs: usize,
) -> anyhow::Result<Timed> {
    let mut timed = Timed {
        runs: Vec::new(),
        counted: 0,
        facts_read: 0,
        late: 0,
    };
    for _ in 0..runs.max(1) {
        let cpu_before = cpu_time();
        let started = Instant::now();
        let data = ReportData::load(
            store,
            ReportRequest {
                unit: unit.clone(),
                period,
                field: None,
            },
        )?;
        let read = started.elapsed();
        let report = data.report_06a();
        let total = started.elapsed();
        timed.counted = report.total().get(Column::Received);
        timed.late = report.total().get(Column::Late) + report.total().get(Column::Overdue);
        timed.facts_read = data.facts_read();
        let cpu = cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        drop(report);
        timed.runs.push(Run {
            read,
            compute: total - read,
            total,
            cpu,
        });
    }
    Ok(timed)
}

/// Writes the province: its units, then the dossiers' index rows in
/// batches, with a progress bar.
fn generate(store: &Store, args: &Report06aArgs) -> anyhow::Result<()> {
    let province = UnitCode::parse(PROVINCE)?;
    let mut units = vec![Unit {
        code: province.clone(),
        name: "Tỉnh Thử Nghiệm".into(),
        level: UnitLevel::Province,
        parent: None,
        effective_from: None,
        effective_to: None,
    }];
    let communes: Vec<UnitCode> = (1..=args.communes.max(1))
        .map(|n| UnitCode::parse(&format!("X{n:04}")))
        .collect::<Result<_, _>>()?;
    units.extend(communes.iter().map(|code| Unit {
        code: code.clone(),
        name: format!("Xã {}", code.as_str()),
        level: UnitLevel::Commune,
        parent: Some(province.clone()),
        effective_from: None,
        effective_to: None,
    }));
    store.upsert_units(&units)?;

    let catalogue = Catalogue::seed();
    let procedures: Vec<&Procedure> = catalogue.current();
    let calendar = store.calendar();
    let working_days: Vec<NaiveDate> = day(FIRST_DAY)
        .iter_days()
        .take_while(|d| *d <= day(LAST_DAY))
        .filter(|d| calendar.is_working_day(*d))
        .collect();
    let mut rng = Rng::new(args.seed);
    let mut numbers: std::collections::HashMap<(usize, NaiveDate), u16> =
        std::collections::HashMap::new();
    let bar = indicatif::ProgressBar::new(args.dossiers as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "tạo dữ liệu / generating {bar:40} {pos}/{len} hồ sơ, còn {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    const BATCH: usize = 50_000;
    let mut batch: Vec<(DocId, Dossier)> = Vec::with_capacity(BATCH);
    let mut made = 0;
    while made < args.dossiers {
        let unit = rng.below(communes.len());
        let date = working_days[rng.below(working_days.len())];
        let number = numbers.entry((unit, date)).or_insert(0);
        if *number >= DossierCode::MAX_NUMBER {
            continue;
        }
        *number += 1;
        let code = DossierCode::new(communes[unit].clone(), date, *number)?;
        let procedure = procedures[rng.below(procedures.len())];
        let clerk = format!(
            "canbo{}.{}",
            1 + rng.below(3),
            communes[unit].as_str().to_lowercase()
        );
        // Ids in order, so the rows are written in the order of their keys.
        let mut id = [0u8; 16];
        id[8..].copy_from_slice(&(made as u64).to_be_bytes());
        batch.push((
            DocId::from_bytes(id),
            dossier(&mut rng, &calendar, code, procedure, &clerk)?,
        ));
        made += 1;
        if batch.len() == BATCH || made == args.dossiers {
            store.write_index_only(&batch)?;
            bar.inc(batch.len() as u64);
            batch.clear();
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// One dossier with a plausible life: most are resolved around their
/// appointment (some early, some late), some wait for a supplement or a
/// fee, some go to another level, a few are refused or withdrawn, and the
/// recent ones are still open.
fn dossier(
    rng: &mut Rng,
    calendar: &client_core::calendar::WorkingCalendar,
    code: DossierCode,
    procedure: &Procedure,
    clerk: &str,
) -> anyhow::Result<Dossier> {
    const MINUTE: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MINUTE;
    let date = code.date();
    let unit = code.unit().clone();
    let opening = if rng.below(2) == 0 {
        7 * 60 + 30
    } else {
        13 * 60 + 45
    };
    let local = date.and_hms_opt(0, 0, 0).context("date")?
        + chrono::Duration::minutes(opening + rng.below(180) as i64);
    let received = client_core::time::vn_offset()
        .from_local_datetime(&local)
        .single()
        .context("time")?;
    let received_at = received.timestamp_millis();
    let due_at =
        deadline::due_at(calendar, received, procedure.processing_time)?.timestamp_millis();
    let span = (due_at - received_at).max(DAY);

    let mut stages = Vec::with_capacity(8);
    let mut at = received_at;
    let mut push = |stage: Stage, at: i64, user: &str, unit: &UnitCode| {
        stages.push(StageEntry {
            id: format!("{}@{}", stages.len() + 1, code),
            stage,
            at,
            user: user.to_string(),
            device: "bench".into(),
            unit: unit.clone(),
            note: String::new(),
            missing: Vec::new(),
        });
    };
    push(Stage::Received, at, clerk, &unit);
    let end_of_data = client_core::time::vn_offset()
        .from_local_datetime(&day(LAST_DAY).and_hms_opt(17, 0, 0).context("time")?)
        .single()
        .context("time")?
        .timestamp_millis();
    let roll = rng.below(100);
    let step = |rng: &mut Rng, at: &mut i64, fraction: i64| {
        *at += 30 * MINUTE + (rng.next_u64() % (span as u64 / fraction as u64 + 1)) as i64;
    };
    if roll < 3 {
        step(rng, &mut at, 20);
        push(Stage::Refused, at, clerk, &unit);
    } else {
        step(rng, &mut at, 10);
        push(Stage::HandedOver, at, clerk, &unit);
        step(rng, &mut at, 10);
        push(Stage::Processing, at, "chuyenvien", &unit);
        if roll < 13 {
            step(rng, &mut at, 5);
            push(Stage::SupplementRequested, at, "chuyenvien", &unit);
            at += DAY * (1 + rng.below(6) as i64);
            push(Stage::SupplementReceived, at, clerk, &unit);
        } else if roll < 18 {
            step(rng, &mut at, 5);
            push(Stage::SentToLevel, at, "chuyenvien", &unit);
            step(rng, &mut at, 3);
            push(
                Stage::ReturnedFromLevel,
                at,
                "chuyenvien.tinh",
                &UnitCode::parse(PROVINCE)?,
            );
        }
        if (18..20).contains(&roll) {
            step(rng, &mut at, 4);
            push(Stage::Withdrawn, at, clerk, &unit);
        } else {
            // Finishes somewhere between well before and a little after the
            // appointment.
            at = at.max(received_at + span * (40 + rng.below(75) as i64) / 100);
            if (20..25).contains(&roll) {
                push(Stage::AwaitingFee, at, clerk, &unit);
                at += DAY * (1 + rng.below(5) as i64);
            }
            push(Stage::Done, at, "chuyenvien", &unit);
            at += 2 * 60 * MINUTE + rng.below(2) as i64 * DAY;
            push(Stage::ResultReturned, at, clerk, &unit);
        }
    }
    // What happens after the data set's last day has not happened yet.
    stages.retain(|e| e.at <= end_of_data);
    Ok(Dossier {
        code,
        unit,
        field: procedure.field.as_str().to_string(),
        procedure: ProcedureRef::of(procedure),
        processing: procedure.processing_time,
        pause_rule: procedure.pause_rule,
        channel: if rng.below(5) == 0 {
            Channel::Online
        } else {
            Channel::Direct
        },
        applicant: applicant(rng),
        documents: Vec::new(),
        sets: 1,
        received_at,
        due_at,
        fee: Fee {
            amount_vnd: procedure.fee.amount_vnd,
            paid: true,
        },
        result_delivery: ResultDelivery {
            method: DeliveryMethod::Counter,
            place: String::new(),
        },
        stages,
    })
}
