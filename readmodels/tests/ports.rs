//! The conformance suite of the read-model ports: one generic body per port, run on the redb
//! adapter always and on the DynamoDB adapter when `CONFAB_TEST_DYNAMODB` points at a server
//! (`scripts/test` starts dynalite and requires it). Both adapters must answer the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_readmodels::{
    AttachmentRow, AttachmentStatus, BlockMark, ChangeKind, ChangeOutcome, GroupChange, GroupMessageRow, GroupRole,
    GroupRow, Lifecycle, MemberRow, MembershipMark, MessageChange, MessagePlace, MessageRow, MuteRow, ProfileFields,
    PushTargetRow, ReadModels, ReadModelsConfig, ReceiptAdvance, ReceiptStatus, SeenAdvance, SessionChange, SessionRow,
    Sight, UserRow, change_applied, dynamodb::DynamoConfig,
};
use uuid::Uuid;

/// Each test's own read models: a fresh redb file, or fresh DynamoDB tables.
enum Adapter {
    Embedded,
    Dynamodb,
}

/// The read models of `adapter` for one test, or None (skipped) when DynamoDB is not configured.
async fn open(adapter: Adapter, test: &str) -> Option<(ReadModels, Option<tempfile::TempDir>)> {
    match adapter {
        Adapter::Embedded => {
            let dir = tempfile::tempdir().unwrap();
            let config = ReadModelsConfig::Embedded { dir: dir.path().to_owned(), generation: None };
            Some((ReadModels::open(&config).await.unwrap(), Some(dir)))
        }
        Adapter::Dynamodb => {
            let Ok(endpoint) = std::env::var("CONFAB_TEST_DYNAMODB") else {
                let required = std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").as_deref() == Ok("1");
                assert!(!required, "CONFAB_TEST_DYNAMODB is not set");
                eprintln!("SKIPPED {test} on dynamodb: CONFAB_TEST_DYNAMODB is not set");
                return None;
            };
            let namespace = format!("{test}{}.", std::process::id());
            let config = DynamoConfig {
                endpoint: Some(endpoint),
                namespace,
                generation: None,
                fresh: true,
                create_tables: true,
            };
            Some((ReadModels::open(&ReadModelsConfig::Dynamodb(config)).await.unwrap(), None))
        }
    }
}

/// A test body run on both adapters.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $name() {
                let (read_models, _dir) = super::open(super::Adapter::Embedded, stringify!($name)).await.unwrap();
                super::$name(&read_models).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $name() {
                if let Some((read_models, _)) = super::open(super::Adapter::Dynamodb, stringify!($name)).await {
                    super::$name(&read_models).await;
                }
            })*
        }
    };
}

conformance!(
    users,
    direct_messages,
    group_messages,
    message_changes,
    whole_pages,
    membership_marks,
    sights,
    receipts,
    groups,
    change_outcomes,
    attachments,
    sessions,
    users_by_prefix,
    push_targets_and_mutes,
    blocks
);

fn user(id: &str, name: &str) -> UserRow {
    UserRow {
        user_id: id.into(),
        username: name.into(),
        password_hash: format!("hash-{id}"),
        registered_at_ms: 1,
        profile: ProfileFields::default(),
        deleted_at_ms: None,
    }
}

fn message(conversation: &str, seq: u64, from: &str, to: &str, at: i64) -> MessageRow {
    MessageRow {
        message_id: Uuid::now_v7().to_string(),
        conversation_id: conversation.into(),
        seq,
        // Stored as given: numbering is the projection's.
        ordinal: seq,
        sender_id: from.into(),
        sender_username: from.into(),
        recipient_id: to.into(),
        recipient_username: to.into(),
        content: format!("sealed {seq}"),
        sent_at_ms: at,
        client_message_id: None,
        attachments: Vec::new(),
        reply_to: None,
        lifecycle: Lifecycle::default(),
    }
}

async fn users(read_models: &ReadModels) {
    let users = &read_models.users;
    users.ping().await.unwrap();
    users.put_users(&[user("u1", "alice"), user("u2", "bob")]).await.unwrap();
    // Inserted once: a second row for a taken name or id changes nothing.
    users.put_users(&[user("u1", "alice"), user("u3", "alice")]).await.unwrap();
    assert_eq!(users.user_by_name("alice").await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(users.user_by_id("u2").await.unwrap(), Some(user("u2", "bob")));
    assert_eq!(users.user_by_name("carol").await.unwrap(), None);
    assert_eq!(users.user_by_id("u9").await.unwrap(), None);
    // A new password replaces the hash, found by name and by id; an unknown name changes nothing.
    users.change_password("alice", "hash-new").await.unwrap();
    users.change_password("carol", "hash-new").await.unwrap();
    let changed = UserRow { password_hash: "hash-new".into(), ..user("u1", "alice") };
    assert_eq!(users.user_by_name("alice").await.unwrap(), Some(changed.clone()));
    assert_eq!(users.user_by_id("u1").await.unwrap(), Some(changed));
    assert_eq!(users.user_by_name("carol").await.unwrap(), None);

    // A profile, set and cleared, sealed or not; by name and by id.
    let profile = |display_name: Option<&str>, about: Option<&str>, sealed| ProfileFields {
        display_name: display_name.map(str::to_owned),
        about: about.map(str::to_owned),
        sealed,
        avatar_id: sealed.then(|| "0190f5a2-7c1e-7000-8000-0000000000a1".to_owned()),
        // Presence hidden along with the sealed one: the setting is stored and read back.
        show_presence: !sealed,
    };
    users.set_profile("alice", &profile(Some("Alice A."), Some("climbs"), false)).await.unwrap();
    users.set_profile("nobody", &profile(Some("x"), None, false)).await.unwrap();
    let alice = users.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!(alice.profile, profile(Some("Alice A."), Some("climbs"), false));
    users.set_profile("alice", &profile(None, Some("v3.sealed"), true)).await.unwrap();
    let alice = users.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.profile, profile(None, Some("v3.sealed"), true));
    assert_eq!(alice.password_hash, "hash-new", "a profile leaves the rest");
    assert_eq!(users.user_by_name("nobody").await.unwrap(), None);
}

