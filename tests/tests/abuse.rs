//! What a hostile or careless client can make the server spend is bounded, and every refusal is
//! a clear 4xx (429 with `Retry-After` for rate limits): login floods, guessing, sends, sockets,
//! frames, cursors, slow and oversized bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_e2e::{Backend, Client, Deployment, Socket, TEST_JWT_SECRET, backend_tests, read_response};
use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use tokio::io::AsyncWriteExt;

/// A deployment with the rate limits on (the harness turns them off for every other test).
fn limited(backend: Backend, limits: &[(&str, &str)]) -> Deployment {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_RATE_LIMITS", "on");
    for (key, value) in limits {
        let _ = deployment.env(key, value);
    }
    deployment
}

/// `Retry-After` of a raw answer, in seconds.
fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers().get(header::RETRY_AFTER).expect("a Retry-After header").to_str().unwrap().parse().unwrap()
}

async fn login_raw(client: &Client, username: &str, password: &str, from: Option<&str>) -> reqwest::Response {
    let mut request =
        client.request(Method::POST, "/auth/login").json(&json!({ "username": username, "password": password }));
    if let Some(from) = from {
        request = request.header("x-forwarded-for", from);
    }
    request.send().await.unwrap()
}

async fn a_guessing_address_is_refused_while_the_owner_logs_in_from_elsewhere(backend: Backend) {
    // Addresses are named by a trusted proxy here: the attacker is 203.0.113.66, the owner's
    // phone 198.51.100.7.
    let deployment = limited(
        backend,
        &[
            ("CONFAB_RATE_LOGIN_FAILURES", "3/15m"),
            ("CONFAB_RATE_LOGIN_FAILURES_PER_ADDRESS", "8/15m"),
            ("CONFAB_RATE_LOGIN_FAILURES_PER_ACCOUNT", "5/15m"),
            ("CONFAB_TRUSTED_PROXIES", "127.0.0.0/8"),
        ],
    );
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let _alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let _carol = client.user("carol").await;
    let (attacker, owner) = (Some("203.0.113.66"), Some("198.51.100.7"));
    let status = |response: reqwest::Response| response.status();

    for _ in 0..3 {
        assert_eq!(status(login_raw(&client, "alice", "guess", attacker).await), StatusCode::UNAUTHORIZED);
    }
    // The guessing address is refused, even with the right password, and told how long to wait.
    let refused = login_raw(&client, "alice", "alice-password", attacker).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&refused);
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Names are case-insensitive, so the refusal is too.
    assert_eq!(status(login_raw(&client, "ALICE", "guess", attacker).await), StatusCode::TOO_MANY_REQUESTS);
    // The owner, from an address that has not been failing, logs in at once.
    assert_eq!(status(login_raw(&client, "alice", "alice-password", owner).await), StatusCode::OK);

    // Unknown names are counted like known ones: guessing which exist gains nothing.
    for _ in 0..3 {
        assert_eq!(status(login_raw(&client, "nobody", "guess", attacker).await), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(login_raw(&client, "nobody", "guess", attacker).await), StatusCode::TOO_MANY_REQUESTS);

    // An address failing across accounts (trying a list of names) is refused for all of them.
    for _ in 0..2 {
        assert_eq!(status(login_raw(&client, "bob", "guess", attacker).await), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(login_raw(&client, "bob", "bob-password", attacker).await), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status(login_raw(&client, "bob", "bob-password", owner).await), StatusCode::OK);

    // Many addresses against one account put it under attack: each that failed is refused at
    // once, and an address that has not failed is still checked: the owner gets in.
    for i in 0..5 {
        let from = format!("192.0.2.{i}");
        assert_eq!(status(login_raw(&client, "bob", "guess", Some(&from)).await), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(login_raw(&client, "bob", "guess", Some("192.0.2.0")).await), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status(login_raw(&client, "bob", "bob-password", Some("192.0.2.200")).await), StatusCode::OK);

    // A success from an address resets its count for that account.
    let laptop = Some("198.51.100.9");
    for _ in 0..2 {
        assert_eq!(status(login_raw(&client, "carol", "typo", laptop).await), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(login_raw(&client, "carol", "carol-password", laptop).await), StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(status(login_raw(&client, "carol", "typo", laptop).await), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(login_raw(&client, "carol", "carol-password", laptop).await), StatusCode::OK);
}

async fn logins_and_registrations_are_limited_per_client_address(backend: Backend) {
    let deployment = limited(
        backend,
        &[
            ("CONFAB_RATE_LOGIN_PER_ADDRESS", "4/1h"),
            ("CONFAB_RATE_REGISTER_PER_ADDRESS", "3/1h"),
            ("CONFAB_TRUSTED_PROXIES", "127.0.0.0/8"),
        ],
    );
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    for name in ["ann", "ben", "cat"] {
        assert_eq!(client.register(name, "long-password").await.status, StatusCode::CREATED);
    }
    let refused = client.register("dan", "long-password").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "rate_limited");
    // Behind a trusted proxy, the client is the address the proxy names.
    let proxied = client
        .request(Method::POST, "/auth/register")
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "username": "dan", "password": "long-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::CREATED);

    for _ in 0..4 {
        assert_eq!(login_raw(&client, "ann", "long-password", None).await.status(), StatusCode::OK);
    }
    let limited = login_raw(&client, "ann", "long-password", None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&limited) >= 1);
    assert_eq!(login_raw(&client, "ann", "long-password", Some("198.51.100.8")).await.status(), StatusCode::OK);
}

async fn a_login_flood_is_refused_fast_and_bounded_while_others_keep_chatting(backend: Backend) {
    // Every flood request names its own address, as a botnet would: the per-address limit does
    // not help, so what bounds the flood is the password-hashing queue.
    let deployment = limited(
        backend,
        &[
            ("CONFAB_TRUSTED_PROXIES", "127.0.0.0/8"),
            // One hashing thread, four waiting: far fewer than the flood, however fast the
            // machine, so the bound is what the flood meets.
            ("CONFAB_PASSWORD_HASH_THREADS", "1"),
            ("CONFAB_PASSWORD_HASH_QUEUE", "4"),
        ],
    );
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let group = client.group(&alice, "flooded", &["bob"]).await;
    let before = server.peak_rss_kib().unwrap();

    let flood: Vec<_> = (0..500)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let from = format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256);
                login_raw(&client, &format!("guess{i}"), "wrong-password", Some(&from)).await.status()
            })
        })
        .collect();
    // While it lasts, a logged-in user still reads and writes.
    let groups = client.get("/groups", Some(&bob.token)).await;
    assert_eq!(groups.status, StatusCode::OK, "{}", groups.body);
    let sent = client.send(&alice, "bob", "still here").await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let in_group = client.group_send(&bob, &group, "me too").await;
    assert_eq!(in_group.status, StatusCode::OK, "{}", in_group.body);

    let (mut unauthorized, mut overloaded) = (0, 0);
    for attempt in flood {
        match attempt.await.unwrap() {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::SERVICE_UNAVAILABLE => overloaded += 1,
            other => panic!("a flood request got {other}"),
        }
    }
    assert_eq!(unauthorized + overloaded, 500);
    assert!(overloaded > 0, "500 hashes at once should not all have been queued");
    // A hash needs 19 MiB: the flood costs one hashing thread's worth, not five hundred.
    let peak = server.peak_rss_kib().unwrap();
    eprintln!(
        "peak RSS {} MiB before a 500-login flood, {} MiB after ({unauthorized} checked, {overloaded} refused)",
        before / 1024,
        peak / 1024
    );
    assert!(peak - before < 128 * 1024, "peak RSS grew from {before} KiB to {peak} KiB");
}

