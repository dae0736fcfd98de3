//! [`Client`]: the sans-IO SMTP/LMTP client session. Only the public verbs live here; reply
//! handling is in `client/state.rs`, message flow in `client/flow.rs`.
//!
//! # Driving it
//! Inputs (never fail): [`Client::handle_input`], [`Client::handle_closed`],
//! [`Client::handle_timeout`], [`Client::handle_tls_established`].
//! Commands (a refused call changes nothing): [`Client::send_message`], [`Client::write_body`],
//! [`Client::finish_body`], [`Client::noop`], [`Client::verify`], [`Client::expand`],
//! [`Client::help`], [`Client::quit`].
//! Outputs, after every input or command, in any order: [`Client::poll_transmit`] (bytes to
//! write), [`Client::poll_event`] (what happened), [`Client::poll_timeout`] (when to call
//! `handle_timeout`).

mod flow;
mod message;
mod pipeline;
mod state;

use crate::command::{Argument, Command};
use crate::config::Config;
use crate::envelope::{CommandId, Envelope, MessageId};
use crate::error::{Error, Stage, UsageError};
use crate::event::{Direction, Event, TranscriptLine};
use crate::reply::Reply;
use crate::reply_parser::{ReplyParser, Status};
use crate::sasl::Authenticator;
use crate::time::Timestamp;
use crate::Capabilities;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use message::Message;
use pipeline::{Expect, Pipeline};

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Greeting, EHLO, STARTTLS, AUTH: messages wait.
    Opening,
    /// The 220 to STARTTLS arrived; waiting for the caller's TLS handshake.
    AwaitingTls,
    /// Messages and side commands flow.
    Ready,
    /// Over. Nothing is sent, nothing is read.
    Closed,
}

/// Work queued by the caller, started in order.
#[derive(Debug)]
enum Job {
    Message(MessageId),
    Side(CommandId, Side),
    Quit,
}

#[derive(Debug)]
enum Side {
    Noop(Option<Argument>),
    Vrfy(Argument),
    Expn(Argument),
    Help(Option<Argument>),
}

/// An SMTP or LMTP client session, free of I/O.
///
/// ```
/// use smtp_proto::{Client, Config, ClientName, Envelope, Event, Mailbox, Timestamp, TlsPolicy};
///
/// let mut config = Config::new(ClientName::parse("client.example").unwrap());
/// config.tls = TlsPolicy::Never;
/// let now = Timestamp::ZERO;
/// let mut client = Client::new(config, now);
/// let mut wire = Vec::new();
///
/// client.handle_input(now, b"220 mx.example ESMTP\r\n");
/// client.poll_transmit(now, &mut wire);
/// assert_eq!(wire, b"EHLO client.example\r\n");
/// wire.clear();
///
/// client.handle_input(now, b"250-mx.example\r\n250 PIPELINING\r\n");
/// let envelope = Envelope::new(
///     Some(Mailbox::parse("alice@example.org").unwrap()),
///     [Mailbox::parse("bob@example.net").unwrap()],
/// );
/// let id = client.send_message(envelope).unwrap();
/// client.write_body(id, b"Subject: hi\n\nHello\n").unwrap();
/// client.finish_body(id).unwrap();
/// client.poll_transmit(now, &mut wire);
/// // PIPELINING: MAIL, RCPT and DATA in one flight (RFC 2920).
/// assert_eq!(wire, b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
/// wire.clear();
///
/// client.handle_input(now, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n");
/// client.poll_transmit(now, &mut wire);
/// assert_eq!(wire, b"Subject: hi\r\n\r\nHello\r\n.\r\n");
/// client.handle_input(now, b"250 2.0.0 Queued\r\n");
/// let accepted = std::iter::from_fn(|| client.poll_event())
///     .any(|e| matches!(e, Event::MessageAccepted { message, .. } if message == id));
/// assert!(accepted);
/// ```
#[derive(Debug)]
pub struct Client {
    config: Config,
    phase: Phase,
    parser: ReplyParser,
    reply: Reply,
    out: Vec<u8>,
    events: VecDeque<Event>,
    pipeline: Pipeline,
    jobs: VecDeque<Job>,
    /// Messages whose outcome or body is still open, oldest first.
    messages: VecDeque<Message>,
    capabilities: Option<Capabilities>,
    secure: bool,
    tls_done: bool,
    /// `Event::TlsUpgradeRequested` was emitted.
    tls_requested: bool,
    /// When the TLS handshake must be done by.
    tls_deadline: Option<Timestamp>,
    authenticator: Option<Authenticator>,
    authenticated: bool,
    /// An AUTH initial response too long for the AUTH line, for the first 334.
    deferred_response: Option<crate::Secret<Vec<u8>>>,
    next_id: u64,
    quit_queued: bool,
    quit_sent: bool,
    /// A transaction was abandoned mid-way: RSET before the next MAIL.
    need_rset: bool,
    error: Option<Error>,
    now: Timestamp,
    /// Reused to check that a queued envelope's commands encode.
    scratch: Vec<u8>,
}

