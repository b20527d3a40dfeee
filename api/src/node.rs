//! Wires the embedded backend: log, read models, projections and the API state, in one process.
use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use confab_consumers::{
    ProjectionRunner,
    projection::{MessagesProjection, UsersProjection},
    store::embedded::EmbeddedStore,
};
use confab_eventlog::{EventLog, embedded::EmbeddedLog};
use confab_producers::{EventPublisher, topic_specs};
use confab_schemas::Codec;
use rand::RngCore;
use tokio_util::sync::CancellationToken;

use crate::{
    AppState, auth::token::TokenKeys, cli::ServeArgs, crypto::Keyring, routes,
    secrets::load_or_create, state::Projections,
};

pub(crate) const LOG_FILE: &str = "log.redb";
pub(crate) const STORE_FILE: &str = "readmodels.redb";

/// Opens the embedded log in `dir`. Another process holding it is reported, not waited for.
pub(crate) async fn open_log(dir: &Path) -> anyhow::Result<Arc<EmbeddedLog>> {
    let path = dir.join(LOG_FILE);
    let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(&path))
        .await?
        .with_context(|| {
            format!(
                "cannot open the event log in {} (is another confab using it?)",
                dir.display()
            )
        })?;
    Ok(Arc::new(log))
}

pub(crate) async fn open_store(dir: &Path) -> anyhow::Result<EmbeddedStore> {
    let path = dir.join(STORE_FILE);
    tokio::task::spawn_blocking(move || EmbeddedStore::open(&path))
        .await?
        .with_context(|| format!("cannot open the read models in {}", dir.display()))
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let dir = &args.data.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    let jwt_secret = match &args.jwt_secret {
        Some(secret) => secret.clone(),
        None => load_or_create(dir, "jwt.secret", random_secret)?,
    };
    let keyring_spec = match &args.master_keys {
        Some(spec) => spec.clone(),
        None => load_or_create(dir, "master.keys", Keyring::generate_spec)?,
    };
    let keyring = Keyring::parse(&keyring_spec)?;

    let log = open_log(dir).await?;
    log.ensure_topics(&topic_specs(args.partitions)).await?;
    let log: Arc<dyn EventLog> = log;
    let store = open_store(dir).await?;
    let codec = Arc::new(Codec::new()?);

    let (users_runner, users) = ProjectionRunner::new(
        Arc::clone(&log),
        Arc::clone(&codec),
        Arc::new(UsersProjection::new(Arc::new(store.clone()))),
    );
    let (messages_runner, messages) = ProjectionRunner::new(
        Arc::clone(&log),
        Arc::clone(&codec),
        Arc::new(MessagesProjection::new(Arc::new(store.clone()))),
    );
    let state = AppState {
        publisher: EventPublisher::new(Arc::clone(&log), codec),
        log,
        users: Arc::new(store.clone()),
        messages: Arc::new(store),
        tokens: Arc::new(TokenKeys::new(jwt_secret.as_bytes(), args.token_ttl_secs)),
        keyring: Arc::new(keyring),
        projections: Projections { users, messages },
        read_your_writes_timeout: Duration::from_millis(args.read_your_writes_timeout_ms),
    };

    let shutdown = CancellationToken::new();
    let workers =
        [users_runner, messages_runner].map(|runner| tokio::spawn(runner.run(shutdown.clone())));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, data_dir = %dir.display(), "confab serving");
    // Scripts and tests read this line to find the port.
    println!("confab listening on http://{address}");

    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(signal())
        .await?;
    shutdown.cancel();
    for worker in workers {
        worker.await?;
    }
    tracing::info!("confab stopped");
    Ok(())
}

async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => drop(s.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