async fn each_user_has_a_send_and_group_change_allowance(backend: Backend) {
    let deployment = limited(backend, &[("CONFAB_RATE_SEND", "3/1h"), ("CONFAB_RATE_GROUP_CHANGES", "2/1h")]);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    for i in 0..3 {
        assert_eq!(client.send(&alice, "bob", &format!("m{i}")).await.status, StatusCode::OK);
    }
    let refused = client
        .request(Method::POST, "/chat/send")
        .bearer_auth(&alice.token)
        .json(&json!({ "recipient": "bob", "message": "one too many" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) > 60);
    // Group messages share the allowance; bob has his own.
    assert_eq!(client.send(&bob, "alice", "mine").await.status, StatusCode::OK);
    let group = client.group(&bob, "g", &["alice"]).await;
    let in_group = client.group_send(&alice, &group, "refused too").await;
    assert_eq!(in_group.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(in_group.error_code(), "rate_limited");
    // Nothing refused reached the history.
    assert_eq!(client.full_history(&bob, "alice").await.len(), 4);

    // bob created the group (one change); one more, then refused.
    assert_eq!(
        client.patch(&format!("/groups/{group}"), Some(&bob.token), json!({ "name": "h" })).await.status,
        StatusCode::OK
    );
    let third = client.patch(&format!("/groups/{group}"), Some(&bob.token), json!({ "name": "i" })).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A token for `user` that expires `in_secs` from now, signed as the server signs.
fn token_expiring(user_id: &str, username: &str, in_secs: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let session = uuid::Uuid::now_v7().to_string();
    let claims = json!({ "sub": user_id, "name": username, "sid": session, "iat": now, "exp": now + in_secs });
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes())).unwrap()
}

async fn sockets_are_bounded_in_size_number_and_lifetime(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_WS_MAX_PER_USER", "2");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;

    // A frame over 64 KiB closes the socket with 1009.
    let mut socket = Socket::connect(&server.base_url, &alice.token, None).await;
    socket.send_text(format!("{{\"type\":\"typing\",\"to\":\"{}\"}}", "x".repeat(70 * 1024))).await;
    let (_, close) = socket.until_closed().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1009));

    // A third socket of one user closes the oldest with 4002.
    let mut first = Socket::connect(&server.base_url, &alice.token, None).await;
    let mut second = Socket::connect(&server.base_url, &alice.token, None).await;
    let _third = Socket::connect(&server.base_url, &alice.token, None).await;
    let (_, close) = first.until_closed().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4002));
    let sent = client.send(&alice, "alice", "note to self").await;
    assert_eq!(second.next_of("message").await["messageId"], sent.body["messageId"]);

    // A socket lives no longer than its token: closed with 4003 when it expires.
    let short = token_expiring(&alice.id, "alice", 2);
    let mut expiring = Socket::connect(&server.base_url, &short, None).await;
    let (_, close) = expiring.until_closed().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4003));
}

