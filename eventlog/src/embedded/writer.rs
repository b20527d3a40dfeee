//! The single writer thread: drains every queued command into one transaction, commits it (one
//! fsync), then answers them all.
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::{oneshot, watch};

use crate::{
    Claim, ClaimedAppend, LogError, Position, Record, TopicSpec,
    embedded::{
        storage::{end_offset, storage_error},
        tables::{CLAIMS, GROUP_OFFSETS, RECORDS, TOPICS},
    },
    partition_for_key,
};

/// Upper bound on the commands one commit carries, so a flood still commits regularly.
const MAX_BATCH: usize = 4096;

pub(crate) enum Command {
    /// Stop after the commands queued before it.
    Shutdown,
    EnsureTopics {
        topics: Vec<TopicSpec>,
        reply: oneshot::Sender<Result<(), LogError>>,
    },
    Append {
        topic: String,
        claim: Option<Claim>,
        record: Record,
        reply: oneshot::Sender<Result<ClaimedAppend, LogError>>,
    },
    Commit {
        group: String,
        next_offsets: Vec<(String, u32, u64)>,
        reply: oneshot::Sender<Result<(), LogError>>,
    },
    /// Sets offsets where they are told, backwards too: an operator's reset.
    SetOffsets {
        group: String,
        next_offsets: Vec<(String, u32, u64)>,
        reply: oneshot::Sender<Result<(), LogError>>,
    },
    /// Removes every offset a group committed.
    DeleteGroup {
        group: String,
        reply: oneshot::Sender<Result<(), LogError>>,
    },
}

/// An answer computed inside the transaction, sent only after the commit succeeded.
enum Pending {
    None,
    Unit(oneshot::Sender<Result<(), LogError>>, Result<(), LogError>),
    Append(oneshot::Sender<Result<ClaimedAppend, LogError>>, Result<ClaimedAppend, LogError>),
}

impl Pending {
    fn refused(command: Command) -> Pending {
        let aborted = || LogError::Storage(crate::cause("batch aborted"));
        match command {
            Command::Shutdown => Pending::None,
            Command::EnsureTopics { reply, .. }
            | Command::Commit { reply, .. }
            | Command::SetOffsets { reply, .. }
            | Command::DeleteGroup { reply, .. } => Pending::Unit(reply, Err(aborted())),
            Command::Append { reply, .. } => Pending::Append(reply, Err(aborted())),
        }
    }

    /// A storage error leaves the transaction half-applied, so the whole batch must be aborted.
    fn storage_failure(&self) -> Option<LogError> {
        match self {
            Pending::Unit(_, Err(LogError::Storage(e))) | Pending::Append(_, Err(LogError::Storage(e))) => {
                Some(LogError::Storage(e.clone()))
            }
            _ => None,
        }
    }

    fn answer(self, commit: &Result<(), LogError>) {
        // A caller that gave up waiting has dropped its receiver; nothing to tell it.
        match (self, commit) {
            (Pending::None, _) => {}
            (Pending::Unit(reply, result), Ok(())) => drop(reply.send(result)),
            (Pending::Append(reply, result), Ok(())) => drop(reply.send(result)),
            (Pending::Unit(reply, _), Err(e)) => drop(reply.send(Err(shared(e)))),
            (Pending::Append(reply, _), Err(e)) => drop(reply.send(Err(shared(e)))),
        }
    }
}

/// The failure of a commit, for each caller whose command it held.
fn shared(e: &LogError) -> LogError {
    match e {
        LogError::Storage(cause) | LogError::Unavailable(cause) => LogError::Storage(cause.clone()),
        other => LogError::Storage(crate::cause(other.to_string())),
    }
}

