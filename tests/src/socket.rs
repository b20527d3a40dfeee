//! A WebSocket client for `/ws`, as an app uses it: connect, read frames, ack, close.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, protocol::frame::CloseFrame},
};

pub use tungstenite::Error as WsError;

/// How long a test waits for one frame before failing.
const FRAME_DEADLINE: Duration = Duration::from_secs(30);

pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The cursor of the last message frame (or of `ready`).
    pub cursor: String,
    /// Frames that arrived before `ready`: what was missed, when connecting with `since`.
    pub missed: Vec<Value>,
}

fn ws_url(base_url: &str, query: &str) -> String {
    format!("{}/ws{query}", base_url.replacen("http://", "ws://", 1))
}

impl Socket {
    /// Connects with the token in the `Authorization` header and waits for `ready`.
    pub async fn connect(base_url: &str, token: &str, since: Option<&str>) -> Self {
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        let mut request = ws_url(base_url, &query).into_client_request().unwrap();
        let _ = request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        Self::open(request).await.expect("websocket connect")
    }

    /// As [`Socket::connect`], over a TCP connection whose receive buffer is `bytes`: a client on
    /// a slow network.
    pub async fn connect_with_receive_window(base_url: &str, token: &str, bytes: u32) -> Self {
        let mut request = ws_url(base_url, "").into_client_request().unwrap();
        let _ = request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let address = base_url.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(bytes).unwrap();
        let stream = tcp.connect(address).await.unwrap();
        let (stream, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await.expect("websocket connect");
        Self::handshaken(stream).await.unwrap()
    }

    /// Connects with a request the test builds (query token, protocol header...); the error is
    /// the refusal, with its HTTP response.
    pub async fn open(request: tungstenite::handshake::client::Request) -> Result<Self, WsError> {
        let (stream, _response) = tokio_tungstenite::connect_async(request).await?;
        Self::handshaken(stream).await
    }

    /// Connects with a request the test builds and does not wait for `ready`.
    pub async fn open_unready(request: tungstenite::handshake::client::Request) -> Result<Self, WsError> {
        let (stream, _response) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { stream, cursor: String::new(), missed: Vec::new() })
    }

    /// Reads up to `ready`, keeping what came before it as `missed`.
    async fn handshaken(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Result<Self, WsError> {
        let mut socket = Self { stream, cursor: String::new(), missed: Vec::new() };
        loop {
            let frame = socket.next_frame().await;
            if frame["type"] == "ready" {
                socket.cursor = frame["cursor"].as_str().unwrap().to_owned();
                return Ok(socket);
            }
            if let Some(cursor) = frame["cursor"].as_str() {
                socket.cursor = cursor.to_owned();
            }
            socket.missed.push(frame);
        }
    }

    /// A request for `/ws` with `query` and no credentials.
    pub fn request(base_url: &str, query: &str) -> tungstenite::handshake::client::Request {
        ws_url(base_url, query).into_client_request().unwrap()
    }

    /// The next JSON frame, answering pings; panics on close or after the deadline.
    pub async fn next_frame(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(FRAME_DEADLINE, self.stream.next())
                .await
                .expect("no frame within the deadline")
                .expect("connection closed")
                .expect("websocket error");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                    if frame["type"] == "message" {
                        self.cursor = frame["cursor"].as_str().unwrap().to_owned();
                    }
                    return frame;
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected websocket message: {other:?}"),
            }
        }
    }

    /// The next frame of `frame_type`, skipping others.
    pub async fn next_of(&mut self, frame_type: &str) -> Value {
        loop {
            let frame = self.next_frame().await;
            if frame["type"] == frame_type {
                return frame;
            }
        }
    }

    /// The next `n` message frames, skipping others.
    pub async fn messages(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            out.push(self.next_of("message").await);
        }
        out
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.unwrap();
    }

    /// Reads until the server closes; the frames before the close and the close frame.
    pub async fn until_closed(&mut self) -> (Vec<Value>, Option<CloseFrame>) {
        let mut frames = Vec::new();
        loop {
            let message = tokio::time::timeout(FRAME_DEADLINE, self.stream.next()).await.expect("no close in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                    if let Some(cursor) = frame["cursor"].as_str() {
                        self.cursor = cursor.to_owned();
                    }
                    frames.push(frame);
                }
                Some(Ok(Message::Close(close))) => return (frames, close),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (frames, None),
            }
        }
    }

    /// Sends one text message as it is, JSON or not.
    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
