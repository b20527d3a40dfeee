//! Picks and connects the adapters behind the ports: embedded (one process, local disk) or
//! Kafka + DynamoDB.
use std::{path::Path, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use confab_consumers::{
    projection::{GroupsProjection, MessagesProjection, Projection, UsersProjection},
    store::{
        CheckpointStore, GroupStore, MessageStore, UserStore,
        dynamodb::{DynamoConfig, DynamoStore},
        embedded::EmbeddedStore,
    },
};
use confab_eventlog::{
    EventLog,
    embedded::EmbeddedLog,
    kafka::{KafkaConfig, KafkaLog},
};
use confab_producers::topic_specs;
use serde_json::Value;

use crate::cli::{BackendArgs, ProjectionName, StoreKind};

pub(crate) const LOG_FILE: &str = "log.redb";
pub(crate) const STORE_FILE: &str = "readmodels.redb";

/// The read-model adapter in use.
#[derive(Clone)]
pub(crate) enum Stores {
    Embedded(EmbeddedStore),
    Dynamo(DynamoStore),
}

impl Stores {
    pub(crate) fn users(&self) -> Arc<dyn UserStore> {
        match self {
            Stores::Embedded(s) => Arc::new(s.clone()),
            Stores::Dynamo(s) => Arc::new(s.clone()),
        }
    }

    pub(crate) fn messages(&self) -> Arc<dyn MessageStore> {
        match self {
            Stores::Embedded(s) => Arc::new(s.clone()),
            Stores::Dynamo(s) => Arc::new(s.clone()),
        }
    }

    pub(crate) fn groups(&self) -> Arc<dyn GroupStore> {
        match self {
            Stores::Embedded(s) => Arc::new(s.clone()),
            Stores::Dynamo(s) => Arc::new(s.clone()),
        }
    }

    /// The projection `name`, writing into these stores.
    pub(crate) fn projection(&self, name: ProjectionName) -> Arc<dyn Projection> {
        match name {
            ProjectionName::Users => Arc::new(UsersProjection::new(self.users())),
            ProjectionName::Messages => Arc::new(MessagesProjection::new(self.messages())),
            ProjectionName::Groups => Arc::new(GroupsProjection::new(self.groups())),
        }
    }

    /// Where projections publish progress for other processes; the embedded backend is one
    /// process, so it has none.
    pub(crate) fn checkpoints(&self) -> Option<Arc<dyn CheckpointStore>> {
        match self {
            Stores::Embedded(_) => None,
            Stores::Dynamo(s) => Some(Arc::new(s.clone())),
        }
    }

    pub(crate) async fn dump(&self) -> anyhow::Result<Value> {
        Ok(match self {
            Stores::Embedded(s) => {
                let s = s.clone();
                tokio::task::spawn_blocking(move || s.dump()).await??
            }
            Stores::Dynamo(s) => s.dump().await?,
        })
    }
}

pub(crate) struct Backend {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) stores: Stores,
}

impl Backend {
    pub(crate) fn is_embedded(&self) -> bool {
        matches!(self.stores, Stores::Embedded(_))
    }
}

enum LogKind {
    Embedded,
    Kafka(String),
}

fn log_kind(url: &str) -> anyhow::Result<LogKind> {
    match url {
        "embedded" => Ok(LogKind::Embedded),
        other => match other.strip_prefix("kafka://") {
            Some(servers) if !servers.is_empty() => Ok(LogKind::Kafka(servers.to_owned())),
            _ => bail!("--log must be 'embedded' or 'kafka://host:port[,host:port...]', not {other:?}"),
        },
    }
}

pub(crate) async fn open_embedded_store(dir: &Path) -> anyhow::Result<EmbeddedStore> {
    let path = dir.join(STORE_FILE);
    tokio::task::spawn_blocking(move || EmbeddedStore::open(&path))
        .await?
        .with_context(|| format!("cannot open the read models in {}", dir.display()))
}

pub(crate) async fn connect_dynamo(args: &BackendArgs, namespace: &str) -> anyhow::Result<DynamoStore> {
    let config = DynamoConfig { endpoint: args.dynamodb_endpoint.clone(), namespace: namespace.to_owned() };
    DynamoStore::connect(&config).await.context("cannot reach DynamoDB")
}

/// Connects the configured adapters and creates missing topics and tables.
pub(crate) async fn connect(args: &BackendArgs) -> anyhow::Result<Backend> {
    let backend = match (log_kind(&args.log)?, args.store) {
        (LogKind::Embedded, StoreKind::Embedded) => {
            let dir = &args.data_dir;
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create data dir {}", dir.display()))?;
            let path = dir.join(LOG_FILE);
            let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(&path)).await?.with_context(|| {
                format!("cannot open the event log in {} (is another confab using it?)", dir.display())
            })?;
            Backend { log: Arc::new(log), stores: Stores::Embedded(open_embedded_store(dir).await?) }
        }
        (LogKind::Kafka(servers), StoreKind::Dynamodb) => {
            let store = connect_dynamo(args, &args.namespace).await?;
            let config = KafkaConfig {
                bootstrap_servers: servers,
                namespace: args.namespace.clone(),
                timeout: Duration::from_millis(args.kafka_timeout_ms),
                replication_factor: args.kafka_replication_factor,
            };
            let log =
                KafkaLog::connect(config, Arc::new(store.clone())).context("cannot configure the kafka client")?;
            Backend { log: Arc::new(log), stores: Stores::Dynamo(store) }
        }
        (LogKind::Kafka(_), StoreKind::Embedded) => {
            bail!("a kafka log needs --store dynamodb: read models and claims must be shared by every process")
        }
        (LogKind::Embedded, StoreKind::Dynamodb) => {
            bail!("--store dynamodb goes with --log kafka://...")
        }
    };
    backend.log.ensure_topics(&topic_specs(args.partitions)).await.context("cannot create topics")?;
    Ok(backend)
}
