//! The analytics consumer's numbers, for the admins named at start-up.
use confab_readmodels::analytics::{Summary, day_range, summary};

use crate::{Caller, ChatError, UseCases};

impl UseCases {
    /// The numbers from `from` to `to` (days, `YYYY-MM-DD`, UTC; by default the 30 days up to
    /// today), if the caller is an admin.
    pub async fn analytics_summary(
        &self,
        caller: &Caller,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Summary, ChatError> {
        if !self.is_admin(caller) {
            return Err(ChatError::forbidden("not_an_admin", "analytics are for admins (--admins)"));
        }
        let (from, to) = day_range(from, to).map_err(|e| ChatError::invalid("invalid_range", e))?;
        Ok(summary(self.analytics.as_ref(), &from, &to).await?)
    }
}
