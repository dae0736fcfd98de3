//! `client_session`: a whole client session (greeting, EHLO, STARTTLS, AUTH, several messages,
//! PIPELINING and BDAT on and off, side commands, QUIT, timeouts, closes) against whatever bytes
//! a server sends. Checked after every step:
//!
//! - no panic; output, events and awaited replies stay within a bound proportional to the steps;
//! - the server never answers a command before `poll_transmit` handed it out (the harness polls
//!   after every chunk of server bytes, as an adapter does after every read), so an
//!   `Error::UnsolicitedReply` is the script's own doing;
//! - nothing is sent once the session is closed, and `Event::Closed` comes exactly once, agreeing
//!   with `is_closed()` and `error()` (RFC 5321 3.8);
//! - no body byte before a `354` (or without BDAT): each message's body carries a marker, and a
//!   marker may first appear in the output only after `BDAT` was sent or after the server sent
//!   one more `354` line than the DATA bodies already started (RFC 5321 3.3, 4.1.1.4);
//! - with `TlsPolicy::Required`, before `handle_tls_established` only EHLO/HELO/LHLO/STARTTLS
//!   lines leave, and never the password, the token or their base64 at any alignment; without
//!   `allow_plaintext` they never leave on an insecure connection (RFC 3207, RFC 4954 4);
//! - the secret never appears in an event's `Debug`, a transcript line or the client's `Debug`
//!   (these checks stop once the server itself has sent the secret, which may then be echoed);
//! - a deadline from `poll_timeout` ends the session with `Error::Timeout` when reached, and a
//!   `handle_timeout` just before it changes nothing (RFC 5321 4.5.3.2);
//! - every message accepted by `send_message` gets exactly one `Event::MessageDone`, with one
//!   recipient outcome per envelope recipient; `write_body` takes at most what it is offered, the
//!   rest is offered again after `Event::BodyWanted`, which comes only after a short write.
//!
//! Input layout: six setup bytes (see [`Setup::read`]), then steps (see [`Op`]).

use crate::input::{chunks, Bytes};
use crate::reply::parser_config;
use base64::Engine as _;
use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{
    AuthConfig, Client, ClientName, Config, Envelope, Error, Event, Limits, Mailbox, MessageId,
    Protocol, Secret, Timeouts, Timestamp, TlsPolicy, UsageError, Verdict,
};
use std::time::Duration;

/// The password given to the client. Never on the wire before TLS when TLS is required.
pub const PASSWORD: &str = "S3cr3t-pw-Zx9!";
/// The OAuth token given to the client.
pub const TOKEN: &str = "tok3n-Yy8-s3cr3t";

/// How the session is configured, from the first six bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setup {
    /// Bits 0–1: TLS (0 never, 1 opportunistic, 2 required, 3 implicit TLS); bit 2: pipelining
    /// off; bit 3: chunking off; bit 4: transcript on; bit 5: LMTP; bit 6: HELO without ESMTP
    /// greeting; bit 7: no HELO fallback.
    pub session: u8,
    /// Bits 0–1: credentials (0 none, 1 password, 2 OAuth token, 3 password with an empty user);
    /// bit 2: allow plaintext mechanisms; bits 3–5: only this mechanism (0 any, then PLAIN,
    /// LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER); bit 6: a too-short
    /// SCRAM nonce; bit 7: also allow an unknown mechanism.
    pub auth: u8,
    /// Bits 0–2: BDAT chunk size; bits 3–4: messages in flight; bits 5–6: XCLIENT
    /// (`Setup::xclient`).
    pub limits: u8,
    /// The reply parser's configuration ([`parser_config`]).
    pub parser: [u8; 2],
    /// 0: RFC 5321 timeouts; else every stage this many seconds.
    pub timeout: u8,
}

impl Setup {
    /// Reads the six setup bytes.
    pub fn read(input: &mut Bytes<'_>) -> Setup {
        Setup {
            session: input.u8(),
            auth: input.u8(),
            limits: input.u8(),
            parser: [input.u8(), input.u8()],
            timeout: input.u8(),
        }
    }

