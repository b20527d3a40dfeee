//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its job). On the public API
//! `/readyz` tells anyone only whether each check passed; what failed and how, and the offsets
//! applied, go to admins (`--admins`, by bearer token) and to a worker's health listener, which
//! is bound where only operators reach it.
use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::get,
};
use confab_consumers::ProjectionHandle;
use confab_eventlog::EventLog;
use confab_readmodels::{LiveReadModels, UserStore};
use confab_schemas::Topic;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState, MetricsEndpoint, extract::bearer_header};

/// What a process depends on: the log, the store, and the projections it runs or follows.
#[derive(Clone)]
pub struct Dependencies {
    pub log: Arc<dyn EventLog>,
    pub store: Arc<dyn UserStore>,
    pub projections: Vec<ProjectionHandle>,
    /// The read models in use, when the process has any: which generation they are.
    pub read_models: Option<LiveReadModels>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReadinessReport {
    /// `ready` or `not_ready`.
    status: &'static str,
    log: Check,
    store: Check,
    /// One check per projection.
    projections: BTreeMap<String, Check>,
    /// The generation of read models this process reads and writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<u32>,
}

impl ReadinessReport {
    /// Whether each check passed, and nothing more.
    fn redacted(self) -> Self {
        Self {
            status: self.status,
            log: self.log.redacted(),
            store: self.store.redacted(),
            projections: self.projections.into_iter().map(|(name, check)| (name, check.redacted())).collect(),
            generation: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// For a projection running in this process: `topic/partition` -> the next offset it will
    /// apply, for the partitions its group has committed or it has applied since it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<BTreeMap<String, u64>>,
}

impl Check {
    fn redacted(self) -> Self {
        Self { ok: self.ok, error: None, applied: None }
    }

    fn from<E: ToString>(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Self { ok: true, error: None, applied: None },
            Err(e) => Self { ok: false, error: Some(e.to_string()), applied: None },
        }
    }
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "log and store reachable, projections running; each check's error and the offsets applied only for an admin's bearer token", body = ReadinessReport),
        (status = 503, description = "not ready; the body says which check failed (and, for an admin, how)", body = ReadinessReport),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>, headers: HeaderMap) -> (StatusCode, Json<ReadinessReport>) {
    let (status, Json(report)) = state.dependencies.check().await;
    let caller = bearer_header(&headers).ok().flatten().and_then(|token| state.authenticate(token).ok());
    if caller.is_some_and(|caller| state.use_cases.is_admin(&caller)) {
        return (status, Json(report));
    }
    (status, Json(report.redacted()))
}

impl Dependencies {
    pub(crate) async fn check(&self) -> (StatusCode, Json<ReadinessReport>) {
        let log = Check::from(self.log.end_offsets(Topic::Users.name()).await.map(drop));
        // The live generation's store when the process follows one, so a switch moves the check too.
        let store = match &self.read_models {
            Some(live) => Check::from(live.now().users.ping().await),
            None => Check::from(self.store.ping().await),
        };
        let mut projections = BTreeMap::new();
        for handle in &self.projections {
            let mut check = Check::from(handle.check().await);
            check.applied = handle.applied().map(|applied| {
                applied.into_iter().map(|((topic, partition), next)| (format!("{topic}/{partition}"), next)).collect()
            });
            let _ = projections.insert(handle.name().to_owned(), check);
        }
        let ready = log.ok && store.ok && projections.values().all(|c| c.ok);
        let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        let generation = self.read_models.as_ref().map(LiveReadModels::generation);
        let report =
            ReadinessReport { status: if ready { "ready" } else { "not_ready" }, log, store, projections, generation };
        (status, Json(report))
    }
}

/// `/healthz`, `/readyz` and `/metrics` alone, for workers.
pub fn router(dependencies: Dependencies, metrics: MetricsEndpoint) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::serve).with_state(metrics))
        .route("/readyz", get(async |State(d): State<Dependencies>| d.check().await))
        .fallback(async || ApiError::not_found("not_found", "no such endpoint"))
        .with_state(dependencies)
}
