//! [`Client`]: the tokio driver. One loop, the blocking adapter's in async: write what the core
//! has to send, wait for the server's bytes or the core's next deadline (whichever comes first),
//! feed what happened back, drain the events, and start TLS when the core asks. Every decision
//! about replies and outcomes is the core's.

use crate::stream::{self, Stream};
use mailwire::body::ContentMeter;
use mailwire::sasl::Mechanism;
use mailwire::{
    Capabilities, CommandId, Envelope, MessageId, MessageOutcome, ProbeDepth, Reply, Timestamp,
};
use mailwire_transport::{
    ClientOptions, Error, FeedStep, Feeds, Ledger, SendContentFeed, TlsError, TlsSetup, Transport,
};
use std::io;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// The `log` target of transcript lines (`-> ` sent, `<- ` received), at debug level.
pub const TRANSCRIPT_TARGET: &str = "mailwire_tokio::transcript";

/// Bytes read from the socket, and body bytes read from the caller's reader, at a time.
const CHUNK: usize = 64 * 1024;

/// A streamed body's wire bytes are written once this many are waiting (a small body goes out
/// with its end mark in one write).
const FLUSH_AT: usize = CHUNK;

/// An SMTP client session over tokio TCP, with STARTTLS or implicit TLS through tokio-rustls.
///
/// ```no_run
/// use mailwire_tokio::{Client, ClientOptions};
/// use mailwire_tokio::mailwire::{ClientName, Envelope, Mailbox};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = ClientOptions::new("mail.example.org", 587, ClientName::parse("client.example")?);
/// let mut client = Client::connect(options).await?;
/// let envelope = Envelope::new(
///     Some(Mailbox::parse("alice@example.org")?),
///     [Mailbox::parse("bob@example.net")?],
/// );
/// let outcome = client.send_bytes(envelope, b"Subject: hi\r\n\r\nHello\r\n").await?;
/// println!("accepted: {}, {:?}", outcome.is_accepted(), outcome.final_reply());
/// client.quit().await?;
/// # Ok(())
/// # }
/// ```
///
/// # Cancellation
///
/// Every method that talks to the server returns a future. Dropping one after it was first
/// polled and before it completed (a `tokio::time::timeout` that fired, a `select!` that took
/// another branch, an aborted task) **ends the session**: the socket is shut down at once, in
/// the drop itself, so whatever the cancelled call had not written never leaves, and in
/// particular the server never receives the end of data of a message cut short (it sees the
/// connection end mid-content and drops the message, RFC 5321 4.1.1.4). Nothing reports that
/// message delivered; its outcome is unknown only if its end of data had already gone out.
/// Every later call returns [`Error::Cancelled`]. A future dropped before its first poll did
/// nothing and changes nothing.
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
            .field("cancelled", &self.ledger.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// A call in progress. Dropped before [`Call::done`] (its future was dropped part-way), it
/// cancels the session.
struct Call<'a> {
    client: &'a mut Client,
    done: bool,
}

impl<'a> Call<'a> {
    fn new(client: &'a mut Client) -> Call<'a> {
        Call {
            client,
            done: false,
        }
    }

    fn done<T>(mut self, value: T) -> T {
        self.done = true;
        value
    }
}

impl Deref for Call<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
    }
}

impl DerefMut for Call<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.client.cancel();
        }
    }
}

