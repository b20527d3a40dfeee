//! The at-rest format of an embedded object: a header naming the key, the size and the content
//! type, then the bytes in 64 KiB chunks sealed with AES-256-GCM in the STREAM construction
//! (each chunk's nonce carries its index and whether it is the last), so chunks cannot be
//! reordered, dropped or cut off, and neither side ever holds more than one chunk.
//!
//! `CFO2` and `CFO3` objects are sealed under a key of their own: HKDF-SHA256 of the at-rest key
//! with a random 32-byte salt from the header and the object's key (its path) as info, and the
//! object key is in every chunk's associated data too. So nonces never repeat under one key
//! however many objects there are, and a file moved to another key does not open. `CFO1` objects
//! (one key for all, written before) still open.
//!
//! A `CFO3` header is followed by the SHA-256 of the bytes, sealed under the object's key with a
//! nonce no chunk uses (flag byte 2): the download's `ETag`, known without reading the object.
//! It is written last, into a slot left for it, since it is known only once the last byte is in.
//! Every chunk sits at a fixed offset and opens on its own (the STREAM primitive, not its
//! stateful wrapper), so a byte range reads only the chunks it covers.
use std::collections::HashMap;

use hkdf::Hkdf;
use sha2::Sha256;

use aead::{
    Aead, Payload,
    stream::{NewStream, StreamBE32, StreamPrimitive},
};
use aes_gcm::{Aes256Gcm, KeyInit, aead::generic_array::GenericArray};
use rand::RngCore;
use sha2::Digest;

use crate::ObjectError;

/// Objects sealed under the at-rest key itself (read only).
const MAGIC_V1: &[u8; 4] = b"CFO1";
/// Objects sealed under a key of their own (read only).
const MAGIC_V2: &[u8; 4] = b"CFO2";
/// Objects sealed under a key of their own, with their digest after the header.
const MAGIC_V3: &[u8; 4] = b"CFO3";
const SALT: usize = 32;
pub(crate) const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 7;
/// The sealed SHA-256 after a `CFO3` header.
pub(crate) const DIGEST_SLOT: usize = 32 + TAG;
/// The STREAM flag byte of the digest's nonce: chunks use 0 (more follow) and 1 (the last).
const DIGEST_FLAG: u8 = 2;

/// The keys objects are sealed with, by id; new objects use `current`.
#[derive(Clone)]
pub struct AtRestKeys {
    pub current: String,
    pub keys: HashMap<String, [u8; 32]>,
}

/// The plaintext part of an object's header; the whole header is authenticated with every chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) key_id: String,
    /// The salt of the object's own key; None in a `CFO1` object.
    pub(crate) salt: Option<[u8; SALT]>,
    /// Whether the sealed digest follows the header (`CFO3`).
    pub(crate) digested: bool,
    pub(crate) nonce_prefix: [u8; NONCE_PREFIX],
    pub(crate) size: u64,
    pub(crate) content_type: String,
}

impl Header {
    pub(crate) fn new(key_id: &str, size: u64, content_type: &str) -> Self {
        let mut nonce_prefix = [0u8; NONCE_PREFIX];
        rand::rngs::OsRng.fill_bytes(&mut nonce_prefix);
        let mut salt = [0u8; SALT];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Self {
            key_id: key_id.to_owned(),
            salt: Some(salt),
            digested: true,
            nonce_prefix,
            size,
            content_type: content_type.to_owned(),
        }
    }

