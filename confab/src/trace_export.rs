//! Optional OpenTelemetry trace export (`--otlp-endpoint`, off by default): each request's span,
//! the appends it makes and the projection batches that apply them (linked to the requests'
//! traces through the records' `traceparent` headers) are sent as OTLP/HTTP JSON to a collector.
//! A client's W3C `traceparent` continues its own trace. The exporter batches on a thread of its
//! own, so a slow or absent collector costs requests nothing; spans it cannot send are dropped.
use anyhow::{Context as _, bail};
use axum::http::Uri;
use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::{Layer, Registry, filter::Targets};

/// The signal path of OTLP/HTTP, added to a base endpoint as `OTEL_EXPORTER_OTLP_ENDPOINT` does.
const TRACES_PATH: &str = "/v1/traces";

/// A running exporter; [`TraceExport::shutdown`] sends what is still buffered.
pub(crate) struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts exporting to `endpoint` (an `http://` base URL such as `http://127.0.0.1:4318`, or
    /// the full `/v1/traces` URL), as `role`.
    pub(crate) fn start(endpoint: &str, role: &str) -> anyhow::Result<Self> {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(traces_url(endpoint)?)
            .build()
            .context("starting the OTLP trace exporter")?;
        let mut resource = Resource::builder().with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("confab.role", role.to_owned()),
        ]);
        // OTEL_SERVICE_NAME, when set, names the service (the SDK reads it).
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("confab");
        }
        let provider =
            SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
        global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Self { provider })
    }

    /// The layer that turns Confab's spans into exported ones: its own crates' spans at info and
    /// above, never the exporter's HTTP client's (which would trace itself).
    pub(crate) fn layer(&self) -> impl Layer<Registry> + Send + Sync + use<> {
        let tracer = self.provider.tracer("confab");
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(Targets::new().with_target("confab", Level::INFO))
    }

    /// Sends the spans still buffered, waiting at most the exporter's timeout.
    pub(crate) async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "trace export did not finish"),
            Err(error) => tracing::warn!(%error, "trace export did not finish"),
        }
    }
}

/// The URL spans are posted to. Plain HTTP only: the exporter is built without TLS, for a
/// collector beside the process (an OpenTelemetry Collector or agent forwards over TLS).
fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    let uri: Uri = endpoint.parse().with_context(|| format!("--otlp-endpoint {endpoint:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        bail!("--otlp-endpoint {endpoint:?} must be an http:// URL of an OTLP/HTTP receiver");
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with(TRACES_PATH) { base.to_owned() } else { format!("{base}{TRACES_PATH}") })
}
