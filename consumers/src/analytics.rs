//! Events to analytics changes.
use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use confab_schemas::{AttachmentRef, Event, Topic};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec};
use confab_readmodels::analytics::{AnalyticsStore, Change, Op};
use confab_readmodels::{GroupStore, MembershipMark, StoreError, change_applied};

/// The analytics consumer: every topic but attachments' into the analytics state.
pub const ANALYTICS: ProjectionSpec = ProjectionSpec {
    name: "analytics",
    topics: &[Topic::Users, Topic::Messages, Topic::Groups],
    build: Some(|sinks| {
        Arc::new(AnalyticsConsumer::new(Arc::clone(sinks.analytics), Arc::clone(&sinks.read_models.groups)))
    }),
};

/// A batch's membership marks by (group id, user id): what is stored, then the batch's own.
type MarksByMember = HashMap<(String, String), Vec<MembershipMark>>;

/// The analytics consumer, run as a projection into its own store (consumer group
/// `confab.projector.analytics`).
pub struct AnalyticsConsumer {
    store: Arc<dyn AnalyticsStore>,
    /// Where the groups projection records what each membership change did.
    groups: Arc<dyn GroupStore>,
}

impl AnalyticsConsumer {
    pub fn new(store: Arc<dyn AnalyticsStore>, groups: Arc<dyn GroupStore>) -> Self {
        Self { store, groups }
    }

