//! Secrets that the embedded default generates once and keeps in the data directory, so a
//! single-box install needs no configuration and survives restarts; and the data directory's
//! own privacy (it holds password hashes and keys).
use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

use anyhow::{Context, bail};

/// Shortest `--jwt-secret` accepted: HS256 is as strong as its key, and a short one falls to an
/// offline search from any token the server issued.
pub(crate) const MIN_JWT_SECRET_BYTES: usize = 32;

/// Refuses a JWT secret too short to sign with.
pub(crate) fn check_jwt_secret(secret: &str) -> anyhow::Result<()> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        bail!(
            "the JWT secret is {} bytes; it must be at least {MIN_JWT_SECRET_BYTES} (generate one with \
             `head -c 32 /dev/urandom | base64`)",
            secret.len()
        );
    }
    Ok(())
}

/// Creates the data directory readable by its owner only (0700); an existing one that others
/// may read is used as it is, with a warning.
pub(crate) fn private_dir(dir: &Path) -> anyhow::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) => {
            warn_if_loose(dir, meta.permissions().mode());
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display())),
        Err(e) => Err(e).with_context(|| format!("cannot read data dir {}", dir.display())),
    }
}

fn warn_if_loose(path: &Path, mode: u32) {
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "others may read this; Confab's data should be its owner's only (chmod go-rwx)"
        );
    }
}

/// Reads `dir/name`, or writes `generate()` there (mode 0600) if it does not exist yet. The
/// write goes to a temporary file renamed into place, so a crash leaves the old state or the
/// whole secret, never a truncated one; an empty file is refused, not used.
pub(crate) fn load_or_create(dir: &Path, name: &str, generate: impl FnOnce() -> String) -> anyhow::Result<String> {
    let path = dir.join(name);
    match fs::read_to_string(&path) {
        Ok(value) => {
            if let Ok(meta) = fs::metadata(&path) {
                warn_if_loose(&path, meta.permissions().mode());
            }
            let value = value.trim();
            if value.is_empty() {
                bail!(
                    "{} is empty; restore it from a backup (what was sealed or signed with it needs it), \
                     or, on a box with no data yet, delete it to have a new one generated",
                    path.display()
                );
            }
            return Ok(value.to_owned());
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    private_dir(dir)?;
    let value = generate();
    let scratch = dir.join(format!(".{name}.new"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    fs::rename(&scratch, &path).with_context(|| format!("cannot move {} into place", path.display()))?;
    File::open(dir)?.sync_all()?;
    Ok(value)
}