    /// How many bytes follow the first five (magic and key id length) up to the content type's
    /// length, for a header with this magic and key id length.
    pub(crate) fn fixed_after_prefix(magic: &[u8], key_id_len: u8) -> usize {
        let salt = if magic == MAGIC_V1 { 0 } else { SALT };
        usize::from(key_id_len) + salt + NONCE_PREFIX + 8 + 2
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.key_id.len() + self.content_type.len());
        out.extend_from_slice(match (&self.salt, self.digested) {
            (_, true) => MAGIC_V3,
            (Some(_), false) => MAGIC_V2,
            (None, false) => MAGIC_V1,
        });
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        if let Some(salt) = &self.salt {
            out.extend_from_slice(salt);
        }
        out.extend_from_slice(&self.nonce_prefix);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&(self.content_type.len() as u16).to_be_bytes());
        out.extend_from_slice(self.content_type.as_bytes());
        out
    }

    /// Parses a header from the start of `bytes`; `None` until enough bytes are there, an error
    /// when they are not a header.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Option<(Self, usize)>, String> {
        let mut at = 0;
        let mut take = |n: usize| -> Option<&[u8]> {
            let part = bytes.get(at..at + n)?;
            at += n;
            Some(part)
        };
        let Some(magic) = take(4) else { return Ok(None) };
        let (salted, digested) = match magic {
            m if m == MAGIC_V3 => (true, true),
            m if m == MAGIC_V2 => (true, false),
            m if m == MAGIC_V1 => (false, false),
            _ => return Err("not a sealed object".into()),
        };
        let Some(&[id_len]) = take(1) else { return Ok(None) };
        let Some(key_id) = take(id_len as usize) else { return Ok(None) };
        let key_id = String::from_utf8(key_id.to_vec()).map_err(|_| "key id is not utf-8")?;
        let salt = if salted {
            let Some(salt) = take(SALT) else { return Ok(None) };
            Some(salt.try_into().map_err(|_| "short salt")?)
        } else {
            None
        };
        let Some(prefix) = take(NONCE_PREFIX) else { return Ok(None) };
        let nonce_prefix: [u8; NONCE_PREFIX] = prefix.try_into().map_err(|_| "short nonce")?;
        let Some(size) = take(8) else { return Ok(None) };
        let size = u64::from_be_bytes(size.try_into().map_err(|_| "short size")?);
        let Some(type_len) = take(2) else { return Ok(None) };
        let type_len = u16::from_be_bytes(type_len.try_into().map_err(|_| "short type")?);
        let Some(content_type) = take(type_len as usize) else { return Ok(None) };
        let content_type = String::from_utf8(content_type.to_vec()).map_err(|_| "content type is not utf-8")?;
        Ok(Some((Self { key_id, salt, digested, nonce_prefix, size, content_type }, at)))
    }

    /// How many chunks the body has: at least one, so even an empty object is authenticated.
    pub(crate) fn chunks(&self) -> u64 {
        self.size.div_ceil(CHUNK as u64).max(1)
    }

    /// The plaintext length of chunk `index`.
    pub(crate) fn chunk_len(&self, index: u64) -> usize {
        let start = index * CHUNK as u64;
        (self.size.saturating_sub(start)).min(CHUNK as u64) as usize
    }

    pub(crate) fn sealed_chunk_len(&self, index: u64) -> usize {
        self.chunk_len(index) + TAG
    }
}

/// An object's cipher: its chunks, at any position, and its digest.
struct ObjectCipher {
    stream: StreamBE32<Aes256Gcm>,
    /// The same key, for the digest's nonce, which the STREAM primitive does not make.
    digest: Aes256Gcm,
    digest_nonce: [u8; 12],
    /// Every chunk's associated data: the header, and the object key (from `CFO2` on).
    aad: Vec<u8>,
    chunks: u64,
}

impl ObjectCipher {
    /// The cipher of the object `object_key` with `header`, encoded as `header_bytes`.
    fn new(keys: &AtRestKeys, header: &Header, header_bytes: &[u8], object_key: &str) -> Result<Self, String> {
        let key = keys.keys.get(&header.key_id).ok_or_else(|| format!("unknown key {:?}", header.key_id))?;
        let (aead, aad) = match &header.salt {
            None => (Aes256Gcm::new(GenericArray::from_slice(key)), header_bytes.to_vec()),
            Some(salt) => {
                let mut own = [0u8; 32];
                Hkdf::<Sha256>::new(Some(salt), key)
                    .expand(format!("confab/object/{object_key}").as_bytes(), &mut own)
                    .map_err(|_| "cannot derive the object's key".to_owned())?;
                let mut aad = header_bytes.to_vec();
                aad.extend_from_slice(object_key.as_bytes());
                (Aes256Gcm::new(GenericArray::from_slice(&own)), aad)
            }
        };
        let mut digest_nonce = [0xff; 12];
        digest_nonce[..NONCE_PREFIX].copy_from_slice(&header.nonce_prefix);
        digest_nonce[11] = DIGEST_FLAG;
        Ok(Self {
            stream: StreamBE32::from_aead(aead.clone(), GenericArray::from_slice(&header.nonce_prefix)),
            digest: aead,
            digest_nonce,
            aad,
            chunks: header.chunks(),
        })
    }

    /// Chunk `index` and whether it is the last, in the form the STREAM primitive takes.
    fn position(&self, index: u64) -> Result<(u32, bool), String> {
        let position = u32::try_from(index).map_err(|_| "too many chunks".to_owned())?;
        Ok((position, index + 1 == self.chunks))
    }

    fn seal(&self, index: u64, chunk: &[u8]) -> Result<Vec<u8>, String> {
        let (position, last) = self.position(index)?;
        self.stream.encrypt(position, last, Payload { msg: chunk, aad: &self.aad }).map_err(|_| "cannot seal".into())
    }

