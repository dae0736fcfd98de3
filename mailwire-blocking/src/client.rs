//! [`Client`]: the blocking driver. One loop: write what the core has to send, read with the
//! core's next deadline as the socket timeout, feed what was read (or the close, or the timeout)
//! back, drain the events, and start TLS when the core asks. Every decision about replies and
//! outcomes is the core's.

use crate::stream::{self, Stream};
use mailwire::body::ContentMeter;
use mailwire::sasl::Mechanism;
use mailwire::{
    Capabilities, CommandId, Envelope, MessageId, MessageOutcome, ProbeDepth, Reply, Timestamp,
};
use mailwire_transport::{ClientOptions, Error, Ledger, TlsError, TlsSetup, Transport};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `log` target of transcript lines (`-> ` sent, `<- ` received), at debug level.
pub const TRANSCRIPT_TARGET: &str = "mailwire_blocking::transcript";

/// Bytes read from the socket, and body bytes read from the caller's reader, at a time.
const CHUNK: usize = 64 * 1024;

/// A streamed body's wire bytes are written once this many are waiting (a small body goes out
/// with its end mark in one write).
const FLUSH_AT: usize = CHUNK;

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
        self.stream_body(id, body);
        self.finish_send(id)
    }

    /// [`Client::send`] with the content in memory: its exact size is declared as `SIZE=` and
    /// its 8-bit octets as `BODY=8BITMIME` (a message over the server's SIZE, or 8-bit for a
    /// server without 8BITMIME, is refused before MAIL).
    pub fn send_bytes(&mut self, envelope: Envelope, body: &[u8]) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let id = self.core.send_message_with_body(envelope, body)?;
        let _ = self.drive(|c| c.ledger.has_outcome(id));
        self.finish_send(id)
    }

    /// [`Client::send`] from a file, measured first (one read of the file for its RFC 1870
    /// size and 8-bit octets, declared as `SIZE=` and `BODY=` unless `envelope.params` says
    /// otherwise), then streamed (a second read). A file that grows between the two is still
    /// held to the server's SIZE as it is sent.
    pub fn send_file(
        &mut self,
        mut envelope: Envelope,
        path: impl AsRef<Path>,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let path = path.as_ref();
        let read = |e: io::Error| Error::Body(Arc::new(e));
        declare_content(&mut envelope, File::open(path).map_err(read)?).map_err(read)?;
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
    pub fn send_many<I, B>(&mut self, messages: I) -> Vec<Result<MessageOutcome, Error>>
    where
        I: IntoIterator<Item = (Envelope, B)>,
        B: AsRef<[u8]>,
    {
        let mut order: Vec<Result<MessageId, Error>> = Vec::new();
        for (envelope, body) in messages {
            let queued = self.usable().and_then(|()| {
                self.core
                    .send_message_with_body(envelope, body.as_ref())
                    .map_err(Error::from)
            });
            order.push(queued);
        }
        let ids: Vec<MessageId> = order
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let _ = self.drive(|c| ids.iter().all(|id| c.ledger.has_outcome(*id)));
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

    /// Streams `body` into message `id` as the session takes it, and drives the session until
    /// the message's outcome is known.
    fn stream_body(&mut self, id: MessageId, mut body: impl Read) {
        let mut buf = vec![0u8; CHUNK];
        let (mut start, mut end) = (0, 0);
        let mut finished = false;
        let mut blocked = false;
        loop {
            self.process();
            if self.ledger.take_wanted(id) {
                blocked = false;
            }
            if self.ledger.has_outcome(id) || self.ledger.is_closed() {
                if !finished {
                    // Refused before its content was all written: nothing more is read.
                    let _ = self.core.finish_body(id);
                    self.process();
                }
                return;
            }
            if self.out.len() >= FLUSH_AT {
                // The content the session took goes out before more is read: memory stays
                // bounded by the session's body buffer and this.
                self.flush();
                continue;
            }
            if !finished && !blocked {
                if start == end {
                    match read_retrying(&mut body, &mut buf) {
                        Ok(0) => {
                            finished = true;
                            if let Err(e) = self.core.finish_body(id) {
                                return self.abandon(Error::Usage(e));
                            }
                            continue;
                        }
                        Ok(n) => (start, end) = (0, n),
                        Err(e) => return self.abandon(Error::Body(Arc::new(e))),
                    }
                }
                match self.core.write_body(id, &buf[start..end]) {
                    Ok(taken) => {
                        start += taken;
                        blocked = start < end;
                    }
                    Err(e) => return self.abandon(Error::Usage(e)),
                }
                continue;
            }
            self.wait();
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
        if let Err(e) = self.stream.set_read_timeout(remaining) {
            return self.io_failed(e);
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
                tls_failed(&mut self.core, &e, now);
                self.ledger.set_cause(Transport::Tls(e));
            }
        }
    }
}

/// Tells the core how the handshake it asked for failed, as every adapter does: rustls refused
/// it (`handle_tls_failed`: `TlsHandshakeFailed`), the connection failed under it
/// (`handle_closed`: `ConnectionClosed`), or its deadline passed (`handle_timeout`). With
/// implicit TLS the first two end the session as a closed connection at the greeting. Then the
/// connection is closed in any case.
fn tls_failed(core: &mut mailwire::Client, e: &TlsError, now: Timestamp) {
    match e {
        TlsError::Io(_) => {}
        TlsError::HandshakeTimeout => core.handle_timeout(now),
        _ => core.handle_tls_failed(now),
    }
    core.handle_closed(now);
}

/// Measures content (one read of `content`: its RFC 1870 size and whether it has octets above
/// 127) and declares it in the envelope: `SIZE=` unless the caller declared a size, and `BODY=`
/// (`8BITMIME` for 8-bit content, `7BIT` for content known to be 7-bit) unless the caller set
/// it. Send the same content afterwards: the session then refuses before MAIL a message too
/// large for the server, or 8-bit for a server without 8BITMIME, and still counts what it sends.
pub fn declare_content(envelope: &mut Envelope, mut content: impl Read) -> io::Result<()> {
    let mut meter = ContentMeter::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match read_retrying(&mut content, &mut buf)? {
            0 => break,
            n => meter.update(&buf[..n]),
        }
    }
    mailwire_transport::declare_measured(envelope, &meter);
    Ok(())
}

fn read_retrying(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
