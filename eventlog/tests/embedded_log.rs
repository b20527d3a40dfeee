//! The EventLog contract, on the embedded adapter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashSet, sync::Arc, time::Duration};

use confab_eventlog::{
    Claim, ClaimedAppend, EventLog, Header, Record, TopicSpec, embedded::EmbeddedLog, partition_for_key,
};

fn record(key: &str, value: &str) -> Record {
    Record {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        headers: vec![Header { name: "h".into(), value: b"v".to_vec() }],
        timestamp_ms: 7,
    }
}

async fn open(dir: &tempfile::TempDir) -> EmbeddedLog {
    let path = dir.path().join("log.redb");
    let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(&path)).await.unwrap().unwrap();
    log.ensure_topics(&[TopicSpec { name: "t".into(), partitions: 4, retention_ms: None }]).await.unwrap();
    log
}

#[tokio::test]
async fn records_land_on_the_murmur2_partition_in_order_and_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(&dir).await;
    for i in 0..10 {
        let pos = log.append("t", record("conv-a", &format!("{i}"))).await.unwrap();
        assert_eq!(pos.partition, partition_for_key(b"conv-a", 4));
        assert_eq!(pos.offset, i);
    }
    let mut sub = log.subscribe("g", &["t"]).await.unwrap();
    let got = sub.poll(100, Duration::from_secs(5)).await.unwrap();
    let values: Vec<_> = got.iter().map(|r| String::from_utf8(r.record.value.clone()).unwrap()).collect();
    assert_eq!(values, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(got[0].record, record("conv-a", "0"));
    assert_eq!(log.end_offsets("t").await.unwrap().iter().sum::<u64>(), 10);
    assert!(log.append("missing", record("k", "v")).await.is_err());
}

#[tokio::test]
async fn a_poll_waits_for_the_next_append_instead_of_spinning() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(&dir).await);
    let mut sub = log.subscribe("g", &["t"]).await.unwrap();
    let writer = Arc::clone(&log);
    let append = tokio::spawn(async move { writer.append("t", record("k", "late")).await.unwrap() });
    let got = sub.poll(10, Duration::from_secs(10)).await.unwrap();
    assert_eq!(got.len(), 1);
    let _ = append.await.unwrap();
    assert!(sub.poll(10, Duration::from_millis(50)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_group_resumes_from_its_committed_offsets_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(&dir).await;
        for i in 0..6 {
            let _ = log.append("t", record("k", &i.to_string())).await.unwrap();
        }
        let mut sub = log.subscribe("g", &["t"]).await.unwrap();
        let got = sub.poll(4, Duration::from_secs(5)).await.unwrap();
        assert_eq!(got.len(), 4);
        sub.commit(&[got[3].position.clone()]).await.unwrap();
        // Polled but never committed: must come back.
        assert_eq!(sub.poll(1, Duration::from_secs(5)).await.unwrap().len(), 1);
    }
    let log = open(&dir).await;
    let mut sub = log.subscribe("g", &["t"]).await.unwrap();
    let got = sub.poll(100, Duration::from_secs(5)).await.unwrap();
    let values: Vec<_> = got.iter().map(|r| r.record.value.clone()).collect();
    assert_eq!(values, vec![b"4".to_vec(), b"5".to_vec()]);
    // Another group starts from the beginning.
    let mut fresh = log.subscribe("other", &["t"]).await.unwrap();
    assert_eq!(fresh.poll(100, Duration::from_secs(5)).await.unwrap().len(), 6);
}

#[tokio::test]
async fn concurrent_claims_on_one_key_append_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(&dir).await);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let claim = Claim { scope: "username".into(), key: "alice".into(), value: vec![i] };
                log.append_claimed("t", claim, record("alice", &i.to_string())).await.unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut holders = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            ClaimedAppend::Appended(_) => winners.push(()),
            ClaimedAppend::Taken { value, .. } => {
                let _ = holders.insert(value);
            }
        }
    }
    assert_eq!(winners.len(), 1);
    assert!(holders.len() <= 1, "every loser sees the one winner's value");
    assert_eq!(log.end_offsets("t").await.unwrap().iter().sum::<u64>(), 1);
    assert!(log.claim_value("username", "alice").await.unwrap().is_some());
    assert!(log.claim_value("username", "bob").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(&dir).await);
    let before = log.commit_count();
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let log = Arc::clone(&log);
            tokio::spawn(async move { log.append("t", record(&format!("k{i}"), "v")).await.unwrap() })
        })
        .collect();
    for t in tasks {
        let _ = t.await.unwrap();
    }
    let commits = log.commit_count() - before;
    assert!(commits < 250, "500 concurrent appends took {commits} commits");
    assert_eq!(log.end_offsets("t").await.unwrap().iter().sum::<u64>(), 500);
}
