//! Bulk sending: a queue of messages over K parallel connections to one server, every message
//! ending in exactly one [`Outcome`].
//!
//! # How messages are spread
//! Up to K connections are opened, a few at a time ([`BulkConfig::max_connecting`]), each with
//! one message; once ready, each takes messages from the queue until it has
//! [`BulkConfig::window`] queued in its core, or their content adds up to
//! [`BulkConfig::window_bytes`]. The core pipelines what it has
//! (RFC 2920, and RFC 3030 with BDAT: whole messages ahead when the server offers CHUNKING), so
//! one connection carries many messages per round trip where the server allows. Each outcome
//! frees a slot, which the connection fills from the queue at once; a connection with nothing
//! left to do says QUIT, and so does one that has taken [`BulkConfig::max_per_connection`]
//! messages (a new one takes its place; with TLS it resumes the session of the one before).
//!
//! # Content, in bounded memory
//! A message's content ([`Content`]: bytes in memory, a file, a reader) is not handed to the
//! core whole when the message is queued: each connection keeps one [`ContentFeed`] per queued
//! message, in queue order, and offers the front one's bytes as the core takes them (after each
//! [`Event::BodyWanted`]). A connection holds the core's [`mailwire::Limits::body_buffer`] and
//! one read buffer of content, whatever the window; a file is opened when its message is
//! queued and read as it is sent. (A batch send or a pool in another adapter does the same with
//! the same feed.)
//!
//! # Failures and retries (decisions)
//! - A message whose session ended before its outcome was known (its
//!   [`mailwire::Verdict::Failed`]: the connection dropped, the server said 421, a stage timed
//!   out) is put back at the head of the queue, with the envelope the core gave back, and sent on
//!   another connection, or a new one, up to [`BulkConfig::attempts`] tries in all; then it is
//!   reported [`Outcome::Failed`]. When its content had been sent in full the
//!   server may have delivered it already, so a retry can deliver it twice: RFC 5321 6.1 prefers
//!   a duplicate to a loss. The report says how many tries were made. A session the server
//!   refused for good (a 5yz greeting, EHLO or XCLIENT, AUTH refused, TLS required and not
//!   offered: [`mailwire::Error::class`] permanent or security) is not tried again: the next
//!   connection would be refused alike, and a refused login repeated.
//! - A message the server decided on (accepted, partly, or refused with 4yz or 5yz) is reported
//!   [`Outcome::Done`] with the core's [`MessageOutcome`], and not retried. Retrying a 4yz
//!   belongs to a queue with a schedule (minutes later, RFC 5321 4.5.4.1), not to a run that
//!   hammers the same server again at once; and the adapter does not branch on reply codes.
//!   [`MessageOutcome::is_transient`] (and [`Report::class`]) tell the caller which are worth
//!   queueing again: the core's judgement, the same `smtp-send` uses.
//!
//! - With [`BulkConfig::retry_after_content`] off, a message whose whole content had been sent
//!   when its session ended is not tried again: it is reported [`Outcome::Failed`] with
//!   [`Failure::content_sent`], its outcome unknown (the server may have it), never sent twice.
//!
//! # Stopping and pacing
//! - [`BulkConfig::stop`]: once the flag is set (from a signal handler, another thread), no
//!   message is taken from the input any more, and those taken but not handed to a session
//!   are reported [`Outcome::NotAttempted`] (or [`Outcome::Failed`] with their last failure,
//!   when a try had already failed), not tried again. Messages a session holds finish with
//!   their real outcome; then the run returns. The input's remaining items are the caller's.
//!   The flag is looked at after every turn of the loop, which waits at most 100 ms while a
//!   flag is configured.
//! - [`BulkConfig::rate`]: messages handed to sessions per second, across all connections (a
//!   [`TokenBucket`]; the next token's time bounds the loop's wait, nothing sleeps).
//!
//! Every try ends: the core bounds each stage with a deadline, and tries are bounded, so a run
//! ends too.

