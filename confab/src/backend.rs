//! Picks and connects the adapters behind the ports: embedded (one process, local disk) or
//! Kafka + DynamoDB + S3.
use std::{path::Path, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use confab_consumers::catalog::Sinks;
use confab_eventlog::{
    EventLog, LogSignals, TopicSpec,
    embedded::EmbeddedLog,
    kafka::{KafkaConfig, KafkaLog},
};
use confab_objects::{
    ObjectStore,
    cdn::{CdnDownloads, CdnSigner},
    embedded::{AtRestKeys, EmbeddedObjects},
    s3::{S3Config, S3Objects},
};
use confab_producers::{Keyring, topic_specs};
use confab_readmodels::{
    Adapter, AnalyticsStore, DataKeyStore, ReadModels, ReadModelsConfig,
    dynamodb::{DynamoConfig, DynamoStore},
    embedded::{EmbeddedAnalytics, EmbeddedKeys},
    upload_key,
};
use confab_schemas::SIGNALS_TOPIC;

use crate::{
    args::{BackendArgs, ObjectsKind, StoreKind},
    secrets::{load_or_create, private_dir},
};

const LOG_FILE: &str = "log.redb";
/// The analytics consumer's own state on the embedded backend.
const ANALYTICS_FILE: &str = "analytics.redb";
/// The data keys on the embedded backend.
const KEYS_FILE: &str = "keys.redb";
/// Where the embedded object store keeps attachment files, under the data dir.
const OBJECTS_DIR: &str = "objects";
/// HKDF purposes of the embedded object store's keys.
const OBJECTS_AT_REST: &str = "confab/objects/at-rest";
const OBJECTS_URLS: &str = "confab/objects/urls";

/// The object-store adapter in use, for attachment bytes.
#[derive(Clone)]
pub(crate) struct Objects {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The embedded store, whose signed URLs this process serves itself; None on S3.
    pub(crate) embedded: Option<EmbeddedObjects>,
}

pub(crate) struct Backend {
    pub(crate) log: Arc<dyn EventLog>,
    /// The live generation of read models.
    pub(crate) read_models: ReadModels,
    pub(crate) objects: Objects,
    /// The analytics consumer's state: its own file, or its own tables.
    pub(crate) analytics: Arc<dyn AnalyticsStore>,
    /// The data keys content is sealed under: their own file, or their own table.
    pub(crate) data_keys: Arc<dyn DataKeyStore>,
}

impl Backend {
    pub(crate) fn is_embedded(&self) -> bool {
        matches!(self.read_models.adapter(), Adapter::Embedded(_))
    }

    pub(crate) fn generation(&self) -> u32 {
        self.read_models.generation()
    }

    /// What the consumers of `read_models` (this backend's, or another generation's) write to.
    pub(crate) fn sinks<'a>(&'a self, read_models: &'a ReadModels) -> Sinks<'a> {
        Sinks { read_models, objects: &self.objects.store, analytics: &self.analytics, data_keys: &self.data_keys }
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

/// The read models of `generation` (the live one when None) in the configured store: embedded
/// files in `embedded_dir`, or DynamoDB tables under `namespace`; `fresh` drops that
/// generation's tables first (DynamoDB), and `provision` says whether missing tables are made.
pub(crate) async fn read_models(
    args: &BackendArgs,
    embedded_dir: &Path,
    namespace: &str,
    generation: Option<u32>,
    fresh: bool,
    provision: Provision,
) -> anyhow::Result<ReadModels> {
    let config = match args.store {
        StoreKind::Embedded => ReadModelsConfig::Embedded { dir: embedded_dir.to_owned(), generation },
        StoreKind::Dynamodb => ReadModelsConfig::Dynamodb(DynamoConfig {
            endpoint: args.dynamodb_endpoint.clone(),
            namespace: namespace.to_owned(),
            generation,
            fresh,
            create_tables: provision == Provision::CreateMissing,
        }),
    };
    ReadModels::open(&config).await.with_context(|| match args.store {
        StoreKind::Embedded => format!("cannot open the read models in {}", embedded_dir.display()),
        StoreKind::Dynamodb => "cannot reach DynamoDB".to_owned(),
    })
}

/// The master keyring spec: the flag, or (embedded only) the one generated into the data dir.
pub(crate) fn keyring_spec(args: &BackendArgs, embedded: bool) -> anyhow::Result<Option<String>> {
    match (&args.master_keys, embedded) {
        (Some(keys), _) => Ok(Some(keys.clone())),
        (None, true) => {
            let dir = &args.data_dir;
            private_dir(dir)?;
            Ok(Some(load_or_create(dir, "master.keys", Keyring::generate_spec)?))
        }
        (None, false) => Ok(None),
    }
}

/// The CloudFront signer `--cdn-url` asks for, if it does.
fn cdn_signer(args: &BackendArgs) -> anyhow::Result<Option<CdnSigner>> {
    let (Some(url), Some(key_pair_id), Some(key)) = (&args.cdn_url, &args.cdn_key_pair_id, &args.cdn_private_key)
    else {
        return Ok(None);
    };
    let pem = if key.trim_start().starts_with("-----BEGIN") {
        key.as_bytes().to_vec()
    } else {
        std::fs::read(key).with_context(|| format!("cannot read --cdn-private-key {key}"))?
    };
    Ok(Some(CdnSigner::new(url, key_pair_id, &pem)?))
}

/// Connects the configured object store; S3 buckets are created when missing if `provision`
/// says so.
async fn connect_objects(args: &BackendArgs, embedded: bool, provision: Provision) -> anyhow::Result<Objects> {
    match args.objects {
        ObjectsKind::S3 => {
            let config = S3Config {
                bucket: args.s3_bucket.clone(),
                endpoint: args.s3_endpoint.clone(),
                public_endpoint: args.s3_public_endpoint.clone(),
                scratch_prefix: Some(upload_key("")),
                encryption: args.s3_encryption(),
                create_bucket: provision == Provision::CreateMissing,
            };
            let s3: Arc<dyn ObjectStore> = Arc::new(S3Objects::connect(&config).await.context("cannot reach S3")?);
            let store = match cdn_signer(args)? {
                Some(signer) => Arc::new(CdnDownloads::new(s3, signer)),
                None => s3,
            };
            Ok(Objects { store, embedded: None })
        }
        ObjectsKind::Embedded if args.cdn_url.is_some() => {
            bail!("--cdn-url fronts an S3 bucket (--objects s3); the embedded store signs its own URLs")
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
            Ok(Objects { store: Arc::new(objects.clone()), embedded: Some(objects) })
        }
    }
}

/// Whether connecting creates what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provision {
    /// Topics, tables and the bucket are created when missing: long-lived processes and
    /// `confab setup`.
    CreateMissing,
    /// They exist already (`confab setup` or a stack made them): nothing is created, so a
    /// Lambda function's cold start makes no admin calls and needs no rights to make them.
    Existing,
}

/// Connects the configured adapters and creates missing topics and tables.
pub(crate) async fn connect(args: &BackendArgs) -> anyhow::Result<Backend> {
    connect_with(args, Provision::CreateMissing).await
}

/// Connects the configured adapters, creating what is missing as `provision` says.
pub(crate) async fn connect_with(args: &BackendArgs, provision: Provision) -> anyhow::Result<Backend> {
    let backend = match (log_kind(&args.log)?, args.store) {
        (LogKind::Embedded, StoreKind::Embedded) => {
            let dir = &args.data_dir;
            private_dir(dir)?;
            let path = dir.join(LOG_FILE);
            let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(&path)).await?.with_context(|| {
                format!("cannot open the event log in {} (is another confab using it?)", dir.display())
            })?;
            let analytics_path = dir.join(ANALYTICS_FILE);
            let analytics = tokio::task::spawn_blocking(move || EmbeddedAnalytics::open(&analytics_path))
                .await?
                .with_context(|| format!("cannot open the analytics state in {}", dir.display()))?;
            let keys_path = dir.join(KEYS_FILE);
            let data_keys = tokio::task::spawn_blocking(move || EmbeddedKeys::open(&keys_path))
                .await?
                .with_context(|| format!("cannot open the data keys in {}", dir.display()))?;
            Backend {
                data_keys: Arc::new(data_keys),
                log: Arc::new(log),
                read_models: read_models(args, dir, "", None, false, provision).await?,
                objects: connect_objects(args, true, provision).await?,
                analytics: Arc::new(analytics),
            }
        }
        (LogKind::Kafka(servers), StoreKind::Dynamodb) => {
            let config = DynamoConfig {
                endpoint: args.dynamodb_endpoint.clone(),
                namespace: args.namespace.clone(),
                generation: None,
                fresh: false,
                create_tables: provision == Provision::CreateMissing,
            };
            let store = DynamoStore::connect(&config).await.context("cannot reach DynamoDB")?;
            let kafka = KafkaConfig {
                bootstrap_servers: servers,
                namespace: args.namespace.clone(),
                timeout: Duration::from_millis(args.kafka_timeout_ms),
                replication_factor: args.kafka_replication_factor,
                options: args.all_kafka_options()?,
            };
            let log = KafkaLog::connect(kafka, Arc::new(store.clone())).context("cannot configure the kafka client")?;
            Backend {
                log: Arc::new(log),
                analytics: Arc::new(store.clone()),
                data_keys: Arc::new(store.clone()),
                read_models: ReadModels::dynamo(store),
                objects: connect_objects(args, false, provision).await?,
            }
        }
        (LogKind::Kafka(_), StoreKind::Embedded) => {
            bail!("a kafka log needs --store dynamodb: read models and claims must be shared by every process")
        }
        (LogKind::Embedded, StoreKind::Dynamodb) => {
            bail!("--store dynamodb goes with --log kafka://...")
        }
    };
    if provision == Provision::CreateMissing {
        let topics = topics(args, backend.is_embedded());
        backend.log.ensure_topics(&topics).await.context("cannot create topics")?;
    }
    Ok(backend)
}

/// The topics a deployment has: the stream's, and on Kafka the signals between API processes
/// (in one process they stay in memory).
pub(crate) fn topics(args: &BackendArgs, embedded: bool) -> Vec<TopicSpec> {
    let mut topics = topic_specs(args.partitions);
    if !embedded {
        let retention = Duration::from_secs(args.signals_retention_secs);
        topics.push(LogSignals::topic_spec(SIGNALS_TOPIC, retention));
    }
    topics
}
