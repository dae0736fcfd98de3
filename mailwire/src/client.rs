//! [`Client`]: the sans-IO SMTP/LMTP client session. Only the public verbs live here; every
//! state transition is in `client/state.rs`.

mod message;
mod params;
mod pipeline;
mod redact;
pub(crate) mod state;

use crate::command::{Argument, Command};
use crate::config::Config;
use crate::envelope::{CommandId, Envelope, MessageId};
use crate::error::{ConfigError, Error, Stage, UsageError};
use crate::event::{Direction, Event, TranscriptLine};
use crate::outcome::Unsendable;
use crate::reply::Reply;
use crate::reply_parser::{ReplyParser, Status};
use crate::sasl::{self, Authenticator, Credentials, Mechanism, SaslError};
use crate::time::Timestamp;
use crate::Capabilities;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
pub use message::ProbeDepth;
use message::{Framer, Message, Step};
use pipeline::{Expect, Pipeline};
use redact::Secrets;
use state::Phase;

/// Work queued by the caller, started in order.
#[derive(Debug)]
enum Job {
    Message(MessageId),
    Side(CommandId, SideCommand),
    Quit,
}

/// A command on the side of mail transactions (RFC 5321 4.1.1.6–4.1.1.9), queued with its
/// argument.
#[derive(Debug)]
enum SideCommand {
    Noop(Option<Argument>),
    Vrfy(Argument),
    Expn(Argument),
    Help(Option<Argument>),
    Etrn(Argument),
}

/// Staged-content buffers kept for reuse by later messages (each at most `body_buffer` bytes).
const SPARE_BUFFERS: usize = 4;

/// An SMTP or LMTP client session, free of I/O.
///
/// # The verbs, in the order to call them
/// - **Getters** (any time): [`Client::config`], [`Client::capabilities`],
///   [`Client::is_secure`], [`Client::is_ready`], [`Client::is_closed`], [`Client::error`],
///   [`Client::replies_pending`], [`Client::content_facts_wanted`].
/// - **Inputs** (never fail; a spurious one is a no-op): [`Client::handle_input`] (bytes read),
///   [`Client::handle_closed`] (end of stream), [`Client::handle_timeout`] (the deadline from
///   `poll_timeout` passed), [`Client::handle_tls_established`] / [`Client::handle_tls_failed`]
///   (after [`Event::TlsUpgradeRequested`]), [`Client::handle_write_timeout`] (a write stalled).
/// - **Commands** (a refused call changes nothing): [`Client::send_message`],
///   [`Client::write_body`], [`Client::finish_body`], [`Client::send_message_with_body`],
///   [`Client::send_message_with_content`], [`Client::probe`],
///   [`Client::noop`], [`Client::verify`], [`Client::expand`], [`Client::help`],
///   [`Client::etrn`], [`Client::quit`], [`Client::abort`].
/// - **Outputs**, after every input or command, in this order: [`Client::poll_transmit`] (bytes
///   to write), [`Client::poll_event`] until `None` (what happened), [`Client::poll_timeout`]
///   (when to call `handle_timeout`). Calling them in another order loses nothing.
///
/// ```
/// use mailwire::{Client, Config, ClientName, Envelope, Event, Mailbox, Timestamp, TlsPolicy};
///
/// let mut config = Config::new(ClientName::parse("client.example").unwrap());
/// config.tls = TlsPolicy::Never;
/// let now = Timestamp::ZERO;
/// let mut client = Client::new(config, now).unwrap();
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
/// let body = b"Subject: hi\n\nHello\n";
/// assert_eq!(client.write_body(id, body), Ok(body.len()));
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
///     .any(|e| matches!(e, Event::MessageDone(o) if o.message == id && o.is_accepted()));
/// assert!(accepted);
/// ```
#[derive(Debug)]
pub struct Client {
    config: Config,
    phase: Phase,
    parser: ReplyParser,
    /// The parser's reply buffer, reused for every reply (replies are cloned where kept).
    reply: Reply,
    out: Vec<u8>,
    events: VecDeque<Event>,
    pipeline: Pipeline,
    jobs: VecDeque<Job>,
    /// Messages whose outcome or body is still open, oldest first.
    messages: VecDeque<Message>,
    /// The server's 220 greeting, once it came.
    greeting: Option<Reply>,
    capabilities: Option<Capabilities>,
    /// The connection is encrypted (implicit TLS, or after STARTTLS).
    secure: bool,
    /// The allowed SASL mechanisms that can carry the credentials (checked in `new`).
    mechanisms: Vec<Mechanism>,
    secrets: Secrets,
    next_id: u64,
    now: Timestamp,
    /// Reused to check that a message's commands encode.
    scratch: Vec<u8>,
    /// Staged-content buffers of finished messages, for the next ones.
    spare: Vec<Vec<u8>>,
    /// The content line being transcribed (`Config::transcript_content`), until its CRLF.
    content_line: Vec<u8>,
    /// How many of `Config::xclient`'s attributes the server took so far.
    xclient_sent: usize,
}

