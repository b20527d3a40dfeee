//! Turning what a Kafka consumer receives into batches of records, for group members and
//! group-less readers alike.
use std::time::Duration;

use futures::FutureExt;
use rdkafka::{
    Message,
    consumer::{ConsumerContext, StreamConsumer},
    message::{BorrowedMessage, Headers},
};

use crate::{ConsumedRecord, Header, LogError, Position, Record, kafka::unavailable};

/// Waits up to `timeout` for one record, then takes what is already buffered, up to `max`.
///
/// The errors a consumer reports (a broker going away, a transport failure) are news, not
/// failures: librdkafka reconnects by itself. They are drained for the whole wait, because a
/// rebalance queued behind them only runs while the consumer is polled: returning at the first
/// error and polling again later left a member without partitions for as long as it took to
/// work through the backlog one poll at a time. The last error is returned when the wait ends
/// with no record.
pub(crate) async fn next_batch<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    namespace: &str,
    max: usize,
    timeout: Duration,
) -> Result<Vec<ConsumedRecord>, LogError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_error = None;
    let first = loop {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_elapsed) => return last_error.map_or(Ok(Vec::new()), |e| Err(unavailable(e))),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "consumer error");
                last_error = Some(e);
            }
            Ok(Ok(message)) => break consumed(namespace, &message),
        }
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match consumer.recv().now_or_never() {
            Some(Ok(message)) => batch.push(consumed(namespace, &message)),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "consumer error while draining a batch");
                break;
            }
            None => break,
        }
    }
    Ok(batch)
}

fn consumed(namespace: &str, message: &BorrowedMessage<'_>) -> ConsumedRecord {
    let topic = message.topic();
    let headers = message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header { name: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec).unwrap_or_default() })
                .collect()
        })
        .unwrap_or_default();
    ConsumedRecord {
        position: Position {
            topic: topic.strip_prefix(namespace).unwrap_or(topic).to_owned(),
            partition: message.partition() as u32,
            offset: message.offset() as u64,
        },
        record: Record {
            key: message.key().map(<[u8]>::to_vec).unwrap_or_default(),
            value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
            timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
        },
    }
}
