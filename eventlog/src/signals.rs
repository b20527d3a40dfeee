//! The `SignalBus` port: short-lived notes between the processes of one deployment (someone is
//! typing, someone came online), heard by every process, this one included. Signals are best
//! effort: never projected, never replayed, gone after minutes. In one process they stay in
//! memory (`InProcessSignals`); across processes they ride a topic of their own with a short
//! retention (`LogSignals`), which every process reads from its end.
use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::{sync::broadcast, task::JoinHandle};

use crate::{EventLog, LogError, ReadStart, Record, TopicSpec};

/// Signals a subscriber may fall behind by before it misses some (and is told so).
const SUBSCRIBER_BACKLOG: usize = 4096;
/// Records one poll of the signals topic takes at most.
const POLL_RECORDS: usize = 512;
/// How long a poll waits for signals before it looks again.
const POLL_WAIT: Duration = Duration::from_millis(500);
/// How long the follower waits before reading again after the log failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One signal as it travels: its key (who it is about) and its bytes.
pub type SignalBytes = Arc<[u8]>;

/// Carries signals to every process of the deployment.
#[async_trait]
pub trait SignalBus: Send + Sync + 'static {
    /// Sends a signal to every process's subscribers, this process's included.
    async fn send(&self, key: &str, payload: Vec<u8>) -> Result<(), LogError>;

    /// The signals sent from now on, by any process.
    fn subscribe(&self) -> broadcast::Receiver<SignalBytes>;
}

/// Signals within one process: a broadcast channel.
pub struct InProcessSignals {
    sender: broadcast::Sender<SignalBytes>,
}

impl InProcessSignals {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(SUBSCRIBER_BACKLOG).0 }
    }
}

impl Default for InProcessSignals {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl SignalBus for InProcessSignals {
    async fn send(&self, _key: &str, payload: Vec<u8>) -> Result<(), LogError> {
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.sender.send(payload.into());
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<SignalBytes> {
        self.sender.subscribe()
    }
}

/// Signals over a topic of a shared log: sent as records, and read back by every process
/// from the end the topic had when it started, outside any consumer group.
pub struct LogSignals {
    log: Arc<dyn EventLog>,
    topic: String,
    sender: broadcast::Sender<SignalBytes>,
    follower: JoinHandle<()>,
}

impl LogSignals {
    /// Starts reading `topic` (made with [`LogSignals::topic_spec`]) from its end.
    pub async fn start(log: Arc<dyn EventLog>, topic: &str) -> Result<Self, LogError> {
        let offsets = log.end_offsets(topic).await?;
        let mut reader = log.read_from(&[ReadStart { topic: topic.to_owned(), offsets }]).await?;
        let sender = broadcast::channel(SUBSCRIBER_BACKLOG).0;
        let forward = sender.clone();
        let follower = tokio::spawn(async move {
            loop {
                match reader.poll(POLL_RECORDS, POLL_WAIT).await {
                    Ok(records) => {
                        for consumed in records {
                            let _ = forward.send(consumed.record.value.into());
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = &error as &dyn std::error::Error, "cannot read signals; retrying");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        });
        Ok(Self { log, topic: topic.to_owned(), sender, follower })
    }
}

impl LogSignals {
    /// How a signals topic is made: one partition, so that every process hears every signal
    /// in the same order (a user's `offline` never overtakes the `online` before it), and
    /// records kept only `retention`.
    pub fn topic_spec(topic: &str, retention: Duration) -> TopicSpec {
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        TopicSpec { name: topic.to_owned(), partitions: 1, retention_ms: Some(retention_ms) }
    }
}

impl Drop for LogSignals {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

#[async_trait]
impl SignalBus for LogSignals {
    async fn send(&self, key: &str, payload: Vec<u8>) -> Result<(), LogError> {
        let timestamp_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let record = Record { key: key.as_bytes().to_vec(), value: payload, headers: Vec::new(), timestamp_ms };
        let _ = self.log.append(&self.topic, record).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<SignalBytes> {
        self.sender.subscribe()
    }
}