    fn open(&self, index: u64, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let (position, last) = self.position(index)?;
        self.stream
            .decrypt(position, last, Payload { msg: sealed, aad: &self.aad })
            .map_err(|_| "a chunk does not authenticate".into())
    }

    fn seal_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, String> {
        let nonce = GenericArray::from_slice(&self.digest_nonce);
        self.digest.encrypt(nonce, Payload { msg: digest, aad: &self.aad }).map_err(|_| "cannot seal the digest".into())
    }

    fn open_digest(&self, sealed: &[u8]) -> Result<[u8; 32], String> {
        let nonce = GenericArray::from_slice(&self.digest_nonce);
        let opened = self.digest.decrypt(nonce, Payload { msg: sealed, aad: &self.aad });
        opened.ok().and_then(|d| d.try_into().ok()).ok_or_else(|| "the digest does not authenticate".into())
    }
}

/// Seals a body chunk by chunk, in order, hashing it as it goes.
pub(crate) struct Sealer {
    header: Vec<u8>,
    cipher: ObjectCipher,
    next: u64,
    hasher: Sha256,
}

impl Sealer {
    /// Seals the object `object_key`.
    pub(crate) fn new(keys: &AtRestKeys, header: &Header, object_key: &str) -> Result<Self, ObjectError> {
        let bytes = header.encode();
        let cipher = ObjectCipher::new(keys, header, &bytes, object_key).map_err(crate::error::unavailable)?;
        Ok(Self { header: bytes, cipher, next: 0, hasher: Sha256::new() })
    }

    pub(crate) fn header(&self) -> &[u8] {
        &self.header
    }

    /// Seals the next chunk, which must have the length the header promises for it.
    pub(crate) fn seal(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ObjectError> {
        if self.next >= self.cipher.chunks {
            return Err(crate::error::unavailable("sealed past the last chunk"));
        }
        self.hasher.update(chunk);
        let sealed = self.cipher.seal(self.next, chunk).map_err(crate::error::unavailable)?;
        self.next += 1;
        Ok(sealed)
    }

    /// The sealed digest of every chunk sealed, for the slot after the header.
    pub(crate) fn digest(self) -> Result<Vec<u8>, ObjectError> {
        self.cipher.seal_digest(&self.hasher.finalize().into()).map_err(crate::error::unavailable)
    }
}

/// Opens any chunk of an object on its own.
pub(crate) struct Opener {
    cipher: ObjectCipher,
    pub(crate) header: Header,
    /// The SHA-256 of the bytes, from a `CFO3` object's slot.
    pub(crate) sha256: Option<[u8; 32]>,
    /// Where chunk 0 starts in the file.
    pub(crate) body_offset: u64,
}

impl Opener {
    /// Opens the object `object_key`, whose header is `header_bytes`, followed by the sealed
    /// digest `slot` when the header says there is one.
    pub(crate) fn new(
        keys: &AtRestKeys,
        header: Header,
        header_bytes: &[u8],
        slot: Option<&[u8]>,
        object_key: &str,
    ) -> Result<Self, String> {
        let cipher = ObjectCipher::new(keys, &header, header_bytes, object_key)?;
        let sha256 = match (header.digested, slot) {
            (true, Some(slot)) => Some(cipher.open_digest(slot)?),
            (true, None) => return Err("the digest is missing".into()),
            (false, _) => None,
        };
        let body_offset = (header_bytes.len() + if header.digested { DIGEST_SLOT } else { 0 }) as u64;
        Ok(Self { cipher, header, sha256, body_offset })
    }

    /// Where chunk `index` starts in the file.
    pub(crate) fn chunk_offset(&self, index: u64) -> u64 {
        self.body_offset + index * (CHUNK + TAG) as u64
    }

