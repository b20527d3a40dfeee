//! People: profiles (read by anyone signed in, changed by their owner only, as events) and
//! finding someone to chat with by the start of their username, paged, rate-limited, and off
//! where the deployment says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

async fn profiles_are_set_cleared_and_read_by_others(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);

    let fresh = client.get("/users/alice", Some(&bob.token)).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_eq!(fresh.body["userId"], alice.id.as_str());
    assert_eq!(fresh.body["displayName"], serde_json::Value::Null);
    assert!(fresh.body["createdAt"].as_str().unwrap().ends_with('Z'));

    let set = client
        .patch("/me", Some(&alice.token), json!({ "displayName": "  Alice A.  ", "about": "climbs\nrocks" }))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["displayName"], "Alice A.");
    // Read at once, by anyone signed in, by any spelling of the name.
    let seen = client.get("/users/ALICE", Some(&bob.token)).await;
    assert_eq!(
        (seen.body["displayName"].as_str(), seen.body["about"].as_str()),
        (Some("Alice A."), Some("climbs\nrocks"))
    );

    // A field left out stays; null clears.
    let cleared = client.patch("/me", Some(&alice.token), json!({ "displayName": null })).await;
    assert_eq!(cleared.status, StatusCode::OK);
    let seen = client.get("/users/alice", Some(&bob.token)).await;
    assert_eq!((seen.body["displayName"].as_str(), seen.body["about"].as_str()), (None, Some("climbs\nrocks")));

    // Refused: too long, control characters, unknown fields, and without a token.
    for (body, code) in [
        (json!({ "displayName": "x".repeat(65) }), "invalid_display_name"),
        (json!({ "displayName": "tab\there" }), "invalid_display_name"),
        (json!({ "about": "y".repeat(501) }), "invalid_about"),
        (json!({ "username": "mallory" }), "invalid_body"),
        (json!([null, null]), "invalid_body"),
    ] {
        let refused = client.patch("/me", Some(&alice.token), body.clone()).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    assert_eq!(client.get("/users/alice", None).await.status, StatusCode::UNAUTHORIZED);
    let missing = client.get("/users/nobody", Some(&bob.token)).await;
    assert_eq!((missing.status, missing.error_code()), (StatusCode::NOT_FOUND, "user_not_found"));

    // The profile is an event on the users topic, keyed by the username.
    server.stop();
    let events = deployment.events("confab.users");
    let updates: Vec<_> = events.iter().filter(|e| e["type"] == "io.confab.events.ProfileUpdated").collect();
    assert_eq!(updates.len(), 2, "{events:?}");
    assert_eq!(updates[0]["key"], "alice");
}

async fn users_are_found_by_the_start_of_their_name(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let me = client.user("searcher").await;
    for name in ["alba", "albert", "alfred", "alice", "bob"] {
        let _ = client.user(name).await;
    }
    let search = async |query: &str| client.get(&format!("/users?{query}"), Some(&me.token)).await;
    let page = search("prefix=AL&limit=2").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&page.body), ["alba", "albert"]);
    let next = page.body["nextCursor"].as_str().unwrap().to_owned();
    let page = search(&format!("prefix=al&limit=2&after={next}")).await;
    assert_eq!(names(&page.body), ["alfred", "alice"]);
    let next = page.body["nextCursor"].as_str();
    let last = search(&format!("prefix=al&limit=2&after={}", next.unwrap_or("alice"))).await;
    assert_eq!(names(&last.body), Vec::<String>::new());
    assert_eq!(last.body["nextCursor"], serde_json::Value::Null);
    assert_eq!(names(&search("prefix=alb").await.body), ["alba", "albert"]);
    // A cursor outside the prefix: before it, from the top; after it, nothing.
    assert_eq!(names(&search("prefix=alb&after=aaa").await.body), ["alba", "albert"]);
    assert_eq!(names(&search("prefix=alb&after=zzz").await.body), Vec::<String>::new());

    for bad in
        ["prefix=a", "prefix=a%20b", "prefix=al%20", "prefix=", "limit=3", "prefix=al&limit=0", "prefix=al&after="]
    {
        let refused = search(bad).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.body);
    }
}

async fn search_can_be_turned_off_and_is_rate_limited(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_RATE_LIMITS", "on").env("CONFAB_RATE_SEARCH", "3/1m");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let me = client.user("searcher").await;
    for _ in 0..3 {
        assert_eq!(client.get("/users?prefix=se", Some(&me.token)).await.status, StatusCode::OK);
    }
    let limited = client.get("/users?prefix=se", Some(&me.token)).await;
    assert_eq!((limited.status, limited.error_code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));

    let mut off = Deployment::new(deployment.backend.clone());
    let _ = off.env("CONFAB_USER_SEARCH", "off");
    let server = off.serve();
    let client = Client::new(&server.base_url);
    let me = client.user("searcher").await;
    let refused = client.get("/users?prefix=se", Some(&me.token)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "search_disabled"));
    assert_eq!(client.get("/users/searcher", Some(&me.token)).await.status, StatusCode::OK, "profiles still are");
}

