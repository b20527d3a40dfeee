//! What every handler can reach. Cheap to clone.
use std::{collections::HashSet, sync::Arc};

use confab_objects::embedded::EmbeddedObjects;
use confab_producers::{Keyring, TokenKeys, UseCases};
use confab_readmodels::{AnalyticsStore, LiveReadModels};

use crate::{
    HttpLimits, TrustedProxies,
    health::Dependencies,
    live::{Hub, LiveSettings},
};

#[derive(Clone)]
pub struct AppState {
    /// Every write, and every rule about who may read what.
    pub use_cases: Arc<UseCases>,
    /// The live read models the queries read: one snapshot per request.
    pub read_models: LiveReadModels,
    /// Verifies bearer tokens.
    pub tokens: Arc<TokenKeys>,
    /// Opens sealed content for the caller's answer.
    pub keyring: Arc<Keyring>,
    pub dependencies: Dependencies,
    /// This process's WebSocket connections, fed by its notifier.
    pub hub: Arc<Hub>,
    pub live: LiveSettings,
    /// What one HTTP request may cost.
    pub http: HttpLimits,
    /// The analytics consumer's numbers.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// User ids with the admin role.
    pub admins: HashSet<String>,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The embedded object store, whose URLs this process serves; None on S3.
    pub embedded_objects: Option<EmbeddedObjects>,
}
