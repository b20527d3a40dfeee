//! Log lines on stderr: text for people, colored only on a terminal (a file or a pipe gets no
//! ANSI codes), or JSON, one object per line, for a log pipeline. `RUST_LOG` filters (default
//! `info`). With trace export on, its layer sits beside the log lines.
use std::io::IsTerminal;

use clap::ValueEnum;
use confab_eventlog::trace_context::TRACE_ONLY_TARGET;
use tracing::Metadata;
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    filter::{FilterExt, filter_fn},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use crate::trace_export::TraceExport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// The format asked for, else JSON where a Lambda function's log format is JSON, else text.
    pub(crate) fn chosen(asked: Option<Self>) -> Self {
        asked.unwrap_or_else(|| match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(format) if format.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text,
        })
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the process's log subscriber, and the trace exporter's layer if there is one.
pub(crate) fn init(format: LogFormat, traces: Option<&TraceExport>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A line's span is the request's, never a step exported to traces only.
    let filter = filter.and(filter_fn(|metadata: &Metadata<'_>| !is_trace_only(metadata)));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines: BoxedLayer = match format {
        LogFormat::Text => {
            let colored = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            lines.with_ansi(colored).with_filter(filter).boxed()
        }
        // The request's span (method, path, request id) beside each event's own fields.
        LogFormat::Json => {
            lines.json().flatten_event(true).with_current_span(true).with_span_list(false).with_filter(filter).boxed()
        }
    };
    let mut layers = vec![lines];
    if let Some(traces) = traces {
        layers.push(traces.layer().boxed());
    }
    tracing_subscriber::registry().with(layers).init();
}

fn is_trace_only(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.target() == TRACE_ONLY_TARGET
}
