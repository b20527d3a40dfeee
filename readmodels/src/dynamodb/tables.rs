//! The tables, their keys, and their creation at start-up. Key design is in ARCHITECTURE.md.
use std::time::Duration;

use aws_sdk_dynamodb::{
    Client,
    operation::create_table::CreateTableError,
    types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
        ScalarAttributeType, TableStatus,
    },
};

use crate::{StoreError, dynamodb::unavailable};

/// The conversations index ordered by each user's newest message.
pub(crate) const BY_ACTIVITY: &str = "by_activity";
/// The group messages index by message id.
pub(crate) const BY_MESSAGE_ID: &str = "by_message_id";
/// The direct messages index in log order.
pub(crate) const BY_SEQ: &str = "by_seq";

#[derive(Debug, Clone)]
pub struct TableNames {
    pub users: String,
    pub user_ids: String,
    /// Usernames by their first characters, for search.
    pub user_prefixes: String,
    pub messages: String,
    /// Which conversation each direct message is in, by message id.
    pub message_places: String,
    pub conversations: String,
    pub groups: String,
    pub group_members: String,
    pub user_groups: String,
    pub group_messages: String,
    pub membership_marks: String,
    /// The same marks by group, in the group's message order.
    pub group_marks: String,
    /// Group messages that mention a member, by (group, member), in the group's order.
    pub mentions: String,
    /// Pinned messages, by conversation or group, in its order.
    pub pins: String,
    /// What each membership change did, by group, in log order.
    pub change_outcomes: String,
    pub receipts: String,
    pub attachments: String,
    pub conversation_attachments: String,
    pub pending_uploads: String,
    /// The messages carrying each attachment that were not deleted, by attachment.
    pub attachment_carriers: String,
    pub sessions: String,
    /// Blocks and their liftings, by direct conversation, in its order.
    pub block_marks: String,
    /// Each blocker's list, by username.
    pub blocked_users: String,
    /// Each user's devices that take push notifications, by device id.
    pub push_targets: String,
    /// Each user's muted places, by place id.
    pub mutes: String,
    pub claims: String,
    /// Data keys, wrapped: not a read model, in no generation.
    pub data_keys: String,
    pub checkpoints: String,
    /// The analytics consumer's own state, not a read model.
    pub analytics: String,
    pub analytics_members: String,
    /// Which generation of read models is current: a blue/green replay builds the next one
    /// beside the live one and then points here.
    pub meta: String,
}

impl TableNames {
    /// The tables of `namespace`, read models (and their checkpoints) of `generation`; claims,
    /// data keys, analytics and the generation pointer belong to no generation.
    pub fn new(namespace: &str, generation: u32) -> Self {
        let suffix = match generation {
            0 => String::new(),
            n => format!("_g{n}"),
        };
        let name = |table: &str| format!("{namespace}confab_{table}{suffix}");
        let shared = |table: &str| format!("{namespace}confab_{table}");
        Self {
            users: name("users"),
            user_ids: name("user_ids"),
            user_prefixes: name("user_prefixes"),
            messages: name("messages"),
            message_places: name("message_places"),
            conversations: name("conversations"),
            groups: name("groups"),
            group_members: name("group_members"),
            user_groups: name("user_groups"),
            group_messages: name("group_messages"),
            membership_marks: name("membership_marks"),
            group_marks: name("group_marks"),
            mentions: name("mentions"),
            pins: name("pins"),
            change_outcomes: name("change_outcomes"),
            receipts: name("receipts"),
            attachments: name("attachments"),
            conversation_attachments: name("conversation_attachments"),
            pending_uploads: name("pending_uploads"),
            attachment_carriers: name("attachment_carriers"),
            sessions: name("sessions"),
            block_marks: name("block_marks"),
            blocked_users: name("blocked_users"),
            push_targets: name("push_targets"),
            mutes: name("mutes"),
            claims: shared("claims"),
            data_keys: shared("data_keys"),
            checkpoints: name("checkpoints"),
            analytics: shared("analytics"),
            analytics_members: shared("analytics_members"),
            meta: shared("meta"),
        }
    }