async fn users_by_prefix(read_models: &ReadModels) {
    let users = &read_models.users;
    let names = ["al", "ala", "alb", "alba", "albert", "alz", "am", "bob", "albert2"];
    let rows: Vec<UserRow> = names.iter().map(|n| user(&format!("id-{n}"), n)).collect();
    users.put_users(&rows).await.unwrap();
    let found = |rows: Vec<UserRow>| rows.into_iter().map(|r| r.username).collect::<Vec<_>>();
    assert_eq!(
        found(users.users_by_prefix("al", None, 50).await.unwrap()),
        ["al", "ala", "alb", "alba", "albert", "albert2", "alz"]
    );
    assert_eq!(found(users.users_by_prefix("alb", None, 2).await.unwrap()), ["alb", "alba"]);
    assert_eq!(found(users.users_by_prefix("alb", Some("alba"), 2).await.unwrap()), ["albert", "albert2"]);
    assert_eq!(found(users.users_by_prefix("alb", Some("albert2"), 2).await.unwrap()), Vec::<String>::new());
    assert_eq!(found(users.users_by_prefix("zz", None, 5).await.unwrap()), Vec::<String>::new());
    assert_eq!(users.users_by_prefix("bo", None, 5).await.unwrap(), [user("id-bob", "bob")]);

    // A deleted account: no longer found, its profile and password gone, its name still taken.
    let alba = ProfileFields {
        display_name: Some("v3.alba".into()),
        about: Some("v3.about".into()),
        sealed: true,
        avatar_id: Some("0190f5a2-7c1e-7000-8000-0000000000a2".into()),
        show_presence: false,
    };
    users.set_profile("alba", &alba).await.unwrap();
    users.delete_account("alba", 77).await.unwrap();
    users.delete_account("alba", 99).await.unwrap();
    users.delete_account("nobody", 1).await.unwrap();
    assert_eq!(found(users.users_by_prefix("alb", None, 2).await.unwrap()), ["alb", "albert"]);
    let deleted = users.user_by_name("alba").await.unwrap().unwrap();
    assert_eq!(deleted.deleted_at_ms, Some(77), "the first deletion stands");
    assert!(!deleted.is_active());
    assert_eq!((deleted.password_hash.as_str(), deleted.profile), ("", ProfileFields::default()));
    assert_eq!(users.user_by_id("id-alba").await.unwrap().unwrap().deleted_at_ms, Some(77));
    users.put_users(&[user("id-other", "alba")]).await.unwrap();
    assert_eq!(users.user_by_name("alba").await.unwrap().unwrap().user_id, "id-alba");
}

fn session(user: &str, id: &str, offset: u64) -> SessionRow {
    SessionRow {
        user_id: user.into(),
        session_id: id.into(),
        device_name: offset.is_multiple_of(2).then(|| format!("phone {offset}")),
        started_at_ms: 1000 + offset as i64,
        started_offset: offset,
        last_seen_ms: 1000 + offset as i64,
        refresh_token_hash: format!("hash-{id}-0"),
        refresh_expires_at_ms: 9000,
    }
}

fn refreshed(user: &str, id: &str, from: u32, to: u32) -> SessionChange {
    SessionChange::Refreshed {
        user_id: user.into(),
        session_id: id.into(),
        retired_hash: format!("hash-{id}-{from}"),
        refresh_token_hash: format!("hash-{id}-{to}"),
        refresh_expires_at_ms: 9000 + i64::from(to),
        seen_at_ms: 2000 + i64::from(to),
    }
}

async fn sessions(read_models: &ReadModels) {
    let sessions = &read_models.sessions;
    sessions.ping().await.unwrap();
    let started = [session("u1", "s1", 1), session("u1", "s2", 2), session("u1", "s3", 3), session("u2", "s4", 4)];
    let changes: Vec<SessionChange> = started.iter().cloned().map(SessionChange::Started).collect();
    sessions.apply_session_changes(&changes).await.unwrap();
    // Started again (a redelivery, or a second start of one id): nothing changes.
    let mut again = session("u1", "s1", 1);
    again.device_name = Some("other".into());
    sessions.apply_session_changes(&[SessionChange::Started(again)]).await.unwrap();
    assert_eq!(sessions.session("u1", "s1").await.unwrap(), Some(session("u1", "s1", 1)));
    assert_eq!(sessions.session("u2", "s1").await.unwrap(), None);

    // A refresh applies only from the current token; redelivered, or from a retired one, nothing.
    let rotate = [refreshed("u1", "s1", 0, 1), refreshed("u1", "s1", 0, 1), refreshed("u1", "s1", 0, 9)];
    sessions.apply_session_changes(&rotate).await.unwrap();
    let row = sessions.session("u1", "s1").await.unwrap().unwrap();
    assert_eq!(
        (row.refresh_token_hash.as_str(), row.refresh_expires_at_ms, row.last_seen_ms),
        ("hash-s1-1", 9001, 2001)
    );
    sessions.apply_session_changes(&[refreshed("u9", "s9", 0, 1)]).await.unwrap();
    assert_eq!(sessions.session("u9", "s9").await.unwrap(), None);

    let mut of_u1: Vec<String> = sessions.sessions_of("u1").await.unwrap().into_iter().map(|r| r.session_id).collect();
    of_u1.sort();
    assert_eq!(of_u1, ["s1", "s2", "s3"]);

    // Ended, and ended again.
    let ended = SessionChange::Ended { user_id: "u1".into(), session_id: "s2".into() };
    sessions.apply_session_changes(&[ended.clone(), ended]).await.unwrap();
    assert_eq!(sessions.session("u1", "s2").await.unwrap(), None);

    // A password change at offset 5 ends the others started before it, not a later one.
    sessions.apply_session_changes(&[SessionChange::Started(session("u1", "s5", 6))]).await.unwrap();
    let others = SessionChange::OthersEnded { user_id: "u1".into(), kept: Some("s3".into()), before_offset: 5 };
    sessions.apply_session_changes(&[others.clone(), others]).await.unwrap();
    let mut left: Vec<String> = sessions.sessions_of("u1").await.unwrap().into_iter().map(|r| r.session_id).collect();
    left.sort();
    assert_eq!(left, ["s3", "s5"]);
    assert_eq!(sessions.sessions_of("u2").await.unwrap(), [session("u2", "s4", 4)]);
    assert_eq!(sessions.sessions_of("u3").await.unwrap(), []);
}

