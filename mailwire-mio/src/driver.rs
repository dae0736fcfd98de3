//! [`Driver`]: one `mio::Poll`, one [`Client`] per [`Token`], a deadline heap.
//!
//! # The loop
//! [`Driver::turn`] first flushes the sessions the caller touched (commands queue output), then
//! waits for readiness or the earliest deadline, then for each ready session: finishes a pending
//! connect, reads until `WouldBlock` feeding [`Client::handle_input`] (or
//! [`Client::handle_closed`] on end of stream), writes what [`Client::poll_transmit`] hands out,
//! and drains the session's events into the driver's queue. Expired deadlines get
//! [`Client::handle_timeout`]. The caller takes the events with [`Driver::poll_event`] and reacts
//! with commands on [`Driver::client_mut`].
//!
//! The driver acts on two events only, both decisions the core made: on
//! [`Event::TlsUpgradeRequested`] it starts rustls and, once the handshake is done, calls
//! [`Client::handle_tls_established`]; after [`Event::Closed`] it closes the socket and forgets
//! the session. Both are passed on too.

use mailwire::{Client, Config, Event, Timestamp, UsageError};
use mailwire_transport::{NonceError, ProxyHeader, TlsSetup};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConnection;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The `log` target of transcript lines (`N -> ` sent, `N <- ` received, N the connection), at
/// debug level, as `mailwire_blocking::transcript` has them for one session.
pub const TRANSCRIPT_TARGET: &str = "mailwire_mio::transcript";

/// Logs what the blocking adapter logs for its one session, each record naming its connection
/// (the token's number): the transcript at debug level, TLS and AUTH at info level.
fn log_event(token: Token, event: &Event) {
    let n = token.0;
    match event {
        Event::Transcript(line) => {
            let arrow = match line.direction {
                mailwire::Direction::Sent => "->",
                mailwire::Direction::Received => "<-",
            };
            log::debug!(target: TRANSCRIPT_TARGET, "{n} {arrow} {}", String::from_utf8_lossy(&line.line));
        }
        Event::Authenticated(mechanism) => {
            log::info!("connection {n}: authenticated with {}", mechanism.name())
        }
        Event::TlsSkipped(Some(r)) => {
            log::info!("connection {n}: STARTTLS refused ({r}); going on without TLS")
        }
        Event::TlsSkipped(None) => {
            log::info!("connection {n}: STARTTLS not offered; going on without TLS")
        }
        Event::Closed(Ok(())) => log::debug!("connection {n}: session closed"),
        Event::Closed(Err(e)) => log::debug!("connection {n}: session failed: {e}"),
        other => log::trace!("connection {n}: {other:?}"),
    }
}

/// Bytes read from a socket (or from rustls) at a time.
const READ_BUFFER: usize = 64 * 1024;

/// What happened to a session.
#[derive(Debug)]
#[non_exhaustive]
// The core's events, moved through once each: boxing them would add an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum DriverEvent {
    /// The core reported this.
    Session(Event),
    /// The connection failed underneath the session; the session's [`Event::Closed`] follows.
    Transport(TransportError),
}

