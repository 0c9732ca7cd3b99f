//! Serving the built web app (`pwa/dist`) from the hub.
//!
//! Files whose names carry a content hash (`/assets/…`) are cached for a
//! year; everything else (`index.html`, `sw.js`, the manifest) must be
//! revalidated so a new version reaches devices on their next visit. An
//! address that is not a file is one of the app's own screens and gets
//! `index.html`; an unknown `/api/…` address stays a JSON 404. Browsers
//! that accept gzip get the gzipped copies the build writes beside the files.

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::Router;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Where the web app is looked for when `--pwa` names none: beside the
/// executable (`pwa/`, an unpacked archive), in the `share/motcua/pwa` of
/// the prefix the executable is installed in (the Debian package puts it in
/// /usr/share/motcua/pwa for /usr/bin/motcua; an extracted package root
/// works the same), then the source tree the binary was built from
/// (`cargo run`, scripts/run). Looked up on disk rather than embedded in the
/// binary: the web app is built by npm, a step a plain `cargo build` must
/// not need, and its gzipped copies are served from files as they are.
pub fn installed() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    [
        exe_dir.join("pwa"),
        exe_dir.join("../share/motcua/pwa"),
        PathBuf::from("/usr/share/motcua/pwa"),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../pwa/dist")),
    ]
    .into_iter()
    .find(|dir| dir.join("index.html").is_file())
}

/// The web app as a fallback service for every address no route took.
pub fn routes<S: Clone + Send + Sync + 'static>(dir: PathBuf) -> Router<S> {
    let index = dir.join("index.html");
    // `scripts` writes a gzipped copy beside each text and wasm file; it is
    // sent to browsers that accept gzip (the wasm core is most of a first
    // visit).
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .precompressed_gzip()
        .fallback(ServeFile::new(index).precompressed_gzip());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/api/") {
        return super::api::ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no API endpoint {path}"),
        )
        .into_response();
    }
    let mut response = next.run(request).await;
    let policy = if path.starts_with("/assets/") && response.status().is_success() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    if path == "/sw.js" {
        // The service worker controls the whole site.
        response
            .headers_mut()
            .insert("service-worker-allowed", HeaderValue::from_static("/"));
    }
    response
}
