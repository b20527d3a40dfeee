//! `GET /ws`: one connection's life. Authenticate before upgrading; send what the client missed
//! (with `since`), then `ready`, then live frames; turn the client's acks, reads and typing into
//! receipts and typing frames; ping, and drop connections that stop answering.
use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use confab_producers::{Acks, Caller};
use confab_schemas::Topic;
use serde::Deserialize;

use crate::{
    ApiError, AppState,
    extract::{QueryParams, bearer_header},
    live::{
        cursor::Cursor,
        frames::{self, Outbound},
        hub::Attachment,
        presence,
        remembered::Remembered,
        resume::{self, ResumeLimits},
        typing,
    },
    metrics,
};

/// Close code telling a client it fell too far behind: reconnect with `since` = its last cursor.
pub(crate) const CLOSE_RESUME: u16 = 4001;
/// Close code for a connection closed because its user opened one too many.
pub(crate) const CLOSE_REPLACED: u16 = 4002;
/// Close code for a connection whose token expired: reconnect with a fresh one.
pub(crate) const CLOSE_TOKEN_EXPIRED: u16 = 4003;
/// Close code for a connection whose session ended (logout, revoked, password changed): its
/// tokens are refused from now on, so log in again.
pub(crate) const CLOSE_SESSION_ENDED: u16 = 4005;
/// Close code for a `since` too far back to resume from: page the history over HTTP, then
/// connect without `since`.
pub(crate) const CLOSE_RESUME_TOO_FAR: u16 = 4004;
/// Close code for "try again shortly" (RFC 6455's 1013).
const CLOSE_TRY_AGAIN: u16 = 1013;
/// Close code for a message larger than the server takes (RFC 6455's 1009).
const CLOSE_TOO_BIG: u16 = 1009;
/// Largest message a client may send; every client frame is a small JSON object.
pub(crate) const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// What the WebSocket layer reads of one message or frame at most. Between the two limits a
/// message is read whole and refused with 1009, a clean close; past this one the connection
/// is cut mid-message, and unread bytes can turn the close into a reset the client never reads.
const MAX_WIRE_MESSAGE_BYTES: usize = 1024 * 1024;
/// Each socket's read buffer, held for its whole life: sized for client frames (acks, reads,
/// typing: tens of bytes), not the library's 128 KiB; a longer frame grows it while it is read.
const SOCKET_READ_BUFFER_BYTES: usize = 1024;
/// How much is written at once. Every send flushes, so this only bounds what one write gathers.
const SOCKET_WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// Delivery receipts from acks go out at most this often per connection, newest per
/// conversation, however often the client acks.
const ACK_FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Messages remembered per connection so that acks name them; older acks are ignored.
const REMEMBERED_MESSAGES: usize = 4096;
/// Most ids one ack may carry.
const MAX_ACK_IDS: usize = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct ConnectQuery {
    /// A bearer token, for clients that cannot set headers (browsers).
    token: Option<String>,
    /// The cursor of the last message frame received.
    since: Option<String>,
}

/// How live delivery treats clients.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Pings go out this often; a connection silent for two of these is dropped.
    pub ping_interval: Duration,
    /// What is sent to a resuming client before `ready` at most (further behind, it is closed
    /// with 4004 and pages the history instead), and how many resume at once.
    pub resume: ResumeLimits,
}

/// The token from the `Authorization` header, the `token` query parameter, or the
/// `Sec-WebSocket-Protocol` list `bearer, <token>` (the one header a browser lets a page set);
/// whether it came the last way, which must then be answered with the `bearer` protocol.
fn token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Result<(&'a str, bool), ApiError> {
    if let Some(token) = bearer_header(headers)? {
        return Ok((token, false));
    }
    if let Some(token) = query.filter(|t| !t.is_empty()) {
        return Ok((token, false));
    }
    let protocols = headers.get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut protocols = protocols.split(',').map(str::trim);
    if protocols.next() == Some("bearer")
        && let Some(token) = protocols.next().filter(|t| !t.is_empty())
    {
        return Ok((token, true));
    }
    Err(ApiError::unauthorized("missing bearer token"))
}

