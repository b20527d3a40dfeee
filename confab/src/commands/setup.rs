//! `confab setup`: creates what a deployment needs once, before any process starts: the topics,
//! the tables and the bucket. Long-lived processes also create what is missing when they start;
//! Lambda functions do not (a cold start makes no admin calls), so a serverless deployment runs
//! this once (or lets its CloudFormation stack make the tables and the bucket).
use clap::Args;

use crate::{
    args::{BackendArgs, ObjectsKind},
    backend::{Provision, connect_with, topics},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct SetupArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

impl SetupArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let backend = connect_with(&self.backend, Provision::CreateMissing).await?;
        let topics: Vec<String> = topics(&self.backend, backend.is_embedded())
            .iter()
            .map(|spec| format!("{}{}", self.backend.namespace, spec.name))
            .collect();
        let bucket = matches!(self.backend.objects, ObjectsKind::S3).then(|| self.backend.s3_bucket.clone());
        let ready = serde_json::json!({
            "topics": topics,
            "partitions": self.backend.partitions,
            "readModelGeneration": backend.generation(),
            "namespace": self.backend.namespace,
            "bucket": bucket,
        });
        println!("{}", serde_json::to_string_pretty(&ready)?);
        Ok(())
    }
}
