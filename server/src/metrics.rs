//! Prometheus metrics: HTTP requests and latency by route, DB pool, open
//! realtime connections.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::startup::AppState;

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

impl Metrics {
    /// Installs the global recorder once per process (tests build several
    /// apps in one process).
    pub fn install() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full("http_request_duration_seconds".into()),
                        &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                    )
                    .expect("valid buckets")
                    .install_recorder()
                    .expect("metrics recorder installs once")
            })
            .clone();
        Self { handle }
    }

    pub fn render(&self, state: &AppState) -> String {
        let pool = &state.services.pool;
        metrics::gauge!("db_pool_connections").set(pool.size() as f64);
        metrics::gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
        self.handle.render()
    }
}

pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// Counts an open realtime connection while alive.
pub struct ConnectionGuard;

impl ConnectionGuard {
    pub fn new() -> Self {
        metrics::gauge!("realtime_connections").increment(1.0);
        Self
    }
}

impl Default for ConnectionGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        metrics::gauge!("realtime_connections").decrement(1.0);
    }
}
