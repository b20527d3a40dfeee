//! Log lines on stderr: text for people, colored only on a terminal (a file or a pipe gets no
//! ANSI codes), or JSON, one object per line, for a log pipeline. `RUST_LOG` filters (default
//! `info`).
use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

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

/// Installs the process's log subscriber.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let colored = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            lines.with_ansi(colored).init();
        }
        // The request's span (method, path, request id) beside each event's own fields.
        LogFormat::Json => lines.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
}
