//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its job).
use std::collections::BTreeMap;

use axum::{Json, extract::State, http::StatusCode};
use confab_schemas::Topic;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    log: Check,
    store: Check,
    /// One check per projection.
    projections: BTreeMap<String, Check>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn from<E: ToString>(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Self { ok: true, error: None },
            Err(e) => Self { ok: false, error: Some(e.to_string()) },
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
        (status = 200, description = "log and store reachable, projections running", body = Readiness),
        (status = 503, description = "not ready; the body says which check failed", body = Readiness),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let log = Check::from(state.log.end_offsets(Topic::Users.name()).await.map(drop));
    let store = Check::from(state.users.ping().await);
    let mut projections = BTreeMap::new();
    for handle in [&state.projections.users, &state.projections.messages] {
        let _ = projections.insert(handle.name().to_owned(), Check::from(handle.check().await));
    }
    let ready = log.ok && store.ok && projections.values().all(|c| c.ok);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { status: if ready { "ready" } else { "not_ready" }, log, store, projections }))
}
