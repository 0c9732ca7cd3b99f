//! The hub's JSON API.
//!
//! Staff log in with a password and get a session token (`Authorization:
//! Bearer …`); every answer is limited to the caller's unit subtree. Devices
//! enrol with a one-time code. Citizens look a dossier up by its code and see
//! no personal data. Errors are `{"error": {"code", "message"}}` with a
//! message that says what to do.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use client_core::dossier::DossierDoc;
use client_core::ids::UnitCode;
use serde::Deserialize;
use serde_json::json;

use super::Hub;
use super::metrics::StoreFigures;
use crate::store::identity::{DeviceKind, Role, User};
use crate::store::index::DossierFilter;
use crate::store::{StoreError, now_ms};

type HubState = State<Arc<Hub>>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in first (Authorization: Bearer <token>)",
        )
    }

    fn forbidden(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("your role may not {what}"),
        )
    }

    pub(super) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            e if e.is_bad_request() => ApiError::bad_request(e.to_string()),
            StoreError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            e if e.is_disk_full() => {
                tracing::error!("store error: {e}");
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", e.to_string())
            }
            other => {
                tracing::error!("store error: {other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the hub could not complete the request; try again",
                )
            }
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        tracing::error!("task failed: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the hub could not complete the request; try again",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// Runs store work off the async runtime.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    // What the store logs belongs to the request that asked.
    let span = tracing::Span::current();
    Ok(tokio::task::spawn_blocking(move || span.in_scope(f)).await??)
}

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/units", get(units))
        .route("/api/dossiers", get(list_dossiers))
        .route("/api/dossiers/{code}", get(dossier_detail))
        .route("/api/public/dossiers/{code}", get(public_lookup))
        .route("/api/enrol", post(enrol))
        .route("/api/admin/enrolments", post(create_enrolment))
        .route("/api/admin/devices", get(devices))
        .route("/api/admin/devices/{id}/revoke", post(revoke_device))
        .route("/api/admin/users", get(users).post(create_user))
        .route("/api/admin/quarantine", get(quarantine))
        .route("/api/admin/audit", get(audit))
}

