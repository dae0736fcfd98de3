//! [`Pool`]: at most N connections to one server, shared by many threads.

use crate::client::Client;
use mailwire::{Envelope, MessageOutcome};
use mailwire_transport::{
    may_retry, ClientOptions, Error, IdleAction, PoolCounters, PoolOptions, PoolStats,
};
use std::io::Read;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// At most [`PoolOptions::max_connections`] connections to one server, reused across sends
/// from many threads (`&self`: share it by reference in scoped threads, or in an `Arc`).
///
/// - A send takes an idle connection (the most recently used) or, when none is idle and fewer
///   than the maximum are open, connects a new one; else it waits until one comes back (at
///   most [`PoolOptions::wait_timeout`], then [`Error::PoolTimeout`]).
/// - An idle connection is used as it is when it was used recently, checked with one NOOP when
///   idle longer than [`PoolOptions::idle_check_after`], and closed past
///   [`PoolOptions::max_idle`]: never a NOOP before every message.
/// - A connection whose session ended (a failure, a 421) is discarded; the next send opens a
///   new one.
/// - A message is never sent twice when its outcome is unknown (the session failed after its
///   whole content had gone out). One that failed on a reused connection before its content
///   had all gone out (a connection the server had closed while idle, a 421 at MAIL) cannot
///   have been delivered, and [`Pool::send_bytes`] and [`Pool::send_file`] try it once more on
///   a fresh connection ([`mailwire_transport::may_retry`]). [`Pool::send`] cannot replay a
///   reader and never retries.
///
/// The TLS configuration is built once, in [`Pool::new`], and shared by every connection.
/// `mailwire-tokio`'s `Pool` is the same pool for tasks.
pub struct Pool {
    options: ClientOptions,
    policy: PoolOptions,
    state: Mutex<State>,
    /// Signalled when a connection comes back (or its place is freed).
    returned: Condvar,
    counters: PoolCounters,
}

struct State {
    /// Idle connections, the most recently used last.
    idle: Vec<(Client, Instant)>,
    /// Connections open or being opened: idle ones and those in use.
    open: usize,
    /// Sends holding a connection (or opening one).
    in_use: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("server", &self.options.server())
            .field("policy", &self.policy)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A connection lent out for one send (its place among the open and the in-use ones).
/// Dropped, the client goes back to the pool when its session can take more work; else
/// (failed, never connected) its place is freed. A panicking send cannot leak a place.
struct Lease<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    /// Whether `client` counts among the open connections (it does once connected or taken).
    counted: bool,
    reused: bool,
}

impl Lease<'_> {
    fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a lease holds its client until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.in_use -= 1;
        match self.client.take() {
            Some(client) if client.is_open() => state.idle.push((client, Instant::now())),
            Some(client) => {
                state.open -= 1;
                drop(state);
                self.pool.counters.discarded();
                log::debug!("discarding a connection whose session ended");
                drop(client);
            }
            None if self.counted => state.open -= 1,
            None => {}
        }
        self.pool.returned.notify_one();
    }
}

