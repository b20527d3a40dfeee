//! Drives one projection: poll the log, decode, apply, then commit. Offsets are committed only
//! after the read-model write succeeded, so a crash replays (idempotently) instead of losing.
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use confab_eventlog::{
    ConsumedRecord, EventLog, Header, LogError, Position, ReadStart, Subscription, trace_context::TRACE_ONLY_TARGET,
};
use confab_schemas::{Codec, HEADER_REQUEST_ID, Topic, dead_letter};
use opentelemetry::trace::TraceContextExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{
    Backoff, ProjectionHandle, ProjectionStatus, metrics,
    projection::{LoggedEvent, Projection, group_name},
};
use confab_readmodels::{CheckpointStore, Flush, StoreError};

const BATCH: usize = 512;
const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// Tries of a whole batch before looking for the event that fails.
const BATCH_ATTEMPTS: u32 = 3;
/// Tries of one event, with the store up, before it is dead-lettered.
const EVENT_ATTEMPTS: u32 = 3;
/// Longest an applied batch waits for its offsets to be committed, when the store makes writes
/// durable only at a flush: one fsync per interval instead of one per batch, and at most this
/// much of the log to replay after a crash.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Links from a batch's span to the traces that wrote it: the exporter's own limit per span.
const MAX_TRACE_LINKS: usize = 128;

pub struct ProjectionRunner {
    log: Arc<dyn EventLog>,
    codec: Arc<Codec>,
    projection: Arc<dyn Projection>,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    /// Set when the store's writes are durable only once flushed: offsets then wait for a flush.
    flush: Option<Arc<dyn Flush>>,
    /// Shared with the runners that follow this one after a switch of generations.
    status: Arc<watch::Sender<ProjectionStatus>>,
    /// Which generation of read models it writes (0 until a blue/green replay).
    generation: u32,
}

/// A polled batch: its records, the events that decoded, and the records that did not.
struct Batch {
    records: Vec<ConsumedRecord>,
    events: Vec<LoggedEvent>,
    /// For each event, the index of its record.
    sources: Vec<usize>,
    /// (record index, why it cannot be decoded).
    undecodable: Vec<(usize, String)>,
}

impl Batch {
    fn decode(codec: &Codec, records: Vec<ConsumedRecord>) -> Self {
        let (mut events, mut sources, mut undecodable) = (Vec::new(), Vec::new(), Vec::new());
        for (i, record) in records.iter().enumerate() {
            match codec.decode(&record.record.value) {
                Ok(event) => {
                    events.push(LoggedEvent { event, position: record.position.clone() });
                    sources.push(i);
                }
                Err(e) => undecodable.push((i, format!("undecodable: {e}"))),
            }
        }
        Batch { records, events, sources, undecodable }
    }
}

/// The names of the topics `projection` reads.
pub fn topic_names(projection: &dyn Projection) -> Vec<&'static str> {
    projection.topics().iter().map(|t| t.name()).collect()
}

impl ProjectionRunner {
    pub fn new(log: Arc<dyn EventLog>, codec: Arc<Codec>, projection: Arc<dyn Projection>) -> (Self, ProjectionHandle) {
        let (status, watcher) = watch::channel(ProjectionStatus::default());
        let handle = ProjectionHandle::local(projection.name(), watcher);
        (Self::reporting_to(log, codec, projection, Arc::new(status)), handle)
    }

    /// A runner that reports to `status`, which outlives it: when a process moves to another
    /// generation of read models, the next runner of the projection reports there too, and the
    /// handles given out keep working. Its progress starts over.
    pub fn reporting_to(
        log: Arc<dyn EventLog>,
        codec: Arc<Codec>,
        projection: Arc<dyn Projection>,
        status: Arc<watch::Sender<ProjectionStatus>>,
    ) -> Self {
        status.send_modify(|s| {
            s.applied.clear();
            s.healthy = false;
        });
        Self { log, codec, projection, checkpoints: None, flush: None, status, generation: 0 }
    }

    /// Writes the read models of `generation`, under that generation's consumer group.
    pub fn with_generation(mut self, generation: u32) -> Self {
        self.generation = generation;
        self
    }