    /// The tables of one generation: the read models and their checkpoints.
    pub(crate) fn generational(&self) -> Vec<&str> {
        let mut tables: Vec<&str> = self.read_models().iter().map(|(_, table)| *table).collect();
        tables.push(&self.checkpoints);
        tables
    }

    /// The tables projections write, by their short name.
    pub(crate) fn read_models(&self) -> [(&'static str, &str); 25] {
        [
            ("users", &self.users),
            ("user_ids", &self.user_ids),
            ("user_prefixes", &self.user_prefixes),
            ("messages", &self.messages),
            ("message_places", &self.message_places),
            ("conversations", &self.conversations),
            ("groups", &self.groups),
            ("group_members", &self.group_members),
            ("user_groups", &self.user_groups),
            ("group_messages", &self.group_messages),
            ("membership_marks", &self.membership_marks),
            ("group_marks", &self.group_marks),
            ("mentions", &self.mentions),
            ("pins", &self.pins),
            ("change_outcomes", &self.change_outcomes),
            ("receipts", &self.receipts),
            ("attachments", &self.attachments),
            ("conversation_attachments", &self.conversation_attachments),
            ("pending_uploads", &self.pending_uploads),
            ("attachment_carriers", &self.attachment_carriers),
            ("sessions", &self.sessions),
            ("block_marks", &self.block_marks),
            ("blocked_users", &self.blocked_users),
            ("push_targets", &self.push_targets),
            ("mutes", &self.mutes),
        ]
    }
}

struct Spec<'a> {
    name: &'a str,
    hash: &'a str,
    range: Option<&'a str>,
    /// (index name, its range key), sharing the table's hash key.
    local_index: Option<(&'a str, &'a str)>,
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(unavailable)
}

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(unavailable)
}

pub(crate) async fn ensure(client: &Client, tables: &TableNames) -> Result<(), StoreError> {
    let specs = [
        Spec { name: &tables.users, hash: "username", range: None, local_index: None },
        Spec { name: &tables.user_ids, hash: "user_id", range: None, local_index: None },
        Spec { name: &tables.user_prefixes, hash: "prefix", range: Some("username"), local_index: None },
        Spec {
            name: &tables.messages,
            hash: "conversation_id",
            range: Some("message_id"),
            local_index: Some((BY_SEQ, "seq")),
        },
        Spec {
            name: &tables.conversations,
            hash: "user_id",
            range: Some("conversation_id"),
            local_index: Some((BY_ACTIVITY, "last_message_id")),
        },
        Spec { name: &tables.message_places, hash: "message_id", range: None, local_index: None },
        Spec { name: &tables.groups, hash: "group_id", range: None, local_index: None },
        Spec { name: &tables.group_members, hash: "group_id", range: Some("user_id"), local_index: None },
        Spec { name: &tables.user_groups, hash: "user_id", range: Some("group_id"), local_index: None },
        Spec {
            name: &tables.group_messages,
            hash: "group_id",
            range: Some("seq"),
            local_index: Some((BY_MESSAGE_ID, "message_id")),
        },
        Spec { name: &tables.membership_marks, hash: "group_user", range: Some("seq"), local_index: None },
        Spec { name: &tables.group_marks, hash: "group_id", range: Some("seq"), local_index: None },
        Spec { name: &tables.mentions, hash: "group_user", range: Some("seq"), local_index: None },
        Spec { name: &tables.pins, hash: "place_id", range: Some("seq"), local_index: None },
        Spec { name: &tables.change_outcomes, hash: "group_id", range: Some("offset"), local_index: None },
        Spec { name: &tables.receipts, hash: "conversation_id", range: Some("user_id"), local_index: None },
        Spec { name: &tables.attachments, hash: "attachment_id", range: None, local_index: None },
        Spec {
            name: &tables.conversation_attachments,
            hash: "conversation_id",
            range: Some("attachment_id"),
            local_index: None,
        },
        Spec { name: &tables.pending_uploads, hash: "uploader_id", range: Some("attachment_id"), local_index: None },
        Spec { name: &tables.attachment_carriers, hash: "attachment_id", range: Some("message_id"), local_index: None },
        Spec { name: &tables.sessions, hash: "user_id", range: Some("session_id"), local_index: None },
        Spec { name: &tables.block_marks, hash: "conversation_id", range: Some("seq"), local_index: None },
        Spec { name: &tables.blocked_users, hash: "blocker_id", range: Some("blocked_username"), local_index: None },
        Spec { name: &tables.push_targets, hash: "user_id", range: Some("device_id"), local_index: None },
        Spec { name: &tables.mutes, hash: "user_id", range: Some("place_id"), local_index: None },
        Spec { name: &tables.claims, hash: "scope", range: Some("claim_key"), local_index: None },
        Spec { name: &tables.data_keys, hash: "owner_id", range: Some("place_id"), local_index: None },
        Spec { name: &tables.analytics, hash: "metric", range: Some("bucket"), local_index: None },
        Spec { name: &tables.analytics_members, hash: "set_key", range: Some("member"), local_index: None },
        Spec { name: &tables.checkpoints, hash: "projection", range: Some("partition_key"), local_index: None },
    ];
    for spec in &specs {
        create_if_missing(client, spec).await?;
    }
    for spec in &specs {
        wait_active(client, spec.name).await?;
    }
    Ok(())
}

