//! The read-model adapter a deployment runs on, chosen by configuration, and one generation of
//! read models behind every port.
use std::{path::PathBuf, sync::Arc};

use serde_json::Value;

use crate::{
    AttachmentStore, BlockStore, CheckpointStore, Flush, GroupStore, MessageStore, PushStore, ReceiptStore,
    SessionStore, StoreError, UserStore,
    dynamodb::{DynamoConfig, DynamoStore},
    embedded::{EmbeddedStore, generations},
    error::storage_error,
};

/// Where the read models live.
#[derive(Debug, Clone)]
pub enum ReadModelsConfig {
    /// redb files in `dir`, one per generation; `generation` None = the live one.
    Embedded { dir: PathBuf, generation: Option<u32> },
    /// DynamoDB tables, one set per generation.
    Dynamodb(DynamoConfig),
}

/// The adapter behind the ports, for what only it can do (dump, generations).
#[derive(Clone)]
pub enum Adapter {
    Embedded(EmbeddedStore),
    Dynamo(DynamoStore),
}

/// One generation of read models, every port of it. Cheap to clone.
#[derive(Clone)]
pub struct ReadModels {
    pub users: Arc<dyn UserStore>,
    pub messages: Arc<dyn MessageStore>,
    pub receipts: Arc<dyn ReceiptStore>,
    pub groups: Arc<dyn GroupStore>,
    pub attachments: Arc<dyn AttachmentStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blocks: Arc<dyn BlockStore>,
    pub push: Arc<dyn PushStore>,
    /// Where projections publish progress for other processes; the embedded backend is one
    /// process, so it has none.
    pub checkpoints: Option<Arc<dyn CheckpointStore>>,
    /// Present when writes are durable only once flushed (embedded): a projection then commits
    /// its offsets after a flush. DynamoDB's writes are durable when they return.
    pub flush: Option<Arc<dyn Flush>>,
    generation: u32,
    adapter: Adapter,
}

impl ReadModels {
    /// The embedded store of `generation`.
    pub fn embedded(store: EmbeddedStore, generation: u32) -> Self {
        let flush: Arc<dyn Flush> = Arc::new(store.clone());
        Self::of(&store, None, Some(flush), generation, Adapter::Embedded(store.clone()))
    }

    /// The DynamoDB tables the store was connected to.
    pub fn dynamo(store: DynamoStore) -> Self {
        let checkpoints: Arc<dyn CheckpointStore> = Arc::new(store.clone());
        Self::of(&store, Some(checkpoints), None, store.generation(), Adapter::Dynamo(store.clone()))
    }

    /// Every port served by one adapter's store.
    fn of<S>(
        store: &S,
        checkpoints: Option<Arc<dyn CheckpointStore>>,
        flush: Option<Arc<dyn Flush>>,
        generation: u32,
        adapter: Adapter,
    ) -> Self
    where
        S: UserStore
            + MessageStore
            + ReceiptStore
            + GroupStore
            + AttachmentStore
            + SessionStore
            + BlockStore
            + PushStore
            + Clone,
    {
        Self {
            users: Arc::new(store.clone()),
            messages: Arc::new(store.clone()),
            receipts: Arc::new(store.clone()),
            groups: Arc::new(store.clone()),
            attachments: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            blocks: Arc::new(store.clone()),
            push: Arc::new(store.clone()),
            checkpoints,
            flush,
            generation,
            adapter,
        }
    }

    /// Opens (creating what is missing) the read models `config` names.
    pub async fn open(config: &ReadModelsConfig) -> Result<Self, StoreError> {
        match config {
            ReadModelsConfig::Embedded { dir, generation } => {
                let dir = dir.clone();
                let generation = match generation {
                    Some(generation) => *generation,
                    None => generations::current(&dir)?,
                };
                let path = dir.join(generations::store_file(generation));
                let store =
                    tokio::task::spawn_blocking(move || EmbeddedStore::open(&path)).await.map_err(storage_error)??;
                Ok(Self::embedded(store, generation))
            }
            ReadModelsConfig::Dynamodb(config) => Ok(Self::dynamo(DynamoStore::connect(config).await?)),
        }
    }

    /// Which generation these are (0 until a blue/green replay made another live).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    pub fn adapter(&self) -> &Adapter {
        &self.adapter
    }

    /// Makes every write so far durable, where writes are not durable as they return.
    pub async fn flush(&self) -> Result<(), StoreError> {
        match &self.flush {
            Some(flush) => flush.flush().await,
            None => Ok(()),
        }
    }

    /// Every table, every row, in key order: what "identical tables" means.
    pub async fn dump(&self) -> Result<Value, StoreError> {
        match &self.adapter {
            Adapter::Embedded(store) => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.dump()).await.map_err(storage_error)?
            }
            Adapter::Dynamo(store) => store.dump().await,
        }
    }
}
