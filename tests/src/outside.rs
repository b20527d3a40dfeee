//! Writing to a deployment's log from outside Confab, as another producer (one that knows only
//! the schemas) would: sealing content as the contract says, and appending a record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_eventlog::{EventLog, Record, embedded::EmbeddedLog};
use rdkafka::{
    ClientConfig,
    message::{Header as KafkaHeader, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

use crate::{Deployment, TEST_MASTER_KEYS};

/// Seals `plaintext` as schemas/README.md describes: AES-256-GCM under HKDF-SHA256(master key,
/// `confab/<scope>`), the message id as associated data, `v1.<keyId>.<base64url nonce||ct||tag>`.
pub fn seal(scope: &str, plaintext: &str, aad: &str) -> String {
    let (key_id, master) = TEST_MASTER_KEYS.split_once(':').unwrap();
    let master = STANDARD.decode(master).unwrap();
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &master).expand(format!("confab/{scope}").as_bytes(), &mut key).unwrap();
    let nonce = [7u8; 12];
    let sealed = Aes256Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt((&nonce).into(), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
        .unwrap();
    format!("v1.{key_id}.{}", URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat()))
}

/// Appends `record` to the deployment's `topic` from outside Confab: with a Kafka producer (Java's
/// partitioner, as the contract says), or into the stopped embedded log.
pub async fn append_from_outside(deployment: &Deployment, topic: &str, record: Record) {
    match deployment.backend.external() {
        Some(external) => {
            let producer: FutureProducer = ClientConfig::new()
                .set("bootstrap.servers", &external.kafka)
                .set("partitioner", "murmur2_random")
                .create()
                .unwrap();
            let mut headers = OwnedHeaders::new();
            for h in &record.headers {
                headers = headers.insert(KafkaHeader { key: &h.name, value: Some(&h.value) });
            }
            let topic = format!("{}{topic}", deployment.namespace);
            let delivered = producer
                .send(
                    FutureRecord::to(&topic)
                        .key(&record.key)
                        .payload(&record.value)
                        .headers(headers)
                        .timestamp(record.timestamp_ms),
                    Duration::from_secs(10),
                )
                .await;
            assert!(delivered.is_ok(), "{delivered:?}");
        }
        None => {
            let log = EmbeddedLog::open(&deployment.data_dir().join("log.redb")).unwrap();
            let _ = log.append(topic, record).await.unwrap();
        }
    }
}
