//! AES-256-GCM sealing under keys derived (HKDF-SHA256) from a master keyring. Every sealed value
//! names the master key it was made with, so a new key can become current while old ciphertexts
//! stay readable.
//!
//! Sealed form: `v<N>.<keyId>.<base64url(nonce || ciphertext || tag)>`. `v1` is bound (its
//! associated data) to what the caller gives: an id. `v2`, message content since it was
//! introduced, is bound to the whole [`MessageBinding`]: a forged event that keeps the
//! ciphertext but changes the sender, the recipient, the place or the attachments does not open.
//! Both open; the version is not a way around the binding, since a `v2` ciphertext relabelled
//! `v1` fails under the other associated data.
//!
//! `v3.<base64url(nonce || ciphertext || tag)>` is sealed under a stored data key
//! ([`DataKey`]), not one derived from the master key: the writer's key for the place, found from
//! what the value is bound to (a message's sender and place; an attachment's uploader and
//! place; a profile's owner and their own place, named by their id). Message content keeps
//! `v2`'s associated data; an attachment name is bound to its id; a profile field to its owner
//! and its name.
//! Destroying the data key makes a `v3` value unreadable for good, master key or not.
use std::collections::HashMap;

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, AeadCore, OsRng, Payload, rand_core::RngCore},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_schemas::AttachmentRef;
use hkdf::Hkdf;
use sha2::Sha256;
use thiserror::Error;

const NONCE_LEN: usize = 12;

#[derive(Debug, Error)]
pub enum CryptoError {
    #[error("invalid master key list: {0}")]
    BadKeyring(String),
    #[error("ciphertext is malformed, was tampered with, or belongs to someone else")]
    Unreadable,
    #[error("ciphertext was sealed with key {0}, which is not in the keyring")]
    UnknownKey(String),
}

/// Whose key seals a value.
#[derive(Debug, Clone, Copy)]
pub enum KeyScope<'a> {
    /// Message content: both participants of a conversation may read it.
    Conversation(&'a str),
    /// Group message content: every member may read it.
    Group(&'a str),
    /// `/encrypt` and `/decrypt`: one user's own key.
    User(&'a str),
    /// Wrapping the data keys the key store keeps.
    DataKeys,
}

impl KeyScope<'_> {
    fn info(&self) -> String {
        match self {
            KeyScope::Conversation(id) => format!("confab/conversation/{id}"),
            KeyScope::Group(id) => format!("confab/group/{id}"),
            KeyScope::User(id) => format!("confab/user/{id}"),
            KeyScope::DataKeys => "confab/data-keys".to_owned(),
        }
    }
}

/// What a message's content is bound to.
#[derive(Debug, Clone)]
pub struct MessageBinding<'a> {
    pub message_id: &'a str,
    pub sender_id: &'a str,
    /// The conversation or the group.
    pub place_id: &'a str,
    /// The other participant of a direct message; None in a group.
    pub recipient_id: Option<&'a str>,
    /// Each attachment's id and SHA-256, in the message's order.
    pub attachments: Vec<(&'a str, &'a str)>,
}

impl<'a> MessageBinding<'a> {
    /// A direct message's binding.
    pub fn direct(
        message_id: &'a str,
        sender_id: &'a str,
        conversation_id: &'a str,
        recipient_id: &'a str,
        attachments: &'a [AttachmentRef],
    ) -> Self {
        let attachments = attachments.iter().map(|a| (a.attachment_id.as_str(), a.sha256.as_str())).collect();
        Self { message_id, sender_id, place_id: conversation_id, recipient_id: Some(recipient_id), attachments }
    }

    /// A group message's binding.
    pub fn group(message_id: &'a str, sender_id: &'a str, group_id: &'a str, attachments: &'a [AttachmentRef]) -> Self {
        Self { recipient_id: None, ..Self::direct(message_id, sender_id, group_id, "", attachments) }
    }

