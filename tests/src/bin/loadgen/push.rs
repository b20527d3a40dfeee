//! `--push N`: how long after a send returns its push notification reaches the push service.
//! Every user but the first registers a device with the test push service (`tests/push_service.py`,
//! which checks VAPID and decrypts every push), half of them as Web Push subscriptions, half as
//! webhooks (the baseline in the same run: the same path without encryption and VAPID signing);
//! none has a socket open. The first user sends N messages to the others from --concurrency
//! clients; each push's arrival time at the service, minus the moment its send returned, is the
//! latency reported, per kind.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use confab_e2e::{Client, PushService, User};
use futures::StreamExt;
use serde_json::json;

use crate::{Args, latency};

fn wall_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

pub async fn run(args: &Args, client: &Client, users: &[User], messages: usize) {
    let python = std::env::var("CONFAB_TEST_PUSH_PYTHON").expect("--push needs CONFAB_TEST_PUSH_PYTHON");
    let service = PushService::start(&python, &args.url);
    let (sender, recipients) = users.split_first().expect("--push needs two users or more");
    let mut kind_of = HashMap::new();
    for (i, user) in recipients.iter().enumerate() {
        let (body, kind) = if i % 2 == 0 {
            (json!({ "subscription": service.subscribe(json!([])).await }), "webpush")
        } else {
            (json!({ "webhook": service.hook().await }), "webhook")
        };
        let reply = client.put("/me/push/bench", Some(&user.token), body).await;
        assert!(reply.status.is_success(), "{}", reply.body);
        let _ = kind_of.insert(user.username.clone(), kind);
    }
    let returned: Mutex<HashMap<String, (f64, &str)>> = Mutex::new(HashMap::new());
    let mut send_latencies = Vec::new();
    let started = Instant::now();
    let sent: Vec<Duration> = futures::stream::iter(0..messages)
        .map(|i| {
            let (recipient, returned, kind_of) = (&recipients[i % recipients.len()], &returned, &kind_of);
            async move {
                let before = Instant::now();
                let reply = client.send(sender, &recipient.username, &format!("push {i}")).await;
                let took = before.elapsed();
                let message = reply.body["messageId"].as_str().expect("a message id").to_owned();
                let kind = kind_of[&recipient.username];
                let _ = returned.lock().unwrap().insert(message, (wall_secs(), kind));
                took
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    send_latencies.extend(sent);
    let sending = started.elapsed();
    // Wait for every push (each arrives once unless redelivered; the first counts).
    let deadline = Instant::now() + Duration::from_secs(300);
    let received = loop {
        let received = service.received().await;
        if received.len() >= messages || Instant::now() > deadline {
            break received;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let returned = returned.into_inner().unwrap();
    let mut per_kind: HashMap<&str, Vec<Duration>> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for record in &received {
        let message = record["payload"]["messageId"].as_str().unwrap_or_default().to_owned();
        let Some((at_return, kind)) = returned.get(&message) else { continue };
        if !seen.insert(message) {
            continue;
        }
        let arrived = record["at"].as_f64().unwrap_or_default();
        per_kind.entry(kind).or_default().push(Duration::from_secs_f64((arrived - at_return).max(0.0)));
    }
    println!(
        "{messages} sends in {:.1} s from {} clients; {} pushes arrived, {} refused by the service",
        sending.as_secs_f64(),
        args.concurrency,
        seen.len(),
        service.rejected().await.len()
    );
    latency::print("send (baseline: until the send returned)", &mut send_latencies);
    for (kind, latencies) in &mut per_kind {
        latency::print(&format!("push, {kind} (send returned -> at the push service)"), latencies);
    }
}
