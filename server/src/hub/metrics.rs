//! The hub's metrics, exported at `GET /metrics` in the OpenMetrics text
//! format through the Prometheus project's `prometheus-client`.
//!
//! One registry per hub (no global state, so several hubs in one process —
//! tests, benchmarks — keep their own figures). Counters and histograms are
//! updated where things happen: the sync driver, the HTTP middleware
//! ([`observe_http`]) and the store's committer (which registers its own).
//! Figures read from the database are set when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::Store;

/// The labels of an HTTP request's figures: the route template (never the
/// raw path, which would make one series per dossier code), the method and
/// the status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, from a millisecond to about eight seconds.
fn latency_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub connections_total: Counter,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub pushes_accepted: Counter,
    pub pushes_refused: Counter,
    pub bad_frames: Counter,
    /// From a push frame's arrival to its acknowledgement being ready: the
    /// checks, the wait for the group commit and the commit itself.
    pub push_seconds: Histogram,
    /// Documents and bytes a device received in one catch-up.
    pub catchup_documents: Histogram,
    pub catchup_bytes: Histogram,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: HistogramFamily<HttpLabels>,
    lag: Gauge,
    change_sequence: Gauge,
    documents: Gauge,
    dossiers: Gauge,
    documents_in_memory: Gauge,
    quarantined: Gauge,
    /// Per connection: the newest change sequence sent to it.
    positions: Mutex<BTreeMap<u64, u64>>,
}

/// Figures read from the store when `/metrics` is scraped.
#[derive(Debug, Clone, Copy)]
pub struct StoreFigures {
    pub documents: i64,
    pub dossiers: i64,
    pub quarantined: i64,
    pub seq: u64,
    pub cached: usize,
}

impl Metrics {
    /// Every metric, registered with the store's own (commit time, group
    /// commits).
    pub fn new(store: &Store) -> Metrics {
        let mut registry = Registry::default();
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let histogram = |registry: &mut Registry, name: &str, help: &str, h: Histogram| {
            registry.register(name, help, h.clone());
            h
        };
        let r = &mut registry;
        // Counters are named without `_total` and help texts without a full
        // stop: the encoder appends both.
        let mut metrics = Metrics {
            connections: gauge(r, "motcua_sync_connections", "Open sync connections"),
            connections_total: counter(
                r,
                "motcua_sync_connections_accepted",
                "Sync connections accepted since start",
            ),
            frames_in: counter(r, "motcua_sync_frames_received", "Sync frames received"),
            frames_out: counter(r, "motcua_sync_frames_sent", "Sync frames sent"),
            bytes_in: counter(r, "motcua_sync_bytes_received", "Sync bytes received"),
            bytes_out: counter(r, "motcua_sync_bytes_sent", "Sync bytes sent"),
            pushes_accepted: counter(
                r,
                "motcua_sync_documents_accepted",
                "Pushed document changes accepted",
            ),
            pushes_refused: counter(
                r,
                "motcua_sync_documents_refused",
                "Pushed document changes refused",
            ),
            bad_frames: counter(
                r,
                "motcua_sync_bad_frames",
                "Malformed or unexpected frames received",
            ),
            push_seconds: histogram(
                r,
                "motcua_sync_push_seconds",
                "Seconds from a device's push to its acknowledgement (checks, group commit)",
                latency_seconds(),
            ),
            catchup_documents: histogram(
                r,
                "motcua_sync_catchup_documents",
                "Documents sent to a device in one catch-up",
                Histogram::new(exponential_buckets(1.0, 4.0, 10)),
            ),
            catchup_bytes: histogram(
                r,
                "motcua_sync_catchup_bytes",
                "Change bytes sent to a device in one catch-up",
                Histogram::new(exponential_buckets(1024.0, 4.0, 12)),
            ),
            http_requests: {
                let f = Family::default();
                r.register("motcua_http_requests", "HTTP requests", f.clone());
                f
            },
            http_seconds: {
                let f: HistogramFamily<HttpLabels> = Family::new_with_constructor(latency_seconds);
                r.register(
                    "motcua_http_request_seconds",
                    "Seconds to answer an HTTP request, by route template",
                    f.clone(),
                );
                f
            },
            lag: gauge(
                r,
                "motcua_sync_lag_changes",
                "Changes the furthest-behind connected device has not yet received",
            ),
            change_sequence: gauge(
                r,
                "motcua_change_sequence",
                "Newest number of the hub's change sequence",
            ),
            documents: gauge(r, "motcua_documents", "Documents stored"),
            dossiers: gauge(r, "motcua_dossiers", "Dossiers stored"),
            documents_in_memory: gauge(
                r,
                "motcua_documents_in_memory",
                "Documents loaded in memory",
            ),
            quarantined: gauge(
                r,
                "motcua_quarantined_items",
                "Refused data kept in quarantine",
            ),
            positions: Mutex::new(BTreeMap::new()),
            registry: Registry::default(),
        };
        store.register_metrics(&mut registry);
        metrics.registry = registry;
        metrics
    }

    pub fn set_position(&self, connection: u64, seq: u64) {
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(connection, seq);
    }

    pub fn forget_connection(&self, connection: u64) {
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&connection);
    }

    /// How many changes the furthest-behind connected device has yet to get.
    pub fn max_lag(&self, current_seq: u64) -> u64 {
        let positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        positions
            .values()
            .map(|p| current_seq.saturating_sub(*p))
            .max()
            .unwrap_or(0)
    }

    /// One HTTP request answered.
    pub fn observe_http(&self, labels: HttpLabels, seconds: f64) {
        self.http_requests.get_or_create(&labels).inc();
        self.http_seconds.get_or_create(&labels).observe(seconds);
    }

    /// Every metric, with the store's figures as of now.
    pub fn render(&self, figures: StoreFigures) -> String {
        let as_gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.lag.set(as_gauge(self.max_lag(figures.seq)));
        self.change_sequence.set(as_gauge(figures.seq));
        self.documents.set(figures.documents.max(0));
        self.dossiers.set(figures.dossiers.max(0));
        self.documents_in_memory
            .set(i64::try_from(figures.cached).unwrap_or(i64::MAX));
        self.quarantined.set(figures.quarantined.max(0));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Times every HTTP request and counts it by route template (axum's
/// [`MatchedPath`]); addresses no route took count as `fallback` (the web
/// app) so a scan of random paths cannot add series.
pub async fn observe_http(
    State(hub): State<Arc<super::Hub>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_string(), |p| p.as_str().to_string());
    // Methods outside the standard few count together: a client inventing
    // methods must not add series either.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    hub.metrics.observe_http(
        HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}
