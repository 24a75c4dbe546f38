//! How long an outgoing integration waits before trying again: 10 s after
//! the first failure, doubling each time, never more than an hour. Shared
//! by the outgoing webhooks and the amoCRM outbox.

use std::time::Duration;

/// The first pause after a failure; each next one doubles, up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_secs(10);
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// The pause before the next try after `attempts` tries.
pub(crate) fn pause_after(attempts: i32) -> Duration {
    let doubled = FIRST_PAUSE.saturating_mul(1u32 << (attempts.clamp(1, 20) - 1));
    doubled.min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour() {
        assert_eq!(pause_after(1), Duration::from_secs(10));
        assert_eq!(pause_after(2), Duration::from_secs(20));
        assert_eq!(pause_after(9), Duration::from_secs(2560));
        assert_eq!(pause_after(10), MAX_PAUSE);
        assert_eq!(pause_after(40), MAX_PAUSE);
    }
}
