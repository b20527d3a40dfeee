//! The command line. Every flag can also be set through its `CONFAB_*` environment variable.
use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

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
    /// Prints the event stream as JSON lines, decoded with the schemas (stop the server first).
    Events(EventsArgs),
    /// Replays the log from offset 0 into empty read-model tables (stop the server first).
    Rebuild(RebuildArgs),
    /// Prints every read-model table as one JSON document (stop the server first).
    DumpTables(DumpTablesArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DataDir {
    /// Where the embedded log, read models and generated secrets live.
    #[arg(long, env = "CONFAB_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) data: DataDir,
    /// Address the HTTP API listens on; port 0 picks a free port.
    #[arg(long, env = "CONFAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// HS256 signing secret for tokens; generated into the data dir when absent.
    #[arg(long, env = "CONFAB_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
    /// Master keys as `id:base64(32 bytes)[,id:base64...]`, current first; generated into the
    /// data dir when absent.
    #[arg(long, env = "CONFAB_MASTER_KEYS", hide_env_values = true)]
    pub(crate) master_keys: Option<String>,
    /// Lifetime of issued tokens.
    #[arg(long, env = "CONFAB_TOKEN_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) token_ttl_secs: i64,
    /// Partitions of each topic when it is created.
    #[arg(long, env = "CONFAB_PARTITIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) partitions: u32,
    /// How long a write waits for its projection before answering without read-your-writes.
    #[arg(
        long,
        env = "CONFAB_READ_YOUR_WRITES_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub(crate) read_your_writes_timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct EventsArgs {
    #[command(flatten)]
    pub(crate) data: DataDir,
    /// Only this topic (default: all).
    #[arg(long)]
    pub(crate) topic: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RebuildArgs {
    #[command(flatten)]
    pub(crate) data: DataDir,
    /// Directory for the rebuilt `readmodels.redb`; must not hold one yet.
    #[arg(long)]
    pub(crate) into: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DumpTablesArgs {
    /// A data directory (or rebuild target) holding `readmodels.redb`.
    #[arg(long)]
    pub(crate) dir: PathBuf,
}
