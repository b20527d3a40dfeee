//! Watching Confab: request ids on the answer, in the log lines of the handler and of the
//! projections, and in the headers of the events; log formats; `/metrics` after a scripted load,
//! and every metric the Grafana dashboard queries; CORS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, path::Path, time::Duration};

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
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

/// One sample of a scrape: its metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus's text format (the subset Confab writes: no escaped quotes in values).
fn samples(text: &str) -> Vec<Sample> {
    let mut all = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                (key.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        all.push(Sample { name: name.to_owned(), labels, value: value.parse().unwrap() });
    }
    all
}

/// The sum of the samples called `name` whose labels include `with`.
fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && with.iter().all(|(k, v)| s.labels.get(*k).is_some_and(|l| l == v)))
        .map(|s| s.value)
        .sum()
}

async fn scrape(client: &Client, token: &str) -> Vec<Sample> {
    let answer = client.request(Method::GET, "/metrics").bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let content_type = answer.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    samples(&answer.text().await.unwrap())
}

/// The metric names the dashboard's queries read (a histogram's by its base name).
fn dashboard_metrics() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/dashboards/confab.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = regex::Regex::new(r"confab_[a-z_]+").unwrap();
    let mut names: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .flat_map(|target| {
            let expr = target["expr"].as_str().unwrap().to_owned();
            name.find_iter(&expr).map(|m| m.as_str().to_owned()).collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 15, "{names:?}");
    names
}

const SENDS: usize = 5;

async fn metrics_count_what_was_done(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_METRICS_TOKEN", "scrape-secret-0123456789");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);

    // Only with the token.
    let refused = client.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = client.request(Method::GET, "/metrics").bearer_auth("scrape-secret-012345678X").send().await;
    assert_eq!(wrong.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The load: two accounts, a socket, five messages, a history read.
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let mut socket = Socket::connect(&server.base_url, &bob.token, None).await;
    for i in 0..SENDS {
        let sent = client.send(&alice, "bob", &format!("counted {i}")).await;
        assert!(sent.status.is_success(), "{sent:?}");
    }
    assert_eq!(socket.messages(SENDS).await.len(), SENDS);
    assert_eq!(client.full_history(&alice, "bob").await.len(), SENDS);

    // Lag goes back to zero on every partition of every group once the projections catch up;
    // a running consumer reports it every two seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let scraped = loop {
        let scraped = scrape(&client, "scrape-secret-0123456789").await;
        let lags: Vec<&Sample> = scraped.iter().filter(|s| s.name == "confab_consumer_lag").collect();
        let messages_applied = scraped
            .iter()
            .filter(|s| s.name == "confab_consumer_offset" && s.labels["group"].ends_with("projector.messages"))
            .map(|s| s.value)
            .sum::<f64>();
        if !lags.is_empty() && lags.iter().all(|s| s.value == 0.0) && messages_applied >= SENDS as f64 {
            break scraped;
        }
        assert!(tokio::time::Instant::now() < deadline, "lag never reached zero: {lags:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    let requests = |method: &str, route: &str| {
        total(&scraped, "confab_http_requests_total", &[("method", method), ("route", route)])
    };
    assert_eq!(requests("POST", "/chat/send"), SENDS as f64);
    assert_eq!(requests("POST", "/auth/register"), 2.0);
    assert_eq!(requests("POST", "/auth/login"), 2.0);
    assert_eq!(
        total(&scraped, "confab_http_requests_total", &[("route", "/chat/send"), ("status", "200")]),
        SENDS as f64
    );
    assert_eq!(total(&scraped, "confab_http_request_duration_seconds_count", &[("route", "/chat/send")]), SENDS as f64);
    assert_eq!(total(&scraped, "confab_ws_frames_sent_total", &[("type", "message")]), SENDS as f64);
    assert_eq!(total(&scraped, "confab_ws_frames_sent_total", &[("type", "ready")]), 1.0);
    assert_eq!(total(&scraped, "confab_ws_connections", &[]), 1.0);
    assert!(total(&scraped, "confab_log_append_seconds_count", &[("topic", "confab.messages")]) >= SENDS as f64);
    // Two registrations and two logins (each starts a session).
    assert_eq!(total(&scraped, "confab_log_append_seconds_count", &[("topic", "confab.users")]), 4.0);
    assert_eq!(total(&scraped, "confab_dead_letters_total", &[]), 0.0);
    assert!(total(&scraped, "confab_projection_batch_seconds_count", &[("projection", "messages")]) >= 1.0);

    // Every metric the dashboard reads is exported.
    for name in dashboard_metrics() {
        let exported = scraped.iter().any(|s| {
            s.name == name || ["_bucket", "_sum", "_count"].iter().any(|suffix| s.name == format!("{name}{suffix}"))
        });
        assert!(exported, "the dashboard queries {name}, which /metrics does not export");
    }

    // A closed socket is no longer counted.
    socket.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while total(&scrape(&client, "scrape-secret-0123456789").await, "confab_ws_connections", &[]) != 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "the closed socket is still counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A worker serves its own on its health listener, open (it is bound where operators reach).
    if !deployment.is_embedded() {
        let worker = deployment.analytics();
        let worker_client = Client::new(&worker.base_url);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let answer = worker_client.request(Method::GET, "/metrics").send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
            let scraped = samples(&answer.text().await.unwrap());
            if scraped.iter().any(|s| s.name == "confab_consumer_lag") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the worker never reported its lag");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

backend_tests!(
    metrics_count_what_was_done,
    a_request_is_followed_by_its_id,
    browsers_on_allowed_origins_only,
    no_origin_is_allowed_unless_configured
);