async fn direct_messages(read_models: &ReadModels) {
    let messages = &read_models.messages;
    messages.ping().await.unwrap();
    let (c, note) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let sent: Vec<MessageRow> = (1..=5).map(|seq| message(&c, seq * 10, "a", "b", seq as i64)).collect();
    messages.put_messages(&sent[..3]).await.unwrap();
    messages.put_messages(&sent).await.unwrap();
    messages.put_messages(&sent[1..2]).await.unwrap();
    let ids = |rows: Vec<MessageRow>| rows.into_iter().map(|m| m.message_id).collect::<Vec<_>>();
    let newest_first: Vec<String> = sent.iter().rev().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids(messages.history(&c, None, 10).await.unwrap()), newest_first, "each message once");
    assert_eq!(ids(messages.history(&c, None, 2).await.unwrap()), newest_first[..2]);
    assert_eq!(ids(messages.history(&c, Some(&sent[2].message_id), 10).await.unwrap()), newest_first[3..]);
    assert_eq!(ids(messages.history_by_seq(&c, Some(10), Some(50), 10).await.unwrap()), newest_first[1..4]);
    assert_eq!(messages.message(&c, &sent[0].message_id).await.unwrap(), Some(sent[0].clone()));
    assert_eq!(messages.message(&c, &Uuid::now_v7().to_string()).await.unwrap(), None);
    assert_eq!(messages.direct_message(&sent[3].message_id).await.unwrap(), Some(sent[3].clone()), "by id alone");
    assert_eq!(messages.direct_message(&Uuid::now_v7().to_string()).await.unwrap(), None);
    // Each participant's conversation list shows the newest message; a note to self is one row.
    messages.put_messages(&[message(&note, 7, "a", "a", 9)]).await.unwrap();
    let of_a = messages.conversations("a", None, 10).await.unwrap();
    assert_eq!(of_a.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), [note.as_str(), c.as_str()]);
    assert_eq!(of_a[1].last_message, sent[4]);
    assert_eq!(of_a[1].peer_id, "b");
    let of_b = messages.conversations("b", None, 10).await.unwrap();
    assert_eq!(of_b.len(), 1);
    assert_eq!((of_b[0].peer_id.as_str(), &of_b[0].last_message), ("a", &sent[4]));
    let first = messages.conversations("a", None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let rest = messages.conversations("a", Some(&first[0].activity_key()), 10).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), [c.as_str()], "the next page");
    assert!(messages.conversations("a", Some(&rest[0].activity_key()), 10).await.unwrap().is_empty());
}

fn group_message(group: &str, seq: u64) -> GroupMessageRow {
    GroupMessageRow {
        group_id: group.into(),
        seq,
        // Stored as given: numbering is the projection's.
        ordinal: seq,
        message_id: Uuid::now_v7().to_string(),
        sender_id: "a".into(),
        sender_username: "alice".into(),
        content: format!("sealed {seq}"),
        sent_at_ms: seq as i64,
        client_message_id: Some(format!("client-{seq}")),
        attachments: Vec::new(),
        reply_to: None,
        mentions: Vec::new(),
        lifecycle: Lifecycle::default(),
    }
}

async fn group_messages(read_models: &ReadModels) {
    let messages = &read_models.messages;
    let group = Uuid::now_v7().to_string();
    assert_eq!(messages.last_group_message(&group).await.unwrap(), None);
    let mut sent: Vec<GroupMessageRow> = (1..=4).map(|seq| group_message(&group, seq)).collect();
    sent[1].mentions = vec!["b".into(), "c".into()];
    sent[3].mentions = vec!["b".into()];
    messages.put_group_messages(&sent).await.unwrap();
    messages.put_group_messages(&sent[..2]).await.unwrap();
    let mut counted = Vec::new();
    for (user, after) in [("b", None), ("b", Some(2)), ("c", Some(1)), ("c", Some(2)), ("a", None)] {
        counted.push(messages.mentions_after(&group, user, after).await.unwrap());
    }
    assert_eq!(counted, [2, 1, 1, 0, 0], "each mention once, after the seq asked");
    let seqs = |rows: Vec<GroupMessageRow>| rows.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(messages.group_history(&group, None, None, 10).await.unwrap()), [4, 3, 2, 1]);
    assert_eq!(seqs(messages.group_history(&group, Some(1), Some(4), 10).await.unwrap()), [3, 2]);
    assert_eq!(seqs(messages.group_history(&group, None, None, 1).await.unwrap()), [4]);
    assert_eq!(messages.group_message(&group, &sent[1].message_id).await.unwrap(), Some(sent[1].clone()));
    assert_eq!(messages.last_group_message(&group).await.unwrap(), Some(sent[3].clone()));
}

/// A change at `seq` of the message `(id, its seq)`.
fn change(
    place: MessagePlace,
    (message, message_seq): (&str, u64),
    seq: u64,
    actor: &str,
    kind: ChangeKind,
) -> MessageChange {
    let (message_id, at_ms) = (message.into(), seq as i64 * 100);
    MessageChange { place, message_id, message_seq, seq, actor_id: actor.into(), at_ms, kind }
}

fn edit(text: &str) -> ChangeKind {
    ChangeKind::Edit { edit_id: format!("edit-{text}"), content: text.into() }
}

