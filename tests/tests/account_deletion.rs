//! Deleting an account: with its password, at once, everywhere: its sessions end and its
//! sockets close, it cannot log in, no one can find, message or add it, and its name stays
//! taken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn a_deleted_account_is_no_one_at_once_and_its_name_stays_taken(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    assert_eq!(
        client.patch("/me", Some(&alice.token), json!({ "about": "leaving soon" })).await.status,
        StatusCode::OK
    );
    assert_eq!(client.send(&alice, "bob", "goodbye").await.status, StatusCode::OK);
    let phone = client.login("alice", "alice-password").await.body["token"].as_str().unwrap().to_owned();
    let mut socket = Socket::connect(&server.base_url, &phone, None).await;

    let wrong = client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({ "password": "not it" }))).await;
    assert_eq!((wrong.status, wrong.error_code()), (StatusCode::FORBIDDEN, "wrong_password"));
    assert_eq!(client.get("/users/alice", Some(&bob.token)).await.status, StatusCode::OK, "nothing changed");
    let missing = client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let deleted =
        client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({ "password": "alice-password" }))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // Every session: this one, the phone's, and its socket.
    for token in [&alice.token, &phone] {
        let refused = client.get("/groups", Some(token)).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::UNAUTHORIZED, "session_ended"));
    }
    let (_, close) = socket.until_closed().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4005));
    let login = client.login("alice", "alice-password").await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.body);
    let again = client.register("alice", "another-password").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the name stays taken: {}", again.body);
    let retried = client.register("alice", "alice-password").await;
    assert_eq!(retried.status, StatusCode::CONFLICT, "even with the old password: {}", retried.body);

    // No one can find, reach or add it.
    assert_eq!(client.get("/users/alice", Some(&bob.token)).await.status, StatusCode::NOT_FOUND);
    let found = client.get("/users?prefix=al", Some(&bob.token)).await;
    assert_eq!(found.body["users"], json!([]), "{}", found.body);
    assert_eq!(client.send(&bob, "alice", "are you there?").await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.create_group(&bob, "with alice", &["alice"]).await.status, StatusCode::NOT_FOUND);

    // On the log: one AccountDeleted, keyed by the name.
    server.stop();
    let events = deployment.events("confab.users");
    let deletions: Vec<_> = events.iter().filter(|e| e["type"] == "io.confab.events.AccountDeleted").collect();
    assert_eq!(deletions.len(), 1, "{events:?}");
    assert_eq!(deletions[0]["key"], "alice");
    assert_eq!(deletions[0]["event"]["payload"]["userId"], alice.id.as_str());
}

backend_tests!(a_deleted_account_is_no_one_at_once_and_its_name_stays_taken);
