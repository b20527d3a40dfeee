//! Projections are idempotent and the store's queries page correctly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, sync::Arc};

use confab_consumers::projection::{
    Erasure, LoggedEvent, MessagesProjection, Projection, UsersProjection, Withdrawals,
};
use confab_eventlog::Position;
use confab_objects::embedded::{AtRestKeys, EmbeddedObjects};
use confab_readmodels::{
    MessageStore, UserStore,
    embedded::{EmbeddedKeys, EmbeddedStore},
};
use confab_schemas::{DirectMessageSent, DirectMessageSentPayload, Event, UserRegistered, UserRegisteredPayload};

/// Events as a log of one partition per topic would hold them.
fn logged(events: Vec<Event>) -> Vec<LoggedEvent> {
    events
        .into_iter()
        .enumerate()
        .map(|(offset, event)| LoggedEvent {
            position: Position { topic: event.topic().name().to_owned(), partition: 0, offset: offset as u64 },
            event,
        })
        .collect()
}

fn user(id: &str, name: &str) -> Event {
    Event::UserRegistered(UserRegistered {
        event_id: format!("e-{id}"),
        occurred_at: 1,
        actor_id: id.into(),
        payload: UserRegisteredPayload { user_id: id.into(), username: name.into(), password_hash: "h".into() },
    })
}

fn message(n: u32, conversation: &str, from: (&str, &str), to: (&str, &str)) -> Event {
    Event::DirectMessageSent(DirectMessageSent {
        event_id: format!("e-m{n}"),
        occurred_at: i64::from(n),
        actor_id: from.0.into(),
        payload: DirectMessageSentPayload {
            message_id: format!("0190{n:04}-0000-7000-8000-000000000000"),
            conversation_id: conversation.into(),
            sender_id: from.0.into(),
            sender_username: from.1.into(),
            recipient_id: to.0.into(),
            recipient_username: to.1.into(),
            content: format!("sealed-{n}"),
            client_message_id: None,
            attachments: Vec::new(),
            reply_to_message_id: None,
        },
    })
}

fn events() -> Vec<LoggedEvent> {
    let (a, b, c) = (("ua", "alice"), ("ub", "bob"), ("uc", "carol"));
    let mut events = vec![user("ua", "alice"), user("ub", "bob"), user("uc", "carol")];
    for n in 0..5 {
        events.push(message(n, "c-ab", a, b));
    }
    events.push(message(5, "c-ac", c, a));
    events.push(message(6, "c-aa", a, a));
    logged(events)
}

fn objects(dir: &std::path::Path) -> Arc<EmbeddedObjects> {
    let at_rest = AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [7; 32])]) };
    Arc::new(EmbeddedObjects::open(&dir.join("objects"), at_rest, [9; 32]).unwrap())
}

/// What the users projection erases with, beside `store` (no account is deleted here), in `dir`.
fn erasure(store: &EmbeddedStore, dir: &std::path::Path) -> Erasure {
    Erasure {
        keys: Arc::new(EmbeddedKeys::open(&dir.join("keys.redb")).unwrap()),
        objects: objects(dir),
        attachments: Arc::new(store.clone()),
    }
}

/// The messages projection into `store` (no message here carries a file), objects in `dir`.
fn messages_projection(store: &EmbeddedStore, dir: &std::path::Path) -> MessagesProjection {
    let shared = Arc::new(store.clone());
    let withdrawals = Withdrawals { attachments: shared.clone(), objects: objects(dir) };
    MessagesProjection::new(shared.clone(), shared.clone(), shared, withdrawals)
}

async fn apply_all(store: &EmbeddedStore, events: &[LoggedEvent], twice: bool) {
    let dir = tempfile::tempdir().unwrap();
    let users = UsersProjection::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        erasure(store, dir.path()),
    );
    let messages = messages_projection(store, dir.path());
    for event in events {
        for _ in 0..if twice { 2 } else { 1 } {
            users.apply(std::slice::from_ref(event)).await.unwrap();
            messages.apply(std::slice::from_ref(event)).await.unwrap();
        }
    }
}

