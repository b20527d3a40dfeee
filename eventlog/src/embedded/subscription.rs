//! A consumer group member on the embedded log. One process holds the whole log, so a member is
//! assigned every partition of its topics.
use std::{
    collections::HashMap,
    sync::{Arc, mpsc},
    time::Duration,
};

use async_trait::async_trait;
use redb::Database;
use tokio::{
    sync::{oneshot, watch},
    time::Instant,
};

use crate::{
    ConsumedRecord, LogError, LogReader, Position, ReadStart, Record, Subscription,
    embedded::{
        storage::{self, storage_error},
        tables::{GROUP_OFFSETS, RECORDS, TOPICS},
        writer::Command,
    },
};

pub(crate) struct EmbeddedSubscription {
    db: Arc<Database>,
    group: String,
    /// (topic, partition) -> next offset to hand out.
    next: Vec<((String, u32), u64)>,
    /// Which partition the next poll reads first, so a busy one cannot starve the rest.
    start: usize,
    commands: mpsc::Sender<Command>,
    appended: watch::Receiver<u64>,
}

impl EmbeddedSubscription {
    pub(crate) fn join(
        db: &Arc<Database>,
        group: String,
        topics: Vec<String>,
        commands: mpsc::Sender<Command>,
        appended: watch::Receiver<u64>,
    ) -> Result<Self, LogError> {
        let txn = db.begin_read().map_err(storage_error)?;
        let partitions = txn.open_table(TOPICS).map_err(storage_error)?;
        let committed = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
        let mut next = Vec::new();
        for topic in topics {
            let count = storage::partition_count(&partitions, &topic)?;
            for p in 0..count {
                let offset =
                    committed.get((group.as_str(), topic.as_str(), p)).map_err(storage_error)?.map_or(0, |o| o.value());
                next.push(((topic.clone(), p), offset));
            }
        }
        Ok(Self { db: Arc::clone(db), group, next, start: 0, commands, appended })
    }

    /// A reader outside any group, from the given offsets; its commits would go nowhere, so it is
    /// only handed out as a [`LogReader`].
    pub(crate) fn starting_at(
        db: &Arc<Database>,
        starts: Vec<ReadStart>,
        commands: mpsc::Sender<Command>,
        appended: watch::Receiver<u64>,
    ) -> Result<Self, LogError> {
        let txn = db.begin_read().map_err(storage_error)?;
        let partitions = txn.open_table(TOPICS).map_err(storage_error)?;
        let mut next = Vec::new();
        for start in starts {
            let count = storage::partition_count(&partitions, &start.topic)?;
            if start.offsets.len() != count as usize {
                return Err(LogError::Storage(crate::cause(format!(
                    "{} has {count} partitions, {} start offsets given",
                    start.topic,
                    start.offsets.len()
                ))));
            }
            for (p, offset) in start.offsets.into_iter().enumerate() {
                next.push(((start.topic.clone(), p as u32), offset));
            }
        }
        Ok(Self { db: Arc::clone(db), group: String::new(), next, start: 0, commands, appended })
    }

    fn read_batch(
        db: &Database,
        next: &[((String, u32), u64)],
        start: usize,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>, LogError> {
        let txn = db.begin_read().map_err(storage_error)?;
        let records = txn.open_table(RECORDS).map_err(storage_error)?;
        let mut out = Vec::new();
        for i in 0..next.len() {
            let ((topic, partition), from) = &next[(start + i) % next.len()];
            let budget = max.saturating_sub(out.len());
            if budget == 0 {
                break;
            }
            let range = records
                .range((topic.as_str(), *partition, *from)..=(topic.as_str(), *partition, u64::MAX))
                .map_err(storage_error)?;
            for entry in range.take(budget) {
                let (key, value) = entry.map_err(storage_error)?;
                out.push(ConsumedRecord {
                    position: Position { topic: topic.clone(), partition: *partition, offset: key.value().2 },
                    record: Record::from_bytes(value.value())?,
                });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl LogReader for EmbeddedSubscription {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        let deadline = Instant::now() + timeout;
        if self.next.is_empty() {
            tokio::time::sleep_until(deadline).await;
            return Ok(Vec::new());
        }
        loop {
            // Marks the current log version as seen before reading, so an append that lands
            // after the read wakes the wait below.
            let _ = self.appended.borrow_and_update();
            // On this thread: a read of cached pages never waits for the writer and costs less
            // than a hand-off to the blocking pool.
            let batch = Self::read_batch(&self.db, &self.next, self.start, max.max(1))?;
            self.start = (self.start + 1) % self.next.len();
            if !batch.is_empty() {
                let mut ends: HashMap<(&str, u32), u64> = HashMap::new();
                for r in &batch {
                    let _ = ends.insert((r.position.topic.as_str(), r.position.partition), r.position.offset + 1);
                }
                for ((topic, partition), offset) in &mut self.next {
                    if let Some(end) = ends.get(&(topic.as_str(), *partition)) {
                        *offset = *end;
                    }
                }
                return Ok(batch);
            }
            match tokio::time::timeout_at(deadline, self.appended.changed()).await {
                Err(_elapsed) => return Ok(Vec::new()),
                Ok(Err(_closed)) => return Err(LogError::Closed),
                Ok(Ok(())) => {}
            }
        }
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn commit(&mut self, processed: &[Position]) -> Result<(), LogError> {
        let mut ends: HashMap<(String, u32), u64> = HashMap::new();
        for p in processed {
            let end = ends.entry((p.topic.clone(), p.partition)).or_insert(0);
            *end = (*end).max(p.offset + 1);
        }
        if ends.is_empty() {
            return Ok(());
        }
        let next_offsets = ends.into_iter().map(|((t, p), o)| (t, p, o)).collect();
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Commit { group: self.group.clone(), next_offsets, reply })
            .map_err(|_| LogError::Closed)?;
        answer.await.map_err(|_| LogError::Closed)?
    }
}
