//! Attachments: pre-signed uploads and downloads, the upload report that has the indexer verify
//! the bytes, who may see an attachment, and which attachments a message may carry.
use std::{collections::HashSet, time::Duration};

use confab_objects::{PresignedRequest, UploadTerms};
use confab_readmodels::{AttachmentRow, AttachmentStatus, UserRow, upload_key, uploaded_attachment};
use confab_schemas::{
    AttachmentRef, AttachmentRequested, AttachmentRequestedPayload, AttachmentUploaded, AttachmentUploadedPayload,
    Event, Topic,
};
use uuid::Uuid;

use crate::{
    Caller, ChatError, KeyScope, OpenedFile, UseCases, conversation_id, rate_limits::UserAction, text::unsafe_in_name,
    time::now_ms,
};

/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
pub const MAX_FILE_NAME_CHARS: usize = 255;
pub const MAX_CONTENT_TYPE_BYTES: usize = 255;
/// Largest profile picture, in bytes (or the deployment's attachment limit, if lower).
pub const MAX_AVATAR_BYTES: u64 = 5 * 1024 * 1024;
/// What a profile picture may be: images every browser shows.
pub const AVATAR_CONTENT_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What a deployment allows of attachments.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentLimits {
    pub max_bytes: u64,
    pub upload_ttl: Duration,
    pub download_ttl: Duration,
    /// Uploads one user may have requested and not finished (nor let expire).
    pub max_pending: usize,
    /// Bytes those may add up to.
    pub max_pending_bytes: u64,
}

/// An attachment to upload, declared before its bytes.
#[derive(Debug, Clone)]
pub struct AttachmentRequest {
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// A username: the attachment belongs to the caller's conversation with them.
    pub recipient: Option<String>,
    /// Or a group the caller is a member of.
    pub group_id: Option<String>,
    /// Or a picture for the caller's own profile.
    pub avatar: bool,
}

/// Where and until when to upload an attachment's bytes.
#[derive(Debug, Clone)]
pub struct UploadTicket {
    pub attachment_id: String,
    pub upload: PresignedRequest,
    pub expires_at_ms: i64,
}

/// A download URL for an available attachment, and the attachment.
#[derive(Debug, Clone)]
pub struct Download {
    /// The attachment, its name opened.
    pub file: OpenedFile,
    pub url: PresignedRequest,
    pub expires_at_ms: i64,
}

/// Whose conversation an attachment belongs to.
enum Owner {
    Direct {
        conversation_id: String,
        recipient: UserRow,
    },
    Group {
        group_id: String,
    },
    /// The uploader's own profile: its place is named by their id.
    Profile {
        user_id: String,
    },
}

impl Owner {
    fn conversation_id(&self) -> &str {
        match self {
            Owner::Direct { conversation_id, .. } => conversation_id,
            Owner::Group { group_id } => group_id,
            Owner::Profile { user_id } => user_id,
        }
    }
}

/// Refused as a profile picture: not an image browsers show, or too big.
fn refuse_as_avatar(request: &AttachmentRequest, max_bytes: u64) -> Result<(), ChatError> {
    let essence = essence(&request.content_type).trim().to_ascii_lowercase();
    if !AVATAR_CONTENT_TYPES.contains(&essence.as_str()) {
        return Err(ChatError::invalid(
            "invalid_avatar",
            format!("a profile picture must be one of {}", AVATAR_CONTENT_TYPES.join(", ")),
        ));
    }
    let max = max_bytes.min(MAX_AVATAR_BYTES);
    if request.size > max {
        return Err(ChatError::invalid("invalid_size", format!("a profile picture may be at most {max} bytes")));
    }
    Ok(())
}

fn not_a_profile_picture() -> ChatError {
    ChatError::forbidden(
        "not_a_profile_picture",
        "avatar must name a picture you uploaded for your profile (POST /attachments with avatar: true)",
    )
}

/// The key an attachment's file name is sealed under.
pub fn scope_of(row: &AttachmentRow) -> KeyScope<'_> {
    if row.is_group() { KeyScope::Group(&row.conversation_id) } else { KeyScope::Conversation(&row.conversation_id) }
}