/// Edits and deletes apply in log order, once, to the message and to every copy of it; an edit
/// by anyone but the sender, or after a delete, changes nothing.
async fn message_changes(read_models: &ReadModels) {
    let messages = &read_models.messages;
    let c = Uuid::now_v7().to_string();
    let mut sent: Vec<MessageRow> = (1..=2).map(|seq| message(&c, seq, "a", "b", seq as i64)).collect();
    sent[1].attachments = vec![confab_schemas::AttachmentRef {
        attachment_id: "file".into(),
        file_name: "sealed name".into(),
        content_type: "text/plain".into(),
        size: 3,
        sha256: "00".repeat(32),
    }];
    messages.put_messages(&sent).await.unwrap();
    let direct = || MessagePlace::Direct(c.clone());
    let (first, last) = ((sent[0].message_id.as_str(), 1), (sent[1].message_id.as_str(), 2));
    let stored = async |(id, _): (&str, u64)| messages.message(&c, id).await.unwrap().unwrap();
    let edited = change(direct(), last, 3, "a", edit("fixed"));
    messages.apply_message_changes(&[edited.clone(), change(direct(), last, 4, "b", edit("not yours"))]).await.unwrap();
    messages.apply_message_changes(&[edited]).await.unwrap();
    let row = stored(last).await;
    assert_eq!(
        (row.content.as_str(), row.lifecycle.edit_count, row.lifecycle.edit_id.as_deref()),
        ("fixed", 1, Some("edit-fixed"))
    );
    assert_eq!((row.lifecycle.edited_at_ms, row.lifecycle.changed_seq), (Some(300), 3), "once, by the sender only");
    assert_eq!(row.attachments.len(), 1, "an edit keeps the attachments");
    for user in ["a", "b"] {
        assert_eq!(messages.conversations(user, None, 10).await.unwrap()[0].last_message, row, "{user}'s list");
    }
    messages
        .apply_message_changes(&[
            change(direct(), last, 5, "a", ChangeKind::Delete),
            change(direct(), last, 6, "a", edit("after the delete")),
            change(direct(), first, 7, "a", edit("an older one")),
            change(direct(), (&Uuid::now_v7().to_string(), 2), 8, "a", ChangeKind::Delete),
            change(direct(), (first.0, 2), 9, "a", edit("naming another offset")),
        ])
        .await
        .unwrap();
    let tombstone = stored(last).await;
    assert_eq!((tombstone.content.as_str(), tombstone.attachments.len()), ("", 0), "no content, no attachments");
    assert_eq!((tombstone.lifecycle.deleted_at_ms, tombstone.lifecycle.changed_seq), (Some(500), 5));
    assert_eq!(tombstone.lifecycle.edit_id, None, "no edit's text is left");
    assert_eq!(stored(first).await.content, "an older one");
    let react = |emoji: &str, added| ChangeKind::React { emoji: emoji.into(), added };
    messages
        .apply_message_changes(&[
            change(direct(), first, 10, "b", react("👍", true)),
            change(direct(), first, 11, "a", react("👍", true)),
            change(direct(), first, 12, "a", react("👍", true)),
            change(direct(), first, 13, "b", react("🎉", true)),
            change(direct(), first, 14, "b", react("🎉", false)),
            change(direct(), first, 15, "b", react("❤️", false)),
        ])
        .await
        .unwrap();
    let reacted = stored(first).await.lifecycle;
    let users = |emoji: &str| reacted.reactions.get(emoji).map(|u| u.iter().cloned().collect::<Vec<_>>());
    assert_eq!((users("👍"), users("🎉")), (Some(vec!["a".to_owned(), "b".to_owned()]), None), "once each; taken back");
    assert_eq!(reacted.changed_seq, 14, "a change that changes nothing is not the last applied");
    let faces = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊"];
    let many: Vec<MessageChange> =
        faces.iter().zip(20..).map(|(face, seq)| change(direct(), first, seq, "c", react(face, true))).collect();
    messages.apply_message_changes(&many).await.unwrap();
    let given = stored(first).await.lifecycle.reactions.values().filter(|users| users.contains("c")).count();
    assert_eq!(given, confab_readmodels::MAX_REACTIONS_PER_USER, "one user's reactions are bounded");
    messages.apply_message_changes(&[change(direct(), first, 40, "a", ChangeKind::Delete)]).await.unwrap();
    assert!(stored(first).await.lifecycle.reactions.is_empty(), "a tombstone keeps no reactions");
    let hidings = [41, 42].map(|seq| change(direct(), first, seq, "b", ChangeKind::Hide));
    messages.apply_message_changes(&hidings).await.unwrap();
    let hidden = stored(first).await.lifecycle;
    assert_eq!(
        (hidden.hidden_from("b"), hidden.hidden_from("a"), hidden.changed_seq),
        (true, false, 41),
        "once, for b"
    );
    for user in ["a", "b"] {
        let listed = messages.conversations(user, None, 10).await.unwrap();
        assert_eq!(listed[0].last_message, tombstone, "{user}'s list keeps the tombstone, not an older message");
    }
    assert_eq!(messages.history(&c, None, 10).await.unwrap()[0], tombstone);
    // A direct pin; a delete unpins.
    let second = Uuid::now_v7().to_string();
    messages.put_messages(&[MessageRow { message_id: second.clone(), ..message(&c, 50, "b", "a", 50) }]).await.unwrap();
    let pinned = ChangeKind::Pin { pinned: true };
    messages.apply_message_changes(&[change(direct(), (&second, 50), 51, "a", pinned)]).await.unwrap();
    assert_eq!(messages.pins(&c, 10).await.unwrap(), vec![second.clone()]);
    messages.apply_message_changes(&[change(direct(), (&second, 50), 52, "b", ChangeKind::Delete)]).await.unwrap();
    assert!(messages.pins(&c, 10).await.unwrap().is_empty(), "unpinned by its delete");

    let g = Uuid::now_v7().to_string();
    let group_sent: Vec<GroupMessageRow> = (1..=2).map(|seq| group_message(&g, seq)).collect();
    messages.put_group_messages(&group_sent).await.unwrap();
    let group = || MessagePlace::Group(g.clone());
    let (older, newest) = ((group_sent[0].message_id.as_str(), 1), (group_sent[1].message_id.as_str(), 2));
    messages
        .apply_message_changes(&[
            change(group(), newest, 3, "a", edit("better")),
            change(group(), older, 4, "someone admin", ChangeKind::Delete),
            change(group(), newest, 2, "a", edit("at or below its own seq")),
        ])
        .await
        .unwrap();
    // Pins: once each, listed newest message first, redelivered alike, gone with a delete.
    let pin = |pinned| ChangeKind::Pin { pinned };
    let pins = [
        change(group(), newest, 5, "a", pin(true)),
        change(group(), newest, 6, "b", pin(true)),
        change(group(), older, 7, "a", pin(true)),
    ];
    messages.apply_message_changes(&pins).await.unwrap();
    messages.apply_message_changes(&pins).await.unwrap();
    assert_eq!(messages.pins(&g, 10).await.unwrap(), [newest.0], "a deleted message is never pinned");
    let pinned = messages.group_message(&g, newest.0).await.unwrap().unwrap().lifecycle.pinned;
    assert_eq!(pinned, Some(confab_readmodels::Pin { by: "a".into(), at_ms: 500 }), "the first pin stands");
    messages.apply_message_changes(&[change(group(), newest, 8, "a", pin(false))]).await.unwrap();
    assert!(messages.pins(&g, 10).await.unwrap().is_empty());
    messages.apply_message_changes(&[change(group(), newest, 9, "b", pin(true))]).await.unwrap();
    assert_eq!(messages.pins(&g, 10).await.unwrap(), [newest.0]);
    let last_group = messages.last_group_message(&g).await.unwrap().unwrap();
    assert_eq!((last_group.content.as_str(), last_group.lifecycle.edit_count), ("better", 1));
    assert_eq!(messages.group_message(&g, older.0).await.unwrap().unwrap().lifecycle.deleted_at_ms, Some(400));
    let groups = &read_models.groups;
    let row = GroupRow {
        group_id: g.clone(),
        name: "edits".into(),
        owner_id: "a".into(),
        owner_username: "alice".into(),
        created_at_ms: 1,
        next_offset: 1,
    };
    let created = GroupChange {
        group: row,
        put_members: vec![member(&g, "a", GroupRole::Admin, 0, 0)],
        remove_members: Vec::new(),
    };
    groups.apply_group_change(&created).await.unwrap();
    let summary = groups.groups_of("a").await.unwrap().into_iter().find(|s| s.group.group_id == g).unwrap();
    assert_eq!(summary.last_message, Some(last_group), "the group list's copy");
}

