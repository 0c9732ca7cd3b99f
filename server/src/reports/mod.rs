//! Reports and registers at the hub: report 06a, the late-dossier report,
//! Form 06 (control sheet) and Form 07 (register), as JSON, CSV, XLSX and
//! printable HTML. The HTTP API (`hub::reports`) and the CLI (`motcua
//! report`) both call this module, so a downloaded file and a printed page
//! say the same.
//!
//! The figures themselves are computed by `client_core::statistics`, the one
//! implementation the web app also runs: the hub only reads the facts of the
//! dossiers from its index tables (never loading a document), in parallel
//! parts, and hands them over.
//!
//! - [`table`]: a report as a plain table; CSV and XLSX files.
//! - [`html`]: the printable pages (A4, self-contained, Vietnamese).

pub mod html;
pub mod table;

use std::collections::HashMap;
use std::sync::Arc;

use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::config::{self, ConfigKind};
use client_core::forms::{ControlSheet, RegisterDates};
use client_core::ids::UnitCode;
use client_core::statistics::{
    Column, DossierFacts, Grouping, LateDossier, ON_TIME_RATE_VI, Period, Report06a, Unclassified,
};
use client_core::units::UnitTree;
use serde::Serialize;
use serde_json::json;

use crate::store::index::{FactsLoad, ListedDossier};
use crate::store::{Store, StoreError};
use table::{Cell, Table, local_date};

/// An output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// A report file: its bytes, type and a file name to save it under.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content_type: &'static str,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "đơn vị {0} không có trong cây đơn vị / unit {0} is not in the unit tree: check the unit code"
    )]
    UnknownUnit(UnitCode),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("không tạo được tệp XLSX / the XLSX file could not be written: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// What a report is about: a unit's subtree, a period, optionally one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub unit: UnitCode,
    pub period: Period,
    pub field: Option<String>,
}

impl ReportRequest {
    fn file_stem(&self, name: &str) -> String {
        format!(
            "{name}_{}_{}_{}",
            self.unit,
            self.period.from().format("%Y%m%d"),
            self.period.to().format("%Y%m%d")
        )
    }
}

/// How many parts the facts are read and classified in, side by side.
fn parallel_parts() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(8))
}

/// The facts of one report's dossiers, read from the index, and what the
/// figures are computed with.
pub struct ReportData {
    pub request: ReportRequest,
    load: FactsLoad,
    calendar: Arc<WorkingCalendar>,
}

impl ReportData {
    /// Reads the facts of the dossiers `request` may count.
    pub fn load(store: &Store, request: ReportRequest) -> Result<ReportData, ReportError> {
        let units = subtree(&store.units(), &request.unit)?;
        let load = store.report_facts(
            &units,
            &request.period,
            request.field.as_deref(),
            parallel_parts(),
        )?;
        Ok(ReportData {
            request,
            load,
            calendar: store.calendar(),
        })
    }

    /// Report 06a, computed in parallel parts and added up.
    pub fn report_06a(&self) -> Report06a<'_> {
        let period = self.request.period;
        let calendar: &WorkingCalendar = &self.calendar;
        let parts = crate::parallel::map(&self.load.parts, parallel_parts(), |part| {
            Report06a::compute(part, period, calendar)
        });
        let mut parts = parts.into_iter();
        let mut report = parts
            .next()
            .unwrap_or_else(|| Report06a::compute(std::iter::empty(), period, calendar));
        for part in parts {
            report.absorb(part);
        }
        report
    }

    /// Index rows that could not be read (the figures leave them out).
    pub fn damaged(&self) -> &[Unclassified] {
        &self.load.damaged
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// How many dossiers' facts were read.
    pub fn facts_read(&self) -> usize {
        self.load.parts.iter().map(Vec::len).sum()
    }
}

/// Report 06a of `request` in `format`, rows by `grouping` (JSON with the
/// codes behind every figure when `with_lists`).
pub fn report_06a_file(
    store: &Store,
    request: ReportRequest,
    grouping: Grouping,
    format: Format,
    with_lists: bool,
) -> Result<Rendered, ReportError> {
    let data = ReportData::load(store, request)?;
    let report = data.report_06a();
    let names = Names::load(store)?;
    render_06a(&data, &report, grouping, &names, format, with_lists)
}

