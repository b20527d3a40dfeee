//! The use cases' rules, without HTTP: who may change a group, what a send must look like, and
//! that a refused command appends nothing. Real embedded log and read models in a temp dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use confab_eventlog::{EventLog, Position, embedded::EmbeddedLog};
use confab_objects::embedded::{AtRestKeys, EmbeddedObjects};
use confab_producers::{
    AttachmentLimits, AttachmentRequest, Caller, ChatError, DataKeys, DirectSend, EventPublisher, KeyScope, Keyring,
    Kind, Limits, MessageCommand, NewGroup, PasswordHasher, Projected, PushEndpoints, RateLimits, RateSpecs, TokenKeys,
    UseCases, topic_specs,
};
use confab_readmodels::{
    GroupChange, GroupMessageRow, GroupRole, GroupRow, KeyCache, LiveReadModels, MemberRow, MembershipMark, ReadModels,
    ReadModelsConfig, UserRow,
    embedded::{EmbeddedAnalytics, EmbeddedKeys},
};
use confab_schemas::Codec;

/// Nothing projects in these tests: the read models are written by hand.
struct NotProjected;

#[async_trait]
impl Projected for NotProjected {
    async fn wait(&self, _: &Position) -> bool {
        true
    }
}

struct World {
    use_cases: UseCases,
    log: Arc<dyn EventLog>,
    read_models: ReadModels,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(&dir.path().join("log.redb")).unwrap());
    log.ensure_topics(&topic_specs(2)).await.unwrap();
    let config = ReadModelsConfig::Embedded { dir: dir.path().to_owned(), generation: None };
    let read_models = ReadModels::open(&config).await.unwrap();
    let keys = AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [7; 32])]) };
    let objects = EmbeddedObjects::open(&dir.path().join("objects"), keys, [9; 32]).unwrap();
    objects.set_public_url("http://127.0.0.1:1");
    let keyring = Arc::new(Keyring::parse(&Keyring::generate_spec()).unwrap());
    let keys = EmbeddedKeys::open(&dir.path().join("keys.redb")).unwrap();
    let use_cases = UseCases {
        publisher: EventPublisher::new(Arc::clone(&log), Arc::new(Codec::new().unwrap())),
        read_models: LiveReadModels::new(read_models.clone()),
        keyring: Arc::clone(&keyring),
        data_keys: DataKeys::new(keyring, KeyCache::new(Arc::new(keys))),
        tokens: Arc::new(TokenKeys::new(b"secret", 60, 600)),
        objects: Arc::new(objects),
        projected: Arc::new(NotProjected),
        limits: Limits {
            group_member_limit: 3,
            edit_window_ms: 0,
            attachments: AttachmentLimits {
                max_bytes: 1000,
                upload_ttl: std::time::Duration::from_secs(60),
                download_ttl: std::time::Duration::from_secs(60),
                max_pending: 20,
                max_pending_bytes: 1 << 30,
            },
            user_search: true,
            push_endpoints: PushEndpoints { allow_private: false },
        },
        rate_limits: RateLimits::new(&RateSpecs::OFF),
        passwords: PasswordHasher::new(1, 4).unwrap(),
        analytics: Arc::new(EmbeddedAnalytics::open(&dir.path().join("analytics.redb")).unwrap()),
        admins: std::collections::HashSet::new(),
    };
    World { use_cases, log, read_models, _dir: dir }
}

/// The user id of the test user `name` (events carry UUIDs).
fn uid(name: &str) -> String {
    let n = name.bytes().next().map_or(0, u128::from);
    uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n).to_string()
}

fn caller(name: &str) -> Caller {
    Caller { sub: uid(name), name: format!("name-{name}"), sid: uid("session"), iat: 0, exp: i64::MAX }
}

const GROUP: &str = "0190f0c4-1b2c-7d3e-8f40-5a6b7c8d9e0f";