    /// The six setup bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.session,
            self.auth,
            self.limits,
            self.parser[0],
            self.parser[1],
            self.timeout,
        ]);
    }

    fn tls(&self) -> TlsPolicy {
        match self.session & 3 {
            0 | 3 => TlsPolicy::Never,
            1 => TlsPolicy::Opportunistic,
            _ => TlsPolicy::Required,
        }
    }

    fn implicit_tls(&self) -> bool {
        self.session & 3 == 3
    }

    fn allow_plaintext(&self) -> bool {
        self.auth & 4 != 0
    }

    /// The secret the client holds, if any.
    fn secret(&self) -> Option<&'static str> {
        match self.auth & 3 {
            0 => None,
            2 => Some(TOKEN),
            _ => Some(PASSWORD),
        }
    }

    /// XCLIENT, from limits bits 5–6: 0 none, 1 HELO, NAME and ADDR, required and checked, 2
    /// the same if offered, 3 a 255-octet HELO and NAME and ADDR (two lines), unchecked.
    fn xclient(&self) -> Option<mailwire::Xclient> {
        let kind = self.limits >> 5 & 3;
        let long = |c: &str| [&*c.repeat(63); 4].join(".");
        let (helo, name) = if kind == 3 {
            (long("h"), long("n"))
        } else {
            ("orig.example".into(), "relay.example".into())
        };
        let mut x = mailwire::Xclient::new()
            .attribute("HELO", &helo)
            .and_then(|x| x.attribute("NAME", &name))
            .and_then(|x| x.attribute("ADDR", "10.1.2.3"))
            .expect("valid attributes");
        match kind {
            0 => return None,
            2 => x.if_offered = true,
            3 => x.check_offered = false,
            _ => {}
        }
        Some(x)
    }

    /// The client configuration.
    pub fn config(&self) -> Config {
        let mut c = Config::new(ClientName::parse("client.example").expect("valid name"));
        c.tls = self.tls();
        c.implicit_tls = self.implicit_tls();
        c.pipelining = self.session & 4 == 0;
        c.chunking = self.session & 8 == 0;
        c.transcript = self.session & 16 != 0;
        if self.session & 32 != 0 {
            c.protocol = Protocol::Lmtp;
        }
        c.helo_without_esmtp_greeting = self.session & 64 != 0;
        c.helo_fallback = self.session & 128 == 0;
        if self.auth & 3 != 0 {
            let credentials = match self.auth & 3 {
                2 => Credentials::OAuth2 {
                    username: "alice".into(),
                    token: Secret::new(TOKEN.into()),
                },
                kind => Credentials::Password {
                    username: if kind == 3 {
                        String::new()
                    } else {
                        "alice".into()
                    },
                    password: Secret::new(PASSWORD.into()),
                },
            };
            let mut auth = AuthConfig::new(credentials);
            auth.allow_plaintext = self.allow_plaintext();
            const ONLY: [&str; 8] = [
                "",
                "PLAIN",
                "LOGIN",
                "CRAM-MD5",
                "SCRAM-SHA-1",
                "SCRAM-SHA-256",
                "XOAUTH2",
                "OAUTHBEARER",
            ];
            let only = ONLY[usize::from(self.auth >> 3 & 7)];
            if !only.is_empty() {
                auth.mechanisms.push(Mechanism::parse(only));
            }
            if self.auth & 128 != 0 {
                auth.mechanisms.push(Mechanism::parse("X-UNKNOWN"));
            }
            auth.nonce = if self.auth & 64 != 0 {
                vec![b'n'; 10]
            } else {
                b"0123456789abcdefghijklmn".to_vec()
            };
            c.auth = Some(auth);
        }
        const CHUNK: [usize; 8] = [64 * 1024, 1, 2, 7, 16, 100, 512, 4096];
        const WINDOW: [usize; 4] = [64, 1, 2, 0];
        let mut limits = Limits::default();
        limits.bdat_chunk_size = CHUNK[usize::from(self.limits & 7)];
        limits.max_messages_in_flight = WINDOW[usize::from(self.limits >> 3 & 3)];
        limits.parser = parser_config(self.parser[0], self.parser[1]);
        c.limits = limits;
        c.xclient = self.xclient();
        if self.timeout != 0 {
            c.timeouts = Timeouts::uniform(Duration::from_secs(u64::from(self.timeout)));
        }
        c
    }
}