impl Client {
    /// A session on a freshly opened connection; the greeting's deadline starts at `now`.
    ///
    /// Refused with [`UsageError::Config`] when the configuration cannot work whatever the
    /// server says: credentials no allowed mechanism can carry, a SCRAM nonce too short.
    pub fn new(config: Config, now: Timestamp) -> Result<Client, UsageError> {
        let mechanisms = match &config.auth {
            Some(auth) => usable_mechanisms(&auth.credentials, &auth.mechanisms, &auth.nonce)?,
            None => Vec::new(),
        };
        let secrets = Secrets::new(config.auth.as_ref().map(|a| &a.credentials));
        let parser = ReplyParser::new(config.limits.parser);
        let secure = config.implicit_tls;
        let mut pipeline = Pipeline::default();
        pipeline.push_started(Expect::Greeting, now);
        Ok(Client {
            config,
            phase: Phase::Greeting,
            parser,
            reply: Reply::default(),
            out: Vec::new(),
            events: VecDeque::new(),
            pipeline,
            jobs: VecDeque::new(),
            messages: VecDeque::new(),
            greeting: None,
            capabilities: None,
            secure,
            mechanisms,
            secrets,
            next_id: 0,
            now,
            scratch: Vec::new(),
            spare: Vec::new(),
            content_line: Vec::new(),
            xclient_sent: 0,
        })
    }

