//! What every use case can reach. One per process, shared by every request.
use std::{collections::HashSet, sync::Arc};

use confab_eventlog::Position;
use confab_objects::ObjectStore;
use confab_readmodels::{AnalyticsStore, LiveReadModels, MemberRow, ReadModels, Sight};

use crate::{
    AttachmentLimits, Caller, ChatError, DataKeys, EventPublisher, Keyring, PasswordHasher, Projected, PushEndpoints,
    RateLimits, TokenKeys,
};

/// The limits a deployment sets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most members a group may have, its creator included.
    pub group_member_limit: usize,
    pub attachments: AttachmentLimits,
    /// Whether users may search for others by the start of their username.
    pub user_search: bool,
    /// How long after sending a message its sender may edit it, in milliseconds; 0: forever.
    pub edit_window_ms: i64,
    /// Which push endpoints and gateways targets may name.
    pub push_endpoints: PushEndpoints,
}

pub struct UseCases {
    pub publisher: EventPublisher,
    /// The live generation of read models: every use case takes one snapshot and reads it.
    pub read_models: LiveReadModels,
    /// Seals what is not erased with its writer (`/encrypt`), and opens what was sealed before
    /// data keys.
    pub keyring: Arc<Keyring>,
    /// Seal message content and attachment names: destroyed with their writer's account.
    pub data_keys: DataKeys,
    pub tokens: Arc<TokenKeys>,
    /// Where attachment bytes live; use cases only sign URLs for them.
    pub objects: Arc<dyn ObjectStore>,
    pub projected: Arc<dyn Projected>,
    pub limits: Limits,
    /// How often each caller may do each thing.
    pub rate_limits: RateLimits,
    pub passwords: PasswordHasher,
    /// The analytics consumer's numbers.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// User ids with the admin role.
    pub admins: HashSet<String>,
}

impl UseCases {
    /// The read models this call reads throughout.
    pub(crate) fn read(&self) -> Arc<ReadModels> {
        self.read_models.now()
    }

    /// From where in the group's message order `member` sees it: the one rule
    /// ([`confab_readmodels::Sight`]), read from this call's read models.
    pub(crate) async fn sight_of(&self, member: &MemberRow) -> Result<Sight, ChatError> {
        Ok(confab_readmodels::sight(self.read().messages.as_ref(), member).await?)
    }

    /// Waits until the write at `position` is readable; the write is durable either way, so a
    /// slow projection only delays visibility.
    pub(crate) async fn read_your_write(&self, position: &Position) {
        let _ = self.caught_up(position).await;
    }

    /// As [`UseCases::read_your_write`]; true if the projections applied the write in time, so
    /// what they decided of it can be read.
    pub(crate) async fn caught_up(&self, position: &Position) -> bool {
        let projected = self.projected.wait(position).await;
        if !projected {
            tracing::warn!(
                topic = %position.topic,
                partition = position.partition,
                offset = position.offset,
                "projection did not catch up in time; answering without read-your-writes"
            );
        }
        projected
    }

    /// Whether `caller` is one of the operators named at start-up (`--admins`): they read the
    /// analytics and the full readiness report.
    pub fn is_admin(&self, caller: &Caller) -> bool {
        self.admins.contains(&caller.sub)
    }
}
