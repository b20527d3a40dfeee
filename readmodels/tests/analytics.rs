//! The analytics state counts every event exactly once, however its batches are redelivered:
//! the same batch twice, or a batch cut differently the second time (a crash between applying
//! and committing). On the embedded store, and on DynamoDB when `CONFAB_TEST_DYNAMODB` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_eventlog::Position;
use confab_readmodels::{
    analytics::{AnalyticsStore, Change, GROUP_SIZE, Op},
    dynamodb::{DynamoConfig, DynamoStore},
    embedded::EmbeddedAnalytics,
};

fn at(topic: &str, partition: u32, offset: u64, op: Op) -> Change {
    Change { position: Position { topic: topic.into(), partition, offset }, op }
}

fn count(bucket: &str, n: i64) -> Op {
    Op::Count { metric: "messages.direct.day", bucket: bucket.into(), n }
}

fn active(user: &str) -> Op {
    Op::Distinct {
        set: "day:2026-12-01".into(),
        member: user.into(),
        metric: "active.day",
        bucket: "2026-12-01".into(),
    }
}

fn member(user: &str, member: bool) -> Op {
    Op::Membership { group_id: "g1".into(), user_id: user.into(), member }
}

/// Two message partitions and a groups partition, in log order within each.
fn history() -> Vec<Change> {
    vec![
        at("confab.messages", 0, 0, count("2026-12-01", 1)),
        at("confab.messages", 0, 0, active("alice")),
        at("confab.messages", 1, 0, count("2026-12-01", 1)),
        at("confab.messages", 1, 0, active("bob")),
        at("confab.messages", 0, 1, count("2026-12-01", 1)),
        at("confab.messages", 0, 1, active("alice")),
        at("confab.groups", 0, 0, member("alice", true)),
        at("confab.groups", 0, 0, member("bob", true)),
        at("confab.groups", 0, 1, member("carol", true)),
        at("confab.groups", 0, 2, member("carol", true)),
        at("confab.groups", 0, 3, member("bob", false)),
        at("confab.messages", 1, 1, count("2026-12-02", 1)),
        at("confab.messages", 0, 2, mark("carol", 2, true)),
        at("confab.messages", 0, 3, mark("carol", 3, false)),
    ]
}

fn mark(user: &str, seq: u64, member: bool) -> Op {
    Op::Mark { group_id: "g1".into(), user_id: user.into(), seq, member }
}

async fn numbers(store: &dyn AnalyticsStore) -> (Vec<(String, i64)>, Vec<(String, i64)>, Vec<(String, i64)>) {
    (
        store.counters("messages.direct.day", "", "~").await.unwrap(),
        store.counters("active.day", "", "~").await.unwrap(),
        store.counters(GROUP_SIZE, "", "~").await.unwrap(),
    )
}

async fn counts_each_event_once(store: &dyn AnalyticsStore) {
    let history = history();
    let expected = (
        vec![("2026-12-01".to_owned(), 3), ("2026-12-02".to_owned(), 1)],
        vec![("2026-12-01".to_owned(), 2)],
        vec![("g1".to_owned(), 2)],
    );
    // A first delivery cut short, then the whole again, then the whole once more.
    store.apply(&history[..5]).await.unwrap();
    store.apply(&history).await.unwrap();
    assert_eq!(numbers(store).await, expected);
    store.apply(&history).await.unwrap();
    store.apply(&history[3..]).await.unwrap();
    assert_eq!(numbers(store).await, expected, "redelivery changes nothing");
    // The membership marks, each once, oldest first, by group and user.
    let marks: Vec<(u64, bool)> =
        store.marks("g1", "carol").await.unwrap().into_iter().map(|m| (m.seq, m.member)).collect();
    assert_eq!(marks, [(2, true), (3, false)]);
    assert!(store.marks("g1", "bob").await.unwrap().is_empty());
    assert!(store.marks("g2", "carol").await.unwrap().is_empty());
}

#[tokio::test]
async fn embedded_analytics_count_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedAnalytics::open(&dir.path().join("analytics.redb")).unwrap();
    counts_each_event_once(&store).await;
}

#[tokio::test]
async fn dynamodb_analytics_count_each_event_once() {
    let Ok(endpoint) = std::env::var("CONFAB_TEST_DYNAMODB") else {
        assert!(std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").as_deref() != Ok("1"), "CONFAB_TEST_DYNAMODB is not set");
        eprintln!("SKIPPED dynamodb_analytics_count_each_event_once: CONFAB_TEST_DYNAMODB is not set");
        return;
    };
    let namespace = format!("analytics{}.", std::process::id());
    let config =
        DynamoConfig { endpoint: Some(endpoint), namespace, generation: None, fresh: false, create_tables: true };
    let store = DynamoStore::connect(&config).await.unwrap();
    counts_each_event_once(&store).await;
}
