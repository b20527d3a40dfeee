//! The redb tables of the embedded log.
use redb::{Database, TableDefinition};

use crate::{LogError, embedded::storage::storage_error};

/// (topic, partition, offset) -> record (see `storage::encode_record`).
pub(crate) const RECORDS: TableDefinition<'_, (&str, u32, u64), &[u8]> = TableDefinition::new("records");
/// topic -> partition count.
pub(crate) const TOPICS: TableDefinition<'_, &str, u32> = TableDefinition::new("topics");
/// (group, topic, partition) -> next offset to read.
pub(crate) const GROUP_OFFSETS: TableDefinition<'_, (&str, &str, u32), u64> = TableDefinition::new("group_offsets");
/// (scope, key) -> value held by the claim.
pub(crate) const CLAIMS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("claims");

pub(crate) fn create_all(db: &Database) -> Result<(), LogError> {
    let txn = db.begin_write().map_err(storage_error)?;
    {
        let _ = txn.open_table(RECORDS).map_err(storage_error)?;
        let _ = txn.open_table(TOPICS).map_err(storage_error)?;
        let _ = txn.open_table(GROUP_OFFSETS).map_err(storage_error)?;
        let _ = txn.open_table(CLAIMS).map_err(storage_error)?;
    }
    txn.commit().map_err(storage_error)
}