impl Client {
    /// A session on a freshly opened connection; the greeting's deadline starts at `now`.
    pub fn new(config: Config, now: Timestamp) -> Client {
        let parser = ReplyParser::new(config.limits.parser);
        let secure = config.implicit_tls;
        let mut pipeline = Pipeline::default();
        pipeline.push_started(Expect::Greeting, now);
        Client {
            config,
            phase: Phase::Opening,
            parser,
            reply: Reply::default(),
            out: Vec::new(),
            events: VecDeque::new(),
            pipeline,
            jobs: VecDeque::new(),
            messages: VecDeque::new(),
            capabilities: None,
            secure,
            tls_done: false,
            tls_requested: false,
            tls_deadline: None,
            authenticator: None,
            authenticated: false,
            deferred_response: None,
            next_id: 0,
            quit_queued: false,
            quit_sent: false,
            need_rset: false,
            error: None,
            now,
            scratch: Vec::new(),
        }
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The server's capabilities, once EHLO (or HELO: empty) is answered.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// Whether the connection is encrypted (implicit TLS, or after STARTTLS).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether greeting, EHLO, TLS and AUTH are done.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The error that ended the session, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Whether the core waits for the caller to start TLS.
    pub fn wants_tls(&self) -> bool {
        self.phase == Phase::AwaitingTls
    }

    /// Whether body bytes written now for `message` go straight out (its 354 arrived, or it is
    /// sent with BDAT and under way) rather than being held in memory.
    pub fn body_flowing(&self, message: MessageId) -> bool {
        self.message(message)
            .is_some_and(|m| matches!(m.emit, message::Emit::Body | message::Emit::Chunks))
    }

    /// Commands sent and not yet answered.
    pub fn replies_pending(&self) -> usize {
        self.pipeline.len()
    }

    /// Whether there is nothing to send, nothing awaited and nothing queued.
    pub fn is_idle(&self) -> bool {
        self.out.is_empty() && self.pipeline.is_empty() && self.jobs.is_empty()
    }

    // ----- inputs -----

    /// Bytes received from the server (after TLS decryption, if any). Any split is fine.
    pub fn handle_input(&mut self, now: Timestamp, mut input: &[u8]) {
        self.now = now;
        match self.phase {
            Phase::Closed => return,
            // RFC 3207 / CVE-2011-0411: nothing may arrive between the 220 and the handshake.
            Phase::AwaitingTls if !input.is_empty() => return self.fail(Error::BytesAfterStartTls),
            _ => {}
        }
        while !input.is_empty() && self.phase != Phase::Closed {
            let stage = self.current_stage();
            match self.parser.parse(input, &mut self.reply) {
                Ok(Status::Complete { consumed }) => {
                    input = input.get(consumed..).unwrap_or_default();
                    let deviations = self.parser.deviations();
                    if !deviations.is_empty() {
                        self.events
                            .push_back(Event::DeviationTolerated { deviations, stage });
                    }
                    let reply = core::mem::take(&mut self.reply);
                    if self.config.transcript {
                        self.transcript_reply(&reply, stage);
                    }
                    self.on_reply(reply);
                    if self.phase == Phase::AwaitingTls
                        && (!input.is_empty() || self.parser.has_partial())
                    {
                        return self.fail(Error::BytesAfterStartTls);
                    }
                }
                Ok(Status::Partial) => break,
                Err(error) => return self.fail(Error::ReplySyntax { error, stage }),
            }
        }
        if self.phase == Phase::AwaitingTls && !self.tls_requested {
            // RFC 3207 4.2: the 220 was the last thing in this input; ask for the handshake,
            // which must complete within the command timeout.
            self.tls_requested = true;
            self.tls_deadline = Some(now.saturating_add(self.config.timeouts.command));
            self.events.push_back(Event::TlsUpgradeRequested);
        }
        self.pump();
    }

    /// The server closed the connection (read returned 0).
    pub fn handle_closed(&mut self, now: Timestamp) {
        self.now = now;
        if self.phase == Phase::Closed {
            return;
        }
        if self.quit_sent && !self.parser.has_partial() {
            return self.close(Ok(()));
        }
        let stage = self.current_stage();
        self.fail(Error::ConnectionClosed { stage });
    }

    /// Time passed. Past the deadline from [`Client::poll_timeout`], the session fails with
    /// [`Error::Timeout`] naming the stage; earlier, this is a no-op.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.now = now;
        if let Some((deadline, stage)) = self.deadline() {
            if now >= deadline {
                self.fail(Error::Timeout { stage });
            }
        }
    }