    // ----- getters -----

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The server's 220 greeting, once it came (a refused greeting is in the error that ended
    /// the session, [`Error::GreetingRejected`]).
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// The server's capabilities, once EHLO (or HELO: empty) is answered.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// Whether the connection is encrypted (implicit TLS, or after STARTTLS).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether greeting, EHLO, TLS and AUTH are done and messages flow.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed { .. })
    }

    /// The error that ended the session, if one did.
    pub fn error(&self) -> Option<&Error> {
        match &self.phase {
            Phase::Closed { error } => error.as_ref(),
            _ => None,
        }
    }

    /// Whether the size and the 8-bit octets of a message's content, declared in its envelope
    /// before it is queued (`params.size`, `params.body`), matter to this server: it announced
    /// SIZE (the size is sent, and a message over its limit is refused before MAIL, RFC 1870
    /// 6.1), or it did not announce 8BITMIME (8-bit content is refused before MAIL, RFC 6152
    /// 3), or its extensions are not known yet (before EHLO, or while STARTTLS is under way).
    ///
    /// When `false`, measuring a body before sending it is wasted work: the session counts
    /// what it sends anyway, and content that breaks a limit is stopped as it streams.
    /// [`Client::send_message_with_body`] needs no measuring: it sees the whole body.
    pub fn content_facts_wanted(&self) -> bool {
        let settled = !matches!(self.phase, Phase::StartTls | Phase::TlsHandshake { .. });
        match self.capabilities.as_ref().filter(|_| settled) {
            Some(caps) => caps.size.is_some() || !caps.eight_bit_mime,
            None => true,
        }
    }

    /// Commands sent (or queued for sending) whose replies are awaited.
    pub fn replies_pending(&self) -> usize {
        self.pipeline.len()
    }

    /// The name of the session's phase, as in `docs/ARCHITECTURE.md` (for tests and logs).
    #[doc(hidden)]
    pub fn phase_name(&self) -> &'static str {
        self.phase.name()
    }

    // ----- inputs -----

    /// Bytes received from the server (after TLS decryption, if any). Any split is fine.
    pub fn handle_input(&mut self, now: Timestamp, mut input: &[u8]) {
        self.now = now;
        match self.phase {
            Phase::Closed { .. } => return,
            // RFC 3207 / CVE-2011-0411: nothing may arrive between the 220 and the handshake.
            Phase::TlsHandshake { .. } if !input.is_empty() => {
                return self.fail(Error::BytesAfterStartTls)
            }
            _ => {}
        }
        while !input.is_empty() && !self.is_closed() {
            let stage = self.current_stage();
            match self.parser.parse(input, &mut self.reply) {
                Ok(Status::Complete { consumed }) => {
                    input = input.get(consumed..).unwrap_or_default();
                    let deviations = self.parser.deviations();
                    if !deviations.is_empty() {
                        self.events
                            .push_back(Event::DeviationTolerated { deviations, stage });
                    }
                    let mut reply = core::mem::take(&mut self.reply);
                    self.secrets.scrub(&mut reply);
                    if self.config.transcript {
                        self.transcript_reply(&reply, stage);
                    }
                    self.on_reply(&reply);
                    self.reply = reply;
                    if matches!(self.phase, Phase::TlsHandshake { .. }) {
                        break;
                    }
                }
                Ok(Status::Partial) => break,
                Err(error) => return self.fail(Error::ReplySyntax { error, stage }),
            }
        }
        if !self.is_closed() {
            self.after_input(!input.is_empty());
        }
        self.pump_and_wake();
    }

    /// The server closed the connection (read returned 0).
    pub fn handle_closed(&mut self, now: Timestamp) {
        self.now = now;
        if self.is_closed() {
            return;
        }
        if matches!(self.phase, Phase::Quitting) && !self.parser.has_partial() {
            return self.close(None);
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
        self.on_tls_established();
    }

    /// The TLS handshake the core asked for failed (bad certificate, protocol error): the session
    /// ends with [`Error::TlsHandshakeFailed`]. A no-op when no upgrade was requested.
    pub fn handle_tls_failed(&mut self, now: Timestamp) {
        self.now = now;
        if matches!(self.phase, Phase::TlsHandshake { .. }) {
            self.fail(Error::TlsHandshakeFailed);
        }
    }

    /// A write made no progress for [`crate::Timeouts::data_block`] (RFC 5321 4.5.3.2.5: the
    /// core cannot see writes, so the adapter reports it): the session ends with
    /// [`Error::WriteTimeout`] naming the stage.
    pub fn handle_write_timeout(&mut self, now: Timestamp) {
        self.now = now;
        let stage = self.current_stage();
        self.fail(Error::WriteTimeout { stage });
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
        self.wake_writer();
        n
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`Client::handle_timeout`]: the deadline of the oldest awaited reply, or of
    /// the TLS handshake.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadline().map(|(t, _)| t)
    }

    fn deadline(&self) -> Option<(Timestamp, Stage)> {
        match &self.phase {
            Phase::Closed { .. } => None,
            Phase::TlsHandshake { deadline } => deadline.map(|t| (t, Stage::StartTls)),
            _ => self.pipeline.deadline(&self.config.timeouts),
        }
    }

    // ----- commands -----

    /// Queues a message. Its commands go out as soon as the session allows (after EHLO, TLS and
    /// AUTH; pipelined behind earlier messages when the server offers PIPELINING). Write its
    /// body with [`Client::write_body`] and end it with [`Client::finish_body`], any time after
    /// this call. Its outcome comes as [`Event::MessageDone`], exactly once.
    ///
    /// Refused (and nothing queued) when the envelope has no recipient or a command would be
    /// invalid, and, once the server's capabilities are known, when the message cannot be sent
    /// to it ([`UsageError::Unsendable`]: an extension it lacks, over its SIZE, a MAIL line too
    /// long with the parameters it needs). Queued before the capabilities are known, such a
    /// message gets that reason as its outcome instead, before anything of it is sent.
    pub fn send_message(&mut self, envelope: Envelope) -> Result<MessageId, UsageError> {
        let id = self.queue_message(envelope, true)?;
        self.pump_and_wake();
        Ok(id)
    }

    /// Checks and queues a message without starting anything.
    fn queue_message(
        &mut self,
        envelope: Envelope,
        needs_recipients: bool,
    ) -> Result<MessageId, UsageError> {
        self.check_open()?;
        if needs_recipients && envelope.recipients.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        // The arguments as given must encode (CR, LF, NUL, bad parameters, absurd lengths).
        let mut given = envelope.params.clone();
        given.smtputf8 |= envelope.needs_smtputf8();
        params::check_lines(&envelope, &given, &mut self.scratch).map_err(|e| match e {
            Unsendable::Command { error, .. } => UsageError::InvalidCommand(error),
            other => UsageError::Unsendable(other),
        })?;
        // Judged against the server's extensions when they are known, and final: not while
        // STARTTLS is under way, since the EHLO after TLS replaces what was said in plaintext
        // (RFC 3207 4.2); the message is judged again when it starts.
        let final_caps = !matches!(self.phase, Phase::StartTls | Phase::TlsHandshake { .. });
        if let Some(caps) = self.capabilities.as_ref().filter(|_| final_caps) {
            let facts = params::ContentFacts::default();
            let p = params::mail_params(&envelope, caps, &self.config, self.secure, facts)?;
            params::check_lines(&envelope, &p, &mut self.scratch)?;
        }
        self.next_id += 1;
        let id = MessageId(self.next_id);
        self.messages
            .push_back(Message::new(id, envelope, Vec::new()));
        self.jobs.push_back(Job::Message(id));
        Ok(id)
    }

    /// Queues a probe: MAIL FROM (and, with [`ProbeDepth::Rcpt`], one RCPT TO per recipient)
    /// without DATA, to learn whether the server takes this sender and these recipients. Its
    /// outcome is [`crate::Verdict::Probed`] with every reply; an RSET is owed before any later
    /// transaction. Refused as [`Client::send_message`] refuses, but a probe of MAIL alone needs
    /// no recipient.
    pub fn probe(
        &mut self,
        envelope: Envelope,
        depth: ProbeDepth,
    ) -> Result<MessageId, UsageError> {
        let id = self.queue_message(envelope, depth == ProbeDepth::Rcpt)?;
        if let Some(m) = self.messages.back_mut() {
            m.probe = Some(depth);
            m.body_finished = true;
        }
        self.pump_and_wake();
        Ok(id)
    }

    /// Offers body bytes for `message` (any line-end convention; dot-stuffing and CRLF
    /// normalisation are done here) and returns how many it took: all of them, unless the
    /// session already holds [`crate::Limits::body_buffer`] bytes of content waiting for the
    /// server or for [`Client::poll_transmit`]. Then offer the rest after
    /// [`Event::BodyWanted`] (after `poll_transmit` or the server's next replies). Bodies are
    /// written in the order messages were queued. Bytes for a message that has its outcome
    /// already are taken and dropped.
    pub fn write_body(&mut self, message: MessageId, data: &[u8]) -> Result<usize, UsageError> {
        let i = self.body_target(message)?;
        let taken = if self.messages[i].discarding() {
            data.len()
        } else {
            let room = self.body_room();
            let n = data.len().min(room);
            if n < data.len() {
                self.messages[i].blocked = true;
            }
            n
        };
        self.body_input(i, data.get(..taken).unwrap_or_default(), false);
        self.pump_and_wake();
        Ok(taken)
    }

    /// Ends `message`'s body (the `.` or `BDAT … LAST` goes out when the server is ready).
    pub fn finish_body(&mut self, message: MessageId) -> Result<(), UsageError> {
        let i = self.body_target(message)?;
        self.body_input(i, &[], true);
        self.pump_and_wake();
        Ok(())
    }

    /// [`Client::send_message`], the whole body and [`Client::finish_body`] in one call. The
    /// body is taken whole ([`crate::Limits::body_buffer`] does not apply: the caller holds it
    /// already); its exact size and whether it has 8-bit octets are known before MAIL, so
    /// `SIZE=` and `BODY=8BITMIME` are declared from them.
    pub fn send_message_with_body(
        &mut self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<MessageId, UsageError> {
        // Check the body can be written now before queueing anything.
        if self.messages.iter().any(|m| !m.body_finished) {
            return Err(UsageError::BodyOutOfOrder);
        }
        // Queued with its whole body before it can start, so that MAIL is built knowing it.
        let id = self.queue_message(envelope, true)?;
        let i = self.body_target(id)?;
        self.body_input(i, body, true);
        self.pump_and_wake();
        Ok(id)
    }

    /// [`Client::send_message`] with the start of its content, taken before the message can
    /// start: as much of `content` as [`crate::Limits::body_buffer`] allows (as
    /// [`Client::write_body`] would take; nothing while an earlier message's body is
    /// unfinished, since bodies are written in queue order). Returns the message and how many
    /// bytes were taken; offer the rest with `write_body` (after [`Event::BodyWanted`] when
    /// fewer were taken than offered).
    ///
    /// `complete`: `content` is the whole body. When all of it is taken the body is finished,
    /// and its exact size and 8-bit octets decide `SIZE=` and `BODY=8BITMIME`, as with
    /// [`Client::send_message_with_body`], with memory bounded. When it is not all taken and
    /// they matter to this server ([`Client::content_facts_wanted`]), the session measures
    /// `content` where it is (one scan, no copy) and judges MAIL on that; the rest offered
    /// later must be the rest of the same bytes (what is sent is counted against the server's
    /// SIZE and checked for 8-bit octets as always).
    pub fn send_message_with_content(
        &mut self,
        envelope: Envelope,
        content: &[u8],
        complete: bool,
    ) -> Result<(MessageId, usize), UsageError> {
        let id = self.queue_message(envelope, true)?;
        let mut i = self.messages.len() - 1;
        let writable = self.messages.iter().take(i).all(|m| m.body_finished);
        let room = if writable { self.body_room() } else { 0 };
        let partial = content.len() > room;
        if complete && partial && self.content_facts_wanted() {
            let mut meter = crate::body::ContentMeter::new();
            meter.update(content);
            self.messages[i].measured = Some((meter.size(), meter.eight_bit()));
        }
        let mut taken = 0;
        if writable {
            // When not all of it is taken, what MAIL declares does not hang on the part taken
            // (the content was measured, or its facts do not matter to this server: see
            // `content_facts_wanted`), so the message may start first and that part be framed
            // straight from `content`, not held raw and framed again when MAIL goes (a second
            // copy of up to a body buffer per message). Not with BODY=7BIT declared: 8-bit
            // octets in it must still stop the message before MAIL.
            let seven_bit =
                self.messages[i].envelope.params.body == Some(crate::command::BodyType::SevenBit);
            if partial && !seven_bit {
                self.pump();
                // Earlier messages may have been forgotten, and MAIL took some of the room.
                let Some(at) = self.message_index(id) else {
                    // Not reached (a message with its body open is never forgotten); ended
                    // like every other call all the same.
                    self.pump_and_wake();
                    return Ok((id, 0));
                };
                i = at;
            }
            taken = content.len().min(self.body_room());
            let whole = taken == content.len();
            self.body_input(
                i,
                content.get(..taken).unwrap_or_default(),
                complete && whole,
            );
            if !whole {
                self.messages[i].blocked = true;
            }
        }
        self.pump_and_wake();
        Ok((id, taken))
    }

    /// Queues NOOP (RFC 5321 4.1.1.9); its reply comes as [`Event::ReplyReceived`].
    pub fn noop(&mut self, argument: Option<&str>) -> Result<CommandId, UsageError> {
        let arg = argument.map(Argument::new).transpose()?;
        self.queue_side(SideCommand::Noop(arg))
    }

    /// Queues VRFY (RFC 5321 4.1.1.6).
    pub fn verify(&mut self, argument: &str) -> Result<CommandId, UsageError> {
        let arg = Argument::new(argument)?;
        self.queue_side(SideCommand::Vrfy(arg))
    }

    /// Queues EXPN (RFC 5321 4.1.1.7).
    pub fn expand(&mut self, argument: &str) -> Result<CommandId, UsageError> {
        let arg = Argument::new(argument)?;
        self.queue_side(SideCommand::Expn(arg))
    }

    /// Queues HELP (RFC 5321 4.1.1.8).
    pub fn help(&mut self, argument: Option<&str>) -> Result<CommandId, UsageError> {
        let arg = argument.map(Argument::new).transpose()?;
        self.queue_side(SideCommand::Help(arg))
    }

    /// Queues ETRN (RFC 1985): the server is asked to start delivering the mail it holds for
    /// `node` (`example.org`, `@example.org` for its subdomains too, `#queue`). Its reply
    /// (250, 251, 252 or 253 when it starts; 458 or 459 when it cannot) comes as
    /// [`Event::ReplyReceived`].
    pub fn etrn(&mut self, node: &str) -> Result<CommandId, UsageError> {
        let arg = Argument::new(node)?;
        self.queue_side(SideCommand::Etrn(arg))
    }

    /// Queues QUIT after everything queued so far (RFC 5321 4.1.1.10). The session ends with
    /// `Event::Closed(Ok(()))` on 221 or when the server then closes the connection.
    pub fn quit(&mut self) -> Result<(), UsageError> {
        self.check_open()?;
        self.jobs.push_back(Job::Quit);
        self.pump_and_wake();
        Ok(())
    }

    /// Ends the session from the caller's side (a body reader failed, the user gave up): every
    /// message without an outcome gets [`crate::Verdict::Failed`], then
    /// `Closed(Err(Error::LocallyAborted))`. Nothing more is sent; the caller closes the
    /// connection. A no-op on a closed session.
    pub fn abort(&mut self, now: Timestamp) {
        self.now = now;
        self.fail(Error::LocallyAborted);
    }

    // ----- helpers for the state machine -----

    fn check_open(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Closed { .. } => Err(UsageError::Closed),
            Phase::Quitting => Err(UsageError::Quitting),
            _ if matches!(self.jobs.back(), Some(Job::Quit)) => Err(UsageError::Quitting),
            _ => Ok(()),
        }
    }

    fn queue_side(&mut self, side: SideCommand) -> Result<CommandId, UsageError> {
        self.check_open()?;
        self.next_id += 1;
        let id = CommandId(self.next_id);
        self.jobs.push_back(Job::Side(id, side));
        self.pump_and_wake();
        Ok(id)
    }

    fn message_index(&self, id: MessageId) -> Option<usize> {
        self.messages.iter().position(|m| m.id == id)
    }

    fn pipelining(&self) -> bool {
        self.config.pipelining && self.capabilities.as_ref().is_some_and(|c| c.pipelining)
    }

    fn may_send(&self) -> bool {
        self.pipeline.may_send(self.pipelining())
    }

    /// Messages started whose outcome is not known yet.
    fn messages_in_flight(&self) -> usize {
        // Messages start in queue order, so the started ones are a prefix.
        self.messages
            .iter()
            .take_while(|m| m.step != Step::Queued)
            .filter(|m| !m.reported)
            .count()
    }

    /// Forgets messages whose outcome is reported and whose body the caller finished.
    fn collect(&mut self) {
        while self
            .messages
            .front()
            .is_some_and(|m| m.reported && m.body_finished)
        {
            if let Some(m) = self.messages.pop_front() {
                self.recycle(m.staged);
            }
        }
    }

    /// Keeps an emptied content buffer for a later message, unless enough are kept or it grew
    /// well past the body buffer (a one-off huge message should not pin its memory). Buffers
    /// that held a full body buffer's worth of content grow to about twice that (line ends and
    /// the growth of a `Vec`); dropping those would free and allocate them again for every
    /// message, which fragments the heap.
    fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS
            && buffer.capacity() > 0
            && buffer.capacity() <= self.body_buffer().saturating_mul(2) + 8192
        {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// The capacity a content buffer gets when it must grow: a full body buffer's worth, with
    /// room for the growth of line ends and for the commands that follow the content, so that
    /// buffers reach one size and keep it (and are reused) instead of doubling again.
    fn content_capacity(&self) -> usize {
        let b = self.body_buffer();
        b + b / 8 + 4096
    }

    /// The bound on content held, with room for two BDAT chunks at least.
    fn body_buffer(&self) -> usize {
        let limits = &self.config.limits;
        limits
            .body_buffer
            .max(limits.bdat_chunk_size.max(1).saturating_mul(2))
    }

    /// Content bytes `write_body` may take now.
    fn body_room(&self) -> usize {
        let held: usize =
            self.out.len() + self.messages.iter().map(|m| m.staged.len()).sum::<usize>();
        self.body_buffer().saturating_sub(held)
    }

    /// What every public call that moves the session on ends with: starts what the session
    /// allows now, then announces the room left to writers that were turned away. Last, so that
    /// no `BodyWanted` is followed, within the same call, by output that takes the room it
    /// announced (a message abandoned mid-call frees room that the next one's MAIL and framed
    /// content may take again): after a `BodyWanted`, `write_body` takes something.
    fn pump_and_wake(&mut self) {
        self.pump();
        self.wake_writer();
    }

    /// `BodyWanted` for a writer `write_body` turned away, once it can take bytes again.
    fn wake_writer(&mut self) {
        let room = self.body_room() > 0;
        for m in self.messages.iter_mut() {
            if m.blocked && (room || m.discarding()) {
                m.blocked = false;
                self.events.push_back(Event::BodyWanted(m.id));
            }
        }
    }

    /// Which message `write_body`/`finish_body` may write to.
    fn body_target(&self, id: MessageId) -> Result<usize, UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let i = self.message_index(id).ok_or(UsageError::UnknownMessage)?;
        if self.messages[i].body_finished {
            return Err(UsageError::UnknownMessage);
        }
        if self.messages.iter().take(i).any(|m| !m.body_finished) {
            return Err(UsageError::BodyOutOfOrder);
        }
        Ok(i)
    }

    /// Frames body bytes of message `i` (or holds them raw until it starts), counts them
    /// against the server's SIZE and checks for 8-bit octets the MAIL did not declare
    /// (RFC 1870 6, RFC 6152 3): content that breaks either stops here.
    fn body_input(&mut self, i: usize, data: &[u8], finish: bool) {
        let full = self.content_capacity();
        let mut flowing_from = None;
        let Client {
            messages,
            out,
            spare,
            ..
        } = self;
        let m = &mut messages[i];
        if finish {
            m.body_finished = true;
        }
        if m.discarding() {
            return;
        }
        // A kept buffer for the content to wait in, taken when content first comes (taken
        // when the message is queued, a long queue would leave none for the messages written).
        let straight_out = m.step == Step::Body && matches!(m.framer, Framer::Data(_));
        if m.staged.capacity() == 0 && !data.is_empty() && !straight_out {
            if let Some(buffer) = spare.pop() {
                m.staged = buffer;
            }
        }
        let undeclared_eight_bit =
            !m.eight_bit_declared && !matches!(m.framer, Framer::Undecided) && !data.is_ascii();
        if undeclared_eight_bit {
            return self.stop_content(i, Unsendable::EightBitContent);
        }
        let size = match &mut m.framer {
            Framer::Undecided => {
                m.staged.extend_from_slice(data);
                return;
            }
            Framer::Data(encoder) => {
                // After the 354 the content goes straight out; before, it waits in `staged`.
                let target = if m.step == Step::Body {
                    flowing_from = Some(out.len());
                    out
                } else {
                    &mut m.staged
                };
                reserve_content(target, data.len(), full);
                encoder.encode(data, target);
                // The end mark (and the CRLF that closes an open last line) go out later.
                if finish {
                    encoder.final_size()
                } else {
                    encoder.message_size()
                }
            }
            Framer::Bdat(encoder) => {
                reserve_content(&mut m.staged, data.len(), full);
                encoder.encode(data, &mut m.staged);
                let size = encoder.final_size();
                if finish {
                    encoder.finish(&mut m.staged);
                }
                size
            }
        };
        if let Some(limit) = m.size_limit.filter(|&limit| size > limit) {
            return self.stop_content(i, Unsendable::TooLarge { size, limit });
        }
        if let Some(start) = flowing_from {
            self.transcribe_content(start, false);
        }
    }

    /// With `Config::transcript_content`, the content appended to the transmit buffer since
    /// `from`, on the transcript a line at a time (a line split across appends is held until
    /// its CRLF; `end` flushes a last line without one).
    fn transcribe_content(&mut self, from: usize, end: bool) {
        if !(self.config.transcript && self.config.transcript_content) {
            return;
        }
        let appended = self.out.get(from..).unwrap_or_default().to_vec();
        for byte in appended {
            self.content_line.push(byte);
            if self.content_line.ends_with(b"\r\n") {
                let mut line = core::mem::take(&mut self.content_line);
                line.truncate(line.len() - 2);
                self.transcript(Direction::Sent, line);
            }
        }
        if end && !self.content_line.is_empty() {
            let line = core::mem::take(&mut self.content_line);
            self.transcript(Direction::Sent, line);
        }
    }

    /// Encodes and queues a command; on the transcript with AUTH payloads redacted. A command
    /// that does not encode ends the session with a typed local error (arguments are checked
    /// before they get here, so this is a bug, not the peer's doing; never a panic).
    fn send(&mut self, command: Command<'_>, expect: Expect) {
        let start = self.out.len();
        if let Err(error) = command.encode(&mut self.out) {
            return self.fail(Error::CommandUnencodable {
                stage: expect.stage(),
                error,
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
                    self.out.get(start..end).unwrap_or_default().to_vec()
                }
            };
            self.transcript(Direction::Sent, line);
        }
        self.pipeline.push(expect);
    }

    /// Sends a command that belongs to message `index`, counting its awaited reply.
    fn send_for(&mut self, index: usize, command: Command<'_>, expect: Expect) {
        self.messages[index].outstanding += 1;
        self.send(command, expect);
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
        if matches!(self.phase, Phase::TlsHandshake { .. }) {
            return Stage::StartTls;
        }
        match self.pipeline.head() {
            Some(expect) => expect.stage(),
            None if self.messages.iter().any(|m| m.step == Step::Body) => Stage::Data,
            None => Stage::Idle,
        }
    }
}