pub use crate::rate::{Rate, RateError, TokenBucket};
use crate::{Driver, DriverEvent, TlsSetup, Token, TransportError};
use mailwire::{
    Class, Config, Envelope, Error, Event, MessageId, MessageOutcome, UsageError, Verdict,
};
pub use mailwire_transport::Content;
use mailwire_transport::{ContentFeed, Fed, FeedError};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the loop waits at most while a [`BulkConfig::stop`] flag is configured, so a flag
/// set without waking the poll (by another thread) is still seen.
const STOP_POLL: Duration = Duration::from_millis(100);

/// How long the loop waits at most while a pulled input ([`run_pulled`]) has nothing yet, before
/// asking it again.
const INPUT_POLL: Duration = Duration::from_millis(10);

/// One message to send: its envelope and its content (bytes in memory are shared, so a
/// generated workload of identical bodies costs one copy; a file is read as it is sent).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkMessage {
    /// Sender, recipients, MAIL parameters.
    pub envelope: Envelope,
    /// The message (header and body) in any line-end convention; the core normalises and
    /// dot-stuffs it.
    pub content: Content,
}

impl BulkMessage {
    /// A message with this envelope and content: bytes (`Arc<[u8]>`, `Vec<u8>`), or a
    /// [`Content`] (a file with [`Content::file`], a reader with [`Content::reader`]).
    pub fn new(envelope: Envelope, content: impl Into<Content>) -> BulkMessage {
        BulkMessage {
            envelope,
            content: content.into(),
        }
    }
}

/// How to run a bulk send.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkConfig {
    /// The server.
    pub server: SocketAddr,
    /// Connections open at once (K). Default 1.
    pub connections: usize,
    /// Messages queued per connection ahead of their outcomes. Default 32.
    pub window: usize,
    /// Content bytes (as given, before normalising) of the messages queued per connection ahead
    /// of their outcomes, at most: a connection takes no further message while its queued ones
    /// add up to this (it always takes one). Bounds what the sender keeps for retries and the
    /// files it holds open; the bytes the connection holds at once are bounded by the core's
    /// body buffer whatever this is. Default 4 MiB.
    pub window_bytes: u64,
    /// Messages one connection takes before it says QUIT and a new one takes over (`None`, the
    /// default: no limit). With TLS the new connection resumes the old one's session when the
    /// server allows (one rustls configuration, so one session store, per [`TlsSetup`]).
    pub max_per_connection: Option<usize>,
    /// Tries per message, the first included, for messages whose session failed. Default 3.
    pub attempts: u32,
    /// The session configuration for every connection (`Driver::connect` draws a fresh SCRAM
    /// nonce for each).
    pub session: Config,
    /// TLS for STARTTLS (when `session.tls` asks for it) or implicit TLS.
    pub tls: Option<TlsSetup>,
    /// Connections opened and not yet greeted, at most. Opening all K at once overflows the
    /// listen backlog of small servers (the kernel then drops SYNs, and each drop costs a
    /// retransmission of a second or more). Default 32.
    pub max_connecting: usize,
    /// How long to wait for the servers' answers to QUIT once every outcome is known.
    /// Default 5 s.
    pub quit_grace: Duration,
    /// Whether a message whose whole content was sent before its session ended is tried again
    /// (the server may have delivered it: a retry may deliver it twice, RFC 5321 6.1). Default
    /// true; false reports it [`Outcome::Failed`] with its outcome unknown.
    pub retry_after_content: bool,
    /// Once set, take no more messages and finish those in flight (see the module docs).
    pub stop: Option<Arc<AtomicBool>>,
    /// Messages handed to sessions per second, at most, across all connections. Default none.
    pub rate: Option<Rate>,
    /// A PROXY protocol header for every connection ([`Driver::connect_proxied`]): its source
    /// and destination where given, else each connection's own. Default none.
    pub proxy_header: Option<crate::ProxyHeader>,
}

impl BulkConfig {
    /// Defaults for everything but the server and the session configuration.
    pub fn new(server: SocketAddr, session: Config) -> BulkConfig {
        BulkConfig {
            server,
            connections: 1,
            window: 32,
            window_bytes: 4 << 20,
            max_per_connection: None,
            attempts: 3,
            max_connecting: 32,
            session,
            tls: None,
            quit_grace: Duration::from_secs(5),
            retry_after_content: true,
            stop: None,
            rate: None,
            proxy_header: None,
        }
    }
}