fn validate_file_name(raw: &str) -> Result<(), ChatError> {
    let chars = raw.chars().count();
    if raw.trim().is_empty()
        || chars > MAX_FILE_NAME_CHARS
        || unsafe_in_name(raw)
        || raw.chars().any(|c| c == '/' || c == '\\')
    {
        return Err(ChatError::invalid(
            "invalid_file_name",
            "fileName must be 1-255 characters without path separators, control characters or bidirectional overrides",
        ));
    }
    Ok(())
}

/// A content type without its parameters: `image/png` of `image/png; q=1`.
fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default()
}

/// `type/subtype`, optionally with parameters, in printable ASCII.
fn validate_content_type(raw: &str) -> Result<(), ChatError> {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = essence(raw);
    let valid = raw.len() <= MAX_CONTENT_TYPE_BYTES
        && raw.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence.split_once('/').is_some_and(|(t, s)| token(t) && token(s));
    if !valid {
        return Err(ChatError::invalid("invalid_content_type", "contentType must be a MIME type like image/png"));
    }
    Ok(())
}

fn parse_sha256(raw: &str) -> Result<String, ChatError> {
    if raw.len() != 64 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ChatError::invalid("invalid_sha256", "sha256 must be 64 hex digits"));
    }
    Ok(raw.to_ascii_lowercase())
}

fn attachment_not_found() -> ChatError {
    ChatError::not_found("attachment_not_found", "no attachment with that id")
}