#[utoipa::path(
    get, path = "/ws", tag = "live",
    params(
        ("token" = Option<String>, Query, description = "bearer token, for clients that cannot set the Authorization header; or send `Sec-WebSocket-Protocol: bearer, <token>`"),
        ("since" = Option<String>, Query, description = "the `cursor` of the last message frame received: everything after it comes first, then `ready`, then live frames"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 101, description = "upgraded to a WebSocket of JSON text frames (see the README for every frame type)"),
        (status = 400, description = "since is not a cursor of this deployment", body = crate::error::ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = crate::error::ErrorBody),
        (status = 426, description = "not a WebSocket upgrade request", body = crate::error::ErrorBody),
        (status = 503, description = "live delivery is still starting", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(query): QueryParams<ConnectQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (token, via_protocol) = token(&headers, query.token.as_deref())?;
    let caller = state.authenticate(token)?;
    let partitions = state.hub.partitions().ok_or_else(|| ApiError::unavailable("live delivery is starting"))?;
    let since = match query.since.as_deref() {
        Some(raw) => Some(within_log(&state, Cursor::parse(raw, partitions)?).await?),
        None => None,
    };
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(StatusCode::UPGRADE_REQUIRED, "upgrade_required", "GET /ws is a websocket endpoint")
    })?;
    let upgrade = upgrade
        .max_message_size(MAX_WIRE_MESSAGE_BYTES)
        .max_frame_size(MAX_WIRE_MESSAGE_BYTES)
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(SOCKET_WRITE_BUFFER_BYTES);
    let upgrade = if via_protocol { upgrade.protocols(["bearer"]) } else { upgrade };
    Ok(upgrade.on_upgrade(move |socket| async move {
        let Some(attachment) = state.hub.attach(&caller.sub, &caller.sid, since.as_ref()) else { return };
        let _open = metrics::OpenSocket::opened();
        let id = attachment.id;
        let (user, session) = (caller.sub.clone(), caller.sid.clone());
        state.presence.connected(&caller.sub, &caller.sid, &caller.name).await;
        let mut connection = Connection::new(id, socket, state.clone(), caller);
        connection.serve(attachment, since).await;
        state.hub.detach(&user, id);
        state.presence.forget(id);
        state.presence.disconnected(&user, &session);
    }))
}

/// A cursor names offsets the log has reached; one past its end was made up, and would hide
/// every message below it.
async fn within_log(state: &AppState, since: Cursor) -> Result<Cursor, ApiError> {
    let ends = state.dependencies.log.end_offsets(Topic::Messages.name()).await.map_err(|e| {
        tracing::warn!(error = &e as &dyn std::error::Error, "cannot read the log's end to check a cursor");
        ApiError::unavailable("event log unavailable")
    })?;
    if since.0.len() != ends.len() || since.0.iter().zip(&ends).any(|(offset, end)| offset > end) {
        return Err(ApiError::bad_request("invalid_cursor", "since is past the end of the log"));
    }
    Ok(since)
}

/// What the client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum ClientFrame {
    /// These messages reached this device.
    #[serde(rename_all = "camelCase")]
    Ack { message_ids: Vec<String> },
    /// The user read a conversation (`to` = username) or group (`to` = group id) up to a message.
    #[serde(rename_all = "camelCase")]
    Read { to: String, up_to_message_id: String },
    /// The user is typing to `to` (a username or group id).
    Typing { to: String },
    /// Watch these users' presence (usernames, at most 256; replaces what was watched): a
    /// `presence` frame for each now, and whenever one comes online or goes offline.
    Presence { users: Vec<String> },
}

struct Connection {
    /// The hub's id for it.
    id: u64,
    socket: WebSocket,
    state: AppState,
    caller: Caller,
    /// The message frames sent, which acks name.
    sent: Remembered,
    /// Acked messages not yet recorded as delivered.
    acked: Acks,
    /// The delivery receipts being recorded; one batch at a time.
    recording: Option<tokio::task::JoinHandle<()>>,
}

/// Why a connection ends.
enum End {
    /// The client closed, went away, or stopped answering.
    Gone,
    Close(u16, &'static str),
}

impl Connection {
    fn new(id: u64, socket: WebSocket, state: AppState, caller: Caller) -> Self {
        Self {
            id,
            socket,
            state,
            acked: Acks::new(&caller.sub),
            caller,
            sent: Remembered::new(REMEMBERED_MESSAGES),
            recording: None,
        }
    }