/// The late-dossier report of `request` in `format`.
pub fn late_file(
    store: &Store,
    request: ReportRequest,
    format: Format,
) -> Result<Rendered, ReportError> {
    let data = ReportData::load(store, request)?;
    let report = data.report_06a();
    let names = Names::load(store)?;
    let lines = late_lines(store, &report.late(data.calendar()), &names)?;
    render_late(&data, &lines, &names, format)
}

/// Form 07 of `request` in `format`.
pub fn register_file(
    store: &Store,
    request: &ReportRequest,
    format: Format,
) -> Result<Rendered, ReportError> {
    let names = Names::load(store)?;
    let lines = register(store, request)?;
    render_register(request, &lines, &names, format)
}

/// `unit` and every unit below it, or an error naming an unknown unit.
pub fn subtree(tree: &UnitTree, unit: &UnitCode) -> Result<Vec<UnitCode>, ReportError> {
    if !tree.contains(unit) {
        return Err(ReportError::UnknownUnit(unit.clone()));
    }
    Ok(tree.subtree(unit))
}

/// The names reports print instead of codes: units, fields, clerks.
pub struct Names {
    units: Arc<UnitTree>,
    fields: HashMap<String, String>,
    clerks: HashMap<String, String>,
}

impl Names {
    pub fn load(store: &Store) -> Result<Names, StoreError> {
        // The published catalogue, or the seed one before any is published.
        let catalogue = store
            .load_doc(&ConfigKind::Catalogue.doc_id())?
            .and_then(|doc| config::read(&doc).ok())
            .and_then(|(_, body, _)| Catalogue::from_json(&body).ok())
            .unwrap_or_else(Catalogue::seed);
        Ok(Names {
            units: store.units(),
            fields: catalogue
                .fields
                .iter()
                .map(|f| (f.id.as_str().to_string(), f.name_vi.clone()))
                .collect(),
            clerks: store
                .users()?
                .into_iter()
                .map(|u| (u.username, u.full_name))
                .collect(),
        })
    }

    pub fn unit(&self, code: &str) -> String {
        UnitCode::parse(code)
            .ok()
            .and_then(|c| self.units.get(&c).map(|u| u.name.clone()))
            .unwrap_or_else(|| code.to_string())
    }

