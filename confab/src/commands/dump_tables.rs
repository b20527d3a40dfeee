//! `confab dump-tables`: every read-model table as one JSON document.
use clap::Args;

use crate::{
    args::BackendArgs,
    backend::{Provision, read_models},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct DumpTablesArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

impl DumpTablesArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let args = &self.backend;
        let read_models =
            read_models(args, &args.data_dir, &args.namespace, None, false, Provision::CreateMissing).await?;
        println!("{}", serde_json::to_string_pretty(&read_models.dump().await?)?);
        Ok(())
    }
}