    /// The TLS handshake the core asked for ([`Event::TlsUpgradeRequested`]) is complete. The
    /// session forgets what it learnt in plaintext and says EHLO again (RFC 3207 4.2). A no-op
    /// when no upgrade was requested.
    pub fn handle_tls_established(&mut self, now: Timestamp) {
        self.now = now;
        if self.phase != Phase::AwaitingTls {
            return;
        }
        self.secure = true;
        self.tls_done = true;
        self.capabilities = None;
        self.parser = ReplyParser::new(self.config.limits.parser);
        self.phase = Phase::Opening;
        self.send_hello(true);
    }

    // ----- outputs -----

    /// Appends the bytes to send to `buf` and returns how many. Write them all, in order. The
    /// reply deadlines of the commands among them start at `now`.
    ///
    /// Unlike quinn's `poll_transmit`, this takes `now` because a reply's deadline must run from
    /// when its command left, and commands queued between inputs have no other clock.
    pub fn poll_transmit(&mut self, now: Timestamp, buf: &mut Vec<u8>) -> usize {
        if self.out.is_empty() {
            return 0;
        }
        self.now = now;
        self.pipeline.mark_sent(now);
        let n = self.out.len();
        if buf.is_empty() {
            core::mem::swap(buf, &mut self.out);
        } else {
            buf.append(&mut self.out);
        }
        n
    }

