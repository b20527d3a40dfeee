//! The HTTP API of `serve` and `api`: its arguments, and wiring the use cases, the read models
//! and the WebSocket hub into the router.
use std::{collections::HashSet, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use axum::serve::ListenerExt;
use base64::{Engine, engine::general_purpose::STANDARD};
use clap::Args;
use confab_api::{
    AppState, BoundedListener, CorsOrigin, Counted, MetricsEndpoint, ProjectionWaits,
    health::Dependencies,
    live::{Hub, LiveSettings, Presence, PresenceSettings, signals},
    push::VapidKey,
};
use confab_consumers::{
    ProjectionHandle,
    notifier::{NotificationSink, Notifier},
    revocations::{self, Revocations, SessionEndSink},
};
use confab_eventlog::{InProcessSignals, LogSignals, SignalBus};
use confab_producers::{
    AttachmentLimits, DataKeys, EventPublisher, Keyring, Limits, Opener, PasswordHasher, PushEndpoints, Quoter,
    RateLimits, TokenKeys, UseCases,
};
use confab_readmodels::{KeyCache, LiveReadModels};
use confab_schemas::{Codec, SIGNALS_TOPIC, Topic};
use rand::RngCore;
use tokio_util::sync::CancellationToken;

use super::{bind, limits::LimitArgs, signal};
use crate::{
    args::BackendArgs,
    backend::Backend,
    backend::keyring_spec,
    scratch::sweep_scratch,
    secrets::{check_jwt_secret, load_or_create, private_dir},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Address the HTTP API listens on; port 0 picks a free port.
    #[arg(long, env = "CONFAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// HS256 signing secret for tokens; generated into the data dir when absent (embedded only:
    /// processes that share a Kafka log must share it).
    #[arg(long, env = "CONFAB_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
    /// The URL clients reach this process at, the base of the signed attachment URLs of the
    /// embedded object store (default: `http://` and the listening address).
    #[arg(long, env = "CONFAB_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Largest attachment, in bytes.
    #[arg(long, env = "CONFAB_ATTACHMENT_MAX_BYTES", default_value_t = 100 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) attachment_max_bytes: u64,
    /// How long an attachment's upload URL works.
    #[arg(long, env = "CONFAB_ATTACHMENT_UPLOAD_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) attachment_upload_ttl_secs: u64,
    /// Uploads one user may have requested and not finished (nor let expire).
    #[arg(long, env = "CONFAB_ATTACHMENT_MAX_PENDING", default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub(crate) attachment_max_pending: usize,
    /// Bytes those may add up to.
    #[arg(long, env = "CONFAB_ATTACHMENT_MAX_PENDING_BYTES", default_value_t = 1024 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) attachment_max_pending_bytes: u64,
    /// How long an attachment's download URL works.
    #[arg(long, env = "CONFAB_ATTACHMENT_DOWNLOAD_TTL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub(crate) attachment_download_ttl_secs: u64,
    /// Users with the admin role, who may read `/analytics/summary`: user ids, or usernames of
    /// accounts that exist when the process starts (a name registered later grants nothing).
    #[arg(long, env = "CONFAB_ADMINS", value_delimiter = ',')]
    pub(crate) admins: Vec<String>,
    /// Lifetime of access tokens. Each API process keeps the sessions ended within this long in
    /// memory (read from the log at start), so that a revoked token is refused before it expires.
    #[arg(long, env = "CONFAB_TOKEN_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub(crate) token_ttl_secs: i64,
    /// How long a refresh token works unused; each exchange gives a new one that works as long.
    #[arg(long, env = "CONFAB_REFRESH_TTL_SECS", default_value_t = 30 * 86_400, value_parser = clap::value_parser!(i64).range(60..=365 * 86_400))]
    pub(crate) refresh_ttl_secs: i64,
    /// Whether users may find others by the start of their username (`GET /users?prefix=`).
    #[arg(long, env = "CONFAB_USER_SEARCH", value_enum, default_value_t = Toggle::On)]
    pub(crate) user_search: Toggle,
    /// How long a write waits for its projection before answering without read-your-writes.
    #[arg(long, env = "CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", default_value_t = 5000)]
    pub(crate) read_your_writes_timeout_ms: u64,
    /// Most members a group may have, its creator included.
    #[arg(long, env = "CONFAB_GROUP_MEMBER_LIMIT", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=100_000))]
    pub(crate) group_member_limit: usize,
    /// How long after sending a message its sender may edit it, in seconds (default 48 hours);
    /// 0: forever.
    #[arg(long, env = "CONFAB_EDIT_WINDOW_SECS", default_value_t = 172_800, value_parser = clap::value_parser!(u32).range(0..=315_360_000))]
    pub(crate) edit_window_secs: u32,
    /// Frames a WebSocket connection may have queued; a client further behind is disconnected
    /// (close code 4001) and resumes with its cursor.
    #[arg(long, env = "CONFAB_WS_QUEUE_FRAMES", default_value_t = 1024, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) ws_queue_frames: usize,
    /// Seconds between WebSocket pings; a connection silent for two is dropped.
    #[arg(long, env = "CONFAB_WS_PING_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) ws_ping_secs: u64,
    /// Web origins that may call the API from a browser, besides its own (`https://chat.example.com`,
    /// comma-separated; `*` for any). None by default.
    #[arg(long, env = "CONFAB_CORS_ORIGINS", value_delimiter = ',', value_parser = CorsOrigin::parse)]
    pub(crate) cors_origins: Vec<CorsOrigin>,
    /// A secret `GET /metrics` then asks for as a bearer token (Prometheus's `authorization`
    /// scrape setting); without it the metrics are open to whoever reaches the API.
    #[arg(long, env = "CONFAB_METRICS_TOKEN", hide_env_values = true)]
    pub(crate) metrics_token: Option<String>,
    /// How long after a user's last connection closes they still show online, in
    /// milliseconds: a reconnect within it (a network change, a page reload) shows nothing.
    #[arg(long, env = "CONFAB_PRESENCE_GRACE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub(crate) presence_grace_ms: u64,
    #[command(flatten)]
    pub(crate) push: PushArgs,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// How this deployment sends push notifications: its VAPID identity, and where it may send.
#[derive(Debug, Clone, Args)]
pub(crate) struct PushArgs {
    /// The VAPID private key (base64url, 32 bytes; `confab vapid-key` makes one): generated into
    /// the data dir when absent (embedded only: every process of a Kafka deployment needs the
    /// same one, and without it Web Push is off; webhooks still work).
    #[arg(long, env = "CONFAB_VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub(crate) vapid_private_key: Option<String>,
    /// The contact VAPID tokens give push services' operators: `mailto:` or `https:`.
    #[arg(long, env = "CONFAB_VAPID_SUBJECT", default_value = "mailto:push@confab.invalid")]
    pub(crate) vapid_subject: String,
    /// Let push targets name plain `http://` and private or loopback addresses: for a push
    /// gateway beside the server, or a test push service. Off on the open internet.
    #[arg(long, env = "CONFAB_PUSH_ALLOW_PRIVATE", value_enum, default_value_t = Toggle::Off)]
    pub(crate) push_allow_private: Toggle,
}

impl PushArgs {
    /// The VAPID key pair: the configured one, or on one box the one in the data dir.
    pub(crate) fn vapid(&self, dir: &std::path::Path, embedded: bool) -> anyhow::Result<Option<Arc<VapidKey>>> {
        let private = match (&self.vapid_private_key, embedded) {
            (Some(key), _) => key.clone(),
            (None, true) => {
                private_dir(dir)?;
                load_or_create(dir, "vapid.key", VapidKey::generate)?
            }
            (None, false) => return Ok(None),
        };
        let key = VapidKey::from_private(&private, &self.vapid_subject).context("--vapid-private-key")?;
        Ok(Some(Arc::new(key)))
    }
}

/// How often an API process tells the others it is alive; one unheard for four of these is gone.
const ALIVE_EVERY: Duration = Duration::from_secs(5);

/// How often the rate limiters forget clients that are back to a full allowance.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// Serves the HTTP API until a signal. `projections` are the read-model projections writes wait
/// for (run here, or followed through checkpoints); `workers` the other consumers in this
/// process, for readiness.
pub(crate) async fn run_http(
    args: &ServeArgs,
    backend: Backend,
    live: LiveReadModels,
    codec: Arc<Codec>,
    projections: Vec<ProjectionHandle>,
    workers: Vec<ProjectionHandle>,
    with_push: bool,
) -> anyhow::Result<()> {
    let mut state = api_state(args, &backend, &live, Arc::clone(&codec), projections, workers).await?;
    let shutdown = CancellationToken::new();
    let pusher = if with_push {
        let (handle, worker) = super::push::start(&state, args, &backend.log, &live, &codec, &shutdown).await?;
        state.dependencies.projections.push(handle);
        Some(worker)
    } else {
        None
    };
    let use_cases = Arc::clone(&state.use_cases);
    let notifier = Notifier::new(Arc::clone(&backend.log), codec, live);
    let notifier = notifier
        .start(Arc::clone(&state.hub) as Arc<dyn NotificationSink>, shutdown.clone())
        .await
        .context("cannot start the notifier")?;
    let revocations = follow_revocations(&state, &backend, shutdown.clone()).await?;
    let signals = tokio::spawn(signals::follow(
        Arc::clone(&state.presence),
        Arc::clone(&state.hub),
        Arc::clone(&state.use_cases),
        shutdown.clone(),
    ));
    let listener = bind(args.listen).await?;
    if let Some(objects) = &backend.objects.embedded {
        let public_url = match &args.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        objects.set_public_url(&public_url);
    }
    let sweeper =
        backend.objects.embedded.clone().map(|objects| tokio::spawn(sweep_scratch(objects, shutdown.clone())));
    let forgetting = tokio::spawn(forget_idle_clients(use_cases, shutdown.clone()));
    let listener = BoundedListener::new(listener, args.limits.connections(), args.limits.trusted_proxies())
        .tap_io(Counted::no_delay);
    let app = confab_api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(signal()).await;
    shutdown.cancel();
    forgetting.await?;
    notifier.await?;
    revocations.await?;
    signals.await?;
    if let Some(pusher) = pusher {
        pusher.await?;
    }
    if let Some(sweeper) = sweeper {
        sweeper.await?;
    }
    Ok(served?)
}

/// Starts following the sessions that end, into the state's revocations, closing their sockets;
/// returns once it has read what the log held, so no revoked token is taken after a restart.
pub(crate) async fn follow_revocations(
    state: &AppState,
    backend: &Backend,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let codec = Arc::new(Codec::new()?);
    let sink = Arc::clone(&state.hub) as Arc<dyn SessionEndSink>;
    revocations::follow(Arc::clone(&backend.log), codec, Arc::clone(&state.revocations), sink, shutdown)
        .await
        .context("cannot read the sessions that ended")
}

/// The API's state: the use cases over `backend` and `live`, tokens, the WebSocket hub (fed by
/// a notifier the caller starts, if it serves sockets) and the HTTP limits.
pub(crate) async fn api_state(
    args: &ServeArgs,
    backend: &Backend,
    live: &LiveReadModels,
    codec: Arc<Codec>,
    projections: Vec<ProjectionHandle>,
    workers: Vec<ProjectionHandle>,
) -> anyhow::Result<AppState> {
    let dir = &args.backend.data_dir;
    let embedded = backend.is_embedded();
    let (jwt_secret, keyring_spec) = match (&args.jwt_secret, keyring_spec(&args.backend, embedded)?, embedded) {
        (Some(secret), Some(keys), _) => (secret.clone(), keys),
        (None, Some(keys), true) => {
            private_dir(dir)?;
            (load_or_create(dir, "jwt.secret", random_secret)?, keys)
        }
        _ => bail!("with a kafka log, every API process needs the same --jwt-secret and --master-keys"),
    };
    check_jwt_secret(&jwt_secret)?;
    let dependencies = Dependencies {
        log: Arc::clone(&backend.log),
        store: Arc::clone(&live.now().users),
        read_models: Some(live.clone()),
        projections: projections.iter().cloned().chain(workers).collect(),
    };
    let keyring = Arc::new(Keyring::parse(&keyring_spec)?);
    let tokens = Arc::new(TokenKeys::new(jwt_secret.as_bytes(), args.token_ttl_secs, args.refresh_ttl_secs));
    let data_keys = DataKeys::new(Arc::clone(&keyring), KeyCache::new(Arc::clone(&backend.data_keys)));
    let quoter = Quoter::new(live.clone(), Opener::new(Arc::clone(&keyring), data_keys.clone()));
    let hub = Arc::new(Hub::new(quoter, args.ws_queue_frames, args.limits.ws_max_per_user));
    let bus: Arc<dyn SignalBus> = if embedded {
        Arc::new(InProcessSignals::new())
    } else {
        Arc::new(LogSignals::start(Arc::clone(&backend.log), SIGNALS_TOPIC).await.context("cannot follow the signals")?)
    };
    let presence_settings =
        PresenceSettings { grace: Duration::from_millis(args.presence_grace_ms), alive_every: ALIVE_EVERY };
    let presence = Arc::new(Presence::new(bus, presence_settings));
    let token_ttl = Duration::from_secs(u64::try_from(args.token_ttl_secs).unwrap_or(u64::MAX));
    let revocations = Arc::new(Revocations::new(token_ttl, data_keys.cache().clone()));
    // A session ended through this process is refused by its very next request.
    let waits = ProjectionWaits::new(projections, Duration::from_millis(args.read_your_writes_timeout_ms))
        .also_waiting_for(&[Topic::Users], revocations.progress());
    let limits = Limits {
        group_member_limit: args.group_member_limit,
        edit_window_ms: i64::from(args.edit_window_secs) * 1000,
        attachments: AttachmentLimits {
            max_bytes: args.attachment_max_bytes,
            upload_ttl: Duration::from_secs(args.attachment_upload_ttl_secs),
            download_ttl: Duration::from_secs(args.attachment_download_ttl_secs),
            max_pending: args.attachment_max_pending,
            max_pending_bytes: args.attachment_max_pending_bytes,
        },
        user_search: args.user_search == Toggle::On,
        push_endpoints: PushEndpoints { allow_private: args.push.push_allow_private == Toggle::On },
    };
    let admins = admin_ids(&args.admins, live).await?;
    let use_cases = UseCases {
        publisher: EventPublisher::new(Arc::clone(&backend.log), codec),
        read_models: live.clone(),
        keyring,
        data_keys,
        tokens: Arc::clone(&tokens),
        objects: Arc::clone(&backend.objects.store),
        projected: Arc::new(waits),
        limits,
        rate_limits: RateLimits::new(&args.limits.rate_specs()),
        passwords: PasswordHasher::new(args.limits.password_hash_threads(), args.limits.password_hash_queue)
            .context("cannot start the password hashing threads")?,
        analytics: Arc::clone(&backend.analytics),
        admins,
    };
    Ok(AppState {
        use_cases: Arc::new(use_cases),
        tokens,
        revocations,
        dependencies,
        hub,
        presence,
        vapid: args.push.vapid(dir, embedded)?,
        live: LiveSettings { ping_interval: Duration::from_secs(args.ws_ping_secs), resume: args.limits.resume() },
        http: args.limits.http(),
        trusted_proxies: args.limits.trusted_proxies(),
        embedded_objects: backend.objects.embedded.clone(),
        cors_origins: args.cors_origins.clone(),
        metrics: MetricsEndpoint::new(crate::metrics::handle()?, args.metrics_token.clone()),
    })
}

async fn forget_idle_clients(use_cases: Arc<UseCases>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(FORGET_IDLE_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => use_cases.rate_limits.forget_idle(),
            () = shutdown.cancelled() => return,
        }
    }
}

/// The user ids the `--admins` entries name. A username counts only if its account exists now:
/// otherwise whoever registered it first would be an admin.
async fn admin_ids(entries: &[String], live: &LiveReadModels) -> anyhow::Result<HashSet<String>> {
    let mut ids = HashSet::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if let Ok(id) = uuid::Uuid::parse_str(entry) {
            let _ = ids.insert(id.to_string());
            continue;
        }
        match live.now().users.user_by_name(&entry.to_lowercase()).await.context("cannot look up the admins")? {
            Some(user) => drop(ids.insert(user.user_id)),
            None => tracing::warn!(admin = entry, "no such user: this --admins entry grants nothing"),
        }
    }
    Ok(ids)
}

/// A feature a deployment turns on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Toggle {
    On,
    Off,
}
