//! `GET /me/export`: everything the server holds about the caller, as one JSON document written
//! as it is read (a long history never sits in memory), through the same queries every other
//! read asks, so it holds exactly what the caller may see.
use std::io;

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::header,
    response::Response,
};
use confab_producers::{AttachmentsOf, Caller, MAX_PAGE, rfc3339};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::AuthUser,
    views::{
        attachments::DownloadTicket,
        blocks::BlockedUser,
        messages::{GroupMessageView, MessageView},
        profiles::Profile,
        sessions::Session,
    },
};

/// Exports written at once by one process: each walks the caller's whole history.
static RUNNING: Semaphore = Semaphore::const_new(2);
/// Bytes gathered before they are handed to the connection.
const CHUNK_BYTES: usize = 64 * 1024;

/// The document's shape (it is written piece by piece, not built as this).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Export {
    exported_at: String,
    profile: Profile,
    /// The sessions still live.
    sessions: Vec<Session>,
    /// The users the caller blocks.
    blocked: Vec<BlockedUser>,
    /// Newest activity first.
    conversations: Vec<ExportedConversation>,
    groups: Vec<ExportedGroup>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportedConversation {
    conversation_id: String,
    peer_id: String,
    /// The peer's username.
    peer: String,
    /// Newest first, content opened.
    messages: Vec<MessageView>,
    /// The files of the conversation, newest first, each with a short-lived download URL.
    attachments: Vec<DownloadTicket>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExportedGroup {
    group_id: String,
    name: String,
    /// `admin` or `member`.
    role: String,
    joined_at: String,
    /// What the caller sees of the group's messages, newest first.
    messages: Vec<GroupMessageView>,
    attachments: Vec<DownloadTicket>,
}

#[utoipa::path(
    get, path = "/me/export", tag = "people",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "everything the server holds about the caller, as one JSON document, streamed (a failure midway ends the stream short of its closing brace)", body = Export),
        (status = 429, description = "too many exports; see `Retry-After`", body = ErrorBody),
        (status = 503, description = "`overloaded`: other exports are being written", body = ErrorBody),
    )
)]
pub(crate) async fn export(State(state): State<AppState>, AuthUser(caller): AuthUser) -> Result<Response, ApiError> {
    state.use_cases.begin_export(&caller)?;
    let permit = RUNNING.try_acquire().map_err(|_| ApiError::overloaded())?;
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    let file_name = format!("attachment; filename=\"confab-export-{}.json\"", caller.name);
    // Detached: it ends when the document does, or when the client goes away.
    let _writing = tokio::spawn(async move {
        let _permit = permit;
        let mut out = Writer { tx, buf: Vec::with_capacity(CHUNK_BYTES) };
        match write(&state, &caller, &mut out).await {
            Ok(()) | Err(Stop::Gone) => {}
            Err(Stop::Failed(error)) => {
                tracing::warn!(code = error.code(), "export failed midway");
                let _ = out.tx.send(Err(io::Error::other(error.code()))).await;
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_DISPOSITION, file_name)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))))
        .map_err(ApiError::internal)
}

/// Why writing stopped early.
enum Stop {
    /// The client went away.
    Gone,
    Failed(ApiError),
}

impl<E: Into<ApiError>> From<E> for Stop {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

/// The document as it is written: bytes gathered, then handed on in chunks.
struct Writer {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    fn value(&mut self, value: &impl Serialize) -> Result<(), Stop> {
        serde_json::to_writer(&mut self.buf, value).map_err(|e| Stop::Failed(ApiError::internal(e)))
    }

    /// An array's items, each after a comma but the first.
    fn item(&mut self, first: &mut bool, value: &impl Serialize) -> Result<(), Stop> {
        if !std::mem::take(first) {
            self.raw(",");
        }
        self.value(value)
    }