impl Client {
    /// Connects (every resolved address in turn, or those of [`ClientOptions::family`], from
    /// [`ClientOptions::local_address`] when set, each bounded by
    /// [`ClientOptions::connect_timeout`], TCP_NODELAY; or to [`ClientOptions::unix_socket`]),
    /// then drives the greeting, EHLO,
    /// STARTTLS (under the configured policy) or implicit TLS, and AUTH, until the session is
    /// ready for messages. SCRAM gets a fresh client nonce for this connection. A probe
    /// ([`mailwire::Config::stop_after`]) returns once its QUIT is answered, the session closed
    /// and what it learnt in [`Client::session`] (see [`crate::probe()`]).
    pub async fn connect(options: ClientOptions) -> Result<Client, Error> {
        let tls = options.tls_setup()?;
        let mut config = options.config.clone();
        // SCRAM's client nonce, fresh for this connection whatever the caller's options carried
        // (RFC 5802 9); the core reads no random source.
        mailwire_transport::renew_nonce(&mut config)?;
        let implicit = config.implicit_tls;
        let core = mailwire::Client::new(config, Timestamp::ZERO)?;
        let socket = stream::connect(&options).await?;
        let mut client = Client {
            core,
            stream: Stream::Plain(socket),
            epoch: Instant::now(),
            out: Vec::new(),
            input: vec![0; CHUNK],
            tls,
            ledger: Ledger::new(TRANSCRIPT_TARGET),
        };
        if implicit {
            // RFC 8314: TLS from the first byte; the handshake counts against the greeting.
            client.start_tls().await;
        }
        client
            .drive(|c| c.core.is_ready() || mailwire_transport::probe_stopped(&c.core))
            .await?;
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

    /// The TLS session: protocol version, cipher suite, whether it resumed an earlier one, and
    /// the certificates the server presented; `None` without TLS.
    pub fn tls_info(&self) -> Option<mailwire_transport::TlsInfo> {
        match &self.stream {
            Stream::Tls(s) => mailwire_transport::TlsInfo::of(s.get_ref().1),
            _ => None,
        }
    }

    /// The SASL mechanism the session authenticated with, if it did.
    pub fn authenticated_mechanism(&self) -> Option<&Mechanism> {
        self.ledger.authenticated()
    }

    /// Whether the session can take more work: it has not ended, and no call was cancelled.
    pub fn is_open(&self) -> bool {
        self.usable().is_ok()
    }

    /// Sends one message, streaming its content from `body` (any line-end convention; the
    /// session normalises line ends and dot-stuffs). Memory stays bounded by the session's
    /// [`mailwire::Limits::body_buffer`] whatever the body's size: the reader is read as the
    /// session takes the bytes (`write_body`'s back-pressure).
    ///
    /// The size and 8-bit octets of a body streamed this way are not known before MAIL: declare
    /// them in `envelope.params` when you know them (or use [`Client::send_file`] or
    /// [`Client::send_bytes`], which measure them, or [`declare_content`]).
    ///
    /// No deadline runs while the session waits for `body` itself: bound a reader that may
    /// stall with `tokio::time::timeout` (which cancels the session, see [`Client`]).
    ///
    /// `Ok` with the outcome when the server decided (accepted, partly, or refused; a message
    /// this server cannot take as asked is refused with [`mailwire::Rejection::Unsendable`]
    /// before its MAIL goes out). `Err` when no outcome could be had: the call was refused
    /// ([`Error::Usage`]), the body could not be read ([`Error::Body`]), or the session ended
    /// first ([`Error::Session`]).
    pub async fn send(
        &mut self,
        envelope: Envelope,
        body: impl AsyncRead + Unpin,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let id = self.core.send_message(envelope)?;
        let mut call = Call::new(self);
        call.stream_body(id, body).await;
        let result = call.finish_send(id).await;
        call.done(result)
    }

    /// [`Client::send`] with the content in memory: its exact size is declared as `SIZE=` and
    /// its 8-bit octets as `BODY=8BITMIME` (a message over the server's SIZE, or 8-bit for a
    /// server without 8BITMIME, is refused before MAIL). The session takes the bytes as it
    /// sends them, at most [`mailwire::Limits::body_buffer`] at a time: they are never copied
    /// whole (a body larger than that is measured where it is, when the server's extensions
    /// make its size matter).
    pub async fn send_bytes(
        &mut self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<MessageOutcome, Error> {
        let (id, feed) = self.queue_bytes(envelope, body)?;
        let mut feeds = Feeds::new();
        feeds.push(id, feed);
        let mut call = Call::new(self);
        call.feed(&mut feeds).await;
        let result = call.finish_send(id).await;
        call.done(result)
    }

    /// Queues a message whose content is `body` ([`SendContentFeed::send`]: a body that fits is
    /// finished before its MAIL; a larger one is measured by the session when that matters).
    fn queue_bytes<'b>(
        &mut self,
        envelope: Envelope,
        body: &'b [u8],
    ) -> Result<(MessageId, SendContentFeed<'b>), Error> {
        self.usable()?;
        let mut feed = SendContentFeed::send_slice(body);
        let (id, _) = feed.send(&mut self.core, envelope)?;
        Ok((id, feed))
    }

    /// Sends a message built with [`crate::message`] (feature `builder`): exactly
    /// `self.send_bytes(email.envelope(), &email.to_bytes()).await`. Change the envelope first
    /// (a bounce address, DSN parameters) by calling [`Client::send_bytes`] yourself.
    #[cfg(feature = "builder")]
    pub async fn send_email(
        &mut self,
        email: &mailwire_message::Email,
    ) -> Result<MessageOutcome, Error> {
        self.send_bytes(email.envelope(), &email.to_bytes()).await
    }

    /// [`Client::send`] from a file. When the server's extensions make it matter
    /// ([`mailwire::Client::content_facts_wanted`]: it announced SIZE, or not 8BITMIME), the
    /// file is measured first (one read for its RFC 1870 size and 8-bit octets, declared as
    /// `SIZE=` and `BODY=` unless `envelope.params` says otherwise), then streamed (a second
    /// read). A file that grows between the two is still held to the server's SIZE as it is
    /// sent.
    pub async fn send_file(
        &mut self,
        mut envelope: Envelope,
        path: impl AsRef<Path>,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let path = path.as_ref();
        let read = |e: io::Error| Error::Body(Arc::new(e));
        if self.core.content_facts_wanted() {
            let file = tokio::fs::File::open(path).await.map_err(read)?;
            declare_content(&mut envelope, file).await.map_err(read)?;
        }
        let file = tokio::fs::File::open(path).await.map_err(read)?;
        self.send(envelope, file).await
    }

    /// Sends several messages, queued together so that with PIPELINING (or CHUNKING) one
    /// message's commands go out with the previous message's content: one round trip per
    /// message or less. One result per message, in order, as [`Client::send_bytes`] would give
    /// it; a refused message does not stop the others.
    ///
    /// Every message is queued at once (its envelope), and the contents are taken in order as
    /// the session sends them ([`mailwire_transport::Feeds`]), never copied whole: the session
    /// holds at most [`mailwire::Limits::body_buffer`] content bytes, however many messages
    /// are given.
    pub async fn send_many<I, B>(&mut self, messages: I) -> Vec<Result<MessageOutcome, Error>>
    where
        I: IntoIterator<Item = (Envelope, B)>,
        B: AsRef<[u8]>,
    {
        let messages: Vec<(Envelope, B)> = messages.into_iter().collect();
        let mut feeds = Feeds::new();
        let order = feeds.queue_each(&messages, |envelope, body| self.queue_bytes(envelope, body));
        let mut call = Call::new(self);
        call.feed(&mut feeds).await;
        drop(feeds);
        let results = order
            .into_iter()
            .map(|r| r.and_then(|id| call.take_outcome(id)))
            .collect();
        call.flush().await;
        call.done(results)
    }

    /// VRFY (RFC 5321 3.5.1): the server's reply, whatever its code.
    pub async fn verify(&mut self, address: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.verify(address)?;
        self.await_reply(id).await
    }

    /// EXPN (RFC 5321 3.5.2): the server's reply, whatever its code.
    pub async fn expand(&mut self, list: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.expand(list)?;
        self.await_reply(id).await
    }

    /// ETRN (RFC 1985): asks the server to start delivering what it holds for `node`
    /// (`example.org`, `@example.org`, `#queue`); the server's reply, whatever its code.
    pub async fn etrn(&mut self, node: &str) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.etrn(node)?;
        self.await_reply(id).await
    }