    /// The marks of `user_id` in `group_id`: read from the store once per batch.
    async fn marks_of<'a>(
        &self,
        marks: &'a mut MarksByMember,
        group_id: &str,
        user_id: &str,
    ) -> Result<&'a mut Vec<MembershipMark>, StoreError> {
        Ok(match marks.entry((group_id.to_owned(), user_id.to_owned())) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(self.store.marks(group_id, user_id).await?),
        })
    }

    /// Whether what `logged` asked for counts: a membership change only once the groups
    /// projection applied it (not decided yet is an error, so the batch is tried again later,
    /// not counted wrongly); a group message unless its sender's marks before it say they were
    /// removed: the rule the messages projection stores by. `marks` holds, per (group, user)
    /// read once per batch, the stored marks and this batch's so far.
    async fn counts(&self, logged: &LoggedEvent, marks: &mut MarksByMember) -> Result<bool, StoreError> {
        let offset = logged.position.offset;
        let group_id = match &logged.event {
            Event::GroupMemberAdded(e) => &e.payload.group_id,
            Event::GroupMemberRemoved(e) => &e.payload.group_id,
            Event::GroupMessageSent(e) => {
                let of_sender = self.marks_of(marks, &e.payload.group_id, &e.payload.sender_id).await?;
                return Ok(!MembershipMark::excludes(of_sender, offset));
            }
            // Not after a block by either of the two (kept as marks: see `Op::Mark`).
            Event::DirectMessageSent(e) => {
                let conversation = &e.payload.conversation_id;
                for user in [&e.payload.sender_id, &e.payload.recipient_id] {
                    if MembershipMark::excludes(self.marks_of(marks, conversation, user).await?, offset) {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            _ => return Ok(true),
        };
        change_applied(self.groups.as_ref(), group_id, offset)
            .await?
            .ok_or(StoreError::Behind("the groups projection has not decided this membership change yet"))
    }
}

#[async_trait]
impl Projection for AnalyticsConsumer {
    fn spec(&self) -> &'static ProjectionSpec {
        &ANALYTICS
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let mut changes = Vec::new();
        let mut marks = MarksByMember::new();
        for logged in events {
            changes.extend(self::changes(logged, self.counts(logged, &mut marks).await?));
            // A mark of this batch is not stored yet: later messages of the batch need it too.
            if let Some(Op::Mark { group_id, user_id, seq, member }) = mark(logged) {
                self.marks_of(&mut marks, &group_id, &user_id).await?.push(MembershipMark {
                    group_id,
                    user_id,
                    seq,
                    member,
                    change_event_id: None,
                });
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.store.apply(&changes).await
    }
}

/// `YYYY-MM-DD`, `YYYY-MM` and `YYYY-MM-DDTHH` of a millisecond timestamp, UTC.
fn buckets(at_ms: i64) -> (String, String, String) {
    let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
    (at.format("%Y-%m-%d").to_string(), at.format("%Y-%m").to_string(), at.format("%Y-%m-%dT%H").to_string())
}

/// What one event changes. Everyone who acts is active that day and month; a membership change
/// moves membership, and a group message counts, only when `applied`.
fn changes(logged: &LoggedEvent, applied: bool) -> Vec<Change> {
    let event = &logged.event;
    let (day, month, hour) = buckets(event.occurred_at());
    let mut ops = vec![
        Op::Distinct {
            set: format!("day:{day}"),
            member: event.actor_id().to_owned(),
            metric: "active.day",
            bucket: day.clone(),
        },
        Op::Distinct {
            set: format!("month:{month}"),
            member: event.actor_id().to_owned(),
            metric: "active.month",
            bucket: month,
        },
    ];
    let count = |metric: &'static str, bucket: &str, n: i64| Op::Count { metric, bucket: bucket.to_owned(), n };
    let membership = |group: &str, user: &str, member: bool| Op::Membership {
        group_id: group.to_owned(),
        user_id: user.to_owned(),
        member,
    };
    match event {
        Event::UserRegistered(_) => ops.push(count("registrations.day", &day, 1)),
        Event::DirectMessageSent(e) if applied => {
            ops.extend([count("messages.direct.day", &day, 1), count("messages.direct.hour", &hour, 1)]);
            ops.extend(attachments(&day, &e.payload.attachments));
        }
        Event::GroupMessageSent(e) if applied => {
            ops.extend([count("messages.group.day", &day, 1), count("messages.group.hour", &hour, 1)]);
            ops.extend(attachments(&day, &e.payload.attachments));
        }
        Event::GroupMembershipMarked(_) | Event::UserBlocked(_) | Event::UserUnblocked(_) => ops.extend(mark(logged)),
        Event::GroupCreated(e) => {
            ops.push(count("groups.created.day", &day, 1));
            let mut members: Vec<&str> = e.payload.members.iter().map(|m| m.user_id.as_str()).collect();
            members.push(&e.actor_id);
            members.sort_unstable();
            members.dedup();
            ops.extend(members.into_iter().map(|user| membership(&e.payload.group_id, user, true)));
        }
        Event::GroupMemberAdded(e) if applied => ops.push(membership(&e.payload.group_id, &e.payload.user_id, true)),
        Event::GroupMemberRemoved(e) if applied => {
            ops.push(membership(&e.payload.group_id, &e.payload.user_id, false));
        }
        _ => {}
    }
    ops.into_iter().map(|op| Change { position: logged.position.clone(), op }).collect()
}

/// The mark a membership mark or a block (or its lifting) is kept as.
fn mark(logged: &LoggedEvent) -> Option<Op> {
    let seq = logged.position.offset;
    Some(match &logged.event {
        Event::GroupMembershipMarked(e) => Op::Mark {
            group_id: e.payload.group_id.clone(),
            user_id: e.payload.user_id.clone(),
            seq,
            member: e.payload.member,
        },
        event => {
            let (block, blocked) = event.block()?;
            Op::Mark {
                group_id: block.conversation_id.clone(),
                user_id: block.blocker_id.clone(),
                seq,
                member: !blocked,
            }
        }
    })
}

/// Attachments shared in a message, by day and content type.
fn attachments(day: &str, refs: &[AttachmentRef]) -> Vec<Op> {
    refs.iter()
        .flat_map(|a| {
            let bucket = format!("{day}|{}", a.content_type);
            [
                Op::Count { metric: "attachments.count.day", bucket: bucket.clone(), n: 1 },
                Op::Count { metric: "attachments.bytes.day", bucket, n: a.size },
            ]
        })
        .collect()
}