/// Pages of large rows are whole: a DynamoDB response holds at most 1 MB, so a page of 50 rows of
/// 60 KiB spans several, and walking back page by page reaches the first row.
async fn whole_pages(read_models: &ReadModels) {
    const ROWS: u64 = 60;
    const PAGE: usize = 50;
    let large = |seq: u64| format!("{seq:04}{}", "x".repeat(60 * 1024));
    let messages = &read_models.messages;
    let c = Uuid::now_v7().to_string();
    let sent: Vec<MessageRow> =
        (1..=ROWS).map(|seq| MessageRow { content: large(seq), ..message(&c, seq, "a", "b", seq as i64) }).collect();
    for chunk in sent.chunks(10) {
        messages.put_messages(chunk).await.unwrap();
    }
    let mut walked = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = messages.history(&c, before.as_deref(), PAGE).await.unwrap();
        let expected = PAGE.min(sent.len() - walked.len());
        assert_eq!(page.len(), expected, "a history page after {} rows is whole", walked.len());
        walked.extend(page.iter().map(|m| m.seq));
        match page.last() {
            Some(oldest) if walked.len() < sent.len() => before = Some(oldest.message_id.clone()),
            _ => break,
        }
    }
    assert_eq!(walked, (1..=ROWS).rev().collect::<Vec<_>>(), "walking back reaches the first message, once each");
    let by_seq = messages.history_by_seq(&c, None, None, PAGE).await.unwrap();
    assert_eq!(by_seq.len(), PAGE, "a page in log order is whole");

    let group = Uuid::now_v7().to_string();
    let posted: Vec<GroupMessageRow> =
        (1..=ROWS).map(|seq| GroupMessageRow { content: large(seq), ..group_message(&group, seq) }).collect();
    for chunk in posted.chunks(10) {
        messages.put_group_messages(chunk).await.unwrap();
    }
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = messages.group_history(&group, None, before, PAGE).await.unwrap();
        assert_eq!(page.len(), PAGE.min(posted.len() - walked.len()), "a group history page is whole");
        walked.extend(page.iter().map(|m| m.seq));
        match page.last() {
            Some(oldest) if walked.len() < posted.len() => before = Some(oldest.seq),
            _ => break,
        }
    }
    assert_eq!(walked, (1..=ROWS).rev().collect::<Vec<_>>());
    // Asked for more than the cap, a page holds the cap: the same on every adapter.
    let cap = confab_readmodels::MAX_PAGE_ROWS;
    let many = Uuid::now_v7().to_string();
    let small: Vec<MessageRow> = (1..=cap as u64 + 1).map(|seq| message(&many, seq, "a", "b", seq as i64)).collect();
    for chunk in small.chunks(100) {
        messages.put_messages(chunk).await.unwrap();
    }
    assert_eq!(messages.history(&many, None, cap * 2).await.unwrap().len(), cap);
    assert_eq!(messages.history_by_seq(&many, None, None, cap * 2).await.unwrap().len(), cap);
}

async fn membership_marks(read_models: &ReadModels) {
    let messages = &read_models.messages;
    let group = Uuid::now_v7().to_string();
    let mark = |user: &str, seq: u64, member: bool| MembershipMark {
        group_id: group.clone(),
        user_id: user.into(),
        seq,
        member,
        change_event_id: Some(format!("change-{user}-{seq}")),
    };
    assert!(messages.membership_marks(&group, "a").await.unwrap().is_empty());
    let marks = [mark("a", 12, true), mark("a", 7, false), mark("b", 9, false)];
    messages.put_membership_marks(&marks).await.unwrap();
    messages.put_membership_marks(&marks[..1]).await.unwrap();
    let of_a = messages.membership_marks(&group, "a").await.unwrap();
    assert_eq!(of_a, [mark("a", 7, false), mark("a", 12, true)], "oldest first, each once");
    assert_eq!(messages.membership_marks(&group, "b").await.unwrap(), [mark("b", 9, false)]);
    assert!(messages.membership_marks(&Uuid::now_v7().to_string(), "a").await.unwrap().is_empty(), "by group");
    // Before the removal, between it and the return, after the return.
    let excluded: Vec<bool> = [3, 8, 12, 13].into_iter().map(|seq| MembershipMark::excludes(&of_a, seq)).collect();
    assert_eq!(excluded, [false, true, true, false]);
    // A group's marks in its message order; one written before changes were kept reads without.
    let legacy = MembershipMark { change_event_id: None, ..mark("c", 10, true) };
    messages.put_membership_marks(std::slice::from_ref(&legacy)).await.unwrap();
    let all = messages.group_marks(&group).await.unwrap();
    assert_eq!(all, [mark("a", 7, false), mark("b", 9, false), legacy, mark("a", 12, true)]);
    assert!(messages.group_marks(&Uuid::now_v7().to_string()).await.unwrap().is_empty());
}

/// The one visibility rule reads the same from every adapter: a marked addition sees above its
/// first mark, nothing before the mark is stored; an unmarked one after its history floor.
async fn sights(read_models: &ReadModels) {
    let messages = &read_models.messages;
    let group = Uuid::now_v7().to_string();
    let posted: Vec<GroupMessageRow> = (1..=3).map(|seq| group_message(&group, seq * 10)).collect();
    messages.put_group_messages(&posted).await.unwrap();
    let added = |user: &str, added_by: Option<&str>, history_after: Option<&str>| MemberRow {
        added_by: added_by.map(str::to_owned),
        history_after: history_after.map(str::to_owned),
        ..member(&group, user, GroupRole::Member, 1, 0)
    };
    let marked = added("m", Some("add-m"), None);
    assert_eq!(
        confab_readmodels::sight(messages.as_ref(), &marked).await.unwrap(),
        Sight::Nothing,
        "mark not there yet"
    );
    let mark = |seq, change: &str| MembershipMark {
        group_id: group.clone(),
        user_id: "m".into(),
        seq,
        member: true,
        change_event_id: Some(change.into()),
    };
    messages.put_membership_marks(&[mark(25, "add-m"), mark(15, "older"), mark(28, "add-m")]).await.unwrap();
    assert_eq!(confab_readmodels::sight(messages.as_ref(), &marked).await.unwrap(), Sight::After(25));
    let legacy = added("l", None, Some(&posted[0].message_id));
    let founder = added("f", None, None);
    let lost = added("x", None, Some(&Uuid::now_v7().to_string()));
    let sights = confab_readmodels::sights(messages.as_ref(), &[marked, legacy, founder, lost]).await.unwrap();
    assert_eq!(sights["m"], Sight::After(25));
    assert_eq!(sights["l"], Sight::After(10));
    assert_eq!(sights["f"], Sight::Everything);
    assert_eq!(sights["x"], Sight::Nothing, "a floor not projected shows nothing");
}

