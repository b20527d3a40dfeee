//! Mutes: a user stops push notifications from a conversation or group, for a while or until
//! they lift it; a mention still reaches them unless they muted everything. Events on
//! `confab.users`; what a mute silences is `MuteRow::silences`, the one rule the push consumer
//! asks.
use confab_readmodels::{MAX_MUTES, MuteRow};
use confab_schemas::{Event, PlaceMuted, PlaceMutedPayload, place_kind};
use uuid::Uuid;

use crate::{
    Caller, ChatError, UseCases, conversation_id,
    rate_limits::UserAction,
    time::{now_ms, parse_rfc3339},
    typing::names_group,
};

/// A place as a mute names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutedPlace {
    /// `direct` or `group`.
    pub kind: &'static str,
    pub place_id: String,
}

impl UseCases {
    /// The place `to` names for the caller: a group they are in (its id), or their conversation
    /// with a user (a username).
    async fn muted_place(&self, caller: &Caller, to: &str) -> Result<MutedPlace, ChatError> {
        if names_group(to) {
            let (group, _) = self.membership(to, &caller.sub).await?;
            Ok(MutedPlace { kind: place_kind::GROUP, place_id: group.group_id })
        } else {
            let peer = self.user_named(to).await?;
            Ok(MutedPlace {
                kind: place_kind::DIRECT,
                place_id: conversation_id(&caller.sub, &peer.user_id).to_string(),
            })
        }
    }

    /// Mutes push notifications from `to` (a username or a group id) until `until` (RFC 3339;
    /// None: until lifted); mentions too when `everything`.
    pub async fn mute(
        &self,
        caller: &Caller,
        to: &str,
        until: Option<&str>,
        everything: bool,
    ) -> Result<MuteRow, ChatError> {
        let now = now_ms();
        let until_ms = until
            .map(|until| {
                parse_rfc3339(until).ok_or_else(|| ChatError::invalid("invalid_until", "until is not an RFC 3339 time"))
            })
            .transpose()?;
        if until_ms.is_some_and(|until| until <= now) {
            return Err(ChatError::invalid("invalid_until", "until must be in the future"));
        }
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let place = self.muted_place(caller, to).await?;
        let read = self.read();
        if read.push.mute(&caller.sub, &place.place_id).await?.is_none()
            && read.push.mutes(&caller.sub).await?.len() >= MAX_MUTES
        {
            return Err(ChatError::conflict(
                "too_many_mutes",
                format!("at most {MAX_MUTES} places are muted at once; lift one first"),
            ));
        }
        self.publish_mute(caller, &place, true, until_ms, everything, now).await?;
        Ok(MuteRow {
            user_id: caller.sub.clone(),
            place_id: place.place_id,
            kind: place.kind.to_owned(),
            until_ms,
            everything,
            muted_at_ms: now,
        })
    }

    /// Lifts the caller's mute of `to`; 404 `mute_not_found` if there is none.
    pub async fn unmute(&self, caller: &Caller, to: &str) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let place = self.muted_place(caller, to).await?;
        if self.read().push.mute(&caller.sub, &place.place_id).await?.is_none() {
            return Err(ChatError::not_found("mute_not_found", "that place is not muted"));
        }
        self.publish_mute(caller, &place, false, None, false, now_ms()).await
    }

    /// The caller's mutes that have not ended, by place id.
    pub async fn mutes(&self, caller: &Caller) -> Result<Vec<MuteRow>, ChatError> {
        let now = now_ms();
        let mutes = self.read().push.mutes(&caller.sub).await?;
        Ok(mutes.into_iter().filter(|m| m.until_ms.is_none_or(|until| until > now)).collect())
    }

    async fn publish_mute(
        &self,
        caller: &Caller,
        place: &MutedPlace,
        muted: bool,
        until_ms: Option<i64>,
        everything: bool,
        occurred_at: i64,
    ) -> Result<(), ChatError> {
        let event = Event::PlaceMuted(PlaceMuted {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: PlaceMutedPayload {
                user_id: caller.sub.clone(),
                username: caller.name.clone(),
                kind: place.kind.to_owned(),
                place_id: place.place_id.clone(),
                muted,
                until_ms,
                everything,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }
}
