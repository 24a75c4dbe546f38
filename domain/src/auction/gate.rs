//! The in-process queue in front of a lot. Under a rush, hundreds of bids
//! arrive at one lot at the same price; only the first can win, and every
//! other one used to take a database connection and queue for the lot's row
//! lock only to be refused. Here bids on one lot take turns in this process
//! instead, and what the previous turn learnt from the database (the least
//! next bid, or that the lot is over) refuses the rest without a query.
//!
//! What is remembered can only be behind the truth, never ahead of it: a
//! lot's price only goes up while it is open and a closed lot stays closed.
//! So a bid below the remembered minimum is too low for certain, and any
//! other bid goes to the database, where the row lock decides — across
//! instances as before.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use uuid::Uuid;

/// What one process last saw of a lot.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// The least bid the lot would take when last seen (kopecks).
    pub least: Option<i64>,
    /// The lot was over (sold, cancelled, unsold or past its end).
    pub closed: bool,
}

pub(super) type Turn = Arc<tokio::sync::Mutex<Known>>;

/// Lots this process has seen bids on. Entries of closed lots are dropped;
/// the map is also trimmed of idle entries when it grows large.
static LOTS: LazyLock<Mutex<HashMap<Uuid, Turn>>> = LazyLock::new(Default::default);

const TRIM_AT: usize = 10_000;

/// The queue of `lot` in this process.
pub(super) fn turn(lot: Uuid) -> Turn {
    let mut lots = LOTS.lock().unwrap_or_else(|p| p.into_inner());
    if lots.len() >= TRIM_AT {
        // Nobody waits on an entry only the map holds.
        lots.retain(|_, t| Arc::strong_count(t) > 1);
    }
    lots.entry(lot).or_default().clone()
}

/// Forgets a lot that is over: later bids learn it from the database.
pub(super) fn forget(lot: Uuid) {
    LOTS.lock().unwrap_or_else(|p| p.into_inner()).remove(&lot);
}
