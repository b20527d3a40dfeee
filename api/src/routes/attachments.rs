//! Attachments: pre-signed uploads and downloads, the upload report that has the indexer verify
//! the bytes, and each conversation's and group's "media and files".
use std::collections::BTreeMap;

use axum::{Json, extract::State, http::StatusCode};
use confab_producers::{self as producers, AttachmentsOf, OpenedFile, rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams, QueryParams},
    views::attachments::DownloadTicket,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachmentRequest {
    #[schema(schema_with = constraints::file_name)]
    file_name: String,
    /// The MIME type the upload must declare, e.g. `image/jpeg`.
    #[schema(
        example = "image/jpeg",
        max_length = 255,
        pattern = "^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$"
    )]
    content_type: String,
    /// Exact length in bytes, 1 to the server's limit (the document's `maximum`).
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::extract::whole_number")]
    size: u64,
    /// SHA-256 of the bytes, 64 hex digits; the indexer rejects an upload that differs.
    #[schema(pattern = "^[0-9a-fA-F]{64}$", min_length = 64, max_length = 64)]
    sha256: String,
    /// A username: the attachment belongs to your conversation with them.
    recipient: Option<String>,
    /// Or a group you are a member of.
    group_id: Option<String>,
    /// Or `true`: a picture for your own profile (PNG, JPEG, GIF or WebP, at most 5 MiB), to
    /// set with `PATCH /me` `{avatar}`; anyone signed in may download it while it is your
    /// picture.
    #[serde(default)]
    avatar: bool,
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
pub(crate) struct AttachmentPage {
    /// Newest first.
    attachments: Vec<AttachmentView>,
    /// Fetches the next (older) page; null at the end.
    next_cursor: Option<String>,
}

impl From<OpenedFile> for AttachmentView {
    fn from(OpenedFile { row, file_name }: OpenedFile) -> Self {
        Self {
            file_name,
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
        }
    }
}

#[utoipa::path(
    post, path = "/attachments", tag = "attachments",
    request_body = AttachmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "upload the bytes to `uploadUrl`; then send the attachment (or report it with `/attachments/{attachmentId}/complete`)", body = UploadTicket),
        (status = 400, description = "invalid name, type, size or sha256, over the size limit, or not exactly one of recipient, groupId and avatar; `invalid_avatar`: a picture that is not PNG, JPEG, GIF or WebP", body = ErrorBody),
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
    let request = producers::AttachmentRequest {
        file_name: body.file_name,
        content_type: body.content_type,
        size: body.size,
        sha256: body.sha256,
        recipient: body.recipient,
        group_id: body.group_id,
        avatar: body.avatar,
    };
    let ticket = state.use_cases.request_attachment(&caller, request).await?;
    let ticket = UploadTicket {
        attachment_id: ticket.attachment_id,
        upload_url: ticket.upload.url,
        upload_method: ticket.upload.method,
        upload_headers: ticket.upload.headers.into_iter().collect(),
        expires_at: rfc3339(ticket.expires_at_ms),
    };
    Ok((StatusCode::CREATED, Json(ticket)))
}

#[utoipa::path(
    post, path = "/attachments/{attachmentId}/complete", tag = "attachments",
    params(("attachmentId" = String, Path, description = "the attachment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "verified: the bytes match the declaration and can be sent", body = AttachmentView),
        (status = 400, description = "`attachment_rejected`: the bytes differ from the declaration", body = ErrorBody),
        (status = 409, description = "`attachment_not_uploaded`: no bytes yet", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not the uploader", body = ErrorBody),
        (status = 404, description = "no such attachment", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(attachment_id): PathParams<String>,
) -> Result<Json<AttachmentView>, ApiError> {
    let file = state.use_cases.complete_upload(&caller, &attachment_id).await?;
    Ok(Json(AttachmentView::from(file)))
}

#[utoipa::path(
    get, path = "/attachments/{attachmentId}", tag = "attachments",
    params(("attachmentId" = String, Path, description = "the attachment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a short-lived download URL and the attachment's metadata", body = DownloadTicket),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a participant of its conversation or a member of its group; `not_an_avatar`: a profile picture its uploader does not show now", body = ErrorBody),
        (status = 404, description = "no such attachment", body = ErrorBody),
        (status = 409, description = "not available: not uploaded and verified yet, or rejected", body = ErrorBody),
        (status = 503, description = "object storage unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn download(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(attachment_id): PathParams<String>,
) -> Result<Json<DownloadTicket>, ApiError> {
    Ok(Json(state.use_cases.download(&caller, &attachment_id).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DirectAttachmentsQuery {
    /// The peer's username.
    recipient: String,
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[param(schema_with = constraints::message_cursor)]
    before: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupAttachmentsQuery {
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[param(schema_with = constraints::message_cursor)]
    before: Option<String>,
}

/// Shapes a page of attachments.
fn shaped(page: producers::AttachmentPage) -> Json<AttachmentPage> {
    let attachments = page.attachments.into_iter().map(AttachmentView::from).collect();
    Json(AttachmentPage { attachments, next_cursor: page.next_cursor })
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
    let limit = producers::page_limit(query.limit.as_deref())?;
    let of = AttachmentsOf::Direct(&query.recipient);
    Ok(shaped(state.use_cases.attachment_page(&caller, of, query.before.as_deref(), limit).await?))
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
    PathParams(group_id): PathParams<String>,
    QueryParams(query): QueryParams<GroupAttachmentsQuery>,
) -> Result<Json<AttachmentPage>, ApiError> {
    let limit = producers::page_limit(query.limit.as_deref())?;
    let of = AttachmentsOf::Group(&group_id);
    Ok(shaped(state.use_cases.attachment_page(&caller, of, query.before.as_deref(), limit).await?))
}