    async fn serve(&mut self, mut attachment: Attachment, since: Option<Cursor>) {
        let end = match self.run(&mut attachment, since).await {
            Ok(()) => End::Gone,
            Err(end) => end,
        };
        if let End::Close(code, reason) = end {
            let frame = CloseFrame { code, reason: reason.into() };
            let _ = self.send_raw(Message::Close(Some(frame))).await;
        }
        // What the client acked is recorded even though it left.
        if let Some(recording) = self.recording.take() {
            let _ = recording.await;
        }
        self.record_acked();
    }

    async fn run(&mut self, attachment: &mut Attachment, since: Option<Cursor>) -> Result<(), End> {
        let live_from = Cursor(attachment.live_from.clone());
        let ready_at = match &since {
            Some(since) => {
                // Boxed, as is every rare and deep await here: an idle connection's task is only
                // as large as the largest future it could be awaiting.
                Box::pin(self.resume(since, &live_from)).await?;
                since.max(&live_from.0)
            }
            None => live_from,
        };
        self.send_text("ready", frames::ready(&ready_at)).await?;
        let ping_interval = self.state.live.ping_interval;
        let mut ping = tokio::time::interval(ping_interval);
        let mut last_heard = Instant::now();
        let mut flush_acks = tokio::time::interval(ACK_FLUSH_INTERVAL);
        let expires = tokio::time::sleep(until_expiry(self.caller.exp));
        tokio::pin!(expires);
        loop {
            tokio::select! {
                frame = attachment.frames.recv() => match frame {
                    Some(frame) => self.send(frame).await?,
                    None if attachment.overflowed.load(Ordering::Acquire) => {
                        return Err(End::Close(CLOSE_RESUME, "too far behind: reconnect with since"));
                    }
                    None if attachment.session_ended.load(Ordering::Acquire) => {
                        return Err(End::Close(CLOSE_SESSION_ENDED, "session ended: log in again"));
                    }
                    None if attachment.replaced.load(Ordering::Acquire) => {
                        return Err(End::Close(CLOSE_REPLACED, "too many connections: this, the oldest, is closed"));
                    }
                    None => return Err(End::Close(1001, "server going away")),
                },
                () = &mut expires => return Err(End::Close(CLOSE_TOKEN_EXPIRED, "token expired")),
                _ = flush_acks.tick() => self.record_acked(),
                inbound = self.socket.recv() => {
                    last_heard = Instant::now();
                    match inbound {
                        Some(Ok(message)) if too_long(&message) => {
                            return Err(End::Close(CLOSE_TOO_BIG, "message too big"));
                        }
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_frame(text.as_str())).await?,
                        Some(Ok(Message::Binary(_))) => {
                            self.send_text("error", frames::error("invalid_frame", "frames are json text")).await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Err(error)) if too_big(&error) => {
                            return Err(End::Close(CLOSE_TOO_BIG, "message too big"));
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > ping_interval * 2 {
                        tracing::info!(user = %self.caller.sub, "connection stopped answering; dropping it");
                        return Ok(());
                    }
                    self.send_raw(Message::Ping(Default::default())).await?;
                }
            }
        }
    }

    /// Sends what the client missed between `since` and `live_from`, one message at a time.
    async fn resume(&mut self, since: &Cursor, live_from: &Cursor) -> Result<(), End> {
        let Some(_turn) = self.state.live.resume.turn().await else {
            let _ = self
                .send_text("error", frames::error("resume_unavailable", "too many resuming; try again shortly"))
                .await;
            return Err(End::Close(CLOSE_TRY_AGAIN, "too many resuming; try again"));
        };
        let state = self.state.clone();
        let mut missed = match resume::missed(&state, &self.caller.sub, since, &live_from.0).await {
            Ok(Some(missed)) => missed,
            Ok(None) => {
                let _ = self
                    .send_text("error", frames::error("resume_too_far", "too much was missed: page the history"))
                    .await;
                return Err(End::Close(CLOSE_RESUME_TOO_FAR, "page the history, then connect without since"));
            }
            Err(error) => return Err(self.cannot_resume(error).await),
        };
        // A failure part way: what was sent carries its cursors, so the client resumes from
        // the last one it got.
        loop {
            match missed.next(&state).await {
                Ok(Some(frame)) => self.send(frame).await?,
                Ok(None) => return Ok(()),
                Err(error) => return Err(self.cannot_resume(error).await),
            }
        }
    }

    /// Tells the client its missed messages cannot be read now: an error frame, then 1013.
    async fn cannot_resume(&mut self, error: ApiError) -> End {
        tracing::warn!(user = %self.caller.sub, ?error, "cannot resume a connection");
        let _ = self.send_text("error", frames::error("resume_unavailable", "try again shortly")).await;
        End::Close(CLOSE_TRY_AGAIN, "cannot resume now; try again")
    }

    async fn send(&mut self, frame: Outbound) -> Result<(), End> {
        if let Some(message) = frame.message {
            self.sent.remember(message);
        }
        self.send_text(frame.frame_type, frame.text).await
    }

    /// Sends a frame of type `frame_type`, counted as such.
    async fn send_text(&mut self, frame_type: &'static str, text: impl Into<Utf8Bytes>) -> Result<(), End> {
        self.send_raw(Message::Text(text.into())).await?;
        metrics::frame_sent(frame_type);
        Ok(())
    }

    /// A send that cannot finish within two ping intervals means a client that stopped reading.
    async fn send_raw(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(self.state.live.ping_interval * 2, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(End::Gone),
        }
    }

    async fn on_frame(&mut self, text: &str) -> Result<(), End> {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => return self.send_text("error", frames::error("invalid_frame", &e.to_string())).await,
        };
        let outcome = match frame {
            ClientFrame::Ack { message_ids } => {
                self.on_ack(&message_ids);
                Ok(())
            }
            ClientFrame::Read { to, up_to_message_id } => self
                .state
                .use_cases
                .read_either(&self.caller, &to, &up_to_message_id)
                .await
                .map(drop)
                .map_err(ApiError::from),
            ClientFrame::Typing { to } => typing::send(&self.state, &self.caller, &to).await,
            ClientFrame::Presence { users } => Box::pin(self.watch(&users)).await,
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(error) => self.send_text("error", frames::error(error.code(), error.message())).await,
        }
    }

