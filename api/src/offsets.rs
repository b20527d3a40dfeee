//! `confab offsets reset`: move a consumer group, to replay (earliest, a time, an offset) or to
//! skip (latest). Every Confab consumer is idempotent, so replaying changes no number.
//! `confab offsets show`: where a group stands, and how far behind.
use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::DateTime;
use confab_eventlog::OffsetTarget;
use confab_schemas::Topic;
use serde_json::json;

use crate::{
    backend::{Backend, connect},
    cli::{ProjectionName, ResetArgs, ShowOffsetsArgs},
};

/// The topics a Confab consumer group reads.
fn topics_of(group: &str) -> Option<Vec<&'static str>> {
    let name = group.strip_prefix("confab.projector.")?;
    let name = name.split_once(".g").map_or(name, |(name, _generation)| name);
    let topics: &[Topic] = match name {
        "analytics" => &[Topic::Users, Topic::Messages, Topic::Groups],
        other => {
            let projection = ProjectionName::ALL.into_iter().find(|p| p.name() == other)?;
            projection.topics()
        }
    };
    Some(topics.iter().map(|t| t.name()).collect())
}

/// `--topic`s given, or the topics of a Confab group.
fn group_topics<'a>(group: &str, given: &'a [String]) -> anyhow::Result<Vec<&'a str>> {
    Ok(match (given.is_empty(), topics_of(group)) {
        (false, _) => given.iter().map(String::as_str).collect(),
        (true, Some(topics)) => topics,
        (true, None) => bail!("{group} is not a Confab consumer group: name its topics with --topic"),
    })
}

/// Where `--to` moves a group.
enum Destination {
    /// The same rule on every partition.
    Each(OffsetTarget),
    /// These (topic, partition, next offset); other partitions stay.
    Exactly(Vec<(String, u32, u64)>),
}

fn destination(raw: &str) -> anyhow::Result<Destination> {
    if raw.contains('@') {
        return raw.split(',').map(position).collect::<anyhow::Result<_>>().map(Destination::Exactly);
    }
    Ok(Destination::Each(match raw {
        "earliest" => OffsetTarget::Earliest,
        "latest" => OffsetTarget::Latest,
        other => match other.parse::<i64>() {
            Ok(ms) => OffsetTarget::Timestamp(ms),
            Err(_) => OffsetTarget::Timestamp(
                DateTime::parse_from_rfc3339(other)
                    .with_context(|| {
                        format!(
                            "--to must be earliest, latest, RFC 3339, epoch ms or TOPIC/PARTITION@OFFSET, not {other:?}"
                        )
                    })?
                    .timestamp_millis(),
            ),
        },
    }))
}

/// `TOPIC/PARTITION@OFFSET`.
fn position(raw: &str) -> anyhow::Result<(String, u32, u64)> {
    let parsed = raw.trim().rsplit_once('@').and_then(|(place, offset)| {
        let (topic, partition) = place.rsplit_once('/')?;
        Some((topic.to_owned(), partition.parse().ok()?, offset.parse().ok()?))
    });
    parsed.with_context(|| format!("{raw:?} is not TOPIC/PARTITION@OFFSET"))
}

/// Refuses positions outside the log: a partition it does not have, an offset past its end.
async fn check_positions(backend: &Backend, topics: &[&str], positions: &[(String, u32, u64)]) -> anyhow::Result<()> {
    for (topic, partition, offset) in positions {
        if !topics.contains(&topic.as_str()) {
            bail!("the group does not read {topic} (it reads {})", topics.join(", "));
        }
        let ends = backend.log.end_offsets(topic).await?;
        let Some(end) = ends.get(*partition as usize) else {
            bail!("{topic} has {} partitions: there is no partition {partition}", ends.len());
        };
        if offset > end {
            bail!("{topic}/{partition} ends at {end}: offset {offset} is past it");
        }
    }
    Ok(())
}

pub(crate) async fn reset(args: ResetArgs) -> anyhow::Result<()> {
    let to = destination(&args.to)?;
    let topics = group_topics(&args.group, &args.topics)?;
    let backend = connect(&args.backend).await?;
    let offsets = match to {
        Destination::Each(target) => backend.log.reset_offsets(&args.group, &topics, target).await?,
        Destination::Exactly(positions) => {
            check_positions(&backend, &topics, &positions).await?;
            backend.log.set_offsets(&args.group, &positions).await?;
            positions
        }
    };
    let offsets: Vec<_> = offsets
        .into_iter()
        .map(|(topic, partition, next)| json!({ "topic": topic, "partition": partition, "offset": next }))
        .collect();
    println!("{}", json!({ "group": args.group, "offsets": offsets }));
    Ok(())
}

pub(crate) async fn show(args: ShowOffsetsArgs) -> anyhow::Result<()> {
    let topics = group_topics(&args.group, &args.topics)?;
    let backend = connect(&args.backend).await?;
    let committed = backend.log.committed_offsets(&args.group, &topics).await?;
    let mut ends: HashMap<&str, Vec<u64>> = HashMap::new();
    for topic in &topics {
        let _ = ends.insert(topic, backend.log.end_offsets(topic).await?);
    }
    let mut total_lag = 0;
    let mut offsets = Vec::new();
    for (topic, partition, next) in committed {
        let end = ends.get(topic.as_str()).and_then(|e| e.get(partition as usize)).copied().unwrap_or(0);
        // A group that has committed nothing starts at the beginning: all of it is lag.
        let lag = end.saturating_sub(next.unwrap_or(0));
        total_lag += lag;
        offsets.push(json!({ "topic": topic, "partition": partition, "committed": next, "end": end, "lag": lag }));
    }
    println!("{}", json!({ "group": args.group, "lag": total_lag, "offsets": offsets }));
    Ok(())
}
