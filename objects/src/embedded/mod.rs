//! Objects as files under the data directory, sealed at rest ([`sealed`]), moved in and out by
//! Confab itself at signed URLs ([`signing`]): the same flow as S3 pre-signed URLs, with no
//! service to run.
mod sealed;
mod signing;
mod sweep;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::{
    fs::File,
    io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter, SeekFrom},
};

pub use sealed::AtRestKeys;
use sealed::{CHUNK, DIGEST_SLOT, Header, Opener, Sealer};
use signing::UrlSigner;
pub use signing::{Grant, Refusal, SignedQuery};

use crate::{ObjectError, ObjectMeta, ObjectStore, PresignedRequest, UploadTerms, error::unavailable, valid_key};

/// Where half-written uploads wait; not a valid key segment, so never an object.
const PARTIAL_DIR: &str = ".partial";
/// Route under which Confab serves the objects.
pub const ROUTE_PREFIX: &str = "/objects/";

/// Why an upload's body was not stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the body is longer than the signed size")]
    TooLong,
    #[error("the body is shorter than the signed size")]
    TooShort,
    #[error("the body could not be read: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("this upload url was used already")]
    Used,
    #[error(transparent)]
    Store(#[from] ObjectError),
}

#[derive(Clone)]
pub struct EmbeddedObjects {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    keys: AtRestKeys,
    signer: UrlSigner,
    /// Where clients reach this process, e.g. `http://127.0.0.1:8080`; known once it listens.
    public_url: OnceLock<String>,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn checked(key: &str) -> Result<&str, ObjectError> {
    if valid_key(key) { Ok(key) } else { Err(ObjectError::InvalidKey(key.to_owned())) }
}

impl EmbeddedObjects {
    /// Objects under `root`, sealed with `keys`, URLs signed with `signing_key`.
    pub fn open(root: &Path, keys: AtRestKeys, signing_key: [u8; 32]) -> Result<Self, ObjectError> {
        std::fs::create_dir_all(root.join(PARTIAL_DIR)).map_err(unavailable)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: root.to_owned(),
                keys,
                signer: UrlSigner::new(signing_key).map_err(unavailable)?,
                public_url: OnceLock::new(),
            }),
        })
    }

    /// Deletes half-written uploads and the objects under `scratch_prefix` last written more
    /// than `older_than` ago; how many files went.
    pub async fn sweep(&self, scratch_prefix: &str, older_than: Duration) -> Result<usize, ObjectError> {
        let partial = self.inner.root.join(PARTIAL_DIR);
        let scratch = self.path(scratch_prefix.trim_end_matches('/'))?;
        tokio::task::spawn_blocking(move || {
            Ok(sweep::remove_older(&partial, older_than)? + sweep::remove_older(&scratch, older_than)?)
        })
        .await
        .map_err(unavailable)?
    }

    /// Sets the base of every URL this store signs; the first call wins.
    pub fn set_public_url(&self, url: &str) {
        let _ = self.inner.public_url.set(url.trim_end_matches('/').to_owned());
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectError> {
        Ok(self.inner.root.join(checked(key)?))
    }

    fn presign(&self, key: &str, expires_in: Duration, grant: &Grant) -> Result<String, ObjectError> {
        let base = self.inner.public_url.get().ok_or_else(|| unavailable("the public url is not known yet"))?;
        let expires = now_secs() + expires_in.as_secs() as i64;
        Ok(format!("{base}{ROUTE_PREFIX}{}?{}", checked(key)?, self.inner.signer.sign(key, expires, grant)))
    }

    /// What a request with `method` on `key` and this query may do.
    pub fn authorize(&self, method: &str, key: &str, query: &SignedQuery) -> Result<Grant, Refusal> {
        self.inner.signer.verify(method, key, query, now_secs())
    }

    /// Stores exactly `size` bytes of `body` as `key`, or nothing: the object appears whole once
    /// the last byte is on disk. A key is written once: a second write, even one racing the
    /// first, is refused with [`UploadError::Used`] (S3's `If-None-Match: *`).
    pub async fn write<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<(), UploadError> {
        if tokio::fs::try_exists(self.path(key)?).await.map_err(unavailable)? {
            return Err(UploadError::Used);
        }
        self.store(key, size, content_type, body, Placement::Once).await
    }

    /// Seals `body` for `key` into a partial file, then gives it the key's name as `placement`
    /// says; the partial file never outlives the call.
    async fn store<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        placement: Placement,
    ) -> Result<(), UploadError> {
        let target = self.path(key)?;
        let partial = self.inner.root.join(PARTIAL_DIR).join(uuid::Uuid::new_v4().to_string());
        let written = match self.write_partial(key, &partial, size, content_type, body).await {
            Ok(()) => placement.place(&partial, &target).await,
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&partial).await;
        written
    }

    /// Seals `body` for the object `key` into the file `partial`.
    async fn write_partial<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        key: &str,
        partial: &Path,
        size: u64,
        content_type: &str,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<(), UploadError> {
        let header = Header::new(&self.inner.keys.current, size, content_type);
        let mut sealer = Sealer::new(&self.inner.keys, &header, key)?;
        let mut file = BufWriter::new(File::create(partial).await.map_err(unavailable)?);
        file.write_all(sealer.header()).await.map_err(unavailable)?;
        let slot_at = sealer.header().len() as u64;
        file.write_all(&[0; DIGEST_SLOT]).await.map_err(unavailable)?;
        let (mut pending, mut received, mut chunk) = (Vec::with_capacity(CHUNK), 0u64, 0u64);
        while let Some(bytes) = body.next().await {
            let bytes = bytes.map_err(|e| UploadError::Body(e.into()))?;
            received += bytes.len() as u64;
            if received > size {
                return Err(UploadError::TooLong);
            }
            pending.extend_from_slice(&bytes);
            while chunk + 1 < header.chunks() && pending.len() >= CHUNK {
                let rest = pending.split_off(CHUNK);
                file.write_all(&sealer.seal(&pending)?).await.map_err(unavailable)?;
                pending = rest;
                chunk += 1;
            }
        }
        if received < size {
            return Err(UploadError::TooShort);
        }
        file.write_all(&sealer.seal(&pending)?).await.map_err(unavailable)?;
        let _ = file.seek(SeekFrom::Start(slot_at)).await.map_err(unavailable)?;
        file.write_all(&sealer.digest()?).await.map_err(unavailable)?;
        file.flush().await.map_err(unavailable)?;
        file.into_inner().sync_all().await.map_err(unavailable)?;
        Ok(())
    }

    /// The object `key`, opened for reading: what it is, and its bytes on demand.
    pub async fn object(&self, key: &str) -> Result<Option<StoredObject>, ObjectError> {
        let mut file = match File::open(self.path(key)?).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let corrupt = |reason: String| ObjectError::Corrupt { key: key.to_owned(), reason };
        // The header is read in the pieces its lengths announce, so the file stops at chunk 0.
        let mut head = vec![0u8; 5];
        let _ = file.read_exact(&mut head).await.map_err(unavailable)?;
        head.resize(5 + Header::fixed_after_prefix(&head[..4], head[4]), 0);
        let _ = file.read_exact(&mut head[5..]).await.map_err(unavailable)?;
        let type_len = usize::from(u16::from_be_bytes([head[head.len() - 2], head[head.len() - 1]]));
        let at = head.len();
        head.resize(at + type_len, 0);
        let _ = file.read_exact(&mut head[at..]).await.map_err(unavailable)?;
        let (header, _) = Header::decode(&head).map_err(corrupt)?.ok_or_else(|| corrupt("short header".into()))?;
        let mut slot = [0u8; DIGEST_SLOT];
        let slot = if header.digested {
            let _ = file.read_exact(&mut slot).await.map_err(unavailable)?;
            Some(&slot[..])
        } else {
            None
        };
        let opener = Opener::new(&self.inner.keys, header, &head, slot, key).map_err(corrupt)?;
        Ok(Some(StoredObject { opener, file }))
    }

    /// The object's bytes as a stream of opened chunks; a chunk that does not authenticate ends
    /// the stream with an error.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<Option<(ObjectMeta, impl Stream<Item = std::io::Result<Bytes>> + Send + 'static)>, ObjectError> {
        let Some(object) = self.object(key).await? else { return Ok(None) };
        let meta = object.meta();
        let whole = 0..meta.size;
        Ok(Some((meta, object.bytes(whole))))
    }
}

