//! Deleting an account: with the password, the account becomes no one at once. Its sessions end
//! on every API process, it cannot log in, its profile is cleared, no one can reach or add it,
//! and its username stays taken (the name's claim is never released, so no one else can pose
//! as it in the history of the people it talked to).
use std::net::IpAddr;

use confab_readmodels::UserRow;
use confab_schemas::{AccountDeleted, AccountDeletedPayload, Event};
use uuid::Uuid;

use crate::{Caller, ChatError, UseCases, time::now_ms};

impl UseCases {
    /// Deletes the caller's account if `password` is theirs (a wrong one counts as a failed
    /// login of the account).
    pub async fn delete_account(&self, caller: &Caller, password: String, from: IpAddr) -> Result<(), ChatError> {
        self.rate_limits.login_attempt(from, &caller.name)?;
        let user = self.read().users.user_by_id(&caller.sub).await?.filter(UserRow::is_active);
        let verified = self.passwords.verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
        let Some(user) = user.filter(|_| verified) else {
            self.rate_limits.login_failed(&caller.name, from);
            return Err(ChatError::forbidden("wrong_password", "the password is not right"));
        };
        let occurred_at = now_ms();
        let event = Event::AccountDeleted(AccountDeleted {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user.user_id.clone(),
            payload: AccountDeletedPayload { user_id: user.user_id, username: user.username },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }
}
