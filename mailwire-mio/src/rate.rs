//! A limit on how many messages a bulk run starts per second ([`Rate`]), kept by a token
//! bucket ([`TokenBucket`]) that reads no clock: it is given the time, and says when the next
//! message may start, which the runner folds into its poll timeout (no thread sleeps).

use std::fmt;
use std::time::{Duration, Instant};

/// At most `per_second` messages started per second, across all connections, with bursts of
/// at most `burst` (default 1: evenly spaced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rate {
    /// Time between two starts at the steady rate.
    pub interval: Duration,
    /// Starts allowed at once after an idle spell (the bucket's size, at least 1).
    pub burst: u32,
}

/// Why a rate was refused.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum RateError {
    /// Not a positive, finite number of messages per second (or one so small that a single
    /// interval would not fit a `Duration`, or so large it rounds to no time at all).
    OutOfRange(f64),
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateError::OutOfRange(n) => write!(
                f,
                "{n} messages per second: a positive number from 0.001 to 1000000000 expected"
            ),
        }
    }
}

impl std::error::Error for RateError {}

impl Rate {
    /// `n` messages per second (fractions allowed: 0.5 is one every two seconds), bursts of 1.
    pub fn per_second(n: f64) -> Result<Rate, RateError> {
        if !n.is_finite() || !(0.001..=1e9).contains(&n) {
            return Err(RateError::OutOfRange(n));
        }
        let interval = Duration::from_secs_f64(1.0 / n);
        if interval.is_zero() {
            return Err(RateError::OutOfRange(n));
        }
        Ok(Rate { interval, burst: 1 })
    }

    /// The same rate with bursts of up to `burst` messages (0 counts as 1).
    pub fn with_burst(self, burst: u32) -> Rate {
        Rate {
            burst: burst.max(1),
            ..self
        }
    }
}

/// The token bucket, kept as the time the bucket will next be full ("theoretical arrival
/// time", GCRA): a start is allowed when that time is at most `burst - 1` intervals ahead of
/// now. Exact (no float drift), and O(1) memory whatever the rate.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: Rate,
    /// When the bucket is full again; `None` before the first start.
    full_at: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> TokenBucket {
        TokenBucket {
            rate,
            full_at: None,
        }
    }

    /// The time up to which starts may be taken ahead.
    fn slack(&self) -> Duration {
        self.rate.interval * self.rate.burst.max(1).saturating_sub(1)
    }

    /// Takes a token if one is there at `now`: true when a message may start.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let full_at = self.full_at.map_or(now, |t| t.max(now));
        if full_at > now + self.slack() {
            return false;
        }
        self.full_at = Some(full_at + self.rate.interval);
        true
    }

    /// When the next token is there: `now` when one is there already.
    pub fn next_token(&self, now: Instant) -> Instant {
        match self.full_at {
            None => now,
            Some(full_at) => full_at
                .checked_sub(self.slack())
                .map_or(now, |ready| ready.max(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the starts admitted when asked every millisecond for `ms` milliseconds from `t0`.
    fn admitted(bucket: &mut TokenBucket, t0: Instant, ms: u64) -> usize {
        let mut n = 0;
        for t in (0..ms).map(|i| t0 + Duration::from_millis(i)) {
            while bucket.try_take(t) {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn fifty_per_second_admits_fifty_a_second() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(50.0).unwrap());
        // Asked every millisecond for 2 s: one at 0, then one every 20 ms.
        let n = admitted(&mut bucket, t0, 2000);
        assert_eq!(n, 100);
    }

    #[test]
    fn one_at_once_without_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(10.0).unwrap());
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0), "the next must wait an interval");
        assert_eq!(bucket.next_token(t0), t0 + Duration::from_millis(100));
        assert!(!bucket.try_take(t0 + Duration::from_millis(99)));
        assert!(bucket.try_take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn burst_then_steady() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(10.0).unwrap().with_burst(5));
        let first: usize = (0..100).filter(|_| bucket.try_take(t0)).count();
        assert_eq!(first, 5, "a full bucket gives its burst at once");
        assert_eq!(bucket.next_token(t0), t0 + Duration::from_millis(100));
        // Then one per interval: 10 more within the next second (at 100, 200, ... 1000 ms).
        let later = admitted(&mut bucket, t0 + Duration::from_millis(1), 1000);
        assert_eq!(later, 10);
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(100.0).unwrap().with_burst(3));
        assert!(bucket.try_take(t0));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(bucket.next_token(later), later);
        let n = (0..100).filter(|_| bucket.try_take(later)).count();
        assert_eq!(n, 3, "a minute idle does not bank 6000 starts");
    }

    #[test]
    fn a_late_caller_is_not_owed_a_catch_up() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(10.0).unwrap());
        assert!(bucket.try_take(t0));
        // Asked next only after 1 s: one start, not ten.
        let t1 = t0 + Duration::from_secs(1);
        assert!(bucket.try_take(t1));
        assert!(!bucket.try_take(t1));
    }

    #[test]
    fn rates_out_of_range_are_refused() {
        for n in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-6, 1e12] {
            assert!(Rate::per_second(n).is_err(), "{n}");
        }
        assert_eq!(
            Rate::per_second(0.5).unwrap().interval,
            Duration::from_secs(2)
        );
        assert_eq!(Rate::per_second(4.0).unwrap().with_burst(0).burst, 1);
    }
}