    /// The associated data of a `v2` message ciphertext: `confab.message.v2` then each field
    /// as a netstring (`<byte length>:<bytes>,`): message id, sender id, place id, recipient id
    /// (empty in a group), the number of attachments, and each attachment's id and SHA-256.
    /// Netstrings, so no choice of field values can make two bindings the same bytes.
    pub fn associated_data(&self) -> Vec<u8> {
        let count = self.attachments.len().to_string();
        let mut fields = vec![self.message_id, self.sender_id, self.place_id, self.recipient_id.unwrap_or(""), &count];
        for (id, sha256) in &self.attachments {
            fields.extend([*id, *sha256]);
        }
        netstrings(b"confab.message.v2", &fields)
    }

    /// The associated data of the text of the edit `edit_id` (its event id) of this message:
    /// `confab.message-edit.v1` then as netstrings the edit id, the message id, the sender id,
    /// the place id and the recipient id (empty in a group). Not the attachments: an edit
    /// changes the text only.
    pub fn edit_associated_data(&self, edit_id: &str) -> Vec<u8> {
        let fields = [edit_id, self.message_id, self.sender_id, self.place_id, self.recipient_id.unwrap_or("")];
        netstrings(b"confab.message-edit.v1", &fields)
    }
}

/// `prefix` then each field as a netstring (`<byte length>:<bytes>,`), so no choice of field
/// values can make two lists the same bytes.
fn netstrings(prefix: &[u8], fields: &[&str]) -> Vec<u8> {
    let mut bytes = prefix.to_vec();
    for field in fields {
        bytes.extend_from_slice(format!("{}:", field.len()).as_bytes());
        bytes.extend_from_slice(field.as_bytes());
        bytes.push(b',');
    }
    bytes
}

/// What a sealed profile field is bound to: `confab.profile.v1`, then as netstrings the user id
/// and the field's name (`displayName`, `about`), so one field cannot stand in for another.
pub fn profile_field_binding(user_id: &str, field: &str) -> Vec<u8> {
    netstrings(b"confab.profile.v1", &[user_id, field])
}

/// A writer's data key for one place, in the clear: held only in memory, for one seal or open.
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    fn cipher(&self) -> Result<Aes256Gcm, CryptoError> {
        Aes256Gcm::new_from_slice(&self.0).map_err(|_| CryptoError::Unreadable)
    }

    /// Seals `plaintext` as `v3`, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        Ok(format!("v3.{}", seal_body(&self.cipher()?, plaintext, aad)?))
    }

    /// Opens a `v3` value sealed with `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match sealed.split_once('.') {
            Some(("v3", body)) => open_body(&self.cipher()?, body, aad),
            _ => Err(CryptoError::Unreadable),
        }
    }
}

/// Whether `sealed` was sealed under a data key (`v3`) rather than the master keyring.
pub fn under_data_key(sealed: &str) -> bool {
    sealed.starts_with("v3.")
}

/// What a wrapped data key is bound to: its owner and place.
fn wrapping_aad(owner_id: &str, place_id: &str) -> Vec<u8> {
    netstrings(b"confab.data-key.v1", &[owner_id, place_id])
}

fn seal_body(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher.encrypt(&nonce, Payload { msg: plaintext, aad }).map_err(|_| CryptoError::Unreadable)?;
    let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(body))
}

fn open_body(cipher: &Aes256Gcm, body: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| CryptoError::Unreadable)?;
    if body.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Unreadable);
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    cipher.decrypt(nonce.into(), Payload { msg: ciphertext, aad }).map_err(|_| CryptoError::Unreadable)
}

pub struct Keyring {
    current: String,
    keys: HashMap<String, [u8; 32]>,
}