/// `cursor` with every offset replaced by `offset`.
fn cursor_at(cursor: &str, offset: u64) -> String {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    let partitions = text.trim_start_matches("v1:").split('.').count();
    let offsets: Vec<String> = (0..partitions).map(|_| offset.to_string()).collect();
    URL_SAFE_NO_PAD.encode(format!("v1:{}", offsets.join(".")))
}

async fn resuming_is_bounded_and_cursors_must_come_from_the_log(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_WS_MAX_RESUME_MESSAGES", "5");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let socket = Socket::connect(&server.base_url, &bob.token, None).await;
    let ready = socket.cursor.clone();
    socket.close().await;

    // Made up, past the log's end: refused before upgrading.
    let beyond = Socket::open({
        let mut request = Socket::request(&server.base_url, &format!("?since={}", cursor_at(&ready, 1_000_000_000)));
        let _ = request.headers_mut().insert("authorization", format!("Bearer {}", bob.token).parse().unwrap());
        request
    })
    .await;
    match beyond {
        Err(confab_e2e::WsError::Http(response)) => assert_eq!(response.status(), 400),
        Err(other) => panic!("expected a 400, got {other}"),
        Ok(_) => panic!("a cursor past the log's end was accepted"),
    }

    for i in 0..3 {
        assert_eq!(client.send(&alice, "bob", &format!("m{i}")).await.status, StatusCode::OK);
    }
    // Each send answers once the projection has it; the notifier, which reads the log beside it,
    // may not have reached the last one yet, and then it comes live after `ready`: what counts
    // is that all three arrive, in order, once.
    let mut within = Socket::connect(&server.base_url, &bob.token, Some(&ready)).await;
    let mut resumed: Vec<_> = within.missed.iter().filter(|f| f["type"] == "message").cloned().collect();
    assert!(resumed.len() <= 3, "{resumed:?}");
    let live = within.messages(3 - resumed.len()).await;
    resumed.extend(live);
    let contents: Vec<_> = resumed.iter().map(|f| f["content"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(contents, ["m0", "m1", "m2"]);
    for i in 3..10 {
        assert_eq!(client.send(&alice, "bob", &format!("m{i}")).await.status, StatusCode::OK);
    }
    // The all-zero cursor asks for everything: more than the bound, so the client is told to
    // page the history instead.
    let mut from_zero = Socket::open_unready({
        let mut request = Socket::request(&server.base_url, &format!("?since={}", cursor_at(&ready, 0)));
        let _ = request.headers_mut().insert("authorization", format!("Bearer {}", bob.token).parse().unwrap());
        request
    })
    .await
    .unwrap();
    let (frames, close) = from_zero.until_closed().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "resume_too_far");
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4004));
}

