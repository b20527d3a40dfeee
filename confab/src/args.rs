//! The arguments every role and command shares: where the log, the read models and the
//! objects live. Every flag can also be set through its `CONFAB_*` environment variable.
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ObjectsKind {
    Embedded,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreKind {
    Embedded,
    Dynamodb,
}

/// Where the log and the read models live.
#[derive(Debug, Clone, Args)]
pub(crate) struct BackendArgs {
    /// Where the embedded log, read models and generated secrets live.
    #[arg(long, env = "CONFAB_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
    /// The event log: `embedded`, or `kafka://host:port[,host:port...]`.
    #[arg(long, env = "CONFAB_LOG", default_value = "embedded")]
    pub(crate) log: String,
    /// The read-model store (`dynamodb` goes with a Kafka log).
    #[arg(long, env = "CONFAB_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    pub(crate) store: StoreKind,
    /// DynamoDB endpoint for a local server; otherwise the AWS configuration chain decides
    /// (region and credentials always come from it).
    #[arg(long, env = "CONFAB_DYNAMODB_ENDPOINT")]
    pub(crate) dynamodb_endpoint: Option<String>,
    /// Master keys as `id:base64(32 bytes)[,id:base64...]`, current first: message content and,
    /// on the embedded backend, attachment files are sealed under keys derived from them.
    /// Generated into the data dir when absent (embedded only: processes that share a Kafka log
    /// must share them).
    #[arg(long, env = "CONFAB_MASTER_KEYS", hide_env_values = true)]
    pub(crate) master_keys: Option<String>,
    /// Where attachment bytes live: `embedded` (files under the data dir, served by confab at
    /// signed URLs) or `s3` (a Kafka log needs `s3`: every process must reach the same objects).
    #[arg(long, env = "CONFAB_OBJECTS", value_enum, default_value_t = ObjectsKind::Embedded)]
    pub(crate) objects: ObjectsKind,
    /// The S3 bucket for attachments; created at start-up when missing.
    #[arg(long, env = "CONFAB_S3_BUCKET", default_value = "confab-attachments")]
    pub(crate) s3_bucket: String,
    /// S3 endpoint for a local or non-AWS server (path-style addressing); otherwise the AWS
    /// configuration chain decides (region and credentials always come from it).
    #[arg(long, env = "CONFAB_S3_ENDPOINT")]
    pub(crate) s3_endpoint: Option<String>,
    /// The S3 endpoint as clients reach it, when that differs from `--s3-endpoint` (e.g. a
    /// container network name): pre-signed URLs are signed for it.
    #[arg(long, env = "CONFAB_S3_PUBLIC_ENDPOINT")]
    pub(crate) s3_public_endpoint: Option<String>,
    /// Prefix of every topic, consumer group and table, so deployments can share a cluster.
    #[arg(long, env = "CONFAB_NAMESPACE", default_value = "")]
    pub(crate) namespace: String,
    /// Partitions of each topic when it is created.
    #[arg(long, env = "CONFAB_PARTITIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) partitions: u32,
    /// Replication factor of each Kafka topic when it is created.
    #[arg(long, env = "CONFAB_KAFKA_REPLICATION_FACTOR", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
    pub(crate) kafka_replication_factor: i32,
    /// Bound on every Kafka produce and admin call; past it a send answers 503.
    #[arg(long, env = "CONFAB_KAFKA_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..))]
    pub(crate) kafka_timeout_ms: u64,
}