    pub fn field(&self, id: &str) -> String {
        self.fields
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub fn clerk(&self, username: &str) -> String {
        match self.clerks.get(username) {
            Some(name) => format!("{name} ({username})"),
            None => username.to_string(),
        }
    }

    /// The name of a row key of `grouping`.
    pub fn of(&self, grouping: Grouping, key: &str) -> String {
        match grouping {
            Grouping::Total => "Tổng cộng".to_string(),
            Grouping::Unit => self.unit(key),
            Grouping::Field => self.field(key),
            Grouping::Clerk => self.clerk(key),
        }
    }
}

// ------------------------------------------------------------ report 06a

/// Report 06a as JSON: the figures in total and by unit, field and clerk
/// (with the codes behind every figure when `with_lists`), the names of the
/// row keys, and the index rows that could not be read.
pub fn report_06a_json(
    data: &ReportData,
    report: &Report06a<'_>,
    names: &Names,
    with_lists: bool,
) -> serde_json::Value {
    let summary = report.summary(with_lists);
    let named = |grouping: Grouping| -> serde_json::Map<String, serde_json::Value> {
        report
            .rows(grouping)
            .into_iter()
            .map(|(key, _)| (key.to_string(), json!(names.of(grouping, key))))
            .collect()
    };
    let mut unclassified = summary.unclassified.clone();
    unclassified.extend(data.damaged().iter().cloned());
    json!({
        "unit": data.request.unit,
        "unit_name": names.unit(data.request.unit.as_str()),
        "field": data.request.field,
        "period": summary.period,
        "columns": Column::ALL.iter().map(|c| json!({
            "key": c.key(), "name_vi": c.name_vi(), "name_en": c.name_en(),
        })).collect::<Vec<_>>(),
        "total": summary.total,
        "by_unit": summary.by_unit,
        "by_field": summary.by_field,
        "by_clerk": summary.by_clerk,
        "names": { "unit": named(Grouping::Unit), "field": named(Grouping::Field), "clerk": named(Grouping::Clerk) },
        "unclassified": unclassified,
    })
}

/// Report 06a as a table: one row per key of `grouping`, then the total.
pub fn report_06a_table(
    data: &ReportData,
    report: &Report06a<'_>,
    grouping: Grouping,
    names: &Names,
) -> Table {
    let mut headers = vec![grouping.name_vi().to_string()];
    headers.extend(Column::ALL.iter().map(|c| c.name_vi().to_string()));
    headers.push(ON_TIME_RATE_VI.to_string());
    let row = |label: String, figures: &client_core::statistics::Figures| {
        let mut cells = vec![Cell::Text(label)];
        cells.extend(Column::ALL.iter().map(|c| Cell::Count(figures.get(*c))));
        cells.push(Cell::Rate(figures.on_time_rate()));
        cells
    };
    let mut rows: Vec<Vec<Cell>> = if grouping == Grouping::Total {
        Vec::new()
    } else {
        report
            .rows(grouping)
            .into_iter()
            .map(|(key, figures)| row(names.of(grouping, key), figures))
            .collect()
    };
    rows.push(row("Tổng cộng".to_string(), report.total()));
    Table {
        title: format!(
            "Báo cáo tình hình, kết quả giải quyết thủ tục hành chính (Mẫu 06a) — {} — từ {} đến {}",
            names.unit(data.request.unit.as_str()),
            local_date(data.request.period.from()),
            local_date(data.request.period.to()),
        ),
        sheet: "Mẫu 06a".to_string(),
        headers,
        rows,
    }
}

/// Report 06a in `format` (JSON with the codes behind every figure when
/// `with_lists`).
fn render_06a(
    data: &ReportData,
    report: &Report06a<'_>,
    grouping: Grouping,
    names: &Names,
    format: Format,
    with_lists: bool,
) -> Result<Rendered, ReportError> {
    let bytes = match format {
        Format::Json => {
            serde_json::to_vec_pretty(&report_06a_json(data, report, names, with_lists))
                .unwrap_or_default()
        }
        Format::Csv => report_06a_table(data, report, grouping, names).to_csv(),
        Format::Xlsx => report_06a_table(data, report, grouping, names).to_xlsx()?,
        Format::Html => html::report_06a(data, report, grouping, names).into_bytes(),
    };
    Ok(Rendered {
        content_type: format.content_type(),
        file_name: format!(
            "{}.{}",
            data.request.file_stem("bao-cao-06a"),
            format.extension()
        ),
        bytes,
    })
}

/// A dossier of a list (drill-down, late report) with what is printed of it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedLine {
    pub code: String,
    pub unit: String,
    pub unit_name: String,
    pub field: String,
    pub clerk: String,
    pub procedure: String,
    pub applicant: String,
    pub phone: String,
    pub received_at: i64,
    /// The appointment after waits (as of the finish or the period's end).
    pub due_at: i64,
    pub finished_at: Option<i64>,
    pub disposition: client_core::statistics::Disposition,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_days_late: Option<u32>,
}

fn listed_lines<'a>(
    store: &Store,
    lines: impl IntoIterator<Item = (&'a client_core::statistics::Line<'a>, Option<u32>)>,
    names: &Names,
) -> Result<Vec<ListedLine>, StoreError> {
    let lines: Vec<_> = lines.into_iter().collect();
    let codes: Vec<&str> = lines.iter().map(|(l, _)| l.facts.code.as_str()).collect();
    let listed: HashMap<String, ListedDossier> = store
        .listed_by_code(&codes)?
        .into_iter()
        .map(|d| (d.facts.code.clone(), d))
        .collect();
    Ok(lines
        .into_iter()
        .map(|(line, late)| {
            let f: &DossierFacts = line.facts;
            let shown = listed.get(&f.code);
            ListedLine {
                code: f.code.clone(),
                unit: f.unit.to_string(),
                unit_name: names.unit(f.unit.as_str()),
                field: f.field.to_string(),
                clerk: f.clerk.to_string(),
                procedure: shown.map(|d| d.procedure_name.clone()).unwrap_or_default(),
                applicant: shown.map(|d| d.applicant_name.clone()).unwrap_or_default(),
                phone: shown.map(|d| d.phone.clone()).unwrap_or_default(),
                received_at: f.received_at(),
                due_at: line.due_at,
                finished_at: line.finished_at,
                disposition: line.disposition,
                working_days_late: late,
            }
        })
        .collect())
}

/// The dossiers behind one figure of report 06a.
pub fn drill_down(
    store: &Store,
    report: &Report06a<'_>,
    grouping: Grouping,
    key: &str,
    column: Column,
    names: &Names,
) -> Result<Vec<ListedLine>, StoreError> {
    listed_lines(
        store,
        report
            .drill_down(grouping, key, column)
            .into_iter()
            .map(|l| (l, None)),
        names,
    )
}

