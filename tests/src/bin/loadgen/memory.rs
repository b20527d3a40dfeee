//! `--memory`: the server's resident memory through registrations, sends and a login flood,
//! sampled every 50 ms; the peak of each phase and where it settles after the flood.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use confab_e2e::{Client, User};
use futures::StreamExt;
use reqwest::StatusCode;

use crate::{Args, rss::rss_kib};

const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// How long the server is left alone after the flood before its memory is read.
const SETTLE: Duration = Duration::from_secs(5);
/// Logins in flight at once during the flood: far more than the hashing threads and their queue.
const FLOOD_CONCURRENCY: usize = 256;

/// The highest RSS seen since the last `take`.
struct Peak {
    pid: u32,
    kib: AtomicU64,
}

impl Peak {
    fn take(&self) -> u64 {
        self.kib.swap(rss_kib(self.pid), Ordering::Relaxed)
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn run(args: &Args, client: &Client, pid: u32) {
    let start = rss_kib(pid);
    let peak = Arc::new(Peak { pid, kib: AtomicU64::new(start) });
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            loop {
                let _ = every.tick().await;
                let _ = peak.kib.fetch_max(rss_kib(peak.pid), Ordering::Relaxed);
            }
        })
    };
    println!("memory: server RSS at start {:.1} MiB", mib(start));

    let started = Instant::now();
    let users = crate::register(client, args.users).await;
    println!(
        "memory: {} registrations + logins in {:.1}s, peak {:.1} MiB",
        users.len(),
        started.elapsed().as_secs_f64(),
        mib(peak.take())
    );

    let started = Instant::now();
    let sent = send(client, &users, args.sends, args.concurrency, &"x".repeat(args.bytes)).await;
    println!(
        "memory: {sent} sends in {:.1}s, peak {:.1} MiB, after {:.1} MiB",
        started.elapsed().as_secs_f64(),
        mib(peak.take()),
        mib(rss_kib(pid))
    );

    let started = Instant::now();
    let (ok, refused) = flood(client, &users, args.flood).await;
    println!(
        "memory: login flood of {} ({ok} answered 200, {refused} refused 503) in {:.1}s, peak {:.1} MiB",
        args.flood,
        started.elapsed().as_secs_f64(),
        mib(peak.take())
    );
    tokio::time::sleep(SETTLE).await;
    sampler.abort();
    println!("memory: {:.0}s after the flood {:.1} MiB", SETTLE.as_secs_f64(), mib(rss_kib(pid)));
}

/// `total` one-on-one sends from `concurrency` clients, round the users; how many succeeded.
async fn send(client: &Client, users: &[User], total: usize, concurrency: usize, message: &str) -> usize {
    let next = AtomicUsize::new(0);
    let sent = AtomicUsize::new(0);
    let worker = async || {
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            if n >= total {
                return;
            }
            let (from, to) = (&users[n % users.len()], &users[(n + 1) % users.len()]);
            if client.send(from, &to.username, message).await.status == StatusCode::OK {
                let _ = sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let _: Vec<()> = futures::future::join_all((0..concurrency).map(|_| worker())).await;
    sent.load(Ordering::Relaxed)
}

/// `count` logins at once, many more than the server hashes at a time; (answered, refused).
async fn flood(client: &Client, users: &[User], count: usize) -> (usize, usize) {
    let statuses: Vec<StatusCode> = futures::stream::iter(0..count)
        .map(|i| {
            let user = &users[i % users.len()];
            async move { client.login(&user.username, &format!("{}-password", user.username)).await.status }
        })
        .buffer_unordered(FLOOD_CONCURRENCY)
        .collect()
        .await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE).count();
    (ok, refused)
}
