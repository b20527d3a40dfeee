//! `confab analytics report`: the analytics numbers for people, as JSON.
use clap::Args;
use confab_readmodels::analytics::{day_range, summary};

use crate::{args::BackendArgs, backend::connect};

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `--to`.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC); default: today.
    #[arg(long)]
    pub(crate) to: Option<String>,
}

impl ReportArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let (from, to) = day_range(self.from.as_deref(), self.to.as_deref()).map_err(anyhow::Error::msg)?;
        let backend = connect(&self.backend).await?;
        let numbers = summary(backend.analytics.as_ref(), &from, &to).await?;
        println!("{}", serde_json::to_string_pretty(&numbers)?);
        Ok(())
    }
}
