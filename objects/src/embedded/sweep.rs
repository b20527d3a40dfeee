//! Removing what nobody will read: half-written uploads, and scratch objects (uploads never
//! verified) past their time, as a lifecycle rule does on S3.
use std::{
    io::ErrorKind,
    path::Path,
    time::{Duration, SystemTime},
};

use crate::{ObjectError, error::unavailable};

/// Deletes the files under `dir`, at any depth, last written longer than `older_than` ago;
/// how many went. A missing `dir` holds nothing. Blocks on the file system.
pub(super) fn remove_older(dir: &Path, older_than: Duration) -> Result<usize, ObjectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(unavailable(e)),
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(unavailable)?;
        let meta = entry.metadata().map_err(unavailable)?;
        if meta.is_dir() {
            removed += remove_older(&entry.path(), older_than)?;
            continue;
        }
        let age = meta.modified().ok().and_then(|written| now.duration_since(written).ok());
        if age.is_some_and(|age| age >= older_than) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
    }
    Ok(removed)
}
