//! [`SmtpClient`]: the blocking driver. One loop: write what the core has to send, read with the
//! core's next deadline as the socket timeout, feed what was read (or the close, or the timeout)
//! back, drain the events, and start TLS when the core asks. Every decision about replies is the
//! core's.

use crate::error::{SendError, TlsError};
use crate::options::ClientOptions;
use crate::report::{MessageReport, Outcome, RecipientReport, RecipientStatus};
use crate::stream::{self, Stream};
use smtp_proto::sasl::Mechanism;
use smtp_proto::{
    Capabilities, Client, CommandId, Direction, Envelope, Event, MessageId, Reply, Stage, Timestamp,
};
use smtp_transport::TlsSetup;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `log` target of transcript lines (`-> ` sent, `<- ` received), at debug level.
pub const TRANSCRIPT_TARGET: &str = "smtp_blocking::transcript";

/// Bytes read from the socket, and body bytes read from the caller's reader, at a time.
const CHUNK: usize = 64 * 1024;

/// A message being sent, until its outcome is known.
struct Tracker {
    recipients: Vec<RecipientReport>,
    outcome: Option<Outcome>,
    /// `MessageFailed` arrived: the outcome waits for the error from `Closed`.
    failed: Option<bool>,
}

/// A blocking SMTP client session over TCP, with STARTTLS or implicit TLS through rustls.
///
/// ```no_run
/// use smtp_blocking::{ClientOptions, SmtpClient};
/// use smtp_proto::{ClientName, Envelope, Mailbox};
///
/// let options = ClientOptions::new("mail.example.org", 587, ClientName::parse("client.example")?);
/// let mut client = SmtpClient::connect(options)?;
/// let envelope = Envelope::new(
///     Some(Mailbox::parse("alice@example.org")?),
///     [Mailbox::parse("bob@example.net")?],
/// );
/// let report = client.send_bytes(envelope, b"Subject: hi\r\n\r\nHello\r\n")?;
/// println!("{:?}", report.final_reply());
/// client.quit()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SmtpClient {
    core: Client,
    stream: Stream,
    epoch: Instant,
    /// Wire bytes taken from the core and not yet written.
    out: Vec<u8>,
    input: Vec<u8>,
    /// Built at connect when TLS may be used (implicit TLS, or a STARTTLS policy other than
    /// `Never`).
    tls: Option<TlsSetup>,
    tls_requested: bool,
    /// What ended the session on this side (I/O, TLS), which the core only sees as a close.
    failure: Option<SendError>,
    closed: Option<Result<(), smtp_proto::Error>>,
    messages: HashMap<MessageId, Tracker>,
    replies: HashMap<CommandId, Reply>,
    authenticated: Option<Mechanism>,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("core", &self.core)
            .field("secure", &self.core.is_secure())
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    /// Connects, then drives the greeting, EHLO, STARTTLS (under the configured policy) or
    /// implicit TLS, and AUTH, until the session is ready for messages.
    pub fn connect(options: ClientOptions) -> Result<SmtpClient, SendError> {
        let ClientOptions {
            host,
            mut config,
            tls,
            ..
        } = options.clone();
        let wants_tls = config.implicit_tls || config.tls != smtp_proto::TlsPolicy::Never;
        let tls = if wants_tls {
            Some(TlsSetup::from_options(&tls, &host)?)
        } else {
            None
        };
        // SCRAM's client nonce, fresh for this connection whatever the caller's options carried
        // (RFC 5802 9); the core reads no random source.
        smtp_transport::renew_nonce(&mut config)?;
        let implicit = config.implicit_tls;
        let tcp = stream::connect_tcp(&options)?;
        let epoch = Instant::now();
        let core = Client::new(config, Timestamp::ZERO);
        let mut client = SmtpClient {
            core,
            stream: Stream::Plain(tcp),
            epoch,
            out: Vec::new(),
            input: vec![0; CHUNK],
            tls,
            tls_requested: false,
            failure: None,
            closed: None,
            messages: HashMap::new(),
            replies: HashMap::new(),
            authenticated: None,
        };
        if let Err(e) = client.set_write_timeout() {
            return Err(SendError::Connect {
                server: format!("{host}:{}", options.port),
                source: Arc::new(e),
            });
        }
        if implicit {
            // RFC 8314: TLS from the first byte; the handshake counts against the greeting.
            client.start_tls();
        }
        client.drive(|c| c.core.is_ready())?;
        Ok(client)
    }

    /// The sans-IO session inside (capabilities, state, configuration).
    pub fn session(&self) -> &Client {
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
        self.authenticated.as_ref()
    }

    /// Sends one message, streaming its content from `body` (any line-end convention; the
    /// session normalises line ends and dot-stuffs). At most one chunk of the body is held in
    /// memory: it is read only once the server is ready for it.
    ///
    /// `Ok` when the server accepted the message (some recipients may have been refused: see
    /// [`MessageReport::rejected_recipients`]); [`SendError::Rejected`] when it refused it.
    pub fn send(
        &mut self,
        envelope: Envelope,
        body: impl Read,
    ) -> Result<MessageReport, SendError> {
        self.usable()?;
        let id = self.queue(envelope)?;
        self.stream_body(id, body);
        let report = self.take_report(id);
        self.flush();
        report.into_result()
    }

    /// [`SmtpClient::send`] with the content in memory.
    pub fn send_bytes(
        &mut self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<MessageReport, SendError> {
        self.send(envelope, body)
    }

    /// Sends several messages, queued together so that with PIPELINING (or CHUNKING) one
    /// message's commands go out with the previous message's content: one round trip per
    /// message or less. Returns one report per message, in order; a refused message does not
    /// stop the others ([`MessageReport::into_result`] gives what `send` would have returned).
    pub fn send_many<I, B>(&mut self, messages: I) -> Vec<MessageReport>
    where
        I: IntoIterator<Item = (Envelope, B)>,
        B: AsRef<[u8]>,
    {
        let mut order: Vec<Result<MessageId, MessageReport>> = Vec::new();
        for (envelope, body) in messages {
            let unqueued = |envelope: &Envelope, error: SendError| MessageReport {
                message: None,
                recipients: recipients_of(envelope),
                outcome: Outcome::Failed {
                    content_sent: false,
                    error,
                },
            };
            if let Err(e) = self.usable() {
                order.push(Err(unqueued(&envelope, e)));
                continue;
            }
            let queued = self.queue(envelope.clone()).and_then(|id| {
                self.core.write_body(id, body.as_ref())?;
                self.core.finish_body(id)?;
                Ok(id)
            });
            match queued {
                Ok(id) => order.push(Ok(id)),
                Err(e) => order.push(Err(unqueued(&envelope, e))),
            }
        }
        let ids: Vec<MessageId> = order
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let _ = self.drive(|c| ids.iter().all(|id| c.settled(*id)));
        order
            .into_iter()
            .map(|r| match r {
                Ok(id) => self.take_report(id),
                Err(report) => report,
            })
            .collect()
    }

    /// VRFY (RFC 5321 3.5.1): the server's reply, whatever its code.
    pub fn verify(&mut self, address: &str) -> Result<Reply, SendError> {
        self.usable()?;
        let id = self.core.verify(address)?;
        self.await_reply(id)
    }

    /// EXPN (RFC 5321 3.5.2): the server's reply, whatever its code.
    pub fn expand(&mut self, list: &str) -> Result<Reply, SendError> {
        self.usable()?;
        let id = self.core.expand(list)?;
        self.await_reply(id)
    }

    /// NOOP: the server's reply. Keeps an idle session alive, or checks it still is.
    pub fn noop(&mut self) -> Result<Reply, SendError> {
        self.usable()?;
        let id = self.core.noop(None)?;
        self.await_reply(id)
    }

    /// HELP, with an optional topic: the server's reply.
    pub fn help(&mut self, topic: Option<&str>) -> Result<Reply, SendError> {
        self.usable()?;
        let id = self.core.help(topic)?;
        self.await_reply(id)
    }

    /// QUIT, and close the connection once the server answers (or closes it).
    pub fn quit(mut self) -> Result<(), SendError> {
        self.usable()?;
        self.core.quit()?;
        let result = self.drive(|c| c.closed.is_some());
        self.stream.close_notify();
        self.stream.shutdown();
        result?;
        match self.closed.take() {
            Some(Err(e)) => Err(self.failure.take().unwrap_or(SendError::Session(e))),
            _ => Ok(()),
        }
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
    fn usable(&self) -> Result<(), SendError> {
        match &self.closed {
            None => Ok(()),
            Some(_) => Err(self.session_error()),
        }
    }

    /// The error that ended the session, as the caller should see it.
    fn session_error(&self) -> SendError {
        if let Some(f) = &self.failure {
            return f.clone();
        }
        match &self.closed {
            Some(Err(e)) => SendError::Session(e.clone()),
            _ => SendError::Usage(smtp_proto::UsageError::Closed),
        }
    }

    fn queue(&mut self, envelope: Envelope) -> Result<MessageId, SendError> {
        let recipients = recipients_of(&envelope);
        let id = self.core.send_message(envelope)?;
        self.messages.insert(
            id,
            Tracker {
                recipients,
                outcome: None,
                failed: None,
            },
        );
        Ok(id)
    }

    /// Streams `body` into message `id` while the server wants it, and drives the session until
    /// the message's outcome is known.
    fn stream_body(&mut self, id: MessageId, mut body: impl Read) {
        let mut buf = vec![0u8; CHUNK];
        let mut finished = false;
        // Body bytes handed to the core, against wire bytes it handed back since: roughly what
        // it holds (BDAT gathering a chunk, or a chunk waiting for the previous chunk's reply
        // without PIPELINING). Bounded here so the core never holds more than about two chunks.
        // What the core holds for this message (BDAT gathering a chunk, or a chunk waiting for
        // the previous chunk's reply without PIPELINING) plus what waits to be written: bounded
        // here so at most about two chunks are in memory.
        let hold_limit = 2 * CHUNK.max(self.core.config().limits.bdat_chunk_size);
        loop {
            self.process();
            if self.settled(id) {
                if !finished {
                    // Refused before its content was wanted: nothing more is read.
                    let _ = self.core.finish_body(id);
                    self.process();
                }
                return;
            }
            if self.closed.is_some() {
                return;
            }
            let held = self.core.held_body_bytes(id) + self.core.transmit_len() + self.out.len();
            if !finished && self.core.body_flowing(id) && held < hold_limit {
                let n = match read_retrying(&mut body, &mut buf) {
                    Ok(n) => n,
                    Err(e) => return self.abandon(SendError::Body(Arc::new(e))),
                };
                let written = if n == 0 {
                    finished = true;
                    self.core.finish_body(id)
                } else {
                    self.core.write_body(id, &buf[..n])
                };
                if let Err(e) = written {
                    return self.abandon(SendError::Usage(e));
                }
                self.process();
                // Write full chunks as they come; the last one goes out with its end mark.
                if self.out.len() >= CHUNK || finished {
                    self.flush();
                }
                continue;
            }
            self.wait();
        }
    }

    /// Gives up on the session from this side: closes the connection so that the server
    /// cannot take a truncated message, and records why.
    fn abandon(&mut self, error: SendError) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
        self.stream.shutdown();
        let now = self.now();
        self.core.abort(now);
        self.process();
    }

    /// Drives the session until `done` (or until it ends).
    fn drive(&mut self, done: impl Fn(&SmtpClient) -> bool) -> Result<(), SendError> {
        loop {
            self.process();
            if done(self) {
                self.flush();
                return Ok(());
            }
            if self.closed.is_some() {
                return Err(self.session_error());
            }
            self.wait();
        }
    }

    fn await_reply(&mut self, id: CommandId) -> Result<Reply, SendError> {
        self.drive(|c| c.replies.contains_key(&id))?;
        self.replies.remove(&id).ok_or(SendError::Stalled)
    }

    /// Drains events and takes the bytes to send into `out`; starts TLS when asked.
    fn process(&mut self) {
        loop {
            while let Some(event) = self.core.poll_event() {
                self.on_event(event);
            }
            if !self.tls_requested {
                break;
            }
            self.tls_requested = false;
            // STARTTLS itself was written before its reply was awaited; flush anyway so that
            // nothing queued before the handshake could go out inside TLS.
            self.flush();
            self.start_tls();
        }
        let now = self.now();
        self.core.poll_transmit(now, &mut self.out);
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

    /// Waits for the next bytes from the server, up to the current reply's deadline.
    fn wait(&mut self) {
        self.flush();
        if self.closed.is_some() {
            return;
        }
        let now = self.now();
        let Some(deadline) = self.core.poll_timeout() else {
            // Nothing is awaited, so nothing can arrive that would move us on.
            if self.failure.is_none() {
                self.failure = Some(SendError::Stalled);
            }
            self.stream.shutdown();
            self.core.handle_closed(now);
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

    /// A read or write failed: the session is over; the caller sees the I/O error with the
    /// stage the core was at.
    fn io_failed(&mut self, e: io::Error) {
        self.stream.shutdown();
        let now = self.now();
        if stream::is_timeout(&e) {
            // A write that made no progress for the data-block timeout (reads time out in
            // `wait`, through the core's own deadline).
            self.core.handle_write_timeout(now);
        }
        self.core.handle_closed(now);
        if self.failure.is_none() {
            let stage = self
                .core
                .error()
                .and_then(smtp_proto::Error::stage)
                .unwrap_or(Stage::Idle);
            self.failure = Some(SendError::Io {
                stage,
                source: Arc::new(e),
            });
        }
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
                if self.failure.is_none() {
                    self.failure = Some(SendError::Tls(e));
                }
                self.stream.shutdown();
                // The core names the handshake as the cause (a no-op with implicit TLS, where
                // the close below ends the session instead).
                self.core.handle_tls_failed(now);
                self.core.handle_closed(now);
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Transcript(line) => {
                let arrow = match line.direction {
                    Direction::Sent => "->",
                    Direction::Received => "<-",
                };
                log::debug!(target: TRANSCRIPT_TARGET, "{arrow} {}", String::from_utf8_lossy(&line.line));
            }
            Event::TlsUpgradeRequested => self.tls_requested = true,
            Event::Authenticated(mechanism) => {
                log::info!("authenticated with {}", mechanism.name());
                self.authenticated = Some(mechanism);
            }
            Event::RecipientAccepted {
                message,
                index,
                reply,
            } => {
                self.set_recipient(message, index, RecipientStatus::Accepted(reply));
            }
            Event::RecipientRejected {
                message,
                index,
                reply,
            } => {
                self.set_recipient(message, index, RecipientStatus::Rejected(reply));
            }
            Event::RecipientDelivered {
                message,
                index,
                reply,
            } => {
                if let Some(r) = self
                    .messages
                    .get_mut(&message)
                    .and_then(|t| t.recipients.get_mut(index))
                {
                    r.delivery = Some(reply);
                }
            }
            Event::MessageAccepted {
                message,
                reply,
                recipients,
            } => {
                self.set_outcome(message, Outcome::Accepted { reply, recipients });
            }
            Event::MessageRejected { message, rejection } => {
                self.set_outcome(message, Outcome::Rejected(rejection));
            }
            Event::MessageFailed {
                message,
                content_sent,
            } => {
                if let Some(t) = self.messages.get_mut(&message) {
                    t.failed = Some(content_sent);
                }
            }
            Event::ReplyReceived { command, reply } => {
                self.replies.insert(command, reply);
            }
            Event::Closed(result) => {
                match &result {
                    Ok(()) => log::debug!("session closed"),
                    Err(e) => log::debug!("session failed: {e}"),
                }
                self.closed = Some(result);
                let error = self.session_error();
                for t in self.messages.values_mut() {
                    if let (None, Some(content_sent)) = (&t.outcome, t.failed) {
                        t.outcome = Some(Outcome::Failed {
                            content_sent,
                            error: error.clone(),
                        });
                    }
                }
            }
            Event::TlsSkipped(reply) => match reply {
                Some(r) => log::info!("STARTTLS refused ({r}); going on without TLS"),
                None => log::info!("STARTTLS not offered; going on without TLS"),
            },
            other => log::trace!("{other:?}"),
        }
    }

    fn set_recipient(&mut self, message: MessageId, index: usize, status: RecipientStatus) {
        if let Some(r) = self
            .messages
            .get_mut(&message)
            .and_then(|t| t.recipients.get_mut(index))
        {
            r.status = status;
        }
    }

    fn set_outcome(&mut self, message: MessageId, outcome: Outcome) {
        if let Some(t) = self.messages.get_mut(&message) {
            t.outcome = Some(outcome);
        }
    }

    fn settled(&self, id: MessageId) -> bool {
        self.messages.get(&id).is_none_or(|t| t.outcome.is_some())
    }

    fn take_report(&mut self, id: MessageId) -> MessageReport {
        let tracker = self.messages.remove(&id);
        let error = self.session_error();
        let (recipients, outcome) = match tracker {
            Some(t) => {
                let outcome = t.outcome.unwrap_or(Outcome::Failed {
                    content_sent: t.failed.unwrap_or(false),
                    error,
                });
                (t.recipients, outcome)
            }
            None => (
                Vec::new(),
                Outcome::Failed {
                    content_sent: false,
                    error: SendError::Stalled,
                },
            ),
        };
        MessageReport {
            message: Some(id),
            recipients,
            outcome,
        }
    }
}

fn recipients_of(envelope: &Envelope) -> Vec<RecipientReport> {
    envelope
        .recipients
        .iter()
        .map(|r| RecipientReport {
            address: r.address.clone(),
            status: RecipientStatus::Unanswered,
            delivery: None,
        })
        .collect()
}

fn read_retrying(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
