//! The default mode: `--concurrency` clients send flat out (closed loop) for `--seconds`, each
//! send a full `/chat/send` or `/groups/{id}/send`; `--baseline` GETs `/healthz` instead.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use confab_e2e::{Client, User};
use reqwest::StatusCode;

use crate::{Args, latency};

pub async fn run(args: &Args, client: &Client, users: Vec<User>) {
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
    println!("sends: {} in {elapsed:.1}s = {:.0}/s, errors {errors}", sends.len(), sends.len() as f64 / elapsed);
    latency::print("send", &mut sends);
    latency::print("read", &mut reads);
}
