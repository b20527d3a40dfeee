//! The groups projection applies each change against the group as it stands at that point of the
//! log, and redelivery never changes the outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, unused_results)]

use std::sync::Arc;

use confab_consumers::projection::{GroupsProjection, LoggedEvent, Projection};
use confab_eventlog::Position;
use confab_readmodels::{GroupRole, GroupStore, embedded::EmbeddedStore};
use confab_schemas::{
    Event, GroupCreated, GroupCreatedPayload, GroupMember, GroupMemberAdded, GroupMemberAddedPayload,
    GroupMemberRemoved, GroupMemberRemovedPayload, GroupMemberRoleChanged, GroupMemberRoleChangedPayload,
};

const GROUP: &str = "g1";

/// Builds a `confab.groups` partition event by event.
#[derive(Default)]
struct Log(Vec<LoggedEvent>);

impl Log {
    fn push(&mut self, event: Event) -> &mut Self {
        let offset = self.0.len() as u64;
        self.0.push(LoggedEvent { position: Position { topic: "confab.groups".into(), partition: 0, offset }, event });
        self
    }

    fn create(&mut self, actor: &str, members: &[&str]) -> &mut Self {
        let members = members
            .iter()
            .map(|m| GroupMember {
                user_id: (*m).into(),
                username: format!("name-{m}"),
                role: if *m == actor { "admin" } else { "member" }.into(),
            })
            .collect();
        let payload = GroupCreatedPayload { group_id: GROUP.into(), name: "g".into(), members };
        self.push(Event::GroupCreated(GroupCreated {
            event_id: "e".into(),
            occurred_at: 1,
            actor_id: actor.into(),
            payload,
        }))
    }

    fn add(&mut self, actor: &str, user: &str) -> &mut Self {
        self.add_within(actor, user, None)
    }

    /// An addition written with a member limit (version 2 of the schema).
    fn add_within(&mut self, actor: &str, user: &str, member_limit: Option<i32>) -> &mut Self {
        let payload = GroupMemberAddedPayload {
            group_id: GROUP.into(),
            user_id: user.into(),
            username: format!("name-{user}"),
            history_after_message_id: None,
            member_limit,
            marked: false,
        };
        self.push(Event::GroupMemberAdded(GroupMemberAdded {
            event_id: "e".into(),
            occurred_at: 2,
            actor_id: actor.into(),
            payload,
        }))
    }

    fn remove(&mut self, actor: &str, user: &str) -> &mut Self {
        let payload = GroupMemberRemovedPayload {
            group_id: GROUP.into(),
            user_id: user.into(),
            username: format!("name-{user}"),
        };
        self.push(Event::GroupMemberRemoved(GroupMemberRemoved {
            event_id: "e".into(),
            occurred_at: 3,
            actor_id: actor.into(),
            payload,
        }))
    }

    fn role(&mut self, actor: &str, user: &str, role: &str) -> &mut Self {
        let payload = GroupMemberRoleChangedPayload {
            group_id: GROUP.into(),
            user_id: user.into(),
            username: format!("name-{user}"),
            role: role.into(),
        };
        self.push(Event::GroupMemberRoleChanged(GroupMemberRoleChanged {
            event_id: "e".into(),
            occurred_at: 4,
            actor_id: actor.into(),
            payload,
        }))
    }
}

async fn project(log: &Log) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("s.redb")).unwrap();
    GroupsProjection::new(Arc::new(store.clone())).apply(&log.0).await.unwrap();
    (dir, store)
}

async fn roles(store: &EmbeddedStore) -> Vec<(String, GroupRole)> {
    store.members(GROUP).await.unwrap().into_iter().map(|m| (m.user_id, m.role)).collect()
}

