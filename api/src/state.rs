use std::{sync::Arc, time::Duration};

use confab_consumers::{
    ProjectionHandle,
    analytics::AnalyticsStore,
    store::{AttachmentStore, GroupStore, MessageStore, UserStore},
};
use confab_eventlog::Position;
use confab_objects::{ObjectStore, embedded::EmbeddedObjects};
use confab_producers::EventPublisher;

use crate::{
    auth::token::TokenKeys,
    crypto::Keyring,
    live::{hub::Hub, socket::LiveSettings},
    routes::health::Dependencies,
};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) dependencies: Dependencies,
    pub(crate) publisher: EventPublisher,
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) messages: Arc<dyn MessageStore>,
    pub(crate) groups: Arc<dyn GroupStore>,
    /// Most members a group may have, its creator included.
    pub(crate) group_member_limit: usize,
    pub(crate) tokens: Arc<TokenKeys>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) projections: Projections,
    /// How long a write waits for its projection before answering anyway.
    pub(crate) read_your_writes_timeout: Duration,
    /// This process's WebSocket connections, fed by its notifier.
    pub(crate) hub: Arc<Hub>,
    pub(crate) live: LiveSettings,
    /// The attachment index the indexer keeps.
    pub(crate) attachments: Arc<dyn AttachmentStore>,
    /// Where attachment bytes live; the API only signs URLs for them.
    pub(crate) objects: Arc<dyn ObjectStore>,
    /// The embedded object store, whose URLs this process serves; None on S3.
    pub(crate) embedded_objects: Option<EmbeddedObjects>,
    pub(crate) attachment_limits: AttachmentLimits,
    /// The analytics consumer's numbers.
    pub(crate) analytics: Arc<dyn AnalyticsStore>,
    /// Usernames (lowercase) with the admin role.
    pub(crate) admins: std::collections::HashSet<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttachmentLimits {
    pub(crate) max_bytes: u64,
    pub(crate) upload_ttl: Duration,
    pub(crate) download_ttl: Duration,
}

#[derive(Clone)]
pub(crate) struct Projections {
    pub(crate) users: ProjectionHandle,
    pub(crate) messages: ProjectionHandle,
    pub(crate) groups: ProjectionHandle,
    pub(crate) attachments: ProjectionHandle,
}

impl AppState {
    /// Waits until `projection` has applied the write at `position`, so the caller's next read
    /// sees it. The write is durable either way; a slow projection only delays visibility.
    pub(crate) async fn read_your_write(&self, projection: &ProjectionHandle, position: &Position) {
        if !projection.wait_applied(position, self.read_your_writes_timeout).await {
            tracing::warn!(
                projection = projection.name(),
                topic = %position.topic,
                partition = position.partition,
                offset = position.offset,
                "projection did not catch up in time; answering without read-your-writes"
            );
        }
    }
}
