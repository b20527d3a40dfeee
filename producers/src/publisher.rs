use std::{sync::Arc, time::Instant};

use confab_eventlog::{
    Claim, ClaimedAppend, EventLog, Header, Position, Record, TopicSpec, partition_for_key,
    trace_context::{self, TRACE_ONLY_TARGET},
};
use confab_schemas::{Codec, Event, HEADER_EVENT_TYPE, HEADER_REQUEST_ID, HEADER_SCHEMA_FINGERPRINT, Topic};

use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{PublishError, RequestId, metrics};

/// Every topic of the stream with `partitions` partitions each.
pub fn topic_specs(partitions: u32) -> Vec<TopicSpec> {
    Topic::ALL.iter().map(|t| TopicSpec { name: t.name().to_owned(), partitions, retention_ms: None }).collect()
}

/// Appends domain events to the log. Cheap to clone; one per process.
#[derive(Clone)]
pub struct EventPublisher {
    log: Arc<dyn EventLog>,
    codec: Arc<Codec>,
}

impl EventPublisher {
    pub fn new(log: Arc<dyn EventLog>, codec: Arc<Codec>) -> Self {
        Self { log, codec }
    }

    /// Appends `event`; returns once it is durable.
    pub async fn publish(&self, event: &Event, occurred_at_ms: i64) -> Result<Position, PublishError> {
        let topic = event.topic().name();
        async {
            let record = self.record(event, occurred_at_ms)?;
            let started = Instant::now();
            let appended = self.log.append(topic, record).await;
            metrics::appended(topic, started, appended.is_ok());
            Ok(appended?)
        }
        .instrument(append_span(topic))
        .await
    }

    /// Appends `event` only if `claim` is free (see [`Claim`]).
    pub async fn publish_claimed(
        &self,
        claim: Claim,
        event: &Event,
        occurred_at_ms: i64,
    ) -> Result<ClaimedAppend, PublishError> {
        let topic = event.topic().name();
        async {
            let record = self.record(event, occurred_at_ms)?;
            let started = Instant::now();
            let appended = self.log.append_claimed(topic, claim, record).await;
            metrics::appended(topic, started, appended.is_ok());
            Ok(appended?)
        }
        .instrument(append_span(topic))
        .await
    }

    /// The offset the next record keyed `key` on `topic` will get: where something placed now
    /// sits in that key's order (a group's messages, say).
    pub async fn end_offset(&self, topic: Topic, key: &str) -> Result<u64, PublishError> {
        let ends = self.log.end_offsets(topic.name()).await?;
        let partition = partition_for_key(key.as_bytes(), u32::try_from(ends.len()).unwrap_or(u32::MAX));
        Ok(ends.get(partition as usize).copied().unwrap_or(0))
    }

    /// The value of a claim taken earlier, if any.
    pub async fn claim_value(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, PublishError> {
        Ok(self.log.claim_value(scope, key).await?)
    }

    fn record(&self, event: &Event, occurred_at_ms: i64) -> Result<Record, PublishError> {
        let encoded = self.codec.encode(event)?;
        let mut headers = vec![
            Header { name: HEADER_EVENT_TYPE.into(), value: encoded.event_type.as_bytes().to_vec() },
            Header { name: HEADER_SCHEMA_FINGERPRINT.into(), value: encoded.fingerprint_hex().into_bytes() },
        ];
        if let Some(request) = RequestId::current() {
            headers.push(Header { name: HEADER_REQUEST_ID.into(), value: request.as_str().as_bytes().to_vec() });
        }
        // Inside the append's span: the projections link to it (nothing when export is off).
        trace_context::inject(&tracing::Span::current().context(), &mut headers);
        Ok(Record { key: event.key().as_bytes().to_vec(), headers, value: encoded.value, timestamp_ms: occurred_at_ms })
    }
}

/// The append as a step of the request's trace (exported only, never a log line's span).
fn append_span(topic: &str) -> tracing::Span {
    tracing::info_span!(
        target: TRACE_ONLY_TARGET,
        "append",
        otel.name = %format_args!("send {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.destination.name = topic,
    )
}
