//! `motcua report …`: report 06a, the late-dossier report and forms 06 and
//! 07 from a hub's database, as JSON, CSV, XLSX or printable HTML — the same
//! files the HTTP API serves.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use client_core::ids::UnitCode;
use client_core::statistics::{Grouping, Period};
use server::reports::{self, Format, Names, Rendered, ReportRequest};
use server::store::{DB_FILE, Store};

use super::choice::one_of;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report 06a: received, resolved early / on time / late, refused,
    /// withdrawn, in progress, overdue, on-time rate.
    #[command(name = "06a")]
    Report06a {
        #[command(flatten)]
        scope: Scope,
        /// Rows by unit, field, clerk, or only the total.
        #[arg(long, default_value = "unit", value_parser = one_of(&Grouping::ALL, Grouping::key))]
        group: Grouping,
        #[arg(long, default_value = "json", value_parser = one_of(TABLES, Format::extension))]
        format: Format,
        /// With --format json: the codes behind every figure.
        #[arg(long)]
        lists: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The dossiers resolved late in the period or overdue at its end.
    Late {
        #[command(flatten)]
        scope: Scope,
        #[arg(long, default_value = "json", value_parser = one_of(TABLES, Format::extension))]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Form 06: the control sheet of one dossier.
    Form06 {
        /// The hub's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The dossier code.
        code: String,
        #[arg(long, default_value = "html", value_parser = one_of(&[Format::Html, Format::Json], Format::extension))]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Form 07: the register of the dossiers received in the period.
    Form07 {
        #[command(flatten)]
        scope: Scope,
        #[arg(long, default_value = "html", value_parser = one_of(TABLES, Format::extension))]
        format: Format,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Which dossiers a report is about.
#[derive(Debug, clap::Args)]
struct Scope {
    /// The hub's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The unit whose subtree the report covers.
    #[arg(long)]
    unit: String,
    /// The period's first day, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// The period's last day, YYYY-MM-DD.
    #[arg(long)]
    to: String,
    /// Only dossiers of this field (lĩnh vực) id.
    #[arg(long)]
    field: Option<String>,
}

impl Scope {
    fn request(&self) -> anyhow::Result<ReportRequest> {
        let day = |s: &str, name: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").with_context(|| {
                format!("--{name} '{s}' không phải ngày dạng YYYY-MM-DD / is not a date: write it as YYYY-MM-DD")
            })
        };
        Ok(ReportRequest {
            unit: UnitCode::parse(&self.unit)?,
            period: Period::new(day(&self.from, "from")?, day(&self.to, "to")?)?,
            field: self.field.clone(),
        })
    }
}

/// The hub's database in `dir`; an error (not a new empty hub) when there is
/// none.
fn open_hub(dir: &std::path::Path) -> anyhow::Result<Store> {
    if !dir.join(DB_FILE).exists() {
        bail!(
            "không có cơ sở dữ liệu hub trong {0} / there is no hub database in {0}: give the data directory of a hub (motcua serve --data)",
            dir.display()
        );
    }
    Ok(Store::open(dir)?)
}

const TABLES: &[Format] = &[Format::Json, Format::Csv, Format::Xlsx, Format::Html];

/// Writes the file to `out`, or to standard output (refusing to print an
/// XLSX file on a terminal).
fn write(rendered: Rendered, out: Option<PathBuf>) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(&path, &rendered.bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("đã ghi / written: {}", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            if rendered.file_name.ends_with(".xlsx") && stdout.is_terminal() {
                bail!(
                    "XLSX là tệp nhị phân / XLSX is a binary file: give --out FILE or redirect the output"
                );
            }
            stdout.write_all(&rendered.bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Report06a {
            scope,
            group: grouping,
            format,
            lists,
            out,
        } => {
            let store = open_hub(&scope.data)?;
            let file = reports::report_06a_file(&store, scope.request()?, grouping, format, lists)?;
            write(file, out)
        }
        Command::Late { scope, format, out } => {
            let store = open_hub(&scope.data)?;
            write(reports::late_file(&store, scope.request()?, format)?, out)
        }
        Command::Form06 {
            data,
            code,
            format,
            out,
        } => {
            let store = open_hub(&data)?;
            let names = Names::load(&store)?;
            // Whoever holds the data directory sees every unit of the hub.
            let rendered = reports::control_sheet(&store, &code, None, &names, format)?
                .with_context(|| {
                    format!("không có hồ sơ {code} ở hub này / no dossier {code} at this hub")
                })?;
            write(rendered, out)
        }
        Command::Form07 { scope, format, out } => {
            let store = open_hub(&scope.data)?;
            write(
                reports::register_file(&store, &scope.request()?, format)?,
                out,
            )
        }
    }
}
