//! argon2id password hashes. Hashing costs tens of milliseconds of CPU, so it always runs on the
//! blocking pool, never on an async worker.
use std::sync::{Arc, OnceLock};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::ChatError;

pub(crate) async fn hash(password: String) -> Result<String, ChatError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ChatError::internal)?
    .map_err(|e| ChatError::internal(e.to_string()))
}

/// Checks `password` against `stored`, or against a throwaway hash when there is no such user,
/// so that an unknown username costs the same time as a wrong password.
pub(crate) async fn verify(password: String, stored: Option<String>) -> Result<bool, ChatError> {
    let known = stored.is_some();
    let stored = match stored {
        Some(hash) => Arc::<str>::from(hash),
        None => decoy_hash(),
    };
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(ChatError::internal)?;
    Ok(known && matches)
}

fn decoy_hash() -> Arc<str> {
    static DECOY: OnceLock<Arc<str>> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(b"decoy password never accepted", &salt)
                .map(|h| Arc::from(h.to_string()))
                .unwrap_or_else(|_| Arc::from(""))
        })
        .clone()
}
