//! Time as data: the caller's clock, passed in (the core never reads one), and the per-stage
//! timeouts of RFC 5321 4.5.3.2.

use core::time::Duration;

/// A point in time on a monotonic clock the caller owns: the time elapsed since an epoch of the
/// caller's choosing (process start, `Instant` at connect, a virtual test clock). Works in
/// `no_std`; with `std`, [`Timestamp::from_instant`] converts from `std::time::Instant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The epoch.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The instant `since` after the epoch.
    pub const fn from_duration(since: Duration) -> Timestamp {
        Timestamp(since)
    }

    /// Milliseconds after the epoch (handy for tests).
    pub const fn from_millis(ms: u64) -> Timestamp {
        Timestamp(Duration::from_millis(ms))
    }

    /// Seconds after the epoch (handy for tests).
    pub const fn from_secs(s: u64) -> Timestamp {
        Timestamp(Duration::from_secs(s))
    }

    /// Time since the epoch.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Converts an `Instant` given the `Instant` chosen as epoch (saturating at the epoch).
    #[cfg(feature = "std")]
    pub fn from_instant(epoch: std::time::Instant, instant: std::time::Instant) -> Timestamp {
        Timestamp(instant.saturating_duration_since(epoch))
    }

    /// The `Instant` for this timestamp, given the epoch.
    #[cfg(feature = "std")]
    pub fn to_instant(self, epoch: std::time::Instant) -> std::time::Instant {
        epoch + self.0
    }
}

/// How long to wait for each reply, by stage. Defaults are RFC 5321 4.5.3.2's minimums.
///
/// A deadline runs per complete reply (continuation lines included), not per read, so a server
/// that drips one byte a minute still times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Initial 220 greeting: 5 minutes (4.5.3.2.1).
    pub greeting: Duration,
    /// EHLO/HELO/LHLO, STARTTLS, AUTH, RSET, NOOP, VRFY, EXPN, HELP, QUIT: 5 minutes (RFC 5321 gives
    /// none for these; the MAIL figure is used).
    pub command: Duration,
    /// MAIL: 5 minutes (4.5.3.2.2).
    pub mail: Duration,
    /// RCPT: 5 minutes (4.5.3.2.3).
    pub rcpt: Duration,
    /// DATA initiation (the 354): 2 minutes (4.5.3.2.4).
    pub data_initiation: Duration,
    /// Each data block sent: 3 minutes (4.5.3.2.5). The core cannot see writes; adapters bound
    /// each socket write with this. It also bounds the reply to a non-last BDAT chunk.
    pub data_block: Duration,
    /// The reply after the end of data (`.` or `BDAT … LAST`): 10 minutes (4.5.3.2.6).
    pub data_termination: Duration,
}

impl Timeouts {
    /// RFC 5321 4.5.3.2's values.
    pub const RFC5321: Timeouts = Timeouts {
        greeting: Duration::from_secs(300),
        command: Duration::from_secs(300),
        mail: Duration::from_secs(300),
        rcpt: Duration::from_secs(300),
        data_initiation: Duration::from_secs(120),
        data_block: Duration::from_secs(180),
        data_termination: Duration::from_secs(600),
    };

    /// Every stage the same (e.g. a command-line `--timeout`).
    pub const fn uniform(d: Duration) -> Timeouts {
        Timeouts {
            greeting: d,
            command: d,
            mail: d,
            rcpt: d,
            data_initiation: d,
            data_block: d,
            data_termination: d,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::RFC5321
    }
}