fn valid_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key...]`; the first key is the current one.
    pub fn parse(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = HashMap::new();
        let mut current = None;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) =
                entry.split_once(':').ok_or_else(|| CryptoError::BadKeyring("expected id:base64key".into()))?;
            if !valid_key_id(id) {
                return Err(CryptoError::BadKeyring(format!("key id {id:?} must be 1-32 of [A-Za-z0-9_-]")));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::BadKeyring(format!("key {id} is not base64")))?;
            let key: [u8; 32] =
                bytes.try_into().map_err(|_| CryptoError::BadKeyring(format!("key {id} must be 32 bytes")))?;
            if keys.insert(id.to_owned(), key).is_some() {
                return Err(CryptoError::BadKeyring(format!("key id {id} appears twice")));
            }
            let _ = current.get_or_insert_with(|| id.to_owned());
        }
        let current = current.ok_or_else(|| CryptoError::BadKeyring("no keys".into()))?;
        Ok(Self { current, keys })
    }

    /// A new single-key keyring spec, for a fresh data directory.
    pub fn generate_spec() -> String {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        format!("k1:{}", STANDARD.encode(key))
    }

    /// Every master key's HKDF derivation for `purpose`, by key id, and the current key's id:
    /// keys for what is sealed outside this module (attachment files, signed URLs).
    pub fn derive_all(&self, purpose: &str) -> Result<(String, HashMap<String, [u8; 32]>), CryptoError> {
        let mut derived = HashMap::new();
        for (id, master) in &self.keys {
            let mut key = [0u8; 32];
            Hkdf::<Sha256>::new(None, master)
                .expand(purpose.as_bytes(), &mut key)
                .map_err(|_| CryptoError::Unreadable)?;
            let _ = derived.insert(id.clone(), key);
        }
        Ok((self.current.clone(), derived))
    }

    fn cipher(&self, key_id: &str, scope: KeyScope<'_>) -> Result<Aes256Gcm, CryptoError> {
        let master = self.keys.get(key_id).ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let mut derived = [0u8; 32];
        Hkdf::<Sha256>::new(None, master)
            .expand(scope.info().as_bytes(), &mut derived)
            .map_err(|_| CryptoError::Unreadable)?;
        Aes256Gcm::new_from_slice(&derived).map_err(|_| CryptoError::Unreadable)
    }

    /// Seals `plaintext` under the current key; `aad` binds it to its context (e.g. an id).
    pub fn seal(&self, scope: KeyScope<'_>, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        self.seal_as("v1", scope, plaintext, aad)
    }

    /// Seals a message's content, bound to all of `binding`.
    pub fn seal_message(
        &self,
        scope: KeyScope<'_>,
        plaintext: &[u8],
        binding: &MessageBinding<'_>,
    ) -> Result<String, CryptoError> {
        self.seal_as("v2", scope, plaintext, &binding.associated_data())
    }

    fn seal_as(&self, version: &str, scope: KeyScope<'_>, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        let body = seal_body(&self.cipher(&self.current, scope)?, plaintext, aad)?;
        Ok(format!("{version}.{}.{body}", self.current))
    }

    /// `key` sealed for the key store, bound to its owner and place.
    pub fn wrap(&self, key: &DataKey, owner_id: &str, place_id: &str) -> Result<String, CryptoError> {
        self.seal(KeyScope::DataKeys, &key.0, &wrapping_aad(owner_id, place_id))
    }

    /// A data key the key store kept for `owner_id` in `place_id`.
    pub fn unwrap_key(&self, wrapped: &str, owner_id: &str, place_id: &str) -> Result<DataKey, CryptoError> {
        let key = self.open(KeyScope::DataKeys, wrapped, &wrapping_aad(owner_id, place_id))?;
        Ok(DataKey(key.try_into().map_err(|_| CryptoError::Unreadable)?))
    }

    /// Opens a value sealed with [`Keyring::seal`] and `aad`.
    pub fn open(&self, scope: KeyScope<'_>, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match sealed.split_once('.') {
            Some(("v1", rest)) => self.open_body(scope, rest, aad),
            _ => Err(CryptoError::Unreadable),
        }
    }

    /// Opens a message's content: a `v2` one under all of `binding`, one sealed before that
    /// (`v1`) under its message id, as it was sealed.
    pub fn open_message(
        &self,
        scope: KeyScope<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        match sealed.split_once('.') {
            Some(("v2", rest)) => self.open_body(scope, rest, &binding.associated_data()),
            Some(("v1", rest)) => self.open_body(scope, rest, binding.message_id.as_bytes()),
            _ => Err(CryptoError::Unreadable),
        }
    }

    /// Opens `<keyId>.<body>`.
    fn open_body(&self, scope: KeyScope<'_>, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let Some((key_id, body)) = sealed.split_once('.') else { return Err(CryptoError::Unreadable) };
        open_body(&self.cipher(key_id, scope)?, body, aad)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seals_open_only_in_their_scope_and_keys_rotate() {
        let old = Keyring::parse(&Keyring::generate_spec()).unwrap();
        let sealed = old.seal(KeyScope::User("u1"), b"hi", b"u1").unwrap();
        assert_eq!(old.open(KeyScope::User("u1"), &sealed, b"u1").unwrap(), b"hi");
        assert!(old.open(KeyScope::User("u2"), &sealed, b"u1").is_err());
        assert!(old.open(KeyScope::Conversation("u1"), &sealed, b"u1").is_err());
        assert!(old.open(KeyScope::User("u1"), &sealed, b"other aad").is_err());

        let new_key = Keyring::generate_spec().replace("k1:", "k2:");
        let old_key = Keyring::generate_spec();
        assert!(Keyring::parse(&format!("{new_key},{old_key}")).is_ok());
        let rotated = Keyring::parse(&format!("{new_key},{}", spec_of(&old))).unwrap();
        assert_eq!(rotated.open(KeyScope::User("u1"), &sealed, b"u1").unwrap(), b"hi");
        assert!(rotated.seal(KeyScope::User("u1"), b"x", b"").unwrap().starts_with("v1.k2."));
        assert!(Keyring::parse("k1:short").is_err());
        assert!(Keyring::parse("").is_err());
    }

    #[test]
    fn message_content_is_bound_to_its_whole_context_and_old_content_still_opens() {
        let keyring = Keyring::parse(&Keyring::generate_spec()).unwrap();
        let scope = KeyScope::Conversation("c1");
        let binding = MessageBinding {
            message_id: "m1",
            sender_id: "alice",
            place_id: "c1",
            recipient_id: Some("bob"),
            attachments: vec![("a1", "00ff")],
        };
        let sealed = keyring.seal_message(scope, b"hi", &binding).unwrap();
        assert!(sealed.starts_with("v2."));
        assert_eq!(keyring.open_message(scope, &sealed, &binding).unwrap(), b"hi");
        let forged = [
            MessageBinding { sender_id: "mallory", ..binding.clone() },
            MessageBinding { recipient_id: Some("carol"), ..binding.clone() },
            MessageBinding { message_id: "m2", ..binding.clone() },
            MessageBinding { attachments: Vec::new(), ..binding.clone() },
            MessageBinding { attachments: vec![("a1", "00fe")], ..binding.clone() },
            // The same bytes in other fields: netstrings keep them apart.
            MessageBinding { sender_id: "alic", place_id: "ec1", ..binding.clone() },
        ];
        for forged in &forged {
            assert!(keyring.open_message(scope, &sealed, forged).is_err(), "{forged:?} opened");
        }
        // Relabelled as the old version, it is opened under the old binding, and fails.
        assert!(keyring.open_message(scope, &sealed.replacen("v2.", "v1.", 1), &binding).is_err());
        // Content sealed before the binding (under its message id) still opens.
        let old = keyring.seal(scope, b"old", b"m1").unwrap();
        assert_eq!(keyring.open_message(scope, &old, &binding).unwrap(), b"old");
        assert!(keyring.open(scope, &sealed, b"m1").is_err(), "a v2 value never opens as v1");
    }

    #[test]
    fn data_keys_seal_v3_and_unwrap_only_for_their_owner_and_place() {
        let keyring = Keyring::parse(&Keyring::generate_spec()).unwrap();
        let key = DataKey::generate();
        let wrapped = keyring.wrap(&key, "alice", "c1").unwrap();
        assert!(keyring.unwrap_key(&wrapped, "bob", "c1").is_err());
        assert!(keyring.unwrap_key(&wrapped, "alice", "c2").is_err());
        let unwrapped = keyring.unwrap_key(&wrapped, "alice", "c1").unwrap();
        let sealed = key.seal(b"hi", b"m1").unwrap();
        assert!(under_data_key(&sealed));
        assert_eq!(unwrapped.open(&sealed, b"m1").unwrap(), b"hi");
        assert!(unwrapped.open(&sealed, b"m2").is_err());
        assert!(DataKey::generate().open(&sealed, b"m1").is_err(), "another key opens nothing");
        assert!(keyring.open(KeyScope::Conversation("c1"), &sealed.replacen("v3.", "v1.k1.", 1), b"m1").is_err());
    }

    fn spec_of(keyring: &Keyring) -> String {
        format!("k1:{}", STANDARD.encode(keyring.keys["k1"]))
    }
}
