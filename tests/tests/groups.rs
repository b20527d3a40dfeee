//! Group chat through HTTP: creation, membership and its permissions, history from join time,
//! one order for every member, concurrent admins, and a 1,000-member group.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use confab_e2e::{Backend, Client, Deployment, User, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn member_names(group: &Value) -> Vec<(String, String)> {
    group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect()
}

fn pair(name: &str, role: &str) -> (String, String) {
    (name.to_owned(), role.to_owned())
}

async fn create_validates_its_input_and_answers_with_the_group(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_GROUP_MEMBER_LIMIT", "4");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    for name in ["bob", "carol", "dave", "erin"] {
        let _ = client.user(name).await;
    }

    for bad in ["", "   ", &"x".repeat(101)] {
        let reply = client.create_group(&alice, bad, &["bob"]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply.error_code(), "invalid_group_name");
    }
    let unknown = client.create_group(&alice, "climbing", &["bob", "nobody", "ghost"]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "users_not_found");
    let message = unknown.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("nobody") && message.contains("ghost") && !message.contains("bob"), "{message}");
    let too_many = client.create_group(&alice, "climbing", &["bob", "carol", "dave", "erin"]).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_many.error_code(), "too_many_members");
    let missing = client.post("/groups/create", Some(&alice.token), json!({ "name": "climbing" })).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let anonymous = client.post("/groups/create", None, json!({ "name": "climbing", "members": [] })).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // None of the refused requests made a group.
    let mine = client.get("/groups", Some(&alice.token)).await;
    assert_eq!(mine.body, json!({ "groups": [] }));

    // Duplicates, case and the creator in the list are all folded away; the limit counts the
    // creator, so three others fit.
    let created = client.create_group(&alice, "  climbing  ", &["bob", "BOB", "alice", "carol", "dave", "carol"]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let group = &created.body;
    assert_eq!(group["name"], "climbing");
    assert_eq!(group["owner"], "alice");
    assert_eq!(group["ownerId"], alice.id.as_str());
    assert_eq!(
        member_names(group),
        [pair("alice", "admin"), pair("bob", "member"), pair("carol", "member"), pair("dave", "member")]
    );
    assert_eq!(uuid::Uuid::parse_str(group["groupId"].as_str().unwrap()).unwrap().get_version_num(), 7);
    assert_eq!(group["members"][1]["joinedAt"], group["createdAt"]);
    let fetched = client.get(&format!("/groups/{}", group["groupId"].as_str().unwrap()), Some(&alice.token)).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.body, group);
}

async fn strangers_get_403_unknown_groups_404_and_members_only_what_their_role_allows(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let mallory = client.user("mallory").await;
    let group = client.group(&alice, "climbing", &["bob"]).await;

    let unknown = uuid::Uuid::now_v7().to_string();
    for (id, status, code) in [
        (group.as_str(), StatusCode::FORBIDDEN, "not_a_member"),
        (unknown.as_str(), StatusCode::NOT_FOUND, "group_not_found"),
        ("not-a-group-id", StatusCode::NOT_FOUND, "group_not_found"),
    ] {
        let t = Some(mallory.token.as_str());
        let replies = [
            client.get(&format!("/groups/{id}"), t).await,
            client.get(&format!("/groups/{id}/messages"), t).await,
            client.group_send(&mallory, id, "let me in").await,
            client.add_member(&mallory, id, "mallory").await,
            client.patch(&format!("/groups/{id}"), t, json!({ "name": "mine" })).await,
            client.put(&format!("/groups/{id}/members/mallory/role"), t, json!({ "role": "admin" })).await,
            client.delete(&format!("/groups/{id}/members/bob"), t).await,
        ];
        for reply in replies {
            assert_eq!(reply.status, status, "{id}: {}", reply.body);
            assert_eq!(reply.error_code(), code);
        }
    }
    assert_eq!(client.get(&format!("/groups/{group}"), None).await.status, StatusCode::UNAUTHORIZED);

    // A plain member may send, read and leave, but not manage.
    assert_eq!(client.group_send(&bob, &group, "hi").await.status, StatusCode::OK);
    let t = Some(bob.token.as_str());
    for reply in [
        client.add_member(&bob, &group, "mallory").await,
        client.patch(&format!("/groups/{group}"), t, json!({ "name": "bob's" })).await,
        client.put(&format!("/groups/{group}/members/bob/role"), t, json!({ "role": "admin" })).await,
        client.delete(&format!("/groups/{group}/members/alice"), t).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert_eq!(reply.error_code(), "not_an_admin");
    }
    let nobody = client.add_member(&alice, &group, "nobody").await;
    assert_eq!((nobody.status, nobody.error_code()), (StatusCode::NOT_FOUND, "user_not_found"));
    let outsider = client.delete(&format!("/groups/{group}/members/mallory"), Some(&alice.token)).await;
    assert_eq!((outsider.status, outsider.error_code()), (StatusCode::NOT_FOUND, "member_not_found"));
    let role = client.set_role(&alice, &group, "bob", "owner").await;
    assert_eq!((role.status, role.error_code()), (StatusCode::BAD_REQUEST, "invalid_role"));
}

