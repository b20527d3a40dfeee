//! Following a request: its `X-Request-Id` on the answer, in the log lines of the handler and of
//! the projections, and in the headers of the events it wrote; log formats; CORS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The log lines of `file` that are JSON objects (every one must be).
fn json_lines(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(!text.contains('\u{1b}'), "ANSI codes in a log file: {text}");
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

async fn a_request_is_followed_by_its_id(backend: Backend) {
    let deployment = Deployment::new(backend);
    let log = deployment.data_dir().with_file_name("confab.log");
    let mut command = deployment.command(&["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]);
    let _ = command.env("RUST_LOG", "info,tower_http=debug,confab_consumers=debug");
    let mut server = deployment.spawn_logging_to(command, &log);
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;

    // The client's id comes back (and is on the event the request wrote: below).
    let sent = client
        .request(Method::POST, "/chat/send")
        .bearer_auth(&alice.token)
        .header("x-request-id", "trace-me-42")
        .json(&json!({"recipient": "bob", "message": "follow me"}));
    let sent = sent.send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    assert_eq!(sent.headers()["x-request-id"], "trace-me-42");

    // Without one, or with one unfit for a log line, the answer carries a new id of its own.
    let made = client.request(Method::GET, "/healthz").send().await.unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let unfit = client.request(Method::GET, "/healthz").header("x-request-id", "two words").send().await.unwrap();
    let replaced = unfit.headers()["x-request-id"].to_str().unwrap();
    assert!(replaced != "two words" && uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    // Refusals carry one too.
    let refused = client.request(Method::GET, "/chat/messages").header("x-request-id", "refused-1").send().await;
    let refused = refused.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()["x-request-id"], "refused-1");

    // The handler's lines carry the id in their span, and the projection that applied the
    // event names it: written by the time the history shows the message.
    assert_eq!(client.full_history(&alice, "bob").await.len(), 1);
    server.stop();
    let events = deployment.events("confab.messages");
    let written: Vec<&Value> = events.iter().filter(|e| e["headers"]["confab.request-id"] == "trace-me-42").collect();
    assert_eq!(written.len(), 1, "{events:?}");
    assert_eq!(written[0]["type"], "io.confab.events.DirectMessageSent");
    let lines = json_lines(&log);
    let of_request: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == "trace-me-42").collect();
    assert!(
        of_request.iter().any(|l| l["target"].as_str().unwrap_or("").starts_with("tower_http")),
        "no handler line carries the request id: {lines:?}"
    );
    assert!(of_request.iter().all(|l| l["span"]["path"] == "/chat/send"), "{of_request:?}");
    assert!(
        lines.iter().any(|l| l["request_id"] == "trace-me-42" && l["projection"] == "messages"),
        "no projection line names the request: {lines:?}"
    );
}

async fn browsers_on_allowed_origins_only(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_CORS_ORIGINS", "https://app.example.com,http://localhost:3000");
    let log = deployment.data_dir().with_file_name("confab.log");
    let mut command = deployment.command(&["serve", "--listen", "127.0.0.1:0"]);
    let _ = command.env("RUST_LOG", "info,tower_http=debug");
    let mut server = deployment.spawn_logging_to(command, &log);
    let client = Client::new(&server.base_url);
    let preflight = |origin: &'static str| {
        client
            .request(Method::OPTIONS, "/chat/send")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,x-request-id")
            .send()
    };

    let allowed = preflight("https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://app.example.com");
    let methods = headers["access-control-allow-methods"].to_str().unwrap().to_lowercase();
    assert!(methods.contains("post") && methods.contains("delete"), "{methods}");
    let asked = headers["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(asked.contains("authorization") && asked.contains("x-request-id"), "{asked}");
    assert!(headers.get("access-control-allow-credentials").is_none());

    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none(), "{:?}", refused.headers());

    // The real request from an allowed origin may read the answer and its request id.
    let user = client.user("carol").await;
    let listed = client
        .request(Method::GET, "/groups")
        .bearer_auth(&user.token)
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.headers()["access-control-allow-origin"], "http://localhost:3000");
    let exposed = listed.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"), "{exposed}");

    // A log written to a file has no colour codes, and names the request.
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request_id="), "{text}");
    assert!(!text.contains('\u{1b}'), "ANSI codes in a log file: {text}");
}

async fn no_origin_is_allowed_unless_configured(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let preflight = client
        .request(Method::OPTIONS, "/chat/send")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.headers().get("access-control-allow-origin").is_none());

    // An origin that is not one is refused at start-up, not silently allowed nothing.
    let mut bad = deployment.command(&["serve", "--listen", "127.0.0.1:0"]);
    let _ = bad.env("CONFAB_CORS_ORIGINS", "https://app.example.com/chat");
    let refused = deployment.refused(bad);
    assert!(refused.contains("not an origin"), "{refused}");
}

backend_tests!(
    a_request_is_followed_by_its_id,
    browsers_on_allowed_origins_only,
    no_origin_is_allowed_unless_configured
);