    /// Watches `users`' presence: each one's now, then their changes as they come.
    async fn watch(&mut self, users: &[String]) -> Result<(), ApiError> {
        let watched = self.state.use_cases.presence_watch(&self.caller, users).await?;
        self.state.presence.watch(&self.caller.sub, self.id, &watched);
        for watched in watched {
            let frame = presence::view(&self.state, watched).await?.frame();
            if self.send_text("presence", frame).await.is_err() {
                break; // the connection is ending; its loop finds out
            }
        }
        Ok(())
    }

    /// Acks name messages this connection sent; ids it never sent, or sent long ago, are
    /// ignored. Which count is the use case's rule (`Acks`).
    fn on_ack(&mut self, message_ids: &[String]) {
        for id in message_ids.iter().take(MAX_ACK_IDS) {
            if let Some(message) = self.sent.get(id) {
                self.acked.ack(message);
            }
        }
    }

    /// Records the acked messages in the background, so the connection keeps reading; while a
    /// batch is still being recorded, the next one waits.
    fn record_acked(&mut self) {
        if self.acked.is_empty() || self.recording.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        let batch = self.acked.take();
        let (state, reader) = (self.state.clone(), self.caller.sub.clone());
        self.recording = Some(tokio::spawn(async move { state.use_cases.record_deliveries(&reader, batch).await }));
    }
}

/// How long until a token that expires at `exp` (seconds since the epoch) does.
fn until_expiry(exp: i64) -> Duration {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(u64::try_from(exp).unwrap_or(0)).saturating_sub(now)
}

/// Whether a client message is over [`MAX_CLIENT_MESSAGE_BYTES`].
fn too_long(message: &Message) -> bool {
    match message {
        Message::Text(text) => text.len() > MAX_CLIENT_MESSAGE_BYTES,
        Message::Binary(bytes) => bytes.len() > MAX_CLIENT_MESSAGE_BYTES,
        _ => false,
    }
}

/// Whether a read failed because the client sent more than [`MAX_WIRE_MESSAGE_BYTES`].
fn too_big(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