/// How one message ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
// One per message, moved once to the caller: boxing the outcome would add an allocation per
// message for no saving (no array of these is kept).
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The session's outcome: accepted (for every recipient or some), or refused by the server
    /// (or by the session, when this server cannot take it as asked). Never `Failed`: those are
    /// retried, then reported as [`Outcome::Failed`].
    Done(MessageOutcome),
    /// Refused by the session before it was queued: this server cannot take it as asked (its
    /// capabilities were known), or the envelope is invalid.
    Refused(UsageError),
    /// Every try ended with the session failing before the outcome was known.
    Failed(Failure),
    /// Never handed to a session: the run was stopped ([`BulkConfig::stop`]) first.
    NotAttempted,
}

/// Why the last try of a failed message failed (or why its content could not be sent: then
/// `transport` is [`TransportError::Content`] and the message was not tried again).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// The whole content had been sent: the server may have delivered it.
    pub content_sent: bool,
    /// What ended the session, as the core saw it (none when no session could start).
    pub error: Option<Error>,
    /// What failed underneath (connect, I/O, TLS), when something did.
    pub transport: Option<Arc<TransportError>>,
}

impl Failure {
    /// Its class: the core's for the error that ended the session; a connection that could not
    /// be made at all is temporary.
    pub fn class(&self) -> Class {
        if matches!(self.transport.as_deref(), Some(TransportError::Content(_))) {
            return Class::Local;
        }
        match &self.error {
            Some(error) => error.class(),
            None => Class::Temporary,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.error, &self.transport) {
            (Some(e), Some(t)) => write!(f, "{e} ({t})"),
            (Some(e), None) => write!(f, "{e}"),
            (None, Some(t)) => write!(f, "{t}"),
            (None, None) => f.write_str("session ended"),
        }
    }
}

/// One message's outcome.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// The message's position in the input, from 0.
    pub index: usize,
    /// Tries made (0 when it was refused before any was made).
    pub attempts: u32,
    /// How it ended.
    pub outcome: Outcome,
}

impl Report {
    /// Whether the server took the message (for at least one recipient).
    pub fn is_accepted(&self) -> bool {
        matches!(&self.outcome, Outcome::Done(o) if o.is_accepted())
    }

    /// Its class ([`mailwire::Class`]), judged by the core as for every command: the
    /// outcome's; a message refused before it was queued is permanent when this server cannot
    /// take it, local when the envelope was invalid; a failure is its error's.
    pub fn class(&self) -> Class {
        match &self.outcome {
            Outcome::Done(o) => o.class(),
            Outcome::Refused(UsageError::Unsendable(_)) => Class::Permanent,
            Outcome::Refused(_) => Class::Local,
            Outcome::Failed(f) => f.class(),
            // Nothing was tried: sending it later may work.
            Outcome::NotAttempted => Class::Temporary,
        }
    }
}

/// Counts for a whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Messages taken from the input.
    pub messages: usize,
    /// Accepted.
    pub accepted: usize,
    /// Rejected.
    pub rejected: usize,
    /// Failed after every try.
    pub failed: usize,
    /// Not attempted: the run was stopped first.
    pub not_attempted: usize,
    /// Connections opened (retries and [`BulkConfig::max_per_connection`] may open more than
    /// K).
    pub connections: usize,
    /// From the first connect until every outcome was known (the QUIT exchanges excluded).
    pub elapsed: Duration,
    /// The most connections open at once.
    pub peak_connections: usize,
    /// Connections whose TLS handshake resumed an earlier connection's session (RFC 8446 2.2),
    /// of those that became ready over TLS.
    pub tls_resumed: usize,
}

/// Sends every message, calling `on_report` once per message as its outcome becomes known, and
/// returns the counts. Fails only when polling itself fails; connection failures (even when no
/// socket can be created at all) are message failures.
pub fn run<I, F>(config: &BulkConfig, messages: I, on_report: F) -> io::Result<Summary>
where
    I: IntoIterator<Item = BulkMessage>,
    F: FnMut(&Report),
{
    let mut messages = messages.into_iter();
    run_pulled(
        config,
        move || messages.next().map_or(Pull::Ended, Pull::Message),
        on_report,
    )
}

