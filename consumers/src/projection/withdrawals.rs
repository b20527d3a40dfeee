//! What deleting a message for everyone does to its files: an attachment no other message
//! carries is withdrawn, its bytes deleted and its listing gone, so the conversation's files
//! keep nothing of a deleted message. Run by the messages projection in log order; every step
//! can be repeated, so a redelivery or a replay finishes what a crash cut short.
use std::sync::Arc;

use confab_objects::ObjectStore;
use confab_readmodels::{AttachmentStore, StoreError, stored_key, upload_key, withdrawn_key};
use confab_schemas::AttachmentRef;

use crate::projection::object_error;

/// Withdraws the files of deleted messages.
pub struct Withdrawals {
    pub attachments: Arc<dyn AttachmentStore>,
    pub objects: Arc<dyn ObjectStore>,
}

impl Withdrawals {
    /// Records that `message_id`, stored and not deleted, carries `attachments`.
    pub async fn carry(&self, message_id: &str, attachments: &[AttachmentRef]) -> Result<(), StoreError> {
        self.attachments.carry(message_id, &ids(attachments)).await
    }

    /// `message_id` is being deleted for everyone: withdraws each of its `attachments` that no
    /// other message carries. The withdrawal is kept beside the bytes first (the indexer settles
    /// an upload it verifies later withdrawn by it), then the index follows, then the bytes go.
    pub async fn withdraw(&self, message_id: &str, attachments: &[AttachmentRef]) -> Result<(), StoreError> {
        if attachments.is_empty() {
            return Ok(());
        }
        for attachment_id in self.attachments.uncarry(message_id, &ids(attachments)).await? {
            let marker = withdrawn_key(&attachment_id);
            let why = b"every message carrying it was deleted for everyone".to_vec();
            self.objects.put(&marker, why, "text/plain; charset=utf-8").await.map_err(object_error)?;
            self.attachments.withdraw(&attachment_id).await?;
            for key in [stored_key(&attachment_id), upload_key(&attachment_id)] {
                self.objects.delete(&key).await.map_err(object_error)?;
            }
        }
        Ok(())
    }
}

fn ids(attachments: &[AttachmentRef]) -> Vec<String> {
    attachments.iter().map(|a| a.attachment_id.clone()).collect()
}