async fn receipts(read_models: &ReadModels) {
    let receipts = &read_models.receipts;
    let c = Uuid::now_v7().to_string();
    let advance =
        |user: &str, status, seq| ReceiptAdvance { conversation_id: c.clone(), user_id: user.into(), status, seq };
    receipts.advance_receipts(&[advance("b", ReceiptStatus::Delivered, 5)]).await.unwrap();
    // Lower watermarks change nothing; a read implies delivery.
    receipts
        .advance_receipts(&[advance("b", ReceiptStatus::Delivered, 3), advance("b", ReceiptStatus::Read, 4)])
        .await
        .unwrap();
    receipts.advance_receipts(&[advance("c", ReceiptStatus::Read, 9)]).await.unwrap();
    receipts.advance_receipts(&[advance("c", ReceiptStatus::Read, 9)]).await.unwrap();
    let mut rows = receipts.receipts(&c).await.unwrap();
    rows.sort_by(|x, y| x.user_id.cmp(&y.user_id));
    let marks: Vec<_> = rows.iter().map(|r| (r.user_id.as_str(), r.delivered_seq, r.read_seq)).collect();
    assert_eq!(marks, [("b", Some(5), Some(4)), ("c", Some(9), Some(9))]);
    assert_eq!(rows[0].status_of(4), Some(ReceiptStatus::Read));
    assert_eq!(rows[0].status_of(5), Some(ReceiptStatus::Delivered));
    assert_eq!(rows[0].status_of(6), None);
    assert!(receipts.receipts(&Uuid::now_v7().to_string()).await.unwrap().is_empty());

    // The seen watermark rises with its ordinal, in any order within a batch, and only rises.
    let seen = |user: &str, seq, ordinal| SeenAdvance { place_id: c.clone(), user_id: user.into(), seq, ordinal };
    receipts.advance_seen(&[seen("b", 7, 3), seen("b", 6, 2)]).await.unwrap();
    receipts.advance_seen(&[seen("b", 5, 1)]).await.unwrap();
    receipts.advance_seen(&[seen("d", 2, 1)]).await.unwrap();
    let b = receipts.receipt(&c, "b").await.unwrap().unwrap();
    assert_eq!((b.seen_seq, b.seen_ordinal, b.delivered_seq, b.read_seq), (Some(7), 3, Some(5), Some(4)));
    assert_eq!(b.unread(10), 7);
    assert_eq!(b.unread(2), 0, "never below nothing");
    let d = receipts.receipt(&c, "d").await.unwrap().unwrap();
    assert_eq!((d.seen_seq, d.seen_ordinal, d.delivered_seq), (Some(2), 1, None));
    assert_eq!(receipts.receipt(&c, "e").await.unwrap(), None);
}

fn member(group: &str, user: &str, role: GroupRole, offset: u64, index: usize) -> MemberRow {
    MemberRow {
        group_id: group.into(),
        user_id: user.into(),
        username: format!("name-{user}"),
        role,
        joined_at_ms: offset as i64,
        seniority: MemberRow::seniority(offset, index),
        history_after: None,
        added_by: None,
    }
}

async fn groups(read_models: &ReadModels) {
    let groups = &read_models.groups;
    groups.ping().await.unwrap();
    let g = Uuid::now_v7().to_string();
    let row = |name: &str, next_offset| GroupRow {
        group_id: g.clone(),
        name: name.into(),
        owner_id: "a".into(),
        owner_username: "name-a".into(),
        created_at_ms: 1,
        next_offset,
    };
    let created = GroupChange {
        group: row("climbing", 1),
        put_members: vec![member(&g, "a", GroupRole::Admin, 0, 0), member(&g, "b", GroupRole::Member, 0, 1)],
        remove_members: Vec::new(),
    };
    groups.apply_group_change(&created).await.unwrap();
    groups.apply_group_change(&created).await.unwrap();
    let added = GroupChange {
        group: row("climbing", 2),
        put_members: vec![member(&g, "c", GroupRole::Member, 1, 0)],
        remove_members: vec!["b".into()],
    };
    groups.apply_group_change(&added).await.unwrap();
    assert_eq!(groups.group(&g).await.unwrap(), Some(row("climbing", 2)));
    let members: Vec<_> = groups.members(&g).await.unwrap().into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, ["a", "c"], "longest-standing first, the removed one gone");
    assert_eq!(groups.member(&g, "a").await.unwrap().map(|m| m.role), Some(GroupRole::Admin));
    assert_eq!(groups.member(&g, "b").await.unwrap(), None);
    let of_c = groups.groups_of("c").await.unwrap();
    assert_eq!(of_c.len(), 1);
    assert_eq!((of_c[0].group.group_id.as_str(), of_c[0].membership.user_id.as_str()), (g.as_str(), "c"));
    assert!(groups.groups_of("b").await.unwrap().is_empty());
    assert_eq!(groups.group(&Uuid::now_v7().to_string()).await.unwrap(), None);
}

/// What each membership change did, as the groups projection records it, and the rule that reads
/// it: undecided until recorded or passed; passed without a record (older data) is applied.
async fn change_outcomes(read_models: &ReadModels) {
    let groups = &read_models.groups;
    let g = Uuid::now_v7().to_string();
    let outcome = |offset, applied| ChangeOutcome { group_id: g.clone(), offset, applied };
    assert_eq!(groups.outcome(&g, 5).await.unwrap(), None);
    assert_eq!(change_applied(groups.as_ref(), &g, 5).await.unwrap(), None, "no group, nothing decided");
    groups.record_outcome(&outcome(5, false)).await.unwrap();
    groups.record_outcome(&outcome(7, true)).await.unwrap();
    groups.record_outcome(&outcome(7, true)).await.unwrap();
    assert_eq!(groups.outcome(&g, 5).await.unwrap(), Some(false));
    assert_eq!(groups.outcome(&g, 7).await.unwrap(), Some(true));
    assert_eq!(groups.outcome(&Uuid::now_v7().to_string(), 7).await.unwrap(), None, "by group");
    assert_eq!(change_applied(groups.as_ref(), &g, 5).await.unwrap(), Some(false));
    assert_eq!(change_applied(groups.as_ref(), &g, 6).await.unwrap(), None, "not passed, not recorded");
    let group = GroupRow {
        group_id: g.clone(),
        name: "climbing".into(),
        owner_id: "a".into(),
        owner_username: "name-a".into(),
        created_at_ms: 1,
        next_offset: 8,
    };
    let passed = GroupChange { group, put_members: Vec::new(), remove_members: Vec::new() };
    groups.apply_group_change(&passed).await.unwrap();
    assert_eq!(change_applied(groups.as_ref(), &g, 6).await.unwrap(), Some(true), "passed before outcomes were kept");
    assert_eq!(change_applied(groups.as_ref(), &g, 5).await.unwrap(), Some(false), "a recorded refusal stands");
    assert_eq!(change_applied(groups.as_ref(), &g, 8).await.unwrap(), None, "not reached yet");
}

