//! A Lambda runtime of the test's own: the Runtime API a function polls (as documented at
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>, and as the local emulators
//! implement it), and in front of it, optionally, a gateway that turns real HTTP requests into
//! API Gateway (HTTP API v2 or REST v1) or ALB events and the function's answers back into HTTP
//! responses, as those services do. The events are written out here from the documented
//! examples, not built with the types the product parses them with.
use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

/// How long a function may take per invocation, as its timeout setting would say.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// What a function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// The error document the runtime posted (`errorType`, `errorMessage`).
    Error(Value),
}

struct Invocation {
    id: String,
    event: Value,
    deadline_ms: u128,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Queue {
    pending: Mutex<VecDeque<Invocation>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<Value>>,
}

/// The Runtime API: invocations queue up until the function asks for the next one.
#[derive(Clone)]
pub struct LambdaRuntime {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub api: String,
    queue: Arc<Queue>,
}

impl LambdaRuntime {
    pub async fn start() -> Self {
        let queue = Arc::new(Queue::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&queue));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the runtime api");
        let api = listener.local_addr().expect("runtime api address").to_string();
        let _server = tokio::spawn(async move { axum::serve(listener, app).await });
        Self { api, queue }
    }

    /// The environment Lambda gives a function's process, for `command`.
    pub fn environment(&self, command: &mut Command, function: &str) {
        let _ = command
            .env("AWS_LAMBDA_RUNTIME_API", &self.api)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/05/[$LATEST]test");
    }

    /// Invokes the function with `event` and waits for its answer, within the timeout.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let (answer, outcome) = oneshot::channel();
        let deadline = SystemTime::now() + INVOCATION_TIMEOUT;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).expect("clock").as_millis();
        let id = uuid::Uuid::new_v4().to_string();
        self.queue.pending.lock().unwrap().push_back(Invocation { id, event, deadline_ms, answer });
        self.queue.arrived.notify_one();
        match tokio::time::timeout(INVOCATION_TIMEOUT + Duration::from_secs(5), outcome).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!("the function did not answer within its timeout (init errors: {:?})", self.init_errors()),
        }
    }

    pub fn init_errors(&self) -> Vec<Value> {
        self.queue.init_errors.lock().unwrap().clone()
    }
}

