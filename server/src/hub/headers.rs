//! Security headers on every response.
//!
//! The Content-Security-Policy fits the web app as built: its scripts, the
//! wasm core (`'wasm-unsafe-eval'` lets it compile), styles and icons come
//! from the hub itself, and it talks only to the hub (fetch and the `/sync`
//! WebSocket; CSP 3 lets `'self'` cover `ws:`/`wss:` on the same host). The
//! HTML reports carry their own `<style>` and `style=`, hence inline styles;
//! no inline script is allowed anywhere. HSTS only over TLS: sent over plain
//! HTTP a browser ignores it, and a loopback hub must stay reachable that way.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; \
     connect-src 'self'; \
     object-src 'none'; \
     base-uri 'self'; \
     form-action 'self'; \
     frame-ancestors 'none'";

/// A year, subdomains left alone (the hub's host name may be shared).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Wraps every route of `router`; `tls` says whether the hub serves HTTPS.
pub fn layer(router: Router, tls: bool) -> Router {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"));
    if tls {
        router.layer(set(
            header::STRICT_TRANSPORT_SECURITY,
            STRICT_TRANSPORT_SECURITY,
        ))
    } else {
        router
    }
}
