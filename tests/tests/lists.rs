//! Lists and histories come in whole pages on every store: the conversation list and the group
//! list walk to their ends by cursor, and a history of large messages walks back to its first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, User, backend_tests};
use reqwest::StatusCode;
use serde_json::Value;

/// Every entry of a list endpoint, following `nextCursor` from page to page, with the ids of
/// each page's entries.
async fn walk(client: &Client, user: &User, first_page: &str, entries: &str, id: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = first_page.to_owned();
    loop {
        let page = client.get(&path, Some(&user.token)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let rows = page.body[entries].as_array().unwrap();
        ids.extend(rows.iter().map(|row| row[id].as_str().unwrap().to_owned()));
        match page.body["nextCursor"].as_str() {
            Some(next) => {
                assert!(!rows.is_empty(), "a page with a cursor has entries");
                path = format!("{first_page}&before={next}");
            }
            None => return ids,
        }
    }
}

fn without_repeats(ids: &[String]) -> bool {
    let mut seen = std::collections::HashSet::new();
    ids.iter().all(|id| seen.insert(id))
}

async fn two_hundred_conversations_and_groups_walk_through_their_lists(backend: Backend) {
    const COUNT: usize = 200;
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let peers: Vec<String> = (0..COUNT).map(|i| format!("peer{i:03}")).collect();
    client.register_many(&peers).await;

    let mut conversations = Vec::new();
    let mut groups = Vec::new();
    for (i, peer) in peers.iter().enumerate() {
        let sent = client.send(&alice, peer, &format!("hello {peer}")).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        conversations.push(sent.body["conversationId"].as_str().unwrap().to_owned());
        let group = client.group(&alice, &format!("group {i}"), &[]).await;
        let posted = client.group_send(&alice, &group, &format!("in group {i}")).await;
        assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
        groups.push(group);
    }
    // Newest activity first: the reverse of the order they were written in.
    conversations.reverse();
    groups.reverse();

    let walked = walk(&client, &alice, "/chat/messages?limit=7", "conversations", "conversationId").await;
    assert!(without_repeats(&walked), "no conversation twice");
    assert_eq!(walked, conversations, "every conversation once, newest activity first");
    let walked = walk(&client, &alice, "/groups?limit=7", "groups", "groupId").await;
    assert!(without_repeats(&walked), "no group twice");
    assert_eq!(walked, groups, "every group once, newest activity first");

    // A page of the default size, and cursors that belong to no list.
    let first = client.get("/groups", Some(&alice.token)).await;
    assert_eq!(first.body["groups"].as_array().unwrap().len(), 50);
    for path in ["/groups?before=nope", "/groups?limit=0", "/chat/messages?before=1.2", "/groups?before=-1.x"] {
        let reply = client.get(path, Some(&alice.token)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.body);
        assert!(["invalid_cursor", "invalid_limit"].contains(&reply.error_code()), "{path}: {}", reply.body);
    }
    // Well-formed cursors of another list name no place in this one: a 404, as the document says.
    let (message, conversation) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let group_history = format!("/groups/{}/messages?before={message}", groups[0]);
    for path in [
        format!("/chat/messages?before={message}"),
        format!("/chat/messages?recipient=alice&before={message}.{conversation}"),
        group_history,
    ] {
        let reply = client.get(&path, Some(&alice.token)).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::NOT_FOUND, "invalid_cursor"), "{path}");
    }
}

async fn a_history_of_large_messages_walks_back_to_its_first(backend: Backend) {
    const COUNT: usize = 60;
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let large = |i: usize| format!("{i:03} {}", "x".repeat(60 * 1024));
    for i in 0..COUNT {
        let sent = client.send(&alice, "bob", &large(i)).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    }
    let mut contents = Vec::new();
    let mut path = "/chat/messages?recipient=bob&limit=50".to_owned();
    let mut pages = Vec::new();
    loop {
        let page = client.get(&path, Some(&alice.token)).await;
        assert_eq!(page.status, StatusCode::OK);
        let messages: Vec<Value> = page.body["messages"].as_array().unwrap().clone();
        pages.push(messages.len());
        let _ = contents.splice(0..0, messages.iter().map(|m| m["content"].as_str().unwrap().to_owned()));
        match page.body["nextCursor"].as_str() {
            Some(next) => path = format!("/chat/messages?recipient=bob&limit=50&before={next}"),
            None => break,
        }
    }
    assert_eq!(pages, [50, 10], "the first page is whole, the second holds the rest");
    assert_eq!(contents, (0..COUNT).map(large).collect::<Vec<_>>(), "back to the first message, in order");
}

backend_tests!(
    two_hundred_conversations_and_groups_walk_through_their_lists,
    a_history_of_large_messages_walks_back_to_its_first,
);
