//! What every handler can reach. Cheap to clone.
use std::sync::Arc;

use confab_objects::embedded::EmbeddedObjects;
use confab_producers::{TokenKeys, UseCases};

use crate::{
    CorsOrigin, HttpLimits, MetricsEndpoint, TrustedProxies,
    health::Dependencies,
    live::{Hub, LiveSettings},
};

#[derive(Clone)]
pub struct AppState {
    /// Every write, and every rule about who may read what.
    pub use_cases: Arc<UseCases>,
    /// Verifies bearer tokens.
    pub tokens: Arc<TokenKeys>,
    pub dependencies: Dependencies,
    /// This process's WebSocket connections, fed by its notifier.
    pub hub: Arc<Hub>,
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
