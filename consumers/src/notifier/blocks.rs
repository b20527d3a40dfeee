//! Blocks as the notifier knows them: a direct message or receipt after a block in its
//! conversation's order is not stored by the messages projection, so it is not pushed either.
use std::collections::{HashMap, HashSet};

use confab_readmodels::{BlockMark, LiveReadModels};
use confab_schemas::Event;
use tokio_util::sync::CancellationToken;

use super::retried;

/// Most conversations whose marks are kept; past it all are forgotten and read again from the
/// store as their next message comes (a mark read in the moment before, and not projected yet,
/// may then be missed for that one message, which the read models never hold).
const MAX_CONVERSATIONS: usize = 100_000;

/// Block marks by direct conversation: the store's, read the first time a conversation's message
/// or receipt comes, and every mark read from the log since this reader started.
#[derive(Default)]
pub(super) struct BlocksKnown {
    by_conversation: HashMap<String, Vec<BlockMark>>,
    loaded: HashSet<String>,
}

impl BlocksKnown {
    /// Whether `event` at `offset` stands: false for a direct message or receipt after a block
    /// in its conversation. None only if shutdown came while the store was out.
    pub(super) async fn admits(
        &mut self,
        read_models: &LiveReadModels,
        event: &Event,
        offset: u64,
        shutdown: &CancellationToken,
    ) -> Option<bool> {
        if let Some(mark) = BlockMark::from_event(event, offset) {
            self.by_conversation.entry(mark.conversation_id.clone()).or_default().push(mark);
            return Some(true);
        }
        let Some(conversation_id) = event.direct_conversation() else { return Some(true) };
        if !self.loaded.contains(conversation_id) {
            if self.loaded.len() >= MAX_CONVERSATIONS {
                self.loaded.clear();
                self.by_conversation.clear();
            }
            let read = read_models.now();
            let stored = retried(shutdown, conversation_id, || read.blocks.block_marks(conversation_id)).await?;
            let known = self.by_conversation.entry(conversation_id.to_owned()).or_default();
            let fresh: Vec<BlockMark> =
                stored.into_iter().filter(|mark| known.iter().all(|k| k.seq != mark.seq)).collect();
            known.extend(fresh);
            let _ = self.loaded.insert(conversation_id.to_owned());
        }
        let marks = self.by_conversation.get(conversation_id).map_or(&[][..], Vec::as_slice);
        Some(BlockMark::standing(marks, offset).is_none())
    }
}
