//! W3C trace context (`traceparent`, `tracestate`) in record headers: how a distributed trace
//! follows an event from the request that appended it to the projections that apply it. The
//! process's propagator decides what is written; with trace export off it is a no-op, so records
//! carry nothing extra.
use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
};

use crate::{Header, Record};

/// Only spans of this target are exported as traces and left out of log lines: the steps of a
/// request through the log (append, apply) whose log lines belong to the request's own span.
pub const TRACE_ONLY_TARGET: &str = "confab::trace";

/// Writes `context` into `headers`, replacing any trace context already there.
pub fn inject(context: &Context, headers: &mut Vec<Header>) {
    global::get_text_map_propagator(|propagator| propagator.inject_context(context, &mut Writer(headers)));
}

impl Record {
    /// The trace context the appending process wrote, or an empty one.
    pub fn trace_context(&self) -> Context {
        global::get_text_map_propagator(|propagator| propagator.extract(&Reader(&self.headers)))
    }
}

struct Writer<'a>(&'a mut Vec<Header>);

impl Injector for Writer<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|header| header.name != key);
        self.0.push(Header { name: key.to_owned(), value: value.into_bytes() });
    }
}

struct Reader<'a>(&'a [Header]);

impl Extractor for Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|header| header.name == key).and_then(|header| std::str::from_utf8(&header.value).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|header| header.name.as_str()).collect()
    }
}
