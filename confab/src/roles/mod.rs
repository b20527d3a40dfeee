//! The long-running roles: `serve` (API and every consumer), `api`, `consume` and `analytics`,
//! and what they share: listening, signals, the analytics consumer, health for workers.
pub(crate) mod analytics;
pub(crate) mod api;
pub(crate) mod catch_up;
pub(crate) mod consume;
pub(crate) mod http;
pub(crate) mod lambda;
pub(crate) mod limits;
pub(crate) mod push;
pub(crate) mod serve;

use std::{net::SocketAddr, sync::Arc};

use confab_api::{
    MetricsEndpoint,
    health::{self, Dependencies},
};
use confab_consumers::{ProjectionHandle, ProjectionRunner, analytics::ANALYTICS};
use confab_readmodels::LiveReadModels;
use confab_schemas::Codec;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;

/// Starts the analytics consumer: a runner of its own, into its own store.
fn start_analytics(
    backend: &Backend,
    codec: &Arc<Codec>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(ProjectionHandle, JoinHandle<()>)> {
    let consumer = ANALYTICS.build(&backend.sinks(&backend.read_models))?;
    let (mut runner, handle) = ProjectionRunner::new(Arc::clone(&backend.log), Arc::clone(codec), consumer);
    if let Some(checkpoints) = &backend.read_models.checkpoints {
        runner = runner.with_checkpoints(Arc::clone(checkpoints));
    }
    Ok((handle, tokio::spawn(runner.run(shutdown.clone()))))
}

/// Serves `/healthz` and `/readyz` for workers on `address` (if any) until a signal.
async fn serve_health_until_signal(
    backend: &Backend,
    projections: Vec<ProjectionHandle>,
    read_models: Option<LiveReadModels>,
    address: Option<SocketAddr>,
) -> anyhow::Result<()> {
    match address {
        Some(address) => {
            let dependencies = Dependencies {
                log: Arc::clone(&backend.log),
                store: Arc::clone(&backend.read_models.users),
                projections,
                read_models,
            };
            let listener = bind(address).await?;
            let metrics = MetricsEndpoint::new(crate::metrics::handle()?, None);
            axum::serve(listener, health::router(dependencies, metrics)).with_graceful_shutdown(signal()).await?;
        }
        None => {
            println!("confab consuming");
            signal().await;
        }
    }
    Ok(())
}

async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "confab serving http");
    // Scripts and tests read this line to find the port.
    println!("confab listening on http://{address}");
    Ok(listener)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => drop(s.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
