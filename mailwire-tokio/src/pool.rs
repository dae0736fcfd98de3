//! [`Pool`]: at most N connections to one server, shared by many tasks.

use crate::client::Client;
use mailwire::{Envelope, MessageOutcome};
use mailwire_transport::{
    may_retry, ClientOptions, Error, IdleAction, PoolCounters, PoolOptions, PoolStats,
};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tokio::io::AsyncRead;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// At most [`PoolOptions::max_connections`] connections to one server, reused across sends
/// from many tasks (`&self`: share it in an `Arc`).
///
/// - A send takes an idle connection (the most recently used) or, when none is idle and fewer
///   than the maximum are open, connects a new one; else it waits for one to come back (at
///   most [`PoolOptions::wait_timeout`], then [`Error::PoolTimeout`]).
/// - An idle connection is used as it is when it was used recently, checked with one NOOP when
///   idle longer than [`PoolOptions::idle_check_after`], and closed past
///   [`PoolOptions::max_idle`]: never a NOOP before every message.
/// - A connection whose session ended (a failure, a 421, a cancelled send) is discarded; the
///   next send opens a new one.
/// - A message is never sent twice when its outcome is unknown (the session failed after its
///   whole content had gone out). One that failed on a reused connection before its content
///   had all gone out (a connection the server had closed while idle, a 421 at MAIL) cannot
///   have been delivered, and [`Pool::send_bytes`] and [`Pool::send_file`] try it once more on
///   a fresh connection ([`mailwire_transport::may_retry`]). [`Pool::send`] cannot replay a
///   reader and never retries.
///
/// Cancelling a send (dropping its future part-way) ends that connection's session as
/// [`Client`] describes; the pool discards it and frees its place.
///
/// The TLS configuration is built once, in [`Pool::new`], and shared by every connection.
pub struct Pool {
    options: ClientOptions,
    policy: PoolOptions,
    /// One permit per connection in use.
    in_use: Semaphore,
    state: Mutex<State>,
    counters: PoolCounters,
}

struct State {
    /// Idle connections, the most recently used last.
    idle: Vec<(Client, Instant)>,
    /// Connections open or being opened: idle ones and those in use.
    open: usize,
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

/// One of the connections counted as open: its client once connected. Dropped, the client goes
/// back to the pool when its session can take more work; else (failed, cancelled, never
/// connected) its place is freed. Whatever future holds it, being dropped part-way cannot leak a
/// place.
struct Slot<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        match self.client.take() {
            Some(client) => self.pool.give_back(client),
            None => self.pool.lock().open -= 1,
        }
    }
}

/// A connection lent out for one send, with its permit.
struct Lease<'a> {
    // Dropped before the permit (fields drop in order): the connection is idle again before
    // another send may look for one.
    slot: Slot<'a>,
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn client(&mut self) -> &mut Client {
        self.slot
            .client
            .as_mut()
            .expect("a lease holds its client until dropped")
    }
}

