//! The stream's contract: the Rust types match the `.avsc` files, and old writers stay readable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apache_avro::AvroSchema;
use confab_schemas::{
    Codec, DirectMessageSent, DirectMessageSentPayload, Event, GroupCreated, GroupMemberAdded, GroupMemberRemoved,
    GroupMemberRoleChanged, GroupMessageSent, GroupRenamed, SINGLE_OBJECT_MAGIC, UserRegistered, UserRegisteredPayload,
    fingerprint, parsing_canonical_form,
};
use serde::Serialize;

#[test]
fn every_rust_event_type_has_the_fingerprint_of_its_avsc_file() {
    let codec = Codec::new().unwrap();
    let registry = codec.registry();
    for (name, rust_schema) in [
        ("io.confab.events.UserRegistered", UserRegistered::get_schema()),
        ("io.confab.events.DirectMessageSent", DirectMessageSent::get_schema()),
        ("io.confab.events.GroupMessageSent", GroupMessageSent::get_schema()),
        ("io.confab.events.GroupCreated", GroupCreated::get_schema()),
        ("io.confab.events.GroupMemberAdded", GroupMemberAdded::get_schema()),
        ("io.confab.events.GroupMemberRemoved", GroupMemberRemoved::get_schema()),
        ("io.confab.events.GroupRenamed", GroupRenamed::get_schema()),
        ("io.confab.events.GroupMemberRoleChanged", GroupMemberRoleChanged::get_schema()),
        ("io.confab.events.GroupMembershipMarked", confab_schemas::GroupMembershipMarked::get_schema()),
        ("io.confab.events.AttachmentRequested", confab_schemas::AttachmentRequested::get_schema()),
        ("io.confab.events.AttachmentUploaded", confab_schemas::AttachmentUploaded::get_schema()),
        ("io.confab.events.MessageEdited", confab_schemas::MessageEdited::get_schema()),
        ("io.confab.events.MessageDeleted", confab_schemas::MessageDeleted::get_schema()),
        ("io.confab.events.MessageReacted", confab_schemas::MessageReacted::get_schema()),
        ("io.confab.events.MessageHidden", confab_schemas::MessageHidden::get_schema()),
        ("io.confab.events.MessagePinned", confab_schemas::MessagePinned::get_schema()),
        ("io.confab.events.PushTargetRegistered", confab_schemas::PushTargetRegistered::get_schema()),
        ("io.confab.events.PushTargetRemoved", confab_schemas::PushTargetRemoved::get_schema()),
        ("io.confab.events.PlaceMuted", confab_schemas::PlaceMuted::get_schema()),
    ] {
        let file = registry.current(name).unwrap_or_else(|| panic!("no current avsc for {name}"));
        assert_eq!(
            fingerprint(&rust_schema),
            file.fingerprint,
            "{name}: rust type and {} disagree\nrust: {}\nfile: {}",
            file.path,
            parsing_canonical_form(&rust_schema),
            parsing_canonical_form(&file.schema)
        );
    }
}

#[test]
fn every_current_schema_file_is_an_event_type_and_every_event_type_has_one() {
    let codec = Codec::new().unwrap();
    let mut files: Vec<String> =
        codec.registry().files().filter(|f| f.is_current).map(|f| f.full_name.clone()).collect();
    files.sort();
    let mut types: Vec<String> = Event::FULL_NAMES.iter().map(|n| (*n).to_owned()).collect();
    types.sort();
    assert_eq!(files, types);
}

fn message() -> DirectMessageSent {
    DirectMessageSent {
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
            content: "v1.k1.c2VhbGVk".into(),
            client_message_id: Some("c-1".into()),
            attachments: Vec::new(),
            reply_to_message_id: None,
        },
    }
}