/// What an input pulled by [`run_pulled`] has next.
#[derive(Debug)]
#[non_exhaustive]
// One per message, moved straight into the run: a box would be an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum Pull {
    /// The next message.
    Message(BulkMessage),
    /// Nothing yet: ask again later (the run goes on with what it has, and asks again within
    /// a few milliseconds).
    NotYet,
    /// No more messages.
    Ended,
}

/// [`run`] for an input that may have nothing yet without having ended, such as messages read
/// from a pipe by another thread: `pull` never blocks, and says [`Pull::NotYet`] when it has
/// nothing now. The run keeps its connections open while the input is open, goes on with the
/// messages it holds meanwhile (their outcomes are reported as they come), and ends once
/// `pull` said [`Pull::Ended`] and every outcome is known (or the stop flag was set).
pub fn run_pulled<P, F>(config: &BulkConfig, pull: P, on_report: F) -> io::Result<Summary>
where
    P: FnMut() -> Pull,
    F: FnMut(&Report),
{
    let mut runner = Runner {
        config,
        driver: Driver::new()?,
        source: pull,
        next_index: 0,
        ended: false,
        input_waiting: false,
        lookahead: None,
        retry: VecDeque::new(),
        conns: HashMap::new(),
        outstanding: 0,
        connecting: 0,
        summary: Summary::default(),
        on_report,
        window: config.window.max(1),
        attempts: config.attempts.max(1),
        bucket: config.rate.map(TokenBucket::new),
        throttled: false,
        stopping: false,
    };
    runner.run()
}

struct Pending {
    index: usize,
    attempts: u32,
    /// In the core while the message is queued there; given back with its outcome.
    envelope: Option<Envelope>,
    content: Content,
    /// Its length as given, for [`BulkConfig::window_bytes`] (0 when unknown: a reader).
    len: u64,
    /// How the last try failed, when one did.
    failure: Option<Failure>,
}

#[derive(Default)]
struct Conn {
    /// Messages queued in the core, oldest first.
    assigned: VecDeque<(MessageId, Pending)>,
    /// The content of queued messages whose body is not finished, in queue order: only the
    /// front one is written.
    feeds: VecDeque<(MessageId, ContentFeed<'static>)>,
    /// The front feed was turned away: it writes again after the core's `BodyWanted`.
    blocked: bool,
    /// Content bytes of the messages in `assigned`.
    bytes: u64,
    /// Messages this connection has taken, for [`BulkConfig::max_per_connection`].
    taken: usize,
    /// It takes no more messages (it reached `max_per_connection`): it quits once idle, and
    /// another connection takes its place.
    retiring: bool,
    /// What failed underneath the session, once something did (it comes before the session's
    /// outcomes and `Closed`).
    transport: Option<Arc<TransportError>>,
    quitting: bool,
    /// The greeting arrived (the server accepted the connection).
    greeted: bool,
}

struct Runner<'c, S, F> {
    config: &'c BulkConfig,
    driver: Driver,
    source: S,
    /// The index of the next message pulled.
    next_index: usize,
    /// The input said it has ended.
    ended: bool,
    /// The input said it has nothing yet: ask again after the next turn.
    input_waiting: bool,
    lookahead: Option<Pending>,
    retry: VecDeque<Pending>,
    conns: HashMap<Token, Conn>,
    /// Messages taken from the input whose outcome is not reported yet.
    outstanding: usize,
    /// Connections not greeted yet.
    connecting: usize,
    summary: Summary,
    on_report: F,
    window: usize,
    attempts: u32,
    bucket: Option<TokenBucket>,
    /// A message waited for a token: refill every connection when the next one is there.
    throttled: bool,
    /// The stop flag was seen.
    stopping: bool,
}

