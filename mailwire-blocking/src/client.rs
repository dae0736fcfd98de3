//! [`Client`]: the blocking driver. One loop: write what the core has to send, read with the
//! core's next deadline as the socket timeout, feed what was read (or the close, or the timeout)
//! back, drain the events, and start TLS when the core asks. Every decision about replies and
//! outcomes is the core's.

use crate::stream::{self, Stream};
use mailwire::sasl::Mechanism;
use mailwire::{
    Capabilities, CommandId, Envelope, MessageId, MessageOutcome, ProbeDepth, Reply, Timestamp,
};
use mailwire_transport::{
    declare_content, ClientOptions, ContentFeed, Error, FeedStep, Feeds, Ledger, TlsError,
    TlsSetup, Transport,
};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `log` target of transcript lines (`-> ` sent, `<- ` received), at debug level.
pub const TRANSCRIPT_TARGET: &str = "mailwire_blocking::transcript";

/// Bytes read from the socket, and body bytes read from the caller's reader, at a time.
const CHUNK: usize = 64 * 1024;

/// A blocking SMTP client session over TCP, with STARTTLS or implicit TLS through rustls.
///
/// ```no_run
/// use mailwire_blocking::{Client, ClientOptions};
/// use mailwire::{ClientName, Envelope, Mailbox};
///
/// let options = ClientOptions::new("mail.example.org", 587, ClientName::parse("client.example")?);
/// let mut client = Client::connect(options)?;
/// let envelope = Envelope::new(
///     Some(Mailbox::parse("alice@example.org")?),
///     [Mailbox::parse("bob@example.net")?],
/// );
/// let outcome = client.send_bytes(envelope, b"Subject: hi\r\n\r\nHello\r\n")?;
/// println!("accepted: {}, {:?}", outcome.is_accepted(), outcome.final_reply());
/// client.quit()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client {
    core: mailwire::Client,
    stream: Stream,
    epoch: Instant,
    /// Wire bytes taken from the core and not yet written.
    out: Vec<u8>,
    input: Vec<u8>,
    /// The read timeout the socket has, when this client set it last (`None`: unknown).
    read_timeout: Option<Duration>,
    tls: Option<TlsSetup>,
    /// The core's events for the calls waiting on them, and what failed underneath.
    ledger: Ledger,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.core)
            .field("secure", &self.core.is_secure())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects, then drives the greeting, EHLO, STARTTLS (under the configured policy) or
    /// implicit TLS, and AUTH, until the session is ready for messages. A probe
    /// ([`mailwire::Config::stop_after`]) returns once its QUIT is answered, the session closed
    /// and what it learnt in [`Client::session`] (see [`crate::probe()`]).
    pub fn connect(options: ClientOptions) -> Result<Client, Error> {
        let tls = options.tls_setup()?;
        let mut config = options.config.clone();
        // SCRAM's client nonce, fresh for this connection whatever the caller's options carried
        // (RFC 5802 9); the core reads no random source.
        mailwire_transport::renew_nonce(&mut config)?;
        let implicit = config.implicit_tls;
        let core = mailwire::Client::new(config, Timestamp::ZERO)?;
        let socket = stream::connect(&options)?;
        let mut client = Client {
            core,
            stream: Stream::Plain(socket),
            epoch: Instant::now(),
            out: Vec::new(),
            input: vec![0; CHUNK],
            read_timeout: None,
            tls,
            ledger: Ledger::new(TRANSCRIPT_TARGET),
        };
        if let Err(e) = client.set_write_timeout() {
            return Err(Error::Connect {
                server: options.server(),
                source: Arc::new(e),
            });
        }
        if implicit {
            // RFC 8314: TLS from the first byte; the handshake counts against the greeting.
            client.start_tls();
        }
        client.drive(|c| c.core.is_ready() || mailwire_transport::probe_stopped(&c.core))?;
        Ok(client)
    }

    /// The sans-IO session inside (capabilities, state, configuration).
    pub fn session(&self) -> &mailwire::Client {
        &self.core
    }

    /// The server's capabilities from its latest EHLO reply.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.core.capabilities()
    }

    /// Whether the connection is encrypted.
    pub fn is_secure(&self) -> bool {
        self.core.is_secure()
    }

    /// How the TLS handshake went: `Full`, or `Resumed` (RFC 8446 2.2) when an earlier
    /// connection made with the same [`mailwire_transport::TlsOptions`] (or a clone of them:
    /// they share one rustls configuration and its session store) left a session to resume;
    /// `None` without TLS.
    pub fn tls_handshake_kind(&self) -> Option<rustls::HandshakeKind> {
        match &self.stream {
            Stream::Tls(s) => s.conn.handshake_kind(),
            _ => None,
        }
    }

    /// The TLS session: protocol version, cipher suite, whether it resumed an earlier one, and
    /// the certificates the server presented; `None` without TLS.
    pub fn tls_info(&self) -> Option<mailwire_transport::TlsInfo> {
        match &self.stream {
            Stream::Tls(s) => mailwire_transport::TlsInfo::of(&s.conn),
            _ => None,
        }
    }

    /// The SASL mechanism the session authenticated with, if it did.
    pub fn authenticated_mechanism(&self) -> Option<&Mechanism> {
        self.ledger.authenticated()
    }

    /// Sends one message, streaming its content from `body` (any line-end convention; the
    /// session normalises line ends and dot-stuffs). Memory stays bounded by the session's
    /// [`mailwire::Limits::body_buffer`] whatever the body's size: the reader is read as the
    /// session takes the bytes.
    ///
    /// The size and 8-bit octets of a body streamed this way are not known before MAIL: declare
    /// them in `envelope.params` when you know them (or use [`Client::send_file`] or
    /// [`Client::send_bytes`], which measure them).
    ///
    /// `Ok` with the outcome when the server decided (accepted, partly, or refused; a message
    /// this server cannot take as asked is refused with [`mailwire::Rejection::Unsendable`]
    /// before its MAIL goes out). `Err` when no outcome could be had: the call was refused
    /// ([`Error::Usage`]), the body could not be read, or the session ended first
    /// ([`Error::Session`]).
    pub fn send(&mut self, envelope: Envelope, body: impl Read) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let id = self.core.send_message(envelope)?;
        let mut feeds = Feeds::new();
        feeds.push(id, ContentFeed::from_reader(body));
        self.feed(&mut feeds);
        self.finish_send(id)
    }

    /// [`Client::send`] with the content in memory: its exact size is declared as `SIZE=` and
    /// its 8-bit octets as `BODY=8BITMIME` (a message over the server's SIZE, or 8-bit for a
    /// server without 8BITMIME, is refused before MAIL). The session takes the bytes as it
    /// sends them, at most [`mailwire::Limits::body_buffer`] at a time: they are never copied
    /// whole (a body larger than that is measured where it is, when the server's extensions
    /// make its size matter).
    pub fn send_bytes(&mut self, envelope: Envelope, body: &[u8]) -> Result<MessageOutcome, Error> {
        let (id, feed) = self.queue_bytes(envelope, body)?;
        let mut feeds = Feeds::new();
        feeds.push(id, feed);
        self.feed(&mut feeds);
        self.finish_send(id)
    }

    /// Queues a message whose content is `body` ([`ContentFeed::send`]: a body that fits is
    /// finished before its MAIL; a larger one is measured by the session when that matters).
    fn queue_bytes<'b>(
        &mut self,
        envelope: Envelope,
        body: &'b [u8],
    ) -> Result<(MessageId, ContentFeed<'b>), Error> {
        self.usable()?;
        let mut feed = ContentFeed::from_slice(body);
        let (id, _) = feed.send(&mut self.core, envelope)?;
        Ok((id, feed))
    }

    /// [`Client::send`] from a file. When the server's extensions make it matter
    /// ([`mailwire::Client::content_facts_wanted`]: it announced SIZE, or not 8BITMIME), the
    /// file is measured first (one read for its RFC 1870 size and 8-bit octets, declared as
    /// `SIZE=` and `BODY=` unless `envelope.params` says otherwise), then streamed (a second
    /// read). A file that grows between the two is still held to the server's SIZE as it is
    /// sent.
    pub fn send_file(
        &mut self,
        mut envelope: Envelope,
        path: impl AsRef<Path>,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let path = path.as_ref();
        let read = |e: io::Error| Error::Body(Arc::new(e));
        if self.core.content_facts_wanted() {
            declare_content(&mut envelope, File::open(path).map_err(read)?).map_err(read)?;
        }
        let file = File::open(path).map_err(read)?;
        self.send(envelope, file)
    }

    /// Sends a message built with [`crate::message`] (feature `builder`): exactly
    /// `self.send_bytes(email.envelope(), &email.to_bytes())`. Change the envelope first (a
    /// bounce address, DSN parameters) by calling [`Client::send_bytes`] yourself.
    #[cfg(feature = "builder")]
    pub fn send_email(&mut self, email: &mailwire_message::Email) -> Result<MessageOutcome, Error> {
        self.send_bytes(email.envelope(), &email.to_bytes())
    }

    /// Sends several messages, queued together so that with PIPELINING (or CHUNKING) one
    /// message's commands go out with the previous message's content: one round trip per
    /// message or less. One result per message, in order, as [`Client::send_bytes`] would give
    /// it; a refused message does not stop the others.
    ///
    /// Every message is queued at once (its envelope), and the contents are taken in order as
    /// the session sends them ([`mailwire_transport::Feeds`]), never copied whole: the
    /// session holds at most [`mailwire::Limits::body_buffer`] content bytes, however many
    /// messages are given.
    pub fn send_many<I, B>(&mut self, messages: I) -> Vec<Result<MessageOutcome, Error>>
    where
        I: IntoIterator<Item = (Envelope, B)>,
        B: AsRef<[u8]>,
    {
        let messages: Vec<(Envelope, B)> = messages.into_iter().collect();
        let mut feeds = Feeds::new();
        let order = feeds.queue_each(&messages, |envelope, body| self.queue_bytes(envelope, body));
        self.feed(&mut feeds);
        drop(feeds);
        self.flush();
        order
            .into_iter()
            .map(|r| r.and_then(|id| self.ledger.take_outcome(&self.core, id)))
            .collect()
    }

    /// VRFY (RFC 5321 3.5.1): the server's reply, whatever its code.
    pub fn verify(&mut self, address: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.verify(address)?;
        self.await_reply(id)
    }

    /// EXPN (RFC 5321 3.5.2): the server's reply, whatever its code.
    pub fn expand(&mut self, list: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.expand(list)?;
        self.await_reply(id)
    }

    /// ETRN (RFC 1985): asks the server to start delivering what it holds for `node`
    /// (`example.org`, `@example.org`, `#queue`); the server's reply, whatever its code.
    pub fn etrn(&mut self, node: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.etrn(node)?;
        self.await_reply(id)
    }

    /// NOOP: the server's reply. Keeps an idle session alive, or checks it still is.
    pub fn noop(&mut self) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.noop(None)?;
        self.await_reply(id)
    }

    /// HELP, with an optional topic: the server's reply.
    pub fn help(&mut self, topic: Option<&str>) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.help(topic)?;
        self.await_reply(id)
    }

    /// A probe ([`mailwire::Client::probe`]): MAIL FROM, and with [`ProbeDepth::Rcpt`] every
    /// RCPT TO, without DATA. `Ok` with the outcome ([`Verdict::Probed`](mailwire::Verdict::Probed) with every reply, or a
    /// refusal as [`Client::send`] gives it); an RSET goes before any later message.
    pub fn probe(
        &mut self,
        envelope: Envelope,
        depth: ProbeDepth,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let id = self.core.probe(envelope, depth)?;
        let _ = self.drive(|c| c.ledger.has_outcome(id));
        self.finish_send(id)
    }

    /// QUIT, and close the connection once the server answers (or closes it).
    pub fn quit(mut self) -> Result<(), Error> {
        self.usable()?;
        self.core.quit()?;
        let result = self.drive(|c| c.ledger.is_closed());
        self.stream.close_notify();
        self.stream.shutdown();
        result?;
        match self.ledger.closed_cleanly() {
            Some(false) => Err(self.ledger.session_error(&self.core, false)),
            _ => Ok(()),
        }
    }

    /// Ends the session without waiting: QUIT is written if the session is still open (one
    /// small write, bounded by the write timeout), then the connection is closed. For a pool
    /// that retires an idle connection.
    pub(crate) fn close_now(mut self) {
        if self.ledger.usable(&self.core).is_ok() && self.core.quit().is_ok() {
            self.process();
            self.flush();
            self.stream.close_notify();
        }
        self.stream.shutdown();
    }

    /// Whether the session can take more work (it has not ended).
    pub(crate) fn is_open(&self) -> bool {
        self.ledger.usable(&self.core).is_ok()
    }

    // ----- the loop -----

    fn now(&self) -> Timestamp {
        Timestamp::from_instant(self.epoch, Instant::now())
    }

    fn set_write_timeout(&self) -> io::Result<()> {
        // RFC 5321 4.5.3.2.5: each TCP send of content is bounded by the data block timeout.
        let d = self
            .core
            .config()
            .timeouts
            .data_block
            .max(Duration::from_millis(1));
        match &self.stream {
            Stream::Plain(s) => s.set_write_timeout(Some(d)),
            Stream::Tls(s) => s.sock.set_write_timeout(Some(d)),
            Stream::Gone => Ok(()),
        }
    }

    /// Refuses work on a session that has ended, with the error that ended it.
    fn usable(&self) -> Result<(), Error> {
        self.ledger.usable(&self.core)
    }

    /// The message's result: its outcome, unless the session failed first.
    fn finish_send(&mut self, id: MessageId) -> Result<MessageOutcome, Error> {
        let result = self.ledger.take_outcome(&self.core, id);
        self.flush();
        result
    }

    /// Writes the messages' contents in order as the session takes them ([`Feeds::step`]
    /// decides each move), and drives the session until every message in `feeds` has its
    /// outcome (or the session ends).
    fn feed(&mut self, feeds: &mut Feeds<'_>) {
        loop {
            self.process();
            match feeds.step(&mut self.core, &mut self.ledger, !self.out.is_empty()) {
                FeedStep::Done => return,
                FeedStep::Continue => {}
                FeedStep::Flush => self.flush(),
                FeedStep::Wait => self.wait(),
                FeedStep::Abandon(e) => return self.abandon(e),
                _ => return self.abandon(Error::Stalled),
            }
        }
    }

    /// Gives up on the session from this side: closes the connection so that the server
    /// cannot take a truncated message.
    fn abandon(&mut self, error: Error) {
        if let Error::Body(e) = &error {
            self.ledger.set_body_failure(e.clone());
        }
        self.stream.shutdown();
        let now = self.now();
        self.core.abort(now);
        self.process();
    }

    /// Drives the session until `done` (or until it ends).
    fn drive(&mut self, done: impl Fn(&Client) -> bool) -> Result<(), Error> {
        loop {
            self.process();
            if done(self) {
                self.flush();
                return Ok(());
            }
            if self.ledger.is_closed() {
                return Err(self.ledger.session_error(&self.core, false));
            }
            self.wait();
        }
    }

    fn await_reply(&mut self, id: CommandId) -> Result<Reply, Error> {
        self.drive(|c| c.ledger.has_reply(id))?;
        self.ledger.take_reply(id)
    }

    /// Takes the bytes to send into `out` and drains events; starts TLS when asked.
    fn process(&mut self) {
        loop {
            let now = self.now();
            self.core.poll_transmit(now, &mut self.out);
            self.ledger.drain(&mut self.core);
            if self.ledger.closed_cleanly() == Some(false) {
                // Nothing more is read or written; the server must not wait on us.
                self.stream.shutdown();
            }
            if !self.ledger.take_tls_request() {
                break;
            }
            // STARTTLS itself was written before its reply was awaited; flush anyway so that
            // nothing queued before the handshake could go out inside TLS.
            self.flush();
            self.start_tls();
        }
    }

    /// Writes everything taken from the core in one `write_all` (one flight).
    fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let result = self
            .stream
            .write_all(&self.out)
            .and_then(|()| self.stream.flush());
        self.out.clear();
        if let Err(e) = result {
            // A server that stops reading mid-content often said why first (421, 552): hand
            // the core what already arrived, so the error is its reply, not a broken pipe.
            self.salvage_input();
            if !self.core.is_closed() {
                self.io_failed(e);
            }
        }
    }

    /// After a failed write: feeds the core whatever the server already sent, waiting briefly.
    fn salvage_input(&mut self) {
        self.read_timeout = None;
        if self
            .stream
            .set_read_timeout(Duration::from_millis(200))
            .is_err()
        {
            return;
        }
        while !self.core.is_closed() {
            match self.stream.read(&mut self.input) {
                Ok(n) if n > 0 => {
                    let now = self.now();
                    self.core.handle_input(now, &self.input[..n]);
                }
                _ => return,
            }
        }
    }

    /// Writes what is pending, then waits for the next bytes from the server, up to the
    /// current reply's deadline.
    fn wait(&mut self) {
        self.flush();
        self.process();
        if self.ledger.is_closed() || self.ledger.any_wanted() {
            return;
        }
        if !self.out.is_empty() {
            // More to write (the session took body bytes as the last flight left).
            return;
        }
        let now = self.now();
        let Some(deadline) = self.core.poll_timeout() else {
            // Nothing is awaited, so nothing can arrive that would move us on: a bug.
            self.ledger.set_stalled();
            self.stream.shutdown();
            self.core.abort(now);
            return;
        };
        let remaining = deadline.saturating_since(now);
        if remaining.is_zero() {
            self.core.handle_timeout(now);
            return;
        }
        // A timeout the socket has already is kept when it is no longer than the time left
        // (no read waits past the deadline) and not much shorter (an early wake is a no-op for
        // the core, whose `handle_timeout` before the deadline does nothing, and the loop waits
        // again, at most 8 times): one setsockopt less for most waits, two a message.
        let kept = self
            .read_timeout
            .is_some_and(|t| t <= remaining && t >= remaining / 8);
        if !kept {
            let timeout = remaining.max(Duration::from_millis(1));
            if let Err(e) = self.stream.set_read_timeout(timeout) {
                return self.io_failed(e);
            }
            self.read_timeout = Some(timeout);
        }
        match self.stream.read(&mut self.input) {
            Ok(0) => {
                let now = self.now();
                self.core.handle_closed(now);
            }
            Ok(n) => {
                let now = self.now();
                self.core.handle_input(now, &self.input[..n]);
            }
            Err(e) if stream::is_timeout(&e) => {
                let now = self.now();
                self.core.handle_timeout(now);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // rustls: the peer closed without close_notify. For SMTP that is just a close.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let now = self.now();
                self.core.handle_closed(now);
            }
            Err(e) => self.io_failed(e),
        }
    }

    /// A read or write failed: the session is over; the caller sees the I/O error under the
    /// core's account of it.
    fn io_failed(&mut self, e: io::Error) {
        self.stream.shutdown();
        let now = self.now();
        if stream::is_timeout(&e) {
            // A write that made no progress for the data-block timeout (reads time out in
            // `wait`, through the core's own deadline).
            self.core.handle_write_timeout(now);
        }
        self.core.handle_closed(now);
        self.ledger.set_cause(Transport::Io(Arc::new(e)));
    }

    /// Wraps the connection in TLS (STARTTLS's 220 arrived, or implicit TLS).
    fn start_tls(&mut self) {
        let now = self.now();
        let budget = self.core.config().timeouts.command;
        let deadline = self
            .core
            .poll_timeout()
            .unwrap_or(now.saturating_add(budget));
        let deadline = deadline.to_instant(self.epoch);
        // The handshake sets read timeouts of its own.
        self.read_timeout = None;
        let result = match &self.tls {
            Some(setup) => self.stream.upgrade(setup, deadline),
            None => Err(TlsError::Unconfigured),
        };
        let now = self.now();
        match result.and_then(|()| {
            self.set_write_timeout()
                .map_err(|e| TlsError::Io(Arc::new(e)))
        }) {
            Ok(()) => {
                // With implicit TLS this is a no-op for the core: it was told at creation.
                self.core.handle_tls_established(now);
            }
            Err(e) => {
                log::info!("TLS failed: {e}");
                self.stream.shutdown();
                e.report_to(&mut self.core, now);
                self.ledger.set_cause(Transport::Tls(e));
            }
        }
    }
}
