//! `confab offsets reset`: move a consumer group, to replay (earliest, a time) or to skip
//! (latest). Every Confab consumer is idempotent, so replaying changes no number.
use anyhow::{Context, bail};
use chrono::DateTime;
use confab_eventlog::OffsetTarget;
use confab_schemas::Topic;
use serde_json::json;

use crate::{
    backend::connect,
    cli::{ProjectionName, ResetArgs},
};

/// The topics a Confab consumer group reads.
fn topics_of(group: &str) -> Option<Vec<&'static str>> {
    let name = group.strip_prefix("confab.projector.")?;
    let topics: &[Topic] = match name {
        "analytics" => &[Topic::Users, Topic::Messages, Topic::Groups],
        other => {
            let projection = ProjectionName::ALL.into_iter().find(|p| p.name() == other)?;
            projection.topics()
        }
    };
    Some(topics.iter().map(|t| t.name()).collect())
}

fn target(raw: &str) -> anyhow::Result<OffsetTarget> {
    Ok(match raw {
        "earliest" => OffsetTarget::Earliest,
        "latest" => OffsetTarget::Latest,
        other => match other.parse::<i64>() {
            Ok(ms) => OffsetTarget::Timestamp(ms),
            Err(_) => OffsetTarget::Timestamp(
                DateTime::parse_from_rfc3339(other)
                    .with_context(|| format!("--to must be earliest, latest, RFC 3339 or epoch ms, not {other:?}"))?
                    .timestamp_millis(),
            ),
        },
    })
}

pub(crate) async fn reset(args: ResetArgs) -> anyhow::Result<()> {
    let to = target(&args.to)?;
    let topics: Vec<&str> = match (args.topics.is_empty(), topics_of(&args.group)) {
        (false, _) => args.topics.iter().map(String::as_str).collect(),
        (true, Some(topics)) => topics,
        (true, None) => bail!("{} is not a Confab consumer group: name its topics with --topic", args.group),
    };
    let backend = connect(&args.backend).await?;
    let offsets = backend.log.reset_offsets(&args.group, &topics, to).await?;
    let offsets: Vec<_> = offsets
        .into_iter()
        .map(|(topic, partition, next)| json!({ "topic": topic, "partition": partition, "offset": next }))
        .collect();
    println!("{}", json!({ "group": args.group, "offsets": offsets }));
    Ok(())
}
