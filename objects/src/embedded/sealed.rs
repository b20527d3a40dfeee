//! The at-rest format of an embedded object: a header naming the key, the size and the content
//! type, then the bytes in 64 KiB chunks sealed with AES-256-GCM in the STREAM construction
//! (each chunk's nonce carries its index and whether it is the last), so chunks cannot be
//! reordered, dropped or cut off, and neither side ever holds more than one chunk.
//!
//! `CFO2` objects are sealed under a key of their own: HKDF-SHA256 of the at-rest key with a
//! random 32-byte salt from the header and the object's key (its path) as info, and the object
//! key is in every chunk's associated data too. So nonces never repeat under one key however
//! many objects there are, and a file moved to another key does not open. `CFO1` objects (one
//! key for all, written before) still open.
use std::collections::HashMap;

use hkdf::Hkdf;
use sha2::Sha256;

use aead::{
    Payload,
    stream::{DecryptorBE32, EncryptorBE32},
};
use aes_gcm::{Aes256Gcm, KeyInit, aead::generic_array::GenericArray};
use rand::RngCore;

use crate::ObjectError;

/// Objects sealed under the at-rest key itself (read only).
const MAGIC_V1: &[u8; 4] = b"CFO1";
/// Objects sealed under a key of their own.
const MAGIC_V2: &[u8; 4] = b"CFO2";
const SALT: usize = 32;
pub(crate) const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 7;

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
        Self { key_id: key_id.to_owned(), salt: Some(salt), nonce_prefix, size, content_type: content_type.to_owned() }
    }

    /// How many bytes follow the first five (magic and key id length) up to the content type's
    /// length, for a header with this magic and key id length.
    pub(crate) fn fixed_after_prefix(magic: &[u8], key_id_len: u8) -> usize {
        let salt = if magic == MAGIC_V2 { SALT } else { 0 };
        usize::from(key_id_len) + salt + NONCE_PREFIX + 8 + 2
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.key_id.len() + self.content_type.len());
        out.extend_from_slice(if self.salt.is_some() { MAGIC_V2 } else { MAGIC_V1 });
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
        let salted = match magic {
            m if m == MAGIC_V2 => true,
            m if m == MAGIC_V1 => false,
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
        Ok(Some((Self { key_id, salt, nonce_prefix, size, content_type }, at)))
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

/// The cipher of the object `object_key` with `header`, and its chunks' associated data.
fn cipher(
    keys: &AtRestKeys,
    header: &Header,
    header_bytes: &[u8],
    object_key: &str,
) -> Result<(Aes256Gcm, Vec<u8>), String> {
    let key = keys.keys.get(&header.key_id).ok_or_else(|| format!("unknown key {:?}", header.key_id))?;
    let Some(salt) = &header.salt else {
        return Ok((Aes256Gcm::new(GenericArray::from_slice(key)), header_bytes.to_vec()));
    };
    let mut own = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), key)
        .expand(format!("confab/object/{object_key}").as_bytes(), &mut own)
        .map_err(|_| "cannot derive the object's key".to_owned())?;
    let mut aad = header_bytes.to_vec();
    aad.extend_from_slice(object_key.as_bytes());
    Ok((Aes256Gcm::new(GenericArray::from_slice(&own)), aad))
}

/// Seals a body chunk by chunk, in order.
pub(crate) struct Sealer {
    header: Vec<u8>,
    aad: Vec<u8>,
    chunks: u64,
    next: u64,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
}

impl Sealer {
    /// Seals the object `object_key`.
    pub(crate) fn new(keys: &AtRestKeys, header: &Header, object_key: &str) -> Result<Self, ObjectError> {
        let bytes = header.encode();
        let (cipher, aad) = cipher(keys, header, &bytes, object_key).map_err(crate::error::unavailable)?;
        let encryptor = EncryptorBE32::from_aead(cipher, GenericArray::from_slice(&header.nonce_prefix));
        Ok(Self { header: bytes, aad, chunks: header.chunks(), next: 0, encryptor: Some(encryptor) })
    }

    pub(crate) fn header(&self) -> &[u8] {
        &self.header
    }

