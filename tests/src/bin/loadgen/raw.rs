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

use aws_sdk_dynamodb::{
    config::{BehaviorVersion, Credentials, Region},
    types::{AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType},
};
use rdkafka::{
    ClientConfig, Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    consumer::{Consumer, StreamConsumer},
    producer::{FutureProducer, FutureRecord},
};

use crate::{Args, latency};

/// Partitions of the raw topic: Confab's default per topic.
const PARTITIONS: i32 = 4;

pub async fn kafka(args: &Args, bootstrap: &str) {
    let topic = format!("loadgen-raw-{}", std::process::id());
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
    let payload = vec![b'x'; args.bytes];
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let (producer, topic, payload, stop) =
                (producer.clone(), topic.clone(), payload.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut acked, mut errors) = (Vec::new(), 0u64);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("{worker}-{n}");
                    let t = Instant::now();
                    let record = FutureRecord::to(&topic).key(&key).payload(&payload);
                    match producer.send(record, Duration::from_secs(10)).await {
                        Ok(_) => acked.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                    n += 1;
                }
                (acked, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (a, e) = worker.await.expect("producer task");
        acked.extend(a);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = reader.await;
    println!(
        "raw kafka: {} produced in {elapsed:.1}s = {:.0}/s, errors {errors}; {} consumed back = {:.0}/s",
        acked.len(),
        acked.len() as f64 / elapsed,
        consumed.load(Ordering::Relaxed),
        consumed.load(Ordering::Relaxed) as f64 / elapsed
    );
    latency::print("produce", &mut acked);
}

pub async fn dynamodb(args: &Args, endpoint: &str) {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("loadgen", "loadgen", None, None, "loadgen"))
        .endpoint_url(endpoint)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
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

    let payload = "x".repeat(args.bytes);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|worker| {
            let (client, table, payload, stop) = (client.clone(), table.clone(), payload.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut puts, mut errors) = (Vec::new(), 0u64);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let put = client
                        .put_item()
                        .table_name(&table)
                        .item("pk", AttributeValue::S(format!("conversation-{}", worker % 200)))
                        .item("sk", AttributeValue::S(format!("{worker}-{n}")))
                        .item("content", AttributeValue::S(payload.clone()))
                        .condition_expression("attribute_not_exists(sk)")
                        .send()
                        .await;
                    match put {
                        Ok(_) => puts.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                    n += 1;
                }
                (puts, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut puts, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (p, e) = worker.await.expect("put task");
        puts.extend(p);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "raw dynamodb: {} conditional puts in {elapsed:.1}s = {:.0}/s, errors {errors}",
        puts.len(),
        puts.len() as f64 / elapsed
    );
    latency::print("put", &mut puts);
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
