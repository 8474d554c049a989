//! How long a failed delivery waits before its next attempt.

use std::time::Duration;

use sha2::{Digest, Sha256};
use steward_domain::ActionId;

use super::OutboxSettings;

/// The wait before attempt `attempt + 1` after `attempt` failed: full jitter over
/// `min(cap, base * 2^(attempt-1))`, drawn from the action id and attempt (so retries of many
/// actions spread out, and a test can predict them), and at least the target's `Retry-After`.
pub(crate) fn backoff(
    s: &OutboxSettings,
    action: ActionId,
    attempt: i64,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let ceiling = s
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(s.backoff_cap);
    let mut h = Sha256::new();
    h.update(action.as_uuid().as_bytes());
    h.update(attempt.to_le_bytes());
    let digest = h.finalize();
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&digest[..8]);
    let unit = (u64::from_le_bytes(eight) >> 11) as f64 / (1u64 << 53) as f64;
    let jittered = ceiling.mul_f64(unit);
    jittered.max(retry_after.unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_domain::ActionId;

    #[test]
    fn backoff_is_capped_exponential_with_full_jitter_and_honours_retry_after() {
        let s = OutboxSettings {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            ..OutboxSettings::default()
        };
        let mut spread = Vec::new();
        for _ in 0..200 {
            let id = ActionId::generate();
            for attempt in 1..=10i64 {
                let ceiling = Duration::from_secs(1 << (attempt - 1)).min(Duration::from_secs(60));
                let w = backoff(&s, id, attempt, None);
                assert!(w <= ceiling, "attempt {attempt}: {w:?} over {ceiling:?}");
                assert_eq!(w, backoff(&s, id, attempt, None), "deterministic");
            }
            spread.push(backoff(&s, id, 7, None).as_secs_f64() / 60.0);
        }
        // Full jitter: the waits of one attempt cover the whole range, not a band near the top.
        spread.sort_by(f64::total_cmp);
        assert!(
            spread[20] < 0.2 && spread[180] > 0.8,
            "{:?}",
            (spread[20], spread[180])
        );
        let id = ActionId::generate();
        let asked = Duration::from_secs(300);
        assert!(backoff(&s, id, 1, Some(asked)) >= asked);
    }
}
