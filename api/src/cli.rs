//! The command line. Every flag can also be set through its `CONFAB_*` environment variable.
use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "confab", version, about = "Event-sourced chat backend")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs the HTTP API and every projection in one process.
    Serve(ServeArgs),
    /// Runs the HTTP API only; projections run in `confab consume` processes (Kafka backend).
    Api(ServeArgs),
    /// Runs projection workers only (Kafka backend).
    Consume(ConsumeArgs),
    /// The event stream, decoded with the schemas.
    Events(EventsArgs),
    /// Runs the analytics consumer (Kafka backend; `serve` runs it in-process), or with `report`
    /// prints its numbers.
    Analytics(AnalyticsArgs),
    /// Consumer group offsets.
    Offsets(OffsetsArgs),
    /// Rebuilds read models from offset 0: into a new generation of tables that becomes the
    /// live one once caught up (blue/green), or into the live tables (`--in-place`).
    Replay(ReplayArgs),
    /// Replays the log from offset 0 into empty read-model tables elsewhere (for comparison).
    Rebuild(RebuildArgs),
    /// Prints every read-model table as one JSON document.
    DumpTables(DumpTablesArgs),
    /// Generations of read models: list them, drop the ones a replay replaced.
    Generations(GenerationsArgs),
}

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

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Address the HTTP API listens on; port 0 picks a free port.
    #[arg(long, env = "CONFAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// HS256 signing secret for tokens; generated into the data dir when absent (embedded only:
    /// processes that share a Kafka log must share it).
    #[arg(long, env = "CONFAB_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
    /// The URL clients reach this process at, the base of the signed attachment URLs of the
    /// embedded object store (default: `http://` and the listening address).
    #[arg(long, env = "CONFAB_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Largest attachment, in bytes.
    #[arg(long, env = "CONFAB_ATTACHMENT_MAX_BYTES", default_value_t = 100 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) attachment_max_bytes: u64,
    /// How long an attachment's upload URL works.
    #[arg(long, env = "CONFAB_ATTACHMENT_UPLOAD_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) attachment_upload_ttl_secs: u64,
    /// How long an attachment's download URL works.
    #[arg(long, env = "CONFAB_ATTACHMENT_DOWNLOAD_TTL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) attachment_download_ttl_secs: u64,
    /// Usernames with the admin role, who may read `/analytics/summary`.
    #[arg(long, env = "CONFAB_ADMINS", value_delimiter = ',')]
    pub(crate) admins: Vec<String>,
    /// Lifetime of issued tokens.
    #[arg(long, env = "CONFAB_TOKEN_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) token_ttl_secs: i64,
    /// How long a write waits for its projection before answering without read-your-writes.
    #[arg(long, env = "CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", default_value_t = 5000)]
    pub(crate) read_your_writes_timeout_ms: u64,
    /// Most members a group may have, its creator included.
    #[arg(long, env = "CONFAB_GROUP_MEMBER_LIMIT", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=100_000))]
    pub(crate) group_member_limit: usize,
    /// Frames a WebSocket connection may have queued; a client further behind is disconnected
    /// (close code 4001) and resumes with its cursor.
    #[arg(long, env = "CONFAB_WS_QUEUE_FRAMES", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) ws_queue_frames: usize,
    /// Seconds between WebSocket pings; a connection silent for two is dropped.
    #[arg(long, env = "CONFAB_WS_PING_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) ws_ping_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProjectionName {
    Users,
    Messages,
    Groups,
    /// The attachment indexer.
    Attachments,
}

impl ProjectionName {
    pub(crate) const ALL: [ProjectionName; 4] =
        [ProjectionName::Users, ProjectionName::Messages, ProjectionName::Groups, ProjectionName::Attachments];