async fn next(State(queue): State<Arc<Queue>>) -> Response {
    let invocation = loop {
        let arrived = queue.arrived.notified();
        if let Some(invocation) = queue.pending.lock().unwrap().pop_front() {
            break invocation;
        }
        arrived.await;
    };
    let _ = queue.waiting.lock().unwrap().insert(invocation.id.clone(), invocation.answer);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        let _ = headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    };
    put("lambda-runtime-aws-request-id", invocation.id);
    put("lambda-runtime-deadline-ms", invocation.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:confab".into());
    put("lambda-runtime-trace-id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".into());
    put("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.event.to_string()).into_response()
}

fn deliver(queue: &Queue, id: &str, outcome: Outcome) -> StatusCode {
    match queue.waiting.lock().unwrap().remove(id) {
        Some(answer) => {
            let _ = answer.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(State(queue): State<Arc<Queue>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    deliver(&queue, &id, Outcome::Response(value))
}

async fn failed(State(queue): State<Arc<Queue>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    deliver(&queue, &id, Outcome::Error(serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

async fn init_error(State(queue): State<Arc<Queue>>, body: Bytes) -> StatusCode {
    queue.init_errors.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    StatusCode::ACCEPTED
}

/// Which service sits in front of the function, and so which event it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// API Gateway HTTP API, payload format 2.0.
    HttpApi,
    /// API Gateway REST API (payload 1.0), stage `prod`, a `{proxy+}` resource.
    RestApi,
    /// An Application Load Balancer target group, multi-value headers on.
    Alb,
}

/// An HTTP front for a function: real requests in, events to the runtime, answers out.
pub struct Gateway {
    pub base_url: String,
}

impl Gateway {
    /// Serves on a free port of `ip`; every request becomes an invocation of `runtime`'s
    /// function with `front`'s event, with the client's address as its source.
    pub async fn start(runtime: LambdaRuntime, front: Front) -> Self {
        let app = Router::new().fallback(forward).with_state((runtime, front));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the gateway");
        let base_url = format!("http://{}", listener.local_addr().expect("gateway address"));
        let _server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
        });
        Self { base_url }
    }
}

async fn forward(
    State((runtime, front)): State<(LambdaRuntime, Front)>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = event_for(front, &method, &uri, &headers, &body, &peer.ip().to_string());
    match runtime.invoke(event).await {
        Outcome::Response(answer) => http_response(&answer),
        // What API Gateway answers when the integration fails.
        Outcome::Error(error) => {
            (StatusCode::BAD_GATEWAY, format!("{{\"message\":\"Internal Server Error\",\"error\":{error}}}"))
                .into_response()
        }
    }
}

/// Headers as single values (the last one wins, as API Gateway does) and as lists.
fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    let (mut single, mut multi) = (serde_json::Map::new(), serde_json::Map::<String, Value>::new());
    for (name, value) in headers {
        let value = value.to_str().unwrap_or_default().to_owned();
        let _ = single.insert(name.as_str().to_owned(), Value::String(value.clone()));
        let list = multi.entry(name.as_str().to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(Value::String(value));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// Query parameters as single values and as lists; JSON null when there are none (as the
/// REST and ALB events have them).
fn query_maps(uri: &Uri) -> (Value, Value) {
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else { return (Value::Null, Value::Null) };
    let (mut single, mut multi) = (serde_json::Map::new(), serde_json::Map::<String, Value>::new());
    for (name, value) in url_pairs(query) {
        let _ = single.insert(name.clone(), Value::String(value.clone()));
        if let Value::Array(list) = multi.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
            list.push(Value::String(value));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

fn event_for(front: Front, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], source_ip: &str) -> Value {
    let (single, multi) = header_maps(headers);
    let (query, multi_query) = query_maps(uri);
    let path = uri.path();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64;
    let body_value = if body.is_empty() { Value::Null } else { Value::String(STANDARD.encode(body)) };
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("test");
    match front {
        Front::HttpApi => json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": uri.query().unwrap_or(""),
            "headers": single,
            "queryStringParameters": query,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "api-id",
                "http": {
                    "method": method.as_str(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": user_agent,
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "05/Dec/2026:19:03:58 +0000",
                "timeEpoch": now,
            },
            "body": body_value,
            "isBase64Encoded": !body.is_empty(),
        }),
        Front::RestApi => json!({
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method.as_str(),
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": { "proxy": path.trim_start_matches('/') },
            "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012",
                "resourceId": "123456",
                "stage": "prod",
                "requestId": uuid::Uuid::new_v4().to_string(),
                "requestTimeEpoch": now,
                "identity": { "sourceIp": source_ip, "userAgent": user_agent },
                "resourcePath": "/{proxy+}",
                "httpMethod": method.as_str(),
                "apiId": "1234567890",
                "path": format!("/prod{path}"),
                "protocol": "HTTP/1.1",
            },
            "body": body_value,
            "isBase64Encoded": !body.is_empty(),
        }),
        Front::Alb => {
            // An ALB appends the peer's address to X-Forwarded-For.
            let mut multi = multi;
            let forwarded = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
                Some(earlier) => format!("{earlier}, {source_ip}"),
                None => source_ip.to_owned(),
            };
            multi["x-forwarded-for"] = json!([forwarded]);
            json!({
                "requestContext": {
                    "elb": { "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/confab/6d0ecf831eec9f09" }
                },
                "httpMethod": method.as_str(),
                "path": path,
                "multiValueQueryStringParameters": if multi_query.is_null() { json!({}) } else { multi_query },
                "multiValueHeaders": multi,
                "body": if body.is_empty() { json!("") } else { json!(STANDARD.encode(body)) },
                "isBase64Encoded": !body.is_empty(),
            })
        }
    }
}

/// The HTTP response a function's answer describes (the same shape for all three fronts:
/// `statusCode`, `headers` and/or `multiValueHeaders`, `body`, `isBase64Encoded`, `cookies`).
fn http_response(answer: &Value) -> Response {
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok());
    let Some(status) = status else {
        return (StatusCode::BAD_GATEWAY, format!("malformed Lambda response: {answer}")).into_response();
    };
    let body = match (answer["body"].as_str(), answer["isBase64Encoded"].as_bool()) {
        (Some(text), Some(true)) => STANDARD.decode(text).expect("base64 body"),
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, _) => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(single) = answer["headers"].as_object() {
        for (name, value) in single {
            if let (Ok(name), Some(Ok(value))) =
                (name.parse::<axum::http::HeaderName>(), value.as_str().map(HeaderValue::from_str))
            {
                let _ = headers.insert(name, value);
            }
        }
    }
    if let Some(multi) = answer["multiValueHeaders"].as_object() {
        for (name, values) in multi {
            let Ok(name) = name.parse::<axum::http::HeaderName>() else { continue };
            let _ = headers.remove(&name);
            for value in values.as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    let _ = headers.append(name.clone(), value);
                }
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten().filter_map(|c| c.as_str()) {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            let _ = headers.append("set-cookie", value);
        }
    }
    response
}

/// A Kafka event as a Kafka event source mapping delivers it (MSK and self-managed Kafka share
/// the shape): records grouped by `topic-partition`, keys and values base64, header values as
/// byte arrays.
pub fn kafka_event(records: &[KafkaRecordIn]) -> Value {
    let mut grouped: serde_json::Map<String, Value> = serde_json::Map::new();
    for record in records {
        let entry = json!({
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp": record.timestamp_ms,
            "timestampType": "CREATE_TIME",
            "key": record.key.as_ref().map(|k| STANDARD.encode(k)),
            "value": record.value.as_ref().map(|v| STANDARD.encode(v)),
            "headers": record.headers.iter().map(|(name, value)| {
                json!({ name.clone(): value.iter().map(|&b| b as i8).collect::<Vec<i8>>() })
            }).collect::<Vec<_>>(),
        });
        let list = grouped.entry(format!("{}-{}", record.topic, record.partition)).or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(entry);
        }
    }
    json!({
        "eventSource": "SelfManagedKafka",
        "bootstrapServers": "127.0.0.1:9092",
        "records": grouped,
    })
}

/// One record of a topic, as the broker holds it.
#[derive(Debug, Clone)]
pub struct KafkaRecordIn {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}
