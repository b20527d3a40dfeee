//! The read side: one function per read, each taking a caller and answering a page or a domain
//! error. They live beside the use cases because both ask the same rules (membership, who sees
//! which message, sealing) and a rule has one home; handlers extract, call one of these and shape.

mod analytics;
mod attachments;
mod groups;
mod history;
mod lists;
mod missed;
mod paging;

pub use attachments::{AttachmentPage, AttachmentsOf};
pub use groups::GroupDetails;
pub use history::{DirectHistory, GroupHistory, Tally};
pub use lists::{ConversationEntry, ConversationPage, GroupListEntry, GroupPage};
pub use missed::{Missed, MissedMessage, ResumeBounds};
pub use paging::{DEFAULT_PAGE, MAX_PAGE, page_limit};