/// An object open for reading.
pub struct StoredObject {
    opener: Opener,
    file: File,
}

impl StoredObject {
    pub fn meta(&self) -> ObjectMeta {
        ObjectMeta { size: self.opener.header.size, content_type: Some(self.opener.header.content_type.clone()) }
    }

    /// The SHA-256 of the bytes, when the object was written with it (every object written
    /// since the `CFO3` format).
    pub fn sha256(&self) -> Option<[u8; 32]> {
        self.opener.sha256
    }

    /// The bytes of `range` (within the object's size) as a stream of opened pieces; only the
    /// chunks the range covers are read. A chunk that does not authenticate ends the stream
    /// with an error. An empty range still opens the chunk it starts in, so even an empty
    /// object is authenticated when read whole.
    pub fn bytes(self, range: std::ops::Range<u64>) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let chunk = CHUNK as u64;
        let first = range.start / chunk;
        let last = if range.end > range.start { (range.end - 1) / chunk } else { first };
        let Self { opener, file } = self;
        futures::stream::try_unfold((opener, file, first, true), move |(opener, mut file, index, seek)| {
            let range = range.clone();
            async move {
                if index > last || index >= opener.header.chunks() {
                    return Ok(None);
                }
                if seek {
                    let _ = file.seek(SeekFrom::Start(opener.chunk_offset(index))).await?;
                }
                let mut sealed = vec![0u8; opener.header.sealed_chunk_len(index)];
                let _ = file.read_exact(&mut sealed).await?;
                let opened = opener.open(index, &sealed).map_err(std::io::Error::other)?;
                let starts = index * chunk;
                let from = range.start.saturating_sub(starts).min(opened.len() as u64) as usize;
                let to = (range.end - starts).min(opened.len() as u64) as usize;
                let piece = Bytes::from(opened).slice(from..to.max(from));
                Ok(Some((piece, (opener, file, index + 1, false))))
            }
        })
    }
}

