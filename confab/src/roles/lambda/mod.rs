//! The serverless layout, the design document's own: the same router and the same consumers,
//! each run by the AWS Lambda runtime. `api` serves API Gateway (REST and HTTP API payloads) and
//! ALB events; `consume` applies the batches of a Kafka event source mapping. Neither creates a
//! topic, table or bucket (that is `confab setup`, once), and live WebSocket delivery stays with
//! long-lived processes (`confab api` as a container beside the functions).
mod api;
mod consume;

use clap::Subcommand;

use super::http::ServeArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum LambdaCommand {
    /// The HTTP API as a Lambda function behind API Gateway (REST or HTTP API) or an ALB.
    Api(Box<ServeArgs>),
    /// One consumer (a projection, the attachment indexer or analytics) as a Lambda function
    /// triggered by a Kafka event source mapping (MSK or self-managed Kafka).
    Consume(Box<consume::LambdaConsumeArgs>),
}

impl LambdaCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Api(args) => api::run(*args).await,
            Self::Consume(args) => args.run().await,
        }
    }
}