    /// Hands the gathered bytes on once there are enough (or `all`).
    async fn flush(&mut self, all: bool) -> Result<(), Stop> {
        if self.buf.len() < CHUNK_BYTES && !all {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        self.tx.send(Ok(chunk)).await.map_err(|_| Stop::Gone)
    }
}

async fn write(state: &AppState, caller: &Caller, out: &mut Writer) -> Result<(), Stop> {
    let cases = &state.use_cases;
    out.raw("{\"exportedAt\":");
    out.value(&rfc3339(confab_producers::now_ms()))?;
    out.raw(",\"profile\":");
    out.value(&Profile::from(cases.profile(&caller.name).await?))?;
    out.raw(",\"sessions\":");
    out.value(&cases.sessions(caller).await?.into_iter().map(Session::from).collect::<Vec<_>>())?;
    out.raw(",\"blocked\":[");
    let (mut first, mut after) = (true, None);
    loop {
        let page = cases.blocked_users(caller, after.as_deref(), Some(&MAX_PAGE.to_string())).await?;
        for blocked in page.blocked {
            out.item(&mut first, &BlockedUser::from(blocked))?;
        }
        after = page.next_cursor;
        if after.is_none() {
            break;
        }
    }
    out.raw("],\"conversations\":[");
    let (mut first, mut before) = (true, None);
    loop {
        let page = cases.conversation_list(caller, before.as_deref(), MAX_PAGE).await?;
        for conversation in page.conversations {
            if !std::mem::take(&mut first) {
                out.raw(",");
            }
            out.raw("{\"conversationId\":");
            out.value(&conversation.conversation_id)?;
            out.raw(",\"peerId\":");
            out.value(&conversation.peer_id)?;
            out.raw(",\"peer\":");
            out.value(&conversation.peer_username)?;
            out.raw(",\"messages\":[");
            direct_messages(state, caller, &conversation.peer_username, out).await?;
            out.raw("],\"attachments\":[");
            attachments(state, caller, AttachmentsOf::Direct(&conversation.peer_username), out).await?;
            out.raw("]}");
        }
        before = page.next_cursor;
        if before.is_none() {
            break;
        }
    }
    out.raw("],\"groups\":[");
    let (mut first, mut before) = (true, None);
    loop {
        let page = cases.group_list(caller, before.as_deref(), MAX_PAGE).await?;
        for entry in page.groups {
            if !std::mem::take(&mut first) {
                out.raw(",");
            }
            let group_id = entry.group.group_id;
            out.raw("{\"groupId\":");
            out.value(&group_id)?;
            out.raw(",\"name\":");
            out.value(&entry.group.name)?;
            out.raw(",\"role\":");
            out.value(&entry.membership.role.as_str())?;
            out.raw(",\"joinedAt\":");
            out.value(&rfc3339(entry.membership.joined_at_ms))?;
            out.raw(",\"messages\":[");
            group_messages(state, caller, &group_id, out).await?;
            out.raw("],\"attachments\":[");
            attachments(state, caller, AttachmentsOf::Group(&group_id), out).await?;
            out.raw("]}");
        }
        before = page.next_cursor;
        if before.is_none() {
            break;
        }
    }
    out.raw("]}");
    out.flush(true).await
}

/// The conversation's messages, newest first, page by page.
async fn direct_messages(state: &AppState, caller: &Caller, peer: &str, out: &mut Writer) -> Result<(), Stop> {
    let (mut first, mut before) = (true, None);
    loop {
        let page = state.use_cases.direct_history(caller, peer, before.as_deref(), MAX_PAGE).await?;
        for (message, status) in page.messages.into_iter().rev() {
            let mut view = MessageView::from(message);
            view.status = status;
            out.item(&mut first, &view)?;
        }
        out.flush(false).await?;
        before = page.next_cursor;
        if before.is_none() {
            return Ok(());
        }
    }
}

/// What the caller sees of the group's messages, newest first, page by page.
async fn group_messages(state: &AppState, caller: &Caller, group_id: &str, out: &mut Writer) -> Result<(), Stop> {
    let (mut first, mut before) = (true, None);
    loop {
        let page = state.use_cases.group_history(caller, group_id, before.as_deref(), MAX_PAGE).await?;
        for (message, _) in page.messages.into_iter().rev() {
            out.item(&mut first, &GroupMessageView::from(message))?;
        }
        out.flush(false).await?;
        before = page.next_cursor;
        if before.is_none() {
            return Ok(());
        }
    }
}

/// The available files, newest first, each with a download URL.
async fn attachments(state: &AppState, caller: &Caller, of: AttachmentsOf<'_>, out: &mut Writer) -> Result<(), Stop> {
    let (mut first, mut before) = (true, None);
    loop {
        let page = state.use_cases.attachment_page(caller, of, before.as_deref(), MAX_PAGE).await?;
        for file in page.attachments {
            let download = state.use_cases.download(caller, &file.row.attachment_id).await?;
            out.item(&mut first, &DownloadTicket::from(download))?;
        }
        out.flush(false).await?;
        before = page.next_cursor;
        if before.is_none() {
            return Ok(());
        }
    }
}
