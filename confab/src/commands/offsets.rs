//! `confab offsets reset`: move a consumer group, to replay (earliest, a time, an offset) or to
//! skip (latest). Every Confab consumer is idempotent, so replaying changes no number.
//! `confab offsets show`: where a group stands, and how far behind.
use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::DateTime;
use confab_eventlog::OffsetTarget;
use serde_json::json;

use clap::{Args, Subcommand};
use confab_consumers::catalog;

use crate::{
    args::BackendArgs,
    backend::{Backend, connect},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct OffsetsArgs {
    #[command(subcommand)]
    pub(crate) command: OffsetsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum OffsetsCommand {
    /// Moves a consumer group's committed offsets; stop its consumers first.
    Reset(ResetArgs),
    /// Prints a consumer group's committed offset, the end and the lag of every partition.
    Show(ShowOffsetsArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ShowOffsetsArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The group, e.g. `confab.projector.messages` (without the namespace).
    pub(crate) group: String,
    /// The topics to show (default: the ones a Confab group reads).
    #[arg(long = "topic")]
    pub(crate) topics: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ResetArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The group, e.g. `confab.projector.messages` or `confab.projector.analytics` (without
    /// the namespace).
    pub(crate) group: String,
    /// `earliest`, `latest`, a time: RFC 3339 (`2026-12-01T04:00:00Z`) or milliseconds since
    /// the epoch (the group then resumes at the first event stamped at or after it), or exact
    /// positions `TOPIC/PARTITION@OFFSET[,...]` (other partitions stay where they are).
    #[arg(long)]
    pub(crate) to: String,
    /// The topics to reset (default: the ones a Confab group reads).
    #[arg(long = "topic")]
    pub(crate) topics: Vec<String>,
}

impl OffsetsArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self.command {
            OffsetsCommand::Reset(args) => reset(args).await,
            OffsetsCommand::Show(args) => show(args).await,
        }
    }
}

/// The topics a Confab consumer group reads.
fn topics_of(group: &str) -> Option<Vec<&'static str>> {
    Some(catalog::consumer_of_group(group)?.topics.iter().map(|t| t.name()).collect())
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

async fn reset(args: ResetArgs) -> anyhow::Result<()> {
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

async fn show(args: ShowOffsetsArgs) -> anyhow::Result<()> {
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
