//! Secrets that the embedded default generates once and keeps in the data directory, so a
//! single-box install needs no configuration and survives restarts.
use std::{
    fs::{self, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use anyhow::Context;

/// Reads `dir/name`, or writes `generate()` there (mode 0600) if it does not exist yet.
pub(crate) fn load_or_create(dir: &Path, name: &str, generate: impl FnOnce() -> String) -> anyhow::Result<String> {
    let path = dir.join(name);
    match fs::read_to_string(&path) {
        Ok(value) => return Ok(value.trim().to_owned()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let value = generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    Ok(value)
}
