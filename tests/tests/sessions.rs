//! Sessions: a login per device with a rotating refresh token, reuse detection, logout, the
//! list of one's sessions, ending one from another device, and a password change that ends the
//! others; every ended session's tokens refused at once and its sockets closed with 4005, also
//! after a restart and on another API process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A session of `username` (password `<username>-password`, as `Client::user` registers).
async fn login(client: &Client, username: &str, device: &str) -> Value {
    let body = json!({ "username": username, "password": format!("{username}-password"), "deviceName": device });
    let reply = client.post("/auth/login", None, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

fn token(session: &Value) -> &str {
    session["token"].as_str().unwrap()
}

async fn refresh(client: &Client, session: &Value) -> (StatusCode, Value) {
    let reply = client.post("/auth/refresh", None, json!({ "refreshToken": session["refreshToken"] })).await;
    (reply.status, reply.body)
}

async fn works(client: &Client, token: &str) -> StatusCode {
    client.get("/chat/messages", Some(token)).await.status
}

/// The close a socket gets, within the deadline the harness gives frames.
async fn closed_with(socket: &mut Socket) -> Option<u16> {
    socket.until_closed().await.1.map(|close| u16::from(close.code))
}

async fn refresh_rotates_and_a_reused_token_ends_the_session(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let first = login(&client, "alice", "phone").await;
    assert_eq!(first["tokenType"], "Bearer");
    assert_eq!(first["expiresIn"], 900, "access tokens last 15 minutes by default");
    assert!(first["refreshExpiresIn"].as_i64().unwrap() >= 86_400);

    let (status, second) = refresh(&client, &first).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["sessionId"], first["sessionId"], "the same session goes on");
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    assert_eq!(works(&client, token(&second)).await, StatusCode::OK);

    // The first refresh token again: someone else holds a copy. The whole session ends.
    let (status, reused) = refresh(&client, &first).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reused}");
    assert_eq!(reused["error"]["code"], "refresh_token_reused");
    let (status, after) = refresh(&client, &second).await;
    assert_eq!((status, after["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token")));
    for access in [token(&first), token(&second)] {
        let refused = client.get("/chat/messages", Some(access)).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::UNAUTHORIZED, "session_ended"));
    }

    // Garbage and forgeries are refused alike.
    let session = first["sessionId"].as_str().unwrap();
    let user = alice.id.as_str();
    for forged in ["", "nonsense", &format!("{user}.{session}.AAAA"), &format!("{user}.{session}")] {
        let reply = client.post("/auth/refresh", None, json!({ "refreshToken": forged })).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::UNAUTHORIZED, "invalid_refresh_token"),
            "{forged:?}"
        );
    }
}

async fn sessions_are_listed_and_ended_from_another_device(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let _alice = client.user("alice").await;
    let phone = login(&client, "alice", "phone").await;
    let laptop = login(&client, "alice", "laptop\u{7}  ").await;
    let mut laptop_socket = Socket::connect(&server.base_url, token(&laptop), None).await;

    let listed = client.get("/auth/sessions", Some(token(&phone))).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let sessions = listed.body["sessions"].as_array().unwrap();
    let named = |id: &Value| sessions.iter().find(|s| s["sessionId"] == *id).cloned().unwrap();
    assert_eq!(named(&phone["sessionId"])["deviceName"], "phone");
    assert_eq!(named(&phone["sessionId"])["current"], true);
    assert_eq!(named(&laptop["sessionId"])["deviceName"], "laptop", "control characters and spaces trimmed");
    assert_eq!(named(&laptop["sessionId"])["current"], false);

    // Someone else's session, or none, is not found.
    let _bob = client.user("bob").await;
    let bob = login(&client, "bob", "bob's").await;
    let path = |session: &Value| format!("/auth/sessions/{}", session["sessionId"].as_str().unwrap());
    assert_eq!(client.delete(&path(&laptop), Some(token(&bob))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.delete("/auth/sessions/not-a-session", Some(token(&bob))).await.status, StatusCode::NOT_FOUND);

    // The phone ends the laptop's session: its socket closes, its tokens are refused.
    assert_eq!(client.delete(&path(&laptop), Some(token(&phone))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(closed_with(&mut laptop_socket).await, Some(4005));
    assert_eq!(works(&client, token(&laptop)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&client, &laptop).await.0, StatusCode::UNAUTHORIZED);
    let refused = Socket::open(Socket::request(&server.base_url, &format!("token={}", token(&laptop)))).await;
    assert!(refused.is_err(), "a socket of an ended session is refused");
    assert_eq!(works(&client, token(&phone)).await, StatusCode::OK);
    let listed = client.get("/auth/sessions", Some(token(&phone))).await;
    assert_eq!(listed.body["sessions"].as_array().unwrap().len(), 2, "the phone's, and the one Client::user made");

    // Logging out ends the phone's own.
    assert_eq!(client.post("/auth/logout", Some(token(&phone)), json!({})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(works(&client, token(&phone)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(works(&client, token(&bob)).await, StatusCode::OK, "nobody else's");
}

async fn a_new_password_ends_every_other_session(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let _alice = client.user("alice").await;
    let (here, there) = (login(&client, "alice", "here").await, login(&client, "alice", "there").await);
    let change = |current: &str, new: &str| json!({ "currentPassword": current, "newPassword": new });

    let wrong = client.post("/auth/password", Some(token(&here)), change("not it at all", "a new password")).await;
    assert_eq!((wrong.status, wrong.error_code()), (StatusCode::FORBIDDEN, "wrong_password"));
    let short = client.post("/auth/password", Some(token(&here)), change("alice-password", "short")).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let changed = client.post("/auth/password", Some(token(&here)), change("alice-password", "a new password")).await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);

    assert_eq!(works(&client, token(&here)).await, StatusCode::OK, "the session that changed it goes on");
    assert_eq!(works(&client, token(&there)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&client, &there).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&client, &here).await.0, StatusCode::OK);
    assert_eq!(client.login("alice", "alice-password").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(client.login("alice", "a new password").await.status, StatusCode::OK);

    // A restart forgets none of it: the process reads the ended sessions back from the log.
    server.restart();
    let client = Client::new(&server.base_url);
    assert_eq!(works(&client, token(&there)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(client.login("alice", "a new password").await.status, StatusCode::OK);
}

/// On Kafka, a session ended through one API process is refused by another at once, and that
/// process closes its sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ended_on_one_api_process_ends_on_the_others() {
    let Some(backend) = Backend::kafka_dynamodb("a_session_ended_on_one_api_process") else { return };
    let deployment = Deployment::new(backend);
    let _worker = deployment.consume();
    let (first, second) = (deployment.api(), deployment.api());
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let _alice = one.user("alice").await;
    let (phone, laptop) = (login(&one, "alice", "phone").await, login(&two, "alice", "laptop").await);
    let mut laptop_socket = Socket::connect(&second.base_url, token(&laptop), None).await;
    assert_eq!(works(&two, token(&laptop)).await, StatusCode::OK);

    let path = format!("/auth/sessions/{}", laptop["sessionId"].as_str().unwrap());
    assert_eq!(one.delete(&path, Some(token(&phone))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(closed_with(&mut laptop_socket).await, Some(4005));
    // The other process read the end from the log before it closed the socket.
    assert_eq!(works(&two, token(&laptop)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(works(&one, token(&laptop)).await, StatusCode::UNAUTHORIZED);
}

backend_tests!(
    refresh_rotates_and_a_reused_token_ends_the_session,
    sessions_are_listed_and_ended_from_another_device,
    a_new_password_ends_every_other_session
);
