//! What every adapter's connection pool decides the same way: its options ([`PoolOptions`]),
//! what to do with an idle connection before reuse ([`IdleAction`]), and when a message may be
//! tried again ([`may_retry`]).

use crate::error::Error;
use mailwire::MessageOutcome;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a pool of connections to one server behaves.
///
/// An idle connection is reused as it is when it was used recently, checked with one NOOP
/// when it has been idle longer than [`PoolOptions::idle_check_after`], and closed (a fresh one
/// opened instead) past [`PoolOptions::max_idle`]. A connection is never checked before every
/// reuse: that would cost a round trip per message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolOptions {
    /// At most this many connections are open at once (idle and in use). Default 4; at least 1
    /// is used whatever is set.
    pub max_connections: usize,
    /// An idle connection unused for longer is checked with NOOP before reuse (and dropped if
    /// the check fails). Default 10 s: Postfix under stress drops idle clients after 10 s.
    pub idle_check_after: Duration,
    /// An idle connection unused for longer is closed instead of reused. Default 4 min, under
    /// the 5 minutes RFC 5321 4.5.3.2.7 asks servers to wait for a command.
    pub max_idle: Duration,
    /// How long a send waits for a connection when all [`PoolOptions::max_connections`] are in
    /// use, before it gives up with [`crate::Error::PoolTimeout`] (nothing sent). Default
    /// `None`: it waits until one is free, which the sends ahead bound (each is bounded by the
    /// session's own timeouts, RFC 5321 4.5.3.2).
    pub wait_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 4,
            idle_check_after: Duration::from_secs(10),
            max_idle: Duration::from_secs(240),
            wait_timeout: None,
        }
    }
}

/// What a pool does with an idle connection it is about to hand out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleAction {
    /// Use it as it is.
    Reuse,
    /// Check it with NOOP first; use it if that gets a 2yz, else drop it.
    Check,
    /// Close it; use another or a fresh one.
    Drop,
}

impl PoolOptions {
    /// What to do with a connection idle for `idle_for`.
    pub fn idle_action(&self, idle_for: Duration) -> IdleAction {
        if idle_for > self.max_idle {
            IdleAction::Drop
        } else if idle_for > self.idle_check_after {
            IdleAction::Check
        } else {
            IdleAction::Reuse
        }
    }

    /// [`PoolOptions::max_connections`], at least 1.
    pub fn limit(&self) -> usize {
        self.max_connections.max(1)
    }
}

/// Whether a pool may try a message again on a fresh connection after this result from a
/// connection it had `reused`: only when the session failed before the message's whole content
/// had gone out (`Error::Session` with `content_sent == false`), so the server cannot have
/// taken it, and only after a reused connection (a stale one: closed by the server while idle,
/// or 421 at the next command). Never after `content_sent` (the outcome is unknown: a resend
/// could deliver twice), never a message the server decided on (an outcome, even a refusal),
/// never the caller's mistakes, and at most once (the retry is on a fresh connection).
pub fn may_retry(result: &Result<MessageOutcome, Error>, reused: bool) -> bool {
    reused
        && matches!(
            result,
            Err(Error::Session {
                content_sent: false,
                ..
            })
        )
}

/// A pool's counters, shared by its callers and bumped as it works; [`PoolCounters::stats`]
/// reads them. One kind, so both adapters' pools count the same things.
#[derive(Debug, Default)]
pub struct PoolCounters {
    opened: AtomicU64,
    reused: AtomicU64,
    checked: AtomicU64,
    discarded: AtomicU64,
    retried: AtomicU64,
}

impl PoolCounters {
    /// A connection was opened.
    pub fn opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }
    /// An idle connection was reused.
    pub fn reused(&self) {
        self.reused.fetch_add(1, Ordering::Relaxed);
    }
    /// An idle connection was checked with NOOP.
    pub fn checked(&self) {
        self.checked.fetch_add(1, Ordering::Relaxed);
    }
    /// A connection was discarded.
    pub fn discarded(&self) {
        self.discarded.fetch_add(1, Ordering::Relaxed);
    }
    /// A message was tried again on a fresh connection.
    pub fn retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }
    /// What the counters say now.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            opened: self.opened.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
            checked: self.checked.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }
}

/// What a pool has done so far, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections opened (successful connects).
    pub opened: u64,
    /// Sends that reused an idle connection.
    pub reused: u64,
    /// Idle connections checked with NOOP before reuse.
    pub checked: u64,
    /// Connections discarded: failed, closed by the server (421 among them), failed their
    /// idle check, idle past the maximum, or cut short by a cancelled send.
    pub discarded: u64,
    /// Messages tried again on a fresh connection ([`may_retry`]).
    pub retried: u64,
}