/// Why a connection failed: returned by [`Driver::connect`] when the session cannot even start,
/// or reported as [`DriverEvent::Transport`] when the connection fails underneath a session.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// The TCP connection could not be established.
    Connect(io::Error),
    /// Reading or writing failed (or, from [`Driver::connect`], setting up the socket).
    Io(io::Error),
    /// TLS failed (handshake, certificate, bad record), or rustls could not start a
    /// connection with the [`TlsSetup`]'s configuration.
    Tls(rustls::Error),
    /// TLS was needed (implicit TLS, or the core asked for it after STARTTLS) but the session
    /// was opened without a [`TlsSetup`].
    NoTlsSetup,
    /// The socket took none of the pending output for [`mailwire::Timeouts::data_block`]
    /// (RFC 5321 4.5.3.2.5: the core cannot see writes, so the driver bounds them).
    WriteTimeout,
    /// No SCRAM nonce could be drawn for the session ([`mailwire_transport::renew_nonce`]); only
    /// from [`Driver::connect`], before any socket is opened.
    Nonce(NonceError),
    /// The session's configuration was refused ([`Client::new`]: credentials no allowed
    /// mechanism can carry, a nonce too short); only from [`Driver::connect`], before any socket
    /// is opened. The caller's to fix.
    Config(UsageError),
    /// A message's content could not be read (a file that cannot be opened or read, a reader
    /// that failed or was read already): reported by [`crate::bulk`] for that message, whose
    /// connection is closed when part of the content had gone.
    Content(io::Error),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(e) => write!(f, "connect: {e}"),
            TransportError::Io(e) => write!(f, "I/O: {e}"),
            TransportError::Tls(e) => write!(f, "TLS: {e}"),
            TransportError::NoTlsSetup => f.write_str("TLS needed but no TLS configuration"),
            TransportError::WriteTimeout => {
                f.write_str("the server stopped reading (write timed out)")
            }
            TransportError::Nonce(e) => e.fmt(f),
            TransportError::Config(e) => e.fmt(f),
            TransportError::Content(e) => write!(f, "reading the content: {e}"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransportError::Connect(e) | TransportError::Io(e) | TransportError::Content(e) => {
                Some(e)
            }
            TransportError::Tls(e) => Some(e),
            TransportError::Nonce(e) => Some(e),
            TransportError::Config(e) => Some(e),
            TransportError::NoTlsSetup | TransportError::WriteTimeout => None,
        }
    }
}

/// Many SMTP sessions driven by one `mio::Poll` on the calling thread.
///
/// ```no_run
/// use mailwire_mio::{Driver, DriverEvent};
/// use mailwire::{ClientName, Config, Event, TlsPolicy};
///
/// let mut driver = Driver::new()?;
/// let mut config = Config::new(ClientName::parse("client.example").unwrap());
/// config.tls = TlsPolicy::Never;
/// let token = driver.connect("127.0.0.1:2525".parse().unwrap(), config, None)?;
/// driver.client_mut(token).unwrap().quit().unwrap();
/// while !driver.is_empty() {
///     driver.turn(None)?;
///     while let Some((_token, event)) = driver.poll_event() {
///         if let DriverEvent::Session(Event::Closed(result)) = event {
///             println!("closed: {result:?}");
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Driver {
    poll: Poll,
    events: Events,
    sessions: HashMap<Token, Session>,
    /// Deadlines, earliest first. An entry is live while its session's `deadline` still equals
    /// it; stale entries are dropped when they reach the top.
    deadlines: BinaryHeap<Reverse<(Timestamp, Token)>>,
    /// Sessions the caller touched since the last turn: their output is flushed first.
    dirty: Vec<Token>,
    queue: VecDeque<(Token, DriverEvent)>,
    epoch: Instant,
    next_token: usize,
    buf: Box<[u8]>,
    /// Scratch: the tokens of one poll and their readiness.
    ready: Vec<(Token, Readiness)>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("sessions", &self.sessions.len())
            .field("queued_events", &self.queue.len())
            .finish()
    }
}

struct Session {
    client: Client,
    stream: TcpStream,
    /// rustls, once TLS has started (at connect for implicit TLS, after STARTTLS's 220).
    tls: Option<Box<ClientConnection>>,
    setup: Option<TlsSetup>,
    /// The TLS handshake is under way and the core has not been told it finished.
    handshaking: bool,
    /// The TCP connect is in progress.
    connecting: bool,
    /// Wire bytes handed out by the core and not yet taken by the socket (plaintext mode).
    out: Vec<u8>,
    out_pos: usize,
    /// A PROXY protocol header ([`Driver::connect_proxied`]) and how much of it the socket
    /// took: written on the bare connection before anything else, TLS's ClientHello too.
    preamble: Vec<u8>,
    preamble_pos: usize,
    /// Whether WRITABLE interest is registered.
    write_interest: bool,
    /// When pending output must have moved by: set when a write stops short, pushed back by
    /// every write that makes progress, cleared when the output is all out.
    write_stall: Option<Timestamp>,
    /// The deadline last pushed on the heap: the earlier of the core's and `write_stall`.
    deadline: Option<Timestamp>,
    /// Queued in `Driver::dirty` already.
    dirty: bool,
}

