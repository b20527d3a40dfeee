//! The embedded adapter: the log in one redb database on local disk. A single writer thread
//! group-commits: every append that arrives while a commit is running joins the next one, so
//! concurrent sends share an fsync and no send waits for more than the one commit that holds it.

mod storage;
mod subscription;
mod tables;
mod writer;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use async_trait::async_trait;
use redb::Database;
use tokio::sync::{oneshot, watch};

use crate::{
    Claim, ClaimedAppend, CommittedOffset, EventLog, LogError, LogReader, OffsetTarget, Position, ReadStart, Record,
    Subscription, TopicSpec,
    embedded::{
        storage::{offset_at, storage_error},
        subscription::EmbeddedSubscription,
        tables::{CLAIMS, GROUP_OFFSETS, RECORDS, TOPICS},
        writer::{Command, Writer},
    },
};

/// redb's page cache; its default (1 GiB per database) is more than a chat server should hold.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The event log in a redb file, for one process.
pub struct EmbeddedLog {
    db: Arc<Database>,
    commands: mpsc::Sender<Command>,
    appended: watch::Receiver<u64>,
    commits: Arc<AtomicU64>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for EmbeddedLog {
    /// Lets queued appends commit, then stops the writer, so the file can be reopened at once.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl EmbeddedLog {
    /// Opens (creating, or recovering after a crash) the log at `path`. Blocks on disk: call it
    /// from a blocking context.
    pub fn open(path: &Path) -> Result<Self, LogError> {
        let db = Arc::new(Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(storage_error)?);
        tables::create_all(&db)?;
        let commits = Arc::new(AtomicU64::new(0));
        let (appended_tx, appended) = watch::channel(0);
        let (commands, writer) = Writer::start(Arc::clone(&db), appended_tx, Arc::clone(&commits))?;
        Ok(Self { db, commands, appended, commits, writer: Some(writer) })
    }

    /// How many transactions the writer has committed; each is one fsync.
    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    async fn send<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T, LogError>>) -> Command) -> Result<T, LogError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).map_err(|_| LogError::Closed)?;
        answer.await.map_err(|_| LogError::Closed)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(crate::embedded::storage::storage_error)?
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), LogError> {
        let topics = topics.to_vec();
        self.send(|reply| Command::EnsureTopics { topics, reply }).await
    }

    async fn append(&self, topic: &str, record: Record) -> Result<Position, LogError> {
        let topic = topic.to_owned();
        match self.send(|reply| Command::Append { topic, claim: None, record, reply }).await? {
            ClaimedAppend::Appended(position) => Ok(position),
            ClaimedAppend::Taken { .. } => Err(LogError::Storage(crate::cause("unclaimed append was refused"))),
        }
    }

    async fn append_claimed(&self, topic: &str, claim: Claim, record: Record) -> Result<ClaimedAppend, LogError> {
        let topic = topic.to_owned();
        self.send(|reply| Command::Append { topic, claim: Some(claim), record, reply }).await
    }

    async fn claim_value(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, LogError> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let claims = txn.open_table(CLAIMS).map_err(storage_error)?;
            let value = claims.get((scope.as_str(), key.as_str())).map_err(storage_error)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, LogError> {
        let topic = topic.to_owned();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let topics = txn.open_table(TOPICS).map_err(storage_error)?;
            let partitions = storage::partition_count(&topics, &topic)?;
            let records = txn.open_table(RECORDS).map_err(storage_error)?;
            (0..partitions).map(|p| storage::end_offset(&records, &topic, p)).collect()
        })
        .await
    }

    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn Subscription>, LogError> {
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let (commands, appended) = (self.commands.clone(), self.appended.clone());
        let db = Arc::clone(&self.db);
        let subscription =
            tokio::task::spawn_blocking(move || EmbeddedSubscription::join(&db, group, topics, commands, appended))
                .await
                .map_err(storage_error)??;
        Ok(Box::new(subscription))
    }

    async fn offsets_at(&self, topic: &str, to: OffsetTarget) -> Result<Vec<u64>, LogError> {
        let topic = topic.to_owned();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let known = txn.open_table(TOPICS).map_err(storage_error)?;
            let records = txn.open_table(RECORDS).map_err(storage_error)?;
            let partitions = storage::partition_count(&known, &topic)?;
            (0..partitions).map(|partition| offset_at(&records, &topic, partition, to)).collect()
        })
        .await
    }

    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: OffsetTarget,
    ) -> Result<Vec<(String, u32, u64)>, LogError> {
        let mut next_offsets = Vec::new();
        for topic in topics {
            let offsets = self.offsets_at(topic, to).await?;
            next_offsets.extend(offsets.into_iter().enumerate().map(|(p, next)| ((*topic).to_owned(), p as u32, next)));
        }
        self.set_offsets(group, &next_offsets).await?;
        Ok(next_offsets)
    }

    async fn set_offsets(&self, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
        let (group, next_offsets) = (group.to_owned(), next_offsets.to_vec());
        self.send(|reply| Command::SetOffsets { group, next_offsets, reply }).await
    }

    async fn delete_group(&self, group: &str) -> Result<(), LogError> {
        let group = group.to_owned();
        self.send(|reply| Command::DeleteGroup { group, reply }).await
    }

    async fn committed_offsets(&self, group: &str, topics: &[&str]) -> Result<Vec<CommittedOffset>, LogError> {
        let group = group.to_owned();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let known = txn.open_table(TOPICS).map_err(storage_error)?;
            let committed = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
            let mut out = Vec::new();
            for topic in topics {
                let partitions = storage::partition_count(&known, &topic)?;
                for partition in 0..partitions {
                    let next = committed
                        .get((group.as_str(), topic.as_str(), partition))
                        .map_err(storage_error)?
                        .map(|o| o.value());
                    out.push((topic.clone(), partition, next));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn read_from(&self, starts: &[ReadStart]) -> Result<Box<dyn LogReader>, LogError> {
        let starts = starts.to_vec();
        let (commands, appended) = (self.commands.clone(), self.appended.clone());
        let db = Arc::clone(&self.db);
        let reader =
            tokio::task::spawn_blocking(move || EmbeddedSubscription::starting_at(&db, starts, commands, appended))
                .await
                .map_err(storage_error)??;
        Ok(Box::new(reader))
    }
}
