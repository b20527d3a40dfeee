use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An HTTP answer: status and JSON body (Null when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `error.code` of an error body, asserting the error shape on the way.
    pub fn error_code(&self) -> &str {
        let code = self.body["error"]["code"].as_str();
        assert!(
            code.is_some() && self.body["error"]["message"].is_string(),
            "not an error body: {} {}",
            self.status,
            self.body
        );
        code.unwrap_or_default()
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub token: String,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        Self { http: reqwest::Client::new(), base_url: base_url.to_owned() }
    }

    /// A client whose connections come from `local` (any of 127.0.0.0/8 reaches a server on
    /// 127.0.0.1), so tests can be two clients to the per-client bounds.
    pub fn from_address(base_url: &str, local: std::net::IpAddr) -> Self {
        let http = reqwest::Client::builder().local_address(local).build().expect("an http client");
        Self { http, base_url: base_url.to_owned() }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status();
        let bytes = response.bytes().await.expect("response body");
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("http request");
        let status = response.status();
        let bytes = response.bytes().await.expect("response body");
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// A POST that declares a `Content-Length` of `declared` bytes but sends only the headers.
    /// A server that refuses a body by its declared size answers without the body (at once, or
    /// once the client has paused); the abuse tests also send a whole oversized body.
    pub async fn post_declaring_length(&self, path: &str, token: &str, declared: usize) -> Reply {
        use tokio::io::AsyncWriteExt;
        let address = self.base_url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{"
        );
        stream.write_all(head.as_bytes()).await.expect("send request head");
        let answer = read_response(&mut stream).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer.as_str(), ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()).expect("a status line");
        Reply {
            status: StatusCode::from_u16(status).expect("a status code"),
            body: serde_json::from_str(body).unwrap_or(Value::Null),
        }
    }

    /// `/readyz` as the deployment's operator reads it: every check's error and the offsets
    /// applied (anyone else reads only whether each check passed).
    pub async fn readiness(&self) -> Reply {
        self.get("/readyz", Some(&crate::operator_token())).await
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn register(&self, username: &str, password: &str) -> Reply {
        self.post("/auth/register", None, json!({ "username": username, "password": password })).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post("/auth/login", None, json!({ "username": username, "password": password })).await
    }

    /// Registers and logs in a fresh user.
    /// Registers a user and logs in once the projection, running in another process, has them:
    /// with a short read-your-writes timeout, register may answer before that.
    pub async fn user_projected_elsewhere(&self, username: &str) -> User {
        let password = format!("{username}-password");
        let reply = self.register(username, &password).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        // Generous: a crashed member's partitions move after a session timeout plus a rejoin.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let token = loop {
            if let Some(token) = self.login(username, &password).await.body["token"].as_str() {
                break token.to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "{username} could not log in in time");
            // A poll interval: the loop ends when the login works.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        User { id: reply.body["userId"].as_str().unwrap().to_owned(), username: username.to_owned(), token }
    }

    pub async fn user(&self, username: &str) -> User {
        let password = format!("{username}-password");
        let registered = self.register(username, &password).await;
        assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
        let login = self.login(username, &password).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        User {
            id: registered.body["userId"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
            token: login.body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn send(&self, from: &User, to: &str, message: &str) -> Reply {
        self.post("/chat/send", Some(&from.token), json!({ "recipient": to, "message": message })).await
    }

    pub async fn send_idempotent(&self, from: &User, to: &str, message: &str, client_message_id: &str) -> Reply {
        let body = json!({ "recipient": to, "message": message, "clientMessageId": client_message_id });
        self.post("/chat/send", Some(&from.token), body).await
    }

    /// Every message of the conversation with `peer`, oldest first, following cursors.
    pub async fn full_history(&self, user: &User, peer: &str) -> Vec<Value> {
        self.all_pages(user, &format!("/chat/messages?recipient={peer}&limit=200")).await
    }

    /// Every message a history endpoint serves, oldest first, following `nextCursor` back.
    async fn all_pages(&self, user: &User, first_page: &str) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut path = first_page.to_owned();
        loop {
            let page = self.get(&path, Some(&user.token)).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            pages.push(page.body["messages"].as_array().unwrap().clone());
            match page.body["nextCursor"].as_str() {
                Some(next) => path = format!("{first_page}&before={next}"),
                None => break,
            }
        }
        pages.into_iter().rev().flatten().collect()
    }

    /// Polls `/readyz` until it answers 200 (projections subscribe after the listener is up), for
    /// at most a minute; returns the ready body.
    pub async fn ready(&self) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let ready = self.get("/readyz", None).await;
            if ready.status == StatusCode::OK {
                return ready.body;
            }
            assert!(std::time::Instant::now() < deadline, "never ready: {}", ready.body);
            // A poll interval: the loop ends on the condition.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Registers `usernames` without logging them in, a few at a time.
    pub async fn register_many(&self, usernames: &[String]) {
        use futures::StreamExt;
        let registrations = usernames.iter().map(|name| async move {
            let reply = self.register(name, &format!("{name}-password")).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{name}: {}", reply.body);
        });
        let _: Vec<()> = futures::stream::iter(registrations).buffer_unordered(8).collect().await;
    }

    pub async fn create_group(&self, owner: &User, name: &str, members: &[&str]) -> Reply {
        self.post("/groups/create", Some(&owner.token), json!({ "name": name, "members": members })).await
    }

    /// Creates a group, asserting success; returns its id.
    pub async fn group(&self, owner: &User, name: &str, members: &[&str]) -> String {
        let reply = self.create_group(owner, name, members).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["groupId"].as_str().unwrap().to_owned()
    }

    pub async fn add_member(&self, admin: &User, group: &str, member: &str) -> Reply {
        self.put(&format!("/groups/{group}/add-member"), Some(&admin.token), json!({ "member": member })).await
    }

    pub async fn set_role(&self, admin: &User, group: &str, member: &str, role: &str) -> Reply {
        let path = format!("/groups/{group}/members/{member}/role");
        self.put(&path, Some(&admin.token), json!({ "role": role })).await
    }

    pub async fn group_send(&self, from: &User, group: &str, message: &str) -> Reply {
        self.post(&format!("/groups/{group}/send"), Some(&from.token), json!({ "message": message })).await
    }

    /// Every message of the group the user may read, oldest first, following cursors.
    pub async fn group_history(&self, user: &User, group: &str) -> Vec<Value> {
        self.all_pages(user, &format!("/groups/{group}/messages?limit=200")).await
    }

    /// Asks to upload `bytes` (declared with `sha256` of `declared`, which is `bytes` unless a
    /// test lies) to `target` (`{"recipient": ..}` or `{"groupId": ..}`); the ticket.
    pub async fn request_upload(&self, user: &User, target: Value, bytes: &[u8], declared: &[u8]) -> Reply {
        use sha2::Digest;
        let mut body = json!({
            "fileName": "photo \u{1f4f7}.png",
            "contentType": "image/png",
            "size": bytes.len(),
            "sha256": hex::encode(sha2::Sha256::digest(declared)),
        });
        if let (Some(body), Some(target)) = (body.as_object_mut(), target.as_object()) {
            body.extend(target.clone());
        }
        self.post("/attachments", Some(&user.token), body).await
    }

    /// Uploads `bytes` with a ticket's URL, method and headers: what a client does itself.
    pub async fn upload(&self, ticket: &Value, bytes: Vec<u8>) -> reqwest::Response {
        assert_eq!(ticket["uploadMethod"], "PUT", "{ticket}");
        let mut request = self.http.put(ticket["uploadUrl"].as_str().expect("uploadUrl")).body(bytes);
        for (name, value) in ticket["uploadHeaders"].as_object().expect("uploadHeaders") {
            request = request.header(name, value.as_str().expect("header value"));
        }
        request.send().await.expect("upload request")
    }

    /// Asks to upload `bytes` as the text file `file_name` for `recipient`, and uploads them
    /// (unverified: sending it verifies it); its id.
    pub async fn uploaded_text_file(&self, user: &User, recipient: &str, file_name: &str, bytes: &[u8]) -> String {
        use sha2::Digest;
        let body = json!({
            "recipient": recipient,
            "fileName": file_name,
            "contentType": "text/plain",
            "size": bytes.len(),
            "sha256": hex::encode(sha2::Sha256::digest(bytes)),
        });
        let ticket = self.post("/attachments", Some(&user.token), body).await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
        let uploaded = self.upload(&ticket.body, bytes.to_vec()).await;
        assert!(uploaded.status().is_success(), "upload: {}", uploaded.status());
        ticket.body["attachmentId"].as_str().unwrap().to_owned()
    }

    /// Requests, uploads and verifies an attachment of `bytes`; its id.
    pub async fn attachment(&self, user: &User, target: Value, bytes: &[u8]) -> String {
        let ticket = self.request_upload(user, target, bytes, bytes).await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
        let uploaded = self.upload(&ticket.body, bytes.to_vec()).await;
        assert!(uploaded.status().is_success(), "upload: {}", uploaded.status());
        let id = ticket.body["attachmentId"].as_str().unwrap().to_owned();
        let verified = self.post(&format!("/attachments/{id}/complete"), Some(&user.token), json!({})).await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        id
    }

    /// Downloads an attachment as a participant does: a download ticket, then its URL.
    pub async fn download(&self, user: &User, attachment_id: &str) -> Vec<u8> {
        let ticket = self.get(&format!("/attachments/{attachment_id}"), Some(&user.token)).await;
        assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.body);
        let response = self.http.get(ticket.body["downloadUrl"].as_str().unwrap()).send().await.expect("download");
        assert_eq!(response.status(), StatusCode::OK);
        // Never rendered in place (no stored XSS on the store's origin).
        let disposition = response.headers().get("content-disposition").and_then(|v| v.to_str().ok());
        assert!(disposition.is_some_and(|d| d.starts_with("attachment")), "content-disposition {disposition:?}");
        response.bytes().await.expect("download body").to_vec()
    }

    /// The contents of `group_history`.
    pub async fn group_contents(&self, user: &User, group: &str) -> Vec<String> {
        self.group_history(user, group).await.iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
    }
}

/// One whole HTTP/1.1 response (head and `Content-Length` body) read from a raw connection, as
/// text; within 30 s, or the test fails.
pub async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.expect("read response");
            response.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&response).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            assert!(n > 0, "connection closed before a whole response: {text}");
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read).await.expect("no whole response in time")
}
