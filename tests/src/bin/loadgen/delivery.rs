//! `--deliver RATE`: live delivery under an open-loop sender. Every user holds a WebSocket; the
//! sender sends RATE messages a second on a fixed schedule, whatever the answers' latency (so a
//! slow server cannot slow the load down and hide its own delay), and each recipient's socket
//! measures from the message's *scheduled* send time to its frame. One-on-one, message k goes from
//! user k to user k+1; with `--group`, to one group of every user, each member but the sender a
//! recipient.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use confab_e2e::{Client, User};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use tokio::{net::TcpStream, sync::watch, time::Instant};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::{Args, latency};

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long, after the last scheduled send, frames still in flight are waited for.
const DRAIN: Duration = Duration::from_secs(10);

/// When message k was due: the schedule every latency is measured from.
#[derive(Clone, Copy)]
struct Schedule {
    start: Instant,
    period: Duration,
}

impl Schedule {
    fn due(&self, k: u64) -> Instant {
        self.start + self.period * k as u32
    }
}

pub async fn run(args: &Args, client: &Client, users: Vec<User>) {
    assert!(users.len() >= 2, "--deliver needs at least two users");
    let group: Option<Arc<str>> = if args.group {
        let others: Vec<&str> = users[1..].iter().map(|u| u.username.as_str()).collect();
        Some(client.group(&users[0], "load", &others).await.into())
    } else {
        None
    };
    let sockets: Vec<Stream> =
        futures::stream::iter(&users).map(|user| open(&args.url, &user.token)).buffered(32).collect().await;
    let total = u64::from(args.deliver) * args.seconds;
    let recipients = if group.is_some() { users.len() as u64 - 1 } else { 1 };
    let expected = total * recipients;
    // Sockets are open and idle; the schedule starts a moment from now.
    let schedule =
        Schedule { start: Instant::now() + Duration::from_millis(200), period: Duration::from_secs(1) / args.deliver };
    let received = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let receivers: Vec<_> = sockets
        .into_iter()
        .zip(&users)
        .map(|(socket, user)| {
            tokio::spawn(receive(socket, user.username.clone(), schedule, Arc::clone(&received), stopped.clone()))
        })
        .collect();
    let errors = send_on_schedule(client, &users, group.as_deref(), total, schedule, args.bytes).await;
    let deadline = Instant::now() + DRAIN;
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(true);
    let mut latencies = Vec::new();
    for receiver in receivers {
        latencies.extend(receiver.await.unwrap());
    }
    println!(
        "deliver: {total} messages at {}/s to {} users{}, {} frames of {expected} expected, send errors {errors}",
        args.deliver,
        users.len(),
        if group.is_some() { " (one group)" } else { "" },
        latencies.len()
    );
    latency::print("send-to-frame", &mut latencies);
}

/// Sends message k at its scheduled time, each in a task of its own; the number that failed.
async fn send_on_schedule(
    client: &Client,
    users: &[User],
    group: Option<&str>,
    total: u64,
    schedule: Schedule,
    bytes: usize,
) -> u64 {
    let padding = "x".repeat(bytes.saturating_sub(12));
    let mut sends = Vec::with_capacity(total as usize);
    for k in 0..total {
        tokio::time::sleep_until(schedule.due(k)).await;
        let n = users.len();
        let (from, to) = (users[k as usize % n].clone(), users[(k as usize + 1) % n].username.clone());
        let (client, group, text) = (client.clone(), group.map(str::to_owned), format!("{k} {padding}"));
        sends.push(tokio::spawn(async move {
            let reply = match &group {
                Some(group) => client.group_send(&from, group, &text).await,
                None => client.send(&from, &to, &text).await,
            };
            reply.status == StatusCode::OK
        }));
    }
    let mut errors = 0;
    for send in sends {
        if !send.await.unwrap() {
            errors += 1;
        }
    }
    errors
}

/// A WebSocket for `token`, past its `ready`.
async fn open(url: &str, token: &str) -> Stream {
    let mut request = format!("{}/ws", url.replacen("http", "ws", 1)).into_client_request().unwrap();
    let _ = request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connect");
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) if text.contains(r#""type":"ready""#) => return stream,
            Some(Ok(_)) => {}
            other => panic!("no ready frame: {other:?}"),
        }
    }
}

/// Reads message frames sent to `username` by others until `stop`; each one's latency.
async fn receive(
    mut socket: Stream,
    username: String,
    schedule: Schedule,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Vec<Duration> {
    let own = format!(r#""sender":"{username}""#);
    let mut latencies = Vec::new();
    loop {
        let message = tokio::select! {
            _ = stop.changed() => return latencies,
            message = socket.next() => message,
        };
        let arrived = Instant::now();
        match message {
            Some(Ok(Message::Text(text))) => {
                let text = text.as_str();
                if !text.contains(r#""type":"message""#) || text.contains(&own) {
                    continue;
                }
                if let Some(k) = sequence(text) {
                    latencies.push(arrived.saturating_duration_since(schedule.due(k)));
                    let _ = received.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(Message::Ping(payload))) => {
                let _ = socket.send(Message::Pong(payload)).await;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return latencies,
        }
    }
}

/// The k a message's content starts with (`"content":"<k> xxx"`), read without parsing the frame.
fn sequence(frame: &str) -> Option<u64> {
    let content = frame.split(r#""content":""#).nth(1)?;
    content.split(' ').next()?.parse().ok()
}
