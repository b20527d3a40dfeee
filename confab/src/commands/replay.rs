//! `confab replay`: rebuild read models from offset 0 with a progress bar.
//!
//! Blue/green (the default) builds generation N+1 of every read model beside the live N, reads
//! until it has caught up with the log, hands its place in the log to generation N+1's consumer
//! groups, and only then makes N+1 the live generation. Processes adopt the live generation when
//! they start: on the embedded backend the server is stopped during a replay anyway; on Kafka,
//! restart `api` and `consume` processes after it (one at a time). Nothing is lost across the
//! switch: what is appended after the replay's last read is applied by generation N+1's groups.
//! `--in-place` re-applies the named projections into the live tables (every projection is
//! idempotent, so this repairs and never duplicates).
use std::{sync::Arc, time::Duration};

use anyhow::Context;
use clap::Args;
use confab_consumers::{
    Offsets,
    catalog::{self, PROJECTIONS, ProjectionSpec},
    projection::{Projection, group_name},
    replay_from, topic_names,
};
use confab_readmodels::{Adapter, ReadModels, embedded::generations};
use confab_schemas::Codec;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{
    args::BackendArgs,
    backend::{Backend, Provision, connect, read_models},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The projections to replay.
    #[arg(value_parser = catalog::parse_projection, required_unless_present = "all")]
    pub(crate) projections: Vec<&'static ProjectionSpec>,
    /// Every projection.
    #[arg(long, conflicts_with = "projections")]
    pub(crate) all: bool,
    /// Re-apply into the live tables instead of building a new generation beside them.
    #[arg(long)]
    pub(crate) in_place: bool,
}

/// Catch-up passes before the switch; what comes after the last is the new groups' to apply.
const CATCH_UP_PASSES: usize = 10;

impl ReplayArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        replay(self).await
    }
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    let codec = Codec::new()?;
    let (target, generation) = if args.in_place {
        (backend.read_models.clone(), backend.generation())
    } else {
        let next = backend.generation() + 1;
        (fresh_generation(&args, &backend, next).await?, next)
    };
    let names = if args.all || !args.in_place {
        if !args.all && args.projections.len() < PROJECTIONS.len() {
            eprintln!("a blue/green replay builds a whole generation: replaying every projection");
        }
        PROJECTIONS.to_vec()
    } else {
        args.projections.clone()
    };
    let mut applied = 0;
    for spec in &names {
        let projection = spec.build(&backend.sinks(&target))?;
        let (events, ends) = replay_caught_up(&backend, &codec, projection.as_ref()).await?;
        applied += events;
        // Durable before the new groups' offsets say so (and before an in-place replay ends).
        target.flush().await?;
        if !args.in_place {
            let offsets: Vec<(String, u32, u64)> = ends.into_iter().map(|((t, p), o)| (t, p, o)).collect();
            backend.log.set_offsets(&group_name(projection.as_ref(), generation), &offsets).await?;
        }
    }
    if !args.in_place {
        match target.adapter() {
            Adapter::Embedded(_) => generations::make_current(&args.backend.data_dir, generation)?,
            Adapter::Dynamo(store) => store.make_current().await?,
        }
    }
    let mode = if args.in_place { "in-place" } else { "blue-green" };
    let names: Vec<&str> = names.iter().map(|spec| spec.name).collect();
    println!(
        "{}",
        json!({ "mode": mode, "generation": generation, "previous": backend.generation(), "projections": names, "events": applied })
    );
    Ok(())
}

/// Empty read models of `generation`: what a failed replay may have left there is dropped.
async fn fresh_generation(args: &ReplayArgs, backend: &Backend, generation: u32) -> anyhow::Result<ReadModels> {
    let args = &args.backend;
    Ok(match backend.read_models.adapter() {
        Adapter::Embedded(_) => {
            let dir = &args.data_dir;
            let path = dir.join(generations::store_file(generation));
            match std::fs::remove_file(&path) {
                Ok(()) => eprintln!("dropped {} from an unfinished replay", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
            }
            read_models(args, dir, "", Some(generation), false, Provision::CreateMissing).await?
        }
        Adapter::Dynamo(_) => {
            read_models(args, &args.data_dir, &args.namespace, Some(generation), true, Provision::CreateMissing).await?
        }
    })
}

/// Replays one projection from offset 0 until a pass finds nothing new, with a progress bar;
/// (events applied, where it stopped).
async fn replay_caught_up(
    backend: &Backend,
    codec: &Codec,
    projection: &dyn Projection,
) -> anyhow::Result<(u64, Offsets)> {
    let bar = ProgressBar::new(0).with_prefix(projection.name());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} {wide_bar} {pos}/{len} events, {per_sec}, lag {msg}, eta {eta}")?
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let bar = Arc::new(bar);
    // Every partition, from 0: where the new generation's groups start if there is nothing yet.
    let mut position = Offsets::new();
    for topic in topic_names(projection) {
        for partition in 0..backend.log.end_offsets(topic).await?.len() {
            let _ = position.insert((topic.to_owned(), partition as u32), 0);
        }
    }
    let mut applied = 0;
    for _ in 0..CATCH_UP_PASSES {
        let lag = lag(backend, projection, &position).await?;
        if lag == 0 {
            break;
        }
        bar.inc_length(lag);
        let mut remaining = lag;
        let shown = Arc::clone(&bar);
        let (events, ends) = replay_from(backend.log.as_ref(), codec, projection, &position, move |records| {
            shown.inc(records);
            remaining = remaining.saturating_sub(records);
            shown.set_message(remaining.to_string());
        })
        .await?;
        applied += events;
        position = ends;
    }
    bar.finish_with_message("0");
    tracing::info!(projection = projection.name(), applied, "replayed");
    Ok((applied, position))
}

/// Records of the projection's topics past `position`.
async fn lag(backend: &Backend, projection: &dyn Projection, position: &Offsets) -> anyhow::Result<u64> {
    let mut lag = 0;
    for topic in topic_names(projection) {
        for (partition, end) in backend.log.end_offsets(topic).await?.into_iter().enumerate() {
            let at = position.get(&(topic.to_owned(), partition as u32)).copied().unwrap_or(0);
            lag += end.saturating_sub(at);
        }
    }
    Ok(lag)
}
