//! Delivery receipts from a live connection's acks: which acks count, and recording them.
use std::{collections::HashMap, sync::Arc};

use confab_readmodels::ReceiptStatus;

use crate::{Conversation, UseCases};

/// A message as a live connection sent it to its user: what an ack of it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
    pub sender_id: String,
    pub conversation: Conversation,
    /// Its `confab.messages` partition and offset.
    pub partition: u32,
    pub seq: u64,
}

/// A connection's acks not yet recorded: the newest acked message of each conversation (a
/// receipt is a watermark), never the reader's own.
#[derive(Debug)]
pub struct Acks {
    reader: String,
    newest: HashMap<Conversation, Arc<SentMessage>>,
}

impl Acks {
    pub fn new(reader: &str) -> Self {
        Self { reader: reader.to_owned(), newest: HashMap::new() }
    }

    /// Takes in an ack of `message`, which the connection sent.
    pub fn ack(&mut self, message: &Arc<SentMessage>) {
        if message.sender_id == self.reader {
            return;
        }
        match self.newest.get(&message.conversation) {
            Some(newer) if newer.seq >= message.seq => {}
            _ => {
                let _ = self.newest.insert(message.conversation.clone(), Arc::clone(message));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.newest.is_empty()
    }

    /// The acks to record now, leaving none.
    pub fn take(&mut self) -> Vec<Arc<SentMessage>> {
        self.newest.drain().map(|(_, message)| message).collect()
    }
}

impl UseCases {
    /// Records each of `acked` as delivered to `reader`; a failure is logged, not answered: the
    /// client moved on, and its next ack covers this one.
    pub async fn record_deliveries(&self, reader: &str, acked: Vec<Arc<SentMessage>>) {
        for message in acked {
            let recorded =
                self.record_receipt(reader, &message.conversation, &message.message_id, ReceiptStatus::Delivered).await;
            if let Err(error) = recorded {
                tracing::warn!(?error, reader, message_id = message.message_id, "cannot record a delivery");
            }
        }
    }
}
