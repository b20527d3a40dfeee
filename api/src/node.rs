//! The long-running roles: `serve` (API and projections), `api`, and `consume`.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use confab_consumers::{
    ProjectionHandle, ProjectionRunner,
    analytics::AnalyticsConsumer,
    notifier::{NotificationSink, Notifier},
    store::CheckpointStore,
};
use confab_producers::EventPublisher;
use confab_schemas::Codec;
use rand::RngCore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    AppState,
    auth::token::TokenKeys,
    backend::{Backend, connect, keyring_spec},
    cli::{AnalyticsRunArgs, ConsumeArgs, ProjectionName, ServeArgs},
    crypto::Keyring,
    current::CurrentStores,
    live::{hub::Hub, socket::LiveSettings},
    routes::{self, health, health::Dependencies},
    scratch::sweep_scratch,
    secrets::load_or_create,
    state::{AttachmentLimits, Projections},
    workers::{self, Workers},
};

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let (workers, handles) = Workers::start(&backend, &codec, &ProjectionName::ALL);
    let (analytics, analytics_worker) = start_analytics(&backend, &codec, &shutdown);
    let handle = |wanted| handles.iter().find(|(n, _)| *n == wanted).map(|(_, h)| h.clone());
    let projections = Projections {
        users: handle(ProjectionName::Users).context("users projection")?,
        messages: handle(ProjectionName::Messages).context("messages projection")?,
        groups: handle(ProjectionName::Groups).context("groups projection")?,
        attachments: handle(ProjectionName::Attachments).context("attachment indexer")?,
    };
    let current = CurrentStores::new(backend.generation, backend.stores.clone());
    let follower = workers::follow(&args.backend, &current, Some(&workers), &shutdown);
    let result = run_http(&args, backend, current, codec, projections, vec![analytics]).await;
    shutdown.cancel();
    follower.await?;
    analytics_worker.await?;
    workers.stop().await;
    tracing::info!("confab stopped");
    result
}

/// Starts the analytics consumer: a runner of its own, into its own store.
pub(crate) fn start_analytics(
    backend: &Backend,
    codec: &Arc<Codec>,
    shutdown: &CancellationToken,
) -> (ProjectionHandle, JoinHandle<()>) {
    let consumer = Arc::new(AnalyticsConsumer::new(Arc::clone(&backend.analytics)));
    let (mut runner, handle) = ProjectionRunner::new(Arc::clone(&backend.log), Arc::clone(codec), consumer);
    if let Some(checkpoints) = backend.stores.checkpoints() {
        runner = runner.with_checkpoints(checkpoints);
    }
    (handle, tokio::spawn(runner.run(shutdown.clone())))
}

/// `confab analytics`: the analytics consumer alone (Kafka backend).
pub(crate) async fn analytics(args: AnalyticsRunArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: `confab serve` runs the analytics consumer");
    }
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let (handle, worker) = start_analytics(&backend, &codec, &shutdown);
    tracing::info!("confab analytics consuming");
    serve_health_until_signal(&backend, vec![handle], None, args.health_listen).await?;
    shutdown.cancel();
    worker.await?;
    tracing::info!("confab stopped");
    Ok(())
}

/// Serves `/healthz` and `/readyz` for workers on `address` (if any) until a signal.
async fn serve_health_until_signal(
    backend: &Backend,
    projections: Vec<ProjectionHandle>,
    read_models: Option<CurrentStores>,
    address: Option<SocketAddr>,
) -> anyhow::Result<()> {
    match address {
        Some(address) => {
            let dependencies =
                Dependencies { log: Arc::clone(&backend.log), store: backend.stores.users(), projections, read_models };
            let listener = bind(address).await?;
            axum::serve(listener, health::router(dependencies)).with_graceful_shutdown(signal()).await?;
        }
        None => {
            println!("confab consuming");
            signal().await;
        }
    }
    Ok(())
}

pub(crate) async fn api(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: use `confab serve`");
    }
    let current = CurrentStores::new(backend.generation, backend.stores.clone());
    // The live generation's checkpoints, whichever that is when a write waits.
    let checkpoints: Arc<dyn CheckpointStore> = Arc::new(current.clone());
    let projections = Projections {
        users: ProjectionHandle::remote("users", Arc::clone(&checkpoints)),
        messages: ProjectionHandle::remote("messages", Arc::clone(&checkpoints)),
        groups: ProjectionHandle::remote("groups", Arc::clone(&checkpoints)),
        attachments: ProjectionHandle::remote("attachments", checkpoints),
    };
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let follower = workers::follow(&args.backend, &current, None, &shutdown);
    let result = run_http(&args, backend, current, codec, projections, Vec::new()).await;
    shutdown.cancel();
    follower.await?;
    result
}

