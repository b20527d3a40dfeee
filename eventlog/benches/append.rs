//! Appends to the embedded log: one at a time (a commit each) and 256 at once (group commit).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use confab_eventlog::{EventLog, Record, TopicSpec, embedded::EmbeddedLog};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn record(i: usize) -> Record {
    Record {
        key: format!("conversation-{}", i % 64).into_bytes(),
        value: vec![7; 300],
        headers: Vec::new(),
        timestamp_ms: 0,
    }
}

fn append(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(&dir.path().join("bench.redb")).unwrap());
    runtime.block_on(log.ensure_topics(&[TopicSpec { name: "t".into(), partitions: 4, retention_ms: None }])).unwrap();

    let mut group = c.benchmark_group("embedded log");
    let _ = group.sample_size(20);
    let _ = group.throughput(Throughput::Elements(1));
    let _ = group.bench_function("append, one at a time", |b| {
        b.to_async(&runtime).iter(|| async { log.append("t", record(0)).await.unwrap() })
    });
    let _ = group.throughput(Throughput::Elements(256));
    let _ = group.bench_function("append, 256 concurrent", |b| {
        b.to_async(&runtime).iter(|| async {
            let tasks: Vec<_> = (0..256)
                .map(|i| {
                    let log = Arc::clone(&log);
                    tokio::spawn(async move { log.append("t", record(i)).await.unwrap() })
                })
                .collect();
            for task in tasks {
                let _ = task.await.unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
