//! Attachments: pre-signed uploads and downloads, the upload report that has the indexer verify
//! the bytes, and each conversation's and group's "media and files".
use std::collections::{BTreeMap, HashSet};

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use confab_consumers::store::{AttachmentRow, AttachmentStatus, UserRow, upload_key};
use confab_objects::UploadTerms;
use confab_schemas::{
    AttachmentRef, AttachmentRequested, AttachmentRequestedPayload, AttachmentUploaded, AttachmentUploadedPayload,
    Event,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    auth::token::Claims,
    crypto::{KeyScope, Keyring},
    error::ErrorBody,
    extract::{AuthUser, JsonBody, QueryParams},
    routes::{
        chat::conversation_id,
        groups::{membership, user_named},
        messaging::{parse_cursor, parse_limit},
    },
    time::{now_ms, rfc3339},
};

/// Most attachments one message may carry.
pub(crate) const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
const MAX_FILE_NAME_CHARS: usize = 255;
const MAX_CONTENT_TYPE_BYTES: usize = 255;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentRequest {
    /// 1-255 characters, no path separators or control characters; stored sealed.
    #[schema(example = "boulder.jpg")]
    file_name: String,
    /// The MIME type the upload must declare, e.g. `image/jpeg`.
    #[schema(example = "image/jpeg")]
    content_type: String,
    /// Exact length in bytes, 1 to the server's limit.
    size: u64,
    /// SHA-256 of the bytes, 64 hex digits; the indexer rejects an upload that differs.
    sha256: String,
    /// A username: the attachment belongs to your conversation with them.
    recipient: Option<String>,
    /// Or a group you are a member of.
    group_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadTicket {
    attachment_id: String,
    /// Upload the bytes here, with `uploadMethod` and exactly `uploadHeaders`.
    upload_url: String,
    #[schema(example = "PUT")]
    upload_method: &'static str,
    upload_headers: BTreeMap<String, String>,
    /// RFC 3339 UTC: when `uploadUrl` stops working.
    expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentView {
    attachment_id: String,
    file_name: String,
    content_type: String,
    size: u64,
    /// As declared; the indexer has checked it once `status` is `available`.
    sha256: String,
    /// `pending` (not verified yet), `available` or `rejected`.
    #[schema(example = "available")]
    status: &'static str,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    uploader_id: String,
    /// The uploader's username.
    uploader: String,
    /// The group it belongs to; absent for direct conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DownloadTicket {
    attachment_id: String,
    /// A short-lived URL that downloads the bytes with `GET`.
    download_url: String,
    expires_at: String,
    file_name: String,
    content_type: String,
    size: u64,
    sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentPage {
    /// Newest first.
    attachments: Vec<AttachmentView>,
    /// Fetches the next (older) page; null at the end.
    next_cursor: Option<String>,
}

/// An attachment as a message shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageAttachment {
    attachment_id: String,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
}

/// Whose conversation an attachment belongs to, and under which key its name is sealed.
enum Owner {
    Direct { conversation_id: String, recipient: UserRow },
    Group { group_id: String },
}

impl Owner {
    fn conversation_id(&self) -> &str {
        match self {
            Owner::Direct { conversation_id, .. } => conversation_id,
            Owner::Group { group_id } => group_id,
        }
    }

    fn scope(&self) -> KeyScope<'_> {
        match self {
            Owner::Direct { conversation_id, .. } => KeyScope::Conversation(conversation_id),
            Owner::Group { group_id } => KeyScope::Group(group_id),
        }
    }
}

fn scope_of(row: &AttachmentRow) -> KeyScope<'_> {
    if row.is_group() { KeyScope::Group(&row.conversation_id) } else { KeyScope::Conversation(&row.conversation_id) }
}

fn file_name(keyring: &Keyring, scope: KeyScope<'_>, sealed: &str, attachment_id: &str) -> Result<String, ApiError> {
    let plaintext = keyring.open(scope, sealed, attachment_id.as_bytes()).map_err(ApiError::internal)?;
    String::from_utf8(plaintext).map_err(ApiError::internal)
}