/// A group where `a` is the admin and `b` a member; users `a`, `b`, `c` exist.
async fn with_group(world: &World) {
    let users: Vec<UserRow> = ["a", "b", "c"]
        .iter()
        .map(|id| UserRow {
            user_id: uid(id),
            username: format!("name-{id}"),
            password_hash: String::new(),
            registered_at_ms: 0,
            profile: Default::default(),
            deleted_at_ms: None,
        })
        .collect();
    world.read_models.users.put_users(&users).await.unwrap();
    let member = |user: &str, role, index| MemberRow {
        group_id: GROUP.into(),
        user_id: uid(user),
        username: format!("name-{user}"),
        role,
        joined_at_ms: 0,
        seniority: MemberRow::seniority(0, index),
        history_after: None,
        added_by: None,
    };
    let group = GroupRow {
        group_id: GROUP.into(),
        name: "climbing".into(),
        owner_id: uid("a"),
        owner_username: "name-a".into(),
        created_at_ms: 0,
        next_offset: 1,
    };
    let change = GroupChange {
        group,
        put_members: vec![member("a", GroupRole::Admin, 0), member("b", GroupRole::Member, 1)],
        remove_members: Vec::new(),
    };
    world.read_models.groups.apply_group_change(&change).await.unwrap();
}

/// Everything appended to the log so far.
async fn appended(world: &World) -> u64 {
    let mut total = 0;
    for spec in topic_specs(2) {
        total += world.log.end_offsets(&spec.name).await.unwrap().iter().sum::<u64>();
    }
    total
}

fn refusal(result: Result<impl std::fmt::Debug, ChatError>) -> (Kind, &'static str) {
    let error = result.expect_err("refused");
    (error.kind(), error.code())
}

#[tokio::test]
async fn only_admins_change_a_group_and_members_may_leave() {
    let world = world().await;
    with_group(&world).await;
    let cases = &world.use_cases;
    let (a, b, c) = (caller("a"), caller("b"), caller("c"));
    assert_eq!(refusal(cases.rename_group(&b, GROUP, "x").await), (Kind::Forbidden, "not_an_admin"));
    assert_eq!(refusal(cases.add_member(&b, GROUP, "name-c").await), (Kind::Forbidden, "not_an_admin"));
    assert_eq!(refusal(cases.add_member(&c, GROUP, "name-c").await), (Kind::Forbidden, "not_a_member"));
    assert_eq!(refusal(cases.remove_member(&b, GROUP, "name-a").await), (Kind::Forbidden, "not_an_admin"));
    assert_eq!(refusal(cases.set_role(&a, GROUP, "name-a", "member").await), (Kind::Conflict, "last_admin"));
    assert_eq!(refusal(cases.set_role(&a, GROUP, "name-c", "admin").await), (Kind::NotFound, "member_not_found"));
    assert_eq!(refusal(cases.set_role(&a, GROUP, "name-b", "owner").await), (Kind::Invalid, "invalid_role"));
    assert_eq!(refusal(cases.rename_group(&a, "not-a-group", "x").await), (Kind::NotFound, "group_not_found"));
    assert_eq!(refusal(cases.add_member(&a, GROUP, "nobody").await), (Kind::NotFound, "user_not_found"));
    assert_eq!(appended(&world).await, 0, "a refusal appends nothing");

    cases.remove_member(&b, GROUP, "name-b").await.unwrap();
    let _ = cases.rename_group(&a, GROUP, " bouldering ").await.unwrap();
    assert_eq!(appended(&world).await, 2, "leaving and renaming are one event each");
    // The read models are written by hand here, so adding an existing member stays a no-op.
    assert_eq!(cases.add_member(&a, GROUP, "name-b").await.unwrap(), GROUP);
    assert_eq!(appended(&world).await, 2);
}

#[tokio::test]
async fn groups_are_bounded_and_need_existing_members() {
    let world = world().await;
    with_group(&world).await;
    let a = caller("a");
    let too_many = NewGroup { name: "big".into(), members: vec!["x".into(), "y".into(), "z".into()] };
    assert_eq!(refusal(world.use_cases.create_group(&a, too_many).await), (Kind::Invalid, "too_many_members"));
    let unknown = NewGroup { name: "g".into(), members: vec!["name-b".into(), "ghost".into()] };
    assert_eq!(refusal(world.use_cases.create_group(&a, unknown).await), (Kind::NotFound, "users_not_found"));
    let created = world.use_cases.create_group(&a, NewGroup { name: "g".into(), members: vec!["name-b".into()] });
    let change = created.await.unwrap();
    let roles: Vec<_> = change.put_members.iter().map(|m| (m.user_id.clone(), m.role)).collect();
    assert_eq!(roles, [(uid("a"), GroupRole::Admin), (uid("b"), GroupRole::Member)]);
    assert_eq!(appended(&world).await, 1);
}