/// How a written object takes its key's name.
#[derive(Clone, Copy)]
enum Placement {
    /// Unless something has it already (a client's upload): a hard link fails rather than
    /// replace, where a rename would not.
    Once,
    /// Replacing what was there (what Confab writes itself: verdicts, scratch, verified copies).
    Replace,
}

impl Placement {
    async fn place(self, partial: &Path, target: &Path) -> Result<(), UploadError> {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(unavailable)?;
        }
        let placed = match self {
            Self::Once => tokio::fs::hard_link(partial, target).await,
            Self::Replace => tokio::fs::rename(partial, target).await,
        };
        match placed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(UploadError::Used),
            Err(e) => Err(UploadError::Store(unavailable(e))),
        }
    }
}

#[async_trait]
impl ObjectStore for EmbeddedObjects {
    async fn ping(&self) -> Result<(), ObjectError> {
        tokio::fs::metadata(self.inner.root.join(PARTIAL_DIR)).await.map(drop).map_err(unavailable)
    }

    async fn presign_put(&self, terms: &UploadTerms<'_>) -> Result<PresignedRequest, ObjectError> {
        let grant = Grant::Put { size: terms.size, content_type: terms.content_type.to_owned() };
        Ok(PresignedRequest {
            method: "PUT",
            url: self.presign(terms.key, terms.expires_in, &grant)?,
            headers: vec![("content-type".to_owned(), terms.content_type.to_owned())],
        })
    }

    async fn presign_get(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, ObjectError> {
        Ok(PresignedRequest { method: "GET", url: self.presign(key, expires_in, &Grant::Get)?, headers: Vec::new() })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        Ok(self.object(key).await?.map(|object| object.meta()))
    }

    /// Copies by opening `from` and sealing the bytes again for `to`: an object is sealed for
    /// its own key, so a file copy would not open there.
    async fn copy(&self, from: &str, to: &str) -> Result<(), ObjectError> {
        let Some((meta, chunks)) = self.read(from).await? else {
            return Err(ObjectError::NotFound(from.to_owned()));
        };
        let content_type = meta.content_type.unwrap_or_default();
        self.store(to, meta.size, &content_type, Box::pin(chunks), Placement::Replace).await.map_err(|e| match e {
            UploadError::Store(e) => e,
            other => ObjectError::Corrupt { key: from.to_owned(), reason: other.to_string() },
        })
    }

    /// Read from the object's header, where it was sealed with the bytes, when it is there.
    async fn sha256(&self, key: &str) -> Result<[u8; 32], ObjectError> {
        let Some(object) = self.object(key).await? else {
            return Err(ObjectError::NotFound(key.to_owned()));
        };
        if let Some(digest) = object.sha256() {
            return Ok(digest);
        }
        let size = object.meta().size;
        let mut chunks = std::pin::pin!(object.bytes(0..size));
        let mut hasher = Sha256::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ObjectError::Corrupt { key: key.to_owned(), reason: e.to_string() })?;
            hasher.update(&chunk);
        }
        Ok(hasher.finalize().into())
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(unavailable(e)),
            _ => Ok(()),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ObjectError> {
        let size = bytes.len() as u64;
        let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(bytes))]);
        self.store(key, size, content_type, body, Placement::Replace).await.map_err(|e| match e {
            UploadError::Store(e) => e,
            other => unavailable(other.to_string()),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        let Some((_, chunks)) = self.read(key).await? else { return Ok(None) };
        let mut chunks = std::pin::pin!(chunks);
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ObjectError::Corrupt { key: key.to_owned(), reason: e.to_string() })?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }
}