impl AttachmentView {
    fn new(keyring: &Keyring, row: AttachmentRow) -> Result<Self, ApiError> {
        Ok(Self {
            file_name: file_name(keyring, scope_of(&row), &row.file_name, &row.attachment_id)?,
            status: row.status.as_str(),
            created_at: rfc3339(row.created_at_ms),
            group_id: row.is_group().then(|| row.conversation_id.clone()),
            attachment_id: row.attachment_id,
            content_type: row.content_type,
            size: row.size,
            sha256: row.declared_sha256,
            reason: row.reason,
            uploader_id: row.uploader_id,
            uploader: row.uploader_username,
        })
    }
}

impl MessageAttachment {
    /// The attachments of a message in `scope`, names opened.
    pub(crate) fn all(keyring: &Keyring, scope: KeyScope<'_>, refs: Vec<AttachmentRef>) -> Result<Vec<Self>, ApiError> {
        refs.into_iter()
            .map(|a| {
                Ok(Self {
                    file_name: file_name(keyring, scope, &a.file_name, &a.attachment_id)?,
                    attachment_id: a.attachment_id,
                    content_type: a.content_type,
                    size: a.size,
                    sha256: a.sha256,
                })
            })
            .collect()
    }
}

fn validate_file_name(raw: &str) -> Result<(), ApiError> {
    let chars = raw.chars().count();
    if raw.trim().is_empty()
        || chars > MAX_FILE_NAME_CHARS
        || raw.chars().any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(ApiError::bad_request(
            "invalid_file_name",
            "fileName must be 1-255 characters without path separators or control characters",
        ));
    }
    Ok(())
}

/// `type/subtype`, optionally with parameters, in printable ASCII.
fn validate_content_type(raw: &str) -> Result<(), ApiError> {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = raw.split(';').next().unwrap_or_default();
    let valid = raw.len() <= MAX_CONTENT_TYPE_BYTES
        && raw.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence.split_once('/').is_some_and(|(t, s)| token(t) && token(s));
    if !valid {
        return Err(ApiError::bad_request("invalid_content_type", "contentType must be a MIME type like image/png"));
    }
    Ok(())
}

fn parse_sha256(raw: &str) -> Result<String, ApiError> {
    if raw.len() != 64 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request("invalid_sha256", "sha256 must be 64 hex digits"));
    }
    Ok(raw.to_ascii_lowercase())
}

fn attachment_not_found() -> ApiError {
    ApiError::not_found("attachment_not_found", "no attachment with that id")
}

/// An attachment id from a path; anything but a UUID names none.
fn parse_attachment_id(raw: &str) -> Result<String, ApiError> {
    Uuid::parse_str(raw).map(|id| id.to_string()).map_err(|_| attachment_not_found())
}

/// A missing user, named as a recipient; other errors (an unreachable store) stay what they are.
fn as_recipient(e: ApiError) -> ApiError {
    if e.code() == "user_not_found" {
        ApiError::not_found("recipient_not_found", "no user with that username")
    } else {
        e
    }
}

/// The conversation or group a request names, once the caller may write to it.
async fn owner(state: &AppState, caller: &Claims, body: &AttachmentRequest) -> Result<Owner, ApiError> {
    match (&body.recipient, &body.group_id) {
        (Some(recipient), None) => {
            let recipient = user_named(state, recipient).await.map_err(as_recipient)?;
            let conversation_id = conversation_id(&caller.sub, &recipient.user_id).to_string();
            Ok(Owner::Direct { conversation_id, recipient })
        }
        (None, Some(group_id)) => {
            let (group, _) = membership(state, group_id, &caller.sub).await?;
            Ok(Owner::Group { group_id: group.group_id })
        }
        _ => Err(ApiError::bad_request("invalid_target", "give exactly one of recipient and groupId")),
    }
}