#[tokio::test]
async fn sends_are_checked_before_anything_is_appended() {
    let world = world().await;
    with_group(&world).await;
    let (a, c) = (caller("a"), caller("c"));
    let text = |t: &str| MessageCommand { message: Some(t.into()), ..MessageCommand::default() };
    let to = |recipient: &str, message| DirectSend { recipient: recipient.into(), message };
    assert_eq!(
        refusal(world.use_cases.send_direct(&a, to("ghost", text("hi"))).await),
        (Kind::NotFound, "recipient_not_found")
    );
    assert_eq!(
        refusal(world.use_cases.send_direct(&a, to("name-b", text(" "))).await),
        (Kind::Invalid, "empty_message")
    );
    let foreign = MessageCommand { attachments: vec!["not-an-id".into()], ..text("hi") };
    assert_eq!(
        refusal(world.use_cases.send_direct(&a, to("name-b", foreign)).await),
        (Kind::Invalid, "invalid_attachment")
    );
    assert_eq!(refusal(world.use_cases.send_group(&c, GROUP, text("hi")).await), (Kind::Forbidden, "not_a_member"));
    assert_eq!(appended(&world).await, 0);

    // The same client message id answers the first send, and appends once.
    let keyed = MessageCommand { client_message_id: Some("k1".into()), ..text("hi") };
    let first = world.use_cases.send_direct(&a, to("name-b", keyed.clone())).await.unwrap();
    let again = world.use_cases.send_direct(&a, to("name-b", keyed.clone())).await.unwrap();
    assert_eq!(first.message_id, again.message_id);
    assert_eq!(
        refusal(world.use_cases.send_direct(&a, to("name-c", keyed)).await),
        (Kind::Conflict, "client_message_id_reused")
    );
    assert_eq!(appended(&world).await, 1);
}

#[tokio::test]
async fn attachments_are_declared_within_the_limits_to_a_place_the_caller_may_write() {
    let world = world().await;
    with_group(&world).await;
    let (a, c) = (caller("a"), caller("c"));
    let request = |size, group_id: Option<&str>, recipient: Option<&str>| AttachmentRequest {
        file_name: "boulder.jpg".into(),
        content_type: "image/jpeg".into(),
        size,
        sha256: "ab".repeat(32),
        recipient: recipient.map(str::to_owned),
        group_id: group_id.map(str::to_owned),
        avatar: false,
    };
    let cases = &world.use_cases;
    assert_eq!(
        refusal(cases.request_attachment(&a, request(1001, Some(GROUP), None)).await),
        (Kind::Invalid, "invalid_size")
    );
    assert_eq!(refusal(cases.request_attachment(&a, request(10, None, None)).await), (Kind::Invalid, "invalid_target"));
    assert_eq!(
        refusal(cases.request_attachment(&c, request(10, Some(GROUP), None)).await),
        (Kind::Forbidden, "not_a_member")
    );
    assert_eq!(
        refusal(cases.request_attachment(&a, request(10, None, Some("ghost"))).await),
        (Kind::NotFound, "recipient_not_found")
    );
    assert_eq!(appended(&world).await, 0);
    let ticket = cases.request_attachment(&a, request(10, None, Some("name-b"))).await.unwrap();
    assert!(ticket.upload.url.contains(&ticket.attachment_id));
    assert_eq!(appended(&world).await, 1);
}

