//! The projection runners of a long-running process, and its move to another generation of read
//! models when a blue/green `confab replay` makes one live: the process's reads switch at once
//! (`CurrentStores`), and its runners stop where they are and start again as the new
//! generation's consumer groups, which carry on from where the replay handed over.
use std::{sync::Arc, time::Duration};

use confab_consumers::{ProjectionHandle, ProjectionRunner, ProjectionStatus};
use confab_schemas::Codec;
use tokio::{
    sync::{Mutex, watch},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::{
    backend::{Backend, Objects, Stores, connect_dynamo},
    cli::{BackendArgs, ProjectionName},
    current::CurrentStores,
};

/// How often a process looks at the generation pointer.
const POINTER_POLL: Duration = Duration::from_secs(1);

type Running = (CancellationToken, Vec<JoinHandle<()>>);

pub(crate) struct Workers {
    backend_log: Arc<dyn confab_eventlog::EventLog>,
    codec: Arc<Codec>,
    objects: Objects,
    /// Each projection's status channel, kept across generations.
    statuses: Vec<(ProjectionName, Arc<watch::Sender<ProjectionStatus>>)>,
    running: Mutex<Option<Running>>,
}

impl Workers {
    /// Starts a runner per projection on the backend's live generation; a handle for each.
    pub(crate) fn start(
        backend: &Backend,
        codec: &Arc<Codec>,
        names: &[ProjectionName],
    ) -> (Arc<Self>, Vec<(ProjectionName, ProjectionHandle)>) {
        let mut statuses = Vec::new();
        let mut handles = Vec::new();
        for name in names {
            let (status, handle) = ProjectionHandle::channel(name.name());
            statuses.push((*name, status));
            handles.push((*name, handle));
        }
        let mut workers = Self {
            backend_log: Arc::clone(&backend.log),
            codec: Arc::clone(codec),
            objects: backend.objects.clone(),
            statuses,
            running: Mutex::new(None),
        };
        let running = workers.launch(&backend.stores, backend.generation);
        *workers.running.get_mut() = Some(running);
        (Arc::new(workers), handles)
    }

    fn launch(&self, stores: &Stores, generation: u32) -> Running {
        let stop = CancellationToken::new();
        let joins = self
            .statuses
            .iter()
            .map(|(name, status)| {
                let projection = stores.projection(*name, &self.objects);
                let runner = ProjectionRunner::reporting_to(
                    Arc::clone(&self.backend_log),
                    Arc::clone(&self.codec),
                    projection,
                    Arc::clone(status),
                );
                let mut runner = runner.with_generation(generation);
                if let Some(checkpoints) = stores.checkpoints() {
                    runner = runner.with_checkpoints(checkpoints);
                }
                tokio::spawn(runner.run(stop.clone()))
            })
            .collect();
        (stop, joins)
    }

    /// Starts the runners again, on `stores` of `generation`, after [`Workers::stop`].
    pub(crate) async fn restart_on(&self, stores: &Stores, generation: u32) {
        let mut running = self.running.lock().await;
        if running.is_none() {
            *running = Some(self.launch(stores, generation));
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
    current: &CurrentStores,
    workers: Option<&Arc<Workers>>,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(follow_generations(args.clone(), current.clone(), workers.cloned(), shutdown.clone()))
}

/// Follows the generation pointer on DynamoDB until `shutdown`, moving `current` (and `workers`)
/// to a generation that goes live. The embedded backend's pointer cannot move while a server
/// holds its files, so there is nothing to follow there.
async fn follow_generations(
    args: BackendArgs,
    current: CurrentStores,
    workers: Option<Arc<Workers>>,
    shutdown: CancellationToken,
) {
    let Stores::Dynamo(pointer) = current.stores() else { return };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POINTER_POLL) => {}
        }
        let live = match pointer.live_generation().await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(%error, "cannot read the generation pointer");
                continue;
            }
        };
        if live == current.generation() {
            continue;
        }
        match connect_dynamo(&args, &args.namespace, Some(live), false).await {
            Ok(store) => {
                // Runners stop first, so that nothing applied to the old generation after this
                // looks applied to a writer that then reads the new one.
                let stores = Stores::Dynamo(store);
                if let Some(workers) = &workers {
                    workers.stop().await;
                }
                current.switch(live, stores.clone());
                if let Some(workers) = &workers {
                    workers.restart_on(&stores, live).await;
                }
                tracing::info!(generation = live, "moved to another generation of read models");
            }
            Err(error) => tracing::warn!(generation = live, %error, "cannot open the live generation yet"),
        }
    }
}
