//! A request as a span of a distributed trace, when trace export is on: a client's W3C
//! `traceparent` continues its trace, the span is named for its route (the OpenTelemetry HTTP
//! conventions), and the answer's status is recorded. With export off there is no trace layer
//! and each call returns at once, leaving log lines as they were.
use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderMap, StatusCode},
};
use opentelemetry::{global, propagation::Extractor, trace::Status};
use tracing::{Span, field::display};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` (declaring empty `otel.name` and `otel.kind`) the server span of `request`.
pub(crate) fn join(span: &Span, request: &Request) {
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&Headers(request.headers())));
    if span.set_parent(parent).is_err() {
        return;
    }
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let _ = span.record("otel.name", display(format_args!("{} {route}", request.method())));
    let _ = span.record("otel.kind", "server");
    span.set_attribute("http.request.method", request.method().to_string());
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("url.path", request.uri().path().to_owned());
}

/// Records the answer's status on the server span: an error for a 5xx, as the conventions say
/// (a 4xx is the client's, not the server's).
pub(crate) fn answered(span: &Span, status: StatusCode) {
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}