impl<S, F> Runner<'_, S, F>
where
    S: FnMut() -> Pull,
    F: FnMut(&Report),
{
    fn run(&mut self) -> io::Result<Summary> {
        let start = Instant::now();
        // Connections open a few at a time (see `BulkConfig::max_connecting`), one message
        // each; each fills up to `window` once greeted.
        self.ensure_connections();
        while self.outstanding > 0 || self.has_work() || self.input_open() {
            if self.conns.is_empty() {
                if !self.has_work() {
                    if self.input_open() {
                        // Nothing to send yet and nothing in flight: wait for the input.
                        self.driver.turn(self.max_wait())?;
                        self.after_turn();
                        continue;
                    }
                    // Unreachable: every outstanding message is queued or on a connection.
                    break;
                }
                self.ensure_connections();
                continue;
            }
            self.driver.turn(self.max_wait())?;
            while let Some((token, event)) = self.driver.poll_event() {
                self.on_event(token, event);
            }
            self.after_turn();
        }
        self.summary.elapsed = start.elapsed();

        // Every outcome is known: say QUIT everywhere and wait a little for the 221s.
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.quit(token);
        }
        let deadline = Instant::now() + self.config.quit_grace;
        while !self.driver.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.driver.turn(Some(left))?;
            while self.driver.poll_event().is_some() {}
        }
        Ok(self.summary)
    }

    fn has_work(&mut self) -> bool {
        if self.stopping {
            return false;
        }
        if !self.retry.is_empty() || self.lookahead.is_some() {
            return true;
        }
        if self.ended {
            return false;
        }
        let message = match (self.source)() {
            Pull::Message(message) => message,
            Pull::NotYet => {
                self.input_waiting = true;
                return false;
            }
            Pull::Ended => {
                self.ended = true;
                return false;
            }
        };
        self.summary.messages += 1;
        self.outstanding += 1;
        self.lookahead = Some(Pending {
            index: self.next_index,
            attempts: 0,
            envelope: Some(message.envelope),
            len: message.content.len_hint().unwrap_or(0),
            content: message.content,
            failure: None,
        });
        self.next_index += 1;
        true
    }

    /// The input may still give messages (it has not ended, and the run is not stopping).
    fn input_open(&self) -> bool {
        !self.ended && !self.stopping
    }

    fn take_work(&mut self) -> Option<Pending> {
        if !self.has_work() {
            return None;
        }
        self.retry.pop_front().or_else(|| self.lookahead.take())
    }

    fn open(&mut self) -> Result<Token, TransportError> {
        // `Driver::connect` draws a fresh SCRAM nonce for every connection.
        let token = match &self.config.proxy_header {
            Some(header) => self.driver.connect_proxied(
                self.config.server,
                self.config.session.clone(),
                self.config.tls.clone(),
                header,
            )?,
            None => self.driver.connect(
                self.config.server,
                self.config.session.clone(),
                self.config.tls.clone(),
            )?,
        };
        self.summary.connections += 1;
        self.connecting += 1;
        self.conns.insert(token, Conn::default());
        self.summary.peak_connections = self.summary.peak_connections.max(self.conns.len());
        Ok(token)
    }

    /// Queues one message on the connection with the start of its content
    /// ([`ContentFeed::send`]); the rest is written as the core takes it. False when there was
    /// nothing to queue or the session takes no more.
    fn assign(&mut self, token: Token) -> bool {
        if !self.has_work() || !self.admit() {
            return false;
        }
        let Some(mut pending) = self.take_work() else {
            return false;
        };
        if self.driver.client(token).is_none() {
            self.requeue(pending);
            return false;
        }
        let Some(envelope) = pending.envelope.take() else {
            // Unreachable: a message is only queued with its envelope.
            return true;
        };
        let mut feed = match ContentFeed::open(&pending.content) {
            Ok(feed) => feed,
            Err(e) => {
                self.content_failed(pending, e);
                return true;
            }
        };
        let Some(conn) = self.conns.get_mut(&token) else {
            pending.envelope = Some(envelope);
            self.requeue(pending);
            return false;
        };
        let Some(client) = self.driver.client_mut(token) else {
            pending.envelope = Some(envelope);
            self.requeue(pending);
            return false;
        };
        let front = conn.feeds.is_empty();
        // The core may refuse the call; it then gives nothing back, so keep a copy for that.
        match feed.send(client, envelope.clone()) {
            Ok((id, fed)) => {
                pending.attempts += 1;
                conn.bytes += pending.len;
                conn.taken += 1;
                if fed != Fed::Finished {
                    // Turned away as the front message: `BodyWanted` comes. Behind another,
                    // it is written when its turn comes.
                    if front {
                        conn.blocked = true;
                    }
                    conn.feeds.push_back((id, feed));
                }
                conn.assigned.push_back((id, pending));
                true
            }
            Err(FeedError::Session(UsageError::Closed | UsageError::Quitting)) => {
                pending.envelope = Some(envelope);
                self.requeue(pending);
                false
            }
            Err(FeedError::Session(e)) => {
                let attempts = pending.attempts;
                self.report(pending.index, attempts, Outcome::Refused(e));
                true
            }
            Err(FeedError::Read(e)) => {
                self.content_failed(pending, e);
                true
            }
            Err(e) => {
                self.content_failed(pending, io::Error::other(e.to_string()));
                true
            }
        }
    }

    /// A message whose content cannot be read (a file that cannot be opened, a reader already
    /// read by an earlier try) fails without a try.
    fn content_failed(&mut self, pending: Pending, e: io::Error) {
        let failure = Failure {
            content_sent: false,
            error: None,
            transport: Some(Arc::new(TransportError::Content(e))),
        };
        self.report(pending.index, pending.attempts, Outcome::Failed(failure));
    }

    /// Tops the connection up to `window` messages and `window_bytes` of content (always at
    /// least one), then writes what content it can; QUIT when it has nothing left to do.
    fn refill(&mut self, token: Token) {
        loop {
            let Some(conn) = self.conns.get(&token) else {
                return;
            };
            if conn.quitting || conn.retiring || conn.assigned.len() >= self.window {
                break;
            }
            if self
                .config
                .max_per_connection
                .is_some_and(|max| conn.taken >= max.max(1))
            {
                if let Some(conn) = self.conns.get_mut(&token) {
                    conn.retiring = true;
                }
                // Its replacement opens now, while it finishes what it has.
                self.ensure_connections();
                break;
            }
            let bytes = conn.bytes;
            let busy = !conn.assigned.is_empty();
            match self.next_len() {
                None => break,
                Some(len) if busy && bytes.saturating_add(len) > self.config.window_bytes => break,
                Some(_) => {}
            }
            if !self.assign(token) {
                break;
            }
        }
        self.write_content(token);
        self.quit_if_idle(token);
    }

    /// The length of the message `take_work` would give next.
    fn next_len(&mut self) -> Option<u64> {
        if !self.has_work() {
            return None;
        }
        self.retry
            .front()
            .or(self.lookahead.as_ref())
            .map(|p| p.len)
    }

    fn quit_if_idle(&mut self, token: Token) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        let idle = conn.assigned.is_empty();
        let retiring = conn.retiring;
        // While the input is open, an idle connection waits for it.
        if idle && (retiring || (!self.has_work() && !self.input_open())) {
            self.quit(token);
        }
    }

    fn quit(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.quitting {
            return;
        }
        conn.quitting = true;
        if let Some(client) = self.driver.client_mut(token) {
            // Refused only when the session is already closed or quitting: nothing to do then.
            let _ = client.quit();
        }
    }

    fn report(&mut self, index: usize, attempts: u32, outcome: Outcome) {
        let report = Report {
            index,
            attempts,
            outcome,
        };
        if report.is_accepted() {
            self.summary.accepted += 1;
        } else if matches!(report.outcome, Outcome::Failed(_)) {
            self.summary.failed += 1;
        } else if matches!(report.outcome, Outcome::NotAttempted) {
            self.summary.not_attempted += 1;
        } else {
            self.summary.rejected += 1;
        }
        self.outstanding -= 1;
        (self.on_report)(&report);
    }

    fn take_assigned(&mut self, token: Token, id: MessageId) -> Option<Pending> {
        let conn = self.conns.get_mut(&token)?;
        let at = conn.assigned.iter().position(|(m, _)| *m == id)?;
        let pending = conn.assigned.remove(at).map(|(_, p)| p)?;
        conn.bytes = conn.bytes.saturating_sub(pending.len);
        Some(pending)
    }

    /// Writes the content of the connection's front message as far as its core takes it, then
    /// the next message's when that one is finished. A message whose outcome is known already
    /// (refused early) is finished with what it has. Content that cannot be read fails its
    /// message (not tried again: the same source would fail again) and the connection, which
    /// is closed so that the server cannot take a truncated message; the connection's other
    /// messages are tried again.
    fn write_content(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let Some(client) = self.driver.client_mut(token) else {
            return;
        };
        let mut failed = None;
        while let Some((id, feed)) = conn.feeds.front_mut() {
            let id = *id;
            if !conn.assigned.iter().any(|(m, _)| *m == id) {
                let _ = client.finish_body(id);
                conn.feeds.pop_front();
                conn.blocked = false;
                continue;
            }
            if conn.blocked {
                break;
            }
            match feed.pump(client, id) {
                Ok(Fed::Finished) => {
                    conn.feeds.pop_front();
                }
                Ok(_) => conn.blocked = true,
                Err(FeedError::Read(e)) => {
                    failed = Some((id, e));
                    break;
                }
                // The session is closed: its `Closed` event settles everything.
                Err(_) => break,
            }
        }
        if let Some((id, e)) = failed {
            if let Some(pending) = self.take_assigned(token, id) {
                let failure = Failure {
                    content_sent: false,
                    error: None,
                    transport: Some(Arc::new(TransportError::Content(e))),
                };
                self.report(pending.index, pending.attempts, Outcome::Failed(failure));
            }
            self.driver.abort(token);
        }
    }

    fn on_event(&mut self, token: Token, event: DriverEvent) {
        let event = match event {
            DriverEvent::Transport(e) => {
                if let Some(conn) = self.conns.get_mut(&token) {
                    conn.transport = Some(Arc::new(e));
                }
                return;
            }
            DriverEvent::Session(event) => event,
        };
        match event {
            Event::GreetingReceived(_) => {
                if let Some(conn) = self.conns.get_mut(&token) {
                    if !conn.greeted {
                        conn.greeted = true;
                        self.connecting -= 1;
                    }
                }
                self.ensure_connections();
            }
            // The server's extensions are known now: whether content must be measured before
            // MAIL is decided on them, not guessed.
            Event::Ready => {
                if self.driver.tls_handshake_kind(token) == Some(rustls::HandshakeKind::Resumed) {
                    self.summary.tls_resumed += 1;
                }
                self.refill(token);
            }
            Event::BodyWanted(id) => {
                if let Some(conn) = self.conns.get_mut(&token) {
                    if conn.feeds.front().is_some_and(|(f, _)| *f == id) {
                        conn.blocked = false;
                    }
                }
                self.write_content(token);
            }
            Event::MessageDone(mut outcome) => {
                let Some(mut pending) = self.take_assigned(token, outcome.message) else {
                    return;
                };
                // A message refused before its content was all written gets no more of it.
                self.write_content(token);
                if let Verdict::Failed {
                    error,
                    content_sent,
                } = &outcome.verdict
                {
                    // The session ended first: try again elsewhere, with the envelope given back.
                    let failure = Failure {
                        content_sent: *content_sent,
                        error: Some(error.clone()),
                        transport: self.conns.get(&token).and_then(|c| c.transport.clone()),
                    };
                    let may_resend = !*content_sent || self.config.retry_after_content;
                    // A server that refused the session itself (its greeting, EHLO, AUTH,
                    // XCLIENT, a TLS it must offer) refuses the next connection alike: another
                    // try would only repeat it (and repeat failed logins).
                    let refused = matches!(
                        error.class(),
                        mailwire::Class::Permanent | mailwire::Class::Security
                    );
                    if pending.attempts < self.attempts && may_resend && !refused {
                        pending.envelope = Some(core::mem::take(&mut outcome.envelope));
                        pending.failure = Some(failure);
                        self.requeue(pending);
                    } else {
                        self.report(pending.index, pending.attempts, Outcome::Failed(failure));
                    }
                    return;
                }
                self.report(pending.index, pending.attempts, Outcome::Done(outcome));
                self.refill(token);
            }
            Event::Closed(_) => self.on_closed(token),
            _ => {}
        }
    }

    fn on_closed(&mut self, token: Token) {
        let Some(conn) = self.conns.remove(&token) else {
            return;
        };
        if !conn.greeted {
            self.connecting = self.connecting.saturating_sub(1);
        }
        // The core reports every message before `Closed`; anything still assigned here (none,
        // unless a session ended without its outcomes) is tried again.
        for (_, pending) in conn.assigned.into_iter().rev() {
            if pending.envelope.is_some() {
                self.requeue(pending);
            }
        }
        // Give the retries to connections with room, then open new ones up to K.
        self.refill_all();
        self.ensure_connections();
    }

    /// Opens connections up to K while work is waiting, at most `max_connecting` of them not
    /// greeted yet; each gets one message now and the rest of its window once greeted.
    fn ensure_connections(&mut self) {
        while self.conns.values().filter(|c| !c.retiring).count() < self.config.connections.max(1)
            && self.connecting < self.config.max_connecting.max(1)
            && self.has_work()
        {
            let token = match self.open() {
                Ok(t) => t,
                // No connection at all: the messages fail now instead of looping.
                Err(e) if self.conns.is_empty() => return self.fail_all(e),
                Err(_) => break,
            };
            self.assign(token);
        }
    }

    /// No connection can be opened and none is open: every message waiting fails.
    fn fail_all(&mut self, error: TransportError) {
        let transport = Arc::new(error);
        while let Some(pending) = self.take_work() {
            let failure = Failure {
                content_sent: false,
                error: None,
                transport: Some(transport.clone()),
            };
            self.report(pending.index, pending.attempts, Outcome::Failed(failure));
        }
    }

    /// Back to the head of the queue; once stopping, reported instead: its last failure when
    /// a try failed, else not attempted.
    fn requeue(&mut self, mut pending: Pending) {
        if !self.stopping {
            return self.retry.push_front(pending);
        }
        let outcome = match pending.failure.take() {
            Some(failure) => Outcome::Failed(failure),
            None => Outcome::NotAttempted,
        };
        self.report(pending.index, pending.attempts, outcome);
    }

    /// A token for one more message (always, without a rate).
    fn admit(&mut self) -> bool {
        let Some(bucket) = &mut self.bucket else {
            return true;
        };
        let admitted = bucket.try_take(Instant::now());
        self.throttled |= !admitted;
        admitted
    }

    /// The loop's wait: bounded while a stop flag may be set, and until the next token when
    /// a message waits for one.
    fn max_wait(&self) -> Option<Duration> {
        let mut wait = self.config.stop.as_ref().map(|_| STOP_POLL);
        if self.input_waiting {
            wait = Some(wait.map_or(INPUT_POLL, |w| w.min(INPUT_POLL)));
        }
        if let (true, Some(bucket)) = (self.throttled, &self.bucket) {
            let now = Instant::now();
            let until = bucket.next_token(now).saturating_duration_since(now);
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        wait
    }

    /// The stop flag, and the next token for messages that waited for one.
    fn after_turn(&mut self) {
        let stop = self.config.stop.as_ref();
        if !self.stopping && stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            self.stopping = true;
            while let Some(pending) = self.retry.pop_front() {
                self.requeue(pending);
            }
            if let Some(pending) = self.lookahead.take() {
                self.requeue(pending);
            }
            // Connections with nothing in flight say QUIT.
            self.refill_all();
            return;
        }
        if self.input_waiting {
            // Ask the input again: connections with room, then new ones up to K.
            self.input_waiting = false;
            self.refill_all();
            self.ensure_connections();
        }
        let now = Instant::now();
        if self.throttled
            && self
                .bucket
                .as_ref()
                .is_some_and(|b| b.next_token(now) <= now)
        {
            self.throttled = false;
            self.refill_all();
            self.ensure_connections();
        }
    }

    fn refill_all(&mut self) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            self.refill(t);
        }
    }
}
