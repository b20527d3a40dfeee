//! `confab-loadgen`: drives a running Confab over HTTP the way chat clients do and reports
//! throughput and latency. See BENCHMARKS.md for how it is run.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use confab_e2e::{Client, User};
use reqwest::StatusCode;

#[derive(Parser)]
#[command(about = "load generator for a running confab")]
struct Args {
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
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = Client::new(&args.url);
    let run = std::process::id();
    let mut users = Vec::new();
    for i in 0..args.users {
        users.push(client.user(&format!("load{run}u{i}")).await);
    }
    let group: Option<Arc<str>> = if args.group {
        let others: Vec<&str> = users[1..].iter().map(|u| u.username.as_str()).collect();
        Some(client.group(&users[0], "load", &others).await.into())
    } else {
        None
    };
    let users = Arc::new(users);
    let message = "x".repeat(args.bytes);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let (client, users, stop, message, group) =
                (client.clone(), Arc::clone(&users), Arc::clone(&stop), message.clone(), group.clone());
            let (read_every, baseline) = (args.read_every, args.baseline);
            tokio::spawn(async move {
                let (mut sends, mut reads, mut errors) = (Vec::new(), Vec::new(), 0u64);
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let from: &User = &users[(worker + n) % users.len()];
                    let to = &users[(worker + n + 1) % users.len()].username;
                    let t = Instant::now();
                    let reply = match (&group, baseline) {
                        (_, true) => client.get("/healthz", None).await,
                        (Some(group), false) => client.group_send(from, group, &message).await,
                        (None, false) => client.send(from, to, &message).await,
                    };
                    if reply.status == StatusCode::OK {
                        sends.push(t.elapsed())
                    } else {
                        errors += 1
                    }
                    n += 1;
                    if read_every > 0 && n.is_multiple_of(read_every) {
                        let t = Instant::now();
                        let path = match &group {
                            Some(group) => format!("/groups/{group}/messages?limit=50"),
                            None => format!("/chat/messages?recipient={to}&limit=50"),
                        };
                        let page = client.get(&path, Some(&from.token)).await;
                        if page.status == StatusCode::OK { reads.push(t.elapsed()) } else { errors += 1 }
                    }
                }
                (sends, reads, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut sends, mut reads, mut errors) = (Vec::new(), Vec::new(), 0);
    for worker in workers {
        let (s, r, e) = worker.await.unwrap();
        sends.extend(s);
        reads.extend(r);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    sends.sort();
    reads.sort();
    println!("sends: {} in {elapsed:.1}s = {:.0}/s, errors {errors}", sends.len(), sends.len() as f64 / elapsed);
    for (name, lat) in [("send", &sends), ("read", &reads)] {
        if lat.is_empty() {
            continue;
        }
        println!(
            "{name} latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(lat, 0.50).as_secs_f64() * 1e3,
            percentile(lat, 0.90).as_secs_f64() * 1e3,
            percentile(lat, 0.99).as_secs_f64() * 1e3,
            percentile(lat, 1.0).as_secs_f64() * 1e3,
        );
    }
}