fn attachment(conversation: &str, created_at_ms: i64) -> AttachmentRow {
    let attachment_id = Uuid::now_v7().to_string();
    AttachmentRow {
        upload_key: confab_readmodels::upload_key(&attachment_id),
        attachment_id,
        kind: "direct".into(),
        conversation_id: conversation.into(),
        recipient_id: Some("b".into()),
        uploader_id: "a".into(),
        uploader_username: "alice".into(),
        file_name: "sealed".into(),
        content_type: "image/png".into(),
        size: 3,
        declared_sha256: "ab".repeat(32),
        status: AttachmentStatus::Pending,
        reason: None,
        created_at_ms,
        expires_at_ms: created_at_ms + 1000,
        settled_at_ms: None,
        group_offset: u64::try_from(created_at_ms).ok(),
    }
}

async fn attachments(read_models: &ReadModels) {
    let attachments = &read_models.attachments;
    attachments.ping().await.unwrap();
    let c = Uuid::now_v7().to_string();
    let rows: Vec<AttachmentRow> = (1..=3).map(|at| attachment(&c, at)).collect();
    for row in &rows {
        attachments.put_requested(row).await.unwrap();
        attachments.put_requested(row).await.unwrap();
    }
    assert_eq!(attachments.attachment(&rows[0].attachment_id).await.unwrap(), Some(rows[0].clone()));
    assert!(attachments.conversation_attachments(&c, None, 10).await.unwrap().is_empty(), "none available yet");
    let ids = |page: Vec<AttachmentRow>| page.into_iter().map(|a| a.attachment_id).collect::<Vec<_>>();
    let pending_newest_first: Vec<String> = rows.iter().rev().map(|a| a.attachment_id.clone()).collect();
    assert_eq!(ids(attachments.pending_uploads("a", 10).await.unwrap()), pending_newest_first);
    assert_eq!(ids(attachments.pending_uploads("a", 2).await.unwrap()), pending_newest_first[..2]);
    assert!(attachments.pending_uploads("b", 10).await.unwrap().is_empty(), "pending by uploader");
    let settled = |row: &AttachmentRow, status| AttachmentRow { status, settled_at_ms: Some(7), ..row.clone() };
    for row in &rows {
        attachments.settle(&settled(row, AttachmentStatus::Available)).await.unwrap();
    }
    // The first verdict stands.
    attachments.settle(&settled(&rows[0], AttachmentStatus::Rejected)).await.unwrap();
    let stored = attachments.attachment(&rows[0].attachment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AttachmentStatus::Available);
    assert!(attachments.pending_uploads("a", 10).await.unwrap().is_empty(), "settled ones leave the index");
    let listed = |page: Vec<AttachmentRow>| page.into_iter().map(|a| a.attachment_id).collect::<Vec<_>>();
    let newest_first: Vec<String> = rows.iter().rev().map(|a| a.attachment_id.clone()).collect();
    assert_eq!(listed(attachments.conversation_attachments(&c, None, 10).await.unwrap()), newest_first);
    let before = Some(rows[2].attachment_id.as_str());
    assert_eq!(listed(attachments.conversation_attachments(&c, before, 1).await.unwrap()), newest_first[1..2]);

    // rows[0] is carried by two messages, rows[1] by one; rows[2] by none.
    let (first, second) = (rows[0].attachment_id.clone(), rows[1].attachment_id.clone());
    attachments.carry("m1", &[first.clone(), second.clone()]).await.unwrap();
    attachments.carry("m1", &[first.clone(), second.clone()]).await.unwrap();
    attachments.carry("m2", std::slice::from_ref(&first)).await.unwrap();
    let both = [first.clone(), second.clone()];
    assert_eq!(attachments.uncarry("m1", &both).await.unwrap(), vec![second.clone()], "m2 still carries the first");
    assert_eq!(attachments.uncarry("m1", &both).await.unwrap(), vec![second.clone()], "a repeat answers the same");
    assert_eq!(attachments.uncarry("m2", std::slice::from_ref(&first)).await.unwrap(), vec![first.clone()]);
    attachments.withdraw(&second).await.unwrap();
    attachments.withdraw(&second).await.unwrap();
    let stored = attachments.attachment(&second).await.unwrap().unwrap();
    assert_eq!(stored.status, AttachmentStatus::Withdrawn);
    assert_eq!(stored.settled_at_ms, Some(7), "the verdict's time stays");
    let newest_first_left = vec![rows[2].attachment_id.clone(), first.clone()];
    assert_eq!(listed(attachments.conversation_attachments(&c, None, 10).await.unwrap()), newest_first_left);
    // Only an available one is withdrawn: a pending one waits for its verification.
    let pending = attachment(&c, 4);
    attachments.put_requested(&pending).await.unwrap();
    attachments.withdraw(&pending.attachment_id).await.unwrap();
    let stored = attachments.attachment(&pending.attachment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AttachmentStatus::Pending);
    attachments.settle(&settled(&pending, AttachmentStatus::Withdrawn)).await.unwrap();
    let stored = attachments.attachment(&pending.attachment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AttachmentStatus::Withdrawn, "settled withdrawn by its verification");
    assert_eq!(listed(attachments.conversation_attachments(&c, None, 10).await.unwrap()), newest_first_left);
    attachments.withdraw("never-requested").await.unwrap();
}

/// Checkpoints exist only where projections run in other processes than the API: DynamoDB.
#[tokio::test]
async fn dynamodb_checkpoints_only_rise() {
    let Some((read_models, _)) = open(Adapter::Dynamodb, "checkpoints").await else { return };
    let checkpoints = read_models.checkpoints.as_ref().expect("dynamodb keeps checkpoints");
    let offsets = |next: u64| vec![("confab.messages".to_owned(), 0, next), ("confab.messages".to_owned(), 1, 2)];
    checkpoints.save_checkpoint("messages", &offsets(5)).await.unwrap();
    checkpoints.save_checkpoint("messages", &offsets(3)).await.unwrap();
    let saved = checkpoints.checkpoint("messages").await.unwrap();
    assert_eq!(saved.get(&("confab.messages".to_owned(), 0)), Some(&5));
    assert_eq!(saved.get(&("confab.messages".to_owned(), 1)), Some(&2));
    assert!(checkpoints.checkpoint("users").await.unwrap().is_empty());
}

