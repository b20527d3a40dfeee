//! The projection runners of a long-running process, and its move to another generation of read
//! models when a blue/green `confab replay` makes one live: the process's reads switch at once
//! (`LiveReadModels`), and its runners stop where they are and start again as the new
//! generation's consumer groups, which carry on from where the replay handed over.
use std::{sync::Arc, time::Duration};

use confab_consumers::{ProjectionHandle, ProjectionRunner, ProjectionStatus, catalog::ProjectionSpec};
use confab_readmodels::{Adapter, LiveReadModels, ReadModels};
use confab_schemas::Codec;
use tokio::{
    sync::{Mutex, watch},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::{
    args::BackendArgs,
    backend::{Backend, Objects, Provision, read_models},
};

/// How often a process looks at the generation pointer.
const POINTER_POLL: Duration = Duration::from_secs(1);

type Running = (CancellationToken, Vec<JoinHandle<()>>);

pub(crate) struct Workers {
    backend_log: Arc<dyn confab_eventlog::EventLog>,
    codec: Arc<Codec>,
    objects: Objects,
    analytics: Arc<dyn confab_readmodels::AnalyticsStore>,
    data_keys: Arc<dyn confab_readmodels::DataKeyStore>,
    /// Each projection's status channel, kept across generations.
    statuses: Vec<(&'static ProjectionSpec, Arc<watch::Sender<ProjectionStatus>>)>,
    running: Mutex<Option<Running>>,
}

impl Workers {
    /// Starts a runner per projection on the backend's live generation; a handle for each.
    pub(crate) fn start(
        backend: &Backend,
        codec: &Arc<Codec>,
        specs: &[&'static ProjectionSpec],
    ) -> (Arc<Self>, Vec<ProjectionHandle>) {
        let mut statuses = Vec::new();
        let mut handles = Vec::new();
        for spec in specs {
            let (status, handle) = ProjectionHandle::channel(spec.name);
            statuses.push((*spec, status));
            handles.push(handle);
        }
        let mut workers = Self {
            backend_log: Arc::clone(&backend.log),
            codec: Arc::clone(codec),
            objects: backend.objects.clone(),
            analytics: Arc::clone(&backend.analytics),
            data_keys: Arc::clone(&backend.data_keys),
            statuses,
            running: Mutex::new(None),
        };
        let running = workers.launch(&backend.read_models);
        *workers.running.get_mut() = Some(running);
        (Arc::new(workers), handles)
    }

    fn launch(&self, read_models: &ReadModels) -> Running {
        let stop = CancellationToken::new();
        let sinks = confab_consumers::catalog::Sinks {
            read_models,
            objects: &self.objects.store,
            analytics: &self.analytics,
            data_keys: &self.data_keys,
        };
        let joins = self
            .statuses
            .iter()
            .map(|(spec, status)| {
                let projection = match spec.build(&sinks) {
                    Ok(projection) => projection,
                    Err(error) => {
                        tracing::error!(%error, "not started");
                        return tokio::spawn(async {});
                    }
                };
                let runner = ProjectionRunner::reporting_to(
                    Arc::clone(&self.backend_log),
                    Arc::clone(&self.codec),
                    projection,
                    Arc::clone(status),
                );
                let mut runner = runner.with_generation(read_models.generation());
                if let Some(checkpoints) = &read_models.checkpoints {
                    runner = runner.with_checkpoints(Arc::clone(checkpoints));
                }
                if let Some(flush) = &read_models.flush {
                    runner = runner.with_flush(Arc::clone(flush));
                }
                tokio::spawn(runner.run(stop.clone()))
            })
            .collect();
        (stop, joins)
    }

    /// Starts the runners again, on `read_models`, after [`Workers::stop`].
    pub(crate) async fn restart_on(&self, read_models: &ReadModels) {
        let mut running = self.running.lock().await;
        if running.is_none() {
            *running = Some(self.launch(read_models));
        }
    }

    /// Stops the runners; each finishes the batch in hand.
    pub(crate) async fn stop(&self) {
        if let Some((stop, joins)) = self.running.lock().await.take() {
            stop.cancel();
            for join in joins {
                if let Err(error) = join.await {
                    tracing::error!(%error, "a projection runner failed");
                }
            }
        }
    }
}

/// Spawns [`follow_generations`] for this process's read models and workers.
pub(crate) fn follow(
    args: &BackendArgs,
    live: &LiveReadModels,
    workers: Option<&Arc<Workers>>,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(follow_generations(args.clone(), live.clone(), workers.cloned(), shutdown.clone()))
}

/// Follows the generation pointer on DynamoDB until `shutdown`, moving `live` (and `workers`)
/// to a generation that goes live. The embedded backend's pointer cannot move while a server
/// holds its files, so there is nothing to follow there.
async fn follow_generations(
    args: BackendArgs,
    live: LiveReadModels,
    workers: Option<Arc<Workers>>,
    shutdown: CancellationToken,
) {
    let Adapter::Dynamo(pointer) = live.now().adapter().clone() else { return };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POINTER_POLL) => {}
        }
        let generation = match pointer.live_generation().await {
            Ok(generation) => generation,
            Err(error) => {
                tracing::warn!(%error, "cannot read the generation pointer");
                continue;
            }
        };
        if generation == live.generation() {
            continue;
        }
        match read_models(&args, &args.data_dir, &args.namespace, Some(generation), false, Provision::Existing).await {
            Ok(next) => {
                // Runners stop first, so that nothing applied to the old generation after this
                // looks applied to a writer that then reads the new one.
                if let Some(workers) = &workers {
                    workers.stop().await;
                }
                live.switch(next.clone());
                if let Some(workers) = &workers {
                    workers.restart_on(&next).await;
                }
                tracing::info!(generation, "moved to another generation of read models");
            }
            Err(error) => {
                tracing::warn!(generation, error = %format!("{error:#}"), "cannot open the live generation yet")
            }
        }
    }
}
