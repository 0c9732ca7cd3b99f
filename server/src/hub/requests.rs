//! A request id and a tracing span for every HTTP request.
//!
//! tower-http's request-id layers take the caller's `x-request-id` or make a
//! UUID, and echo it in the response; the trace layer opens a span carrying
//! it, so every line logged while the request is handled — and, for `/sync`,
//! for as long as the WebSocket session lasts — names the request.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Wraps every route of `router` (call it after the routes are added).
pub fn layer(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_request(())
        .on_response(answered)
        // `answered` already logs server errors.
        .on_failure(());
    // The last layer added runs first: the id is set before the span opens.
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn request_span(request: &Request<Body>) -> Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // At error level so that it is kept whatever `MOTCUA_LOG` lets through:
    // a warning logged inside the request must still name it.
    tracing::error_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

fn answered(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(status, ms, "request answered");
    } else {
        tracing::info!(status, ms, "request answered");
    }
}
