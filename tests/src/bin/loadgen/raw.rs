//! `--raw-kafka` and `--raw-dynamodb`: the ceiling of the servers under Confab, driven by their
//! own clients in the shape of Confab's work, so a Confab figure can be read as a fraction of it.
//! Kafka: `--concurrency` producers, each producing a `--bytes` record and awaiting its
//! acknowledgement (Confab's producer settings: idempotent, acks=all, linger 5 ms) in a closed
//! loop, while one consumer group reads the topic back. DynamoDB: `--concurrency` clients, each
//! making conditional `PutItem`s (as a projection does: three per direct message) in a closed
//! loop.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use rdkafka::{
    ClientConfig, Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    consumer::{Consumer, StreamConsumer},
    producer::{FutureProducer, FutureRecord},
};

use crate::{Args, closed_loop, latency};

/// Partitions of the raw topic: Confab's default per topic.
const PARTITIONS: i32 = 4;

pub async fn kafka(args: &Args, bootstrap: &str) {
    let topic: Arc<str> = format!("loadgen-raw-{}", std::process::id()).into();
    let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let created = admin
        .create_topics(&[NewTopic::new(&topic, PARTITIONS, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create the raw topic");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");

    let stop = Arc::new(AtomicBool::new(false));
    let consumed = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, consumed) = (Arc::clone(&stop), Arc::clone(&consumed));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(Ok(message)) = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await
                    && message.payload().is_some()
                {
                    let _ = consumed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let payload: Arc<[u8]> = vec![b'x'; args.bytes].into();
    let produce = move |worker: usize, n: u64| {
        let (producer, topic, payload) = (producer.clone(), Arc::clone(&topic), Arc::clone(&payload));
        async move {
            let key = format!("{worker}-{n}");
            let record = FutureRecord::to(&topic).key(&key).payload(&payload[..]);
            producer.send(record, Duration::from_secs(10)).await.is_ok()
        }
    };
    let mut acked = closed_loop::for_seconds(args.concurrency, args.seconds, produce).await;
    stop.store(true, Ordering::Relaxed);
    let _ = reader.await;
    let (elapsed, consumed) = (acked.seconds, consumed.load(Ordering::Relaxed));
    println!(
        "raw kafka: {} produced in {elapsed:.1}s = {:.0}/s, errors {}; {consumed} consumed back = {:.0}/s",
        acked.latencies.len(),
        acked.latencies.len() as f64 / elapsed,
        acked.errors,
        consumed as f64 / elapsed
    );
    latency::print("produce", &mut acked.latencies);
}

pub async fn dynamodb(args: &Args, endpoint: &str) {
    let client = confab_e2e::dynamodb_client(endpoint);
    let table = format!("loadgen_raw_{}", std::process::id());
    let _ = client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .expect("create the raw table");
    // dynalite creates a table asynchronously; it takes writes once it is ACTIVE.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = client.describe_table().table_name(&table).send().await.expect("describe the raw table");
        if described.table().and_then(|t| t.table_status()).is_some_and(|s| s.as_str() == "ACTIVE") {
            break;
        }
        assert!(Instant::now() < deadline, "the raw table never became active");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let payload: Arc<str> = "x".repeat(args.bytes).into();
    let put = {
        let (client, table) = (client.clone(), table.clone());
        move |worker: usize, n: u64| {
            let (client, table, payload) = (client.clone(), table.clone(), Arc::clone(&payload));
            async move {
                client
                    .put_item()
                    .table_name(table)
                    .item("pk", AttributeValue::S(format!("conversation-{}", worker % 200)))
                    .item("sk", AttributeValue::S(format!("{worker}-{n}")))
                    .item("content", AttributeValue::S(payload.to_string()))
                    .condition_expression("attribute_not_exists(sk)")
                    .send()
                    .await
                    .is_ok()
            }
        }
    };
    let mut puts = closed_loop::for_seconds(args.concurrency, args.seconds, put).await;
    println!(
        "raw dynamodb: {} conditional puts in {:.1}s = {:.0}/s, errors {}",
        puts.latencies.len(),
        puts.seconds,
        puts.latencies.len() as f64 / puts.seconds,
        puts.errors
    );
    latency::print("put", &mut puts.latencies);
    let _ = client.delete_table().table_name(&table).send().await;
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key schema")
}