async fn slow_oversized_and_malformed_requests_get_json_refusals(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_HTTP_BODY_IDLE_TIMEOUT_SECS", "1");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;

    let bad_path = client.get("/groups/%FF", Some(&alice.token)).await;
    assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_path.error_code(), "invalid_path");

    // A body that stops arriving is cut off.
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_response(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // A client that writes its whole over-limit body still reads the 413.
    let mut big = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = vec![b' '; 2 * 1024 * 1024];
    let head = format!(
        "POST /chat/send HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        alice.token,
        body.len()
    );
    big.write_all(head.as_bytes()).await.unwrap();
    big.write_all(&body).await.unwrap();
    let answer = read_response(&mut big).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    // Most of 8 MiB sent in chunks, with no length declared: more than the socket buffers hold.
    let body = vec![b' '; 7 * 1024 * 1024];
    let mut chunked = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /chat/send HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        alice.token
    );
    chunked.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(64 * 1024) {
        chunked.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await.unwrap();
        chunked.write_all(piece).await.unwrap();
        chunked.write_all(b"\r\n").await.unwrap();
    }
    chunked.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_response(&mut chunked).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    // A small chunked body is held whole and handed on: it is answered as any other.
    let mut small = tokio::net::TcpStream::connect(&address).await.unwrap();
    let message = format!("{{\"recipient\":\"alice\",\"message\":\"{}\"}}", "x".repeat(100));
    let head = format!(
        "POST /chat/send HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        alice.token
    );
    small.write_all(head.as_bytes()).await.unwrap();
    for piece in message.as_bytes().chunks(10) {
        small.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await.unwrap();
        small.write_all(piece).await.unwrap();
        small.write_all(b"\r\n").await.unwrap();
    }
    small.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_response(&mut small).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("messageId"), "{answer}");
}

async fn past_the_in_flight_limit_requests_are_shed_with_503(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_HTTP_MAX_IN_FLIGHT", "1").env("CONFAB_HTTP_BODY_IDLE_TIMEOUT_SECS", "600");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    // One request holds the only slot: its body never finishes.
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    let hold = || async {
        let mut holder = tokio::net::TcpStream::connect(&address).await.unwrap();
        holder.write_all(head.as_bytes()).await.unwrap();
        holder
    };
    let mut holder = hold().await;
    let shed = async {
        loop {
            let response = client.request(Method::GET, "/healthz").send().await.unwrap();
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                return response;
            }
            assert_eq!(response.status(), StatusCode::OK);
            // On a busy machine a health check may have had the slot when the holder arrived:
            // then the holder was the one shed (answered), and holds nothing. Hold again.
            let mut answered = [0u8; 64];
            if !matches!(holder.try_read(&mut answered), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
                holder = hold().await;
            }
            tokio::task::yield_now().await;
        }
    };
    let shed = tokio::time::timeout(Duration::from_secs(30), shed).await.expect("nothing was shed");
    assert_eq!(retry_after(&shed), 1);
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");
    // The slot frees when the holder goes.
    drop(holder);
    let freed = async {
        while client.request(Method::GET, "/healthz").send().await.unwrap().status() != StatusCode::OK {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), freed).await.expect("the slot never freed");
}

async fn a_late_joiner_reaches_nothing_from_before_joining(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, carol) = (client.user("alice").await, client.user("carol").await);
    let group = client.group(&alice, "founders", &[]).await;
    let early_file = client.attachment(&alice, json!({ "groupId": group }), b"before carol").await;
    let early = client.group_send(&alice, &group, "before carol").await.body["messageId"].clone();
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);

    let file = client.get(&format!("/attachments/{early_file}"), Some(&carol.token)).await;
    assert_eq!((file.status, file.error_code()), (StatusCode::FORBIDDEN, "before_joining"));
    let read =
        client.post(&format!("/groups/{group}/read"), Some(&carol.token), json!({ "upToMessageId": early })).await;
    assert_eq!((read.status, read.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));

    let later = client.group_send(&alice, &group, "after carol").await.body["messageId"].clone();
    let read =
        client.post(&format!("/groups/{group}/read"), Some(&carol.token), json!({ "upToMessageId": later })).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let late_file = client.attachment(&alice, json!({ "groupId": group }), b"after carol").await;
    assert_eq!(client.download(&carol, &late_file).await, b"after carol");
}