#[test]
fn encoded_value_is_single_object_with_the_current_fingerprint() {
    let codec = Codec::new().unwrap();
    let event = Event::DirectMessageSent(message());
    let encoded = codec.encode(&event).unwrap();
    assert_eq!(encoded.value[..2], SINGLE_OBJECT_MAGIC);
    let file = codec.registry().current("io.confab.events.DirectMessageSent").unwrap();
    assert_eq!(encoded.value[2..10], file.fingerprint.to_le_bytes());
    assert_eq!(codec.decode(&encoded.value).unwrap(), event);

    let user = Event::UserRegistered(UserRegistered {
        event_id: "0190f5a2-7c1e-7000-8000-000000000003".into(),
        occurred_at: 1,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: UserRegisteredPayload {
            user_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
            username: "alice".into(),
            password_hash: "$argon2id$...".into(),
        },
    });
    assert_eq!(codec.decode(&codec.encode(&user).unwrap().value).unwrap(), user);
}

/// Version 1 of DirectMessageSent had no clientMessageId.
#[derive(Serialize)]
struct DirectMessageSentV1 {
    #[serde(rename = "eventId")]
    event_id: String,
    #[serde(rename = "occurredAt")]
    occurred_at: i64,
    #[serde(rename = "actorId")]
    actor_id: String,
    payload: PayloadV1,
}

#[derive(Serialize)]
struct PayloadV1 {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "conversationId")]
    conversation_id: String,
    #[serde(rename = "senderId")]
    sender_id: String,
    #[serde(rename = "senderUsername")]
    sender_username: String,
    #[serde(rename = "recipientId")]
    recipient_id: String,
    #[serde(rename = "recipientUsername")]
    recipient_username: String,
    content: String,
}

#[test]
fn a_record_written_with_an_older_schema_is_read_by_the_current_one() {
    let codec = Codec::new().unwrap();
    let v1 = codec.registry().files().find(|f| f.path == "DirectMessageSent/v1.avsc").cloned().unwrap();
    let current = codec.registry().current("io.confab.events.DirectMessageSent").unwrap();
    assert_ne!(v1.fingerprint, current.fingerprint);

    let m = message();
    let old = DirectMessageSentV1 {
        event_id: m.event_id.clone(),
        occurred_at: m.occurred_at,
        actor_id: m.actor_id.clone(),
        payload: PayloadV1 {
            message_id: m.payload.message_id.clone(),
            conversation_id: m.payload.conversation_id.clone(),
            sender_id: m.payload.sender_id.clone(),
            sender_username: m.payload.sender_username.clone(),
            recipient_id: m.payload.recipient_id.clone(),
            recipient_username: m.payload.recipient_username.clone(),
            content: m.payload.content.clone(),
        },
    };
    let encoded = codec.encode_with(&v1, "io.confab.events.DirectMessageSent", &old).unwrap();
    assert_eq!(encoded.value[2..10], v1.fingerprint.to_le_bytes());

    let Event::DirectMessageSent(read) = codec.decode(&encoded.value).unwrap() else { panic!("wrong event type") };
    let mut expected = m;
    expected.payload.client_message_id = None;
    assert_eq!(read, expected);
}

#[test]
fn garbage_and_unknown_fingerprints_are_errors_not_panics() {
    let codec = Codec::new().unwrap();
    assert!(codec.decode(b"").is_err());
    assert!(codec.decode(b"{\"json\":true}").is_err());
    let mut unknown = SINGLE_OBJECT_MAGIC.to_vec();
    unknown.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0]);
    assert!(codec.decode(&unknown).is_err());
    let mut truncated = codec.encode(&Event::DirectMessageSent(message())).unwrap().value;
    truncated.truncate(20);
    assert!(codec.decode(&truncated).is_err());
}

