//! OpenTelemetry trace export (`--otlp-endpoint`): a request's span continues the client's W3C
//! trace, its append is a child span, and the projection batch that applied the event links to
//! that trace, all received by an OTLP/HTTP receiver as a collector would; and nothing of it when
//! export is off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, routing::post};
use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

/// The client's trace, as a browser instrumented with OpenTelemetry would send it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// Span kinds of OTLP: server, producer, consumer.
const SERVER: i64 = 2;
const PRODUCER: i64 = 4;
const CONSUMER: i64 = 5;

type Received = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP receiver on a port of its own; every span it has been sent.
async fn receiver() -> (String, Received) {
    async fn take(State(received): State<Received>, Json(body): Json<Value>) -> Json<Value> {
        let mut spans = received.lock().unwrap();
        for resource in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let mut span = span.clone();
                    span["resource"] = resource["resource"].clone();
                    spans.push(span);
                }
            }
        }
        Json(json!({}))
    }
    let received = Received::default();
    let app = Router::new().route("/v1/traces", post(take)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _server = tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let attributes = span["attributes"].as_array()?;
    let value = &attributes.iter().find(|a| a["key"] == key)?["value"];
    value.get("stringValue").or_else(|| value.get("intValue"))
}

/// The spans received once `found` finds what it looks for, within the exporter's schedule
/// (set to 100 ms below) plus generous slack.
async fn wait_for(received: &Received, found: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let spans = received.lock().unwrap().clone();
        if found(&spans) {
            return spans;
        }
        assert!(tokio::time::Instant::now() < deadline, "not among the spans received: {spans:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn in_trace(spans: &[Value], kind: i64) -> Vec<&Value> {
    spans.iter().filter(|s| s["traceId"] == TRACE_ID && s["kind"] == kind).collect()
}

fn linked_to_trace(spans: &[Value]) -> Vec<&Value> {
    let links_here = |s: &&Value| s["links"].as_array().into_iter().flatten().any(|l| l["traceId"] == TRACE_ID);
    spans.iter().filter(|s| s["kind"] == CONSUMER).filter(links_here).collect()
}

async fn a_request_is_traced_through_the_log(backend: Backend) {
    let (endpoint, received) = receiver().await;
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_OTLP_ENDPOINT", &endpoint).env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;

    let sent = client
        .request(Method::POST, "/chat/send")
        .bearer_auth(&alice.token)
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"))
        .header("x-request-id", "traced-1")
        .json(&json!({"recipient": "bob", "message": "trace me"}));
    let sent = sent.send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    // The response carries no trace context of its own; the id is the client's handle.
    assert_eq!(sent.headers()["x-request-id"], "traced-1");

    let spans = wait_for(&received, |spans| {
        !in_trace(spans, SERVER).is_empty()
            && !in_trace(spans, PRODUCER).is_empty()
            && !linked_to_trace(spans).is_empty()
    })
    .await;

    // The server span continues the client's trace, named for its route.
    let server_spans = in_trace(&spans, SERVER);
    assert_eq!(server_spans.len(), 1, "{server_spans:#?}");
    let request = server_spans[0];
    assert_eq!(request["parentSpanId"], CLIENT_SPAN_ID);
    assert_eq!(request["name"], "POST /chat/send");
    assert_eq!(attribute(request, "request_id").unwrap(), "traced-1");
    assert_eq!(attribute(request, "http.route").unwrap(), "/chat/send");
    assert_eq!(attribute(request, "http.response.status_code").unwrap(), "200");
    let service = request["resource"]["attributes"].as_array().unwrap();
    assert!(service.iter().any(|a| a["key"] == "service.name" && a["value"]["stringValue"] == "confab"), "{service:?}");

    // Its append is a child of it.
    let appends = in_trace(&spans, PRODUCER);
    let append = appends.iter().find(|s| s["name"] == "send confab.messages").expect("an append span");
    assert_eq!(append["parentSpanId"], request["spanId"]);

    // The messages projection's batch links to the request's append, through the record.
    let batches = linked_to_trace(&spans);
    let applied =
        batches.iter().find(|s| s["name"] == "apply messages").expect("a batch span of the messages projection");
    let links = applied["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["spanId"] == append["spanId"]), "{links:?}");
}

/// Off by default: the records carry no trace context, and nothing listens for it.
async fn nothing_is_traced_unless_asked(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let sent = client
        .request(Method::POST, "/chat/send")
        .bearer_auth(&alice.token)
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"))
        .json(&json!({"recipient": "bob", "message": "untraced"}));
    assert!(sent.send().await.unwrap().status().is_success());
    server.stop();
    let events = deployment.events("confab.messages");
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0]["headers"].get("traceparent").is_none(), "{events:?}");
}

/// An endpoint the exporter cannot use is refused at start-up, not discovered when spans are lost.
async fn an_unusable_endpoint_is_refused(backend: Backend) {
    let deployment = Deployment::new(backend);
    for endpoint in ["https://collector.example.com:4318", "127.0.0.1:4318", "not a url"] {
        let mut command = deployment.command(&["serve", "--listen", "127.0.0.1:0"]);
        let _ = command.env("CONFAB_OTLP_ENDPOINT", endpoint);
        let refusal = deployment.refused(command);
        assert!(refusal.contains("--otlp-endpoint"), "{endpoint}: {refusal}");
    }
}

backend_tests!(a_request_is_traced_through_the_log, nothing_is_traced_unless_asked, an_unusable_endpoint_is_refused);