// ------------------------------------------------------------ late report

/// The late-dossier report: resolved late in the period or overdue at its
/// end, longest late first.
pub fn late_lines(
    store: &Store,
    late: &[LateDossier<'_>],
    names: &Names,
) -> Result<Vec<ListedLine>, StoreError> {
    listed_lines(
        store,
        late.iter().map(|l| (&l.line, Some(l.working_days_late))),
        names,
    )
}

fn disposition_vi(d: client_core::statistics::Disposition) -> &'static str {
    use client_core::statistics::Disposition as D;
    match d {
        D::Early => "Trước hạn",
        D::OnTime => "Đúng hạn",
        D::Late => "Đã giải quyết quá hạn",
        D::Refused => "Từ chối",
        D::Withdrawn => "Rút hồ sơ",
        D::WithinDeadline => "Đang giải quyết trong hạn",
        D::Overdue => "Đang giải quyết quá hạn",
        D::AwaitingPayment => "Chờ thực hiện nghĩa vụ tài chính",
    }
}

/// A list of dossiers (late report, drill-down) as a table.
pub fn lines_table(title: String, sheet: &str, lines: &[ListedLine], names: &Names) -> Table {
    let headers = [
        "STT",
        "Mã hồ sơ",
        "Đơn vị tiếp nhận",
        "Lĩnh vực",
        "Thủ tục hành chính",
        "Người nộp",
        "Ngày tiếp nhận",
        "Hạn giải quyết",
        "Ngày giải quyết",
        "Tình trạng",
        "Số ngày làm việc quá hạn",
        "Cán bộ tiếp nhận",
    ];
    Table {
        title,
        sheet: sheet.to_string(),
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                vec![
                    Cell::Count(i as u32 + 1),
                    Cell::text(&l.code),
                    Cell::text(&l.unit_name),
                    Cell::Text(names.field(&l.field)),
                    Cell::text(&l.procedure),
                    Cell::text(&l.applicant),
                    Cell::Time(Some(l.received_at)),
                    Cell::Time(Some(l.due_at)),
                    Cell::Time(l.finished_at),
                    Cell::text(disposition_vi(l.disposition)),
                    l.working_days_late.map_or(Cell::text(""), Cell::Count),
                    Cell::Text(names.clerk(&l.clerk)),
                ]
            })
            .collect(),
    }
}

/// The late-dossier report in `format`.
fn render_late(
    data: &ReportData,
    lines: &[ListedLine],
    names: &Names,
    format: Format,
) -> Result<Rendered, ReportError> {
    let title = format!(
        "Danh sách hồ sơ giải quyết quá hạn, đang quá hạn — {} — từ {} đến {}",
        names.unit(data.request.unit.as_str()),
        local_date(data.request.period.from()),
        local_date(data.request.period.to()),
    );
    let table = || lines_table(title.clone(), "Hồ sơ quá hạn", lines, names);
    let bytes = match format {
        Format::Json => serde_json::to_vec_pretty(&json!({
            "unit": data.request.unit,
            "period": data.request.period,
            "dossiers": lines,
            "unclassified": data.damaged(),
        }))
        .unwrap_or_default(),
        Format::Csv => table().to_csv(),
        Format::Xlsx => table().to_xlsx()?,
        Format::Html => html::table_page(&table()).into_bytes(),
    };
    Ok(Rendered {
        content_type: format.content_type(),
        file_name: format!(
            "{}.{}",
            data.request.file_stem("ho-so-qua-han"),
            format.extension()
        ),
        bytes,
    })
}

// ------------------------------------------------------------ form 07

/// One line of the register with its dates.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterLine {
    #[serde(flatten)]
    pub dossier: ListedDossier,
    pub dates: RegisterDates,
}

/// Form 07, the register: the dossiers a unit's subtree received in the
/// period, with the dates of their hand-overs as of the period's end.
pub fn register(store: &Store, request: &ReportRequest) -> Result<Vec<RegisterLine>, ReportError> {
    let units = subtree(&store.units(), &request.unit)?;
    let as_of = request.period.ends_at();
    Ok(store
        .register(&units, &request.period)?
        .into_iter()
        .filter(|d| {
            request
                .field
                .as_deref()
                .is_none_or(|f| f == &*d.facts.field)
        })
        .map(|dossier| RegisterLine {
            dates: RegisterDates::of(&dossier.facts, as_of),
            dossier,
        })
        .collect())
}

