//! Group changes (topic `confab.groups`) and group messages (topic `confab.messages`), all keyed
//! by group id. The rules for when a change takes effect are in each `.avsc` file's doc.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::{attachments::AttachmentRef, envelope::envelope};

envelope!(
    /// A new group and its first members.
    GroupCreated(GroupCreatedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupCreatedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    pub name: String,
    /// In seniority order.
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    /// `admin` or `member`.
    pub role: String,
}

envelope!(
    /// An admin added a member.
    GroupMemberAdded(GroupMemberAddedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberAddedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    /// The group's newest message when they were added; they see only what comes after it.
    #[serde(default)]
    #[avro(rename = "historyAfterMessageId")]
    pub history_after_message_id: Option<String>,
    /// The most members the group may have for this addition to take effect; none on version 1.
    #[serde(default)]
    #[avro(rename = "memberLimit")]
    pub member_limit: Option<i32>,
    /// Marked in the group's message order, where the member's view of the group starts; false
    /// on versions 1 and 2, where `history_after_message_id` decides.
    #[serde(default)]
    pub marked: bool,
}

envelope!(
    /// A member left (the actor is the member) or an admin removed them.
    GroupMemberRemoved(GroupMemberRemovedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberRemovedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
}

envelope!(
    /// An admin renamed the group.
    GroupRenamed(GroupRenamedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupRenamedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    pub name: String,
}

envelope!(
    /// An admin changed a member's role.
    GroupMemberRoleChanged(GroupMemberRoleChangedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberRoleChangedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    /// `admin` or `member`.
    pub role: String,
}

envelope!(
    /// A message to a group; `content` is sealed under the group's key.
    GroupMessageSent(GroupMessageSentPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMessageSentPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    #[avro(rename = "groupId")]
    pub group_id: String,
    #[avro(rename = "senderId")]
    pub sender_id: String,
    #[avro(rename = "senderUsername")]
    pub sender_username: String,
    pub content: String,
    #[serde(default)]
    #[avro(rename = "clientMessageId")]
    pub client_message_id: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// The message this one replies to, earlier in the same conversation or group.
    #[serde(default)]
    #[avro(rename = "replyToMessageId")]
    pub reply_to_message_id: Option<String>,
    /// The members it mentions, by user id: sorted, without repeats, never the sender.
    #[serde(default)]
    pub mentions: Vec<String>,
}

envelope!(
    /// A membership change of `confab.groups`, marked in the group's message order once it took
    /// effect: messages from a removed member after it are not part of the group.
    GroupMembershipMarked(GroupMembershipMarkedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupMembershipMarkedPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    #[avro(rename = "userId")]
    pub user_id: String,
    /// False: the user left or was removed; true: the user was added.
    pub member: bool,
    /// The `GroupMemberRemoved` or `GroupMemberAdded` this marks.
    #[avro(rename = "changeEventId")]
    pub change_event_id: String,
}