    /// Also records progress in `checkpoints`, for API processes that do not run the projection.
    pub fn with_checkpoints(mut self, checkpoints: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// Commits offsets only after `flush` made the writes before them durable.
    pub fn with_flush(mut self, flush: Arc<dyn Flush>) -> Self {
        self.flush = Some(flush);
        self
    }

    /// Runs until `shutdown` is cancelled; the batch in hand is applied and committed first.
    pub async fn run(self, shutdown: CancellationToken) {
        let name = self.projection.name();
        let group = group_name(self.projection.as_ref(), self.generation);
        let topics = topic_names(self.projection.as_ref());
        let mut backoff = Backoff::default();
        let mut subscription = loop {
            match self.log.subscribe(&group, &topics).await {
                Ok(s) => break s,
                Err(e) => {
                    self.unhealthy(&e.to_string());
                    if !backoff.wait(&shutdown).await {
                        return;
                    }
                }
            }
        };
        self.start_from_committed(&group, &topics).await;
        self.status.send_modify(|s| s.healthy = true);
        tracing::info!(projection = name, %group, "projection started");
        metrics::started(name);
        let lag = tokio::spawn(metrics::report_lag(
            Arc::clone(&self.log),
            group.clone(),
            topics.clone(),
            self.status.subscribe(),
            shutdown.child_token(),
        ));
        let mut unflushed = Unflushed::default();
        loop {
            let polled = tokio::select! {
                () = shutdown.cancelled() => break,
                polled = subscription.poll(BATCH, POLL_TIMEOUT) => polled,
            };
            let records = match polled {
                Ok(records) => records,
                Err(LogError::Closed) => break,
                Err(e) => {
                    self.unhealthy(&e.to_string());
                    if !backoff.wait(&shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if records.is_empty() {
                // Idle: make what was applied durable now rather than at the next batch.
                self.commit_flushed(subscription.as_mut(), &mut unflushed).await;
                continue;
            }
            metrics::batch_polled(name, records.len());
            let batch = Batch::decode(&self.codec, records);
            if !self.apply(&batch, &group, &shutdown).await {
                break;
            }
            let positions: Vec<Position> = batch.records.into_iter().map(|r| r.position).collect();
            if !self.checkpoint(&positions, &shutdown).await {
                break;
            }
            self.advance(&positions);
            if self.flush.is_some() {
                unflushed.add(&positions);
                if unflushed.older_than(FLUSH_INTERVAL) {
                    self.commit_flushed(subscription.as_mut(), &mut unflushed).await;
                }
            } else {
                commit(subscription.as_mut(), name, &positions).await;
            }
            backoff.reset();
        }
        self.commit_flushed(subscription.as_mut(), &mut unflushed).await;
        lag.abort();
        tracing::info!(projection = name, "projection stopped");
    }

    /// Reports what the group committed as applied: it is in the store already, so a wait for a
    /// record below it is answered at once after a restart too, not only once a new record of
    /// that partition comes (a resuming socket waits on partitions that may see none for long).
    async fn start_from_committed(&self, group: &str, topics: &[&str]) {
        match self.log.committed_offsets(group, topics).await {
            Ok(offsets) => self.status.send_modify(|s| {
                for (topic, partition, next) in offsets {
                    if let Some(next) = next {
                        let applied = s.applied.entry((topic, partition)).or_insert(0);
                        *applied = (*applied).max(next);
                    }
                }
            }),
            Err(error) => {
                tracing::warn!(projection = self.projection.name(), %error, "cannot read the committed offsets");
            }
        }
    }

    /// Applies records delivered from outside the log's consumer groups (a Lambda function's
    /// Kafka event, whose event source mapping commits the offsets): decoded, applied with
    /// undecodable and failing events dead-lettered as [`Self::run`] does, and checkpointed. False
    /// if `until` came first, as during a store outage, which is waited out until then: the
    /// batch must then be delivered again, and applying it again changes nothing.
    pub async fn apply_delivered(&self, records: Vec<ConsumedRecord>, until: &CancellationToken) -> bool {
        let group = group_name(self.projection.as_ref(), self.generation);
        let batch = Batch::decode(&self.codec, records);
        if !self.apply(&batch, &group, until).await {
            return false;
        }
        let positions: Vec<Position> = batch.records.into_iter().map(|r| r.position).collect();
        if !self.checkpoint(&positions, until).await {
            return false;
        }
        self.advance(&positions);
        true
    }

    /// Flushes the store, then commits the offsets of what it made durable. A failed flush keeps
    /// them for the next try: a crash before then replays those batches, which changes nothing.
    async fn commit_flushed(&self, subscription: &mut dyn Subscription, unflushed: &mut Unflushed) {
        let Some(flush) = &self.flush else { return };
        if unflushed.ends.is_empty() {
            return;
        }
        if let Err(error) = flush.flush().await {
            tracing::warn!(projection = self.projection.name(), %error, "cannot flush the read models, retrying");
            return;
        }
        commit(subscription, self.projection.name(), &unflushed.take()).await;
    }

    /// Applies a batch. Undecodable records, and events that fail alone while the store is
    /// healthy, go to the dead-letter topic; a store outage is waited out, never skipped.
    /// False if shutdown came first.
    async fn apply(&self, batch: &Batch, group: &str, shutdown: &CancellationToken) -> bool {
        self.apply_traced(batch, group, shutdown).instrument(self.apply_span(batch)).await
    }

    /// The batch as a step of the traces of the requests that wrote it: a span linked to each
    /// record's trace (exported only, never a log line's span).
    fn apply_span(&self, batch: &Batch) -> tracing::Span {
        let span = tracing::info_span!(
            target: TRACE_ONLY_TARGET,
            "apply",
            otel.name = %format_args!("apply {}", self.projection.name()),
            otel.kind = "consumer",
            records = batch.records.len(),
        );
        if !span.is_disabled() {
            for polled in batch.records.iter().take(MAX_TRACE_LINKS) {
                span.add_link(polled.record.trace_context().span().span_context().clone());
            }
        }
        span
    }

    async fn apply_traced(&self, batch: &Batch, group: &str, shutdown: &CancellationToken) -> bool {
        for (i, reason) in &batch.undecodable {
            if !self.dead_letter(&batch.records[*i], group, reason, shutdown).await {
                return false;
            }
        }
        let events = &batch.events;
        if events.is_empty() {
            return true;
        }
        let mut backoff = Backoff::default();
        for _ in 0..BATCH_ATTEMPTS {
            let started = Instant::now();
            match self.projection.apply(events).await {
                Ok(()) => {
                    metrics::batch_applied(self.projection.name(), started.elapsed());
                    self.healthy();
                    self.trace_applied(batch);
                    return true;
                }
                Err(error) => {
                    tracing::warn!(projection = self.projection.name(), %error, "batch failed, retrying");
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
        // One at a time, to find the event that fails.
        for (event, &source) in events.iter().zip(&batch.sources) {
            let mut backoff = Backoff::default();
            let mut attempts = 0;
            loop {
                let error = match self.projection.apply(std::slice::from_ref(event)).await {
                    Ok(()) => break,
                    Err(error) => error,
                };
                attempts += 1;
                self.unhealthy(&error.to_string());
                // Waiting on another projection is waited out, however long, like an outage.
                let store_is_up = self.projection.ping().await.is_ok() && !matches!(error, StoreError::Behind(_));
                if store_is_up && attempts >= EVENT_ATTEMPTS {
                    let reason = format!("cannot apply: {error}");
                    if !self.dead_letter(&batch.records[source], group, &reason, shutdown).await {
                        return false;
                    }
                    break;
                }
                let request_id = batch.records[source].record.header_text(HEADER_REQUEST_ID);
                tracing::error!(projection = self.projection.name(), %error, store_is_up, request_id, "event failed, retrying");
                if !backoff.wait(shutdown).await {
                    return false;
                }
            }
        }
        self.healthy();
        true
    }

    /// At debug level, a line per applied record naming the request that wrote it: how one
    /// request is followed from its handler through the log to each projection.
    fn trace_applied(&self, batch: &Batch) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        for &source in &batch.sources {
            let polled = &batch.records[source];
            let position = &polled.position;
            tracing::debug!(
                projection = self.projection.name(),
                topic = %position.topic,
                partition = position.partition,
                offset = position.offset,
                request_id = polled.record.header_text(HEADER_REQUEST_ID),
                "applied"
            );
        }
    }

    /// Copies a record to `confab.deadletter` with where it came from and why; retried until the
    /// log takes it, because a dead letter must not be lost either.
    async fn dead_letter(
        &self,
        polled: &ConsumedRecord,
        group: &str,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        let position = &polled.position;
        tracing::error!(
            projection = self.projection.name(),
            topic = %position.topic,
            partition = position.partition,
            offset = position.offset,
            request_id = polled.record.header_text(HEADER_REQUEST_ID),
            reason,
            "dead-lettering record"
        );
        metrics::dead_lettered(self.projection.name());
        let mut record = polled.record.clone();
        for (name, value) in [
            (dead_letter::SOURCE_TOPIC, position.topic.clone()),
            (dead_letter::SOURCE_PARTITION, position.partition.to_string()),
            (dead_letter::SOURCE_OFFSET, position.offset.to_string()),
            (dead_letter::CONSUMER_GROUP, group.to_owned()),
            (dead_letter::REASON, reason.to_owned()),
        ] {
            record.headers.push(Header { name: name.to_owned(), value: value.into_bytes() });
        }
        let mut backoff = Backoff::default();
        loop {
            match self.log.append(Topic::DeadLetter.name(), record.clone()).await {
                Ok(_) => return true,
                Err(error) => {
                    tracing::error!(%error, "cannot write dead letter, retrying");
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }

    async fn checkpoint(&self, positions: &[Position], shutdown: &CancellationToken) -> bool {
        let Some(checkpoints) = &self.checkpoints else {
            return true;
        };
        let mut next: HashMap<(String, u32), u64> = HashMap::new();
        for p in positions {
            let end = next.entry((p.topic.clone(), p.partition)).or_insert(0);
            *end = (*end).max(p.offset + 1);
        }
        let next: Vec<(String, u32, u64)> = next.into_iter().map(|((t, p), o)| (t, p, o)).collect();
        let mut backoff = Backoff::default();
        loop {
            match checkpoints.save_checkpoint(self.projection.name(), &next).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(projection = self.projection.name(), %error, "cannot save checkpoint, retrying");
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }

    fn advance(&self, positions: &[Position]) {
        self.status.send_modify(|s| {
            for p in positions {
                let next = s.applied.entry((p.topic.clone(), p.partition)).or_insert(0);
                *next = (*next).max(p.offset + 1);
            }
        });
    }

    fn healthy(&self) {
        self.status.send_modify(|s| {
            s.healthy = true;
            s.last_error = None;
        });
    }

    fn unhealthy(&self, error: &str) {
        self.status.send_modify(|s| {
            s.healthy = false;
            s.last_error = Some(error.to_owned());
        });
    }
}

/// Reads `topics` from their current ends (or from offset 0) until `stop` is cancelled, handing
/// each batch to `on_batch`; `on_start` hears once where each topic's read begins. How
/// `events tail --follow` watches the log: no consumer group, nothing committed.
pub async fn follow(
    log: &dyn EventLog,
    topics: &[&str],
    from_beginning: bool,
    stop: CancellationToken,
    on_start: impl FnOnce(&[ReadStart]),
    mut on_batch: impl AsyncFnMut(Vec<ConsumedRecord>) -> Result<(), ReplayError>,
) -> Result<(), ReplayError> {
    let mut starts = Vec::new();
    for topic in topics {
        let ends = log.end_offsets(topic).await?;
        let offsets = if from_beginning { vec![0; ends.len()] } else { ends };
        starts.push(ReadStart { topic: (*topic).to_owned(), offsets });
    }
    let mut reader = log.read_from(&starts).await?;
    on_start(&starts);
    loop {
        let records = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            records = reader.poll(BATCH, POLL_TIMEOUT) => records?,
        };
        if !records.is_empty() {
            on_batch(records).await?;
        }
    }
}

/// Reads every record the log holds now on `topics`, from offset 0, without committing any
/// offset, handing each batch to `on_batch`. How a read model is rebuilt and the stream exported.
pub async fn read_to_end(
    log: &dyn EventLog,
    topics: &[&str],
    on_batch: impl AsyncFnMut(Vec<ConsumedRecord>) -> Result<(), ReplayError>,
) -> Result<(), ReplayError> {
    let _ = read_between(log, topics, &HashMap::new(), on_batch).await?;
    Ok(())
}

/// (topic, partition) -> offset.
pub type Offsets = HashMap<(String, u32), u64>;

/// Reads every partition of `topics` from `from` (offset 0 where absent) up to the ends the log
/// has when it starts, handing each batch to `on_batch`; returns those ends, for every
/// partition.
pub async fn read_between(
    log: &dyn EventLog,
    topics: &[&str],
    from: &Offsets,
    mut on_batch: impl AsyncFnMut(Vec<ConsumedRecord>) -> Result<(), ReplayError>,
) -> Result<Offsets, ReplayError> {
    let mut ends = Offsets::new();
    let mut remaining = Offsets::new();
    let mut starts = Vec::new();
    for topic in topics {
        let topic_ends = log.end_offsets(topic).await?;
        let mut offsets = Vec::with_capacity(topic_ends.len());
        for (partition, end) in topic_ends.iter().enumerate() {
            let key = ((*topic).to_owned(), partition as u32);
            let start = from.get(&key).copied().unwrap_or(0).min(*end);
            if start < *end {
                let _ = remaining.insert(key.clone(), *end);
            }
            let _ = ends.insert(key, *end);
            offsets.push(start);
        }
        starts.push(ReadStart { topic: (*topic).to_owned(), offsets });
    }
    if remaining.is_empty() {
        return Ok(ends);
    }
    let mut reader = log.read_from(&starts).await?;
    while !remaining.is_empty() {
        let records: Vec<ConsumedRecord> = reader
            .poll(BATCH, POLL_TIMEOUT)
            .await?
            .into_iter()
            .filter(|r| {
                remaining
                    .get(&(r.position.topic.clone(), r.position.partition))
                    .is_some_and(|end| r.position.offset < *end)
            })
            .collect();
        for r in &records {
            let key = (r.position.topic.clone(), r.position.partition);
            if remaining.get(&key).is_some_and(|end| r.position.offset + 1 >= *end) {
                let _ = remaining.remove(&key);
            }
        }
        on_batch(records).await?;
    }
    Ok(ends)
}

/// Applies everything the log holds now, from offset 0, into `projection`'s store: how a read
/// model is rebuilt into empty tables. Returns how many events were applied.
pub async fn replay(log: &dyn EventLog, codec: &Codec, projection: &dyn Projection) -> Result<u64, ReplayError> {
    let (applied, _) = replay_from(log, codec, projection, &Offsets::new(), |_| {}).await?;
    Ok(applied)
}

/// Applies `projection`'s records from `from` (offset 0 where absent) to the log's current ends;
/// `progress` hears how many records each batch held. Returns how many events were applied and
/// the ends reached, where a consumer carrying on from this replay starts.
pub async fn replay_from(
    log: &dyn EventLog,
    codec: &Codec,
    projection: &dyn Projection,
    from: &Offsets,
    mut progress: impl FnMut(u64),
) -> Result<(u64, Offsets), ReplayError> {
    let mut applied = 0u64;
    let ends = read_between(log, &topic_names(projection), from, async |records| {
        progress(records.len() as u64);
        let batch = Batch::decode(codec, records);
        for (i, error) in &batch.undecodable {
            // Dead-lettered when it was live; a replay skips it the same way.
            let position = &batch.records[*i].position;
            tracing::warn!(topic = %position.topic, partition = position.partition, offset = position.offset, %error, "skipping record");
        }
        projection.apply(&batch.events).await?;
        applied += batch.events.len() as u64;
        Ok(())
    })
    .await?;
    Ok((applied, ends))
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commits a group's offsets; a failure is not fatal: the batch is applied, and a redelivery
/// after a restart is harmless.
async fn commit(subscription: &mut dyn Subscription, projection: &str, positions: &[Position]) {
    if let Err(error) = subscription.commit(positions).await {
        tracing::warn!(projection, %error, "offset commit failed");
    }
}

/// Applied batches whose offsets wait for a flush: the last position of each partition (a
/// runner reads a few partitions, so a list searched in place, with no key to allocate per record).
#[derive(Default)]
struct Unflushed {
    ends: Vec<Position>,
    since: Option<Instant>,
}

impl Unflushed {
    fn add(&mut self, positions: &[Position]) {
        let _ = self.since.get_or_insert_with(Instant::now);
        for p in positions {
            match self.ends.iter_mut().find(|end| end.partition == p.partition && end.topic == p.topic) {
                Some(end) => end.offset = end.offset.max(p.offset),
                None => self.ends.push(p.clone()),
            }
        }
    }

    fn older_than(&self, interval: Duration) -> bool {
        self.since.is_some_and(|since| since.elapsed() >= interval)
    }

    fn take(&mut self) -> Vec<Position> {
        self.since = None;
        std::mem::take(&mut self.ends)
    }
}