impl Driver {
    /// A driver with no sessions.
    pub fn new() -> io::Result<Driver> {
        Ok(Driver {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            sessions: HashMap::new(),
            deadlines: BinaryHeap::new(),
            dirty: Vec::new(),
            queue: VecDeque::new(),
            epoch: Instant::now(),
            next_token: 0,
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            ready: Vec::new(),
        })
    }

    /// The driver's clock, as the core counts time.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_instant(self.epoch, Instant::now())
    }

    /// Starts a non-blocking TCP connection to `addr` (TCP_NODELAY) with a new session. The
    /// session's greeting deadline runs from now, so it also bounds the connect.
    ///
    /// `config` gets a fresh SCRAM client nonce first ([`mailwire_transport::renew_nonce`]): the
    /// same `Config` may be cloned for every connection, and a nonce is for one exchange only
    /// (RFC 5802 9).
    ///
    /// `tls` is what to use when TLS starts: at once when `config.implicit_tls` (then it is
    /// required), or when the core asks after STARTTLS. Clones of one [`TlsSetup`] share its
    /// configuration. Tokens are never reused.
    ///
    /// # Errors
    /// [`TransportError::Nonce`], [`TransportError::NoTlsSetup`] (implicit TLS without `tls`),
    /// [`TransportError::Tls`] (rustls cannot start a connection with `tls`),
    /// [`TransportError::Connect`] or [`TransportError::Io`] (the socket). A connect refused
    /// later is reported as a [`DriverEvent::Transport`] instead.
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        config: Config,
        tls: Option<TlsSetup>,
    ) -> Result<Token, TransportError> {
        self.open(addr, config, tls, None)
    }

    /// [`Driver::connect`], with `header` (a PROXY protocol header) written first on the
    /// connection, before the greeting is read and before any TLS record: its source and
    /// destination where given, else this connection's local address and `addr`.
    ///
    /// # Errors
    /// As [`Driver::connect`]; and [`TransportError::Config`] with
    /// [`mailwire::ConfigError::ProxyHeader`] when the two addresses are of two families (the
    /// socket is closed again, nothing written).
    pub fn connect_proxied(
        &mut self,
        addr: SocketAddr,
        config: Config,
        tls: Option<TlsSetup>,
        header: &ProxyHeader,
    ) -> Result<Token, TransportError> {
        self.open(addr, config, tls, Some(header))
    }

    fn open(
        &mut self,
        addr: SocketAddr,
        mut config: Config,
        tls: Option<TlsSetup>,
        header: Option<&ProxyHeader>,
    ) -> Result<Token, TransportError> {
        mailwire_transport::renew_nonce(&mut config).map_err(TransportError::Nonce)?;
        let client = Client::new(config, self.now()).map_err(TransportError::Config)?;
        let conn = if client.config().implicit_tls {
            let setup = tls.as_ref().ok_or(TransportError::NoTlsSetup)?;
            Some(Box::new(start_tls(setup).map_err(TransportError::Tls)?))
        } else {
            None
        };
        let mut stream = TcpStream::connect(addr).map_err(TransportError::Connect)?;
        stream.set_nodelay(true).map_err(TransportError::Io)?;
        // The connect has bound the local end: the header can say it now.
        let preamble = match header {
            Some(h) => h
                .encode_for(stream.local_addr().ok(), Some(addr))
                .map_err(|e| {
                    TransportError::Config(UsageError::Config(mailwire::ConfigError::ProxyHeader(
                        e,
                    )))
                })?,
            None => Vec::new(),
        };
        let token = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(TransportError::Io)?;
        let handshaking = conn.is_some();
        let mut session = Session {
            client,
            stream,
            tls: conn,
            setup: tls,
            handshaking,
            connecting: true,
            out: Vec::new(),
            out_pos: 0,
            preamble,
            preamble_pos: 0,
            write_interest: true,
            write_stall: None,
            deadline: None,
            dirty: false,
        };
        session.update_deadline(token, &mut self.deadlines);
        self.sessions.insert(token, session);
        Ok(token)
    }

    /// The session's core, to read its state.
    pub fn client(&self, token: Token) -> Option<&Client> {
        self.sessions.get(&token).map(|s| &s.client)
    }

    /// The session's core, to give it commands (`send_message`, `quit`, …). What they queue is
    /// written at the start of the next [`Driver::turn`]. `None` once the session is closed and
    /// its [`Event::Closed`] queued.
    pub fn client_mut(&mut self, token: Token) -> Option<&mut Client> {
        let session = self.sessions.get_mut(&token)?;
        if !session.dirty {
            session.dirty = true;
            self.dirty.push(token);
        }
        Some(&mut session.client)
    }

    /// How the session's TLS handshake went: `Full`, `Resumed` (RFC 8446 2.2: the session of an
    /// earlier connection with the same [`TlsSetup`]), or `None` before TLS or without it.
    pub fn tls_handshake_kind(&self, token: Token) -> Option<rustls::HandshakeKind> {
        self.sessions
            .get(&token)?
            .tls
            .as_ref()
            .filter(|t| !t.is_handshaking())?
            .handshake_kind()
    }

    /// The session's TLS: version, cipher suite, resumption, the server's certificates
    /// ([`mailwire_transport::TlsInfo`]); `None` before the handshake is done or without TLS.
    pub fn tls_info(&self, token: Token) -> Option<mailwire_transport::TlsInfo> {
        mailwire_transport::TlsInfo::of(self.sessions.get(&token)?.tls.as_ref()?)
    }

    /// Ends the session from the caller's side ([`Client::abort`]): its unfinished messages are
    /// reported failed, then `Closed(Err(LocallyAborted))`, and the socket is closed. False when
    /// there is no such session.
    pub fn abort(&mut self, token: Token) -> bool {
        let now = self.now();
        let Some(session) = self.sessions.get_mut(&token) else {
            return false;
        };
        session.client.abort(now);
        self.service(token, now, None);
        true
    }

    /// Open sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<(Token, DriverEvent)> {
        self.queue.pop_front()
    }

    /// Flushes what the caller queued, waits for I/O or the earliest session deadline (at most
    /// `max_wait`, `None` for no limit; not at all when events are waiting), and handles what is
    /// ready. Take the events with [`Driver::poll_event`] afterwards. Every open session that
    /// awaits something has a deadline; with no session at all and `max_wait` `None`, this
    /// waits for ever.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let now = self.now();
        let dirty = std::mem::take(&mut self.dirty);
        for &token in &dirty {
            self.service(token, now, None);
        }
        self.dirty = dirty;
        self.dirty.clear();

        let mut wait = max_wait;
        if !self.queue.is_empty() {
            wait = Some(Duration::ZERO);
        }
        if let Some(deadline) = self.next_deadline() {
            let until = deadline.saturating_since(now);
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let now = self.now();
        let mut ready = std::mem::take(&mut self.ready);
        ready.extend(self.events.iter().map(|e| {
            let readable = e.is_readable() || e.is_read_closed() || e.is_error();
            (
                e.token(),
                Readiness {
                    readable,
                    read_closed: e.is_read_closed() || e.is_error(),
                },
            )
        }));
        for &(token, readiness) in &ready {
            self.service(token, now, Some(readiness));
        }
        ready.clear();
        self.ready = ready;

        while let Some(&Reverse((deadline, token))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let Some(session) = self.sessions.get_mut(&token) else {
                continue;
            };
            if session.deadline != Some(deadline) {
                continue;
            }
            session.deadline = None;
            if session.write_stall.is_some_and(|w| w <= now) {
                let mut ctx = Ctx {
                    token,
                    now,
                    queue: &mut self.queue,
                };
                session.fail(&mut ctx, TransportError::WriteTimeout);
            } else {
                session.client.handle_timeout(now);
            }
            self.service(token, now, None);
        }
        Ok(())
    }

    /// The earliest live deadline, dropping stale heap entries on the way.
    fn next_deadline(&mut self) -> Option<Timestamp> {
        while let Some(&Reverse((deadline, token))) = self.deadlines.peek() {
            if self
                .sessions
                .get(&token)
                .is_some_and(|s| s.deadline == Some(deadline))
            {
                return Some(deadline);
            }
            self.deadlines.pop();
        }
        None
    }

    /// Moves one session along: I/O if it was polled ready, then output, events, interest,
    /// deadline; forgets it once closed.
    fn service(&mut self, token: Token, now: Timestamp, ready: Option<Readiness>) {
        let Some(session) = self.sessions.get_mut(&token) else {
            return;
        };
        session.dirty = false;
        let mut ctx = Ctx {
            token,
            now,
            queue: &mut self.queue,
        };
        if let Some(readiness) = ready {
            session.on_ready(&mut ctx, &mut self.buf, readiness);
        }
        session.flush(&mut ctx);
        session.drain(&mut ctx);
        if session.client.is_closed() {
            if let Some(mut session) = self.sessions.remove(&token) {
                if let Some(tls) = session.tls.as_mut() {
                    // Best effort: tell the server the TLS stream ends (RFC 8446 6.1).
                    tls.send_close_notify();
                    let _ = tls.write_tls(&mut session.stream);
                }
                let _ = self.poll.registry().deregister(&mut session.stream);
            }
            return;
        }
        let want = session.wants_write();
        if want != session.write_interest {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            match self
                .poll
                .registry()
                .reregister(&mut session.stream, token, interest)
            {
                Ok(()) => session.write_interest = want,
                Err(e) => {
                    session.fail(&mut ctx, TransportError::Io(e));
                    return self.service(token, now, None);
                }
            }
        }
        session.update_deadline(token, &mut self.deadlines);
    }
}

