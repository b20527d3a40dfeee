//! `confab lambda consume CONSUMER`: one consumer as a Lambda function on a Kafka event source
//! mapping. Each invocation is a batch the mapping polled (base64 keys and values, per
//! topic-partition in offset order); it is applied as the runner applies a polled batch:
//! undecodable records and events that fail alone while the store is up go to the dead-letter
//! topic, and the batch succeeds. Only an outage fails it (so Lambda delivers it again, and
//! applying it again changes nothing), shortly before the invocation's deadline.
use std::{sync::Arc, time::Duration};

use anyhow::{Context, bail};
use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use base64::{Engine, engine::general_purpose::STANDARD};
use clap::Args;
use confab_consumers::{
    ProjectionRunner,
    catalog::{self, ProjectionSpec},
};
use confab_eventlog::{ConsumedRecord, Header, Position, Record};
use confab_schemas::Codec;
use lambda_runtime::{LambdaEvent, service_fn};
use tokio_util::sync::CancellationToken;

use crate::{
    args::BackendArgs,
    backend::{Provision, connect_with},
};

/// Time kept back from the invocation's deadline to answer that the batch failed, rather than
/// be cut off (which Lambda also retries, but logs as a timeout).
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Args)]
pub(crate) struct LambdaConsumeArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The consumer this function runs: a projection, `attachments` (the indexer) or `analytics`.
    #[arg(value_parser = catalog::parse_consumer)]
    pub(crate) consumer: &'static ProjectionSpec,
}

impl LambdaConsumeArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let backend = connect_with(&self.backend, Provision::Existing).await?;
        if backend.is_embedded() {
            bail!("a Lambda function has no disk of its own to keep: run it on --log kafka://... with DynamoDB and S3");
        }
        let codec = Arc::new(Codec::new()?);
        let consumer = self.consumer.build(&backend.sinks(&backend.read_models))?;
        let (runner, _handle) = ProjectionRunner::new(Arc::clone(&backend.log), codec, consumer);
        let mut runner = runner.with_generation(backend.generation());
        if let Some(checkpoints) = &backend.read_models.checkpoints {
            runner = runner.with_checkpoints(Arc::clone(checkpoints));
        }
        let runner = Arc::new(runner);
        let spec = self.consumer;
        let namespace = Arc::new(self.backend.namespace.clone());
        tracing::info!(consumer = spec.name, "consuming from a Kafka event source mapping");
        println!("confab lambda ready");
        let handler = service_fn(move |event: LambdaEvent<KafkaEvent>| {
            let (runner, namespace) = (Arc::clone(&runner), Arc::clone(&namespace));
            async move { apply(&runner, spec, &namespace, event).await }
        });
        lambda_runtime::run(handler).await.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
    }
}

async fn apply(
    runner: &ProjectionRunner,
    spec: &ProjectionSpec,
    namespace: &str,
    event: LambdaEvent<KafkaEvent>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let records = records_of(event.payload, spec, namespace)?;
    let count = records.len();
    let until = CancellationToken::new();
    let left = event.context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    let cancel = until.clone();
    let timer = tokio::spawn(async move {
        tokio::time::sleep(left.saturating_sub(ANSWER_MARGIN)).await;
        cancel.cancel();
    });
    let applied = runner.apply_delivered(records, &until).await;
    timer.abort();
    if !applied {
        return Err(
            format!("{}: the store did not take the batch in time; it will be delivered again", spec.name).into()
        );
    }
    // What the invocation answers: how many records it applied.
    Ok(serde_json::json!({ "records": count }))
}

/// The event's records for `spec`, in log order per partition. Topics are named with the
/// deployment's namespace on the broker and without it in the log's positions.
fn records_of(event: KafkaEvent, spec: &ProjectionSpec, namespace: &str) -> anyhow::Result<Vec<ConsumedRecord>> {
    let mut records = Vec::new();
    for record in event.records.into_values().flatten() {
        let Some(topic) = record.topic.as_deref().and_then(|t| t.strip_prefix(namespace)).map(str::to_owned) else {
            bail!("a record of topic {:?}, outside namespace {namespace:?}", record.topic);
        };
        if !spec.topics.iter().any(|t| t.name() == topic) {
            tracing::warn!(consumer = spec.name, topic, "skipping a record of a topic this consumer does not read");
            continue;
        }
        records.push(consumed(topic, record)?);
    }
    records.sort_by(|a, b| {
        (&a.position.topic, a.position.partition, a.position.offset).cmp(&(
            &b.position.topic,
            b.position.partition,
            b.position.offset,
        ))
    });
    Ok(records)
}

fn consumed(topic: String, record: KafkaRecord) -> anyhow::Result<ConsumedRecord> {
    let bytes = |field: Option<String>, what: &str| -> anyhow::Result<Vec<u8>> {
        field.map_or(Ok(Vec::new()), |b| {
            STANDARD.decode(b).with_context(|| format!("the record's {what} is not base64"))
        })
    };
    let headers = record
        .headers
        .into_iter()
        .flatten()
        .map(|(name, value)| Header { name, value: value.into_iter().map(|b| b as u8).collect() })
        .collect();
    Ok(ConsumedRecord {
        position: Position {
            topic,
            partition: u32::try_from(record.partition).context("a negative partition")?,
            offset: u64::try_from(record.offset).context("a negative offset")?,
        },
        record: Record {
            key: bytes(record.key, "key")?,
            value: bytes(record.value, "value")?,
            headers,
            timestamp_ms: record.timestamp.0.timestamp_millis(),
        },
    })
}
