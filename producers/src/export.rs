//! The access right (GDPR article 15): everything the server holds about the caller, read
//! through the same queries as every other read, so an export shows exactly what the caller
//! may see. Reading it all is costly, so it is limited per user.
use crate::{Caller, ChatError, UseCases, rate_limits::UserAction};

impl UseCases {
    /// Whether the caller may start an export now.
    pub fn begin_export(&self, caller: &Caller) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Export, &caller.sub)
    }
}