pub(crate) async fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: use `confab serve`");
    }
    let names = if args.projections.is_empty() { ProjectionName::ALL.to_vec() } else { args.projections.clone() };
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let (workers, handles) = Workers::start(&backend, &codec, &names);
    let current = CurrentStores::new(backend.generation, backend.stores.clone());
    let follower = workers::follow(&args.backend, &current, Some(&workers), &shutdown);
    tracing::info!(projections = ?names, "confab consuming");
    let handles = handles.into_iter().map(|(_, handle)| handle).collect();
    serve_health_until_signal(&backend, handles, Some(current), args.health_listen).await?;
    shutdown.cancel();
    follower.await?;
    workers.stop().await;
    tracing::info!("confab stopped");
    Ok(())
}

/// The HTTP API; `workers` are the other consumers in this process, for readiness.
async fn run_http(
    args: &ServeArgs,
    backend: Backend,
    current: CurrentStores,
    codec: Arc<Codec>,
    projections: Projections,
    workers: Vec<ProjectionHandle>,
) -> anyhow::Result<()> {
    let dir = &args.backend.data_dir;
    let embedded = backend.is_embedded();
    let (jwt_secret, keyring_spec) = match (&args.jwt_secret, keyring_spec(&args.backend, embedded)?, embedded) {
        (Some(secret), Some(keys), _) => (secret.clone(), keys),
        (None, Some(keys), true) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create data dir {}", dir.display()))?;
            (load_or_create(dir, "jwt.secret", random_secret)?, keys)
        }
        _ => bail!("with a kafka log, every API process needs the same --jwt-secret and --master-keys"),
    };
    let dependencies = Dependencies {
        log: Arc::clone(&backend.log),
        store: Arc::new(current.clone()),
        read_models: Some(current.clone()),
        projections: vec![
            projections.users.clone(),
            projections.messages.clone(),
            projections.groups.clone(),
            projections.attachments.clone(),
        ]
        .into_iter()
        .chain(workers)
        .collect(),
    };
    let keyring = Arc::new(Keyring::parse(&keyring_spec)?);
    let hub = Arc::new(Hub::new(Arc::clone(&keyring), args.ws_queue_frames));
    let notifier = Notifier::new(Arc::clone(&backend.log), Arc::clone(&codec), Arc::new(current.clone()));
    let shutdown = CancellationToken::new();
    let notifier = notifier
        .start(Arc::clone(&hub) as Arc<dyn NotificationSink>, shutdown.clone())
        .await
        .context("cannot start the notifier")?;
    let state = AppState {
        publisher: EventPublisher::new(Arc::clone(&backend.log), codec),
        dependencies,
        users: Arc::new(current.clone()),
        messages: Arc::new(current.clone()),
        groups: Arc::new(current.clone()),
        group_member_limit: args.group_member_limit,
        tokens: Arc::new(TokenKeys::new(jwt_secret.as_bytes(), args.token_ttl_secs)),
        keyring,
        projections,
        read_your_writes_timeout: Duration::from_millis(args.read_your_writes_timeout_ms),
        hub,
        live: LiveSettings { ping_interval: Duration::from_secs(args.ws_ping_secs) },
        attachments: Arc::new(current),
        analytics: Arc::clone(&backend.analytics),
        admins: args.admins.iter().map(|name| name.trim().to_lowercase()).collect(),
        objects: backend.objects.store(),
        embedded_objects: backend.objects.embedded().cloned(),
        attachment_limits: AttachmentLimits {
            max_bytes: args.attachment_max_bytes,
            upload_ttl: Duration::from_secs(args.attachment_upload_ttl_secs),
            download_ttl: Duration::from_secs(args.attachment_download_ttl_secs),
        },
    };
    let listener = bind(args.listen).await?;
    if let Some(objects) = backend.objects.embedded() {
        let public_url = match &args.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        objects.set_public_url(&public_url);
    }
    let sweeper =
        backend.objects.embedded().map(|objects| tokio::spawn(sweep_scratch(objects.clone(), shutdown.clone())));
    let served = axum::serve(listener, routes::router(state)).with_graceful_shutdown(signal()).await;
    shutdown.cancel();
    notifier.await?;
    if let Some(sweeper) = sweeper {
        sweeper.await?;
    }
    Ok(served?)
}

async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "confab serving http");
    // Scripts and tests read this line to find the port.
    println!("confab listening on http://{address}");
    Ok(listener)
}

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