async fn every_member_sees_one_order_the_order_of_the_log(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let carol = client.user("carol").await;
    let group = client.group(&alice, "climbing", &["bob", "carol"]).await;

    // Three members send at once, so the log's order is not the order of any one client.
    let senders = [&alice, &bob, &carol].map(|user| {
        let (client, user, group) = (client.clone(), user.clone(), group.clone());
        tokio::spawn(async move {
            for i in 0..15 {
                let reply = client.group_send(&user, &group, &format!("{} #{i}", user.username)).await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                assert_eq!(reply.body["groupId"], group.as_str());
            }
        })
    });
    for sender in senders {
        sender.await.unwrap();
    }
    // Receipt counts are the sender's view; the rest is the same for everyone.
    let shared = |history: Vec<Value>| -> Vec<Value> {
        history
            .into_iter()
            .map(|mut m| {
                let fields = m.as_object_mut().unwrap();
                let _ = (fields.remove("deliveredCount"), fields.remove("readCount"));
                m
            })
            .collect()
    };
    let seen: Vec<Vec<Value>> = vec![
        shared(client.group_history(&alice, &group).await),
        shared(client.group_history(&bob, &group).await),
        shared(client.group_history(&carol, &group).await),
    ];
    assert_eq!(seen[0].len(), 45);
    assert!(seen.iter().all(|history| history == &seen[0]), "members disagree on the order");
    let message = &seen[0][0];
    assert_eq!(message["groupId"], group.as_str());
    assert!(message["sender"].is_string() && message["senderId"].is_string() && message["timestamp"].is_string());
    assert!(message.get("recipient").is_none());
    // Each sender's own messages keep the order they were sent in.
    for user in ["alice", "bob", "carol"] {
        let own: Vec<&str> =
            seen[0].iter().filter(|m| m["sender"] == user).map(|m| m["content"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..15).map(|i| format!("{user} #{i}")).collect();
        assert_eq!(own, expected);
    }
    // Small pages stitch into the same history.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = client.get(&format!("/groups/{group}/messages?limit=7{cursor}"), Some(&bob.token)).await;
        assert_eq!(page.status, StatusCode::OK);
        let _ = paged.splice(0..0, page.body["messages"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = format!("&before={next}"),
            None => break,
        }
    }
    assert_eq!(shared(paged), seen[0]);
    let path = format!("/groups/{group}/messages?before={}", uuid::Uuid::now_v7());
    assert_eq!(client.get(&path, Some(&bob.token)).await.error_code(), "invalid_cursor");

    server.stop();
    let logged: Vec<String> = deployment
        .events("confab.messages")
        .iter()
        .filter(|e| e["key"] == group.as_str())
        .map(|e| {
            let content = e["event"]["payload"]["content"].as_str().unwrap();
            assert!(content.starts_with("v3.") && !content.contains(" #"), "group content is sealed on the log");
            e["event"]["payload"]["messageId"].as_str().unwrap().to_owned()
        })
        .collect();
    let shown: Vec<String> = seen[0].iter().map(|m| m["messageId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(shown, logged, "history order is the log's order");
}

async fn history_starts_at_joining_and_ends_at_leaving(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let carol = client.user("carol").await;
    let dave = client.user("dave").await;
    let group = client.group(&alice, "climbing", &["bob"]).await;
    for text in ["before carol 1", "before carol 2"] {
        assert_eq!(client.group_send(&alice, &group, text).await.status, StatusCode::OK);
    }

    // Right after add-member returns, the new member can read and send.
    let added = client.add_member(&alice, &group, "carol").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(member_names(&added.body).contains(&pair("carol", "member")));
    assert_eq!(client.group_contents(&carol, &group).await, Vec::<String>::new());
    assert_eq!(client.group_send(&carol, &group, "carol here").await.status, StatusCode::OK);
    assert_eq!(client.group_send(&bob, &group, "welcome carol").await.status, StatusCode::OK);
    assert_eq!(client.group_contents(&carol, &group).await, ["carol here", "welcome carol"]);
    assert_eq!(
        client.group_contents(&bob, &group).await,
        ["before carol 1", "before carol 2", "carol here", "welcome carol"]
    );
    let listed = client.get("/groups", Some(&carol.token)).await;
    assert_eq!(listed.body["groups"][0]["lastMessage"]["content"], "welcome carol");

    // Removed: nothing new, and the group's endpoints answer 403.
    let removed = client.delete(&format!("/groups/{group}/members/carol"), Some(&alice.token)).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(client.group_send(&alice, &group, "carol is gone").await.status, StatusCode::OK);
    for reply in [
        client.get(&format!("/groups/{group}/messages"), Some(&carol.token)).await,
        client.get(&format!("/groups/{group}"), Some(&carol.token)).await,
        client.group_send(&carol, &group, "still here?").await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    }
    assert_eq!(client.get("/groups", Some(&carol.token)).await.body, json!({ "groups": [] }));

    // Leaving is removing yourself.
    let left = client.delete(&format!("/groups/{group}/members/bob"), Some(&bob.token)).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    assert_eq!(client.group_send(&bob, &group, "bye").await.status, StatusCode::FORBIDDEN);

    // Added again, carol starts over from now; a newcomer added in the same breath too.
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    assert_eq!(client.add_member(&alice, &group, "dave").await.status, StatusCode::OK);
    assert_eq!(client.group_contents(&carol, &group).await, Vec::<String>::new());
    assert_eq!(client.group_send(&dave, &group, "dave here").await.status, StatusCode::OK);
    assert_eq!(client.group_contents(&carol, &group).await, ["dave here"]);
    assert_eq!(client.group_contents(&dave, &group).await, ["dave here"]);
    let group_view = client.get(&format!("/groups/{group}"), Some(&dave.token)).await;
    assert_eq!(
        member_names(&group_view.body),
        [pair("alice", "admin"), pair("carol", "member"), pair("dave", "member")]
    );
}

async fn the_last_admin_leaving_promotes_the_longest_standing_member(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let carol = client.user("carol").await;
    let _dave = client.user("dave").await;
    let group = client.group(&alice, "climbing", &["bob", "carol"]).await;
    assert_eq!(client.add_member(&alice, &group, "dave").await.status, StatusCode::OK);

    let left = client.delete(&format!("/groups/{group}/members/alice"), Some(&alice.token)).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    let view = client.get(&format!("/groups/{group}"), Some(&bob.token)).await;
    assert_eq!(
        member_names(&view.body),
        [pair("bob", "admin"), pair("carol", "member"), pair("dave", "member")],
        "bob has stood longest"
    );

    // The new admin manages: promotes carol, who demotes bob; the only admin cannot step down.
    assert_eq!(client.set_role(&bob, &group, "carol", "admin").await.status, StatusCode::OK);
    let demoted = client.set_role(&carol, &group, "bob", "member").await;
    assert_eq!(demoted.status, StatusCode::OK);
    assert_eq!(member_names(&demoted.body)[0], pair("bob", "member"));
    let alone = client.set_role(&carol, &group, "carol", "member").await;
    assert_eq!((alone.status, alone.error_code()), (StatusCode::CONFLICT, "last_admin"));
    let renamed = client.patch(&format!("/groups/{group}"), Some(&carol.token), json!({ "name": "bouldering" })).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.body["name"], "bouldering");
}

async fn adding_twice_is_one_member_and_the_group_list_follows_activity(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let first = client.group(&alice, "first", &[]).await;
    let second = client.group(&alice, "second", &[]).await;
    for _ in 0..2 {
        let added = client.add_member(&alice, &first, "bob").await;
        assert_eq!(added.status, StatusCode::OK);
        assert_eq!(member_names(&added.body), [pair("alice", "admin"), pair("bob", "member")]);
    }

    let names = |reply: Value| -> Vec<String> {
        reply["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(client.get("/groups", Some(&alice.token)).await.body), ["second", "first"]);
    assert_eq!(client.group_send(&alice, &first, "first is busy").await.status, StatusCode::OK);
    let listed = client.get("/groups", Some(&alice.token)).await.body;
    assert_eq!(names(listed.clone()), ["first", "second"]);
    assert_eq!(listed["groups"][0]["lastMessage"]["content"], "first is busy");
    assert_eq!(listed["groups"][0]["role"], "admin");
    assert!(listed["groups"][1].get("lastMessage").is_none());

    // Idempotent sends: a retry returns the first message; the key is the sender's, per group.
    let body = json!({ "message": "once", "clientMessageId": "c-1" });
    let once = client.post(&format!("/groups/{first}/send"), Some(&alice.token), body.clone()).await;
    let again = client.post(&format!("/groups/{first}/send"), Some(&alice.token), body.clone()).await;
    assert_eq!(once.body, again.body);
    let elsewhere = client.post(&format!("/groups/{second}/send"), Some(&alice.token), body).await;
    assert_eq!((elsewhere.status, elsewhere.error_code()), (StatusCode::CONFLICT, "client_message_id_reused"));
    assert_eq!(client.group_contents(&alice, &first).await, ["first is busy", "once"]);

    server.stop();
    let additions = deployment
        .events("confab.groups")
        .into_iter()
        .filter(|e| e["type"] == "io.confab.events.GroupMemberAdded")
        .count();
    assert_eq!(additions, 1, "the second add appends nothing");
}

async fn two_admins_changing_members_at_once_lose_no_update(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let names: Vec<String> = (0..16).map(|i| format!("user{i:02}")).collect();
    client.register_many(&names).await;
    let initial: Vec<&str> = names[8..].iter().map(String::as_str).collect();
    let group = client.group(&alice, "busy", &[&["bob"], initial.as_slice()].concat()).await;
    assert_eq!(client.set_role(&alice, &group, "bob", "admin").await.status, StatusCode::OK);

    // alice adds user00-03 and removes user08-11 while bob adds user04-07 and removes user12-15.
    let work = |admin: User, adds: Vec<String>, removes: Vec<String>| {
        let (client, group) = (client.clone(), group.clone());
        tokio::spawn(async move {
            for (add, remove) in adds.iter().zip(&removes) {
                assert_eq!(client.add_member(&admin, &group, add).await.status, StatusCode::OK);
                let path = format!("/groups/{group}/members/{remove}");
                assert_eq!(client.delete(&path, Some(&admin.token)).await.status, StatusCode::NO_CONTENT);
            }
        })
    };
    let a = work(alice.clone(), names[0..4].to_vec(), names[8..12].to_vec());
    let b = work(bob.clone(), names[4..8].to_vec(), names[12..16].to_vec());
    a.await.unwrap();
    b.await.unwrap();

    let view = client.get(&format!("/groups/{group}"), Some(&alice.token)).await;
    let members: BTreeSet<String> = member_names(&view.body).into_iter().map(|(name, _)| name).collect();
    let expected: BTreeSet<String> =
        ["alice", "bob"].into_iter().map(str::to_owned).chain(names[0..8].iter().cloned()).collect();
    assert_eq!(members, expected);
}

/// Two admins filling the last place at once: one addition is taken and the other is refused
/// with 409, whichever reached the log second, and the group never passes its limit.
async fn the_last_place_goes_to_one_of_two_admins_adding_at_once(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_GROUP_MEMBER_LIMIT", "3");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let names: Vec<String> = (0..6).map(|i| format!("joiner{i}")).collect();
    client.register_many(&names).await;
    for pair in names.chunks(2) {
        let group = client.group(&alice, "one place left", &["bob"]).await;
        assert_eq!(client.set_role(&alice, &group, "bob", "admin").await.status, StatusCode::OK);
        let (first, second) =
            tokio::join!(client.add_member(&alice, &group, &pair[0]), client.add_member(&bob, &group, &pair[1]));
        let mut statuses = [first.status, second.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", first.body, second.body);
        let refused = if first.status == StatusCode::CONFLICT { &first } else { &second };
        assert_eq!(refused.error_code(), "group_full");
        let view = client.get(&format!("/groups/{group}"), Some(&alice.token)).await;
        let members: Vec<String> = member_names(&view.body).into_iter().map(|(name, _)| name).collect();
        let taken = if first.status == StatusCode::OK { &pair[0] } else { &pair[1] };
        assert_eq!(members, ["alice", "bob", taken.as_str()]);
    }
}

async fn a_thousand_member_group_is_created_and_messaged(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    // Projecting a thousand members into the test DynamoDB (one Node.js process) takes seconds on
    // a busy machine: the create waits for it as long as that takes, as a send after it expects.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "30000");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let names: Vec<String> = (0..999).map(|i| format!("member{i:04}")).collect();
    client.register_many(&names).await;
    let listed: Vec<&str> = names.iter().map(String::as_str).collect();

    let created = client.create_group(&alice, "everyone", &listed).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["members"].as_array().unwrap().len(), 1000);
    let group = created.body["groupId"].as_str().unwrap().to_owned();
    let login = client.login("member0500", "member0500-password").await;
    let member = User {
        id: login.body["userId"].as_str().unwrap_or_default().to_owned(),
        username: "member0500".into(),
        token: login.body["token"].as_str().unwrap().to_owned(),
    };
    assert_eq!(client.group_send(&alice, &group, "hello everyone").await.status, StatusCode::OK);
    assert_eq!(client.group_send(&member, &group, "hi alice").await.status, StatusCode::OK);
    assert_eq!(client.group_contents(&member, &group).await, ["hello everyone", "hi alice"]);
    let view = client.get(&format!("/groups/{group}"), Some(&member.token)).await;
    assert_eq!(view.body["members"].as_array().unwrap().len(), 1000);
    let full = client.add_member(&alice, &group, "alice").await;
    assert_eq!(full.status, StatusCode::OK, "alice is a member already: no-op");
}

backend_tests!(
    create_validates_its_input_and_answers_with_the_group,
    strangers_get_403_unknown_groups_404_and_members_only_what_their_role_allows,
    every_member_sees_one_order_the_order_of_the_log,
    history_starts_at_joining_and_ends_at_leaving,
    the_last_admin_leaving_promotes_the_longest_standing_member,
    adding_twice_is_one_member_and_the_group_list_follows_activity,
    two_admins_changing_members_at_once_lose_no_update,
    the_last_place_goes_to_one_of_two_admins_adding_at_once,
    a_thousand_member_group_is_created_and_messaged,
);
