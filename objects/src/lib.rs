//! Where attachment bytes live. Clients move them straight to and from the store through
//! pre-signed URLs; Confab itself only signs those URLs, and the attachment indexer checks what
//! arrived. Two adapters: S3 ([`s3`]) and files on local disk served by Confab ([`embedded`]).

pub mod cdn;
pub mod embedded;
mod error;
pub mod s3;

use std::time::Duration;

use async_trait::async_trait;

pub use error::ObjectError;

/// How long scratch objects (uploads never verified) are kept: the S3 lifecycle rule's expiry,
/// and the embedded store's sweep.
pub const SCRATCH_RETENTION_DAYS: u16 = 1;

/// A request a client makes itself, signed for one object and one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: &'static str,
    pub url: String,
    /// Headers the client must send exactly as given; the signature covers them.
    pub headers: Vec<(String, String)>,
}

/// What the store knows of an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
}

/// An upload the signature allows: exactly this many bytes of this content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTerms<'a> {
    pub key: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub expires_in: Duration,
}

#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Answers once objects can be read and written.
    async fn ping(&self) -> Result<(), ObjectError>;

    /// A URL that uploads one object with `PUT`, valid for `terms.expires_in`.
    async fn presign_put(&self, terms: &UploadTerms<'_>) -> Result<PresignedRequest, ObjectError>;

    /// A URL that downloads `key` with `GET`, valid for `expires_in`.
    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, ObjectError>;

    /// The object's size and type; `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError>;

    /// Copies `from` to `to`, replacing `to`.
    async fn copy(&self, from: &str, to: &str) -> Result<(), ObjectError>;

    /// The SHA-256 of the object's bytes.
    async fn sha256(&self, key: &str) -> Result<[u8; 32], ObjectError>;

    /// Removes `key`; removing an object that is not there is not an error.
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;

    /// Stores `bytes` whole as `key`, replacing it: the small objects Confab writes itself.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ObjectError>;

    /// A small object's bytes, read whole; `None` when there is no such object.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError>;
}

/// Keys are `[a-z0-9-]` segments joined by `/`: safe as S3 keys, URL paths and file paths.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 256
        && key.split('/').all(|segment| {
            !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_are_plain_segments() {
        assert!(valid_key("uploads/0190-ab"));
        for bad in ["", "/a", "a/", "a//b", "../a", "a/../b", "A", "a b", "a.b", "a%2fb"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
