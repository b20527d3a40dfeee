//! `confab-loadgen`: drives a running Confab the way chat clients do and reports what it cost.
//! Modes: closed-loop sends (the default, or a bare handler with `--baseline`), idle WebSockets
//! (`--sockets`), open-loop live delivery (`--deliver`), and the server's memory through
//! registrations, sends and a login flood (`--memory`), and history pages of one long
//! conversation (`--history`), and what resuming many large missed messages costs the server
//! (`--resume`), and how long a push notification takes to reach the push service (`--push`);
//! and the raw ceiling of the Kafka and DynamoDB servers under it
//! (`--raw-kafka`, `--raw-dynamodb`). See BENCHMARKS.md for how each is run.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod closed_loop;
mod delivery;
mod history;
mod latency;
mod memory;
mod push;
mod raw;
mod resume;
mod rss;
mod sends;
mod sockets;

use clap::Parser;
use confab_e2e::{Client, User};
use futures::StreamExt;

#[derive(Parser)]
#[command(about = "load generator for a running confab")]
pub struct Args {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Users to register (each sends to the others).
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Message size in bytes.
    #[arg(long, default_value_t = 100)]
    bytes: usize,
    /// Read the history after every N sends (0: never).
    #[arg(long, default_value_t = 0)]
    read_every: usize,
    /// Send to one group of all the users instead of one-on-one.
    #[arg(long)]
    group: bool,
    /// Instead of sending, GET /healthz: the cost of a bare handler through the same client.
    #[arg(long)]
    baseline: bool,
    /// Instead of sending, open this many authenticated WebSockets (spread over the users), hold
    /// them idle and report what they cost the server (needs --server-pid, and a per-user socket
    /// cap of at least sockets / users on the server).
    #[arg(long, default_value_t = 0)]
    sockets: usize,
    /// The server process, whose resident memory the socket and memory modes read.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Instead of sending flat out, give every user a WebSocket and send this many messages a
    /// second on a fixed schedule (one-on-one, or to the group with --group), reporting the time
    /// from each message's scheduled send to its frame at every recipient.
    #[arg(long, default_value_t = 0)]
    deliver: u32,
    /// Instead, follow the server's resident memory (needs --server-pid) while registering
    /// --users, sending --sends messages from --concurrency clients, then flooding it with
    /// --flood logins at once.
    #[arg(long)]
    memory: bool,
    /// Instead, fill one conversation with this many messages and time 50-message pages of it.
    #[arg(long, default_value_t = 0)]
    history: usize,
    /// Instead, have one user miss this many messages of --bytes, then resume --concurrency of
    /// their sockets at once, following the server's resident memory (needs --server-pid).
    #[arg(long, default_value_t = 0)]
    resume: usize,
    /// Instead, register a push target for every user but the first (the test push service:
    /// needs CONFAB_TEST_PUSH_PYTHON, and a server with --push-allow-private on), send this many
    /// messages to them, and time each send's return to its push's arrival.
    #[arg(long, default_value_t = 0)]
    push: usize,
    /// Sends of the memory mode.
    #[arg(long, default_value_t = 100_000)]
    sends: usize,
    /// Logins of the memory mode's flood.
    #[arg(long, default_value_t = 2_000)]
    flood: usize,
    /// Instead of Confab, drive this Kafka broker with its own client (produce and consume back):
    /// the ceiling under Confab's sends on Kafka.
    #[arg(long)]
    raw_kafka: Option<String>,
    /// Instead of Confab, make conditional puts to this DynamoDB endpoint with its own client:
    /// the ceiling under Confab's projections on DynamoDB.
    #[arg(long)]
    raw_dynamodb: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(bootstrap) = &args.raw_kafka {
        raw::kafka(&args, bootstrap).await;
        return;
    }
    if let Some(endpoint) = &args.raw_dynamodb {
        raw::dynamodb(&args, endpoint).await;
        return;
    }
    let client = Client::new(&args.url);
    if args.memory {
        memory::run(&args, &client, args.server_pid.expect("--memory needs --server-pid")).await;
        return;
    }
    let users = register(&client, args.users).await;
    if args.sockets > 0 {
        let pid = args.server_pid.expect("--sockets needs --server-pid");
        sockets::hold(&args.url, &users, args.sockets, pid).await;
    } else if args.resume > 0 {
        resume::run(&args, &client, &users, args.server_pid.expect("--resume needs --server-pid")).await;
    } else if args.history > 0 {
        history::run(&args, &client, &users).await;
    } else if args.push > 0 {
        push::run(&args, &client, &users, args.push).await;
    } else if args.deliver > 0 {
        delivery::run(&args, &client, users).await;
    } else {
        sends::run(&args, &client, users).await;
    }
}

/// Registers and logs in `count` users of this run, a few at a time.
async fn register(client: &Client, count: usize) -> Vec<User> {
    let run = std::process::id();
    futures::stream::iter(0..count)
        .map(|i| async move { client.user(&format!("load{run}u{i}")).await })
        .buffered(8)
        .collect()
        .await
}