    /// Whether [`Client::poll_transmit`] has bytes.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`Client::handle_timeout`]: the deadline of the oldest awaited reply.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadline().map(|(t, _)| t)
    }

    fn deadline(&self) -> Option<(Timestamp, Stage)> {
        match self.phase {
            Phase::Closed => None,
            Phase::AwaitingTls => self.tls_deadline.map(|t| (t, Stage::StartTls)),
            _ => self.pipeline.deadline(&self.config.timeouts),
        }
    }

    /// The TLS handshake the core asked for failed (bad certificate, protocol error): the session
    /// ends with [`Error::TlsHandshakeFailed`]. A no-op when no upgrade was requested.
    pub fn handle_tls_failed(&mut self, now: Timestamp) {
        self.now = now;
        if self.phase == Phase::AwaitingTls {
            self.fail(Error::TlsHandshakeFailed);
        }
    }

    /// A write made no progress for [`crate::Timeouts::data_block`] (RFC 5321 4.5.3.2.5: the
    /// core cannot see writes, so the adapter reports it): the session ends with
    /// [`Error::Timeout`] naming the stage.
    pub fn handle_write_timeout(&mut self, now: Timestamp) {
        self.now = now;
        let stage = self.current_stage();
        self.fail(Error::Timeout { stage });
    }

    /// How many body bytes of `message` the core holds in memory, waiting for the server (before
    /// the 354, or a BDAT chunk's turn). An adapter streaming a large body writes more only while
    /// this and [`Client::transmit_len`] stay small.
    pub fn held_body_bytes(&self, message: MessageId) -> usize {
        self.message(message).map_or(0, |m| m.staged.len())
    }

    /// Bytes waiting in the transmit buffer (what the next [`Client::poll_transmit`] returns).
    pub fn transmit_len(&self) -> usize {
        self.out.len()
    }

    /// Ends the session from the caller's side (a body reader failed, the user gave up): every
    /// unfinished message is reported [`Event::MessageFailed`], then
    /// `Closed(Err(Error::LocallyAborted))`. Nothing more is sent; the caller closes the
    /// connection. A no-op on a closed session.
    pub fn abort(&mut self, now: Timestamp) {
        self.now = now;
        self.fail(Error::LocallyAborted);
    }

    // ----- commands -----

    /// Queues a message. Its commands go out as soon as the session allows (after EHLO, TLS and
    /// AUTH; pipelined behind earlier messages when the server offers PIPELINING). Write its
    /// body with [`Client::write_body`] and end it with [`Client::finish_body`], any time after
    /// this call: bytes written before the server is ready for them are held in memory (see
    /// [`Client::body_flowing`] and [`Event::BodyWanted`] to stream large bodies).
    ///
    /// Refused (and nothing queued) when the envelope has no recipient, a command would be
    /// invalid, or, once the server's capabilities are known, when the message needs an
    /// extension it lacks or exceeds its SIZE.
    pub fn send_message(&mut self, envelope: Envelope) -> Result<MessageId, UsageError> {
        self.check_open()?;
        if envelope.recipients.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        flow::check_commands(&envelope, &mut self.scratch)?;
        if let Some(caps) = &self.capabilities {
            if self.phase == Phase::Ready || self.phase == Phase::Opening {
                flow::adjust_params(&envelope, caps, &self.config, self.secure)?;
            }
        }
        let id = self.next_message_id();
        self.messages.push_back(Message::new(id, envelope));
        self.jobs.push_back(Job::Message(id));
        self.pump();
        Ok(id)
    }

    /// Appends body bytes for `message` (any line-end convention; dot-stuffing and CRLF
    /// normalisation are done here). Bodies are written in the order messages were queued.
    /// Bytes for a message that was refused are dropped.
    pub fn write_body(&mut self, message: MessageId, data: &[u8]) -> Result<(), UsageError> {
        let index = self.body_target(message)?;
        self.body_input(index, data, false);
        self.pump();
        Ok(())
    }

    /// Ends `message`'s body (the `.` or `BDAT … LAST` goes out when the server is ready).
    pub fn finish_body(&mut self, message: MessageId) -> Result<(), UsageError> {
        let index = self.body_target(message)?;
        self.body_input(index, &[], true);
        self.pump();
        Ok(())
    }

    /// [`Client::send_message`], [`Client::write_body`] and [`Client::finish_body`] in one call.
    pub fn send_message_with_body(
        &mut self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<MessageId, UsageError> {
        // Check the body can be written now before queueing anything.
        if self.messages.iter().any(|m| !m.body_finished) {
            return Err(UsageError::BodyOutOfOrder);
        }
        let id = self.send_message(envelope)?;
        self.write_body(id, body)?;
        self.finish_body(id)?;
        Ok(id)
    }

    /// Queues NOOP (RFC 5321 4.1.1.9); its reply comes as [`Event::ReplyReceived`].
    pub fn noop(&mut self, argument: Option<&str>) -> Result<CommandId, UsageError> {
        let arg = argument.map(Argument::new).transpose()?;
        self.queue_side(Side::Noop(arg))
    }

    /// Queues VRFY (RFC 5321 4.1.1.6).
    pub fn verify(&mut self, argument: &str) -> Result<CommandId, UsageError> {
        let arg = Argument::new(argument)?;
        self.queue_side(Side::Vrfy(arg))
    }

    /// Queues EXPN (RFC 5321 4.1.1.7).
    pub fn expand(&mut self, argument: &str) -> Result<CommandId, UsageError> {
        let arg = Argument::new(argument)?;
        self.queue_side(Side::Expn(arg))
    }

    /// Queues HELP (RFC 5321 4.1.1.8).
    pub fn help(&mut self, argument: Option<&str>) -> Result<CommandId, UsageError> {
        let arg = argument.map(Argument::new).transpose()?;
        self.queue_side(Side::Help(arg))
    }

    /// Queues QUIT after everything queued so far (RFC 5321 4.1.1.10). The session ends with
    /// `Event::Closed(Ok(()))` on 221 or when the server then closes the connection.
    pub fn quit(&mut self) -> Result<(), UsageError> {
        self.check_open()?;
        self.quit_queued = true;
        self.jobs.push_back(Job::Quit);
        self.pump();
        Ok(())
    }

    // ----- helpers shared by the submodules -----

    fn check_open(&self) -> Result<(), UsageError> {
        if self.phase == Phase::Closed {
            Err(UsageError::Closed)
        } else if self.quit_queued {
            Err(UsageError::Quitting)
        } else {
            Ok(())
        }
    }

    fn next_message_id(&mut self) -> MessageId {
        self.next_id += 1;
        MessageId(self.next_id)
    }

    fn queue_side(&mut self, side: Side) -> Result<CommandId, UsageError> {
        self.check_open()?;
        self.next_id += 1;
        let id = CommandId(self.next_id);
        self.jobs.push_back(Job::Side(id, side));
        self.pump();
        Ok(id)
    }

    fn message(&self, id: MessageId) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn message_index(&self, id: MessageId) -> Option<usize> {
        self.messages.iter().position(|m| m.id == id)
    }

    /// Encodes and queues a command; on the transcript with AUTH payloads redacted.
    fn send(&mut self, command: Command<'_>, expect: Expect) {
        let start = self.out.len();
        if let Err(e) = command.encode(&mut self.out) {
            // Arguments are validated when queued; reaching this is a bug, not the peer's doing.
            // Fail the session instead of panicking.
            debug_assert!(false, "command failed to encode: {e}");
            return self.fail(Error::ConnectionClosed {
                stage: expect.stage(),
            });
        }
        if self.config.transcript {
            let line = match command {
                Command::Auth {
                    mechanism,
                    initial_response,
                } => {
                    let mut l = Vec::from(b"AUTH ".as_slice());
                    l.extend_from_slice(mechanism.name().as_bytes());
                    if initial_response.is_some() {
                        l.extend_from_slice(b" <redacted>");
                    }
                    l
                }
                Command::AuthResponse(_) => Vec::from(b"<redacted>".as_slice()),
                _ => {
                    let end = self.out.len().saturating_sub(2).max(start);
                    self.out[start..end].to_vec()
                }
            };
            self.transcript(Direction::Sent, line);
        }
        self.pipeline.push(expect);
    }

    fn transcript(&mut self, direction: Direction, line: Vec<u8>) {
        self.events
            .push_back(Event::Transcript(TranscriptLine { direction, line }));
    }

    fn transcript_reply(&mut self, reply: &Reply, stage: Stage) {
        let mut wire = Vec::new();
        reply.to_wire(&mut wire);
        let redact = stage == Stage::Auth && reply.code().get() == 334;
        for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = if redact {
                let mut l = line.get(..4).unwrap_or(line).to_vec();
                l.extend_from_slice(b"<redacted>");
                l
            } else {
                line.to_vec()
            };
            self.transcript(Direction::Received, line);
        }
    }

    /// What the session is waiting for: the oldest awaited reply, or the content being sent.
    fn current_stage(&self) -> Stage {
        if self.phase == Phase::AwaitingTls {
            return Stage::StartTls;
        }
        match self.pipeline.head() {
            Some(expect) => expect.stage(),
            None if self.messages.iter().any(|m| m.emit == message::Emit::Body) => Stage::Data,
            None => Stage::Idle,
        }
    }

    /// Ends the session with an error (sticky: later failures are ignored).
    fn fail(&mut self, error: Error) {
        if self.phase == Phase::Closed {
            return;
        }
        self.error = Some(error.clone());
        self.close(Err(error));
    }

    fn close(&mut self, result: Result<(), Error>) {
        self.phase = Phase::Closed;
        // Nothing more leaves once the session is over (RFC 5321 3.8 for 421).
        self.out.clear();
        self.pipeline.clear();
        self.jobs.clear();
        for m in core::mem::take(&mut self.messages) {
            if !m.reported {
                self.events.push_back(Event::MessageFailed {
                    message: m.id,
                    content_sent: m.content_sent,
                });
            }
        }
        self.authenticator = None;
        self.deferred_response = None;
        self.events.push_back(Event::Closed(result));
    }
}