/// A new rustls connection for a session, its outgoing plaintext unbounded: the core bounds
/// what it hands out, and rustls must not refuse part of a flight.
fn start_tls(setup: &TlsSetup) -> Result<ClientConnection, rustls::Error> {
    let mut conn = setup.connection()?;
    conn.set_buffer_limit(None);
    Ok(conn)
}

/// What one poll said about a socket.
#[derive(Clone, Copy, Debug)]
struct Readiness {
    readable: bool,
    /// The peer's FIN (or an error) was already there when the poll returned: read to the end,
    /// no edge will announce it again.
    read_closed: bool,
}

/// What a session needs from the driver while it is serviced.
struct Ctx<'a> {
    token: Token,
    now: Timestamp,
    queue: &'a mut VecDeque<(Token, DriverEvent)>,
}

impl Session {
    fn wants_write(&self) -> bool {
        self.connecting
            || self.preamble_pos < self.preamble.len()
            || self.out_pos < self.out.len()
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    fn update_deadline(
        &mut self,
        token: Token,
        heap: &mut BinaryHeap<Reverse<(Timestamp, Token)>>,
    ) {
        let deadline = match (self.client.poll_timeout(), self.write_stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if deadline != self.deadline {
            self.deadline = deadline;
            if let Some(d) = deadline {
                heap.push(Reverse((d, token)));
            }
        }
    }

    /// Passes the core's events on; starts TLS when the core asks.
    fn drain(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(event) = self.client.poll_event() {
            log_event(ctx.token, &event);
            let upgrade = matches!(event, Event::TlsUpgradeRequested);
            ctx.queue
                .push_back((ctx.token, DriverEvent::Session(event)));
            if upgrade {
                self.start_tls(ctx);
            }
        }
    }

    fn start_tls(&mut self, ctx: &mut Ctx<'_>) {
        let Some(setup) = &self.setup else {
            return self.fail(ctx, TransportError::NoTlsSetup);
        };
        match start_tls(setup) {
            Ok(conn) => {
                self.tls = Some(Box::new(conn));
                self.handshaking = true;
            }
            Err(e) => self.fail(ctx, TransportError::Tls(e)),
        }
    }

    /// A write failed (the server closed or reset the connection). What the server said before
    /// it went (a 421, or a refusal of the content) may still be waiting to be read: give it to
    /// the core first, so the message is reported as the server meant it.
    fn fail_write(&mut self, ctx: &mut Ctx<'_>, error: io::Error) {
        let mut buf = [0u8; 4096];
        while !self.client.is_closed() {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    self.client.handle_input(ctx.now, &buf[..n]);
                    self.drain(ctx);
                }
            }
        }
        self.fail(ctx, TransportError::Io(error));
    }

