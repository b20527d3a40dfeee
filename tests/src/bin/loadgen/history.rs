//! `--history N`: one conversation of N messages (filled by --concurrency clients), then the
//! time of a 50-message page: the newest, and pages at random depths reached with the cursors
//! of a walk back through the whole conversation.
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use confab_e2e::{Client, User};
use reqwest::StatusCode;

use crate::{Args, latency};

/// Pages timed of each kind.
const SAMPLES: usize = 2_000;
const PAGE: usize = 50;
/// The walk back takes the largest pages the API serves.
const WALK_PAGE: usize = 200;

pub async fn run(args: &Args, client: &Client, users: &[User]) {
    let (reader, peer) = (&users[0], &users[1]);
    let started = Instant::now();
    let sent = fill(client, peer, &reader.username, args.history, args.concurrency, &"x".repeat(args.bytes)).await;
    let elapsed = started.elapsed().as_secs_f64();
    println!("history: {sent} messages sent in {elapsed:.1}s = {:.0}/s", sent as f64 / elapsed);

    let first_page = format!("/chat/messages?recipient={}", peer.username);
    let started = Instant::now();
    let cursors = walk(client, reader, &first_page).await;
    println!(
        "history: walked back {} pages of {WALK_PAGE} in {:.1}s",
        cursors.len() + 1,
        started.elapsed().as_secs_f64()
    );

    let newest = format!("{first_page}&limit={PAGE}");
    let mut latencies = time_pages(client, reader, std::iter::repeat_n(newest, SAMPLES)).await;
    latency::print("newest page", &mut latencies);
    // Depths spread over the whole conversation by a multiplicative hash, the same every run.
    let deep = (0..SAMPLES)
        .filter_map(|i| cursors.get(i.wrapping_mul(2_654_435_761) % cursors.len().max(1)))
        .map(|c| format!("{first_page}&limit={PAGE}&before={c}"));
    let mut latencies = time_pages(client, reader, deep).await;
    latency::print("page at a random depth", &mut latencies);
}

/// `total` messages from `sender` to `recipient`, from `concurrency` clients; how many were sent.
async fn fill(client: &Client, sender: &User, recipient: &str, total: usize, concurrency: usize, text: &str) -> usize {
    let next = AtomicUsize::new(0);
    let sent = AtomicUsize::new(0);
    let worker = async || {
        while next.fetch_add(1, Ordering::Relaxed) < total {
            if client.send(sender, recipient, text).await.status == StatusCode::OK {
                let _ = sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let _: Vec<()> = futures::future::join_all((0..concurrency.max(1)).map(|_| worker())).await;
    sent.load(Ordering::Relaxed)
}

/// Every `nextCursor` from the newest page back to the oldest.
async fn walk(client: &Client, reader: &User, first_page: &str) -> Vec<String> {
    let mut cursors = Vec::new();
    let mut path = format!("{first_page}&limit={WALK_PAGE}");
    loop {
        let page = client.get(&path, Some(&reader.token)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let Some(next) = page.body["nextCursor"].as_str() else { return cursors };
        path = format!("{first_page}&limit={WALK_PAGE}&before={next}");
        cursors.push(next.to_owned());
    }
}

/// Times each GET, one at a time: the latency of a page, not of a queue.
async fn time_pages(client: &Client, reader: &User, paths: impl Iterator<Item = String>) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for path in paths {
        let t = Instant::now();
        let page = client.get(&path, Some(&reader.token)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        latencies.push(t.elapsed());
    }
    latencies
}
