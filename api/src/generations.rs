//! Which generation of read models is live. A blue/green replay builds generation N+1 beside
//! the live N and, once caught up, points here; every process reads the pointer at start-up. On
//! the embedded backend the pointer is a file beside the read models, replaced atomically; on
//! DynamoDB it is an item of the `meta` table (`DynamoStore::make_current`). The generations
//! a replay replaced stay until `confab generations drop` removes them.
use std::{fs, io::Write, path::Path};

use anyhow::{Context, bail};
use serde_json::json;

use confab_consumers::projection::projection_group;

use crate::{
    backend::{Stores, connect, connect_dynamo},
    cli::{BackendArgs, GenerationsCommand, ProjectionName, StoreKind},
};

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

/// The embedded generations in `dir` that have read models, oldest first.
fn existing(dir: &Path) -> anyhow::Result<Vec<u32>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = entry?.file_name();
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

/// `confab generations list|drop`, printing JSON.
pub(crate) async fn command(command: GenerationsCommand) -> anyhow::Result<()> {
    match command {
        GenerationsCommand::List(args) => list(&args.backend).await,
        GenerationsCommand::Drop(args) => drop_generation(&args.backend, args.generation).await,
    }
}

async fn list(args: &BackendArgs) -> anyhow::Result<()> {
    let (live, generations) = match args.store {
        StoreKind::Embedded => (current(&args.data_dir)?, existing(&args.data_dir)?),
        StoreKind::Dynamodb => {
            let store = connect_dynamo(args, &args.namespace, None, false).await?;
            (store.generation(), store.generations().await?)
        }
    };
    println!("{}", json!({ "live": live, "generations": generations }));
    Ok(())
}

/// Deletes an old generation: its consumer groups first (refused while they have members),
/// then its read models. Refuses the live generation and newer ones (a replay may be building
/// them).
async fn drop_generation(args: &BackendArgs, generation: u32) -> anyhow::Result<()> {
    let backend = connect(args).await?;
    let live = backend.generation;
    if generation == live {
        bail!("generation {generation} is the live one");
    }
    if generation > live {
        bail!("generation {generation} is newer than the live one ({live}): a replay may be building it");
    }
    let generations = match &backend.stores {
        Stores::Embedded(_) => existing(&args.data_dir)?,
        Stores::Dynamo(store) => store.generations().await?,
    };
    if !generations.contains(&generation) {
        bail!("there is no generation {generation}");
    }
    let groups: Vec<String> = ProjectionName::ALL.iter().map(|p| projection_group(p.name(), generation)).collect();
    for group in &groups {
        backend.log.delete_group(group).await?;
    }
    match &backend.stores {
        Stores::Embedded(_) => {
            let path = args.data_dir.join(store_file(generation));
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Stores::Dynamo(store) => store.drop_generation(generation).await?,
    }
    println!("{}", json!({ "dropped": generation, "live": live, "groups": groups }));
    Ok(())
}