    /// Seals the next chunk, which must have the length the header promises for it.
    pub(crate) fn seal(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ObjectError> {
        let payload = Payload { msg: chunk, aad: &self.aad };
        let failed = || crate::error::unavailable("cannot seal a chunk");
        let sealed = if self.next + 1 == self.chunks {
            self.encryptor.take().ok_or_else(failed)?.encrypt_last(payload)
        } else {
            self.encryptor.as_mut().ok_or_else(failed)?.encrypt_next(payload)
        };
        self.next += 1;
        sealed.map_err(|_| failed())
    }
}

/// Opens a body chunk by chunk, in order.
pub(crate) struct Opener {
    aad: Vec<u8>,
    pub(crate) header: Header,
    next: u64,
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
}

impl Opener {
    /// Opens the object `object_key`, whose header is `header_bytes`.
    pub(crate) fn new(
        keys: &AtRestKeys,
        header: Header,
        header_bytes: &[u8],
        object_key: &str,
    ) -> Result<Self, String> {
        let (cipher, aad) = cipher(keys, &header, header_bytes, object_key)?;
        let decryptor = DecryptorBE32::from_aead(cipher, GenericArray::from_slice(&header.nonce_prefix));
        Ok(Self { aad, header, next: 0, decryptor: Some(decryptor) })
    }

    /// The sealed length of the next chunk; `None` after the last.
    pub(crate) fn next_len(&self) -> Option<usize> {
        (self.next < self.header.chunks()).then(|| self.header.sealed_chunk_len(self.next))
    }

    pub(crate) fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let payload = Payload { msg: sealed, aad: &self.aad };
        let opened = if self.next + 1 == self.header.chunks() {
            self.decryptor.take().ok_or("read past the last chunk")?.decrypt_last(payload)
        } else {
            self.decryptor.as_mut().ok_or("read past the last chunk")?.decrypt_next(payload)
        };
        self.next += 1;
        opened.map_err(|_| "a chunk does not authenticate".to_owned())
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

    fn seal_all(body: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
        seal_as(Header::new("k1", body.len() as u64, "text/plain"), body)
    }

    fn seal_as(header: Header, body: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut sealer = Sealer::new(&keys(), &header, OBJECT).unwrap();
        let chunks = (0..header.chunks())
            .map(|i| {
                let start = (i as usize) * CHUNK;
                sealer.seal(&body[start..start + header.chunk_len(i)]).unwrap()
            })
            .collect();
        (sealer.header().to_vec(), chunks)
    }

    fn open_all(header_bytes: &[u8], chunks: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        open_as(OBJECT, header_bytes, chunks)
    }

    fn open_as(object_key: &str, header_bytes: &[u8], chunks: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let (header, used) = Header::decode(header_bytes)?.ok_or("short header")?;
        assert_eq!(used, header_bytes.len());
        let mut opener = Opener::new(&keys(), header, header_bytes, object_key)?;
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(opener.open(chunk)?);
        }
        if opener.next_len().is_some() {
            return Err("cut off".into());
        }
        Ok(out)
    }

    #[test]
    fn round_trips_and_detects_tampering() {
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let (header, chunks) = seal_all(&body);
            assert_eq!(open_all(&header, &chunks).unwrap(), body, "size {size}");
        }
        let body = vec![9u8; 2 * CHUNK + 5];
        let (header, mut chunks) = seal_all(&body);
        assert!(open_all(&header, &chunks[..2]).is_err(), "cut off before the last chunk");
        chunks.swap(0, 1);
        assert!(open_all(&header, &chunks).is_err(), "reordered");
        let (header, mut chunks) = seal_all(&body);
        chunks[1][0] ^= 1;
        assert!(open_all(&header, &chunks).is_err(), "flipped bit");
        let (mut header, chunks) = seal_all(&body);
        let last = header.len() - 1;
        header[last] ^= 1;
        assert!(open_all(&header, &chunks).is_err(), "header changed");
    }

    #[test]
    fn each_object_has_its_own_key_bound_to_where_it_is_and_old_objects_still_open() {
        let body = vec![5u8; CHUNK + 3];
        let (header, chunks) = seal_all(&body);
        assert!(header.starts_with(b"CFO2"));
        assert!(open_as("attachments/a2", &header, &chunks).is_err(), "moved to another key");
        // The same bytes sealed twice share neither key nor ciphertext.
        let (_, again) = seal_all(&body);
        assert_ne!(chunks, again);
        // An object from before per-object keys.
        let old = Header { salt: None, ..Header::new("k1", body.len() as u64, "text/plain") };
        let (old_header, old_chunks) = seal_as(old, &body);
        assert!(old_header.starts_with(b"CFO1"));
        assert_eq!(open_as("attachments/anywhere", &old_header, &old_chunks).unwrap(), body);
    }
}