/// Makes room in `buffer` for `additional` content bytes (and a little more for the end mark
/// and the next commands): when it must grow, it grows to `full` at once.
fn reserve_content(buffer: &mut Vec<u8>, additional: usize, full: usize) {
    let needed = additional + 256;
    if buffer.capacity() - buffer.len() < needed {
        buffer.reserve(needed.max(full.saturating_sub(buffer.len())));
    }
}

/// The allowed mechanisms (all known ones when none is named) that can carry `credentials`:
/// what [`Authenticator::new`] would refuse at AUTH time is found out now, when the
/// configuration is given. SCRAM needs a nonce; an empty nonce leaves it out.
fn usable_mechanisms(
    credentials: &Credentials,
    allowed: &[Mechanism],
    nonce: &[u8],
) -> Result<Vec<Mechanism>, ConfigError> {
    const ALL: [Mechanism; 7] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
    ];
    if !nonce.is_empty() && nonce.len() < sasl::SCRAM_MIN_NONCE_LEN {
        return Err(ConfigError::NonceTooShort { len: nonce.len() });
    }
    let (username, secret) = match credentials {
        Credentials::Password { username, password } => (username, password.expose()),
        Credentials::OAuth2 { username, token } => (username, token.expose()),
    };
    // RFC 4954 4: a response line holds at most 12,288 octets of base64 (9,216 bytes); the
    // largest payload (OAUTHBEARER) adds some 40 bytes of framing to the user and the secret.
    if username.len() + secret.len() + 64 > crate::command::MAX_AUTH_RESPONSE / 4 * 3 {
        return Err(ConfigError::CredentialsTooLong);
    }
    let candidates: &[Mechanism] = if allowed.is_empty() { &ALL } else { allowed };
    let mut usable = Vec::new();
    let mut first_failure = None;
    for mechanism in candidates {
        match Authenticator::new(mechanism.clone(), credentials, nonce) {
            Ok(_) => usable.push(mechanism.clone()),
            // Implied mechanisms that do not fit these credentials are simply left out.
            Err(_) if allowed.is_empty() => {}
            Err(reason) => {
                first_failure.get_or_insert((mechanism.clone(), reason));
            }
        }
    }
    if usable.is_empty() {
        let (mechanism, reason) = first_failure.unwrap_or((
            candidates.first().cloned().unwrap_or(Mechanism::Plain),
            SaslError::CredentialsMismatch,
        ));
        return Err(ConfigError::NoMechanismForCredentials { mechanism, reason });
    }
    Ok(usable)
}