/// One step of the session. Encoded as an opcode byte (read modulo 13) and its operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// 0, split, length, bytes: the server sent these bytes (fed in chunks of `split` bytes, 0:
    /// at once).
    Input {
        /// Chunk size.
        split: u8,
        /// The bytes (at most 255 per step).
        bytes: Vec<u8>,
    },
    /// 1, t: time passes. 0: up to the deadline; 1: to 1 ms before it; else `t` seconds (up to
    /// 127) or `(t - 127)` minutes; then `handle_timeout`.
    Wait(u8),
    /// 2, flags: queue a message. Bits 0–1: recipients − 1; bits 2–3: 0 no body yet, 1 body and
    /// finish, 2 body only, 3 `send_message_with_body`; bit 4: null sender; bit 5: SIZE=1000;
    /// bit 6: a UTF-8 recipient; bit 7: BODY=8BITMIME.
    Send(u8),
    /// 3, piece: write a piece of body to the oldest unfinished message.
    Write(u8),
    /// 4: finish the oldest unfinished message.
    Finish,
    /// 5: the TLS handshake completed.
    Tls,
    /// 6: the server closed the connection.
    Close,
    /// 7, which: NOOP, VRFY, EXPN, HELP or ETRN.
    Side(u8),
    /// 8: QUIT.
    Quit,
    /// 9, id: write to (bit 7: finish) the `id & 127`-th message queued (modulo their number),
    /// whatever state it is in.
    WriteTo(u8),
    /// 10: the caller aborts the session.
    Abort,
    /// 11: the TLS handshake failed.
    TlsFailed,
    /// 12: a write made no progress for too long.
    WriteTimeout,
}

impl Op {
    /// Reads one step.
    pub fn read(input: &mut Bytes<'_>) -> Op {
        match input.u8() % 13 {
            0 => {
                let split = input.u8();
                Op::Input {
                    split,
                    bytes: input.short_slice().to_vec(),
                }
            }
            1 => Op::Wait(input.u8()),
            2 => Op::Send(input.u8()),
            3 => Op::Write(input.u8()),
            4 => Op::Finish,
            5 => Op::Tls,
            6 => Op::Close,
            7 => Op::Side(input.u8()),
            8 => Op::Quit,
            9 => Op::WriteTo(input.u8()),
            10 => Op::Abort,
            11 => Op::TlsFailed,
            _ => Op::WriteTimeout,
        }
    }

    /// Appends the step's encoding. Server bytes longer than 255 become several steps.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::Input { split, bytes } => {
                for part in bytes.chunks(255) {
                    out.extend_from_slice(&[0, *split, part.len() as u8]);
                    out.extend_from_slice(part);
                }
            }
            Op::Wait(t) => out.extend_from_slice(&[1, *t]),
            Op::Send(f) => out.extend_from_slice(&[2, *f]),
            Op::Write(p) => out.extend_from_slice(&[3, *p]),
            Op::Finish => out.push(4),
            Op::Tls => out.push(5),
            Op::Close => out.push(6),
            Op::Side(w) => out.extend_from_slice(&[7, *w]),
            Op::Quit => out.push(8),
            Op::WriteTo(id) => out.extend_from_slice(&[9, *id]),
            Op::Abort => out.push(10),
            Op::TlsFailed => out.push(11),
            Op::WriteTimeout => out.push(12),
        }
    }
}

/// Body pieces written after each message's marker: line ends of every kind, dots at line
/// starts, end-of-data look-alikes, and a long line.
const PIECES: [&[u8]; 12] = [
    b"\r\n",
    b"\n.\n",
    b"\r\n.\r\n",
    b".\r\n",
    b"line\r\n.",
    b"\r.\r",
    b"x\r",
    b"\n",
    b"..\r\n.\n",
    b"Subject: hi\r\n\r\nhello\r\n",
    b"",
    b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n",
];

/// The text every body write of message `id` starts with; dot-free, so it leaves unchanged.
fn marker(id: MessageId) -> String {
    format!("BoDy{}x", id.get())
}

