//! Waiting between reconnections.

use std::time::Duration;

/// Exponential back-off with full jitter: a random wait up to a ceiling that
/// doubles after each failure (0.5 s … 60 s), so that many devices coming
/// back at once do not reconnect in step.
pub struct Backoff {
    ceiling: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    pub fn new() -> Self {
        Self::with_max(Self::MAX)
    }

    /// Back-off whose ceiling stops growing at `max`.
    pub fn with_max(max: Duration) -> Self {
        Self {
            ceiling: Self::FIRST.min(max),
            max,
        }
    }

    pub fn next_wait(&mut self) -> Duration {
        let [a, b, c, d] = crate::random::random_bytes::<4>();
        let fraction = f64::from(u32::from_le_bytes([a, b, c, d])) / f64::from(u32::MAX);
        let wait = self.ceiling.mul_f64(0.1 + 0.9 * fraction);
        self.ceiling = (self.ceiling * 2).min(self.max);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_ceiling_and_stays_jittered() {
        let mut b = Backoff::new();
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait()).collect();
        assert!(waits.iter().all(|w| *w <= Backoff::MAX));
        assert!(waits[0] <= Backoff::FIRST);
        assert!(waits[11] >= Backoff::MAX.mul_f64(0.1));
    }
}