/// An attachment id from a path; anything but a UUID names none.
fn parse_attachment_id(raw: &str) -> Result<String, ChatError> {
    Uuid::parse_str(raw).map(|id| id.to_string()).map_err(|_| attachment_not_found())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn not_uploaded(row: &AttachmentRow) -> String {
    format!("attachment {} has not been uploaded (or not verified yet)", row.attachment_id)
}

fn rejected(row: &AttachmentRow) -> String {
    let reason = row.reason.as_deref().unwrap_or("it does not match its declaration");
    format!("attachment {} was rejected: {reason}", row.attachment_id)
}

/// An attachment whose messages were all deleted for everyone: its bytes are gone, and what it
/// was called is no one's to read any more.
fn withdrawn() -> ChatError {
    ChatError::not_found("attachment_withdrawn", "every message that carried this attachment was deleted")
}

/// An attachment whose uploader's account was erased: its name is unreadable and its bytes are
/// deleted.
fn erased() -> ChatError {
    ChatError::not_found("attachment_deleted", "this attachment was deleted with its uploader's account")
}

/// A verdict as an answer: available passes, anything else is the client's to fix.
fn require_available(row: AttachmentRow) -> Result<AttachmentRow, ChatError> {
    match row.status {
        AttachmentStatus::Available => Ok(row),
        AttachmentStatus::Pending => Err(ChatError::invalid("attachment_not_uploaded", not_uploaded(&row))),
        AttachmentStatus::Rejected => Err(ChatError::invalid("attachment_rejected", rejected(&row))),
        AttachmentStatus::Withdrawn => Err(withdrawn()),
    }
}

impl UseCases {
    /// The conversation or group a request names, once the caller may write to it.
    async fn owner(&self, caller: &Caller, request: &AttachmentRequest) -> Result<Owner, ChatError> {
        match (&request.recipient, &request.group_id, request.avatar) {
            (None, None, true) => Ok(Owner::Profile { user_id: caller.sub.clone() }),
            (Some(recipient), None, false) => {
                let recipient = self.user_named(recipient).await.map_err(ChatError::as_recipient)?;
                let conversation_id = conversation_id(&caller.sub, &recipient.user_id).to_string();
                Ok(Owner::Direct { conversation_id, recipient })
            }
            (None, Some(group_id), false) => {
                let (group, _) = self.membership(group_id, &caller.sub).await?;
                Ok(Owner::Group { group_id: group.group_id })
            }
            _ => Err(ChatError::invalid("invalid_target", "give exactly one of recipient, groupId and avatar")),
        }
    }

    /// Declares an attachment and signs the URL its bytes are uploaded to.
    pub async fn request_attachment(
        &self,
        caller: &Caller,
        request: AttachmentRequest,
    ) -> Result<UploadTicket, ChatError> {
        self.rate_limits.user(UserAction::Attachment, &caller.sub)?;
        validate_file_name(&request.file_name)?;
        validate_content_type(&request.content_type)?;
        let sha256 = parse_sha256(&request.sha256)?;
        let limits = self.limits.attachments;
        if request.size == 0 || request.size > limits.max_bytes {
            return Err(ChatError::invalid(
                "invalid_size",
                format!("size must be from 1 to {} bytes", limits.max_bytes),
            ));
        }
        let owner = self.owner(caller, &request).await?;
        if matches!(owner, Owner::Profile { .. }) {
            refuse_as_avatar(&request, limits.max_bytes)?;
        }
        self.within_upload_quota(caller, request.size).await?;
        let attachment_id = Uuid::now_v7().to_string();
        let object_key = upload_key(&attachment_id);
        let terms = UploadTerms {
            key: &object_key,
            size: request.size,
            content_type: &request.content_type,
            expires_in: limits.upload_ttl,
        };
        let upload = self.objects.presign_put(&terms).await?;
        let occurred_at = now_ms();
        let expires_at = occurred_at.saturating_add(millis(limits.upload_ttl));
        let sealed_name = self
            .data_keys
            .for_sealing(&caller.sub, owner.conversation_id())
            .await?
            .seal(request.file_name.as_bytes(), attachment_id.as_bytes())
            .map_err(ChatError::internal)?;
        let (kind, recipient_id, group_offset) = match &owner {
            Owner::Direct { recipient, .. } => ("direct", Some(recipient.user_id.clone()), None),
            Owner::Profile { .. } => ("profile", None, None),
            // Its place in the group's message order, where a late joiner's view begins.
            Owner::Group { .. } => {
                let offset = self.publisher.end_offset(Topic::Messages, owner.conversation_id()).await?;
                ("group", None, Some(i64::try_from(offset).map_err(ChatError::internal)?))
            }
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
                content_type: request.content_type.clone(),
                size: i64::try_from(request.size).map_err(ChatError::internal)?,
                sha256,
                object_key,
                expires_at,
                group_offset,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(UploadTicket { attachment_id, upload, expires_at_ms: expires_at })
    }

    /// Refuses an upload of `size` bytes that would take the caller's unfinished uploads past
    /// their number or bytes. Checked against the index, so requests in flight at once can pass
    /// it by their number.
    async fn within_upload_quota(&self, caller: &Caller, size: u64) -> Result<(), ChatError> {
        let limits = self.limits.attachments;
        let now = now_ms();
        let pending = self.read().attachments.pending_uploads(&caller.sub, limits.max_pending + 1).await?;
        let unfinished: Vec<&AttachmentRow> =
            pending.iter().filter(|row| row.status == AttachmentStatus::Pending && row.expires_at_ms > now).collect();
        // They free up as they expire; the oldest first.
        let retry_after = unfinished
            .iter()
            .map(|row| row.expires_at_ms)
            .min()
            .map_or(limits.upload_ttl, |at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)));
        if unfinished.len() >= limits.max_pending {
            return Err(ChatError::OverQuota {
                code: "too_many_pending_uploads",
                message: format!("at most {} uploads may be unfinished at once: finish one first", limits.max_pending),
                retry_after,
            });
        }
        let bytes: u64 = unfinished.iter().map(|row| row.size).sum();
        if bytes.saturating_add(size) > limits.max_pending_bytes {
            return Err(ChatError::OverQuota {
                code: "pending_upload_bytes",
                message: format!("unfinished uploads may hold at most {} bytes", limits.max_pending_bytes),
                retry_after,
            });
        }
        Ok(())
    }

    /// The attachment, if the caller may see it: not found unknown, forbidden for anyone
    /// outside its conversation or group. A profile picture is anyone's to see while it is its
    /// uploader's picture, and only the uploader's otherwise.
    pub async fn visible_attachment(&self, caller: &Caller, raw_id: &str) -> Result<AttachmentRow, ChatError> {
        let id = parse_attachment_id(raw_id)?;
        let row = self.read().attachments.attachment(&id).await?.ok_or_else(attachment_not_found)?;
        if row.status == AttachmentStatus::Withdrawn {
            return Err(withdrawn());
        }
        if row.is_profile() {
            if caller.sub != row.uploader_id {
                let uploader = self.read().users.user_by_id(&row.uploader_id).await?;
                let shown = uploader.is_some_and(|u| u.is_active() && u.profile.avatar_id.as_ref() == Some(&id));
                if !shown {
                    return Err(ChatError::forbidden("not_an_avatar", "this picture is no one's profile picture now"));
                }
            }
        } else if row.is_group() {
            let (group, me) = self.membership(&row.conversation_id, &caller.sub).await?;
            if !self.sight_of(&me).await?.sees_attachment(&me, &group, &row) {
                return Err(ChatError::forbidden("before_joining", "this attachment was shared before you joined"));
            }
        } else if caller.sub != row.uploader_id && row.recipient_id.as_deref() != Some(caller.sub.as_str()) {
            return Err(ChatError::forbidden("not_a_participant", "this attachment belongs to another conversation"));
        }
        Ok(row)
    }

    /// Appends an upload report for a pending attachment and waits for the indexer's verdict;
    /// the row as it then stands.
    async fn report_upload(&self, caller: &Caller, row: AttachmentRow) -> Result<AttachmentRow, ChatError> {
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
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(self.read().attachments.attachment(&row.attachment_id).await?.unwrap_or(row))
    }

    /// The attachment `raw_id` names as the caller's new profile picture: one they uploaded for
    /// their profile, verified (reported here if it was not yet).
    pub(crate) async fn avatar(&self, caller: &Caller, raw_id: &str) -> Result<String, ChatError> {
        let id = Uuid::parse_str(raw_id.trim())
            .map_err(|_| ChatError::invalid("invalid_avatar", "avatar must be an attachment id"))?
            .to_string();
        let row = self.read().attachments.attachment(&id).await?.ok_or_else(attachment_not_found)?;
        if !(row.is_profile() && row.uploader_id == caller.sub) {
            return Err(not_a_profile_picture());
        }
        // The picture is what this change is about: its state, not the request, is at fault.
        let row = self.report_upload(caller, row).await?;
        match row.status {
            AttachmentStatus::Available => Ok(row.attachment_id),
            AttachmentStatus::Pending => Err(ChatError::conflict("attachment_not_uploaded", not_uploaded(&row))),
            AttachmentStatus::Rejected => Err(ChatError::conflict("attachment_rejected", rejected(&row))),
            AttachmentStatus::Withdrawn => Err(withdrawn()),
        }
    }

    /// The uploader reports the bytes uploaded; answers the verified attachment.
    pub async fn complete_upload(&self, caller: &Caller, raw_id: &str) -> Result<OpenedFile, ChatError> {
        let row = self.visible_attachment(caller, raw_id).await?;
        if row.uploader_id != caller.sub {
            return Err(ChatError::forbidden("not_the_uploader", "only the uploader reports an upload complete"));
        }
        let row = self.report_upload(caller, row).await?;
        if row.status == AttachmentStatus::Pending {
            // The attachment is what this request is about: no bytes yet is its state, not a
            // fault of the request.
            return Err(ChatError::conflict("attachment_not_uploaded", not_uploaded(&row)));
        }
        self.opener().file(require_available(row)?).await?.ok_or_else(erased)
    }

    /// Whether bytes may still be put at `key` (an upload URL of the embedded store): an upload
    /// URL stays valid until it expires, but once the indexer has settled its attachment the
    /// upload is discarded, and bytes put there again would be kept for nobody.
    pub async fn upload_still_open(&self, key: &str) -> Result<(), ChatError> {
        let Some(attachment_id) = uploaded_attachment(key) else { return Ok(()) };
        match self.read().attachments.attachment(attachment_id).await? {
            Some(row) if row.status != AttachmentStatus::Pending => Err(ChatError::conflict(
                "attachment_settled",
                "this attachment was verified already; request a new upload for other bytes",
            )),
            _ => Ok(()),
        }
    }

    /// A short-lived download URL for an available attachment the caller may see.
    pub async fn download(&self, caller: &Caller, raw_id: &str) -> Result<Download, ChatError> {
        let row = self.visible_attachment(caller, raw_id).await?;
        if row.status != AttachmentStatus::Available {
            return Err(ChatError::conflict(
                "attachment_not_available",
                format!("attachment is {}, not available", row.status.as_str()),
            ));
        }
        let ttl = self.limits.attachments.download_ttl;
        let url = self.objects.presign_get(&row.stored_key(), ttl).await?;
        Ok(Download {
            file: self.opener().file(row).await?.ok_or_else(erased)?,
            url,
            expires_at_ms: now_ms().saturating_add(millis(ttl)),
        })
    }

    /// The attachments a message to `conversation_id` (a direct conversation or a group)
    /// carries: each must belong to it and be verified, which a pending one is asked to be first.
    /// The attachment's sealed name as the sender's message carries it: under the sender's data
    /// key, like the rest of the message, so a message opens under one key (the uploader's name,
    /// if someone else uploaded the file, is sealed again).
    async fn name_for_sender(&self, caller: &Caller, row: &AttachmentRow) -> Result<String, ChatError> {
        if row.uploader_id == caller.sub {
            return Ok(row.file_name.clone());
        }
        let file = self.opener().file(row.clone()).await?.ok_or_else(erased)?;
        self.data_keys
            .for_sealing(&caller.sub, &row.conversation_id)
            .await?
            .seal(file.file_name.as_bytes(), row.attachment_id.as_bytes())
            .map_err(ChatError::internal)
    }

    pub(crate) async fn attach(
        &self,
        caller: &Caller,
        conversation_id: &str,
        ids: &[String],
    ) -> Result<Vec<AttachmentRef>, ChatError> {
        let mut seen = HashSet::new();
        let mut refs = Vec::new();
        for raw in ids {
            let invalid = || {
                ChatError::invalid("invalid_attachment", format!("{raw:?} is not an attachment of this conversation"))
            };
            let id = Uuid::parse_str(raw).map_err(|_| invalid())?.to_string();
            if !seen.insert(id.clone()) {
                continue;
            }
            let unknown = || ChatError::not_found("invalid_attachment", format!("{raw:?} names no attachment"));
            let row = self.read().attachments.attachment(&id).await?.ok_or_else(unknown)?;
            if row.conversation_id != conversation_id {
                return Err(invalid());
            }
            let row = require_available(self.report_upload(caller, row).await?)?;
            let file_name = self.name_for_sender(caller, &row).await?;
            refs.push(AttachmentRef {
                attachment_id: row.attachment_id,
                file_name,
                content_type: row.content_type,
                size: i64::try_from(row.size).map_err(ChatError::internal)?,
                sha256: row.declared_sha256,
            });
        }
        Ok(refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), ChatError>) -> &'static str {
        result.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn declarations_are_checked() {
        assert_eq!(code(validate_file_name("boulder.jpg")), "ok");
        for bad in ["", "  ", "a/b", "a\\b", "a\nb"] {
            assert_eq!(code(validate_file_name(bad)), "invalid_file_name", "{bad:?}");
        }
        assert_eq!(code(validate_file_name(&"é".repeat(255))), "ok", "255 characters, not bytes");
        assert_eq!(code(validate_content_type("image/png")), "ok");
        assert_eq!(code(validate_content_type("text/plain; charset=utf-8")), "ok");
        for bad in ["image", "/png", "image/", "image/p\u{e9}ng", "a b/c"] {
            assert_eq!(code(validate_content_type(bad)), "invalid_content_type", "{bad:?}");
        }
        let digest = "AB".repeat(32);
        assert_eq!(parse_sha256(&digest).ok(), Some("ab".repeat(32)));
        assert_eq!(parse_sha256("abc").err().map(|e| e.code()), Some("invalid_sha256"));
        assert_eq!(parse_attachment_id("x").err().map(|e| e.code()), Some("attachment_not_found"));
    }
}
