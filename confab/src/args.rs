//! The arguments every role and command shares: where the log, the read models and the
//! objects live. Every flag can also be set through its `CONFAB_*` environment variable.
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use confab_objects::s3::Encryption;

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
    /// Server-side encryption every S3 write asks for: `aes256` (SSE-S3), `aws:kms` (SSE-KMS,
    /// under --s3-sse-kms-key-id or the account's default key) or `none` (a server that refuses
    /// SSE-S3 without a KMS, such as MinIO out of the box, or a bucket's default encryption).
    #[arg(long, env = "CONFAB_S3_SSE", default_value = "aes256", value_parser = ["aes256", "aws:kms", "none"])]
    pub(crate) s3_sse: String,
    /// The KMS key of `--s3-sse aws:kms`.
    #[arg(long, env = "CONFAB_S3_SSE_KMS_KEY_ID")]
    pub(crate) s3_sse_kms_key_id: Option<String>,
    /// A CloudFront distribution in front of the S3 bucket (e.g.
    /// `https://d111111abcdef8.cloudfront.net`): download URLs become CloudFront signed URLs
    /// (canned policy) for the same object path. Needs `--cdn-key-pair-id` and `--cdn-private-key`.
    #[arg(long, env = "CONFAB_CDN_URL", requires_all = ["cdn_key_pair_id", "cdn_private_key"])]
    pub(crate) cdn_url: Option<String>,
    /// The id of the CloudFront public key whose private key signs download URLs.
    #[arg(long, env = "CONFAB_CDN_KEY_PAIR_ID", requires = "cdn_url")]
    pub(crate) cdn_key_pair_id: Option<String>,
    /// That private key (RSA, PEM): a file's path, or the PEM itself (as a Lambda's environment
    /// or a secrets manager passes it).
    #[arg(long, env = "CONFAB_CDN_PRIVATE_KEY", hide_env_values = true, requires = "cdn_url")]
    pub(crate) cdn_private_key: Option<String>,
    /// Prefix of every topic, consumer group and table, so deployments can share a cluster.
    #[arg(long, env = "CONFAB_NAMESPACE", default_value = "")]
    pub(crate) namespace: String,
    /// Partitions of each topic when it is created.
    #[arg(long, env = "CONFAB_PARTITIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) partitions: u32,
    /// How long the Kafka topic `confab.signals` keeps typing and presence signals between API
    /// processes, in seconds, when it is created (processes read them as they come, never back).
    #[arg(long, env = "CONFAB_SIGNALS_RETENTION_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub(crate) signals_retention_secs: u64,
    /// Replication factor of each Kafka topic when it is created.
    #[arg(long, env = "CONFAB_KAFKA_REPLICATION_FACTOR", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
    pub(crate) kafka_replication_factor: i32,
    /// Bound on every Kafka produce and admin call; past it a send answers 503.
    #[arg(long, env = "CONFAB_KAFKA_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..))]
    pub(crate) kafka_timeout_ms: u64,
    /// A librdkafka property for every Kafka client, `KEY=VALUE` (repeatable): TLS, SASL and
    /// whatever else a cluster needs (`security.protocol=SASL_SSL`, `sasl.mechanism=SCRAM-SHA-512`,
    /// `ssl.ca.location=/etc/confab/ca.pem`...). As environment variables:
    /// `CONFAB_KAFKA_OPTION_<KEY>` with the key's dots as underscores
    /// (`CONFAB_KAFKA_OPTION_SASL_PASSWORD`), so a value needs no quoting.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE", value_parser = kafka_option)]
    pub(crate) kafka_options: Vec<(String, String)>,
}

/// The prefix of the environment form of `--kafka-option`.
const KAFKA_OPTION_ENV: &str = "CONFAB_KAFKA_OPTION_";

fn kafka_option(raw: &str) -> Result<(String, String), String> {
    let (key, value) = raw.split_once('=').ok_or_else(|| format!("{raw:?} is not KEY=VALUE"))?;
    let key = key.trim().to_owned();
    confab_eventlog::kafka::check_option(&key)?;
    Ok((key, value.to_owned()))
}

impl BackendArgs {
    pub(crate) fn s3_encryption(&self) -> Encryption {
        match self.s3_sse.as_str() {
            "aws:kms" => Encryption::Kms(self.s3_sse_kms_key_id.clone()),
            "none" => Encryption::None,
            _ => Encryption::Aes256,
        }
    }

    /// Every `--kafka-option`, after the ones from the environment (so a flag wins).
    pub(crate) fn all_kafka_options(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut options = Vec::new();
        for (name, value) in std::env::vars() {
            if let Some(key) = name.strip_prefix(KAFKA_OPTION_ENV) {
                let key = key.to_ascii_lowercase().replace('_', ".");
                confab_eventlog::kafka::check_option(&key).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
                options.push((key, value));
            }
        }
        options.sort();
        options.extend(self.kafka_options.iter().cloned());
        Ok(options)
    }
}
