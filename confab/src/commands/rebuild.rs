//! `confab rebuild`: replays the log from offset 0 into empty read models elsewhere, for
//! comparison with the live ones. On the embedded backend, stop the server first: its files
//! belong to one process at a time.
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use confab_consumers::{catalog::PROJECTIONS, replay};
use confab_readmodels::embedded::generations;
use confab_schemas::Codec;

use crate::{
    args::{BackendArgs, StoreKind},
    backend::{Provision, connect, read_models},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct RebuildArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Embedded: a directory that holds no read models yet. DynamoDB: a namespace (table
    /// prefix) whose tables are empty.
    #[arg(long)]
    pub(crate) into: String,
}

impl RebuildArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let args = &self.backend;
        let target = match args.store {
            StoreKind::Embedded => {
                let dir = Path::new(&self.into);
                if dir.join(generations::store_file(0)).exists() {
                    bail!("{} already holds read models; rebuild needs an empty directory", dir.display());
                }
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                read_models(args, dir, "", None, false, Provision::CreateMissing).await?
            }
            StoreKind::Dynamodb => {
                if self.into == args.namespace {
                    bail!("--into must name another namespace than the live tables'");
                }
                read_models(args, Path::new("."), &self.into, None, false, Provision::CreateMissing).await?
            }
        };
        let is_empty = target
            .dump()
            .await?
            .as_object()
            .is_some_and(|t| t.values().all(|rows| rows.as_array().is_some_and(Vec::is_empty)));
        if !is_empty {
            bail!("the rebuild target already holds rows; rebuild needs empty tables");
        }
        let backend = connect(args).await?;
        let codec = Codec::new()?;
        for spec in PROJECTIONS {
            let projection = spec.build(&backend.sinks(&target))?;
            let applied = replay(backend.log.as_ref(), &codec, projection.as_ref()).await?;
            tracing::info!(projection = spec.name, applied, "replayed");
        }
        target.flush().await?;
        Ok(())
    }
}