#[tokio::test]
async fn applying_every_event_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let once = EmbeddedStore::open(&dir.path().join("once.redb")).unwrap();
    let twice = EmbeddedStore::open(&dir.path().join("twice.redb")).unwrap();
    apply_all(&once, &events(), false).await;
    apply_all(&twice, &events(), true).await;
    // Replaying an old event after newer ones must not move a conversation back either.
    apply_all(&twice, &events()[3..4], false).await;
    assert_eq!(once.dump().unwrap(), twice.dump().unwrap());
}

#[tokio::test]
async fn history_pages_newest_first_and_conversations_by_activity() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("s.redb")).unwrap();
    apply_all(&store, &events(), false).await;

    let first = store.history("c-ab", None, 2).await.unwrap();
    assert_eq!(first.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["sealed-4", "sealed-3"]);
    let next = store.history("c-ab", Some(&first[1].message_id), 10).await.unwrap();
    assert_eq!(next.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["sealed-2", "sealed-1", "sealed-0"]);

    let alice = store.conversations("ua", None, 10).await.unwrap();
    let peers: Vec<_> = alice.iter().map(|c| c.peer_username.as_str()).collect();
    assert_eq!(peers, ["alice", "carol", "bob"]);
    assert_eq!(alice[2].last_message.content, "sealed-4");
    assert_eq!(store.conversations("ub", None, 10).await.unwrap().len(), 1);
    assert_eq!(store.user_by_name("bob").await.unwrap().unwrap().user_id, "ub");
    assert_eq!(store.user_by_id("uc").await.unwrap().unwrap().username, "carol");
    assert!(store.user_by_name("dave").await.unwrap().is_none());
}

fn group_message(n: u32, sender: &str) -> Event {
    Event::GroupMessageSent(confab_schemas::GroupMessageSent {
        event_id: format!("e-g{n}"),
        occurred_at: i64::from(n),
        actor_id: sender.into(),
        payload: confab_schemas::GroupMessageSentPayload {
            message_id: format!("0190{n:04}-0000-7000-8000-000000000001"),
            group_id: "g".into(),
            sender_id: sender.into(),
            sender_username: sender.into(),
            content: format!("sealed-{n}"),
            client_message_id: None,
            attachments: Vec::new(),
            reply_to_message_id: None,
            mentions: Vec::new(),
        },
    })
}

fn mark(user: &str, member: bool) -> Event {
    Event::GroupMembershipMarked(confab_schemas::GroupMembershipMarked {
        event_id: format!("e-mark-{user}-{member}"),
        occurred_at: 1,
        actor_id: "admin".into(),
        payload: confab_schemas::GroupMembershipMarkedPayload {
            group_id: "g".into(),
            user_id: user.into(),
            member,
            change_event_id: "e-change".into(),
        },
    })
}

#[tokio::test]
async fn a_removed_members_message_after_the_mark_is_not_stored_however_the_log_is_delivered() {
    // b sends, is removed, sends twice more through a process that had not heard (one of them
    // after a's message), is added back and sends again.
    let log = logged(vec![
        group_message(0, "b"),
        mark("b", false),
        group_message(2, "b"),
        group_message(3, "a"),
        group_message(4, "b"),
        mark("b", true),
        group_message(6, "b"),
    ]);
    let stored = |store: EmbeddedStore| async move {
        let rows = store.group_history("g", None, None, 100).await.unwrap();
        rows.into_iter().rev().map(|m| m.content).collect::<Vec<_>>()
    };
    let expected = ["sealed-0", "sealed-3", "sealed-6"];
    // At once, one event at a time, and redelivered from every offset after a first pass.
    let dir = tempfile::tempdir().unwrap();
    let once = EmbeddedStore::open(&dir.path().join("once.redb")).unwrap();
    messages_projection(&once, dir.path()).apply(&log).await.unwrap();
    assert_eq!(stored(once).await, expected);
    let single = EmbeddedStore::open(&dir.path().join("single.redb")).unwrap();
    let projection = messages_projection(&single, dir.path());
    for event in log.chunks(1) {
        projection.apply(event).await.unwrap();
    }
    assert_eq!(stored(single.clone()).await, expected);
    for start in 0..log.len() {
        projection.apply(&log[start..]).await.unwrap();
        assert_eq!(stored(single.clone()).await, expected, "redelivery from offset {start}");
    }
}
