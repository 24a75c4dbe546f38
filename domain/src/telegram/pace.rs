//! Pacing of what a bot sends, shared by the conversation sender and the
//! broadcast lanes of this process.
//!
//! Telegram counts a bot's messages in any one second. A token bucket lets
//! a burst through on top of the steady rate and earns 429s; this keeps the
//! log of the last second instead: a send may start while fewer than `rate`
//! sends started or ended within the last second. A send counts from the
//! moment it is let through until its answer came back plus one second, so
//! however late a request reaches Telegram, no second there holds more than
//! `rate` of them.
//!
//! Conversations go first: while a conversation reply waits for a slot, a
//! broadcast doesn't take one. Broadcasts are also spread evenly over the
//! second rather than sent as a burst. A 429 stops every send of the bot for its
//! `retry_after`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

const WINDOW: Duration = Duration::from_secs(1);

/// Which queue a send comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Replies in live conversations: never behind a broadcast.
    Conversation,
    Broadcast,
}

#[derive(Default)]
struct BotPace {
    /// When finished sends came back (the last second's).
    done: VecDeque<Instant>,
    in_flight: usize,
    conversations_waiting: usize,
    paused_until: Option<Instant>,
    /// Broadcasts go evenly, one every 1/rate s (a burst of a whole
    /// second's worth would leave that many unrecorded at a crash).
    next_broadcast: Option<Instant>,
}

impl BotPace {
    fn forget_old(&mut self, now: Instant) {
        while self.done.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.done.pop_front();
        }
    }

    /// How long to wait before a send of `lane` may start (`None`: now).
    fn wait(&mut self, rate: usize, lane: Lane, now: Instant) -> Option<Duration> {
        if let Some(until) = self.paused_until {
            if until > now {
                return Some(until - now);
            }
            self.paused_until = None;
        }
        if lane == Lane::Broadcast {
            if self.conversations_waiting > 0 {
                return Some(Duration::from_millis(5));
            }
            if let Some(next) = self.next_broadcast.filter(|n| *n > now) {
                return Some(next - now);
            }
        }
        self.forget_old(now);
        if self.done.len() + self.in_flight < rate.max(1) {
            return None;
        }
        match self.done.front() {
            Some(oldest) => Some(
                (*oldest + WINDOW)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            ),
            // Everything is in flight: the first answer frees a slot.
            None => Some(Duration::from_millis(5)),
        }
    }
}

/// The pace of every bot this process sends for.
#[derive(Clone, Default)]
pub struct Pacer(Arc<Mutex<HashMap<Uuid, BotPace>>>);

/// A send let through; dropping it (when the answer came) starts its
/// second.
pub struct Slot {
    pacer: Pacer,
    bot: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.pacer.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get_mut(&self.bot) {
            p.in_flight = p.in_flight.saturating_sub(1);
            p.done.push_back(Instant::now());
        }
    }
}

impl Pacer {
    /// Waits until the bot may send one more message at `rate` a second.
    /// A rate of 0 means no limit.
    pub async fn take(&self, bot: Uuid, rate: f64, lane: Lane) -> Slot {
        let rate = if rate <= 0.0 {
            usize::MAX
        } else {
            rate.floor().max(1.0) as usize
        };
        let mut counted = false;
        loop {
            let wait = {
                let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
                let p = map.entry(bot).or_default();
                match p.wait(rate, lane, Instant::now()) {
                    None => {
                        if counted {
                            p.conversations_waiting -= 1;
                        }
                        if lane == Lane::Broadcast && rate != usize::MAX {
                            // Evenly, but a lane that fell a little behind
                            // (claiming its next batch) may catch up.
                            let step = WINDOW / rate as u32;
                            let now = Instant::now();
                            let from = p
                                .next_broadcast
                                .map_or(now, |n| n.max(now.checked_sub(step * 4).unwrap_or(now)));
                            p.next_broadcast = Some(from + step);
                        }
                        p.in_flight += 1;
                        return Slot {
                            pacer: self.clone(),
                            bot,
                        };
                    }
                    Some(d) => {
                        if lane == Lane::Conversation && !counted {
                            p.conversations_waiting += 1;
                            counted = true;
                        }
                        d
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Telegram said to wait: nothing of this bot goes out until then.
    pub fn hold(&self, bot: Uuid, seconds: u32) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let p = map.entry(bot).or_default();
        let until = Instant::now() + Duration::from_secs(seconds as u64);
        p.paused_until = Some(p.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_second_holds_more_than_the_rate() {
        let pacer = Pacer::default();
        let bot = Uuid::new_v4();
        let start = tokio::time::Instant::now();
        let mut starts = vec![];
        for _ in 0..95 {
            let slot = pacer.take(bot, 30.0, Lane::Broadcast).await;
            starts.push(start.elapsed());
            drop(slot);
        }
        for (i, t) in starts.iter().enumerate().skip(30) {
            assert!(
                *t >= starts[i - 30] + WINDOW,
                "send {i} at {t:?}, 30 before at {:?}",
                starts[i - 30]
            );
        }
        // ~30 a second: 95 sends need a little over three seconds.
        let total = starts.last().copied().unwrap_or_default();
        assert!(
            total >= Duration::from_secs(3) && total < Duration::from_millis(3200),
            "{total:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_conversation_goes_before_broadcasts() {
        let pacer = Pacer::default();
        let bot = Uuid::new_v4();
        let held: Vec<Slot> = futures_slots(&pacer, bot, 1).await;
        let conv = {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                let _s = pacer.take(bot, 1.0, Lane::Conversation).await;
                tokio::time::Instant::now()
            })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        let broadcast = {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                let _s = pacer.take(bot, 1.0, Lane::Broadcast).await;
                tokio::time::Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        let (c, b) = (conv.await.unwrap(), broadcast.await.unwrap());
        assert!(c < b, "the conversation waited behind the broadcast");
    }

    async fn futures_slots(pacer: &Pacer, bot: Uuid, n: usize) -> Vec<Slot> {
        let mut v = vec![];
        for _ in 0..n {
            v.push(pacer.take(bot, n as f64, Lane::Broadcast).await);
        }
        v
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_stops_the_bot() {
        let pacer = Pacer::default();
        let bot = Uuid::new_v4();
        pacer.hold(bot, 3);
        let t = tokio::time::Instant::now();
        drop(pacer.take(bot, 30.0, Lane::Conversation).await);
        assert!(t.elapsed() >= Duration::from_secs(3));
    }
}