pub async fn healthz(State(hub): HubState) -> Response {
    match blocking(move || hub.store.current_seq()).await {
        Ok(seq) => Json(json!({ "status": "ok", "seq": seq })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Ready to take work: the schema is current and the database takes a
/// durable write. 503 with the reason otherwise, so a load balancer or an
/// orchestrator sends no traffic to a hub that would refuse it.
pub async fn readyz(State(hub): HubState) -> Response {
    let span = tracing::Span::current();
    let answer = tokio::task::spawn_blocking(move || span.in_scope(|| hub.store.readiness())).await;
    match answer {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(reason)) => {
            tracing::warn!("not ready: {reason}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "reason": reason })),
            )
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn metrics(State(hub): HubState) -> Response {
    let h = hub.clone();
    let figures = blocking(move || {
        Ok((
            h.store.document_count()?,
            h.store.dossier_count()?,
            h.store.quarantine_count()?,
            h.store.current_seq()?,
        ))
    })
    .await;
    match figures {
        Ok((documents, dossiers, quarantined, seq)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            hub.metrics.render(StoreFigures {
                documents,
                dossiers,
                quarantined,
                seq,
                cached: hub.store.cached_documents(),
            }),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The logged-in user of a request (`Authorization: Bearer <session token>`).
/// A handler that takes it runs only for a live session; any other request
/// is answered 401 with the JSON error before the handler starts.
pub(super) struct Caller(pub User);

impl FromRequestParts<Arc<Hub>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> ApiResult<Self> {
        let token = bearer(&parts.headers)
            .ok_or_else(ApiError::unauthorized)?
            .to_string();
        let store = hub.store.clone();
        blocking(move || store.session_user(&token))
            .await?
            .map(Caller)
            .ok_or_else(ApiError::unauthorized)
    }
}

fn require(user: &User, roles: &[Role], what: &str) -> ApiResult<()> {
    if roles.contains(&user.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(what))
    }
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(hub): HubState,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    use super::login_guard::Refusal;
    let username = body.username.clone();
    let client = hub.login_guard.client(addr.ip(), &headers);
    if let Err(refusal) = hub.login_guard.check(client, &username) {
        let (code, message, wait) = match refusal {
            Refusal::Address(wait) => (
                "rate_limited",
                "too many log-in attempts from this address; wait and try again".to_string(),
                wait,
            ),
            Refusal::Account(wait) => (
                "account_locked",
                format!(
                    "this account is locked for {} minutes after repeated wrong passwords",
                    wait.as_secs().div_ceil(60)
                ),
                wait,
            ),
        };
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
        return Ok(response);
    }
    let store = hub.store.clone();
    let user = blocking(move || store.verify_login(&body.username, &body.password)).await?;
    let Some(user) = user else {
        hub.login_guard.failed(&username);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong user name or password",
        ));
    };
    hub.login_guard.succeeded(&username);
    let store = hub.store.clone();
    let username = user.username.clone();
    let token = blocking(move || store.create_session(&username)).await?;
    Ok(Json(json!({ "token": token, "user": user })).into_response())
}

async fn logout(State(hub): HubState, headers: HeaderMap) -> ApiResult<Response> {
    let token = bearer(&headers)
        .ok_or_else(ApiError::unauthorized)?
        .to_string();
    let store = hub.store.clone();
    blocking(move || store.end_session(&token)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn me(State(hub): HubState, Caller(user): Caller) -> ApiResult<Response> {
    let unit = hub.store.units().get(&user.unit).cloned();
    Ok(Json(json!({ "user": user, "unit": unit })).into_response())
}

async fn units(State(hub): HubState, _: Caller) -> ApiResult<Response> {
    Ok(Json(hub.store.units().as_ref().clone()).into_response())
}

async fn list_dossiers(
    State(hub): HubState,
    Caller(user): Caller,
    Query(filter): Query<DossierFilter>,
) -> ApiResult<Response> {
    let store = hub.store.clone();
    let page = blocking(move || {
        let scope = store.scope_of(&user.unit);
        store.list_dossiers(&scope, &filter, now_ms())
    })
    .await?;
    Ok(Json(page).into_response())
}

async fn dossier_detail(
    State(hub): HubState,
    Caller(user): Caller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let store = hub.store.clone();
    let detail = blocking(move || {
        let Some((doc_id, unit)) = store.doc_id_for_code(&code)? else {
            return Ok(None);
        };
        // Outside the caller's scope looks exactly like missing.
        if !store.units().is_within(&unit, &user.unit) {
            return Ok(None);
        }
        let Some(doc) = store.load_doc(&doc_id)? else {
            return Ok(None);
        };
        let doc = DossierDoc::from_automerge(doc);
        let dossier = doc.read().map_err(|e| {
            StoreError::Invalid(format!("stored dossier {code} does not validate: {e}"))
        })?;
        let progress = dossier.progress();
        Ok(Some(json!({
            "doc_id": doc_id.to_string(),
            "dossier": dossier,
            "progress": progress,
            "conflicts": doc.conflicts(),
        })))
    })
    .await?;
    detail
        .map(|d| Json(d).into_response())
        .ok_or_else(|| ApiError::not_found("dossier"))
}

/// What a citizen may see of a dossier: no personal data.
async fn public_lookup(
    State(hub): HubState,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    if !hub.public_limiter.allow(addr.ip()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many look-ups from this address; wait a minute",
        ));
    }
    let store = hub.store.clone();
    let found = blocking(move || {
        let Some((doc_id, _)) = store.doc_id_for_code(&code)? else { return Ok(None) };
        let Some(doc) = store.load_doc(&doc_id)? else { return Ok(None) };
        let Ok(dossier) = DossierDoc::from_automerge(doc).read() else { return Ok(None) };
        let progress = dossier.progress();
        Ok(Some(json!({
            "code": dossier.code.to_string(),
            "procedure": dossier.procedure.name,
            "status": progress.status.map(|s| s.code()),
            "status_name": progress.status.map(|s| s.name_vi()),
            "status_name_en": progress.status.map(|s| s.name_en()),
            "appointment": client_core::time::from_millis(dossier.due_at).map(|t| client_core::time::format_rfc3339(&t)),
        })))
    })
    .await?;
    found
        .map(|d| Json(d).into_response())
        .ok_or_else(|| ApiError::not_found("dossier"))
}

/// Automerge actor ids sent as hex.
pub(super) fn parse_actors(actors: &[String]) -> ApiResult<Vec<automerge::ActorId>> {
    actors
        .iter()
        .map(|a| {
            hex::decode(a)
                .ok()
                .filter(|b| (1..=32).contains(&b.len()))
                .map(automerge::ActorId::from)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::bad_request("actors must be hex strings of 1 to 32 bytes"))
}

#[derive(Deserialize)]
struct EnrolRequest {
    code: String,
    /// Automerge actor ids (hex) the device will sign with.
    #[serde(default)]
    actors: Vec<String>,
}

async fn enrol(State(hub): HubState, Json(body): Json<EnrolRequest>) -> ApiResult<Response> {
    let actors = parse_actors(&body.actors)?;
    let store = hub.store.clone();
    let enrolled = blocking(move || store.enrol(&body.code, &actors)).await?;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
}

#[derive(Deserialize)]
struct EnrolmentRequest {
    unit: String,
    name: String,
    #[serde(default = "one")]
    slots: u8,
    /// `hub` for a commune node or district hub that will sync up to this one.
    #[serde(default = "ordinary_device")]
    kind: DeviceKind,
}

fn ordinary_device() -> DeviceKind {
    DeviceKind::Device
}

fn one() -> u8 {
    1
}

async fn create_enrolment(
    State(hub): HubState,
    Caller(user): Caller,
    Json(body): Json<EnrolmentRequest>,
) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "enrol devices")?;
    let unit = UnitCode::parse(&body.unit).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !hub.store.units().is_within(&unit, &user.unit) {
        return Err(ApiError::not_found("unit"));
    }
    let store = hub.store.clone();
    let by = format!("user:{}", user.username);
    let enrolment =
        blocking(move || store.create_enrolment(&unit, &body.name, body.slots, body.kind, &by))
            .await?;
    Ok((StatusCode::CREATED, Json(enrolment)).into_response())
}

async fn devices(State(hub): HubState, Caller(user): Caller) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "list devices")?;
    let store = hub.store.clone();
    let units = hub.store.units();
    let all = blocking(move || store.devices()).await?;
    let visible: Vec<_> = all
        .into_iter()
        .filter(|d| UnitCode::parse(&d.unit).is_ok_and(|u| units.is_within(&u, &user.unit)))
        .collect();
    Ok(Json(visible).into_response())
}

async fn revoke_device(
    State(hub): HubState,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "revoke devices")?;
    let store = hub.store.clone();
    let units = hub.store.units();
    let device = blocking(move || store.devices())
        .await?
        .into_iter()
        .find(|d| d.device_id == id);
    let Some(device) =
        device.filter(|d| UnitCode::parse(&d.unit).is_ok_and(|u| units.is_within(&u, &user.unit)))
    else {
        return Err(ApiError::not_found("device"));
    };
    let store = hub.store.clone();
    let by = format!("user:{}", user.username);
    blocking(move || store.revoke_device(&device.device_id, &by)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn users(State(hub): HubState, Caller(user): Caller) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "list users")?;
    let store = hub.store.clone();
    let units = hub.store.units();
    let all = blocking(move || store.users()).await?;
    let visible: Vec<User> = all
        .into_iter()
        .filter(|u| units.is_within(&u.unit, &user.unit))
        .collect();
    Ok(Json(visible).into_response())
}

