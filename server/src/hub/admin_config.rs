//! Administration of what the top hub publishes: the unit tree, the
//! procedure catalogue and the working calendar.
//!
//! Every change is validated whole, written to the hub's database, recorded
//! in the audit log and republished as the configuration document, so every
//! device and every hub below receives it with its next sync. Hubs below the
//! top one receive configuration and refuse to edit it.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use client_core::calendar::{Holiday, HolidayKind, WorkingCalendar};
use client_core::catalogue::Catalogue;
use client_core::config::{self, ConfigKind};
use client_core::deadline::ProcessingTime;
use client_core::ids::UnitCode;
use client_core::units::{Unit, UnitLevel};
use serde::Deserialize;
use serde_json::json;

use super::Hub;
use super::api::{ApiError, Caller, blocking};
use super::publish;
use crate::store::identity::{Role, User};
use crate::store::{Store, StoreError};

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/api/admin/units", post(save_unit))
        .route("/api/admin/catalogue", get(catalogue))
        .route("/api/admin/catalogue/procedures/{id}", put(edit_procedure))
        .route("/api/admin/calendar", get(calendar_year))
        .route("/api/admin/calendar/days", post(set_day))
        .route("/api/admin/calendar/seed", post(seed_year))
}

/// A logged-in administrator: anyone else is answered 401 or 403 before the
/// handler starts.
struct Admin(User);

impl FromRequestParts<Arc<Hub>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, ApiError> {
        let Caller(user) = Caller::from_request_parts(parts, hub).await?;
        if user.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only an administrator may change the configuration",
            ));
        }
        Ok(Admin(user))
    }
}

/// Runs an administrator's change off the async runtime, with the store and
/// who made it, as the audit log names them.
async fn as_admin<T: Send + 'static>(
    hub: &Arc<Hub>,
    Admin(user): Admin,
    change: impl FnOnce(&Store, &User, &str) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = hub.store.clone();
    blocking(move || {
        let by = format!("user:{}", user.username);
        change(&store, &user, &by)
    })
    .await
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

// ------------------------------------------------------------------ units

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitForm {
    code: String,
    name: String,
    level: UnitLevel,
    parent: Option<String>,
}

async fn save_unit(
    State(hub): State<Arc<Hub>>,
    admin: Admin,
    Json(form): Json<UnitForm>,
) -> Result<Response, ApiError> {
    let code = UnitCode::parse(&form.code).map_err(|e| bad(e.to_string()))?;
    let parent = form
        .parent
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(UnitCode::parse)
        .transpose()
        .map_err(|e| bad(e.to_string()))?;
    as_admin(&hub, admin, move |store, user, by| {
        // An administrator works inside their own subtree only: a unit goes
        // under a parent one administers, and only an existing unit of one's
        // own may be left without a parent (the top of the tree).
        let units = store.units();
        let inside = |c: &UnitCode| units.is_within(c, &user.unit);
        let allowed = match &parent {
            Some(p) => inside(p),
            None => units.contains(&code) && inside(&code),
        };
        if !allowed {
            return Err(StoreError::NotFound(
                "the parent unit is not one you administer".into(),
            ));
        }
        let unit = Unit {
            code,
            name: client_core::search::normalize(&form.name),
            level: form.level,
            parent,
            effective_from: None,
            effective_to: None,
        };
        store.upsert_units(std::slice::from_ref(&unit))?;
        audit(store, by, "unit.save", unit.code.as_str(), &unit.name)?;
        publish::publish_units(store)
    })
    .await?;
    Ok(Json(hub.store.units().as_ref().clone()).into_response())
}

// -------------------------------------------------------------- catalogue

fn published_catalogue(store: &Store) -> Result<Catalogue, StoreError> {
    let doc = store.load_doc(&ConfigKind::Catalogue.doc_id())?;
    let body = doc
        .and_then(|d| config::read(&d).ok())
        .map(|(_, body, _)| body);
    Ok(config::catalogue_or_seed(body.as_deref()))
}

#[derive(Deserialize)]
struct CatalogueQuery {
    /// Name or code, diacritics optional.
    #[serde(default)]
    q: String,
}

