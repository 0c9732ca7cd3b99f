//! Printable pages: report 06a, Form 06 (control sheet), Form 07 (register)
//! and any report table. Each page is one self-contained HTML file (styles
//! inline, nothing fetched) laid out for A4 paper, in Vietnamese.

use client_core::dossier::Dossier;
use client_core::forms::ControlSheet;
use client_core::statistics::{Column, Figures, Grouping, ON_TIME_RATE_VI, Report06a};

use super::table::{Cell, Table, local_date, local_time};
use super::{Names, ReportData};
use client_core::deadline::Timeliness;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
@page { size: A4 landscape; margin: 12mm 10mm; }
@page portrait { size: A4 portrait; margin: 15mm 15mm; }
body { font-family: "Times New Roman", "Liberation Serif", serif; font-size: 11pt; color: #000; margin: 0 auto; max-width: 277mm; }
body.portrait { max-width: 180mm; page: portrait; }
.head { display: flex; justify-content: space-between; text-align: center; margin-bottom: 6mm; }
.head div { width: 48%; }
.head .motto { font-weight: bold; }
.head .motto span { display: block; text-decoration: underline; }
h1 { font-size: 13pt; text-align: center; margin: 2mm 0; text-transform: uppercase; }
.sub { text-align: center; font-style: italic; margin-bottom: 4mm; }
table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
tr { page-break-inside: avoid; }
thead { display: table-header-group; }
th, td { border: 1px solid #000; padding: 1mm 1.2mm; vertical-align: top; }
th { font-weight: bold; text-align: center; vertical-align: middle; font-size: 9.5pt; }
td.n { text-align: right; }
tr.total td { font-weight: bold; }
.facts td { border: none; padding: 0.5mm 1mm; }
.signatures { display: flex; justify-content: space-around; margin-top: 10mm; text-align: center; }
.signatures div { width: 40%; }
.signatures .space { height: 22mm; }
.note { font-size: 9pt; margin-top: 3mm; }
@media screen { body { padding: 10mm; } }
"#;

fn page(title: &str, portrait: bool, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\
         <body class=\"{}\">{body}</body></html>\n",
        escape(title),
        if portrait { "portrait" } else { "landscape" },
    )
}

/// The heading every form carries: the issuing unit, and the national name
/// and motto.
fn heading(unit_name: &str) -> String {
    format!(
        "<div class=\"head\"><div><strong>{}</strong></div>\
         <div class=\"motto\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\
         <span>Độc lập - Tự do - Hạnh phúc</span></div></div>",
        escape(&unit_name.to_uppercase())
    )
}

fn cell_html(cell: &Cell) -> String {
    match cell {
        Cell::Count(_) | Cell::Rate(_) => {
            format!("<td class=\"n\">{}</td>", escape(&cell.display()))
        }
        _ => format!("<td>{}</td>", escape(&cell.display())),
    }
}

fn table_html(table: &Table) -> String {
    let mut html = String::from("<table><thead><tr>");
    for h in &table.headers {
        html.push_str(&format!("<th>{}</th>", escape(h)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&cell_html(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// Any report table as a printable page.
pub fn table_page(table: &Table) -> String {
    page(
        &table.title,
        false,
        &format!(
            "<h1>{}</h1>{}<p class=\"note\">Số dòng: {}</p>",
            escape(&table.title),
            table_html(table),
            table.rows.len()
        ),
    )
}

/// Form 07, the register (sổ theo dõi hồ sơ).
pub fn register(table: &Table) -> String {
    page(
        &table.title,
        false,
        &format!(
            "<p style=\"text-align:right\">Mẫu số 07</p><h1>Sổ theo dõi hồ sơ</h1>\
             <div class=\"sub\">{}</div>{}<p class=\"note\">Tổng số hồ sơ: {}</p>",
            escape(table.title.split_once(" — ").map_or("", |(_, rest)| rest)),
            table_html(table),
            table.rows.len()
        ),
    )
}

/// The columns of report 06a under their group headings, as on the form.
const GROUPS: [(&str, &[(Column, &str)]); 6] = [
    (
        "Số hồ sơ nhận giải quyết",
        &[
            (Column::Received, "Tổng số"),
            (Column::CarriedOver, "Kỳ trước chuyển sang"),
            (Column::NewOnline, "Mới tiếp nhận trực tuyến"),
            (
                Column::NewDirectOrPostal,
                "Mới tiếp nhận trực tiếp, bưu chính",
            ),
        ],
    ),
    (
        "Số hồ sơ đã giải quyết",
        &[
            (Column::Resolved, "Tổng số"),
            (Column::Early, "Trước hạn"),
            (Column::OnTime, "Đúng hạn"),
            (Column::Late, "Quá hạn"),
        ],
    ),
    ("", &[(Column::Refused, "Từ chối giải quyết")]),
    ("", &[(Column::Withdrawn, "Công dân rút hồ sơ")]),
    (
        "Số hồ sơ đang giải quyết",
        &[
            (Column::InProgress, "Tổng số"),
            (Column::WithinDeadline, "Trong hạn"),
            (Column::AwaitingSupplement, "Trong đó chờ bổ sung"),
            (Column::Overdue, "Quá hạn"),
        ],
    ),
    (
        "",
        &[(Column::AwaitingPayment, "Chờ thực hiện nghĩa vụ tài chính")],
    ),
];

fn figures_cells(figures: &Figures) -> String {
    let mut html = String::new();
    for (_, columns) in GROUPS {
        for (column, _) in columns {
            html.push_str(&format!("<td class=\"n\">{}</td>", figures.get(*column)));
        }
    }
    let rate = Cell::Rate(figures.on_time_rate()).display();
    html.push_str(&format!("<td class=\"n\">{}</td>", escape(&rate)));
    html
}

/// Report 06a as the printed form: grouped headings, one row per key of
/// `grouping`, the total last.
pub fn report_06a(
    data: &ReportData,
    report: &Report06a<'_>,
    grouping: Grouping,
    names: &Names,
) -> String {
    let unit_name = names.unit(data.request.unit.as_str());
    let period = data.request.period;
    let mut head_top = format!(
        "<tr><th rowspan=\"2\">STT</th><th rowspan=\"2\">{}</th>",
        escape(grouping.name_vi())
    );
    let mut head_bottom = String::from("<tr>");
    for (group, columns) in GROUPS {
        if group.is_empty() {
            head_top.push_str(&format!("<th rowspan=\"2\">{}</th>", escape(columns[0].1)));
        } else {
            head_top.push_str(&format!(
                "<th colspan=\"{}\">{}</th>",
                columns.len(),
                escape(group)
            ));
            for (_, label) in columns {
                head_bottom.push_str(&format!("<th>{}</th>", escape(label)));
            }
        }
    }
    head_top.push_str(&format!(
        "<th rowspan=\"2\">{}</th></tr>",
        escape(ON_TIME_RATE_VI)
    ));
    head_bottom.push_str("</tr>");

    let mut body = String::new();
    if grouping != Grouping::Total {
        for (i, (key, figures)) in report.rows(grouping).into_iter().enumerate() {
            body.push_str(&format!(
                "<tr><td class=\"n\">{}</td><td>{}</td>{}</tr>",
                i + 1,
                escape(&names.of(grouping, key)),
                figures_cells(figures)
            ));
        }
    }
    body.push_str(&format!(
        "<tr class=\"total\"><td></td><td>Tổng cộng</td>{}</tr>",
        figures_cells(report.total())
    ));
    let field = data
        .request
        .field
        .as_deref()
        .map(|f| {
            format!(
                "<div class=\"sub\">Lĩnh vực: {}</div>",
                escape(&names.field(f))
            )
        })
        .unwrap_or_default();
    let mut unclassified: Vec<String> = report
        .unclassified()
        .iter()
        .chain(data.damaged())
        .map(|u| format!("{}: {}", u.code, u.reason))
        .collect();
    unclassified.sort();
    let problems = if unclassified.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"note\">Hồ sơ không tính được (không có trong số liệu): {}</p>",
            escape(&unclassified.join("; "))
        )
    };
    let title = "Báo cáo tình hình, kết quả giải quyết thủ tục hành chính";
    page(
        &format!("Mẫu 06a — {unit_name}"),
        false,
        &format!(
            "<p style=\"text-align:right\">Mẫu số 06a</p>{}<h1>{title}</h1>\
             <div class=\"sub\">Kỳ báo cáo: từ ngày {} đến ngày {}</div>{field}\
             <table><thead>{head_top}{head_bottom}</thead><tbody>{body}</tbody></table>\
             <p class=\"note\">Số liệu tính đến hết ngày {}. Đúng hạn: giải quyết xong trong \
             ngày hẹn trả (sau khi cộng thời gian chờ công dân bổ sung hoặc thực hiện nghĩa \
             vụ tài chính theo quy định của thủ tục). Tỷ lệ đúng hạn = (trước hạn + đúng hạn) / \
             (trước hạn + đúng hạn + quá hạn).</p>{problems}\
             <div class=\"signatures\"><div><strong>Người lập biểu</strong>\
             <div class=\"space\"></div></div><div><strong>Thủ trưởng đơn vị</strong>\
             <div class=\"space\"></div></div></div>",
            heading(&unit_name),
            local_date(period.from()),
            local_date(period.to()),
            local_date(period.to()),
        ),
    )
}

fn timeliness_vi(t: Timeliness) -> &'static str {
    match t {
        Timeliness::Early => "Trước hạn",
        Timeliness::OnTime => "Đúng hạn",
        Timeliness::Late => "Quá hạn",
        Timeliness::WithinDeadline => "Đang giải quyết, trong hạn",
        Timeliness::Overdue => "Đang giải quyết, quá hạn",
    }
}

/// Form 06, the control sheet of one dossier: one row per hand-off.
pub fn control_sheet(dossier: &Dossier, sheet: &ControlSheet, names: &Names) -> String {
    let unit_name = names.unit(dossier.unit.as_str());
    let party = |p: &client_core::forms::Party| {
        format!(
            "{} — {}",
            escape(&names.unit(p.unit.as_str())),
            escape(&names.clerk(&p.user))
        )
    };
    let mut rows = String::new();
    for (i, row) in sheet.rows.iter().enumerate() {
        let from = row
            .from
            .as_ref()
            .map_or_else(|| escape(&dossier.applicant.full_name), party);
        let result = match row.timeliness {
            Some(t) => format!("{} — {}", row.stage.name_vi(), timeliness_vi(t)),
            None => row.stage.name_vi().to_string(),
        };
        rows.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>Giao: {from}<br>Nhận: {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            party(&row.to),
            escape(&local_time(row.at)),
            escape(&result),
            escape(&row.note),
        ));
    }
    let standing = sheet
        .timeliness
        .map_or("Đã kết thúc (từ chối hoặc rút hồ sơ)", timeliness_vi);
    page(
        &format!("Phiếu kiểm soát {}", dossier.code),
        true,
        &format!(
            "<p style=\"text-align:right\">Mẫu số 06</p>{}<h1>Phiếu kiểm soát quá trình giải quyết hồ sơ</h1>\
             <table class=\"facts\"><tr><td>Mã hồ sơ:</td><td><strong>{}</strong></td></tr>\
             <tr><td>Người nộp hồ sơ:</td><td>{}</td></tr>\
             <tr><td>Thủ tục:</td><td>{}</td></tr>\
             <tr><td>Ngày tiếp nhận:</td><td>{}</td></tr>\
             <tr><td>Ngày hẹn trả kết quả:</td><td>{} (sau khi tính thời gian chờ: {})</td></tr>\
             <tr><td>Tình trạng:</td><td>{}</td></tr></table><br>\
             <table><thead><tr><th>STT</th><th>Tên cơ quan, đơn vị (giao, nhận hồ sơ)</th>\
             <th>Thời gian giao, nhận hồ sơ</th><th>Kết quả giải quyết hồ sơ<br>(trước hạn / đúng hạn / quá hạn)</th>\
             <th>Ghi chú</th></tr></thead><tbody>{rows}</tbody></table>",
            heading(&unit_name),
            escape(&dossier.code.to_string()),
            escape(&dossier.applicant.full_name),
            escape(&dossier.procedure.name),
            escape(&local_time(dossier.received_at)),
            escape(&local_time(dossier.due_at)),
            escape(&local_time(sheet.due_at)),
            escape(standing),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<b>Trần & \"Lê\"</b>"),
            "&lt;b&gt;Trần &amp; &quot;Lê&quot;&lt;/b&gt;"
        );
    }
}
