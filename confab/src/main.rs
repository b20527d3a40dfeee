//! `confab`: the one binary that plays every role. `main` parses the command line and hands it to
//! the role or command it names; each lives in a module of its own with its arguments.

mod args;
mod backend;
mod commands;
mod logging;
mod metrics;
mod roles;
mod scratch;
mod secrets;
mod trace_export;
mod workers;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

/// A server's allocator: it returns freed memory to the system and keeps per-thread caches small,
/// where glibc's arenas kept every large buffer a thread ever freed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::{
    commands::{
        dump_tables::DumpTablesArgs, events_tail::EventsArgs, generations::GenerationsArgs, offsets::OffsetsArgs,
        rebuild::RebuildArgs, replay::ReplayArgs, setup::SetupArgs, vapid_key::VapidKeyArgs,
    },
    logging::LogFormat,
    roles::{analytics::AnalyticsArgs, consume::ConsumeArgs, http::ServeArgs},
    trace_export::TraceExport,
};

#[derive(Debug, Parser)]
#[command(name = "confab", version, about = "Event-sourced chat backend")]
struct Cli {
    /// Log lines on stderr: `text` (colored on a terminal only) or `json` (one object per line;
    /// the default under a Lambda function whose log format is JSON).
    #[arg(long, global = true, env = "CONFAB_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Export traces (requests, appends, projection batches) as OTLP/HTTP JSON to this receiver,
    /// an `http://` base URL such as `http://127.0.0.1:4318` (`/v1/traces` is added). Off unless
    /// set; `OTEL_SERVICE_NAME` and `OTEL_EXPORTER_OTLP_HEADERS` are honoured.
    #[arg(long, global = true, env = "CONFAB_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP API and every projection in one process.
    Serve(ServeArgs),
    /// Creates the topics, tables and bucket a deployment needs, then exits (once, before Lambda
    /// functions, which create nothing; long-lived processes create what is missing themselves).
    Setup(SetupArgs),
    /// Runs the HTTP API only; projections run in `confab consume` processes (Kafka backend).
    Api(ServeArgs),
    /// Runs projection workers only (Kafka backend).
    Consume(ConsumeArgs),
    /// Runs the push consumer only (Kafka backend): notifications to devices with no open
    /// socket; `--listen` serves its health.
    Push(ServeArgs),
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
    /// Makes a VAPID key pair (Web Push) for `--vapid-private-key`, and prints it.
    VapidKey(VapidKeyArgs),
    /// Runs a role as an AWS Lambda function: `api` behind API Gateway or an ALB, `consume` on a
    /// Kafka event source mapping.
    Lambda {
        #[command(subcommand)]
        role: roles::lambda::LambdaCommand,
    },
}

impl Command {
    /// The role a process plays, as its traces name it.
    fn role(&self) -> &'static str {
        match self {
            Self::Serve(_) => "serve",
            Self::Setup(_) => "setup",
            Self::Api(_) => "api",
            Self::Consume(_) => "consume",
            Self::Push(_) => "push",
            Self::Events(_) => "events",
            Self::Analytics(_) => "analytics",
            Self::Offsets(_) => "offsets",
            Self::Replay(_) => "replay",
            Self::Rebuild(_) => "rebuild",
            Self::DumpTables(_) => "dump-tables",
            Self::Generations(_) => "generations",
            Self::VapidKey(_) => "vapid-key",
            Self::Lambda { .. } => "lambda",
        }
    }
}

/// The command line. Under a Lambda custom runtime the binary is `bootstrap`, started without
/// arguments, and the function's handler setting names the role (`lambda api`, `lambda consume
/// messages`), as `_HANDLER`: one binary for every function of the stack.
fn command_line() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.len() == 1
        && let Ok(handler) = std::env::var("_HANDLER")
    {
        args.extend(handler.split_whitespace().map(OsString::from));
    }
    args
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every file and directory Confab creates (logs, read models, keys, attachment files) is its
    // owner's only: they hold password hashes and keys.
    let _ = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse_from(command_line());
    let traces =
        cli.otlp_endpoint.as_deref().map(|endpoint| TraceExport::start(endpoint, cli.command.role())).transpose()?;
    logging::init(LogFormat::chosen(cli.log_format), traces.as_ref());
    metrics::install()?;
    let ran = run(cli.command).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    ran
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => roles::serve::run(args).await,
        Command::Setup(args) => args.run().await,
        Command::Api(args) => roles::api::run(args).await,
        Command::Consume(args) => args.run().await,
        Command::Push(args) => roles::push::run(args).await,
        Command::Events(args) => args.run().await,
        Command::Analytics(args) => args.run().await,
        Command::Offsets(args) => args.run().await,
        Command::Replay(args) => args.run().await,
        Command::Rebuild(args) => args.run().await,
        Command::DumpTables(args) => args.run().await,
        Command::Generations(args) => args.run().await,
        Command::VapidKey(args) => args.run(),
        Command::Lambda { role } => role.run().await,
    }
}
