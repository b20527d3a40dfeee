//! Which generation of read models is live. A blue/green replay builds generation N+1 beside
//! the live N and, once caught up, points here; every process reads the pointer at start-up. On
//! the embedded backend the pointer is a file beside the read models, replaced atomically; on
//! DynamoDB it is an item of the `meta` table (`DynamoStore::make_current`).
use std::{fs, io::Write, path::Path};

use anyhow::Context;

const POINTER_FILE: &str = "readmodels.current";

/// The embedded read models of `generation`, a file in the data dir.
pub(crate) fn store_file(generation: u32) -> String {
    match generation {
        0 => "readmodels.redb".to_owned(),
        n => format!("readmodels.g{n}.redb"),
    }
}

/// The live generation of the embedded read models in `dir` (0 before any replay).
pub(crate) fn current(dir: &Path) -> anyhow::Result<u32> {
    let path = dir.join(POINTER_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().with_context(|| format!("{} does not hold a generation", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Makes `generation` the live one: written aside, synced, renamed over the pointer.
pub(crate) fn make_current(dir: &Path, generation: u32) -> anyhow::Result<()> {
    let (path, staged) = (dir.join(POINTER_FILE), dir.join(format!("{POINTER_FILE}.new")));
    let mut file = fs::File::create(&staged).with_context(|| format!("cannot write {}", staged.display()))?;
    file.write_all(generation.to_string().as_bytes())?;
    file.sync_all()?;
    fs::rename(&staged, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}