fn block_mark(conversation: &str, seq: u64, blocker: &str, blocked: &str, on: bool) -> BlockMark {
    BlockMark {
        conversation_id: conversation.into(),
        seq,
        blocker_id: blocker.into(),
        blocked_id: format!("id-{blocked}"),
        blocked_username: blocked.into(),
        blocked: on,
        at_ms: i64::try_from(seq).unwrap(),
    }
}

async fn blocks(read_models: &ReadModels) {
    let blocks = &read_models.blocks;
    blocks.ping().await.unwrap();
    let marks = [
        block_mark("c1", 5, "u1", "bob", true),
        block_mark("c2", 3, "u1", "carol", true),
        block_mark("c3", 4, "u1", "dave", true),
        block_mark("c1", 9, "u1", "bob", false),
        block_mark("c1", 12, "u2", "alice", true),
    ];
    blocks.put_block_marks(&marks).await.unwrap();
    // Recorded again in the same order: nothing changes.
    blocks.put_block_marks(&marks).await.unwrap();
    let c1 = blocks.block_marks("c1").await.unwrap();
    assert_eq!(c1.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 9, 12], "oldest first");
    assert_eq!(c1[1], marks[3]);
    assert_eq!(BlockMark::standing(&c1, 7).map(|m| m.seq), Some(5));
    assert_eq!(BlockMark::standing(&c1, 10), None);
    assert_eq!(blocks.block_marks("c9").await.unwrap(), []);

    // The list: bob was unblocked, so u1 blocks carol and dave, by username.
    let listed: Vec<String> =
        blocks.blocked_users("u1", None, 10).await.unwrap().into_iter().map(|b| b.blocked_username).collect();
    assert_eq!(listed, ["carol", "dave"]);
    let first = &blocks.blocked_users("u1", None, 1).await.unwrap()[0];
    assert_eq!((first.blocked_id.as_str(), first.since_ms), ("id-carol", 3));
    let next = blocks.blocked_users("u1", Some("carol"), 10).await.unwrap();
    assert_eq!(next.iter().map(|b| b.blocked_username.as_str()).collect::<Vec<_>>(), ["dave"]);
    assert_eq!(blocks.blocked_users("u1", Some("dave"), 10).await.unwrap(), []);
    assert_eq!(blocks.blocked_users("u2", None, 10).await.unwrap().len(), 1);
    assert_eq!(blocks.blocked_users("u3", None, 10).await.unwrap(), []);

    // Blocked again after the lifting: back on the list, since the new block.
    blocks.put_block_marks(&[block_mark("c1", 20, "u1", "bob", true)]).await.unwrap();
    let bob = blocks.blocked_users("u1", None, 1).await.unwrap();
    assert_eq!((bob[0].blocked_username.as_str(), bob[0].since_ms), ("bob", 20));
}

fn target(user: &str, device: &str, session: &str, event: &str) -> PushTargetRow {
    PushTargetRow {
        user_id: user.into(),
        device_id: device.into(),
        session_id: session.into(),
        kind: if device == "hook" { "webhook" } else { "webpush" }.into(),
        endpoint: format!("v3.endpoint-{device}"),
        p256dh: (device != "hook").then(|| format!("v3.key-{device}")),
        auth: (device != "hook").then(|| format!("v3.auth-{device}")),
        previews: device == "phone",
        registered_at_ms: 10,
        event_id: event.into(),
    }
}

async fn push_targets_and_mutes(read_models: &ReadModels) {
    let push = &read_models.push;
    let devices = |rows: Vec<PushTargetRow>| rows.into_iter().map(|t| t.device_id).collect::<Vec<_>>();
    for t in [target("u1", "phone", "s1", "e1"), target("u1", "laptop", "s2", "e2"), target("u1", "hook", "s1", "e3")] {
        push.put_push_target(&t).await.unwrap();
    }
    push.put_push_target(&target("u2", "phone", "s9", "e4")).await.unwrap();
    let all = push.push_targets("u1").await.unwrap();
    assert_eq!(
        all,
        [target("u1", "hook", "s1", "e3"), target("u1", "laptop", "s2", "e2"), target("u1", "phone", "s1", "e1")]
    );
    // A new registration of a device replaces it; a removal naming the old one leaves it.
    push.put_push_target(&target("u1", "laptop", "s3", "e5")).await.unwrap();
    push.remove_push_target("u1", "laptop", Some("e2")).await.unwrap();
    assert_eq!(push.push_targets("u1").await.unwrap()[1], target("u1", "laptop", "s3", "e5"));
    push.remove_push_target("u1", "laptop", Some("e5")).await.unwrap();
    push.remove_push_target("u1", "nothing", None).await.unwrap();
    assert_eq!(devices(push.push_targets("u1").await.unwrap()), ["hook", "phone"]);
    // A session's end takes its devices; an account's end takes all.
    push.put_push_target(&target("u1", "tablet", "s4", "e6")).await.unwrap();
    push.remove_push_targets_of("u1", Some("s1")).await.unwrap();
    assert_eq!(devices(push.push_targets("u1").await.unwrap()), ["tablet"]);
    push.remove_push_target("u1", "tablet", None).await.unwrap();
    assert_eq!(push.push_targets("u1").await.unwrap(), []);
    push.remove_push_targets_of("u2", None).await.unwrap();
    assert_eq!(push.push_targets("u2").await.unwrap(), []);

    let mute = |place: &str, until_ms: Option<i64>, everything| MuteRow {
        user_id: "u1".into(),
        place_id: place.into(),
        kind: "group".into(),
        until_ms,
        everything,
        muted_at_ms: 5,
    };
    push.put_mute(&mute("g2", None, true)).await.unwrap();
    push.put_mute(&mute("g1", Some(100), false)).await.unwrap();
    push.put_mute(&mute("g1", Some(200), false)).await.unwrap();
    assert_eq!(push.mutes("u1").await.unwrap(), [mute("g1", Some(200), false), mute("g2", None, true)]);
    assert_eq!(push.mute("u1", "g2").await.unwrap(), Some(mute("g2", None, true)));
    assert_eq!(push.mute("u2", "g2").await.unwrap(), None);
    push.lift_mute("u1", "g2").await.unwrap();
    push.lift_mute("u1", "g3").await.unwrap();
    assert_eq!(push.mute("u1", "g2").await.unwrap(), None);
    assert_eq!(push.mutes("u1").await.unwrap(), [mute("g1", Some(200), false)]);
}
