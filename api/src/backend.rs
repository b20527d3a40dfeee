//! Picks and connects the adapters behind the ports: embedded (one process, local disk) or
//! Kafka + DynamoDB.
use std::{path::Path, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use confab_consumers::{
    analytics::{AnalyticsStore, EmbeddedAnalytics},
    projection::{AttachmentIndexer, GroupsProjection, MessagesProjection, Projection, UsersProjection},
    store::{
        AttachmentStore, CheckpointStore, GroupStore, MessageStore, UserStore,
        dynamodb::{DynamoConfig, DynamoStore},
        embedded::EmbeddedStore,
        upload_key,
    },
};
use confab_eventlog::{
    EventLog,
    embedded::EmbeddedLog,
    kafka::{KafkaConfig, KafkaLog},
};
use confab_objects::{
    ObjectStore,
    embedded::{AtRestKeys, EmbeddedObjects},
    s3::{S3Config, S3Objects},
};
use confab_producers::topic_specs;
use serde_json::Value;

use crate::{
    cli::{BackendArgs, ObjectsKind, ProjectionName, StoreKind},
    crypto::Keyring,
    generations,
    secrets::load_or_create,
};

pub(crate) const LOG_FILE: &str = "log.redb";
/// The analytics consumer's own state on the embedded backend.
const ANALYTICS_FILE: &str = "analytics.redb";
/// Where the embedded object store keeps attachment files, under the data dir.
const OBJECTS_DIR: &str = "objects";
/// HKDF purposes of the embedded object store's keys.
const OBJECTS_AT_REST: &str = "confab/objects/at-rest";
const OBJECTS_URLS: &str = "confab/objects/urls";

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

    pub(crate) fn attachments(&self) -> Arc<dyn AttachmentStore> {
        match self {
            Stores::Embedded(s) => Arc::new(s.clone()),
            Stores::Dynamo(s) => Arc::new(s.clone()),
        }
    }

    /// The projection `name`, writing into these stores (the attachment indexer also reads
    /// `objects`).
    pub(crate) fn projection(&self, name: ProjectionName, objects: &Objects) -> Arc<dyn Projection> {
        match name {
            ProjectionName::Users => Arc::new(UsersProjection::new(self.users())),
            ProjectionName::Messages => Arc::new(MessagesProjection::new(self.messages())),
            ProjectionName::Groups => Arc::new(GroupsProjection::new(self.groups())),
            ProjectionName::Attachments => Arc::new(AttachmentIndexer::new(self.attachments(), objects.store())),
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

/// The object-store adapter in use, for attachment bytes.
#[derive(Clone)]
pub(crate) enum Objects {
    Embedded(EmbeddedObjects),
    S3(S3Objects),
}

impl Objects {
    pub(crate) fn store(&self) -> Arc<dyn ObjectStore> {
        match self {
            Objects::Embedded(o) => Arc::new(o.clone()),
            Objects::S3(o) => Arc::new(o.clone()),
        }
    }

    /// The embedded store, whose signed URLs this process serves itself.
    pub(crate) fn embedded(&self) -> Option<&EmbeddedObjects> {
        match self {
            Objects::Embedded(o) => Some(o),
            Objects::S3(_) => None,
        }
    }
}

pub(crate) struct Backend {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) stores: Stores,
    pub(crate) objects: Objects,
    /// The analytics consumer's state: its own file, or its own tables.
    pub(crate) analytics: Arc<dyn AnalyticsStore>,
    /// The live generation of read models, which `stores` are.
    pub(crate) generation: u32,
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

/// The embedded read models of `generation` in `dir`.
pub(crate) async fn open_embedded_store(dir: &Path, generation: u32) -> anyhow::Result<EmbeddedStore> {
    let path = dir.join(generations::store_file(generation));
    tokio::task::spawn_blocking(move || EmbeddedStore::open(&path))
        .await?
        .with_context(|| format!("cannot open the read models in {}", dir.display()))
}

/// DynamoDB read models of `generation` (the live one when None); `fresh` drops that
/// generation's tables first.
pub(crate) async fn connect_dynamo(
    args: &BackendArgs,
    namespace: &str,
    generation: Option<u32>,
    fresh: bool,
) -> anyhow::Result<DynamoStore> {
    let config =
        DynamoConfig { endpoint: args.dynamodb_endpoint.clone(), namespace: namespace.to_owned(), generation, fresh };
    DynamoStore::connect(&config).await.context("cannot reach DynamoDB")
}

/// The master keyring spec: the flag, or (embedded only) the one generated into the data dir.
pub(crate) fn keyring_spec(args: &BackendArgs, embedded: bool) -> anyhow::Result<Option<String>> {
    match (&args.master_keys, embedded) {
        (Some(keys), _) => Ok(Some(keys.clone())),
        (None, true) => {
            let dir = &args.data_dir;
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create data dir {}", dir.display()))?;
            Ok(Some(load_or_create(dir, "master.keys", Keyring::generate_spec)?))
        }
        (None, false) => Ok(None),
    }
}

/// Connects the configured object store; S3 buckets are created when missing.
pub(crate) async fn connect_objects(args: &BackendArgs, embedded: bool) -> anyhow::Result<Objects> {
    match args.objects {
        ObjectsKind::S3 => {
            let config = S3Config {
                bucket: args.s3_bucket.clone(),
                endpoint: args.s3_endpoint.clone(),
                public_endpoint: args.s3_public_endpoint.clone(),
                scratch_prefix: Some(upload_key("")),
            };
            Ok(Objects::S3(S3Objects::connect(&config).await.context("cannot reach S3")?))
        }
        ObjectsKind::Embedded if !embedded => {
            bail!("a kafka log needs --objects s3: every process must reach the same attachment bytes")
        }
        ObjectsKind::Embedded => {
            let spec = keyring_spec(args, true)?.context("no master keys")?;
            let keyring = Keyring::parse(&spec)?;
            let (current, keys) = keyring.derive_all(OBJECTS_AT_REST)?;
            let (url_key_id, url_keys) = keyring.derive_all(OBJECTS_URLS)?;
            let signing_key = *url_keys.get(&url_key_id).context("no current master key")?;
            let root = args.data_dir.join(OBJECTS_DIR);
            let objects = tokio::task::spawn_blocking(move || {
                EmbeddedObjects::open(&root, AtRestKeys { current, keys }, signing_key)
            })
            .await?
            .context("cannot open the attachment files")?;
            Ok(Objects::Embedded(objects))
        }
    }
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
            let analytics_path = dir.join(ANALYTICS_FILE);
            let analytics = tokio::task::spawn_blocking(move || EmbeddedAnalytics::open(&analytics_path))
                .await?
                .with_context(|| format!("cannot open the analytics state in {}", dir.display()))?;
            let generation = generations::current(dir)?;
            Backend {
                log: Arc::new(log),
                stores: Stores::Embedded(open_embedded_store(dir, generation).await?),
                generation,
                objects: connect_objects(args, true).await?,
                analytics: Arc::new(analytics),
            }
        }
        (LogKind::Kafka(servers), StoreKind::Dynamodb) => {
            let store = connect_dynamo(args, &args.namespace, None, false).await?;
            let config = KafkaConfig {
                bootstrap_servers: servers,
                namespace: args.namespace.clone(),
                timeout: Duration::from_millis(args.kafka_timeout_ms),
                replication_factor: args.kafka_replication_factor,
            };
            let log =
                KafkaLog::connect(config, Arc::new(store.clone())).context("cannot configure the kafka client")?;
            Backend {
                log: Arc::new(log),
                analytics: Arc::new(store.clone()),
                generation: store.generation(),
                stores: Stores::Dynamo(store),
                objects: connect_objects(args, false).await?,
            }
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