/// A profile change reaches, live, the people who share a conversation or a group with its
/// owner, and their other devices; not strangers.
async fn a_profile_change_reaches_who_shares_a_chat(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol, dave) =
        (client.user("alice").await, client.user("bob").await, client.user("carol").await, client.user("dave").await);
    assert_eq!(client.send(&bob, "alice", "hi alice").await.status, StatusCode::OK);
    let _group = client.group(&carol, "climbing", &["alice"]).await;
    let mut sockets = Vec::new();
    for user in [&alice, &bob, &carol, &dave] {
        sockets.push(Socket::connect(&server.base_url, &user.token, None).await);
    }
    let changed = client.patch("/me", Some(&alice.token), json!({ "displayName": "Alice A." })).await;
    assert_eq!(changed.status, StatusCode::OK);
    for socket in &mut sockets[..3] {
        let frame = socket.next_of("profile").await;
        assert_eq!(frame["userId"], alice.id.as_str());
        assert_eq!(frame["username"], "alice");
        assert_eq!(frame["displayName"], "Alice A.");
    }
    // Dave shares nothing with her: the first frame he gets is his own note, not her profile.
    assert_eq!(client.send(&dave, "dave", "note to self").await.status, StatusCode::OK);
    let first = sockets[3].next_frame().await;
    assert_eq!(first["type"], "message", "{first}");
}

/// A profile picture: an image uploaded for the profile and set with `PATCH /me`, which anyone
/// signed in may download while it is the picture, and only its uploader once it is not.
async fn a_profile_picture_is_anyones_to_see_while_it_is_set(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let code = |reply: &confab_e2e::Reply| (reply.status, reply.error_code().to_owned());
    let bad = |code: &str| (StatusCode::BAD_REQUEST, code.to_owned());

    // An image browsers show, for one's own profile and nothing else at once.
    let text = json!({ "avatar": true, "fileName": "me.txt", "contentType": "text/plain", "size": 3, "sha256": "ab".repeat(32) });
    assert_eq!(code(&client.post("/attachments", Some(&alice.token), text).await), bad("invalid_avatar"));
    let both = client.request_upload(&alice, json!({ "avatar": true, "recipient": "bob" }), b"x", b"x").await;
    assert_eq!(code(&both), bad("invalid_target"));

    // Uploaded and not reported: setting it verifies it.
    let picture = b"\x89PNG\r\n\x1a\n alice's face".to_vec();
    let ticket = client.request_upload(&alice, json!({ "avatar": true }), &picture, &picture).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    assert!(client.upload(&ticket.body, picture.clone()).await.status().is_success());
    let avatar = ticket.body["attachmentId"].as_str().unwrap().to_owned();
    let set = client.patch("/me", Some(&alice.token), json!({ "avatar": avatar })).await;
    assert_eq!((set.status, set.body["avatar"].as_str()), (StatusCode::OK, Some(avatar.as_str())), "{}", set.body);
    // Carol shares no chat with alice, and sees her picture.
    let seen = client.get("/users/alice", Some(&carol.token)).await;
    assert_eq!(seen.body["avatar"], avatar.as_str());
    assert_eq!(client.download(&carol, &avatar).await, picture);

    // Someone else's picture, a conversation's file, or no id at all is no picture of hers.
    let bobs = client.attachment(&bob, json!({ "avatar": true }), b"bob's face").await;
    let direct = client.attachment(&alice, json!({ "recipient": "bob" }), b"a file for bob").await;
    for wrong in [bobs.as_str(), direct.as_str()] {
        let refused = client.patch("/me", Some(&alice.token), json!({ "avatar": wrong })).await;
        assert_eq!(code(&refused), (StatusCode::FORBIDDEN, "not_a_profile_picture".to_owned()), "{wrong}");
    }
    let unknown = json!({ "avatar": "0190f5a2-7c1e-7000-8000-00000000dead" });
    let unknown = client.patch("/me", Some(&alice.token), unknown).await;
    assert_eq!(code(&unknown), (StatusCode::NOT_FOUND, "attachment_not_found".to_owned()));
    let no_id = client.patch("/me", Some(&alice.token), json!({ "avatar": "not-an-id" })).await;
    assert_eq!(code(&no_id), bad("invalid_avatar"));
    // Not uploaded yet: a conflict with the picture's state.
    let empty = client.request_upload(&alice, json!({ "avatar": true }), b"later", b"later").await;
    let empty = json!({ "avatar": empty.body["attachmentId"] });
    let early = client.patch("/me", Some(&alice.token), empty).await;
    assert_eq!(code(&early), (StatusCode::CONFLICT, "attachment_not_uploaded".to_owned()));
    // Bob never set his: only he sees it.
    let hidden = client.get(&format!("/attachments/{bobs}"), Some(&carol.token)).await;
    assert_eq!(code(&hidden), (StatusCode::FORBIDDEN, "not_an_avatar".to_owned()));
    assert_eq!(client.download(&bob, &bobs).await, b"bob's face");

    // Cleared: hers alone again; the rest of the profile stays.
    let cleared = client.patch("/me", Some(&alice.token), json!({ "avatar": null, "about": "camera shy" })).await;
    assert_eq!((cleared.body["avatar"].is_null(), cleared.body["about"].as_str()), (true, Some("camera shy")));
    let gone = client.get(&format!("/attachments/{avatar}"), Some(&carol.token)).await;
    assert_eq!(code(&gone), (StatusCode::FORBIDDEN, "not_an_avatar".to_owned()));
    assert_eq!(client.download(&alice, &avatar).await, picture);
}

backend_tests!(
    a_profile_picture_is_anyones_to_see_while_it_is_set,
    a_profile_change_reaches_who_shares_a_chat,
    profiles_are_set_cleared_and_read_by_others,
    users_are_found_by_the_start_of_their_name,
    search_can_be_turned_off_and_is_rate_limited
);
