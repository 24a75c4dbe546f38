//! The durable update queue: updates are stored first (unique on bot +
//! update_id), acknowledged, then processed from the table — one at a time
//! per chat, in order, in parallel across chats, exactly once across
//! restarts and instances (`FOR UPDATE SKIP LOCKED`, the state change and
//! the replies committed with the "processed" mark).
//!
//! `intake` stores, `parse` reads an update, `process` handles claimed
//! batches, `effects` is what a flow does to the CRM, `poll` long-polls.

mod effects;
mod intake;
mod parse;
mod poll;
mod process;

use effects::*;
pub use intake::*;
use parse::*;
pub use poll::*;
pub use process::*;