/// The secret and its base64 at each of the three alignments it can have inside a longer
/// base64-encoded message (PLAIN's `\0user\0pass`, LOGIN's bare password, XOAUTH2's string).
fn leak_patterns(secret: &str) -> Vec<Vec<u8>> {
    let secret = secret.as_bytes();
    let mut patterns = vec![secret.to_vec()];
    for skip in 0..3 {
        let part = &secret[skip..];
        let whole = part.len() / 3 * 3;
        patterns.push(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(&part[..whole])
                .into_bytes(),
        );
    }
    patterns
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A queued message as the harness sees it.
#[derive(Debug)]
struct Sent {
    id: MessageId,
    marker: String,
    recipients: usize,
    /// Where its marker first appeared in the output.
    body_seen: bool,
    /// Body bytes `write_body` took for it.
    written: usize,
    outcomes: usize,
    /// Bytes `write_body` did not take, offered again after `Event::BodyWanted`.
    backlog: Vec<u8>,
    /// The last write was short and no `BodyWanted` has come since.
    blocked: bool,
}

/// The session under test and what the harness knows about it.
struct Run {
    setup: Setup,
    client: Client,
    now: Timestamp,
    /// Everything the client sent.
    sent: Vec<u8>,
    /// Lines starting with `354` the server sent.
    server_354: usize,
    /// The first bytes (at most 3) of the server's current line.
    server_line_head: Vec<u8>,
    /// DATA bodies whose first byte left.
    data_bodies: usize,
    /// `handle_tls_established` was called while the client waited for it.
    tls_done: bool,
    /// `Event::TlsUpgradeRequested` came and the handshake is not reported yet.
    tls_wanted: bool,
    closed_seen: bool,
    quit_called: bool,
    messages: Vec<Sent>,
    /// Messages whose body the harness has not finished, oldest first.
    open: std::collections::VecDeque<MessageId>,
    body_bytes: usize,
    steps: usize,
    events: usize,
    leaks: Vec<Vec<u8>>,
    /// Every byte the server sent.
    server: Vec<u8>,
}

/// The target.
pub fn client_session(data: &[u8]) {
    let mut input = Bytes::new(data);
    let setup = Setup::read(&mut input);
    let mut run = Run::new(setup);
    run.after_step();
    while !input.is_empty() {
        let op = Op::read(&mut input);
        run.step(op);
        run.after_step();
    }
    // The connection ends: the session must be over and every message accounted for.
    run.client.handle_closed(run.now);
    run.after_step();
    run.finish();
}

impl Run {
    fn new(setup: Setup) -> Run {
        let now = Timestamp::ZERO;
        let config = setup.config();
        // A configuration no server could make work (a nonce too short, credentials no allowed
        // mechanism carries) is refused when given, typed; the session then runs without AUTH.
        let client = match Client::new(config.clone(), now) {
            Ok(client) => client,
            Err(UsageError::Config(_)) if config.auth.is_some() => {
                let mut config = config;
                config.auth = None;
                Client::new(config, now).expect("a configuration without AUTH is accepted")
            }
            Err(e) => panic!("Client::new refused {config:?}: {e:?}"),
        };
        Run {
            setup,
            client,
            now,
            sent: Vec::new(),
            server_354: 0,
            server_line_head: Vec::new(),
            data_bodies: 0,
            tls_done: false,
            tls_wanted: false,
            closed_seen: false,
            quit_called: false,
            messages: Vec::new(),
            open: Default::default(),
            body_bytes: 0,
            steps: 0,
            events: 0,
            leaks: setup.secret().map(leak_patterns).unwrap_or_default(),
            server: Vec::new(),
        }
    }

    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    /// A command's `UsageError` must agree with the session's state.
    fn check_usage(&self, what: &str, result: &Result<(), UsageError>) {
        match result {
            Err(UsageError::Closed) => assert!(self.closed(), "{what}: Closed on an open session"),
            Err(UsageError::Quitting) => {
                assert!(
                    self.quit_called && !self.closed(),
                    "{what}: Quitting without QUIT"
                )
            }
            Err(
                e @ (UsageError::InvalidAddress(_)
                | UsageError::InvalidCommand(_)
                | UsageError::NoRecipients),
            ) => {
                panic!("{what}: valid input refused: {e:?}")
            }
            Err(_) => assert!(!self.closed(), "{what}: on a closed session: {result:?}"),
            Ok(()) => assert!(!self.closed(), "{what}: accepted on a closed session"),
        }
    }

    /// Writing to or finishing the oldest message whose body is open always works while the
    /// session is open.
    fn check_body_call<T>(&self, what: &str, result: &Result<T, UsageError>) {
        match result {
            Ok(_) => assert!(!self.closed(), "{what}: accepted on a closed session"),
            Err(UsageError::Closed) => assert!(self.closed(), "{what}: Closed on an open session"),
            Err(e) => panic!("{what} on the oldest open body refused: {e:?}"),
        }
    }

    fn step(&mut self, op: Op) {
        self.steps += 1;
        let now = self.now;
        match op {
            Op::Input { split, bytes } => {
                self.count_354(&bytes);
                self.server_echo(&bytes);
                let sizes = [split];
                let sizes: &[u8] = if split == 0 { &[] } else { &sizes };
                // As an adapter does after every read: what the input made the client send goes
                // out before the next bytes arrive, so no reply answers a command not yet sent.
                for chunk in chunks(&bytes, sizes) {
                    self.client.handle_input(now, chunk);
                    self.transmit();
                }
            }
            Op::Wait(0) => {
                if let Some(deadline) = self.client.poll_timeout() {
                    self.now = self.now.max(deadline);
                    self.client.handle_timeout(self.now);
                    assert!(
                        matches!(self.client.error(), Some(Error::Timeout { .. })),
                        "deadline {deadline:?} passed without a timeout: {:?}",
                        self.client.error()
                    );
                }
            }
            Op::Wait(1) => {
                if let Some(deadline) = self.client.poll_timeout() {
                    let before = deadline
                        .saturating_since(Timestamp::ZERO)
                        .saturating_sub(Duration::from_millis(1));
                    let before = Timestamp::from_duration(before);
                    if before > self.now {
                        self.now = before;
                        self.client.handle_timeout(self.now);
                        assert!(
                            !self.closed(),
                            "handle_timeout before the deadline closed the session"
                        );
                        assert_eq!(
                            self.client.poll_timeout(),
                            Some(deadline),
                            "early handle_timeout moved the deadline"
                        );
                    }
                }
            }
            Op::Wait(t) => {
                let secs = if t < 128 {
                    u64::from(t)
                } else {
                    u64::from(t - 127) * 60
                };
                self.now = self.now.saturating_add(Duration::from_secs(secs));
                self.client.handle_timeout(self.now);
            }
            Op::Send(flags) => self.send(flags),
            Op::Write(piece) => {
                if let Some(&id) = self.open.front() {
                    let body = self.body(id, piece);
                    self.write(id, body);
                }
            }
            Op::Finish => {
                if let Some(&id) = self.open.front() {
                    let result = self.client.finish_body(id);
                    self.check_body_call("finish_body", &result);
                    self.finished(id);
                }
            }
            Op::Tls => {
                let wanted = self.tls_wanted && !self.closed();
                self.client.handle_tls_established(now);
                if wanted {
                    self.tls_wanted = false;
                    self.tls_done = true;
                    assert!(self.client.is_secure());
                }
            }
            Op::Close => {
                self.client.handle_closed(now);
                assert!(self.closed(), "handle_closed left the session open");
            }
            Op::Side(which) => {
                let result = match which % 7 {
                    0 => self.client.noop(None),
                    1 => self.client.noop(Some("ping")),
                    2 => self.client.verify("alice"),
                    3 => self.client.expand("staff"),
                    4 => self.client.help(None),
                    5 => self.client.help(Some("MAIL")),
                    _ => self.client.etrn("example.org"),
                };
                self.check_usage("side command", &result.map(|_| ()));
            }
            Op::Quit => {
                let result = self.client.quit();
                self.check_usage("quit", &result);
                self.quit_called = true;
            }
            Op::TlsFailed => {
                let wanted = self.tls_wanted && !self.closed();
                let was_closed = self.closed();
                self.client.handle_tls_failed(now);
                if wanted {
                    self.tls_wanted = false;
                    assert_eq!(self.client.error(), Some(&Error::TlsHandshakeFailed));
                } else {
                    assert_eq!(
                        self.closed(),
                        was_closed,
                        "handle_tls_failed without a handshake"
                    );
                }
            }
            Op::WriteTimeout => {
                let was_closed = self.closed();
                self.client.handle_write_timeout(now);
                assert!(self.closed(), "handle_write_timeout left the session open");
                if !was_closed {
                    assert!(
                        matches!(self.client.error(), Some(Error::WriteTimeout { .. })),
                        "handle_write_timeout: {:?}",
                        self.client.error()
                    );
                }
            }
            Op::Abort => {
                let was_closed = self.closed();
                self.client.abort(now);
                assert!(self.closed(), "abort left the session open");
                if !was_closed {
                    assert_eq!(
                        self.client.error(),
                        Some(&Error::LocallyAborted),
                        "abort's error"
                    );
                }
            }
            Op::WriteTo(id) => {
                if self.messages.is_empty() {
                    return;
                }
                let message = self.messages[usize::from(id & 127) % self.messages.len()].id;
                if id & 128 == 0 {
                    if let Ok(n) = self.client.write_body(message, b"stray\r\n") {
                        assert!(n <= 7, "write_body took {n} of 7 bytes");
                        self.wrote(message, n);
                    }
                } else if self.client.finish_body(message).is_ok() {
                    self.finished(message);
                }
            }
        }
    }

    fn body(&self, id: MessageId, piece: u8) -> Vec<u8> {
        let mut body = marker(id).into_bytes();
        body.extend_from_slice(PIECES[usize::from(piece) % PIECES.len()]);
        body
    }

    fn send(&mut self, flags: u8) {
        const RCPTS: [&str; 4] = [
            "b@example.net",
            "c@example.net",
            "d@[192.0.2.1]",
            "\"e f\"@example.net",
        ];
        let from =
            (flags & 16 == 0).then(|| Mailbox::parse("a@example.org").expect("valid sender"));
        let count = usize::from(flags & 3) + 1;
        let mut recipients: Vec<Mailbox> = RCPTS[..count]
            .iter()
            .map(|r| Mailbox::parse(r).expect("valid recipient"))
            .collect();
        if flags & 64 != 0 {
            recipients.push(Mailbox::parse("jörg@exämple.net").expect("valid UTF-8 recipient"));
        }
        let recipients_len = recipients.len();
        let mut envelope = Envelope::new(from, recipients);
        if flags & 32 != 0 {
            envelope.params.size = Some(1000);
        }
        if flags & 128 != 0 {
            envelope.params.body = Some(mailwire::command::BodyType::EightBitMime);
        }
        let mode = flags >> 2 & 3;
        let open_before = !self.open.is_empty();
        let result = if mode == 3 {
            // The id is not known before the call: mark the body with a count of its own.
            let body = format!("BoDyW{}x\r\nsent in one call\r\n", self.messages.len());
            self.client
                .send_message_with_body(envelope, body.as_bytes())
        } else {
            self.client.send_message(envelope)
        };
        let id = match result {
            Ok(id) => id,
            Err(UsageError::BodyOutOfOrder) => {
                assert!(mode == 3 && open_before, "BodyOutOfOrder for send_message");
                return;
            }
            Err(e) => {
                self.check_usage("send_message", &Err(e));
                return;
            }
        };
        assert!(!self.closed(), "send_message accepted on a closed session");
        assert!(
            self.messages.iter().all(|m| m.id != id),
            "handle {id:?} reused"
        );
        self.messages.push(Sent {
            id,
            marker: if mode == 3 {
                format!("BoDyW{}x", self.messages.len())
            } else {
                marker(id)
            },
            recipients: recipients_len,
            body_seen: false,
            written: 0,
            outcomes: 0,
            backlog: Vec::new(),
            blocked: false,
        });
        match mode {
            0 => self.open.push_back(id),
            1 | 2 if !self.open.is_empty() => {
                // Bodies are written in queue order: an earlier one is still open.
                let body = self.body(id, flags);
                let result = self.client.write_body(id, &body);
                assert_eq!(
                    result,
                    Err(UsageError::BodyOutOfOrder),
                    "write_body out of order"
                );
                self.open.push_back(id);
            }
            1 | 2 => {
                self.open.push_back(id);
                let body = self.body(id, flags);
                self.write(id, body);
                if mode == 1 {
                    let result = self.client.finish_body(id);
                    self.check_body_call("finish_body", &result);
                    self.finished(id);
                }
            }
            _ => self.wrote(
                id,
                format!("BoDyW{}x\r\nsent in one call\r\n", self.messages.len() - 1).len(),
            ),
        }
    }

    /// A server that itself sends the secret (or its base64) may see it echoed: in its own
    /// capabilities or replies kept in events, or in a SCRAM nonce the client sends back. From
    /// then on the secret checks cannot tell a leak from an echo, and are off.
    fn server_echo(&mut self, bytes: &[u8]) {
        let start = self.server.len();
        self.server.extend_from_slice(bytes);
        let echoed = self.leaks.iter().any(|p| {
            let from = start.saturating_sub(p.len().saturating_sub(1));
            find(&self.server[from..], p).is_some()
        });
        if echoed {
            self.leaks.clear();
        }
    }

    /// The secret, while the checks for it are on.
    fn secret(&self) -> Option<&'static str> {
        self.setup.secret().filter(|_| !self.leaks.is_empty())
    }

    /// Counts server lines that start with `354`, across steps.
    fn count_354(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.server_line_head.clear();
            } else if self.server_line_head.len() < 3 {
                self.server_line_head.push(b);
                if self.server_line_head == b"354" {
                    self.server_354 += 1;
                }
            }
        }
    }

    /// Offers what `write_body` did not take before, then `data`, to the oldest open message;
    /// what it does not take now waits for `Event::BodyWanted`. Returns how much it took.
    fn write(&mut self, id: MessageId, data: Vec<u8>) -> usize {
        let Some(m) = self.messages.iter_mut().find(|m| m.id == id) else {
            return 0;
        };
        let mut offer = std::mem::take(&mut m.backlog);
        offer.extend_from_slice(&data);
        if offer.is_empty() {
            return 0;
        }
        let result = self.client.write_body(id, &offer);
        self.check_body_call("write_body", &result);
        let Ok(n) = result else { return 0 };
        assert!(
            n <= offer.len(),
            "write_body took {n} of {} bytes",
            offer.len()
        );
        self.wrote(id, n);
        if n < offer.len() {
            let m = self.message(id);
            m.backlog = offer[n..].to_vec();
            m.blocked = true;
        }
        n
    }

    /// The harness finished `id`'s body (what `write_body` had not taken is given up).
    fn finished(&mut self, id: MessageId) {
        self.open.retain(|&m| m != id);
        if let Some(m) = self.messages.iter_mut().find(|m| m.id == id) {
            m.backlog.clear();
        }
    }

    fn wrote(&mut self, id: MessageId, n: usize) {
        self.body_bytes += n;
        if let Some(m) = self.messages.iter_mut().find(|m| m.id == id) {
            m.written += n;
        }
    }

    /// Takes what the client has to send and checks it.
    fn transmit(&mut self) {
        let start = self.sent.len();
        let mut out = Vec::new();
        let n = self.client.poll_transmit(self.now, &mut out);
        assert_eq!(n, out.len(), "poll_transmit miscounted");
        let mut again = Vec::new();
        assert_eq!(
            self.client.poll_transmit(self.now, &mut again),
            0,
            "bytes left after poll_transmit"
        );
        assert!(
            !(self.closed() && n > 0),
            "sent {:?} on a closed session",
            String::from_utf8_lossy(&out)
        );
        assert!(!(self.closed_seen && n > 0), "sent after Closed");
        self.sent.extend_from_slice(&out);
        self.check_output(start);
    }

    fn after_step(&mut self) {
        // Until the client is quiet: what it sends, what it reports, and the body bytes it asked
        // for again (each round takes bytes, or ends).
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 10_000, "the client never goes quiet");
            self.transmit();
            let wanted = self.drain_events();
            let mut progress = false;
            for id in wanted {
                let open = self.open.front() == Some(&id) && !self.closed();
                let has_backlog = self
                    .messages
                    .iter()
                    .any(|m| m.id == id && !m.backlog.is_empty());
                if open && has_backlog {
                    let n = self.write(id, Vec::new());
                    assert!(n > 0, "BodyWanted({id:?}), then write_body took nothing");
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        if self.closed() {
            assert!(self.closed_seen, "closed without Event::Closed");
            assert_eq!(
                self.client.poll_timeout(),
                None,
                "a deadline on a closed session"
            );
            assert!(self
                .client
                .send_message(Envelope::new(
                    None,
                    [Mailbox::parse("b@example.net").unwrap()]
                ))
                .is_err());
        }
        // Bounded: output, events and awaited replies grow at most in proportion to the steps
        // and body bytes given (BDAT chunks of one byte cost a command line each).
        let chunk = self.client.config().limits.bdat_chunk_size.max(1);
        let steps = self.steps + 1;
        let out_bound = self.body_bytes * (3 + 72 / chunk) + 16 * 1024 * steps;
        assert!(
            self.sent.len() <= out_bound,
            "{} bytes sent after {steps} steps",
            self.sent.len()
        );
        assert!(
            self.events <= 1024 * steps,
            "{} events after {steps} steps",
            self.events
        );
        // Every BDAT chunk awaits its reply, and chunks are pipelined (RFC 3030 4.2): with tiny
        // chunks the count follows the body's size, not the number of steps.
        let bdat_chunks = (2 * self.body_bytes + 2).div_ceil(chunk);
        assert!(
            self.client.replies_pending() <= 16 * steps + bdat_chunks,
            "{} replies awaited",
            self.client.replies_pending()
        );
    }

    fn secure(&self) -> bool {
        self.setup.implicit_tls() || self.tls_done
    }

    fn check_output(&mut self, start: usize) {
        let secure = self.secure();
        let required = self.setup.tls() == TlsPolicy::Required && !self.setup.implicit_tls();
        // The region that may hold a pattern that was not whole before this step.
        let from = |len: usize| start.saturating_sub(len.saturating_sub(1));
        if !secure && (required || !self.setup.allow_plaintext()) {
            for pattern in &self.leaks {
                let region = &self.sent[from(pattern.len())..];
                assert!(
                    find(region, pattern).is_none(),
                    "secret {:?} sent before TLS: {:?}",
                    String::from_utf8_lossy(pattern),
                    String::from_utf8_lossy(&self.sent)
                );
            }
        }
        if !secure && required {
            let new = &self.sent[start..];
            for line in new.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let ok = [&b"EHLO "[..], b"HELO ", b"LHLO ", b"STARTTLS\r"]
                    .iter()
                    .any(|v| line.starts_with(v));
                assert!(ok, "{:?} sent before TLS", String::from_utf8_lossy(line));
            }
        }
        for i in 0..self.messages.len() {
            if self.messages[i].body_seen {
                continue;
            }
            let marker = self.messages[i].marker.clone();
            let region_start = from(marker.len());
            let Some(at) = find(&self.sent[region_start..], marker.as_bytes()) else {
                continue;
            };
            let at = region_start + at;
            self.messages[i].body_seen = true;
            if find(&self.sent[..at], b"BDAT ").is_some() {
                continue;
            }
            self.data_bodies += 1;
            assert!(
                self.data_bodies <= self.server_354,
                "body of {:?} sent after {} of 354 lines for {} DATA bodies: {:?}",
                self.messages[i].id,
                self.server_354,
                self.data_bodies,
                String::from_utf8_lossy(&self.sent)
            );
        }
    }

    /// Drains the events and checks them; returns the messages `BodyWanted` named.
    fn drain_events(&mut self) -> Vec<MessageId> {
        let mut wanted = Vec::new();
        while let Some(event) = self.client.poll_event() {
            self.events += 1;
            if let Some(secret) = self.secret() {
                let debug = format!("{event:?}");
                assert!(!debug.contains(secret), "secret in event {debug}");
                if let Event::Transcript(line) = &event {
                    for pattern in &self.leaks {
                        assert!(
                            find(&line.line, pattern).is_none(),
                            "secret in transcript {line:?}"
                        );
                    }
                }
                if let Event::Closed(Err(e)) = &event {
                    assert!(!e.to_string().contains(secret), "secret in error {e}");
                }
            }
            match &event {
                Event::Closed(result) => {
                    assert!(!self.closed_seen, "Closed twice");
                    self.closed_seen = true;
                    assert!(self.closed(), "Closed reported on an open session");
                    assert_eq!(
                        result.as_ref().err(),
                        self.client.error(),
                        "Closed disagrees with error()"
                    );
                }
                Event::MessageDone(outcome) => {
                    let closed = self.closed();
                    let m = self.message(outcome.message);
                    m.outcomes += 1;
                    assert_eq!(m.outcomes, 1, "two outcomes for {:?}: {event:?}", m.id);
                    assert_eq!(
                        outcome.recipients.len(),
                        m.recipients,
                        "one recipient outcome per recipient"
                    );
                    assert_eq!(outcome.envelope.recipients.len(), m.recipients);
                    if matches!(outcome.verdict, Verdict::Failed { .. }) {
                        assert!(closed, "Failed on an open session: {event:?}");
                    }
                }
                Event::BodyWanted(message) => {
                    let m = self.message(*message);
                    assert!(m.blocked, "BodyWanted({message:?}) without a short write");
                    m.blocked = false;
                    wanted.push(*message);
                }
                Event::TlsUpgradeRequested => {
                    assert!(!self.tls_wanted, "TlsUpgradeRequested twice");
                    self.tls_wanted = true;
                }
                Event::RecipientAccepted { message, index, .. }
                | Event::RecipientRejected { message, index, .. }
                | Event::RecipientDelivered { message, index, .. } => {
                    let m = self.message(*message);
                    assert!(
                        *index < m.recipients,
                        "recipient {index} of {}",
                        m.recipients
                    );
                }
                _ => {}
            }
        }
        wanted
    }

    fn message(&mut self, id: MessageId) -> &mut Sent {
        self.messages
            .iter_mut()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("event for unknown {id:?}"))
    }

    fn finish(&mut self) {
        assert!(self.closed_seen, "session still open after handle_closed");
        for m in &self.messages {
            assert_eq!(m.outcomes, 1, "{:?} got {} outcomes", m.id, m.outcomes);
        }
        if let Some(secret) = self.secret() {
            let debug = format!("{:?}", self.client);
            assert!(!debug.contains(secret), "secret in the client's Debug");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_round_trip_through_their_encoding() {
        let ops = [
            Op::Input {
                split: 3,
                bytes: b"220 hi\r\n".to_vec(),
            },
            Op::Wait(0),
            Op::Send(5),
            Op::Write(2),
            Op::Finish,
            Op::Tls,
            Op::Close,
            Op::Side(1),
            Op::Quit,
            Op::WriteTo(9),
            Op::Abort,
            Op::TlsFailed,
            Op::WriteTimeout,
        ];
        let mut bytes = Vec::new();
        for op in &ops {
            op.encode(&mut bytes);
        }
        let mut input = Bytes::new(&bytes);
        for op in &ops {
            assert_eq!(&Op::read(&mut input), op);
        }
        assert!(input.is_empty());
    }

    #[test]
    fn leak_patterns_find_the_password_inside_plain() {
        let plain =
            base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PASSWORD}"));
        assert!(leak_patterns(PASSWORD)
            .iter()
            .any(|p| find(plain.as_bytes(), p).is_some()));
        let login = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
        assert!(leak_patterns(PASSWORD)
            .iter()
            .any(|p| find(login.as_bytes(), p).is_some()));
    }
}