#[tokio::test]
async fn concurrent_changes_by_two_admins_are_all_applied_in_log_order() {
    let mut log = Log::default();
    log.create("a", &["a", "b", "c"]).role("a", "b", "admin").add("a", "d").add("b", "e").remove("b", "c");
    let (_dir, store) = project(&log).await;
    assert_eq!(
        roles(&store).await,
        [
            ("a".into(), GroupRole::Admin),
            ("b".into(), GroupRole::Admin),
            ("d".into(), GroupRole::Member),
            ("e".into(), GroupRole::Member)
        ]
    );
    assert_eq!(store.groups_of("e").await.unwrap().len(), 1);
    assert!(store.groups_of("c").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_change_by_someone_who_is_no_longer_admin_at_that_point_is_refused_for_good() {
    let mut log = Log::default();
    // b was demoted before b's add reached the log; b is promoted again afterwards.
    log.create("a", &["a", "b"]).role("a", "b", "admin").role("a", "b", "member").add("b", "x").role("a", "b", "admin");
    let (_dir, store) = project(&log).await;
    assert!(store.member(GROUP, "x").await.unwrap().is_none());
    // Redelivery of the refused add, now that b is an admin again, still changes nothing.
    GroupsProjection::new(Arc::new(store.clone())).apply(&log.0[3..4]).await.unwrap();
    assert!(store.member(GROUP, "x").await.unwrap().is_none());
}

#[tokio::test]
async fn the_last_admin_leaving_promotes_the_longest_standing_member() {
    let mut log = Log::default();
    log.create("a", &["a", "b", "c"]).add("a", "d").remove("a", "a");
    let (_dir, store) = project(&log).await;
    assert_eq!(
        roles(&store).await,
        [("b".into(), GroupRole::Admin), ("c".into(), GroupRole::Member), ("d".into(), GroupRole::Member)]
    );
    // The only admin cannot demote themself into an admin-less group.
    log.role("b", "b", "member");
    GroupsProjection::new(Arc::new(store.clone())).apply(&log.0[3..]).await.unwrap();
    assert_eq!(store.member(GROUP, "b").await.unwrap().unwrap().role, GroupRole::Admin);
}

#[tokio::test]
async fn members_may_leave_but_not_remove_others() {
    let mut log = Log::default();
    log.create("a", &["a", "b", "c"]).remove("b", "c").remove("b", "b");
    let (_dir, store) = project(&log).await;
    assert_eq!(roles(&store).await, [("a".into(), GroupRole::Admin), ("c".into(), GroupRole::Member)]);
}

#[tokio::test]
async fn redelivering_any_suffix_of_the_log_changes_nothing() {
    let mut log = Log::default();
    log.create("a", &["a", "b", "c"])
        .add("a", "d")
        .remove("a", "a")
        .role("b", "c", "admin")
        .remove("c", "b")
        .add("c", "a")
        .remove("c", "d");
    let (_dir, once) = project(&log).await;
    for start in 0..log.0.len() {
        let (_d, store) = project(&log).await;
        GroupsProjection::new(Arc::new(store.clone())).apply(&log.0[start..]).await.unwrap();
        assert_eq!(store.dump().unwrap(), once.dump().unwrap(), "redelivery from offset {start}");
    }
}

#[tokio::test]
async fn the_member_limit_is_enforced_in_log_order() {
    let mut log = Log::default();
    // Two admins add at once to a group one place short of its limit of 4: the first in the log
    // takes the place; the second is refused for good, even after someone leaves.
    log.create("a", &["a", "b", "c"])
        .role("a", "b", "admin")
        .add_within("a", "d", Some(4))
        .add_within("b", "e", Some(4))
        .remove("c", "c");
    let (_dir, store) = project(&log).await;
    let members: Vec<String> = roles(&store).await.into_iter().map(|(user, _)| user).collect();
    assert_eq!(members, ["a", "b", "d"]);
    GroupsProjection::new(Arc::new(store.clone())).apply(&log.0[3..]).await.unwrap();
    assert!(store.member(GROUP, "e").await.unwrap().is_none(), "redelivery keeps the refusal");
    // With a place free, the next addition fits; an addition without a limit (version 1) always does.
    log.add_within("a", "e", Some(4)).add("a", "f");
    GroupsProjection::new(Arc::new(store.clone())).apply(&log.0[5..]).await.unwrap();
    let members: Vec<String> = roles(&store).await.into_iter().map(|(user, _)| user).collect();
    assert_eq!(members, ["a", "b", "d", "e", "f"]);
}
