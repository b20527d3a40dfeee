//! `/encrypt` and `/decrypt`: the caller's own AES-256-GCM key, for text they keep themselves.
use crate::{Caller, ChatError, KeyScope, UseCases, messaging::MAX_MESSAGE_BYTES};

impl UseCases {
    /// `message` sealed under the caller's key: `v1.<keyId>.<base64url(nonce || ciphertext || tag)>`.
    pub fn encrypt_for(&self, caller: &Caller, message: &str) -> Result<String, ChatError> {
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(ChatError::invalid("message_too_long", "message must be at most 64 KiB"));
        }
        self.keyring
            .seal(KeyScope::User(&caller.sub), message.as_bytes(), caller.sub.as_bytes())
            .map_err(ChatError::internal)
    }

    /// The text of what [`Self::encrypt_for`] sealed for this caller; anything else (another
    /// user's, tampered, malformed) is refused alike.
    pub fn decrypt_for(&self, caller: &Caller, encrypted: &str) -> Result<String, ChatError> {
        let refused = |message: String| ChatError::invalid("invalid_ciphertext", message);
        let plaintext = self
            .keyring
            .open(KeyScope::User(&caller.sub), encrypted, caller.sub.as_bytes())
            .map_err(|e| refused(e.to_string()))?;
        String::from_utf8(plaintext).map_err(|_| refused("plaintext is not utf-8".into()))
    }
}