/// The read side's rules, on rows written by hand: a member added late reads the group from
/// their mark on, in history and in what a resume sends; a cursor of another list, or of a
/// message the group does not hold, names nothing (404), and a malformed one is a 400.
#[tokio::test]
async fn a_late_member_reads_from_their_mark_and_cursors_belong_to_their_list() {
    let world = world().await;
    with_group(&world).await;
    let late = MemberRow {
        group_id: GROUP.into(),
        user_id: uid("c"),
        username: "name-c".into(),
        role: GroupRole::Member,
        joined_at_ms: 0,
        seniority: MemberRow::seniority(1, 0),
        history_after: None,
        added_by: Some("add-c".into()),
    };
    let group = world.read_models.groups.group(GROUP).await.unwrap().unwrap();
    let added = GroupChange { group, put_members: vec![late], remove_members: Vec::new() };
    world.read_models.groups.apply_group_change(&added).await.unwrap();
    let message = |seq: u64| {
        let message_id = uuid::Uuid::now_v7().to_string();
        let content =
            world.use_cases.keyring.seal(KeyScope::Group(GROUP), format!("m{seq}").as_bytes(), message_id.as_bytes());
        GroupMessageRow {
            group_id: GROUP.into(),
            seq,
            ordinal: 0,
            message_id,
            sender_id: uid("a"),
            sender_username: "name-a".into(),
            content: content.unwrap(),
            sent_at_ms: i64::try_from(seq).unwrap(),
            client_message_id: None,
            attachments: Vec::new(),
            reply_to: None,
            mentions: Vec::new(),
            lifecycle: Default::default(),
        }
    };
    let rows: Vec<GroupMessageRow> = (1..=5).map(message).collect();
    world.read_models.messages.put_group_messages(&rows).await.unwrap();
    let mark = MembershipMark {
        group_id: GROUP.into(),
        user_id: uid("c"),
        seq: 3,
        member: true,
        change_event_id: Some("add-c".into()),
    };
    world.read_models.messages.put_membership_marks(&[mark]).await.unwrap();

    let contents = |page: confab_producers::GroupHistory| -> Vec<String> {
        page.messages.into_iter().map(|(m, _)| m.content).collect()
    };
    let of_c = world.use_cases.group_history(&caller("c"), GROUP, None, 50).await.unwrap();
    assert_eq!(contents(of_c), ["m4", "m5"], "from the mark on");
    let of_b = world.use_cases.group_history(&caller("b"), GROUP, None, 50).await.unwrap();
    assert_eq!(contents(of_b), ["m1", "m2", "m3", "m4", "m5"], "a member from the start sees it all");
    let bounds = confab_producers::ResumeBounds { max_messages: 100, max_bytes: 1 << 20 };
    let mut missed = world.use_cases.missed_messages(&uid("c"), &[0, 0], &[100, 100], bounds).await.unwrap().unwrap();
    let mut seqs = Vec::new();
    while let Some((_, message)) = missed.next(&world.use_cases).await.unwrap() {
        seqs.push(message.seq());
    }
    assert_eq!(seqs, [4, 5], "a resume sends what history shows, in log order");

    let history = |before: String| {
        let use_cases = &world.use_cases;
        async move { use_cases.group_history(&caller("b"), GROUP, Some(&before), 50).await }
    };
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(refusal(history(unknown.to_string()).await), (Kind::NotFound, "invalid_cursor"));
    assert_eq!(refusal(history(format!("{unknown}.{unknown}")).await), (Kind::NotFound, "invalid_cursor"));
    assert_eq!(refusal(history("not-a-cursor".into()).await), (Kind::Invalid, "invalid_cursor"));
    let list = world.use_cases.conversation_list(&caller("b"), Some(&unknown.to_string()), 50).await;
    assert_eq!(refusal(list), (Kind::NotFound, "invalid_cursor"), "a history's cursor in the list");
}

#[tokio::test]
async fn a_resume_streams_each_partition_in_log_order_within_its_bounds() {
    let world = world().await;
    // Five peers' conversations with "c", spread over the two partitions, their messages
    // interleaved in time and in each partition's offsets.
    let peers = ["a", "b", "d", "e", "f"];
    let partitions = 2;
    let mut next_seq = [0u64; 2];
    let mut rows = Vec::new();
    for round in 0..20 {
        for peer in peers {
            let conversation_id = confab_producers::conversation_id(&uid(peer), &uid("c")).to_string();
            let partition = confab_eventlog::partition_for_key(conversation_id.as_bytes(), partitions) as usize;
            let seq = next_seq[partition];
            next_seq[partition] += 1;
            let message_id = uuid::Uuid::now_v7().to_string();
            let text = format!("{peer}{round}:{}", "x".repeat(10_000));
            let content = world.use_cases.keyring.seal(
                KeyScope::Conversation(&conversation_id),
                text.as_bytes(),
                message_id.as_bytes(),
            );
            rows.push(confab_readmodels::MessageRow {
                message_id,
                conversation_id,
                seq,
                ordinal: 0,
                sender_id: uid(peer),
                sender_username: format!("name-{peer}"),
                recipient_id: uid("c"),
                recipient_username: "name-c".into(),
                content: content.unwrap(),
                sent_at_ms: i64::from(round) * 10 + i64::try_from(seq).unwrap(),
                client_message_id: None,
                attachments: Vec::new(),
                reply_to: None,
                lifecycle: Default::default(),
            });
        }
    }
    world.read_models.messages.put_messages(&rows).await.unwrap();

    let until = next_seq.to_vec();
    let roomy = confab_producers::ResumeBounds { max_messages: 100, max_bytes: 10 << 20 };
    let mut missed = world.use_cases.missed_messages(&uid("c"), &[0, 0], &until, roomy).await.unwrap().unwrap();
    assert_eq!(missed.len(), 100);
    let mut last = [None::<u64>; 2];
    let mut count = 0;
    while let Some((partition, message)) = missed.next(&world.use_cases).await.unwrap() {
        let at = partition as usize;
        assert!(last[at].is_none_or(|before| before < message.seq()), "partition {partition} out of order");
        last[at] = Some(message.seq());
        count += 1;
    }
    assert_eq!(count, 100, "every missed message, once");

    // From a later cursor, only what follows it.
    let since = [next_seq[0] - 3, next_seq[1] - 2];
    let later = world.use_cases.missed_messages(&uid("c"), &since, &until, roomy).await.unwrap().unwrap();
    assert_eq!(later.len(), 5);

    // Over either bound: None, and the client pages the history.
    let few = confab_producers::ResumeBounds { max_messages: 99, max_bytes: 10 << 20 };
    assert!(world.use_cases.missed_messages(&uid("c"), &[0, 0], &until, few).await.unwrap().is_none());
    let small = confab_producers::ResumeBounds { max_messages: 100, max_bytes: 500_000 };
    assert!(world.use_cases.missed_messages(&uid("c"), &[0, 0], &until, small).await.unwrap().is_none());
}

