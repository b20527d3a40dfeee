//! `--sockets`: what idle authenticated WebSockets cost the server.
use std::time::{Duration, Instant};

use confab_e2e::{Socket, User};
use futures::StreamExt;

use crate::rss::rss_kib;

/// Opens `count` idle WebSockets, each waiting for `ready`, and prints the server's RSS growth.
pub async fn hold(url: &str, users: &[User], count: usize, pid: u32) {
    let before = rss_kib(pid);
    let started = Instant::now();
    let sockets: Vec<Socket> = futures::stream::iter(0..count)
        .map(|i| Socket::connect(url, &users[i % users.len()].token, None))
        .buffer_unordered(64)
        .collect()
        .await;
    let opened = started.elapsed().as_secs_f64();
    // Let the server's allocator settle before reading: the figure is what idle sockets hold.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!(
        "sockets: {} open in {opened:.1}s; server RSS {:.1} MiB -> {:.1} MiB = {:.1} KiB per socket",
        sockets.len(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / sockets.len() as f64
    );
}
