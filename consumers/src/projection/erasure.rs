//! What an account's deletion erases beyond its rows: the data keys everything it wrote is sealed
//! under (so no copy of it opens again, on the log or anywhere), and the bytes of every file it
//! uploaded. Run by the users projection at `AccountDeleted`, in log order; every step can be
//! repeated, so a redelivery or a replay finishes what a crash cut short.
use std::sync::Arc;

use confab_objects::ObjectStore;
use confab_readmodels::{AttachmentStore, DataKeyStore, MAX_PAGE_ROWS, StoreError, upload_key};

use crate::projection::object_error;

/// Erases accounts.
pub struct Erasure {
    pub keys: Arc<dyn DataKeyStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub attachments: Arc<dyn AttachmentStore>,
}

impl Erasure {
    /// Refuses the account new keys, deletes the files it uploaded (in every place it has a key
    /// for: a file's name is sealed under its uploader's key there, so each of its files is in
    /// one of them; and those never settled), then destroys its keys, last, so that a repeat
    /// still finds the places.
    pub async fn erase(&self, user_id: &str) -> Result<(), StoreError> {
        self.keys.mark_erased(user_id).await?;
        for place in self.keys.places(user_id).await? {
            let mut before: Option<String> = None;
            loop {
                let page = self.attachments.conversation_attachments(&place, before.as_deref(), MAX_PAGE_ROWS).await?;
                for row in page.iter().filter(|row| row.uploader_id == user_id) {
                    self.objects.delete(&row.stored_key()).await.map_err(object_error)?;
                }
                match page.last() {
                    Some(last) if page.len() >= MAX_PAGE_ROWS => before = Some(last.attachment_id.clone()),
                    _ => break,
                }
            }
        }
        // The upload quota keeps a user's pending uploads far below a page.
        for row in self.attachments.pending_uploads(user_id, MAX_PAGE_ROWS).await? {
            self.objects.delete(&upload_key(&row.attachment_id)).await.map_err(object_error)?;
        }
        let _destroyed = self.keys.destroy(user_id).await?;
        Ok(())
    }
}