    /// NOOP: the server's reply. Keeps an idle session alive, or checks it still is.
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.noop(None)?;
        self.await_reply(id).await
    }

    /// HELP, with an optional topic: the server's reply.
    pub async fn help(&mut self, topic: Option<&str>) -> Result<Reply, Error> {
        self.usable()?;
        let id = self.core.help(topic)?;
        self.await_reply(id).await
    }

    /// A probe ([`mailwire::Client::probe`]): MAIL FROM, and with [`ProbeDepth::Rcpt`] every
    /// RCPT TO, without DATA. `Ok` with the outcome ([`Verdict::Probed`](mailwire::Verdict::Probed)
    /// with every reply, or a refusal as [`Client::send`] gives it); an RSET goes before any
    /// later message.
    pub async fn probe(
        &mut self,
        envelope: Envelope,
        depth: ProbeDepth,
    ) -> Result<MessageOutcome, Error> {
        self.usable()?;
        let id = self.core.probe(envelope, depth)?;
        let mut call = Call::new(self);
        let _ = call.drive(|c| c.ledger.has_outcome(id)).await;
        let result = call.finish_send(id).await;
        call.done(result)
    }

    /// QUIT, and close the connection once the server answers (or closes it).
    pub async fn quit(mut self) -> Result<(), Error> {
        self.usable()?;
        self.core.quit()?;
        let result = self.drive(|c| c.ledger.is_closed()).await;
        let limit = self.write_limit();
        self.stream.close_notify(limit).await;
        self.stream.shutdown();
        result?;
        match self.ledger.closed_cleanly() {
            Some(false) => Err(self.ledger.session_error(&self.core, false)),
            _ => Ok(()),
        }
    }

    /// Ends the session without waiting for the server: QUIT is written if the session is
    /// still open (one small write, bounded by the data block timeout), then the connection is
    /// closed. For a pool retiring an idle connection.
    pub(crate) async fn close_now(mut self) {
        if self.usable().is_ok() && self.core.quit().is_ok() {
            let mut call = Call::new(&mut self);
            call.process().await;
            call.flush().await;
            let limit = call.write_limit();
            call.stream.close_notify(limit).await;
            call.done(());
        }
        self.stream.shutdown();
    }

    // ----- the loop -----

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(Instant::now().saturating_duration_since(self.epoch))
    }

    fn instant(&self, at: Timestamp) -> Instant {
        self.epoch + at.as_duration()
    }

    /// RFC 5321 4.5.3.2.5: each write of content is bounded by the data block timeout.
    fn write_limit(&self) -> Duration {
        self.core
            .config()
            .timeouts
            .data_block
            .max(Duration::from_millis(1))
    }

    /// Refuses work on a session that has ended (or whose call was cancelled).
    fn usable(&self) -> Result<(), Error> {
        self.ledger.usable(&self.core)
    }

    /// A call's future was dropped part-way: shut the socket down now, so nothing more of it
    /// leaves (no end of data for a message cut short), and end the session.
    fn cancel(&mut self) {
        if self.ledger.is_cancelled() {
            return;
        }
        log::info!("a call was cancelled part-way: closing the connection");
        self.ledger.set_cancelled();
        self.stream.shutdown();
        self.stream = Stream::Gone;
        self.out.clear();
        let now = self.now();
        self.core.abort(now);
        // Drain the events (the outcomes of messages cut short, `Closed`): nobody takes them.
        self.ledger.drain(&mut self.core);
    }

    fn take_outcome(&mut self, id: MessageId) -> Result<MessageOutcome, Error> {
        self.ledger.take_outcome(&self.core, id)
    }

    /// The message's result: its outcome, unless the session failed first.
    async fn finish_send(&mut self, id: MessageId) -> Result<MessageOutcome, Error> {
        let result = self.take_outcome(id);
        self.flush().await;
        result
    }

    /// Streams `body` into message `id` as the session takes it, and drives the session until
    /// the message's outcome is known.
    async fn stream_body(&mut self, id: MessageId, mut body: impl AsyncRead + Unpin) {
        let mut buf = vec![0u8; CHUNK];
        let (mut start, mut end) = (0, 0);
        let mut finished = false;
        let mut blocked = false;
        loop {
            self.process().await;
            if self.ledger.take_wanted(id) {
                blocked = false;
            }
            if self.ledger.has_outcome(id) || self.ledger.is_closed() {
                if !finished {
                    // Refused before its content was all written: nothing more is read.
                    let _ = self.core.finish_body(id);
                    self.process().await;
                }
                return;
            }
            if self.out.len() >= FLUSH_AT {
                // The content the session took goes out before more is read: memory stays
                // bounded by the session's body buffer and this.
                self.flush().await;
                continue;
            }
            if !finished && !blocked {
                if start == end {
                    match self.read_body(&mut body, &mut buf).await {
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
            self.wait().await;
        }
    }

    /// Writes the messages' contents in order as the session takes them ([`Feeds::step`]
    /// decides each move), and drives the session until every message in `feeds` has its
    /// outcome (or the session ends).
    async fn feed(&mut self, feeds: &mut Feeds<'_, dyn io::Read + Send + '_>) {
        loop {
            self.process().await;
            match feeds.step(&mut self.core, &mut self.ledger, !self.out.is_empty()) {
                FeedStep::Done => return,
                FeedStep::Continue => {}
                FeedStep::Flush => self.flush().await,
                FeedStep::Wait => self.wait().await,
                FeedStep::Abandon(e) => return self.abandon(e),
                _ => return self.abandon(Error::Stalled),
            }
        }
    }

    /// Reads the next body bytes. When the reader has none ready (a pipe, a slow producer),
    /// what the session has to send goes out first, so commands and content never wait on it;
    /// a ready reader (a file, memory) leaves the flight to grow, so a small body still leaves
    /// with its end mark in one write.
    async fn read_body(
        &mut self,
        body: &mut (impl AsyncRead + Unpin),
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let ready = tokio::select! {
            biased;
            read = read_retrying(body, buf) => Some(read),
            () = std::future::ready(()) => None,
        };
        match ready {
            Some(read) => read,
            None => {
                self.flush().await;
                read_retrying(body, buf).await
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
        self.out.clear();
        let now = self.now();
        self.core.abort(now);
        self.ledger.drain(&mut self.core);
    }

    /// Drives the session until `done` (or until it ends).
    async fn drive(&mut self, done: impl Fn(&Client) -> bool) -> Result<(), Error> {
        loop {
            self.process().await;
            if done(self) {
                self.flush().await;
                return Ok(());
            }
            if self.ledger.is_closed() {
                return Err(self.ledger.session_error(&self.core, false));
            }
            self.wait().await;
        }
    }

    async fn await_reply(&mut self, id: CommandId) -> Result<Reply, Error> {
        let mut call = Call::new(self);
        let result = match call.drive(|c| c.ledger.has_reply(id)).await {
            Ok(()) => call.ledger.take_reply(id),
            Err(e) => Err(e),
        };
        call.done(result)
    }

    /// Takes the bytes to send into `out` and drains events; starts TLS when asked.
    async fn process(&mut self) {
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
            self.flush().await;
            self.start_tls().await;
        }
    }

    /// Writes everything taken from the core as one flight.
    async fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let limit = self.write_limit();
        let result = self.stream.write_flight(&self.out, limit).await;
        self.out.clear();
        if let Err(e) = result {
            // A server that stops reading mid-content often said why first (421, 552): hand
            // the core what already arrived, so the error is its reply, not a broken pipe.
            self.salvage_input().await;
            if !self.core.is_closed() {
                let now = self.now();
                if e.kind() == io::ErrorKind::TimedOut {
                    // The write made no progress for the data block timeout.
                    self.core.handle_write_timeout(now);
                }
                self.io_failed(e);
            }
        }
    }

    /// After a failed write: feeds the core whatever the server already sent, waiting briefly.
    async fn salvage_input(&mut self) {
        let until = Instant::now() + Duration::from_millis(200);
        while !self.core.is_closed() {
            match tokio::time::timeout_at(until, self.stream.read(&mut self.input)).await {
                Ok(Ok(n)) if n > 0 => {
                    let now = self.now();
                    self.core.handle_input(now, &self.input[..n]);
                }
                _ => return,
            }
        }
    }

    /// Writes what is pending, then waits for the next bytes from the server, up to the
    /// current reply's deadline.
    async fn wait(&mut self) {
        self.flush().await;
        self.process().await;
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
        if deadline <= now {
            self.core.handle_timeout(now);
            return;
        }
        let at = self.instant(deadline);
        let read = tokio::select! {
            biased;
            read = self.stream.read(&mut self.input) => Some(read),
            () = tokio::time::sleep_until(at) => None,
        };
        let now = self.now();
        match read {
            None => self.core.handle_timeout(now),
            Some(Ok(0)) => self.core.handle_closed(now),
            Some(Ok(n)) => self.core.handle_input(now, &self.input[..n]),
            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            // rustls: the peer closed without close_notify. For SMTP that is just a close.
            Some(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.core.handle_closed(now)
            }
            Some(Err(e)) => self.io_failed(e),
        }
    }

    /// A read or write failed: the session is over; the caller sees the I/O error under the
    /// core's account of it.
    fn io_failed(&mut self, e: io::Error) {
        self.stream.shutdown();
        let now = self.now();
        self.core.handle_closed(now);
        self.ledger.set_cause(Transport::Io(Arc::new(e)));
    }

    /// Wraps the connection in TLS (STARTTLS's 220 arrived, or implicit TLS), within the
    /// session's deadline for it (or the command timeout).
    async fn start_tls(&mut self) {
        let now = self.now();
        let budget = self.core.config().timeouts.command;
        let deadline = self
            .core
            .poll_timeout()
            .unwrap_or(now.saturating_add(budget));
        let deadline = self.instant(deadline);
        let result = match &self.tls {
            Some(setup) => self.stream.upgrade(setup, deadline).await,
            None => Err(TlsError::Unconfigured),
        };
        let now = self.now();
        match result {
            // With implicit TLS this is a no-op for the core: it was told at creation.
            Ok(()) => self.core.handle_tls_established(now),
            Err(e) => {
                log::info!("TLS failed: {e}");
                self.stream.shutdown();
                self.stream = Stream::Gone;
                e.report_to(&mut self.core, now);
                self.ledger.set_cause(Transport::Tls(e));
            }
        }
    }
}

/// Measures content (one read of `content`: its RFC 1870 size and whether it has octets above
/// 127) and declares it in the envelope: `SIZE=` unless the caller declared a size, and `BODY=`
/// (`8BITMIME` for 8-bit content, `7BIT` for content known to be 7-bit) unless the caller set
/// it. Send the same content afterwards: the session then refuses before MAIL a message too
/// large for the server, or 8-bit for a server without 8BITMIME, and still counts what it sends.
pub async fn declare_content(
    envelope: &mut Envelope,
    mut content: impl AsyncRead + Unpin,
) -> io::Result<()> {
    let mut meter = ContentMeter::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match read_retrying(&mut content, &mut buf).await? {
            0 => break,
            n => meter.update(&buf[..n]),
        }
    }
    mailwire_transport::declare_measured(envelope, &meter);
    Ok(())
}

async fn read_retrying(reader: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf).await {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
