//! What every handler can reach. Cheap to clone.
use std::sync::Arc;

use confab_consumers::revocations::Revocations;
use confab_objects::embedded::EmbeddedObjects;
use confab_producers::{Caller, TokenKeys, UseCases};

use crate::{
    ApiError, CorsOrigin, HttpLimits, MetricsEndpoint, TrustedProxies,
    health::Dependencies,
    live::{Hub, LiveSettings, Presence},
    push::VapidKey,
};

#[derive(Clone)]
pub struct AppState {
    /// Every write, and every rule about who may read what.
    pub use_cases: Arc<UseCases>,
    /// Verifies bearer tokens.
    pub tokens: Arc<TokenKeys>,
    /// The sessions ended recently: their tokens are refused before they expire.
    pub revocations: Arc<Revocations>,
    pub dependencies: Dependencies,
    /// This process's WebSocket connections, fed by its notifier.
    pub hub: Arc<Hub>,
    /// Who is online, as every API process tells it.
    pub presence: Arc<Presence>,
    /// This deployment's VAPID key pair, if it sends Web Push.
    pub vapid: Option<Arc<VapidKey>>,
    pub live: LiveSettings,
    /// What one HTTP request may cost.
    pub http: HttpLimits,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The embedded object store, whose URLs this process serves; None on S3.
    pub embedded_objects: Option<EmbeddedObjects>,
    /// The process's metrics, served at `/metrics`.
    pub metrics: MetricsEndpoint,
    /// Web origins other than the API's own that may call it from a browser.
    pub cors_origins: Vec<CorsOrigin>,
}

impl AppState {
    /// Who a bearer token says the caller is: one signed here, unexpired, of a session that has
    /// not ended. Every surface that takes a token asks here.
    pub(crate) fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let caller = self.tokens.verify(token).map_err(|e| ApiError::unauthorized(e.to_string()))?;
        if self.revocations.has_ended(&caller.sid) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "session_ended",
                "this session has ended (logged out, revoked, or its password changed); log in again",
            ));
        }
        Ok(caller)
    }
}
