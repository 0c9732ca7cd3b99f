//! A report as a plain table, and the two file formats it is downloaded in:
//! CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
//! Vietnamese headers right) and XLSX.

use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u32),
    /// A fraction from 0 to 1, shown as a percentage; blank when there is
    /// none.
    Rate(Option<f64>),
    /// An instant in milliseconds, shown in Vietnam's time; blank when none.
    Time(Option<i64>),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as CSV and the HTML pages show it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Rate(Some(r)) => format!("{:.1}", r * 100.0),
            Cell::Rate(None) | Cell::Time(None) => String::new(),
            Cell::Time(Some(ms)) => local_time(*ms),
        }
    }
}

/// `dd/mm/yyyy HH:MM` in Vietnam's time, as Vietnamese forms write it.
pub fn local_time(ms: i64) -> String {
    client_core::time::from_millis(ms)
        .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default()
}

/// `dd/mm/yyyy`.
pub fn local_date(day: chrono::NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// A titled table with one header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    /// The XLSX sheet's name (at most 31 characters).
    pub sheet: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from("\u{feff}");
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        };
        out.push_str(&line(self.headers.clone()));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(Cell::display).collect()));
        }
        out.into_bytes()
    }

    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let name: String = self.sheet.chars().take(31).collect();
        sheet.set_name(&name)?;
        let title = Format::new().set_bold().set_font_size(13);
        let header = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border(rust_xlsxwriter::FormatBorder::Thin);
        let percent = Format::new().set_num_format("0.0%");
        sheet.write_string_with_format(0, 0, &self.title, &title)?;
        // Headers on the third row, data below them.
        const HEADER_ROW: u32 = 2;
        for (col, text) in self.headers.iter().enumerate() {
            let col = col as u16;
            sheet.write_string_with_format(HEADER_ROW, col, text, &header)?;
            sheet.set_column_width(col, if col == 0 { 28 } else { 14 })?;
        }
        sheet.set_row_height(HEADER_ROW, 48)?;
        for (i, row) in self.rows.iter().enumerate() {
            let r = HEADER_ROW + 1 + i as u32;
            for (col, cell) in row.iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Text(s) => {
                        sheet.write_string(r, col, s)?;
                    }
                    Cell::Count(n) => {
                        sheet.write_number(r, col, f64::from(*n))?;
                    }
                    Cell::Rate(Some(rate)) => {
                        sheet.write_number_with_format(r, col, *rate, &percent)?;
                    }
                    Cell::Rate(None) | Cell::Time(None) => {}
                    Cell::Time(Some(_)) => {
                        sheet.write_string(r, col, cell.display())?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(HEADER_ROW + 1, 1)?;
        workbook.save_to_buffer()
    }
}

fn csv_field(value: &str) -> String {
    // A cell starting with one of these is a formula to Excel and LibreOffice
    // (an applicant named `=HYPERLINK(...)` would run in the reader's sheet):
    // a leading single quote makes it text, as OWASP's CSV-injection advice says.
    let escaped;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        escaped = format!("'{value}");
        escaped.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_starts_with_a_byte_order_mark() {
        let table = Table {
            title: "t".into(),
            sheet: "s".into(),
            headers: vec!["Đơn vị".into(), "Tỷ lệ".into()],
            rows: vec![vec![Cell::text("Xã \"Tân\", Phong"), Cell::Rate(Some(0.5))]],
        };
        let csv = String::from_utf8(table.to_csv()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}Đơn vị,Tỷ lệ\r\n\"Xã \"\"Tân\"\", Phong\",50.0\r\n"
        );
    }

    #[test]
    fn csv_cells_that_excel_would_run_as_formulas_start_with_a_quote() {
        let table = Table {
            title: "t".into(),
            sheet: "s".into(),
            headers: vec!["a".into()],
            rows: [
                "=1+1",
                "+84 912",
                "-2",
                "@SUM(A1)",
                "\tx",
                "\r=1",
                "Nguyễn = A",
            ]
            .into_iter()
            .map(|s| vec![Cell::text(s)])
            .collect(),
        };
        let csv = String::from_utf8(table.to_csv()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}a\r\n'=1+1\r\n'+84 912\r\n'-2\r\n'@SUM(A1)\r\n'\tx\r\n\"'\r=1\"\r\nNguyễn = A\r\n"
        );
    }
}