async fn names_a_store_cannot_keep_or_a_screen_would_misrender_are_refused(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    // Empty and impossible names are 4xx on every store (DynamoDB refuses empty keys).
    for name in ["", " ", &"x".repeat(3000)] {
        assert_eq!(client.login(name, "long-password").await.status, StatusCode::UNAUTHORIZED, "{name:?}");
        let sent = client.send(&alice, name, "hi").await;
        assert_eq!((sent.status, sent.error_code()), (StatusCode::NOT_FOUND, "recipient_not_found"));
    }
    let group = client.create_group(&alice, "ok", &["", "bob"]).await;
    assert_eq!(group.status, StatusCode::NOT_FOUND, "{}", group.body);
    // Bidirectional overrides would show `exe.png` as `gnp.exe`.
    let group = client.create_group(&alice, "evil\u{202e}gpj.exe", &[]).await;
    assert_eq!((group.status, group.error_code()), (StatusCode::BAD_REQUEST, "invalid_group_name"));
    let mut upload = json!({
        "fileName": "invoice\u{202e}fdp.exe", "contentType": "application/pdf", "size": 3,
        "sha256": "0".repeat(64), "recipient": "alice",
    });
    let file = client.post("/attachments", Some(&alice.token), upload.clone()).await;
    assert_eq!((file.status, file.error_code()), (StatusCode::BAD_REQUEST, "invalid_file_name"));
    upload["fileName"] = json!("invoice.pdf");
    assert_eq!(client.post("/attachments", Some(&alice.token), upload).await.status, StatusCode::CREATED);
}

async fn usernames_of_32_hex_digits_are_usernames_on_every_frame(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let hexname = "0123456789abcdef0123456789abcdef";
    let (alice, hex) = (client.user("alice").await, client.user(hexname).await);
    let mut hex_phone = Socket::connect(&server.base_url, &hex.token, None).await;
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    alice_phone.send(json!({ "type": "typing", "to": hexname })).await;
    let typing = hex_phone.next_of("typing").await;
    assert_eq!(typing["username"], "alice");
    let sent = client.send(&hex, "alice", "from a hex name").await;
    let id = sent.body["messageId"].clone();
    alice_phone.send(json!({ "type": "read", "to": hexname, "upToMessageId": id })).await;
    let receipt = hex_phone.next_of("receipt").await;
    assert_eq!((receipt["status"].as_str(), receipt["upToMessageId"].clone()), (Some("read"), id));
}

async fn unfinished_uploads_are_bounded_per_user(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_ATTACHMENT_MAX_PENDING", "2").env("CONFAB_ATTACHMENT_MAX_PENDING_BYTES", "100");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let to_bob = json!({ "recipient": "bob" });
    let first = client.request_upload(&alice, to_bob.clone(), &[1; 60], &[1; 60]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let too_big = client.request_upload(&alice, to_bob.clone(), &[2; 50], &[2; 50]).await;
    assert_eq!((too_big.status, too_big.error_code()), (StatusCode::TOO_MANY_REQUESTS, "pending_upload_bytes"));
    let second = client.request_upload(&alice, to_bob.clone(), &[3; 10], &[3; 10]).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let third = client.request_upload(&alice, to_bob.clone(), &[4; 10], &[4; 10]).await;
    assert_eq!((third.status, third.error_code()), (StatusCode::TOO_MANY_REQUESTS, "too_many_pending_uploads"));
    // Another user has their own quota; a finished upload frees its place.
    let _ = client.attachment(&bob, json!({ "recipient": "alice" }), &[5; 10]).await;
    assert!(client.upload(&second.body, vec![3; 10]).await.status().is_success());
    let id = second.body["attachmentId"].as_str().unwrap();
    let done = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let fourth = client.request_upload(&alice, to_bob, &[4; 10], &[4; 10]).await;
    assert_eq!(fourth.status, StatusCode::CREATED, "{}", fourth.body);
}

backend_tests!(
    unfinished_uploads_are_bounded_per_user,
    a_late_joiner_reaches_nothing_from_before_joining,
    names_a_store_cannot_keep_or_a_screen_would_misrender_are_refused,
    usernames_of_32_hex_digits_are_usernames_on_every_frame,
    a_guessing_address_is_refused_while_the_owner_logs_in_from_elsewhere,
    logins_and_registrations_are_limited_per_client_address,
    a_login_flood_is_refused_fast_and_bounded_while_others_keep_chatting,
    each_user_has_a_send_and_group_change_allowance,
    sockets_are_bounded_in_size_number_and_lifetime,
    resuming_is_bounded_and_cursors_must_come_from_the_log,
    slow_oversized_and_malformed_requests_get_json_refusals,
    past_the_in_flight_limit_requests_are_shed_with_503,
);
