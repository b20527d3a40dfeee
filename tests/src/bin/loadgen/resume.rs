//! `--resume N`: what resuming costs the server. One user misses N messages of `--bytes` each;
//! then `--concurrency` of their sockets resume from the same cursor at once, each reading every
//! missed frame up to `ready`, while the server's resident memory is sampled every 20 ms.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use confab_e2e::{Client, Socket, User};
use futures::StreamExt;
use reqwest::StatusCode;

use crate::{Args, rss::rss_kib};

pub async fn run(args: &Args, client: &Client, users: &[User], pid: u32) {
    let (sender, reader) = (&users[0], &users[1]);
    let before_sends = Socket::connect(&args.url, &reader.token, None).await;
    let cursor = before_sends.cursor.clone();
    before_sends.close().await;
    let text = "x".repeat(args.bytes);
    futures::stream::iter(0..args.resume)
        .map(|_| client.send(sender, &reader.username, &text))
        .buffer_unordered(16)
        .for_each(|reply| async move { assert_eq!(reply.status, StatusCode::OK, "{}", reply.body) })
        .await;

    let before = rss_kib(pid);
    let (peak, done) = (Arc::new(AtomicU64::new(before)), Arc::new(AtomicBool::new(false)));
    let sampler = tokio::spawn({
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        async move {
            while !done.load(Ordering::Relaxed) {
                let _ = peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let started = Instant::now();
    let resumed: Vec<usize> =
        futures::future::join_all((0..args.concurrency).map(|_| resume_once(&args.url, &reader.token, &cursor))).await;
    let took = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let peak = peak.load(Ordering::Relaxed);
    assert!(resumed.iter().all(|&n| n == args.resume), "every socket gets every missed message: {resumed:?}");
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "resume: {} sockets x {} messages of {} B ({:.0} MiB sent) in {took:.1}s; server RSS {:.1} MiB -> peak {:.1} MiB \
         (+{:.1} MiB, {:.1} MiB per resuming socket)",
        args.concurrency,
        args.resume,
        args.bytes,
        (args.concurrency * args.resume * args.bytes) as f64 / 1048576.0,
        mib(before),
        mib(peak),
        mib(peak - before),
        mib(peak - before) / args.concurrency as f64,
    );
}

/// Resumes one socket from `cursor`; how many message frames came before `ready`.
async fn resume_once(url: &str, token: &str, cursor: &str) -> usize {
    let mut request = Socket::request(url, &format!("?since={cursor}"));
    let _ = request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut socket = Socket::open_unready(request).await.expect("websocket connect");
    let mut messages = 0;
    loop {
        let frame = socket.next_frame().await;
        match frame["type"].as_str() {
            Some("message") => messages += 1,
            Some("ready") => return messages,
            Some("error") => panic!("resume refused: {frame}"),
            _ => {}
        }
    }
}
