//! `GET /ws`: one connection's life. Authenticate before upgrading; send what the client missed
//! (with `since`), then `ready`, then live frames; turn the client's acks, reads and typing into
//! receipts and typing frames; ping, and drop connections that stop answering.
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use confab_producers::{Caller, Conversation};
use confab_readmodels::ReceiptStatus;
use serde::Deserialize;

use crate::{
    ApiError, AppState,
    extract::{QueryParams, bearer_header},
    live::{
        cursor::Cursor,
        frames::{self, Outbound, SentMessage},
        hub::Attachment,
        resume, typing,
    },
};

/// Close code telling a client it fell too far behind: reconnect with `since` = its last cursor.
pub(crate) const CLOSE_RESUME: u16 = 4001;
/// Close code for "try again shortly" (RFC 6455's 1013).
const CLOSE_TRY_AGAIN: u16 = 1013;
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

/// How long live delivery waits on a client.
#[derive(Debug, Clone, Copy)]
pub struct LiveSettings {
    /// Pings go out this often; a connection silent for two of these is dropped.
    pub ping_interval: Duration,
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
    let caller = state.tokens.verify(token).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let partitions = state.hub.partitions().ok_or_else(|| ApiError::unavailable("live delivery is starting"))?;
    let since = query.since.as_deref().map(|raw| Cursor::parse(raw, partitions)).transpose()?;
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(StatusCode::UPGRADE_REQUIRED, "upgrade_required", "GET /ws is a websocket endpoint")
    })?;
    let upgrade = if via_protocol { upgrade.protocols(["bearer"]) } else { upgrade };
    Ok(upgrade.on_upgrade(move |socket| async move {
        let Some(attachment) = state.hub.attach(&caller.sub, since.as_ref()) else { return };
        let id = attachment.id;
        let user = caller.sub.clone();
        let mut connection = Connection::new(socket, state.clone(), caller);
        connection.serve(attachment, since).await;
        state.hub.detach(&user, id);
    }))
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
}

struct Connection {
    socket: WebSocket,
    state: AppState,
    caller: Caller,
    /// Message frames sent, by id, oldest first in `order`.
    sent: HashMap<String, Arc<SentMessage>>,
    order: VecDeque<String>,
    typing: typing::RateLimit,
}

/// Why a connection ends.
enum End {
    /// The client closed, went away, or stopped answering.
    Gone,
    Close(u16, &'static str),
}

impl Connection {
    fn new(socket: WebSocket, state: AppState, caller: Caller) -> Self {
        Self {
            socket,
            state,
            caller,
            sent: HashMap::new(),
            order: VecDeque::new(),
            typing: typing::RateLimit::default(),
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
    }

    async fn run(&mut self, attachment: &mut Attachment, since: Option<Cursor>) -> Result<(), End> {
        let live_from = Cursor(attachment.live_from.clone());
        let ready_at = match &since {
            Some(since) => {
                let missed = match resume::missed(&self.state, &self.caller.sub, since, &live_from.0).await {
                    Ok(missed) => missed,
                    Err(error) => {
                        tracing::warn!(user = %self.caller.sub, ?error, "cannot resume a connection");
                        let _ = self.send_text(frames::error("resume_unavailable", "try again shortly")).await;
                        return Err(End::Close(CLOSE_TRY_AGAIN, "cannot resume now; try again"));
                    }
                };
                for frame in missed {
                    self.send(frame).await?;
                }
                since.max(&live_from.0)
            }
            None => live_from,
        };
        self.send_text(frames::ready(&ready_at)).await?;
        let ping_interval = self.state.live.ping_interval;
        let mut ping = tokio::time::interval(ping_interval);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                frame = attachment.frames.recv() => match frame {
                    Some(frame) => self.send(frame).await?,
                    None if attachment.overflowed.load(Ordering::Acquire) => {
                        return Err(End::Close(CLOSE_RESUME, "too far behind: reconnect with since"));
                    }
                    None => return Err(End::Close(1001, "server going away")),
                },
                inbound = self.socket.recv() => {
                    last_heard = Instant::now();
                    match inbound {
                        Some(Ok(Message::Text(text))) => self.on_frame(text.as_str()).await?,
                        Some(Ok(Message::Binary(_))) => {
                            self.send_text(frames::error("invalid_frame", "frames are json text")).await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
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

    async fn send(&mut self, frame: Outbound) -> Result<(), End> {
        if let Some(message) = frame.message {
            self.remember(message);
        }
        self.send_text(frame.text).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), End> {
        self.send_raw(Message::Text(text.into())).await
    }

    /// A send that cannot finish within two ping intervals means a client that stopped reading.
    async fn send_raw(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(self.state.live.ping_interval * 2, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(End::Gone),
        }
    }

    fn remember(&mut self, message: Arc<SentMessage>) {
        if self.order.len() == REMEMBERED_MESSAGES
            && let Some(oldest) = self.order.pop_front()
        {
            let _ = self.sent.remove(&oldest);
        }
        self.order.push_back(message.message_id.clone());
        let _ = self.sent.insert(message.message_id.clone(), message);
    }

    async fn on_frame(&mut self, text: &str) -> Result<(), End> {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => return self.send_text(frames::error("invalid_frame", &e.to_string())).await,
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
            ClientFrame::Typing { to } => {
                if self.typing.allow(&to) {
                    typing::send(&self.state, &self.caller, &to).await
                } else {
                    Ok(())
                }
            }
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(error) => self.send_text(frames::error(error.code(), error.message())).await,
        }
    }

    /// The newest acked message of each conversation becomes a delivered receipt, appended in
    /// the background so the connection keeps reading. Ids it never sent, or sent long ago, and
    /// the user's own messages are ignored.
    fn on_ack(&self, message_ids: &[String]) {
        let mut newest: HashMap<&Conversation, &Arc<SentMessage>> = HashMap::new();
        for id in message_ids.iter().take(MAX_ACK_IDS) {
            let Some(message) = self.sent.get(id) else { continue };
            if message.sender_id == self.caller.sub {
                continue;
            }
            let entry = newest.entry(&message.conversation).or_insert(message);
            if message.seq > entry.seq {
                *entry = message;
            }
        }
        for message in newest.into_values() {
            let (state, reader, message) = (self.state.clone(), self.caller.sub.clone(), Arc::clone(message));
            drop(tokio::spawn(async move {
                let published = state
                    .use_cases
                    .record_receipt(&reader, &message.conversation, &message.message_id, ReceiptStatus::Delivered)
                    .await;
                if let Err(error) = published {
                    tracing::warn!(?error, reader, message_id = message.message_id, "cannot record a delivery");
                }
            }));
        }
    }
}