impl Pool {
    /// A pool for the server of `options` (nothing is connected yet). The TLS configuration is
    /// built here, once, when the session may use TLS.
    ///
    /// # Errors
    /// [`Error::TlsConfig`] when the TLS configuration cannot be built.
    pub fn new(options: ClientOptions, policy: PoolOptions) -> Result<Pool, Error> {
        Ok(Pool {
            options: options.with_shared_tls()?,
            policy,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                in_use: 0,
            }),
            returned: Condvar::new(),
            counters: PoolCounters::default(),
        })
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PoolStats {
        self.counters.stats()
    }

    /// Connections open now (idle and in use).
    pub fn open_connections(&self) -> usize {
        self.lock().open
    }

    /// [`Client::send_bytes`] on a pooled connection, tried once more on a fresh connection
    /// when a reused one failed before the content had all gone out.
    pub fn send_bytes(&self, envelope: Envelope, body: &[u8]) -> Result<MessageOutcome, Error> {
        let (result, reused) = {
            let mut lease = self.lease(false)?;
            let reused = lease.reused;
            (lease.client().send_bytes(envelope.clone(), body), reused)
        };
        if !may_retry(&result, reused) {
            return result;
        }
        self.note_retry(&result);
        self.lease(true)?.client().send_bytes(envelope, body)
    }

    /// [`Client::send_file`] on a pooled connection, tried once more on a fresh connection (the
    /// file read again) when a reused one failed before the content had all gone out.
    pub fn send_file(
        &self,
        envelope: Envelope,
        path: impl AsRef<Path>,
    ) -> Result<MessageOutcome, Error> {
        let path = path.as_ref();
        let (result, reused) = {
            let mut lease = self.lease(false)?;
            let reused = lease.reused;
            (lease.client().send_file(envelope.clone(), path), reused)
        };
        if !may_retry(&result, reused) {
            return result;
        }
        self.note_retry(&result);
        self.lease(true)?.client().send_file(envelope, path)
    }

    /// [`Client::send`] on a pooled connection. A reader cannot be replayed, so this never
    /// retries.
    pub fn send(&self, envelope: Envelope, body: impl Read) -> Result<MessageOutcome, Error> {
        self.lease(false)?.client().send(envelope, body)
    }

    /// Closes the idle connections (QUIT written, not awaited). Connections in use are closed
    /// when they come back after the pool is dropped.
    pub fn close_idle(&self) {
        let idle = {
            let mut state = self.lock();
            state.open -= state.idle.len();
            std::mem::take(&mut state.idle)
        };
        for (client, _) in idle {
            client.close_now();
        }
        self.returned.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note_retry(&self, result: &Result<MessageOutcome, Error>) {
        if let Err(e) = result {
            log::info!("retrying on a fresh connection (nothing was delivered): {e}");
        }
        self.counters.retried();
    }

    /// A connection for one send: an idle one (checked or dropped by its idle time) unless
    /// `fresh`, else a new one. Waits while the maximum are in use.
    fn lease(&self, fresh: bool) -> Result<Lease<'_>, Error> {
        {
            let mut state = self.lock();
            let started = Instant::now();
            while state.in_use >= self.policy.limit() {
                state = match self.policy.wait_timeout {
                    None => self.returned.wait(state).unwrap_or_else(|p| p.into_inner()),
                    Some(limit) => {
                        let waited = started.elapsed();
                        if waited >= limit {
                            return Err(Error::PoolTimeout { waited });
                        }
                        self.returned
                            .wait_timeout(state, limit - waited)
                            .unwrap_or_else(|p| p.into_inner())
                            .0
                    }
                };
            }
            state.in_use += 1;
        }
        let mut lease = Lease {
            pool: self,
            client: None,
            counted: false,
            reused: false,
        };
        loop {
            let idle = if fresh { None } else { self.lock().idle.pop() };
            let Some((client, since)) = idle else {
                break;
            };
            lease.client = Some(client);
            lease.counted = true;
            let keep = match self.policy.idle_action(since.elapsed()) {
                IdleAction::Reuse => true,
                IdleAction::Check => {
                    self.counters.checked();
                    matches!(lease.client().noop(), Ok(r) if r.is_positive_completion())
                }
                IdleAction::Drop => false,
            };
            if keep {
                self.counters.reused();
                lease.reused = true;
                return Ok(lease);
            }
            if let Some(client) = lease.client.take() {
                lease.counted = false;
                self.lock().open -= 1;
                self.counters.discarded();
                client.close_now();
            }
        }
        // A new connection. With the maximum open, an idle one makes room (only a `fresh` lease
        // can find idle connections here: holding a place, fewer than the maximum are in use).
        let retire = {
            let mut state = self.lock();
            let retire = (state.open >= self.policy.limit() && !state.idle.is_empty())
                .then(|| state.idle.remove(0).0);
            if retire.is_none() {
                state.open += 1;
            }
            retire
        };
        // Counted as open from here: a failed connect frees the place.
        lease.counted = true;
        if let Some(old) = retire {
            // Its place is the new connection's.
            self.counters.discarded();
            old.close_now();
        }
        lease.client = Some(Client::connect(self.options.clone())?);
        self.counters.opened();
        Ok(lease)
    }
}
