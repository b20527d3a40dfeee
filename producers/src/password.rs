//! argon2id password hashes. A hash costs tens of milliseconds of CPU and 19 MiB, so hashing
//! runs on its own few threads (never the async workers, never the blocking pool the store and
//! the log use) behind a short queue; past the queue a request is refused at once, so a login
//! flood costs a bounded amount of CPU and memory and nothing else waits behind it. Each thread
//! hashes in one buffer of its own, allocated once: left to the allocator, every hash's 19 MiB
//! stayed resident after it was freed.
use std::{
    cell::RefCell,
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        mpsc::{self, SyncSender, TrySendError},
    },
    thread,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{self, Output, ParamsString, SaltString, rand_core::OsRng},
};
use tokio::sync::oneshot;

use crate::{ChatError, metrics};

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash and verify passwords.
pub struct PasswordHasher {
    jobs: SyncSender<Job>,
}

impl PasswordHasher {
    /// `threads` hashing at once, `queue` more waiting; the threads end with the hasher.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        let (jobs, receiver) = mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            let _ = thread::Builder::new().name(format!("confab-argon2-{n}")).spawn(move || {
                loop {
                    let job = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
        }
        Ok(Self { jobs })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ChatError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
            metrics::hash_queue(-1.0);
        });
        // Counted before it is queued, so a hashing thread never takes away what is not added yet.
        metrics::hash_queue(1.0);
        self.jobs.try_send(job).map_err(|e| {
            metrics::hash_queue(-1.0);
            match e {
                TrySendError::Full(_) => {
                    metrics::hash_refused();
                    ChatError::Overloaded
                }
                TrySendError::Disconnected(_) => ChatError::internal("the password hashing threads are gone"),
            }
        })?;
        answered.await.map_err(ChatError::internal)
    }

    pub(crate) async fn hash(&self, password: String) -> Result<String, ChatError> {
        self.run(move || hash_now(password.as_bytes())).await?.map_err(|e| ChatError::internal(e.to_string()))
    }

    /// Checks `password` against `stored`, or against a throwaway hash when there is no such
    /// user, so that an unknown username costs the same time as a wrong password.
    pub(crate) async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ChatError> {
        let known = stored.is_some();
        let matches = self
            .run(move || {
                let stored = match stored {
                    Some(hash) => Arc::<str>::from(hash),
                    None => decoy_hash(),
                };
                verify_now(password.as_bytes(), &stored)
            })
            .await?;
        Ok(known && matches)
    }
}

/// Stored hashes asking for more memory than this (4x the default) are not computed.
const MAX_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

thread_local! {
    /// This thread's argon2 memory, reused by every hash it computes.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn argon2_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    BLOCKS.with_borrow_mut(|blocks| {
        let needed = argon.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password`, as
/// `argon2::PasswordHasher::hash_password` makes it.
fn hash_now(password: &[u8]) -> password_hash::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::default();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let output_len = argon.params().output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(output_len, |out| Ok(argon2_into(&argon, password, salt_bytes, out)?))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` is the one `stored` (a PHC string) was made from; the comparison is
/// constant-time (`Output`'s equality).
fn verify_now(password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    if params.block_count() > MAX_BLOCKS {
        tracing::warn!(blocks = params.block_count(), "a stored password hash asks for too much memory");
        return false;
    }
    let argon = Argon2::new(algorithm, version, params);
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    Output::init_with(expected.len(), |out| Ok(argon2_into(&argon, password, salt_bytes, out)?))
        .is_ok_and(|computed| computed == expected)
}

fn decoy_hash() -> Arc<str> {
    static DECOY: OnceLock<Arc<str>> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_now(b"decoy password never accepted").map(Arc::from).unwrap_or_else(|_| Arc::from("")))
        .clone()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn hashes_are_the_standard_phc_strings_both_ways() {
        let ours = hash_now(b"correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(verify_now(b"correct horse", &ours));
        assert!(!verify_now(b"wrong horse", &ours));

        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).unwrap();
        assert!(verify_now(b"battery staple", &theirs.to_string()));
        assert!(!verify_now(b"battery", &theirs.to_string()));
        assert!(!verify_now(b"x", "not a hash"));
        assert!(!verify_now(b"x", "$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
    }
}