#[utoipa::path(
    post, path = "/attachments", tag = "attachments",
    request_body = AttachmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "upload the bytes to `uploadUrl`; then send the attachment (or report it with `/attachments/{attachmentId}/complete`)", body = UploadTicket),
        (status = 400, description = "invalid name, type, size or sha256, over the size limit, or not exactly one of recipient and groupId", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member of the group", body = ErrorBody),
        (status = 404, description = "no such recipient or group", body = ErrorBody),
        (status = 503, description = "event log or object storage unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn request(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<AttachmentRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    validate_file_name(&body.file_name)?;
    validate_content_type(&body.content_type)?;
    let sha256 = parse_sha256(&body.sha256)?;
    let limits = state.attachment_limits;
    if body.size == 0 || body.size > limits.max_bytes {
        return Err(ApiError::bad_request(
            "invalid_size",
            format!("size must be from 1 to {} bytes", limits.max_bytes),
        ));
    }
    let owner = owner(&state, &caller, &body).await?;
    let attachment_id = Uuid::now_v7().to_string();
    let object_key = upload_key(&attachment_id);
    let terms = UploadTerms {
        key: &object_key,
        size: body.size,
        content_type: &body.content_type,
        expires_in: limits.upload_ttl,
    };
    let upload = state.objects.presign_put(&terms).await.map_err(object_error)?;
    let occurred_at = now_ms();
    let expires_at = occurred_at.saturating_add(i64::try_from(limits.upload_ttl.as_millis()).unwrap_or(i64::MAX));
    let sealed_name = state
        .keyring
        .seal(owner.scope(), body.file_name.as_bytes(), attachment_id.as_bytes())
        .map_err(ApiError::internal)?;
    let (kind, recipient_id) = match &owner {
        Owner::Direct { recipient, .. } => ("direct", Some(recipient.user_id.clone())),
        Owner::Group { .. } => ("group", None),
    };
    let event = Event::AttachmentRequested(AttachmentRequested {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub.clone(),
        payload: AttachmentRequestedPayload {
            attachment_id: attachment_id.clone(),
            uploader_id: caller.sub.clone(),
            uploader_username: caller.name.clone(),
            kind: kind.to_owned(),
            conversation_id: owner.conversation_id().to_owned(),
            recipient_id,
            file_name: sealed_name,
            content_type: body.content_type.clone(),
            size: i64::try_from(body.size).map_err(ApiError::internal)?,
            sha256,
            object_key,
            expires_at,
        },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.attachments, &position).await;
    let ticket = UploadTicket {
        attachment_id,
        upload_url: upload.url,
        upload_method: upload.method,
        upload_headers: upload.headers.into_iter().collect(),
        expires_at: rfc3339(expires_at),
    };
    Ok((StatusCode::CREATED, Json(ticket)))
}

fn object_error(e: confab_objects::ObjectError) -> ApiError {
    tracing::warn!(error = %e, "object storage unavailable");
    ApiError::unavailable("object storage unavailable")
}

/// The attachment, if the caller may see it: 404 unknown, 403 for anyone outside its
/// conversation or group.
async fn visible(state: &AppState, caller: &Claims, raw_id: &str) -> Result<AttachmentRow, ApiError> {
    let id = parse_attachment_id(raw_id)?;
    let row = state.attachments.attachment(&id).await?.ok_or_else(attachment_not_found)?;
    if row.is_group() {
        let _ = membership(state, &row.conversation_id, &caller.sub).await?;
    } else if caller.sub != row.uploader_id && row.recipient_id.as_deref() != Some(caller.sub.as_str()) {
        return Err(ApiError::forbidden("not_a_participant", "this attachment belongs to another conversation"));
    }
    Ok(row)
}

/// Appends an upload report for a pending attachment and waits for the indexer's verdict; the
/// row as it then stands.
async fn report_upload(state: &AppState, caller: &Claims, row: AttachmentRow) -> Result<AttachmentRow, ApiError> {
    if row.status != AttachmentStatus::Pending {
        return Ok(row);
    }
    let occurred_at = now_ms();
    let event = Event::AttachmentUploaded(AttachmentUploaded {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub.clone(),
        payload: AttachmentUploadedPayload { attachment_id: row.attachment_id.clone() },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.attachments, &position).await;
    Ok(state.attachments.attachment(&row.attachment_id).await?.unwrap_or(row))
}

/// A verdict as an answer: available passes, anything else is the client's to fix.
fn require_available(row: AttachmentRow) -> Result<AttachmentRow, ApiError> {
    match row.status {
        AttachmentStatus::Available => Ok(row),
        AttachmentStatus::Pending => Err(ApiError::bad_request(
            "attachment_not_uploaded",
            format!("attachment {} has not been uploaded (or not verified yet)", row.attachment_id),
        )),
        AttachmentStatus::Rejected => Err(ApiError::bad_request(
            "attachment_rejected",
            format!(
                "attachment {} was rejected: {}",
                row.attachment_id,
                row.reason.as_deref().unwrap_or("it does not match its declaration")
            ),
        )),
    }
}

#[utoipa::path(
    post, path = "/attachments/{attachmentId}/complete", tag = "attachments",
    params(("attachmentId" = String, Path, description = "the attachment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "verified: the bytes match the declaration and can be sent", body = AttachmentView),
        (status = 400, description = "`attachment_not_uploaded` (no bytes yet) or `attachment_rejected` (they differ from the declaration)", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not the uploader", body = ErrorBody),
        (status = 404, description = "no such attachment", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(attachment_id): Path<String>,
) -> Result<Json<AttachmentView>, ApiError> {
    let row = visible(&state, &caller, &attachment_id).await?;
    if row.uploader_id != caller.sub {
        return Err(ApiError::forbidden("not_the_uploader", "only the uploader reports an upload complete"));
    }
    let row = require_available(report_upload(&state, &caller, row).await?)?;
    Ok(Json(AttachmentView::new(&state.keyring, row)?))
}

#[utoipa::path(
    get, path = "/attachments/{attachmentId}", tag = "attachments",
    params(("attachmentId" = String, Path, description = "the attachment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a short-lived download URL and the attachment's metadata", body = DownloadTicket),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a participant of its conversation or a member of its group", body = ErrorBody),
        (status = 404, description = "no such attachment", body = ErrorBody),
        (status = 409, description = "not available: not uploaded and verified yet, or rejected", body = ErrorBody),
        (status = 503, description = "object storage unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn download(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(attachment_id): Path<String>,
) -> Result<Json<DownloadTicket>, ApiError> {
    let row = visible(&state, &caller, &attachment_id).await?;
    if row.status != AttachmentStatus::Available {
        return Err(ApiError::conflict(
            "attachment_not_available",
            format!("attachment is {}, not available", row.status.as_str()),
        ));
    }
    let ttl = state.attachment_limits.download_ttl;
    let url = state.objects.presign_get(&row.stored_key(), ttl).await.map_err(object_error)?;
    let expires_at = now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    Ok(Json(DownloadTicket {
        file_name: file_name(&state.keyring, scope_of(&row), &row.file_name, &row.attachment_id)?,
        download_url: url.url,
        expires_at: rfc3339(expires_at),
        attachment_id: row.attachment_id,
        content_type: row.content_type,
        size: row.size,
        sha256: row.declared_sha256,
    }))
}

/// The attachments a message to `conversation_id` (a direct conversation or a group) carries:
/// each must belong to it and be verified, which a pending one is asked to be first.
pub(crate) async fn attach(
    state: &AppState,
    caller: &Claims,
    conversation_id: &str,
    ids: &[String],
) -> Result<Vec<AttachmentRef>, ApiError> {
    let mut seen = HashSet::new();
    let mut refs = Vec::new();
    for raw in ids {
        let invalid = || {
            ApiError::bad_request("invalid_attachment", format!("{raw:?} is not an attachment of this conversation"))
        };
        let id = Uuid::parse_str(raw).map_err(|_| invalid())?.to_string();
        if !seen.insert(id.clone()) {
            continue;
        }
        let row = state.attachments.attachment(&id).await?.ok_or_else(invalid)?;
        if row.conversation_id != conversation_id {
            return Err(invalid());
        }
        let row = require_available(report_upload(state, caller, row).await?)?;
        refs.push(AttachmentRef {
            attachment_id: row.attachment_id,
            file_name: row.file_name,
            content_type: row.content_type,
            size: i64::try_from(row.size).map_err(ApiError::internal)?,
            sha256: row.declared_sha256,
        });
    }
    Ok(refs)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DirectAttachmentsQuery {
    /// The peer's username.
    recipient: String,
    /// 1-200, default 50.
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    before: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupAttachmentsQuery {
    /// 1-200, default 50.
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    before: Option<String>,
}

/// A page of a conversation's (or group's) available attachments, newest first. `since` (a
/// member who joined a group late: when, and who) hides what was uploaded before they joined,
/// as their history does, but for their own uploads.
async fn page(
    state: &AppState,
    conversation_id: &str,
    limit: Option<&str>,
    before: Option<&str>,
    since: Option<(i64, &str)>,
) -> Result<Json<AttachmentPage>, ApiError> {
    let limit = parse_limit(limit)?;
    let before = parse_cursor(before)?;
    let mut rows = state.attachments.conversation_attachments(conversation_id, before.as_deref(), limit + 1).await?;
    let fetched = rows.len();
    if let Some((joined_at, caller)) = since {
        rows.retain(|row| row.created_at_ms >= joined_at || row.uploader_id == caller);
    }
    // Ids are UUID v7: what a late joiner may not see is older than everything they may, so a
    // page that lost rows to it is the last one.
    let next_cursor = if rows.len() > limit && rows.len() == fetched {
        rows.truncate(limit);
        rows.last().map(|oldest| oldest.attachment_id.clone())
    } else {
        rows.truncate(limit);
        None
    };
    let attachments =
        rows.into_iter().map(|row| AttachmentView::new(&state.keyring, row)).collect::<Result<_, ApiError>>()?;
    Ok(Json(AttachmentPage { attachments, next_cursor }))
}

#[utoipa::path(
    get, path = "/chat/attachments", tag = "attachments",
    params(DirectAttachmentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the conversation's available attachments, newest first", body = AttachmentPage),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such recipient", body = ErrorBody),
    )
)]
pub(crate) async fn direct_attachments(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<DirectAttachmentsQuery>,
) -> Result<Json<AttachmentPage>, ApiError> {
    let peer = user_named(&state, &query.recipient).await.map_err(as_recipient)?;
    let conversation = conversation_id(&caller.sub, &peer.user_id).to_string();
    page(&state, &conversation, query.limit.as_deref(), query.before.as_deref(), None).await
}

#[utoipa::path(
    get, path = "/groups/{groupId}/attachments", tag = "attachments",
    params(("groupId" = String, Path, description = "the group's id"), GroupAttachmentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the group's available attachments, newest first; a member added later sees those uploaded since, as with messages", body = AttachmentPage),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn group_attachments(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(group_id): Path<String>,
    QueryParams(query): QueryParams<GroupAttachmentsQuery>,
) -> Result<Json<AttachmentPage>, ApiError> {
    let (group, me) = membership(&state, &group_id, &caller.sub).await?;
    // Members from the start see everything; one added later, what came since.
    let since = (me.joined_at_ms > group.created_at_ms).then_some((me.joined_at_ms, caller.sub.as_str()));
    page(&state, &group.group_id, query.limit.as_deref(), query.before.as_deref(), since).await
}
