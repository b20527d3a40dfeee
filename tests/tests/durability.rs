//! Crashes lose nothing acknowledged, and the read models are a pure function of the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Notify;

async fn kill_9_during_concurrent_sends_loses_and_duplicates_nothing_acknowledged(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let enough = Arc::new(Notify::new());
    let stopped = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let (client, alice, acked, enough, stopped) =
                (client.clone(), alice.clone(), Arc::clone(&acked), Arc::clone(&enough), Arc::clone(&stopped));
            tokio::spawn(async move {
                for i in 0.. {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = serde_json::json!({ "recipient": "bob", "message": format!("{sender}-{i}") });
                    let request =
                        client.request(reqwest::Method::POST, "/chat/send").bearer_auth(&alice.token).json(&body);
                    // Requests in flight at the kill fail; only 200s count as acknowledged.
                    let Ok(response) = request.send().await else { break };
                    if response.status() != StatusCode::OK {
                        break;
                    }
                    let Ok(body) = response.json::<serde_json::Value>().await else { break };
                    let mut acked = acked.lock().unwrap();
                    acked.push(body["messageId"].as_str().unwrap().to_owned());
                    if acked.len() >= 200 {
                        enough.notify_one();
                    }
                }
            })
        })
        .collect();
    enough.notified().await;
    server.kill9();
    stopped.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200);

    server.start_again();
    let client = Client::new(&server.base_url);
    let alice = {
        let login = client.login("alice", "alice-password").await;
        confab_e2e::User { token: login.body["token"].as_str().unwrap().to_owned(), ..alice }
    };
    let history = client.full_history(&alice, "bob").await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for message in &history {
        *seen.entry(message["messageId"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a message appears twice");
    let missing: Vec<_> = acked.iter().filter(|id| !seen.contains_key(*id)).collect();
    assert!(missing.is_empty(), "{} acknowledged sends lost, e.g. {:?}", missing.len(), missing.first());
    assert_eq!(acked.iter().collect::<HashSet<_>>().len(), acked.len());
}

async fn rebuilding_every_table_from_offset_zero_reproduces_the_live_tables(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let carol = client.user("carol").await;
    for i in 0..30 {
        let (from, to) = [(&alice, "bob"), (&bob, "alice"), (&carol, "alice"), (&alice, "alice")][i % 4];
        assert_eq!(client.send(from, to, &format!("m{i}")).await.status, StatusCode::OK);
    }
    let _ = client.send_idempotent(&bob, "carol", "once", "k").await;
    let _ = client.send_idempotent(&bob, "carol", "once", "k").await;
    let group = client.group(&alice, "replayed", &["bob"]).await;
    for i in 0..5 {
        assert_eq!(client.group_send(&bob, &group, &format!("g{i}")).await.status, StatusCode::OK);
    }
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    assert_eq!(client.group_send(&carol, &group, "g5").await.status, StatusCode::OK);
    let left = client.delete(&format!("/groups/{group}/members/alice"), Some(&alice.token)).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    // Attachments: one verified and sent, one rejected; the indexer checks the stored bytes again.
    let photo = client.attachment(&alice, json!({ "recipient": "bob" }), b"replayed bytes").await;
    let body = json!({ "recipient": "bob", "message": "a photo", "attachments": [photo] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), body).await.status, StatusCode::OK);
    let lie = client.request_upload(&bob, json!({ "recipient": "alice" }), b"these bytes", b"other bytes").await;
    assert!(client.upload(&lie.body, b"these bytes".to_vec()).await.status().is_success());
    let id = lie.body["attachmentId"].as_str().unwrap();
    let rejected = client.post(&format!("/attachments/{id}/complete"), Some(&bob.token), json!({})).await;
    assert_eq!(rejected.error_code(), "attachment_rejected");
    server.stop();

    // Empty tables: a fresh directory (embedded) or a fresh namespace (DynamoDB).
    let into = if deployment.is_embedded() {
        deployment.data_dir().with_file_name("rebuilt").display().to_string()
    } else {
        format!("{}rebuilt.", deployment.namespace)
    };
    let _ = deployment.run(&["rebuild", "--into", &into]);
    let live = deployment.tables();
    let replayed_flag = if deployment.is_embedded() { "--data-dir" } else { "--namespace" };
    let replayed: serde_json::Value =
        serde_json::from_slice(&deployment.run(&["dump-tables", replayed_flag, &into]).stdout).unwrap();
    assert_eq!(live["users"].as_array().unwrap().len(), 3);
    assert_eq!(live["messages"].as_array().unwrap().len(), 32);
    assert_eq!(live["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(live["conversation_attachments"].as_array().unwrap().len(), 1);
    assert_eq!(live["group_messages"].as_array().unwrap().len(), 6);
    assert_eq!(live["group_members"].as_array().unwrap().len(), 2);
    assert_eq!(live, replayed);
}

backend_tests!(
    kill_9_during_concurrent_sends_loses_and_duplicates_nothing_acknowledged,
    rebuilding_every_table_from_offset_zero_reproduces_the_live_tables,
);
