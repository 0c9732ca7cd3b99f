//! A logged-in user's browser enrols itself as a device of the user's unit.
//!
//! The web app needs a device identity to sync (a device token, Automerge
//! actors bound to it, dossier code slots). Instead of an administrator
//! handing out a one-time code for every tablet and phone, a user who has
//! logged in may enrol the browser they are using: the device belongs to the
//! user's own unit (so its scope is that unit's subtree, as for any device),
//! a clerk's gets one code slot to issue dossier codes from, and a leader's
//! or specialist's none. Both steps are in the audit log under the user's
//! name, and an administrator can revoke the device like any other.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::Hub;
use super::api::{ApiError, Caller, blocking};
use crate::store::identity::{DeviceKind, Role};

pub fn routes() -> Router<Arc<Hub>> {
    Router::new().route("/api/devices/browser", post(enrol_browser))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrowserEnrolment {
    /// A name for the device list, e.g. "Máy tính bảng – Nguyễn Thị Hoa".
    name: String,
    /// The Automerge actors (hex) the browser signs with.
    actors: Vec<String>,
}

async fn enrol_browser(
    State(hub): State<Arc<Hub>>,
    Caller(user): Caller,
    Json(body): Json<BrowserEnrolment>,
) -> Result<Response, ApiError> {
    if user.role == Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "administrators work on the hub directly and hold no replica; log in as a clerk, specialist or leader",
        ));
    }
    let actors = super::api::parse_actors(&body.actors)?;
    if actors.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "send the actor the browser signs with",
        ));
    }
    let name = body.name.trim().chars().take(100).collect::<String>();
    let name = if name.is_empty() {
        format!("Trình duyệt – {}", user.full_name)
    } else {
        name
    };
    let slots = if user.role == Role::Clerk { 1 } else { 0 };
    let store = hub.store.clone();
    let by = format!("user:{}", user.username);
    let enrolled = blocking(move || {
        let enrolment =
            store.create_enrolment(&user.unit, &name, slots, DeviceKind::Device, &by)?;
        store.enrol(&enrolment.code, &actors)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}