    /// The projection's name, as in its consumer group `confab.projector.<name>`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ProjectionName::Users => "users",
            ProjectionName::Messages => "messages",
            ProjectionName::Groups => "groups",
            ProjectionName::Attachments => "attachments",
        }
    }

    /// The topics it reads.
    pub(crate) fn topics(self) -> &'static [confab_schemas::Topic] {
        use confab_schemas::Topic;
        match self {
            ProjectionName::Users => &[Topic::Users],
            ProjectionName::Messages => &[Topic::Messages],
            ProjectionName::Groups => &[Topic::Groups],
            ProjectionName::Attachments => &[Topic::Attachments],
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ConsumeArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The projections to run; all when none are named.
    #[arg(value_enum)]
    pub(crate) projections: Vec<ProjectionName>,
    /// Serve `/healthz` and `/readyz` for the workers on this address.
    #[arg(long, env = "CONFAB_HEALTH_LISTEN")]
    pub(crate) health_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct EventsArgs {
    #[command(subcommand)]
    pub(crate) command: EventsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum EventsCommand {
    /// Prints events as JSON lines: where each sits, its headers, and the event decoded.
    Tail(TailArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Only this topic, e.g. `confab.messages` (default: every topic).
    #[arg(long)]
    pub(crate) topic: Option<String>,
    /// Start at offset 0 rather than at the end.
    #[arg(long)]
    pub(crate) from_beginning: bool,
    /// Keep printing new events as they are appended, until interrupted; otherwise stop at the
    /// end the log had when the command started.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Open sealed content and file names with the master keys (`--master-keys`, or the data
    /// dir's on the embedded backend).
    #[arg(long)]
    pub(crate) decrypt: bool,
    /// Also print each record's value as it is on the log (base64), for decoding elsewhere.
    #[arg(long)]
    pub(crate) raw: bool,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AnalyticsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<AnalyticsCommand>,
    #[command(flatten)]
    pub(crate) run: AnalyticsRunArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum AnalyticsCommand {
    /// Prints the analytics numbers as JSON.
    Report(ReportArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AnalyticsRunArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Serve `/healthz` and `/readyz` for the consumer on this address.
    #[arg(long, env = "CONFAB_HEALTH_LISTEN")]
    pub(crate) health_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `--to`.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC); default: today.
    #[arg(long)]
    pub(crate) to: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct OffsetsArgs {
    #[command(subcommand)]
    pub(crate) command: OffsetsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum OffsetsCommand {
    /// Moves a consumer group's committed offsets; stop its consumers first.
    Reset(ResetArgs),
    /// Prints a consumer group's committed offset, the end and the lag of every partition.
    Show(ShowOffsetsArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ShowOffsetsArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The group, e.g. `confab.projector.messages` (without the namespace).
    pub(crate) group: String,
    /// The topics to show (default: the ones a Confab group reads).
    #[arg(long = "topic")]
    pub(crate) topics: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ResetArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The group, e.g. `confab.projector.messages` or `confab.projector.analytics` (without
    /// the namespace).
    pub(crate) group: String,
    /// `earliest`, `latest`, a time: RFC 3339 (`2026-12-01T04:00:00Z`) or milliseconds since
    /// the epoch (the group then resumes at the first event stamped at or after it), or exact
    /// positions `TOPIC/PARTITION@OFFSET[,...]` (other partitions stay where they are).
    #[arg(long)]
    pub(crate) to: String,
    /// The topics to reset (default: the ones a Confab group reads).
    #[arg(long = "topic")]
    pub(crate) topics: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The projections to replay.
    #[arg(value_enum, required_unless_present = "all")]
    pub(crate) projections: Vec<ProjectionName>,
    /// Every projection.
    #[arg(long, conflicts_with = "projections")]
    pub(crate) all: bool,
    /// Re-apply into the live tables instead of building a new generation beside them.
    #[arg(long)]
    pub(crate) in_place: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RebuildArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Embedded: a directory that holds no read models yet. DynamoDB: a namespace (table
    /// prefix) whose tables are empty.
    #[arg(long)]
    pub(crate) into: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DumpTablesArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct GenerationsArgs {
    #[command(subcommand)]
    pub(crate) command: GenerationsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum GenerationsCommand {
    /// Prints the live generation and every generation that has read models.
    List(ListGenerationsArgs),
    /// Deletes an old generation's read models (tables or file). Run it once every process
    /// reports the live generation on `/readyz`.
    Drop(DropGenerationArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListGenerationsArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DropGenerationArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The generation to drop: older than the live one.
    pub(crate) generation: u32,
}
