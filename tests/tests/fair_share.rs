//! No one client can take what the others need: requests in flight and open connections are
//! bounded per client address (an IPv6 client by its /64; the unit tests in `confab-api` cover
//! that rule, this machine has no IPv6 range to test from), uploads must keep up a minimum rate,
//! and an upload URL works once. Two clients are two loopback addresses: 127.0.0.2 floods,
//! 127.0.0.3 is everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::IpAddr, time::Duration};

use confab_e2e::{Backend, Client, Deployment, backend_tests, read_response};
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const FLOODER: &str = "127.0.0.2";
const EVERYONE_ELSE: &str = "127.0.0.3";

fn ip(address: &str) -> IpAddr {
    address.parse().unwrap()
}

/// A connection to `server` (host:port) from `local`.
async fn connect_from(local: &str, server: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(server.parse().unwrap()).await.unwrap()
}

fn host(server: &confab_e2e::Confab) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

/// A login that declares a 100-byte body and sends one byte of it.
fn slow_login(address: &str) -> String {
    format!(
        "POST /auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
}

/// Whether the server closed `stream` without answering, within 30 s.
async fn closed_unanswered(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

async fn one_address_flooding_slow_bodies_leaves_the_others_answered(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment
        .env("CONFAB_HTTP_MAX_IN_FLIGHT", "16")
        .env("CONFAB_HTTP_MAX_IN_FLIGHT_PER_CLIENT", "4")
        .env("CONFAB_HTTP_BODY_IDLE_TIMEOUT_SECS", "600");
    let server = deployment.serve();
    let address = host(&server);
    let others = Client::from_address(&server.base_url, ip(EVERYONE_ELSE));
    let (alice, _bob) = (others.user("alice").await, others.user("bob").await);

    // More slow logins than the whole API handles at once, all from one address: without a
    // bound per client they would take every place, and everyone else would get 503s.
    let mut flood = Vec::new();
    for _ in 0..20 {
        let mut stream = connect_from(FLOODER, &address).await;
        stream.write_all(slow_login(&address).as_bytes()).await.unwrap();
        flood.push(stream);
    }
    let flooder = Client::from_address(&server.base_url, ip(FLOODER));
    let refused = async {
        loop {
            let response = flooder.request(Method::GET, "/healthz").send().await.unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                return response;
            }
            // Until the slow bodies have been taken in, the address still has places.
            assert_eq!(response.status(), StatusCode::OK);
            tokio::task::yield_now().await;
        }
    };
    let refused = tokio::time::timeout(Duration::from_secs(30), refused).await.expect("the flooder was never refused");
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_in_flight");

    // Everyone else is answered as if nothing were happening: logins, sends, history.
    for i in 0..10 {
        assert_eq!(others.login("alice", "alice-password").await.status, StatusCode::OK);
        assert_eq!(others.send(&alice, "bob", &format!("m{i}")).await.status, StatusCode::OK);
    }
    assert_eq!(others.full_history(&alice, "bob").await.len(), 10);

    // The flood's places come back when it goes.
    drop(flood);
    let served = async {
        while flooder.request(Method::GET, "/healthz").send().await.unwrap().status() != StatusCode::OK {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), served).await.expect("the address was never served again");
}

async fn one_address_holds_at_most_its_share_of_connections(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_HTTP_MAX_CONNECTIONS_PER_CLIENT", "5");
    let server = deployment.serve();
    let address = host(&server);
    let health = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n");

    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(FLOODER, &address).await);
    }
    // Connections are taken in the order they came: the sixth is closed unanswered.
    let mut sixth = connect_from(FLOODER, &address).await;
    let _ = sixth.write_all(health.as_bytes()).await;
    assert!(closed_unanswered(&mut sixth).await, "a sixth connection from one address was served");
    // The five held are served, and so is everyone else.
    held[0].write_all(health.as_bytes()).await.unwrap();
    assert!(read_response(&mut held[0]).await.starts_with("HTTP/1.1 200"));
    let others = Client::from_address(&server.base_url, ip(EVERYONE_ELSE));
    assert_eq!(others.get("/healthz", None).await.status, StatusCode::OK);

    // One closes; then the address may open another.
    drop(held.pop());
    let reopened = async {
        loop {
            let mut stream = connect_from(FLOODER, &address).await;
            let _ = stream.write_all(health.as_bytes()).await;
            if !closed_unanswered(&mut stream).await {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), reopened).await.expect("a closed connection's place never came back");
}

async fn an_upload_url_works_once(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let bytes = b"the first upload".to_vec();
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    assert!(client.upload(&ticket.body, bytes.clone()).await.status().is_success());

    // The same url again, other bytes of the same size: refused, by Confab (409) or S3 (412).
    let again = client.upload(&ticket.body, b"a swapped upload".to_vec()).await;
    let expected = if deployment.is_embedded() { StatusCode::CONFLICT } else { StatusCode::PRECONDITION_FAILED };
    assert_eq!(again.status(), expected);
    if deployment.is_embedded() {
        let body: serde_json::Value = again.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upload_url_used");
    }
    let id = ticket.body["attachmentId"].as_str().unwrap();
    let completed = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!(completed.status, StatusCode::OK, "{}", completed.body);
    assert_eq!(client.download(&bob, id).await, bytes);
}

/// Embedded only: on S3 uploads go to S3, which keeps its own timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trickled_upload_is_cut_off() {
    let mut deployment = Deployment::new(Backend::Embedded);
    let _ = deployment.env("CONFAB_UPLOAD_MIN_BYTES_PER_SEC", "1000");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, _bob) = (client.user("alice").await, client.user("bob").await);
    let bytes = vec![7u8; 50_000];
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    let url = reqwest::Url::parse(ticket.body["uploadUrl"].as_str().unwrap()).unwrap();
    let address = host(&server);
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: {address}\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        url.path(),
        url.query().unwrap(),
        bytes.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A byte every 100 ms, well inside the idle timeout and far below 1,000 bytes a second: cut
    // off once the 10 s grace is over, long before the 50 s the whole body would take.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = async {
        for _ in 0..bytes.len() {
            if writer.write_all(&[7]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::future::pending::<()>().await;
    };
    let answer = async {
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while !String::from_utf8_lossy(&answer).contains("upload_too_slow") {
            let n = reader.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = tokio::time::timeout(Duration::from_secs(40), async {
        tokio::select! {
            answer = answer => answer,
            () = trickle => unreachable!(),
        }
    })
    .await
    .expect("the trickle was never cut off");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Nothing of it was kept: the url still works for a client that keeps up.
    assert!(client.upload(&ticket.body, bytes).await.status().is_success());
}

backend_tests!(
    one_address_flooding_slow_bodies_leaves_the_others_answered,
    one_address_holds_at_most_its_share_of_connections,
    an_upload_url_works_once,
);