#[derive(Deserialize)]
struct NewUser {
    username: String,
    full_name: String,
    password: String,
    role: Role,
    unit: String,
}

async fn create_user(
    State(hub): HubState,
    Caller(user): Caller,
    Json(body): Json<NewUser>,
) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "create users")?;
    let unit = UnitCode::parse(&body.unit).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !hub.store.units().is_within(&unit, &user.unit) {
        return Err(ApiError::not_found("unit"));
    }
    let store = hub.store.clone();
    let created = blocking(move || {
        store.create_user(
            &body.username,
            &body.full_name,
            &body.password,
            body.role,
            &unit,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

async fn quarantine(
    State(hub): HubState,
    Caller(user): Caller,
    Query(q): Query<Limit>,
) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "see quarantined data")?;
    let store = hub.store.clone();
    let items = blocking(move || store.quarantined(q.limit.unwrap_or(100).min(1000))).await?;
    Ok(Json(items).into_response())
}

async fn audit(
    State(hub): HubState,
    Caller(user): Caller,
    Query(q): Query<Limit>,
) -> ApiResult<Response> {
    require(&user, &[Role::Admin], "read the audit log")?;
    let store = hub.store.clone();
    let items = blocking(move || store.audit_log(q.limit.unwrap_or(100).min(1000))).await?;
    Ok(Json(items).into_response())
}

/// A token bucket per client address.
pub struct RateLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// Citizens' look-ups: 30 a minute, 10 at once, per address.
    pub fn public_lookup() -> Self {
        Self {
            per_minute: 30.0,
            burst: 10.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget addresses whose bucket has refilled.
            let full = self.burst;
            let rate = self.per_minute / 60.0;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