pub(crate) struct Writer {
    db: Arc<Database>,
    partitions: HashMap<String, u32>,
    next_offsets: HashMap<(String, u32), u64>,
    appended: watch::Sender<u64>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    pub(crate) fn start(
        db: Arc<Database>,
        appended: watch::Sender<u64>,
        commits: Arc<AtomicU64>,
    ) -> Result<(mpsc::Sender<Command>, std::thread::JoinHandle<()>), LogError> {
        let mut writer = Writer { db, partitions: HashMap::new(), next_offsets: HashMap::new(), appended, commits };
        writer.load_state()?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("confab-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(storage_error)?;
        Ok((tx, handle))
    }

    /// Rebuilds the in-memory partition ends from disk, at start and after a failed commit.
    fn load_state(&mut self) -> Result<(), LogError> {
        let txn = self.db.begin_read().map_err(storage_error)?;
        let topics = txn.open_table(TOPICS).map_err(storage_error)?;
        let records = txn.open_table(RECORDS).map_err(storage_error)?;
        self.partitions.clear();
        self.next_offsets.clear();
        for entry in topics.iter().map_err(storage_error)? {
            let (name, count) = entry.map_err(storage_error)?;
            let (name, count) = (name.value().to_owned(), count.value());
            for p in 0..count {
                let _ = self.next_offsets.insert((name.clone(), p), end_offset(&records, &name, p)?);
            }
            let _ = self.partitions.insert(name, count);
        }
        Ok(())
    }

    fn run(mut self, commands: mpsc::Receiver<Command>) {
        let mut running = true;
        while running {
            let Ok(first) = commands.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            if let Some(at) = batch.iter().position(|c| matches!(c, Command::Shutdown)) {
                running = false;
                for late in batch.drain(at..) {
                    Pending::refused(late).answer(&Err(LogError::Closed));
                }
            }
            if !batch.is_empty() {
                self.commit_batch(batch);
            }
        }
    }

    fn commit_batch(&mut self, batch: Vec<Command>) {
        // One durable write for every command that queued while the last one ran: the group
        // commit whose size says how much a disk sync is shared.
        metrics::histogram!("confab_log_commit_records").record(batch.len() as f64);
        let mut answers = Vec::with_capacity(batch.len());
        let outcome = self.db.begin_write().map_err(storage_error).and_then(|txn| {
            let mut failure = None;
            for command in batch {
                let answer = if failure.is_some() { Pending::refused(command) } else { self.apply(&txn, command) };
                if failure.is_none() {
                    failure = answer.storage_failure();
                }
                answers.push(answer);
            }
            match failure {
                // Dropping the transaction aborts it: nothing of this batch is kept.
                Some(e) => Err(e),
                None => txn.commit().map_err(storage_error),
            }
        });
        match &outcome {
            Ok(()) => {
                let _ = self.commits.fetch_add(1, Ordering::Relaxed);
                self.appended.send_modify(|n| *n += 1);
            }
            Err(e) => {
                tracing::error!(error = %e, "embedded log commit failed");
                if let Err(e) = self.load_state() {
                    tracing::error!(error = %e, "cannot reload embedded log state");
                }
            }
        }
        for answer in answers {
            answer.answer(&outcome);
        }
    }

    fn apply(&mut self, txn: &WriteTransaction, command: Command) -> Pending {
        match command {
            Command::Shutdown => Pending::None,
            Command::EnsureTopics { topics, reply } => Pending::Unit(reply, self.ensure_topics(txn, &topics)),
            Command::Append { topic, claim, record, reply } => {
                Pending::Append(reply, self.append(txn, topic, claim, &record))
            }
            Command::Commit { group, next_offsets, reply } => {
                Pending::Unit(reply, commit_offsets(txn, &group, &next_offsets))
            }
            Command::SetOffsets { group, next_offsets, reply } => {
                Pending::Unit(reply, set_offsets(txn, &group, &next_offsets))
            }
            Command::DeleteGroup { group, reply } => Pending::Unit(reply, delete_group(txn, &group)),
        }
    }

    fn ensure_topics(&mut self, txn: &WriteTransaction, topics: &[TopicSpec]) -> Result<(), LogError> {
        let mut table = txn.open_table(TOPICS).map_err(storage_error)?;
        for spec in topics {
            if self.partitions.contains_key(&spec.name) {
                continue;
            }
            let count = spec.partitions.max(1);
            let _ = table.insert(spec.name.as_str(), count).map_err(storage_error)?;
            for p in 0..count {
                let _ = self.next_offsets.insert((spec.name.clone(), p), 0);
            }
            let _ = self.partitions.insert(spec.name.clone(), count);
        }
        Ok(())
    }

    fn append(
        &mut self,
        txn: &WriteTransaction,
        topic: String,
        claim: Option<Claim>,
        record: &Record,
    ) -> Result<ClaimedAppend, LogError> {
        let count = *self.partitions.get(&topic).ok_or_else(|| LogError::UnknownTopic(topic.clone()))?;
        if let Some(claim) = claim {
            let mut claims = txn.open_table(CLAIMS).map_err(storage_error)?;
            let key = (claim.scope.as_str(), claim.key.as_str());
            if let Some(held) = claims.get(key).map_err(storage_error)? {
                return Ok(ClaimedAppend::Taken { value: held.value().to_vec(), finished: None });
            }
            let _ = claims.insert(key, claim.value.as_slice()).map_err(storage_error)?;
        }
        let partition = partition_for_key(&record.key, count);
        let next = self.next_offsets.entry((topic.clone(), partition)).or_insert(0);
        let offset = *next;
        let mut records = txn.open_table(RECORDS).map_err(storage_error)?;
        let _ =
            records.insert((topic.as_str(), partition, offset), record.to_bytes().as_slice()).map_err(storage_error)?;
        *next += 1;
        Ok(ClaimedAppend::Appended(Position { topic, partition, offset }))
    }
}

fn set_offsets(txn: &WriteTransaction, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
    let mut table = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
    for (topic, partition, next) in next_offsets {
        let _ = table.insert((group, topic.as_str(), *partition), *next).map_err(storage_error)?;
    }
    Ok(())
}

fn delete_group(txn: &WriteTransaction, group: &str) -> Result<(), LogError> {
    let mut table = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
    let mut keys = Vec::new();
    for entry in table.range((group, "", 0)..).map_err(storage_error)? {
        let (key, _) = entry.map_err(storage_error)?;
        let (owner, topic, partition) = key.value();
        if owner != group {
            break;
        }
        keys.push((topic.to_owned(), partition));
    }
    for (topic, partition) in keys {
        let _ = table.remove((group, topic.as_str(), partition)).map_err(storage_error)?;
    }
    Ok(())
}

fn commit_offsets(txn: &WriteTransaction, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
    let mut table = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
    for (topic, partition, next) in next_offsets {
        let key = (group, topic.as_str(), *partition);
        let current = table.get(key).map_err(storage_error)?.map(|v| v.value());
        // Offsets only move forward, even if an older commit arrives late.
        if current.is_none_or(|c| c < *next) {
            let _ = table.insert(key, *next).map_err(storage_error)?;
        }
    }
    Ok(())
}
