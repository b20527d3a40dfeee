//! What the API counts, and `GET /metrics`, where Prometheus reads every count of the process
//! (the log's, the projections' and the use cases' too) in its text format.
use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::{ApiError, extract::bearer_header};

/// Prometheus's text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process's metrics, and who may read them.
#[derive(Clone)]
pub struct MetricsEndpoint {
    handle: PrometheusHandle,
    /// When set, `/metrics` answers only a request bearing it (`Authorization: Bearer ...`, as
    /// Prometheus's `authorization` scrape setting sends it).
    token: Option<Arc<str>>,
}

impl MetricsEndpoint {
    pub fn new(handle: PrometheusHandle, token: Option<String>) -> Self {
        Self { handle, token: token.filter(|t| !t.is_empty()).map(Arc::from) }
    }

    /// The scrape: every metric, or 401 without the token when one is configured.
    fn scrape(&self, headers: &HeaderMap) -> Response {
        if let Some(token) = &self.token {
            let presented = bearer_header(headers).ok().flatten().unwrap_or_default();
            if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
                return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the metrics token is required")
                    .into_response();
            }
        }
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], self.handle.render()).into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`, on the API and on workers' health listeners.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "every metric of the process in Prometheus's text format (the README lists them)", content_type = "text/plain", body = String),
        (status = 401, description = "`--metrics-token` is set and the request does not bear it", body = crate::error::ErrorBody),
    )
)]
pub async fn serve(State(endpoint): State<MetricsEndpoint>, headers: HeaderMap) -> Response {
    endpoint.scrape(&headers)
}

/// What can become of a push notification (see [`push_sent`]).
const PUSH_OUTCOMES: &[&str] = &["delivered", "retried", "gone", "refused", "given_up", "error"];

/// The reasons a bound refuses before any handler (see [`refused`]).
const REFUSALS: &[&str] = &["too_many_in_flight", "overloaded", "request_timeout", "connections"];

/// Says what each metric is, and starts the counters at zero so that a rate over them exists
/// before the first event.
pub fn describe() {
    describe_counter!("confab_http_requests_total", "HTTP requests answered, by method, route template and status");
    describe_histogram!(
        "confab_http_request_duration_seconds",
        Unit::Seconds,
        "time to answer an HTTP request (to the head of a download's answer)"
    );
    describe_counter!(
        "confab_http_refusals_total",
        "requests and connections refused by a bound before any handler, by reason"
    );
    describe_gauge!("confab_ws_connections", "WebSocket connections open");
    describe_counter!("confab_ws_frames_sent_total", "frames written to WebSockets, by type");
    describe_counter!("confab_ws_slow_client_drops_total", "WebSockets closed (4001) because their queue was full");
    describe_counter!(
        "confab_attachment_bytes_total",
        Unit::Bytes,
        "attachment bytes through the embedded store's URLs, in or out"
    );
    describe_counter!(
        "confab_push_notifications_total",
        "push notifications, by outcome: delivered, retried (an attempt the service asked again), gone (target removed), refused, given_up, error"
    );
    describe_histogram!(
        "confab_push_delivery_seconds",
        Unit::Seconds,
        "from a message's send to its push service accepting its notification"
    );
    for outcome in PUSH_OUTCOMES {
        counter!("confab_push_notifications_total", "outcome" => *outcome).increment(0);
    }
    for reason in REFUSALS {
        counter!("confab_http_refusals_total", "reason" => *reason).increment(0);
    }
    for direction in ["in", "out"] {
        counter!("confab_attachment_bytes_total", "direction" => direction).increment(0);
    }
    counter!("confab_ws_slow_client_drops_total").increment(0);
    gauge!("confab_ws_connections").increment(0.0);
}

/// Counts every routed request by method, route template (never the path itself: ids would make
/// a series per user) and status, and times it.
pub(crate) async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!("confab_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    counter!("confab_http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}

/// A request or connection refused by a bound before any handler: `too_many_in_flight` (429 per
/// client), `overloaded` (503, a pool full), `request_timeout` (408), `connections` (closed as
/// accepted).
pub(crate) fn refused(reason: &'static str) {
    counter!("confab_http_refusals_total", "reason" => reason).increment(1);
}

/// An open WebSocket connection; counted while it lives.
pub(crate) struct OpenSocket;

impl OpenSocket {
    pub(crate) fn opened() -> Self {
        gauge!("confab_ws_connections").increment(1.0);
        Self
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        gauge!("confab_ws_connections").decrement(1.0);
    }
}

/// A frame written to a WebSocket, by its `type`.
pub(crate) fn frame_sent(frame_type: &'static str) {
    counter!("confab_ws_frames_sent_total", "type" => frame_type).increment(1);
}

/// A connection dropped because its queue was full (close 4001; it resumes).
pub(crate) fn slow_client_dropped() {
    counter!("confab_ws_slow_client_drops_total").increment(1);
}

/// Attachment bytes through the embedded store's URLs: `in` uploaded, `out` downloaded.
pub(crate) fn attachment_bytes(direction: &'static str, bytes: u64) {
    counter!("confab_attachment_bytes_total", "direction" => direction).increment(bytes);
}

/// A push notification's outcome: `delivered`, `retried`, `gone`, `refused`, `given_up`, `error`.
pub(crate) fn push_sent(outcome: &'static str) {
    counter!("confab_push_notifications_total", "outcome" => outcome).increment(1);
}

/// A notification accepted by its push service, for a message sent at `sent_at_ms`.
pub(crate) fn push_latency(sent_at_ms: i64) {
    let seconds = (confab_producers::now_ms() - sent_at_ms).max(0) as f64 / 1000.0;
    histogram!("confab_push_delivery_seconds").record(seconds);
}