/// The register as a table, with the columns of Form 07.
pub fn register_table(request: &ReportRequest, lines: &[RegisterLine], names: &Names) -> Table {
    let headers = [
        "STT",
        "Mã hồ sơ",
        "Tên thủ tục hành chính",
        "Số lượng hồ sơ (bộ)",
        "Tên tổ chức, cá nhân",
        "Địa chỉ, số điện thoại",
        "Cơ quan chủ trì giải quyết",
        "Nhận hồ sơ",
        "Hẹn trả kết quả",
        "Chuyển hồ sơ đến cơ quan giải quyết",
        "Nhận kết quả từ cơ quan giải quyết",
        "Trả kết quả cho tổ chức, cá nhân",
        "Ghi chú",
    ];
    Table {
        title: format!(
            "Sổ theo dõi hồ sơ (Mẫu 07) — {} — từ {} đến {}",
            names.unit(request.unit.as_str()),
            local_date(request.period.from()),
            local_date(request.period.to()),
        ),
        sheet: "Mẫu 07".to_string(),
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let d = &line.dossier;
                let contact = [d.applicant_address.as_str(), d.phone.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                let note = line.dates.closed.map_or(String::new(), |closed| {
                    format!(
                        "{} {}",
                        closed.stage.name_vi(),
                        table::local_time(closed.at)
                    )
                });
                vec![
                    Cell::Count(i as u32 + 1),
                    Cell::text(&d.facts.code),
                    Cell::text(&d.procedure_name),
                    Cell::Count(d.sets),
                    Cell::text(&d.applicant_name),
                    Cell::Text(contact),
                    Cell::Text(names.unit(d.facts.unit.as_str())),
                    Cell::Time(Some(line.dates.received_at)),
                    Cell::Time(Some(line.dates.due_at)),
                    Cell::Time(line.dates.handed_over_at),
                    Cell::Time(line.dates.result_ready_at),
                    Cell::Time(line.dates.returned_at),
                    Cell::Text(note),
                ]
            })
            .collect(),
    }
}

/// Form 07 in `format`.
fn render_register(
    request: &ReportRequest,
    lines: &[RegisterLine],
    names: &Names,
    format: Format,
) -> Result<Rendered, ReportError> {
    let table = || register_table(request, lines, names);
    let bytes = match format {
        Format::Json => serde_json::to_vec_pretty(&json!({
            "unit": request.unit,
            "period": request.period,
            "dossiers": lines,
        }))
        .unwrap_or_default(),
        Format::Csv => table().to_csv(),
        Format::Xlsx => table().to_xlsx()?,
        Format::Html => html::register(&table()).into_bytes(),
    };
    Ok(Rendered {
        content_type: format.content_type(),
        file_name: format!(
            "{}.{}",
            request.file_stem("so-theo-doi-ho-so"),
            format.extension()
        ),
        bytes,
    })
}

// ------------------------------------------------------------ form 06

/// Form 06 of one dossier, if the hub has it and it lies within `scope`
/// (outside the scope looks exactly like missing; `None`: any unit), as of
/// now.
pub fn control_sheet(
    store: &Store,
    code: &str,
    scope: Option<&UnitCode>,
    names: &Names,
    format: Format,
) -> Result<Option<Rendered>, ReportError> {
    let Some((doc_id, unit)) = store.doc_id_for_code(code)? else {
        return Ok(None);
    };
    if scope.is_some_and(|scope| !store.units().is_within(&unit, scope)) {
        return Ok(None);
    }
    let Some(doc) = store.load_doc(&doc_id)? else {
        return Ok(None);
    };
    let dossier = client_core::dossier::DossierDoc::read_from(&doc).map_err(|e| {
        StoreError::DamagedRecord(format!("stored dossier {code} does not validate: {e}"))
    })?;
    let sheet = ControlSheet::of(&dossier, &store.calendar(), crate::store::now_ms())
        .map_err(|e| StoreError::Invalid(format!("dossier {code}: {e}")))?;
    let bytes = match format {
        Format::Html => html::control_sheet(&dossier, &sheet, names).into_bytes(),
        _ => serde_json::to_vec_pretty(&json!({ "dossier": dossier, "control_sheet": sheet }))
            .unwrap_or_default(),
    };
    let format = if format == Format::Html {
        Format::Html
    } else {
        Format::Json
    };
    Ok(Some(Rendered {
        content_type: format.content_type(),
        file_name: format!("phieu-kiem-soat_{}.{}", dossier.code, format.extension()),
        bytes,
    }))
}
