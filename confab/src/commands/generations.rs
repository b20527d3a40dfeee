//! `confab generations list|drop`: the generations of read models. A blue/green replay builds
//! generation N+1 beside the live N and, once caught up, makes it live; every process follows
//! the pointer (`confab_readmodels::embedded::generations` beside the files,
//! `DynamoStore::make_current` on DynamoDB). The generations a replay replaced stay until
//! `drop` removes them.
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use confab_consumers::catalog::PROJECTIONS;
use confab_readmodels::{Adapter, embedded::generations};
use serde_json::json;

use crate::{
    args::BackendArgs,
    backend::{Provision, connect, read_models},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct GenerationsArgs {
    #[command(subcommand)]
    pub(crate) command: GenerationsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum GenerationsCommand {
    /// Prints the live generation and every generation that has read models.
    List(ListGenerationsArgs),
    /// Deletes an old generation's read models (tables or file). Run it once every process
    /// reports the live generation on `/readyz`.
    Drop(DropGenerationArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListGenerationsArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DropGenerationArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The generation to drop: older than the live one.
    pub(crate) generation: u32,
}

impl GenerationsArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self.command {
            GenerationsCommand::List(args) => list(&args.backend).await,
            GenerationsCommand::Drop(args) => drop_generation(&args.backend, args.generation).await,
        }
    }
}

async fn list(args: &BackendArgs) -> anyhow::Result<()> {
    let read_models = read_models(args, &args.data_dir, &args.namespace, None, false, Provision::CreateMissing).await?;
    let live = read_models.generation();
    let generations = match read_models.adapter() {
        Adapter::Embedded(_) => generations::existing(&args.data_dir)?,
        Adapter::Dynamo(store) => store.generations().await?,
    };
    println!("{}", json!({ "live": live, "generations": generations }));
    Ok(())
}

/// Deletes an old generation: its consumer groups first (refused while they have members),
/// then its read models. Refuses the live generation and newer ones (a replay may be building
/// them).
async fn drop_generation(args: &BackendArgs, generation: u32) -> anyhow::Result<()> {
    let backend = connect(args).await?;
    let live = backend.generation();
    if generation == live {
        bail!("generation {generation} is the live one");
    }
    if generation > live {
        bail!("generation {generation} is newer than the live one ({live}): a replay may be building it");
    }
    let generations = match backend.read_models.adapter() {
        Adapter::Embedded(_) => generations::existing(&args.data_dir)?,
        Adapter::Dynamo(store) => store.generations().await?,
    };
    if !generations.contains(&generation) {
        bail!("there is no generation {generation}");
    }
    let groups: Vec<String> = PROJECTIONS.iter().map(|spec| spec.group(generation)).collect();
    for group in &groups {
        backend.log.delete_group(group).await?;
    }
    match backend.read_models.adapter() {
        Adapter::Embedded(_) => generations::remove(&args.data_dir, generation)
            .with_context(|| format!("cannot remove generation {generation} from {}", args.data_dir.display()))?,
        Adapter::Dynamo(store) => store.drop_generation(generation).await?,
    }
    println!("{}", json!({ "dropped": generation, "live": live, "groups": groups }));
    Ok(())
}
