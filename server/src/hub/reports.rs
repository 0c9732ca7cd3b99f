//! The report endpoints: report 06a with drill-down, the late-dossier
//! report, Form 06 and Form 07, for the caller's unit subtree only (session
//! token, as for `/api/dossiers`).
//!
//! ```text
//! GET /api/reports/06a?from=YYYY-MM-DD&to=YYYY-MM-DD[&unit=][&field=][&group=unit|field|clerk|total][&format=json|csv|xlsx|html][&lists=true]
//! GET /api/reports/06a/dossiers?from&to[&unit][&field]&group=…&key=…&column=…
//! GET /api/reports/late?from&to[&unit][&field][&format=…]
//! GET /api/reports/form06/{code}[?format=html|json]
//! GET /api/reports/form07?from&to[&unit][&field][&format=…]
//! ```
//!
//! A unit outside the caller's subtree is answered like an unknown one.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use client_core::ids::UnitCode;
use client_core::statistics::{Column, Grouping, Period};
use serde::Deserialize;
use serde_json::json;

use super::Hub;
use super::api::{ApiError, ApiResult, Caller};
use crate::reports::{self, Format, Names, Rendered, ReportData, ReportError, ReportRequest};
use crate::store::identity::User;

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/api/reports/06a", get(report_06a))
        .route("/api/reports/06a/dossiers", get(drill_down))
        .route("/api/reports/late", get(late))
        .route("/api/reports/form06/{code}", get(form_06))
        .route("/api/reports/form07", get(form_07))
}

/// The query string of every report.
#[derive(Debug, Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    unit: Option<String>,
    field: Option<String>,
    group: Option<String>,
    format: Option<String>,
    #[serde(default)]
    lists: bool,
    key: Option<String>,
    column: Option<String>,
}

fn date(value: Option<&str>, name: &str) -> ApiResult<NaiveDate> {
    let value = value.ok_or_else(|| {
        ApiError::bad_request(format!(
            "thiếu tham số {name} / the {name} parameter is missing: give a date as YYYY-MM-DD"
        ))
    })?;
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(format!(
            "{name} '{}' không phải ngày dạng YYYY-MM-DD / {name} is not a date: write it as YYYY-MM-DD",
            value.chars().take(40).collect::<String>()
        ))
    })
}

impl ReportQuery {
    /// The request, limited to the caller's subtree.
    fn request(&self, hub: &Hub, user: &User) -> ApiResult<ReportRequest> {
        let period = Period::new(
            date(self.from.as_deref(), "from")?,
            date(self.to.as_deref(), "to")?,
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let unit = match &self.unit {
            Some(u) => UnitCode::parse(u).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => user.unit.clone(),
        };
        if !hub.store.units().is_within(&unit, &user.unit) {
            return Err(ApiError::not_found("unit"));
        }
        Ok(ReportRequest {
            unit,
            period,
            field: self.field.clone().filter(|f| !f.trim().is_empty()),
        })
    }

    fn format(&self) -> ApiResult<Format> {
        match &self.format {
            None => Ok(Format::Json),
            Some(f) => Format::parse(f).ok_or_else(|| {
                ApiError::bad_request("format phải là json, csv, xlsx hoặc html / format must be json, csv, xlsx or html")
            }),
        }
    }

    fn grouping(&self) -> ApiResult<Grouping> {
        match &self.group {
            None => Ok(Grouping::Unit),
            Some(g) => Grouping::parse(g).ok_or_else(|| {
                ApiError::bad_request("group phải là total, unit, field hoặc clerk / group must be total, unit, field or clerk")
            }),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::UnknownUnit(_) => ApiError::not_found("unit"),
            ReportError::Store(e) => e.into(),
            ReportError::Xlsx(e) => {
                tracing::error!("xlsx: {e}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the hub could not write the XLSX file; try CSV, or try again",
                )
            }
        }
    }
}

/// A file answer: inline for JSON and HTML, an attachment for CSV and XLSX.
fn file(rendered: Rendered) -> Response {
    let disposition =
        if rendered.file_name.ends_with(".csv") || rendered.file_name.ends_with(".xlsx") {
            "attachment"
        } else {
            "inline"
        };
    (
        [
            (header::CONTENT_TYPE, rendered.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}\"", rendered.file_name),
            ),
        ],
        rendered.bytes,
    )
        .into_response()
}

/// Runs report work off the async runtime.
async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReportError> + Send + 'static,
) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

async fn report_06a(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let request = query.request(&hub, &user)?;
    let (format, grouping, lists) = (query.format()?, query.grouping()?, query.lists);
    let store = hub.store.clone();
    let rendered =
        run(move || reports::report_06a_file(&store, request, grouping, format, lists)).await?;
    Ok(file(rendered))
}

async fn drill_down(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let request = query.request(&hub, &user)?;
    let grouping = query.grouping()?;
    let column = query
        .column
        .as_deref()
        .and_then(Column::parse)
        .ok_or_else(|| {
            let known: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
            ApiError::bad_request(format!(
                "column phải là một trong / column must be one of: {}",
                known.join(", ")
            ))
        })?;
    let key = query.key.clone().unwrap_or_default();
    let store = hub.store.clone();
    let lines = run(move || {
        let data = ReportData::load(&store, request)?;
        let report = data.report_06a();
        let names = Names::load(&store)?;
        Ok(reports::drill_down(
            &store, &report, grouping, &key, column, &names,
        )?)
    })
    .await?;
    Ok(Json(json!({ "column": column, "count": lines.len(), "dossiers": lines })).into_response())
}

async fn late(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let request = query.request(&hub, &user)?;
    let format = query.format()?;
    let store = hub.store.clone();
    let rendered = run(move || reports::late_file(&store, request, format)).await?;
    Ok(file(rendered))
}

#[derive(Debug, Deserialize)]
struct FormQuery {
    format: Option<String>,
}

async fn form_06(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Path(code): Path<String>,
    Query(query): Query<FormQuery>,
) -> ApiResult<Response> {
    let format = match query.format.as_deref() {
        None => Format::Html,
        Some(f) => match Format::parse(f) {
            Some(f @ (Format::Html | Format::Json)) => f,
            _ => {
                return Err(ApiError::bad_request(
                    "phiếu kiểm soát có dạng html hoặc json / the control sheet comes as html or json",
                ));
            }
        },
    };
    let store = hub.store.clone();
    let rendered = run(move || {
        let names = Names::load(&store)?;
        reports::control_sheet(&store, &code, Some(&user.unit), &names, format)
    })
    .await?;
    rendered
        .map(file)
        .ok_or_else(|| ApiError::not_found("dossier"))
}

async fn form_07(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let request = query.request(&hub, &user)?;
    let format = match &query.format {
        None => Format::Html,
        Some(_) => query.format()?,
    };
    let store = hub.store.clone();
    let rendered = run(move || reports::register_file(&store, &request, format)).await?;
    Ok(file(rendered))
}
