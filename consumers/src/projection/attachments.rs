use std::sync::Arc;

use async_trait::async_trait;
use confab_objects::{ObjectError, ObjectStore};
use confab_schemas::{AttachmentRequested, Event, Topic};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec, object_error};
use confab_readmodels::{
    AttachmentRow, AttachmentStatus, AttachmentStore, StoreError, rejected_key, uploaded_attachment, withdrawn_key,
};

/// The attachment indexer: `confab.attachments` into the attachment index.
pub const ATTACHMENTS: ProjectionSpec = ProjectionSpec {
    name: "attachments",
    topics: &[Topic::Attachments],
    build: Some(|sinks| {
        Arc::new(AttachmentIndexer::new(Arc::clone(&sinks.read_models.attachments), Arc::clone(sinks.objects)))
    }),
};

/// The attachment indexer: `confab.attachments` -> the attachment index. On each reported upload
/// it checks the object itself (present, size, type, SHA-256) and settles the attachment
/// available or rejected, once. A rejected one's bytes are deleted; its verdict is kept in their
/// place (`rejected/<id>`), so a replay reaches the same verdict without them. One whose messages
/// were all deleted before it is verified (a replay's indexer may run behind the messages
/// projection) is settled withdrawn, by what the withdrawal left in place of its bytes.
pub struct AttachmentIndexer {
    store: Arc<dyn AttachmentStore>,
    objects: Arc<dyn ObjectStore>,
}

impl AttachmentIndexer {
    pub fn new(store: Arc<dyn AttachmentStore>, objects: Arc<dyn ObjectStore>) -> Self {
        Self { store, objects }
    }
}

/// The row a request becomes: pending until an upload is verified.
pub fn requested_row(e: &AttachmentRequested) -> AttachmentRow {
    let p = &e.payload;
    AttachmentRow {
        attachment_id: p.attachment_id.clone(),
        kind: p.kind.clone(),
        conversation_id: p.conversation_id.clone(),
        recipient_id: p.recipient_id.clone(),
        uploader_id: p.uploader_id.clone(),
        uploader_username: p.uploader_username.clone(),
        file_name: p.file_name.clone(),
        content_type: p.content_type.clone(),
        size: u64::try_from(p.size).unwrap_or_default(),
        declared_sha256: p.sha256.clone(),
        upload_key: p.object_key.clone(),
        status: AttachmentStatus::Pending,
        reason: None,
        created_at_ms: e.occurred_at,
        expires_at_ms: p.expires_at,
        settled_at_ms: None,
        group_offset: p.group_offset.and_then(|offset| u64::try_from(offset).ok()),
    }
}

#[async_trait]
impl Projection for AttachmentIndexer {
    fn spec(&self) -> &'static ProjectionSpec {
        &ATTACHMENTS
    }

    /// Both the index and the object store: either one down is an outage, not a bad event.
    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await?;
        self.objects.ping().await.map_err(object_error)
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        for logged in events {
            match &logged.event {
                Event::AttachmentRequested(e) => self.store.put_requested(&requested_row(e)).await?,
                Event::AttachmentUploaded(e) => self.verify(&e.payload.attachment_id, e.occurred_at).await?,
                _ => {}
            }
        }
        Ok(())
    }
}

impl AttachmentIndexer {
    async fn verify(&self, attachment_id: &str, reported_at_ms: i64) -> Result<(), StoreError> {
        let Some(row) = self.store.attachment(attachment_id).await? else {
            tracing::warn!(attachment_id, "upload reported for an unknown attachment; skipped");
            return Ok(());
        };
        if row.status != AttachmentStatus::Pending {
            // Settled before; settling again only completes what a crash may have cut off.
            self.store.settle(&row).await?;
            return self.discard(&row).await;
        }
        let Some(verdict) = self.check(&row).await? else {
            tracing::info!(attachment_id, "upload reported but no object yet; stays pending");
            return Ok(());
        };
        let (status, reason) = match verdict {
            Verdict::Available => (AttachmentStatus::Available, None),
            Verdict::Rejected(reason) => {
                tracing::info!(attachment_id, reason, "attachment rejected");
                (AttachmentStatus::Rejected, Some(reason))
            }
            Verdict::Withdrawn => (AttachmentStatus::Withdrawn, None),
        };
        let settled = AttachmentRow { status, reason, settled_at_ms: Some(reported_at_ms), ..row };
        self.store.settle(&settled).await?;
        self.discard(&settled).await
    }