    /// The connection failed underneath the core.
    fn fail(&mut self, ctx: &mut Ctx<'_>, error: TransportError) {
        if self.client.is_closed() {
            return;
        }
        log::info!("connection {}: {error}", ctx.token.0);
        // Tell the core what happened, so its `Closed` error says so; `handle_closed` after
        // is a no-op if it already ended the session.
        match &error {
            TransportError::Tls(_) | TransportError::NoTlsSetup => {
                self.client.handle_tls_failed(ctx.now)
            }
            TransportError::WriteTimeout => self.client.handle_write_timeout(ctx.now),
            _ => {}
        }
        ctx.queue
            .push_back((ctx.token, DriverEvent::Transport(error)));
        self.client.handle_closed(ctx.now);
        self.drain(ctx);
    }

    fn on_ready(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8], readiness: Readiness) {
        if self.connecting {
            match self.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return self.fail(ctx, TransportError::Connect(e)),
            }
            match self.stream.peer_addr() {
                Ok(addr) => {
                    log::info!("connection {}: connected to {addr}", ctx.token.0);
                    self.connecting = false;
                }
                // Spurious wake-up: the connect is still in progress.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(ctx, TransportError::Connect(e)),
            }
        }
        if !readiness.readable {
            return;
        }
        if self.tls.is_some() {
            self.read_tls(ctx, buf);
        } else {
            self.read_plain(ctx, buf, readiness.read_closed);
        }
    }

    /// Reads until the socket is drained (mio is edge-triggered), feeding the core. A short read
    /// drained it: data or a FIN arriving later raises a new edge, so no read is spent on
    /// `WouldBlock`. A FIN already there when the poll returned raises none: then read on to
    /// the end of stream.
    fn read_plain(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8], read_closed: bool) {
        loop {
            if self.client.is_closed() {
                return;
            }
            if self.tls.is_some() {
                // The core asked for TLS in the middle of this read: the rest is TLS records.
                return self.read_tls(ctx, buf);
            }
            match self.stream.read(buf) {
                Ok(0) => {
                    self.client.handle_closed(ctx.now);
                    return self.drain(ctx);
                }
                Ok(n) => {
                    self.client.handle_input(ctx.now, &buf[..n]);
                    self.drain(ctx);
                    if n < buf.len() && !read_closed && self.tls.is_none() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(ctx, TransportError::Io(e)),
            }
        }
    }

    fn read_tls(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8]) {
        loop {
            if self.client.is_closed() {
                return;
            }
            let Some(tls) = self.tls.as_mut() else { return };
            let eof = match tls.read_tls(&mut self.stream) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(ctx, TransportError::Io(e)),
            };
            if let Err(e) = tls.process_new_packets() {
                // Send the alert rustls queued, best effort.
                let _ = tls.write_tls(&mut self.stream);
                return self.fail(ctx, TransportError::Tls(e));
            }
            if self.handshaking && !tls.is_handshaking() {
                self.handshaking = false;
                // Worded as the other adapters word it.
                log::info!(
                    "connection {}: TLS established ({})",
                    ctx.token.0,
                    mailwire_transport::negotiated(tls)
                );
                self.client.handle_tls_established(ctx.now);
                self.drain(ctx);
            }
            let mut closed = eof;
            loop {
                let Some(tls) = self.tls.as_mut() else { return };
                match tls.reader().read(buf) {
                    // close_notify: the server ended the TLS stream.
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        self.client.handle_input(ctx.now, &buf[..n]);
                        self.drain(ctx);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // EOF without close_notify (truncation) or a failure: the stream is over.
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                self.client.handle_closed(ctx.now);
                return self.drain(ctx);
            }
        }
    }

    /// Takes the core's output and writes as much as the socket accepts.
    fn flush(&mut self, ctx: &mut Ctx<'_>) {
        if self.connecting || self.client.is_closed() {
            return;
        }
        let mut progress = false;
        match self.write_preamble(ctx, &mut progress) {
            Err(()) => return,
            Ok(true) => {
                if self.flush_output(ctx, &mut progress).is_err() {
                    return;
                }
            }
            // The socket is full: the stall bookkeeping below, then the next writable.
            Ok(false) => {}
        }
        if !self.wants_write() {
            self.write_stall = None;
        } else if progress || self.write_stall.is_none() {
            let limit = self.client.config().timeouts.data_block;
            self.write_stall = Some(ctx.now.saturating_add(limit));
        }
    }

    /// The PROXY header, on the bare socket, until the socket has taken all of it (`Ok(true)`;
    /// at once when there is none). `Ok(false)`: the socket is full.
    fn write_preamble(&mut self, ctx: &mut Ctx<'_>, progress: &mut bool) -> Result<bool, ()> {
        let written = write_plain(
            &mut self.stream,
            &self.preamble,
            &mut self.preamble_pos,
            progress,
        );
        self.written(ctx, written)
    }

    /// What [`write_plain`] gave, the session failed when it failed.
    fn written(&mut self, ctx: &mut Ctx<'_>, written: io::Result<bool>) -> Result<bool, ()> {
        match written {
            Ok(drained) => Ok(drained),
            Err(e) if e.kind() == io::ErrorKind::WriteZero => {
                self.fail(ctx, TransportError::Io(e));
                Err(())
            }
            Err(e) => {
                self.fail_write(ctx, e);
                Err(())
            }
        }
    }

    /// The core's output (and TLS's records) to the socket, as far as it takes them. `Err`
    /// when the connection failed (the session is failed already).
    fn flush_output(&mut self, ctx: &mut Ctx<'_>, progress: &mut bool) -> Result<(), ()> {
        // Take more from the core only once what it gave is on its way: the core holds what the
        // socket has not taken, and `write_body` pushes back on that (Limits::body_buffer). Once
        // everything is out (a TLS flight too, such as the handshake's last), take again: the
        // core may have queued more meanwhile (the EHLO after STARTTLS), and no event would
        // come to send it.
        loop {
            if self.out_pos == self.out.len() {
                self.out.clear();
                self.out_pos = 0;
                let pending_tls = self.tls.as_ref().is_some_and(|t| t.wants_write());
                if !pending_tls && self.client.poll_transmit(ctx.now, &mut self.out) == 0 {
                    break;
                }
            }
            if !self.write_out(ctx, progress)? {
                break;
            }
        }
        Ok(())
    }

    /// Writes `out` (through rustls when TLS is on) as far as the socket takes it. `Ok(true)`
    /// when everything left, `Ok(false)` when the socket is full; `Err` when the connection
    /// failed (the session is failed already).
    fn write_out(&mut self, ctx: &mut Ctx<'_>, progress: &mut bool) -> Result<bool, ()> {
        if let Some(tls) = self.tls.as_mut() {
            if self.out_pos < self.out.len() {
                // Unbounded buffer (see `start_tls`): all of it is taken.
                if let Err(e) = tls.writer().write_all(&self.out[self.out_pos..]) {
                    self.fail(ctx, TransportError::Io(e));
                    return Err(());
                }
                self.out.clear();
                self.out_pos = 0;
            }
            while tls.wants_write() {
                match tls.write_tls(&mut self.stream) {
                    Ok(_) => *progress = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.fail(ctx, TransportError::Io(e));
                        return Err(());
                    }
                }
            }
            return Ok(true);
        }
        let written = write_plain(&mut self.stream, &self.out, &mut self.out_pos, progress);
        self.written(ctx, written)
    }
}

/// Writes `buf[*pos..]` to the bare socket, moving `pos`: `Ok(true)` when all of it is taken,
/// `Ok(false)` when the socket is full; a socket that takes nothing is `WriteZero`.
fn write_plain(
    stream: &mut TcpStream,
    buf: &[u8],
    pos: &mut usize,
    progress: &mut bool,
) -> io::Result<bool> {
    while *pos < buf.len() {
        match stream.write(&buf[*pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *pos += n;
                *progress = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