impl Pool {
    /// A pool for the server of `options` (nothing is connected yet). The TLS configuration is
    /// built here, once, when the session may use TLS.
    ///
    /// # Errors
    /// [`Error::TlsConfig`] when the TLS configuration cannot be built.
    pub fn new(options: ClientOptions, policy: PoolOptions) -> Result<Pool, Error> {
        let options = options.with_shared_tls()?;
        Ok(Pool {
            in_use: Semaphore::new(policy.limit()),
            options,
            policy,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
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
    pub async fn send_bytes(
        &self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<MessageOutcome, Error> {
        let (result, reused) = {
            let mut lease = self.lease(false).await?;
            let reused = lease.reused;
            (
                lease.client().send_bytes(envelope.clone(), body).await,
                reused,
            )
        };
        if !may_retry(&result, reused) {
            return result;
        }
        self.note_retry(&result);
        let mut lease = self.lease(true).await?;
        lease.client().send_bytes(envelope, body).await
    }

    /// [`Client::send_file`] on a pooled connection, tried once more on a fresh connection (the
    /// file read again) when a reused one failed before the content had all gone out.
    pub async fn send_file(
        &self,
        envelope: Envelope,
        path: impl AsRef<Path>,
    ) -> Result<MessageOutcome, Error> {
        let path = path.as_ref();
        let (result, reused) = {
            let mut lease = self.lease(false).await?;
            let reused = lease.reused;
            (
                lease.client().send_file(envelope.clone(), path).await,
                reused,
            )
        };
        if !may_retry(&result, reused) {
            return result;
        }
        self.note_retry(&result);
        let mut lease = self.lease(true).await?;
        lease.client().send_file(envelope, path).await
    }

    /// [`Client::send`] on a pooled connection. A reader cannot be replayed, so this never
    /// retries.
    pub async fn send(
        &self,
        envelope: Envelope,
        body: impl AsyncRead + Unpin,
    ) -> Result<MessageOutcome, Error> {
        let mut lease = self.lease(false).await?;
        lease.client().send(envelope, body).await
    }

    /// Closes the idle connections (QUIT written, not awaited). Connections in use are closed
    /// when they come back after the pool is dropped.
    pub async fn close_idle(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        for (client, _) in idle {
            self.lock().open -= 1;
            client.close_now().await;
        }
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
    async fn lease(&self, fresh: bool) -> Result<Lease<'_>, Error> {
        let acquire = self.in_use.acquire();
        let acquired = match self.policy.wait_timeout {
            None => acquire.await,
            Some(limit) => tokio::time::timeout(limit, acquire)
                .await
                .map_err(|_| Error::PoolTimeout { waited: limit })?,
        };
        // The semaphore is never closed; were it, no connection could be lent.
        let permit = acquired.map_err(|_| Error::Stalled)?;
        loop {
            let idle = if fresh { None } else { self.lock().idle.pop() };
            let Some((client, since)) = idle else {
                break;
            };
            let mut slot = Slot {
                pool: self,
                client: Some(client),
            };
            let keep = match self.policy.idle_action(since.elapsed()) {
                IdleAction::Reuse => true,
                IdleAction::Check => {
                    self.counters.checked();
                    let client = slot.client.as_mut().expect("just put there");
                    matches!(client.noop().await, Ok(r) if r.is_positive_completion())
                }
                IdleAction::Drop => false,
            };
            if !keep {
                if let Some(client) = slot.client.take() {
                    drop(slot);
                    self.counters.discarded();
                    client.close_now().await;
                }
                continue;
            }
            self.counters.reused();
            return Ok(Lease {
                slot,
                reused: true,
                _permit: permit,
            });
        }
        // A new connection. With the maximum open, an idle one makes room (only a `fresh` lease
        // can find idle connections here: holding a permit, fewer than the maximum are in use).
        let retire = {
            let mut state = self.lock();
            let retire = (state.open >= self.policy.limit() && !state.idle.is_empty())
                .then(|| state.idle.remove(0).0);
            if retire.is_none() {
                state.open += 1;
            }
            retire
        };
        // Counted as open from here: a failed (or cancelled) connect frees the place.
        let mut slot = Slot {
            pool: self,
            client: None,
        };
        if let Some(old) = retire {
            // Its place is the new connection's.
            self.counters.discarded();
            old.close_now().await;
        }
        let client = Client::connect(self.options.clone()).await?;
        self.counters.opened();
        slot.client = Some(client);
        Ok(Lease {
            slot,
            reused: false,
            _permit: permit,
        })
    }

    /// A lent connection comes back: idle again if its session can take more work, else gone.
    fn give_back(&self, client: Client) {
        let mut state = self.lock();
        if client.is_open() {
            state.idle.push((client, Instant::now()));
        } else {
            state.open -= 1;
            drop(state);
            self.counters.discarded();
            log::debug!("discarding a connection whose session ended");
        }
    }
}