/// The generation pointer's table, which must exist before the generation can be read.
pub(crate) async fn ensure_meta(client: &Client, meta: &str) -> Result<(), StoreError> {
    create_if_missing(client, &Spec { name: meta, hash: "name", range: None, local_index: None }).await?;
    wait_active(client, meta).await
}

async fn create_if_missing(client: &Client, spec: &Spec<'_>) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.hash, KeyType::Hash)?)
        .attribute_definitions(attribute(spec.hash)?);
    if let Some(range) = spec.range {
        request = request.key_schema(key(range, KeyType::Range)?).attribute_definitions(attribute(range)?);
    }
    if let Some((index, range)) = spec.local_index {
        request = request.attribute_definitions(attribute(range)?).local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(key(spec.hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(unavailable)?,
        );
    }
    match request.send().await {
        Ok(_) => {
            tracing::info!(table = spec.name, "created table");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(CreateTableError::is_resource_in_use_exception) => Ok(()),
        Err(e) => Err(super::sdk_error(e)),
    }
}

/// Deletes `tables` where they exist and waits until they are gone.
pub(crate) async fn delete(client: &Client, tables: &[&str]) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::operation::{delete_table::DeleteTableError, describe_table::DescribeTableError};
    for table in tables {
        match client.delete_table().table_name(*table).send().await {
            Ok(_) => tracing::info!(table, "deleted table"),
            Err(e) if e.as_service_error().is_some_and(DeleteTableError::is_resource_not_found_exception) => {}
            Err(e) => return Err(super::sdk_error(e)),
        }
    }
    for table in tables {
        let mut delay = Duration::from_millis(20);
        loop {
            match client.describe_table().table_name(*table).send().await {
                Err(e) if e.as_service_error().is_some_and(DescribeTableError::is_resource_not_found_exception) => {
                    break;
                }
                Err(e) => return Err(super::sdk_error(e)),
                Ok(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
    Ok(())
}

/// Polls DescribeTable until the table is ACTIVE (the SDK's waiter sleeps 20 s at least).
async fn wait_active(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut delay = Duration::from_millis(20);
    for _ in 0..60 {
        let description = client.describe_table().table_name(table).send().await.map_err(super::sdk_error)?;
        if description.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
    Err(crate::error::storage_error(format!("table {table} did not become active")))
}
