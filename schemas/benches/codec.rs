//! Encoding and decoding one event: the per-record cost on both sides of the log.
#![allow(clippy::unwrap_used)]

use confab_schemas::{Codec, DirectMessageSent, DirectMessageSentPayload, Event};
use criterion::{Criterion, criterion_group, criterion_main};

fn message() -> Event {
    Event::DirectMessageSent(DirectMessageSent {
        event_id: "0190f5a2-7c1e-7000-8000-000000000001".into(),
        occurred_at: 1_732_000_000_123,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: DirectMessageSentPayload {
            message_id: "0190f5a2-7c1e-7000-8000-000000000002".into(),
            conversation_id: "4f6c1c2e-0a6b-5d0e-9c3f-1b2a3c4d5e6f".into(),
            sender_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
            sender_username: "alice".into(),
            recipient_id: "0190f5a2-7c1e-7000-8000-0000000000bb".into(),
            recipient_username: "bob".into(),
            content: format!("v1.k1.{}", "A".repeat(180)),
            client_message_id: Some("c-1".into()),
            attachments: Vec::new(),
            reply_to_message_id: None,
        },
    })
}

fn codec(c: &mut Criterion) {
    let codec = Codec::new().unwrap();
    let event = message();
    let bytes = codec.encode(&event).unwrap().value;
    let _ = c.bench_function("encode DirectMessageSent", |b| b.iter(|| codec.encode(&event).unwrap()));
    let _ = c.bench_function("decode DirectMessageSent", |b| b.iter(|| codec.decode(&bytes).unwrap()));
}

criterion_group!(benches, codec);
criterion_main!(benches);
