//! Registration, login and bearer tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, TEST_JWT_SECRET, backend_tests};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn register_validates_normalizes_and_refuses_taken_names(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);

    let created = client.register("Alice_1.x-Y", "password123").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["username"], "alice_1.x-y");
    let id = uuid::Uuid::parse_str(created.body["userId"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);

    for (username, password, code) in [
        ("ab", "password123", "invalid_username"),
        (&"a".repeat(33), "password123", "invalid_username"),
        ("al ice", "password123", "invalid_username"),
        ("ålice", "password123", "invalid_username"),
        ("bob/x", "password123", "invalid_username"),
        ("bob", "1234567", "invalid_password"),
        ("bob", &"p".repeat(1025), "invalid_password"),
    ] {
        let reply = client.register(username, password).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{username:?}: {}", reply.body);
        assert_eq!(reply.error_code(), code);
    }
    assert_eq!(client.register("abc", &"p".repeat(1024)).await.status, StatusCode::CREATED);
    assert_eq!(client.register(&"z".repeat(32), "12345678").await.status, StatusCode::CREATED);

    let taken = client.register("ALICE_1.X-y", "another-password").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.error_code(), "username_taken");
    // The same registration again (a retry whose answer was lost) is answered as the first was.
    let again = client.register("alice_1.x-y", "password123").await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body, created.body);

    let missing = client.post("/auth/register", None, json!({ "username": "carol" })).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_code(), "invalid_body");
    let wrong_type = client.post("/auth/register", None, json!({ "username": 5, "password": "x" })).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    let not_json = client
        .raw(
            client
                .request(Method::POST, "/auth/register")
                .header(header::CONTENT_TYPE, "application/json")
                .body("{nope"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.error_code(), "invalid_json");
    let no_content_type = client.raw(client.request(Method::POST, "/auth/register").body("{}")).await;
    assert_eq!(no_content_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(no_content_type.error_code(), "unsupported_media_type");
}

async fn concurrent_registrations_of_one_name_create_exactly_one_account(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);

    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.register("popular", &format!("password-{i}")).await })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(reply.error_code(), "username_taken"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(created, 1);

    server.stop();
    let registrations: Vec<Value> = deployment
        .events("confab.users")
        .into_iter()
        .filter(|e: &Value| {
            e["type"] == "io.confab.events.UserRegistered" && e["event"]["payload"]["username"] == "popular"
        })
        .collect();
    assert_eq!(registrations.len(), 1, "the log must hold exactly one registration of the name");
    // Keyed by username, on the partition Java's murmur2 partitioner picks (4 partitions).
    let record = &registrations[0];
    assert_eq!(record["key"], "popular");
    assert_eq!(record["partition"], confab_eventlog::partition_for_key(b"popular", 4));
    assert_eq!(record["headers"]["confab.event-type"], "io.confab.events.UserRegistered");
    assert_eq!(record["headers"]["confab.schema-fingerprint"].as_str().unwrap().len(), 16);
}

async fn login_works_at_once_and_fails_the_same_way_for_unknown_user_and_wrong_password(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);

    for i in 0..10 {
        let name = format!("user{i}");
        assert_eq!(client.register(&name, "password123").await.status, StatusCode::CREATED);
        let login = client.login(&name.to_uppercase(), "password123").await;
        assert_eq!(login.status, StatusCode::OK, "login right after register: {}", login.body);
        assert_eq!(login.body["tokenType"], "Bearer");
        assert_eq!(login.body["expiresIn"], 900);
        assert!(login.body["token"].as_str().unwrap().split('.').count() == 3);
    }

    let wrong_password = client.login("user0", "password124").await;
    let unknown_user = client.login("nobody", "password123").await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.body, unknown_user.body, "no hint which one was wrong");
    let missing = client.post("/auth/login", None, json!({ "username": "user0" })).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

fn forge(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret)).unwrap()
}

async fn only_valid_unexpired_tokens_signed_by_the_server_are_accepted(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    assert_eq!(client.get("/chat/messages", Some(&alice.token)).await.status, StatusCode::OK);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sid = uuid::Uuid::now_v7().to_string();
    let claims = |iat: i64, exp: i64| json!({ "sub": alice.id, "name": "alice", "sid": sid, "iat": iat, "exp": exp });
    let secret = TEST_JWT_SECRET.as_bytes();
    let fresh = forge(&claims(now, now + 600), Algorithm::HS256, secret);
    assert_eq!(client.get("/chat/messages", Some(&fresh)).await.status, StatusCode::OK, "the test forges correctly");

    let expired = forge(&claims(now - 7200, now - 3600), Algorithm::HS256, secret);
    let other_key = forge(&claims(now, now + 600), Algorithm::HS256, b"some other secret entirely");
    let other_alg = forge(&claims(now, now + 600), Algorithm::HS512, secret);
    // A token of no session (as tokens were before sessions) cannot be revoked: refused.
    let sessionless =
        forge(&json!({ "sub": alice.id, "name": "alice", "iat": now, "exp": now + 600 }), Algorithm::HS256, secret);
    let unsigned = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), b64.encode(claims(now, now + 600).to_string()))
    };
    for (what, token) in [
        ("expired", expired.as_str()),
        ("other key", &other_key),
        ("other algorithm", &other_alg),
        ("no session", &sessionless),
        ("alg none", &unsigned),
        ("garbage", "not.a.jwt"),
    ] {
        let reply = client.get("/chat/messages", Some(token)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}: {}", reply.body);
        assert_eq!(reply.error_code(), "unauthorized");
    }
    let expired_reply = client.get("/chat/messages", Some(&expired)).await;
    assert!(expired_reply.body["error"]["message"].as_str().unwrap().contains("expired"));

    let no_header = client.get("/chat/messages", None).await;
    assert_eq!(no_header.status, StatusCode::UNAUTHORIZED);
    let basic = client
        .raw(client.request(Method::GET, "/chat/messages").header(header::AUTHORIZATION, "Basic YWxpY2U6eA=="))
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(basic.error_code(), "unauthorized");
}

backend_tests!(
    register_validates_normalizes_and_refuses_taken_names,
    concurrent_registrations_of_one_name_create_exactly_one_account,
    login_works_at_once_and_fails_the_same_way_for_unknown_user_and_wrong_password,
    only_valid_unexpired_tokens_signed_by_the_server_are_accepted,
);