#[tokio::test]
async fn message_content_opens_only_in_the_context_it_was_sent_in() {
    let world = world().await;
    with_group(&world).await;
    let text = MessageCommand { message: Some("the real one".into()), ..MessageCommand::default() };
    let _ = world
        .use_cases
        .send_direct(&caller("a"), DirectSend { recipient: "name-b".into(), message: text })
        .await
        .unwrap();
    // The event as it is on the log, turned into the row the messages projection would write.
    let messages = confab_schemas::Topic::Messages.name().to_owned();
    let mut reader =
        world.log.read_from(&[confab_eventlog::ReadStart { topic: messages, offsets: vec![0, 0] }]).await.unwrap();
    let records = reader.poll(10, std::time::Duration::from_secs(5)).await.unwrap();
    let codec = Codec::new().unwrap();
    let Ok(confab_schemas::Event::DirectMessageSent(sent)) = codec.decode(&records[0].record.value) else {
        panic!("not a direct message")
    };
    let p = sent.payload;
    let row = confab_readmodels::MessageRow {
        message_id: p.message_id,
        conversation_id: p.conversation_id,
        seq: 0,
        ordinal: 0,
        sender_id: p.sender_id,
        sender_username: p.sender_username,
        recipient_id: p.recipient_id,
        recipient_username: p.recipient_username,
        content: p.content,
        sent_at_ms: 0,
        client_message_id: None,
        attachments: p.attachments,
        reply_to: None,
        lifecycle: Default::default(),
    };
    let opener = world.use_cases.opener();
    let opened = opener.direct(row.clone()).await.unwrap();
    assert_eq!((opened.content.as_str(), opened.deleted), ("the real one", false));

    // A forged event reusing the ciphertext as someone else's, or with an attachment added.
    let as_c = confab_readmodels::MessageRow { sender_id: uid("c"), sender_username: "name-c".into(), ..row.clone() };
    // c has no key in the conversation: the message shows as deleted, as an erased sender's.
    let as_c = opener.direct(as_c).await.unwrap();
    assert!(as_c.deleted && as_c.content.is_empty(), "a changed sender opened");
    let as_b = confab_readmodels::MessageRow { recipient_id: uid("c"), ..row.clone() };
    assert!(opener.direct(as_b).await.is_err(), "a changed recipient opened");
    let attachment = confab_schemas::AttachmentRef {
        attachment_id: uuid::Uuid::now_v7().to_string(),
        file_name: row.content.clone(),
        content_type: "image/png".into(),
        size: 1,
        sha256: "00".repeat(32),
    };
    let with_file = confab_readmodels::MessageRow { attachments: vec![attachment], ..row.clone() };
    assert!(opener.direct(with_file).await.is_err(), "a changed attachment list opened");

    // Content sealed before the binding (the message id as associated data) still opens.
    let old = world
        .use_cases
        .keyring
        .seal(KeyScope::Conversation(&row.conversation_id), b"sealed long ago", row.message_id.as_bytes())
        .unwrap();
    let old_row = confab_readmodels::MessageRow { content: old, ..row };
    assert_eq!(opener.direct(old_row).await.unwrap().content, "sealed long ago");
}
