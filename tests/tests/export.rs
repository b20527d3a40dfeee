//! The access right: `GET /me/export` answers everything the server holds about the caller (and
//! nothing about anyone else's conversations), opened, as one streamed JSON document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// More than one page of history (pages are at most 200).
const LONG_HISTORY: usize = 230;

async fn export_of(client: &Client, token: &str) -> Value {
    let response = client.request(reqwest::Method::GET, "/me/export").bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let disposition = response.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("one whole JSON document")
}

fn contents(messages: &Value) -> Vec<&str> {
    messages.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect()
}

async fn an_export_holds_everything_about_the_caller_and_nothing_else(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    assert_eq!(client.patch("/me", Some(&alice.token), json!({ "about": "exports" })).await.status, StatusCode::OK);
    for i in 0..LONG_HISTORY {
        let from = if i % 2 == 0 { &alice } else { &bob };
        let to = if i % 2 == 0 { "bob" } else { "alice" };
        assert_eq!(client.send(from, to, &format!("dm {i}")).await.status, StatusCode::OK);
    }
    let file = client.attachment(&alice, json!({ "recipient": "bob" }), b"exported bytes").await;
    let with_file = json!({ "recipient": "bob", "message": "a file", "attachments": [file] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), with_file).await.status, StatusCode::OK);
    assert_eq!(client.send(&bob, "carol", "not alice's business").await.status, StatusCode::OK);
    assert_eq!(client.send(&carol, "alice", "hello alice").await.status, StatusCode::OK);
    let group = client.group(&alice, "climbers", &["bob"]).await;
    assert_eq!(client.group_send(&bob, &group, "to the group").await.status, StatusCode::OK);
    let others = client.group(&bob, "without alice", &["carol"]).await;
    assert_eq!(client.group_send(&bob, &others, "alice is not here").await.status, StatusCode::OK);
    assert_eq!(client.put("/me/blocked/carol", Some(&alice.token), json!(null)).await.status, StatusCode::NO_CONTENT);

    let export = export_of(&client, &alice.token).await;
    assert!(export["exportedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        (export["profile"]["username"].as_str(), export["profile"]["about"].as_str()),
        (Some("alice"), Some("exports"))
    );
    assert!(!export["sessions"].as_array().unwrap().is_empty(), "{}", export["sessions"]);
    assert_eq!(export["blocked"][0]["username"], "carol");

    // Conversations newest activity first: carol's, then bob's, opened, newest message first.
    let conversations = export["conversations"].as_array().unwrap();
    let peers: Vec<&str> = conversations.iter().map(|c| c["peer"].as_str().unwrap()).collect();
    assert_eq!(peers, ["carol", "bob"]);
    assert_eq!(contents(&conversations[0]["messages"]), ["hello alice"]);
    let with_bob = contents(&conversations[1]["messages"]);
    assert_eq!(with_bob.len(), LONG_HISTORY + 1, "every page of the history");
    assert_eq!(with_bob[0], "a file");
    assert_eq!(with_bob[1..], (0..LONG_HISTORY).rev().map(|i| format!("dm {i}")).collect::<Vec<_>>());
    let attachments = conversations[1]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["attachmentId"], file.as_str());
    let url = attachments[0]["downloadUrl"].as_str().unwrap();
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"exported bytes", "the download link works");

    // Groups: hers, with what she sees; not the one she is not in.
    let groups = export["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!((groups[0]["groupId"].as_str(), groups[0]["role"].as_str()), (Some(group.as_str()), Some("admin")));
    assert_eq!(contents(&groups[0]["messages"]), ["to the group"]);
    let text = export.to_string();
    assert!(!text.contains("not alice's business") && !text.contains("alice is not here"));

    // Someone else's export holds their own, not hers.
    let carols = export_of(&client, &carol.token).await;
    assert_eq!(carols["profile"]["username"], "carol");
    assert_eq!(carols["blocked"], json!([]));
    assert!(!carols.to_string().contains("dm 1"));
    assert_eq!(client.get("/me/export", None).await.status, StatusCode::UNAUTHORIZED);
}

async fn exports_are_rate_limited(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_RATE_LIMITS", "on").env("CONFAB_RATE_EXPORT", "1/1h");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _ = export_of(&client, &alice.token).await;
    let again = client.get("/me/export", Some(&alice.token)).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
}

backend_tests!(an_export_holds_everything_about_the_caller_and_nothing_else, exports_are_rate_limited);