/// The current procedures matching `q`, as the devices have them.
async fn catalogue(
    State(hub): State<Arc<Hub>>,
    _: Admin,
    Query(query): Query<CatalogueQuery>,
) -> Result<Response, ApiError> {
    let store = hub.store.clone();
    let found = blocking(move || {
        let catalogue = published_catalogue(&store)?;
        Ok(catalogue
            .search(&query.q)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "procedures": found })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedureEdit {
    name: Option<String>,
    /// Working days (0 for same-day).
    processing_days: Option<u32>,
    fee_vnd: Option<u64>,
    /// The required documents, one name per entry, in order.
    required_documents: Option<Vec<String>>,
}

async fn edit_procedure(
    State(hub): State<Arc<Hub>>,
    admin: Admin,
    Path(id): Path<String>,
    Json(edit): Json<ProcedureEdit>,
) -> Result<Response, ApiError> {
    let saved = as_admin(&hub, admin, move |store, _, by| {
        let mut catalogue = published_catalogue(store)?;
        let json = catalogue
            .to_json()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let current = catalogue
            .procedure(&id)
            .map(|p| p.version.clone())
            .ok_or_else(|| StoreError::NotFound(format!("procedure {id}")))?;
        let procedures = value["procedures"]
            .as_array_mut()
            .ok_or_else(|| StoreError::Invalid("catalogue without procedures".into()))?;
        let p = procedures
            .iter_mut()
            .find(|p| p["id"] == id.as_str() && p["version"] == current.as_str())
            .ok_or_else(|| StoreError::NotFound(format!("procedure {id}")))?;
        if let Some(name) = &edit.name {
            p["name"] = json!(client_core::search::normalize(name));
        }
        if let Some(days) = edit.processing_days {
            p["processing_time"] = serde_json::to_value(ProcessingTime::working_days(days))
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        if let Some(fee) = edit.fee_vnd {
            p["fee"]["amount_vnd"] = json!(fee);
        }
        if let Some(docs) = &edit.required_documents {
            let old = p["required_documents"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            p["required_documents"] = docs
                .iter()
                .map(|name| name.trim())
                .filter(|name| !name.is_empty())
                .map(|name| {
                    old.iter()
                        .find(|d| d["name"] == name)
                        .cloned()
                        .unwrap_or_else(
                            || json!({ "name": name, "form": "original_or_copy", "count": 1 }),
                        )
                })
                .collect();
        }
        // Parsing validates the whole catalogue, as devices will.
        catalogue = Catalogue::from_json(&value.to_string())
            .map_err(|e| StoreError::Invalid(format!("the catalogue would not be valid: {e}")))?;
        let json = catalogue
            .to_json()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        publish::publish(store, ConfigKind::Catalogue, &json)?;
        audit(store, by, "catalogue.edit", &id, "")?;
        Ok(catalogue.procedure(&id).cloned())
    })
    .await?;
    Ok(Json(saved).into_response())
}

// --------------------------------------------------------------- calendar

#[derive(Deserialize)]
struct YearQuery {
    year: i32,
}

fn year_view(calendar: &WorkingCalendar, year: i32) -> serde_json::Value {
    let holidays: Vec<&Holiday> = calendar
        .holidays()
        .filter(|h| h.date.year() == year)
        .collect();
    let swapped: Vec<NaiveDate> = calendar
        .swapped_working_days()
        .filter(|d| d.year() == year)
        .collect();
    json!({ "year": year, "holidays": holidays, "swapped_working_days": swapped })
}

async fn calendar_year(
    State(hub): State<Arc<Hub>>,
    _: Admin,
    Query(q): Query<YearQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(year_view(&hub.store.calendar(), q.year)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum DayKind {
    /// A day off with a name.
    Holiday,
    /// A weekend day worked to make up for a day off.
    Working,
    /// Back to the rules: no holiday, no swap.
    Normal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEdit {
    date: NaiveDate,
    kind: DayKind,
    #[serde(default)]
    name: String,
}

async fn set_day(
    State(hub): State<Arc<Hub>>,
    admin: Admin,
    Json(edit): Json<DayEdit>,
) -> Result<Response, ApiError> {
    let view = as_admin(&hub, admin, move |store, _, by| {
        let mut calendar = store.calendar().as_ref().clone();
        calendar.remove_holiday(edit.date);
        calendar.remove_swapped_working_day(edit.date);
        let invalid = |e: client_core::calendar::CalendarError| StoreError::Invalid(e.to_string());
        let what = match edit.kind {
            DayKind::Holiday => {
                let name = client_core::search::normalize(&edit.name);
                if name.is_empty() {
                    return Err(StoreError::Invalid("give the day off a name".into()));
                }
                calendar
                    .add_holiday(Holiday {
                        date: edit.date,
                        name,
                        kind: HolidayKind::Declared,
                    })
                    .map_err(invalid)?;
                "holiday"
            }
            DayKind::Working => {
                calendar
                    .add_swapped_working_day(edit.date)
                    .map_err(invalid)?;
                "working"
            }
            DayKind::Normal => "normal",
        };
        publish::publish_calendar(store, &calendar)?;
        audit(store, by, "calendar.day", &edit.date.to_string(), what)?;
        Ok(year_view(&calendar, edit.date.year()))
    })
    .await?;
    Ok(Json(view).into_response())
}

async fn seed_year(
    State(hub): State<Arc<Hub>>,
    admin: Admin,
    Json(q): Json<YearQuery>,
) -> Result<Response, ApiError> {
    let view = as_admin(&hub, admin, move |store, _, by| {
        let mut calendar = store.calendar().as_ref().clone();
        let seeded = WorkingCalendar::seeded(q.year..=q.year)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        for holiday in seeded.holidays() {
            if calendar.holiday(holiday.date).is_none() {
                calendar
                    .add_holiday(holiday.clone())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
            }
        }
        publish::publish_calendar(store, &calendar)?;
        audit(store, by, "calendar.seed", &q.year.to_string(), "")?;
        Ok(year_view(&calendar, q.year))
    })
    .await?;
    Ok(Json(view).into_response())
}

fn audit(
    store: &Store,
    by: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    store.audit(by, action, target, detail)
}
