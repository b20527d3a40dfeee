//! The generation pointer of the embedded read models: a file beside them, replaced atomically,
//! that names the live generation; each generation is a redb file of its own.
use std::{fs, io::Write, path::Path};

use crate::{StoreError, error::storage_error};

const POINTER_FILE: &str = "readmodels.current";

/// The file of `generation`'s read models in the data dir.
pub fn store_file(generation: u32) -> String {
    match generation {
        0 => "readmodels.redb".to_owned(),
        n => format!("readmodels.g{n}.redb"),
    }
}

/// The live generation of the embedded read models in `dir` (0 before any replay).
pub fn current(dir: &Path) -> Result<u32, StoreError> {
    let path = dir.join(POINTER_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            text.trim().parse().map_err(|_| storage_error(format!("{} does not hold a generation", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(storage_error(e)),
    }
}

/// Makes `generation` the live one: written aside, synced, renamed over the pointer.
pub fn make_current(dir: &Path, generation: u32) -> Result<(), StoreError> {
    let (path, staged) = (dir.join(POINTER_FILE), dir.join(format!("{POINTER_FILE}.new")));
    let mut file = fs::File::create(&staged).map_err(storage_error)?;
    file.write_all(generation.to_string().as_bytes()).map_err(storage_error)?;
    file.sync_all().map_err(storage_error)?;
    fs::rename(&staged, &path).map_err(storage_error)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(storage_error)
}

/// The generations in `dir` that have read models, oldest first.
pub fn existing(dir: &Path) -> Result<Vec<u32>, StoreError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(storage_error)? {
        let name = entry.map_err(storage_error)?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == store_file(0) {
            found.push(0);
        } else if let Some(n) = name.strip_prefix("readmodels.g").and_then(|n| n.strip_suffix(".redb")) {
            found.extend(n.parse::<u32>().ok().filter(|&n| store_file(n) == name));
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Deletes `generation`'s file.
pub fn remove(dir: &Path, generation: u32) -> Result<(), StoreError> {
    fs::remove_file(dir.join(store_file(generation))).map_err(storage_error)
}