    /// Once settled, the upload goes (the verified copy would hold every attachment's bytes
    /// twice), and so does a rejected one's copy, after its verdict is written in its place. Only
    /// after the verdict is stored, and each step safe to redo, so a crash in between leaves
    /// work for the redelivery, never bytes without a verdict or a verdict without its evidence.
    async fn discard(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        match row.status {
            AttachmentStatus::Rejected => {
                let reason = row.reason.clone().unwrap_or_default().into_bytes();
                let verdict = rejected_key(&row.attachment_id);
                self.objects.put(&verdict, reason, "text/plain; charset=utf-8").await.map_err(object_error)?;
                self.objects.delete(&row.stored_key()).await.map_err(object_error)?;
            }
            // What the withdrawal deleted, a verification may have copied back.
            AttachmentStatus::Withdrawn => self.objects.delete(&row.stored_key()).await.map_err(object_error)?,
            AttachmentStatus::Pending | AttachmentStatus::Available => {}
        }
        self.discard_upload(row).await
    }

    async fn discard_upload(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        if uploaded_attachment(&row.upload_key) != Some(row.attachment_id.as_str()) {
            tracing::warn!(attachment_id = %row.attachment_id, key = %row.upload_key, "not an upload key; kept");
            return Ok(());
        }
        self.objects.delete(&row.upload_key).await.map_err(object_error)
    }

    /// Copies the upload to where verified bytes live (once: a copy that exists is what gets
    /// checked, so a replay checks the same bytes), then compares it with the declaration; a
    /// verdict or a withdrawal kept in place of deleted bytes answers for them. `None` when
    /// nothing was uploaded yet.
    async fn check(&self, row: &AttachmentRow) -> Result<Option<Verdict>, StoreError> {
        if self.objects.head(&withdrawn_key(&row.attachment_id)).await.map_err(object_error)?.is_some() {
            return Ok(Some(Verdict::Withdrawn));
        }
        let stored = row.stored_key();
        let meta = match self.objects.head(&stored).await.map_err(object_error)? {
            Some(meta) => meta,
            None => {
                if let Some(reason) = self.objects.get(&rejected_key(&row.attachment_id)).await.map_err(object_error)? {
                    return Ok(Some(Verdict::Rejected(String::from_utf8_lossy(&reason).into_owned())));
                }
                if self.objects.head(&row.upload_key).await.map_err(object_error)?.is_none() {
                    return Ok(None);
                }
                match self.objects.copy(&row.upload_key, &stored).await {
                    Ok(()) => {}
                    Err(ObjectError::NotFound(_)) => return Ok(None),
                    Err(e) => return Err(object_error(e)),
                }
                match self.objects.head(&stored).await.map_err(object_error)? {
                    Some(meta) => meta,
                    None => return Ok(None),
                }
            }
        };
        if meta.size != row.size {
            return Ok(Some(Verdict::Rejected(format!("size is {} bytes, {} were declared", meta.size, row.size))));
        }
        if meta.content_type.as_deref().is_some_and(|t| t != row.content_type) {
            return Ok(Some(Verdict::Rejected("content type differs from the declared one".to_owned())));
        }
        let sha256 = match self.objects.sha256(&stored).await {
            Ok(digest) => hex::encode(digest),
            Err(ObjectError::Corrupt { reason, .. }) => {
                return Ok(Some(Verdict::Rejected(format!("unreadable object: {reason}"))));
            }
            Err(e) => return Err(object_error(e)),
        };
        if sha256 != row.declared_sha256 {
            return Ok(Some(Verdict::Rejected("sha256 differs from the declared one".to_owned())));
        }
        Ok(Some(Verdict::Available))
    }
}

/// What the indexer finds an upload to be.
enum Verdict {
    /// The bytes are as declared.
    Available,
    /// They are not, for this reason.
    Rejected(String),
    /// Every message carrying it was deleted for everyone.
    Withdrawn,
}