#[test]
fn canonical_form_reduces_logical_types_to_their_primitive_as_the_spec_says() {
    let schema = apache_avro::Schema::parse_str(
        r#"{"type":"record","name":"r","namespace":"n","doc":"d","fields":[
            {"name":"a","type":{"type":"string","logicalType":"uuid"}},
            {"name":"b","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"x"}]}"#,
    )
    .unwrap();
    assert_eq!(
        parsing_canonical_form(&schema),
        r#"{"name":"n.r","type":"record","fields":[{"name":"a","type":"string"},{"name":"b","type":"long"}]}"#
    );
    // Values of the specification's reference CRC-64-AVRO algorithm, computed outside Rust.
    assert_eq!(fingerprint(&schema), 0xbc89_187d_96f5_f39e);
    let int = apache_avro::Schema::parse_str(r#"{"type":"int"}"#).unwrap();
    assert_eq!(parsing_canonical_form(&int), r#""int""#);
    assert_eq!(fingerprint(&int), 0x7275_d51a_3f39_5c8f);
}

#[test]
fn group_events_round_trip_through_the_codec() {
    let codec = Codec::new().unwrap();
    let group = "0190f5a2-7c1e-7000-8000-0000000000cc".to_owned();
    let envelope = |n: u8| (format!("0190f5a2-7c1e-7000-8000-0000000001{n:02}"), 1_732_000_000_000 + i64::from(n));
    let (id, at) = envelope(1);
    let created = Event::GroupCreated(GroupCreated {
        event_id: id,
        occurred_at: at,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: confab_schemas::GroupCreatedPayload {
            group_id: group.clone(),
            name: "climbing".into(),
            members: vec![
                confab_schemas::GroupMember {
                    user_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
                    username: "alice".into(),
                    role: "admin".into(),
                },
                confab_schemas::GroupMember {
                    user_id: "0190f5a2-7c1e-7000-8000-0000000000bb".into(),
                    username: "bob".into(),
                    role: "member".into(),
                },
            ],
        },
    });
    let (id, at) = envelope(2);
    let added = Event::GroupMemberAdded(GroupMemberAdded {
        event_id: id,
        occurred_at: at,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: confab_schemas::GroupMemberAddedPayload {
            group_id: group.clone(),
            user_id: "0190f5a2-7c1e-7000-8000-0000000000dd".into(),
            username: "dave".into(),
            history_after_message_id: None,
            member_limit: Some(1024),
            marked: true,
        },
    });
    for event in [created, added] {
        let encoded = codec.encode(&event).unwrap();
        assert_eq!(encoded.event_type, event.full_name());
        assert_eq!(codec.decode(&encoded.value).unwrap(), event);
        assert_eq!(event.key(), group);
        assert_eq!(event.topic().name(), "confab.groups");
    }
}

#[test]
fn receipts_round_trip_and_follow_their_messages_on_the_log() {
    let codec = Codec::new().unwrap();
    let reader = "0190f5a2-7c1e-7000-8000-0000000000bb".to_owned();
    let direct = confab_schemas::DirectReceiptPayload {
        conversation_id: "0190f5a2-7c1e-7000-8000-0000000000c1".into(),
        reader_id: reader.clone(),
        peer_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        up_to_message_id: "0190f5a2-7c1e-7000-8000-000000000009".into(),
    };
    let group = confab_schemas::GroupReceiptPayload {
        group_id: "0190f5a2-7c1e-7000-8000-0000000000cc".into(),
        reader_id: reader.clone(),
        up_to_message_id: "0190f5a2-7c1e-7000-8000-000000000009".into(),
    };
    let envelope = (String::from("0190f5a2-7c1e-7000-8000-000000000201"), 1_732_000_000_000_i64, reader);
    let events = [
        (
            Event::DirectMessagesDelivered(confab_schemas::DirectMessagesDelivered {
                event_id: envelope.0.clone(),
                occurred_at: envelope.1,
                actor_id: envelope.2.clone(),
                payload: direct.clone(),
            }),
            direct.conversation_id.clone(),
        ),
        (
            Event::DirectMessagesRead(confab_schemas::DirectMessagesRead {
                event_id: envelope.0.clone(),
                occurred_at: envelope.1,
                actor_id: envelope.2.clone(),
                payload: direct.clone(),
            }),
            direct.conversation_id.clone(),
        ),
        (
            Event::GroupMessagesDelivered(confab_schemas::GroupMessagesDelivered {
                event_id: envelope.0.clone(),
                occurred_at: envelope.1,
                actor_id: envelope.2.clone(),
                payload: group.clone(),
            }),
            group.group_id.clone(),
        ),
        (
            Event::GroupMessagesRead(confab_schemas::GroupMessagesRead {
                event_id: envelope.0.clone(),
                occurred_at: envelope.1,
                actor_id: envelope.2.clone(),
                payload: group.clone(),
            }),
            group.group_id.clone(),
        ),
    ];
    for (event, key) in events {
        let encoded = codec.encode(&event).unwrap();
        assert_eq!(codec.decode(&encoded.value).unwrap(), event);
        assert_eq!(event.key(), key);
        assert_eq!(event.topic().name(), "confab.messages");
    }
}

/// Every older version of the message events stays readable: a record written before
/// `attachments` existed reads as a message with none.
#[test]
fn messages_written_before_attachments_read_with_none() {
    let codec = Codec::new().unwrap();
    let direct = message();
    let mut v2 = serde_json::to_value(&direct).unwrap();
    let _ = v2["payload"].as_object_mut().unwrap().remove("attachments");
    let group = confab_schemas::GroupMessageSent {
        event_id: direct.event_id.clone(),
        occurred_at: direct.occurred_at,
        actor_id: direct.actor_id.clone(),
        payload: confab_schemas::GroupMessageSentPayload {
            message_id: direct.payload.message_id.clone(),
            group_id: "0190f5a2-7c1e-7000-8000-0000000000cc".into(),
            sender_id: direct.actor_id.clone(),
            sender_username: "alice".into(),
            content: "v1.k1.c2VhbGVk".into(),
            client_message_id: None,
            attachments: Vec::new(),
            reply_to_message_id: None,
            mentions: Vec::new(),
        },
    };
    let mut v1 = serde_json::to_value(&group).unwrap();
    let _ = v1["payload"].as_object_mut().unwrap().remove("attachments");
    for (path, name, old, expected) in [
        ("DirectMessageSent/v2.avsc", "io.confab.events.DirectMessageSent", v2, Event::DirectMessageSent(direct)),
        ("GroupMessageSent/v1.avsc", "io.confab.events.GroupMessageSent", v1, Event::GroupMessageSent(group)),
    ] {
        let file = codec.registry().files().find(|f| f.path == path).cloned().unwrap();
        let encoded = codec.encode_with(&file, name, &old).unwrap();
        assert_ne!(file.fingerprint, codec.registry().current(name).unwrap().fingerprint);
        assert_eq!(codec.decode(&encoded.value).unwrap(), expected, "{path}");
    }
}

/// Additions and upload requests written before their place in the group's message order was
/// recorded read as unmarked and unplaced: the rule of their time decides what they show.
#[test]
fn additions_and_requests_written_before_marks_read_unmarked() {
    let codec = Codec::new().unwrap();
    let added = GroupMemberAdded {
        event_id: "0190f5a2-7c1e-7000-8000-000000000401".into(),
        occurred_at: 1,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: confab_schemas::GroupMemberAddedPayload {
            group_id: "0190f5a2-7c1e-7000-8000-0000000000cc".into(),
            user_id: "0190f5a2-7c1e-7000-8000-0000000000dd".into(),
            username: "dave".into(),
            history_after_message_id: Some("0190f5a2-7c1e-7000-8000-000000000002".into()),
            member_limit: Some(8),
            marked: false,
        },
    };
    let mut v2 = serde_json::to_value(&added).unwrap();
    let _ = v2["payload"].as_object_mut().unwrap().remove("marked");
    let file = codec.registry().files().find(|f| f.path == "GroupMemberAdded/v2.avsc").cloned().unwrap();
    let encoded = codec.encode_with(&file, "io.confab.events.GroupMemberAdded", &v2).unwrap();
    assert_eq!(codec.decode(&encoded.value).unwrap(), Event::GroupMemberAdded(added));

    let requested = confab_schemas::AttachmentRequested {
        event_id: "0190f5a2-7c1e-7000-8000-000000000402".into(),
        occurred_at: 1,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: confab_schemas::AttachmentRequestedPayload {
            attachment_id: "0190f5a2-7c1e-7000-8000-000000000403".into(),
            uploader_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
            uploader_username: "alice".into(),
            kind: "group".into(),
            conversation_id: "0190f5a2-7c1e-7000-8000-0000000000cc".into(),
            recipient_id: None,
            file_name: "v1.k1.bmFtZQ".into(),
            content_type: "image/png".into(),
            size: 1,
            sha256: "ab".repeat(32),
            object_key: "uploads/0190f5a2-7c1e-7000-8000-000000000403".into(),
            expires_at: 2,
            group_offset: None,
        },
    };
    let mut v1 = serde_json::to_value(&requested).unwrap();
    let _ = v1["payload"].as_object_mut().unwrap().remove("groupOffset");
    let file = codec.registry().files().find(|f| f.path == "AttachmentRequested/v1.avsc").cloned().unwrap();
    let encoded = codec.encode_with(&file, "io.confab.events.AttachmentRequested", &v1).unwrap();
    assert_eq!(codec.decode(&encoded.value).unwrap(), Event::AttachmentRequested(requested.clone()));
    let mut placed = requested;
    placed.payload.group_offset = Some(41);
    let placed = Event::AttachmentRequested(placed);
    assert_eq!(codec.decode(&codec.encode(&placed).unwrap().value).unwrap(), placed);
}

#[test]
fn messages_carry_their_attachments_through_the_codec() {
    let codec = Codec::new().unwrap();
    let mut direct = message();
    direct.payload.attachments = vec![confab_schemas::AttachmentRef {
        attachment_id: "0190f5a2-7c1e-7000-8000-000000000301".into(),
        file_name: "v1.k1.bmFtZQ".into(),
        content_type: "image/png".into(),
        size: 1234,
        sha256: "ab".repeat(32),
    }];
    let event = Event::DirectMessageSent(direct);
    assert_eq!(codec.decode(&codec.encode(&event).unwrap().value).unwrap(), event);
    let requested = Event::AttachmentRequested(confab_schemas::AttachmentRequested {
        event_id: "0190f5a2-7c1e-7000-8000-000000000302".into(),
        occurred_at: 1,
        actor_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
        payload: confab_schemas::AttachmentRequestedPayload {
            attachment_id: "0190f5a2-7c1e-7000-8000-000000000301".into(),
            uploader_id: "0190f5a2-7c1e-7000-8000-0000000000aa".into(),
            uploader_username: "alice".into(),
            kind: "direct".into(),
            conversation_id: "4f6c1c2e-0a6b-5d0e-9c3f-1b2a3c4d5e6f".into(),
            recipient_id: Some("0190f5a2-7c1e-7000-8000-0000000000bb".into()),
            file_name: "v1.k1.bmFtZQ".into(),
            content_type: "image/png".into(),
            size: 1234,
            sha256: "ab".repeat(32),
            object_key: "uploads/0190f5a2-7c1e-7000-8000-000000000301".into(),
            expires_at: 2,
            group_offset: None,
        },
    });
    assert_eq!(codec.decode(&codec.encode(&requested).unwrap().value).unwrap(), requested);
    assert_eq!(requested.topic().name(), "confab.attachments");
    assert_eq!(requested.key(), "0190f5a2-7c1e-7000-8000-000000000301");
}

/// schemas/README.md lists every schema file, and only those, with its fingerprint: the table
/// a data team reads is the registry the codec uses.
#[test]
fn the_contract_document_lists_every_schema_file_with_its_fingerprint() {
    let codec = Codec::new().unwrap();
    let mut files: Vec<_> = codec.registry().files().collect();
    files.sort_by(|a, b| a.path.cmp(b.path));
    let mut expected = String::from("| schema file | fingerprint (CRC-64-AVRO, hex) | current |\n|---|---|---|\n");
    for file in files {
        let current = if file.is_current { "yes" } else { "" };
        expected.push_str(&format!("| `{}` | `{:016x}` | {current} |\n", file.path, file.fingerprint));
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(&expected), "schemas/README.md must hold this table:\n\n{expected}");
}
