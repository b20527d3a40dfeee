//! Push notifications: the push consumer, in `serve` beside the API, or alone as `confab push`
//! (Kafka backend), which follows the API processes' signals for who has a socket open.
use std::sync::Arc;

use anyhow::{Context, bail};
use confab_api::{
    AppState,
    live::signals,
    push::{BoardSessions, WebPushSender},
};
use confab_consumers::{
    ProjectionHandle, ProjectionRunner,
    push::{PUSH, PushConsumer},
};
use confab_eventlog::{EventLog, OffsetTarget};
use confab_readmodels::LiveReadModels;
use confab_schemas::Codec;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    http::{ServeArgs, Toggle, api_state},
    serve_health_until_signal,
};
use crate::{backend::connect, workers};

/// Starts the push consumer on `state`'s use cases, VAPID key and presence board.
pub(crate) async fn start(
    state: &AppState,
    args: &ServeArgs,
    log: &Arc<dyn EventLog>,
    live: &LiveReadModels,
    codec: &Arc<Codec>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(ProjectionHandle, JoinHandle<()>)> {
    start_at_the_end(log.as_ref()).await?;
    let allow_private = args.push.push_allow_private == Toggle::On;
    let sender = WebPushSender::new(Arc::clone(&state.use_cases), state.vapid.clone(), allow_private)
        .context("cannot make the push client")?;
    let sessions = BoardSessions(Arc::clone(&state.presence));
    let consumer = PushConsumer::new(live.clone(), Arc::new(sender), Arc::new(sessions));
    let (runner, handle) = ProjectionRunner::new(Arc::clone(log), Arc::clone(codec), Arc::new(consumer));
    Ok((handle, tokio::spawn(runner.run(shutdown.clone()))))
}

/// The first time, the push consumer starts from the end of the log: history is not notified.
async fn start_at_the_end(log: &dyn EventLog) -> anyhow::Result<()> {
    let group = PUSH.group(0);
    let topics: Vec<&str> = PUSH.topics.iter().map(|t| t.name()).collect();
    let committed = log.committed_offsets(&group, &topics).await.context("cannot read the push consumer's offsets")?;
    if committed.iter().all(|(_, _, offset)| offset.is_none()) {
        let _ = log
            .reset_offsets(&group, &topics, OffsetTarget::Latest)
            .await
            .context("cannot start the push consumer at the end of the log")?;
    }
    Ok(())
}

/// `confab push`: the push consumer alone, with `--listen` serving its health.
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: use `confab serve`");
    }
    let live = LiveReadModels::new(backend.read_models.clone());
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let follower = workers::follow(&args.backend, &live, None, &shutdown);
    let state = api_state(&args, &backend, &live, Arc::clone(&codec), Vec::new(), Vec::new()).await?;
    let board = tokio::spawn(signals::follow(
        Arc::clone(&state.presence),
        Arc::clone(&state.hub),
        Arc::clone(&state.use_cases),
        shutdown.clone(),
    ));
    let (handle, worker) = start(&state, &args, &backend.log, &live, &codec, &shutdown).await?;
    tracing::info!("confab pushing");
    serve_health_until_signal(&backend, vec![handle], Some(live), Some(args.listen)).await?;
    shutdown.cancel();
    worker.await?;
    board.await?;
    follower.await?;
    tracing::info!("confab stopped");
    Ok(())
}