    /// Opens chunk `index`.
    pub(crate) fn open(&self, index: u64, sealed: &[u8]) -> Result<Vec<u8>, String> {
        self.cipher.open(index, sealed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys() -> AtRestKeys {
        AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [3u8; 32])]) }
    }

    const OBJECT: &str = "attachments/a1";

    /// A sealed object: its header, its digest slot (`CFO3`) and its chunks.
    struct Sealed {
        header: Vec<u8>,
        slot: Option<Vec<u8>>,
        chunks: Vec<Vec<u8>>,
    }

    fn seal_all(body: &[u8]) -> Sealed {
        seal_as(Header::new("k1", body.len() as u64, "text/plain"), body)
    }

    fn seal_as(header: Header, body: &[u8]) -> Sealed {
        let mut sealer = Sealer::new(&keys(), &header, OBJECT).unwrap();
        let chunks = (0..header.chunks())
            .map(|i| {
                let start = (i as usize) * CHUNK;
                sealer.seal(&body[start..start + header.chunk_len(i)]).unwrap()
            })
            .collect();
        let header_bytes = sealer.header().to_vec();
        let slot = header.digested.then(|| sealer.digest().unwrap());
        Sealed { header: header_bytes, slot, chunks }
    }

    fn opener(object_key: &str, sealed: &Sealed) -> Result<Opener, String> {
        let (header, used) = Header::decode(&sealed.header)?.ok_or("short header")?;
        assert_eq!(used, sealed.header.len());
        Opener::new(&keys(), header, &sealed.header, sealed.slot.as_deref(), object_key)
    }

    fn open_all(sealed: &Sealed) -> Result<Vec<u8>, String> {
        open_as(OBJECT, sealed)
    }

    fn open_as(object_key: &str, sealed: &Sealed) -> Result<Vec<u8>, String> {
        let opener = opener(object_key, sealed)?;
        if sealed.chunks.len() as u64 != opener.header.chunks() {
            return Err("cut off".into());
        }
        let mut out = Vec::new();
        for (index, chunk) in sealed.chunks.iter().enumerate() {
            out.extend(opener.open(index as u64, chunk)?);
        }
        Ok(out)
    }

    #[test]
    fn round_trips_and_detects_tampering() {
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = seal_all(&body);
            assert_eq!(open_all(&sealed).unwrap(), body, "size {size}");
        }
        let body = vec![9u8; 2 * CHUNK + 5];
        let mut sealed = seal_all(&body);
        let last = sealed.chunks.pop().unwrap();
        sealed.chunks.push(sealed.chunks[1].clone());
        assert!(open_all(&sealed).is_err(), "a middle chunk in the last one's place");
        sealed.chunks[2] = last;
        sealed.chunks.swap(0, 1);
        assert!(open_all(&sealed).is_err(), "reordered");
        let mut sealed = seal_all(&body);
        sealed.chunks[1][0] ^= 1;
        assert!(open_all(&sealed).is_err(), "flipped bit");
        let mut sealed = seal_all(&body);
        let last = sealed.header.len() - 1;
        sealed.header[last] ^= 1;
        assert!(open_all(&sealed).is_err(), "header changed");
    }

    #[test]
    fn the_digest_is_the_bodys_sha256_and_cannot_be_swapped() {
        let body = vec![7u8; CHUNK + 10];
        let sealed = seal_all(&body);
        assert!(sealed.header.starts_with(b"CFO3"));
        let opener = opener(OBJECT, &sealed).unwrap();
        assert_eq!(opener.sha256, Some(<[u8; 32]>::from(Sha256::digest(&body))));
        assert_eq!(opener.body_offset, (sealed.header.len() + DIGEST_SLOT) as u64);
        // Any chunk opens alone, at its own position only.
        assert_eq!(opener.open(1, &sealed.chunks[1]).unwrap(), body[CHUNK..]);
        assert!(opener.open(0, &sealed.chunks[1]).is_err());
        // Another object's digest does not authenticate here.
        let other = seal_all(b"other bytes");
        let swapped = Sealed { slot: other.slot.clone(), ..sealed };
        assert!(opener_err(&swapped));
    }

    fn opener_err(sealed: &Sealed) -> bool {
        opener(OBJECT, sealed).is_err()
    }

    #[test]
    fn each_object_has_its_own_key_bound_to_where_it_is_and_old_objects_still_open() {
        let body = vec![5u8; CHUNK + 3];
        let sealed = seal_all(&body);
        assert!(open_as("attachments/a2", &sealed).is_err(), "moved to another key");
        // The same bytes sealed twice share neither key nor ciphertext.
        assert_ne!(sealed.chunks, seal_all(&body).chunks);
        // Objects from before digests, and from before per-object keys.
        let v2 = Header { digested: false, ..Header::new("k1", body.len() as u64, "text/plain") };
        let v2 = seal_as(v2, &body);
        assert!(v2.header.starts_with(b"CFO2"));
        assert_eq!(opener(OBJECT, &v2).unwrap().sha256, None);
        assert_eq!(open_all(&v2).unwrap(), body);
        let v1 = Header { salt: None, digested: false, ..Header::new("k1", body.len() as u64, "text/plain") };
        let v1 = seal_as(v1, &body);
        assert!(v1.header.starts_with(b"CFO1"));
        assert_eq!(open_as("attachments/anywhere", &v1).unwrap(), body);
    }
}
