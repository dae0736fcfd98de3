//! The state machine, whole: the session's [`Phase`], each message's [`Step`], the tables of
//! their transitions ([`PHASE_TABLE`], [`STEP_TABLE`], shown in `docs/ARCHITECTURE.md`, which a
//! test keeps in step with them), and every rule that moves either: what a reply does, and what
//! the session sends next. Everything that changes state lives here (h11's rule); the other
//! files of `client/` hold data and pure helpers.
//!
//! Every phase change goes through [`Client::enter`] and every step change through
//! [`Client::step_to`], which check the move against the tables in debug builds: the transcript
//! tests, the property tests and the fuzzers all run with that check on.

use super::message::{Framer, ProbeDepth, Step};
use super::params;
use super::pipeline::Expect;
use super::{Client, Job, SideCommand};
use crate::body::{BdatEncoder, DataEncoder};
use crate::capability::Capabilities;
use crate::command::{BodyType, Command};
use crate::config::{Milestone, Protocol, TlsPolicy};
use crate::error::{Error, Stage};
use crate::event::{Direction, Event};
use crate::outcome::{Rejection, Unsendable};
use crate::reply::{Code, Reply};
use crate::sasl::{self, Authenticator, SaslError};
use crate::secret::Secret;
use crate::time::Timestamp;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// Where the session is. Each variant carries the data that only it needs.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for the 220 greeting (RFC 5321 3.1).
    Greeting,
    /// EHLO, LHLO or HELO sent (which one the awaited reply's `Expect` says).
    Hello,
    /// STARTTLS sent (RFC 3207).
    StartTls,
    /// The 220 to STARTTLS arrived: the caller runs the TLS handshake. `deadline` is set once
    /// the handshake was asked for (at the end of the input that brought the 220).
    TlsHandshake { deadline: Option<Timestamp> },
    /// XCLIENT sent (Postfix's `XCLIENT_README`); EHLO follows its 220 or 250.
    Xclient,
    /// AUTH in progress (RFC 4954). `deferred` is an initial response too long for the AUTH
    /// line, sent after the first (empty) 334.
    Auth {
        authenticator: Box<Authenticator>,
        deferred: Option<Secret<Vec<u8>>>,
    },
    /// Messages and side commands flow. `rset_owed`: a transaction was left open (the server
    /// may keep its sender, RFC 5321 4.1.1.5): RSET before the next MAIL.
    Ready { rset_owed: bool },
    /// QUIT sent.
    Quitting,
    /// Over: nothing is sent, nothing is read. `error` is what ended it.
    Closed { error: Option<Error> },
}

impl Phase {
    /// The variant's name, as in [`PHASE_TABLE`].
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Phase::Greeting => "Greeting",
            Phase::Hello => "Hello",
            Phase::StartTls => "StartTls",
            Phase::TlsHandshake { .. } => "TlsHandshake",
            Phase::Xclient => "Xclient",
            Phase::Auth { .. } => "Auth",
            Phase::Ready { .. } => "Ready",
            Phase::Quitting => "Quitting",
            Phase::Closed { .. } => "Closed",
        }
    }
}

impl Step {
    /// The variant's name, as in [`STEP_TABLE`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Queued => "Queued",
            Step::Rcpts(_) => "Rcpts",
            Step::SendData => "SendData",
            Step::AwaitData => "AwaitData",
            Step::Body => "Body",
            Step::Chunks => "Chunks",
            Step::Done => "Done",
            Step::Abandoned => "Abandoned",
        }
    }
}

/// One row of a transition table: from, to, and what makes it happen.
pub type Transition = (&'static str, &'static str, &'static str);

/// Every change of the session's phase.
pub const PHASE_TABLE: &[Transition] = &[
    (
        "Greeting",
        "Hello",
        "220 greeting: EHLO (LHLO; HELO for a non-ESMTP greeting if configured)",
    ),
    ("Greeting", "Closed", "greeting refused, or any fatal error"),
    (
        "Greeting",
        "Quitting",
        "a probe stopping after the greeting (Config::stop_after)",
    ),
    (
        "Hello",
        "Hello",
        "EHLO refused with 500/502: HELO (RFC 5321 4.1.4)",
    ),
    (
        "Hello",
        "StartTls",
        "EHLO accepted, no TLS yet, the policy wants it and STARTTLS is offered",
    ),
    (
        "Hello",
        "Auth",
        "EHLO accepted, credentials configured (after TLS when wanted)",
    ),
    ("Hello", "Ready", "EHLO accepted, nothing more to do"),
    (
        "Hello",
        "Xclient",
        "EHLO accepted (after TLS when wanted), XCLIENT attributes left to send",
    ),
    (
        "Hello",
        "Closed",
        "EHLO refused, STARTTLS required but not offered, no usable mechanism, or any fatal error",
    ),
    (
        "Hello",
        "Quitting",
        "a probe stopping after EHLO, after TLS, or after AUTH with no credentials",
    ),
    ("StartTls", "TlsHandshake", "220 to STARTTLS"),
    (
        "StartTls",
        "Auth",
        "STARTTLS refused under the opportunistic policy, credentials configured",
    ),
    (
        "StartTls",
        "Ready",
        "STARTTLS refused under the opportunistic policy",
    ),
    (
        "StartTls",
        "Xclient",
        "STARTTLS refused under the opportunistic policy, XCLIENT attributes to send",
    ),
    (
        "StartTls",
        "Closed",
        "STARTTLS refused under the required policy, or any fatal error",
    ),
    (
        "StartTls",
        "Quitting",
        "a probe stopping after TLS, STARTTLS refused under the opportunistic policy",
    ),
    (
        "TlsHandshake",
        "Hello",
        "handle_tls_established: EHLO again (RFC 3207 4.2)",
    ),
    (
        "TlsHandshake",
        "Closed",
        "handle_tls_failed, bytes after the 220 (CVE-2011-0411), the deadline",
    ),
    (
        "Xclient",
        "Hello",
        "220 or 250 to XCLIENT: EHLO again (the server may have started over)",
    ),
    ("Xclient", "Closed", "XCLIENT refused, or any fatal error"),
    (
        "Auth",
        "Ready",
        "235, with SCRAM's server signature verified (RFC 5802 9)",
    ),
    (
        "Auth",
        "Closed",
        "AUTH refused, a bad challenge, or any fatal error",
    ),
    ("Auth", "Quitting", "a probe stopping after AUTH"),
    (
        "Ready",
        "Quitting",
        "QUIT sent, after everything queued before it",
    ),
    (
        "Ready",
        "Closed",
        "421, a timeout, a closed connection, abandoned content, abort",
    ),
    (
        "Quitting",
        "Closed",
        "221, or the server closes the connection",
    ),
];

/// Every change of a message's step.
pub const STEP_TABLE: &[Transition] = &[
    ("Queued", "Rcpts", "MAIL sent (after RSET if one is owed)"),
    (
        "Queued",
        "Abandoned",
        "unsendable to this server (an extension missing, too large, …)",
    ),
    ("Rcpts", "Rcpts", "a RCPT sent"),
    ("Rcpts", "SendData", "the last RCPT sent, content by DATA"),
    (
        "Rcpts",
        "Chunks",
        "the last RCPT sent, content by BDAT (RFC 3030)",
    ),
    (
        "Rcpts",
        "Abandoned",
        "MAIL refused without PIPELINING, the content stopped, or a probe's last command sent",
    ),
    ("SendData", "AwaitData", "DATA sent"),
    (
        "SendData",
        "Abandoned",
        "MAIL refused or no recipient accepted: no DATA; or the content stopped",
    ),
    ("AwaitData", "Body", "354"),
    (
        "AwaitData",
        "Abandoned",
        "DATA refused; 354 with no recipient (`.` alone, RFC 2920 3.1); the content stopped",
    ),
    ("Body", "Done", "end of data sent"),
    (
        "Body",
        "Abandoned",
        "a reply in the middle of the content, or the content stopped",
    ),
    ("Chunks", "Done", "BDAT LAST sent"),
    (
        "Chunks",
        "Abandoned",
        "a refusal before LAST, or the content stopped (RSET follows)",
    ),
];

/// Whether `from -> to` is a row of `table`; in debug builds the row is also marked as seen
/// (`seen` is a bitmap of rows), so that a test can tell which rows nothing exercised.
fn allowed(table: &[Transition], from: &str, to: &str, seen: &AtomicU32) -> bool {
    let row = table.iter().position(|&(f, t, _)| f == from && t == to);
    if let Some(row) = row.filter(|&r| r < 32) {
        seen.fetch_or(1 << row, Ordering::Relaxed);
    }
    row.is_some()
}

static PHASE_SEEN: AtomicU32 = AtomicU32::new(0);
static STEP_SEEN: AtomicU32 = AtomicU32::new(0);

/// Which rows of [`PHASE_TABLE`] and [`STEP_TABLE`] this process has taken so far, as bitmaps
/// (bit `n` is row `n`), in builds with debug assertions (zero otherwise): for the test that
/// every row is exercised.
pub fn transitions_seen() -> (u32, u32) {
    (
        PHASE_SEEN.load(Ordering::Relaxed),
        STEP_SEEN.load(Ordering::Relaxed),
    )
}

/// The RFC 5321 4.5.2 end-of-data mark, alone (RFC 2920 3.1's answer to a doomed 354).
const END_OF_DATA: &[u8] = b".\r\n";

impl Client {
    // ----- moving -----

    /// Moves the session to `to`.
    fn enter(&mut self, to: Phase) {
        debug_assert!(
            allowed(PHASE_TABLE, self.phase.name(), to.name(), &PHASE_SEEN),
            "phase {} -> {} is not in PHASE_TABLE",
            self.phase.name(),
            to.name()
        );
        self.phase = to;
    }

    /// Moves message `i` to `to`.
    fn step_to(&mut self, i: usize, to: Step) {
        let m = &mut self.messages[i];
        debug_assert!(
            allowed(STEP_TABLE, m.step.name(), to.name(), &STEP_SEEN),
            "step {} -> {} is not in STEP_TABLE",
            m.step.name(),
            to.name()
        );
        m.step = to;
    }

    /// Ends the session with an error (sticky: later failures are ignored).
    pub(super) fn fail(&mut self, error: Error) {
        if self.is_closed() {
            return;
        }
        self.close(Some(error));
    }

    /// Ends the session: nothing more leaves (RFC 5321 3.8 for 421), every message without an
    /// outcome gets `Failed`, then `Closed`.
    pub(super) fn close(&mut self, error: Option<Error>) {
        self.enter(Phase::Closed {
            error: error.clone(),
        });
        self.out.clear();
        self.pipeline.clear();
        self.jobs.clear();
        let failure = error
            .clone()
            .unwrap_or(Error::ConnectionClosed { stage: Stage::Quit });
        for mut m in core::mem::take(&mut self.messages) {
            if !m.reported {
                let outcome = m.failed_outcome(failure.clone());
                self.events.push_back(Event::MessageDone(outcome));
            }
        }
        self.events
            .push_back(Event::Closed(error.map_or(Ok(()), Err)));
    }

    // ----- replies -----

    /// A complete reply, after redaction and transcript.
    pub(super) fn on_reply(&mut self, reply: &Reply) {
        let stage = self.current_stage();
        // RFC 5321 3.8: 421 at any point (even unsolicited, in the middle of the content) means
        // the server is going away.
        if reply.code() == Code::SERVICE_NOT_AVAILABLE && self.pipeline.head() != Some(Expect::Quit)
        {
            return self.fail(Error::ServiceClosing {
                stage,
                reply: reply.clone(),
            });
        }
        let Some(expect) = self.pipeline.pop(self.now) else {
            return self.on_unsolicited(reply, stage);
        };
        match expect {
            Expect::Greeting => self.on_greeting(reply),
            Expect::Hello { extended } => self.on_hello(extended, reply),
            Expect::StartTls => self.on_starttls(reply),
            Expect::Xclient { upto } => self.on_xclient(upto, reply),
            Expect::Auth => self.on_auth(reply),
            Expect::Quit => self.close(None),
            Expect::Rset => {
                // A refused RSET leaves nothing better to do than go on: the next MAIL will
                // tell. Only a 3yz is nonsense.
                if reply.is_positive_intermediate() {
                    self.fail(Error::UnexpectedReply {
                        stage,
                        reply: reply.clone(),
                    });
                }
            }
            Expect::Side(command, _) => {
                if reply.is_positive_intermediate() {
                    return self.fail(Error::UnexpectedReply {
                        stage,
                        reply: reply.clone(),
                    });
                }
                self.events.push_back(Event::ReplyReceived {
                    command,
                    reply: reply.clone(),
                });
            }
            Expect::Mail(_)
            | Expect::Xforward(_)
            | Expect::Rcpt(..)
            | Expect::Data(_)
            | Expect::DataEnd(_)
            | Expect::LmtpRcpt(..)
            | Expect::Bdat(_) => self.on_message_reply(expect, reply),
        }
    }

    /// A reply while no command of ours is on the wire.
    fn on_unsolicited(&mut self, reply: &Reply, stage: Stage) {
        // A server that refuses in the middle of the content (Postfix's smtp-sink -A, a filter
        // that stops reading) answers the message early: that is the message's refusal, and the
        // session cannot go on (the rest of the content would be read as commands).
        if let Some(i) = self.messages.iter().position(|m| m.step == Step::Body) {
            self.abandon(i, Some(Rejection::Data(reply.clone())), false);
            return self.fail(Error::Rejected {
                stage,
                reply: reply.clone(),
            });
        }
        self.fail(Error::UnsolicitedReply(reply.clone()))
    }

    fn on_greeting(&mut self, reply: &Reply) {
        if reply.code() == Code::SERVICE_READY {
            // RFC 5321 3.2: a client that wants HELO on old servers may look for "ESMTP".
            let esmtp = reply
                .line(0)
                .is_some_and(|l| l.windows(5).any(|w| w.eq_ignore_ascii_case(b"ESMTP")));
            self.greeting = Some(reply.clone());
            self.events
                .push_back(Event::GreetingReceived(reply.clone()));
            if self.stop_at(Milestone::Greeting) {
                return;
            }
            let extended = self.config.protocol == Protocol::Lmtp
                || esmtp
                || !self.config.helo_without_esmtp_greeting;
            self.send_hello(extended);
        } else if reply.is_transient() || reply.is_permanent() {
            self.fail(Error::GreetingRejected(reply.clone()));
        } else {
            self.fail(Error::UnexpectedReply {
                stage: Stage::Greeting,
                reply: reply.clone(),
            });
        }
    }

    fn send_hello(&mut self, extended: bool) {
        let name = self.hello_name();
        let command = match (extended, self.config.protocol) {
            (_, Protocol::Lmtp) => Command::Lhlo(&name),
            (false, _) => Command::Helo(&name),
            (true, _) => Command::Ehlo(&name),
        };
        self.enter(Phase::Hello);
        self.send(command, Expect::Hello { extended });
    }

    fn on_hello(&mut self, extended: bool, reply: &Reply) {
        if reply.is_positive_completion() {
            let caps = if extended {
                Capabilities::from_ehlo_reply(reply)
            } else {
                // HELO: no extensions (RFC 5321 4.1.1.1).
                Capabilities::default()
            };
            self.events
                .push_back(Event::CapabilitiesChanged(caps.clone()));
            let offered = caps.starttls;
            self.capabilities = Some(caps);
            // The EHLO after XCLIENT: TLS and the probe's milestones were dealt with before it.
            if self.xclient_sent > 0 {
                return self.after_tls();
            }
            // A probe stops after the first EHLO (before STARTTLS, whatever the policy).
            let after_starttls = self.secure && !self.config.implicit_tls;
            if !after_starttls && self.stop_at(Milestone::Hello) {
                return;
            }
            // After EHLO: STARTTLS if wanted, else AUTH if configured, else ready.
            if !self.secure {
                match self.config.tls {
                    TlsPolicy::Never => {}
                    _ if offered => {
                        self.enter(Phase::StartTls);
                        return self.send(Command::StartTls, Expect::StartTls);
                    }
                    TlsPolicy::Required => return self.fail(Error::TlsNotOffered),
                    TlsPolicy::Opportunistic => self.events.push_back(Event::TlsSkipped(None)),
                }
            }
            if self.stop_at(Milestone::Tls) {
                return;
            }
            return self.after_tls();
        }
        // RFC 5321 4.1.4: a server that does not know EHLO says 500 or 502; try HELO.
        let unknown = matches!(reply.code().get(), 500 | 502);
        if extended
            && unknown
            && self.config.helo_fallback
            && self.config.protocol == Protocol::Smtp
        {
            return self.send_hello(false);
        }
        self.refuse(Stage::Hello, reply);
    }

    fn on_starttls(&mut self, reply: &Reply) {
        if reply.code() == Code::SERVICE_READY {
            // `Event::TlsUpgradeRequested` comes at the end of this input, once it is known that
            // nothing followed the 220 (see `after_input`).
            self.enter(Phase::TlsHandshake { deadline: None });
        } else if reply.is_transient() || reply.is_permanent() {
            if self.config.tls == TlsPolicy::Required {
                return self.fail(Error::TlsRejected(reply.clone()));
            }
            // Opportunistic: go on in plaintext, and never ask again on this connection.
            self.events
                .push_back(Event::TlsSkipped(Some(reply.clone())));
            if self.stop_at(Milestone::Tls) {
                return;
            }
            self.after_tls();
        } else {
            self.fail(Error::UnexpectedReply {
                stage: Stage::StartTls,
                reply: reply.clone(),
            });
        }
    }

    /// The end of an input: the STARTTLS 220 must have been the last thing in it (RFC 3207 4.2;
    /// CVE-2011-0411), then the handshake is asked for, within the command timeout.
    pub(super) fn after_input(&mut self, rest_in_input: bool) {
        if let Phase::TlsHandshake { deadline } = &mut self.phase {
            if rest_in_input || self.parser.has_partial() {
                return self.fail(Error::BytesAfterStartTls);
            }
            if deadline.is_none() {
                *deadline = Some(self.now.saturating_add(self.config.timeouts.command));
                self.events.push_back(Event::TlsUpgradeRequested);
            }
        }
    }

    /// The caller's handshake is done: forget what was learnt in plaintext, EHLO again.
    pub(super) fn on_tls_established(&mut self) {
        if !matches!(self.phase, Phase::TlsHandshake { .. }) {
            return;
        }
        self.secure = true;
        self.capabilities = None;
        self.parser = crate::ReplyParser::new(self.config.limits.parser);
        self.send_hello(true);
    }

    /// TLS is settled (or not wanted): XCLIENT if attributes are left to send, else AUTH.
    fn after_tls(&mut self) {
        let total = self
            .config
            .xclient
            .as_ref()
            .map_or(0, |x| x.attributes().len());
        if self.xclient_sent >= total {
            return self.start_auth();
        }
        self.send_xclient();
    }

    /// The next XCLIENT line, once the server is known to take it and its attributes.
    fn send_xclient(&mut self) {
        let Some(xclient) = self.config.xclient.as_ref() else {
            return self.start_auth();
        };
        let start = self.xclient_sent;
        let end =
            crate::xclient::next_line(xclient.attributes(), start, crate::xclient::XCLIENT_VERB);
        let line = xclient
            .attributes()
            .get(start..end)
            .unwrap_or_default()
            .to_vec();
        let offered = self.capabilities.as_ref().and_then(|c| {
            c.unknown
                .iter()
                .find(|e| e.keyword.eq_ignore_ascii_case("XCLIENT"))
        });
        let Some(extension) = offered else {
            // Only the first line may be skipped: half an identity is worse than none.
            if start == 0 && xclient.if_offered {
                return self.start_auth();
            }
            return self.fail(Error::XclientNotOffered);
        };
        if xclient.check_offered {
            let taken = |name: &str| {
                extension
                    .params
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(name))
            };
            if let Some(missing) = line.iter().find(|a| !taken(a.name())) {
                let name = missing.name().into();
                return self.fail(Error::XclientAttributeNotOffered(name));
            }
        }
        self.enter(Phase::Xclient);
        self.send(Command::Xclient(&line), Expect::Xclient { upto: end });
    }

    /// The name EHLO gives: the client's own, or after XCLIENT the `HELO` attribute it sent
    /// when that is a name EHLO can carry. Postfix takes the EHLO after XCLIENT as the client's
    /// HELO name, so sending ours would undo the attribute (XCLIENT_README's example says EHLO
    /// with the original client's name).
    fn hello_name(&self) -> crate::ClientName {
        let sent = self
            .config
            .xclient
            .as_ref()
            .and_then(|x| x.attributes().get(..self.xclient_sent));
        sent.unwrap_or_default()
            .iter()
            .rev()
            .find(|a| a.name() == crate::xclient::HELO)
            .and_then(|a| crate::ClientName::parse(a.value()).ok())
            .unwrap_or_else(|| self.config.client_name.clone())
    }

    /// A command the session cannot go on without was not accepted: a 4yz or 5yz is the
    /// server's refusal, anything else (1yz, 3yz) makes no sense there.
    fn refuse(&mut self, stage: Stage, reply: &Reply) {
        let reply = reply.clone();
        if reply.is_transient() || reply.is_permanent() {
            self.fail(Error::Rejected { stage, reply });
        } else {
            self.fail(Error::UnexpectedReply { stage, reply });
        }
    }

    /// The reply to XCLIENT: 220 (the server started over, Postfix 2.3 and later) or 250
    /// (older servers, smtp-sink) both mean it took the attributes; EHLO again either way.
    fn on_xclient(&mut self, upto: usize, reply: &Reply) {
        if reply.code() == Code::SERVICE_READY || reply.is_positive_completion() {
            self.xclient_sent = upto;
            // What the server offers may change with whom it now thinks it speaks to.
            self.capabilities = None;
            return self.send_hello(true);
        }
        self.refuse(Stage::Xclient, reply);
    }

    fn start_auth(&mut self) {
        let Some(auth) = self.config.auth.as_ref() else {
            if self.stop_at(Milestone::Auth) {
                return;
            }
            return self.become_ready();
        };
        let offered = self
            .capabilities
            .as_ref()
            .map(|c| c.auth.as_slice())
            .unwrap_or_default();
        // `self.mechanisms` are the allowed mechanisms that can carry these credentials,
        // checked when the configuration was given.
        let Some(mechanism) = sasl::choose(
            offered,
            &self.mechanisms,
            &auth.credentials,
            self.secure,
            auth.allow_plaintext,
        ) else {
            return self.fail(Error::NoUsableMechanism);
        };
        let mut authenticator =
            match Authenticator::new(mechanism.clone(), &auth.credentials, &auth.nonce) {
                Ok(a) => a,
                Err(e) => return self.fail(Error::Sasl(e)),
            };
        let initial = authenticator.initial_response().map(|ir| {
            if ir.expose().is_empty() {
                // RFC 4954 4: an empty initial response is sent as "=".
                Secret::new(Vec::from(b"=".as_slice()))
            } else {
                sasl::encode_response(ir.expose())
            }
        });
        if let Some(ir) = &initial {
            self.secrets.add_base64(ir.expose());
        }
        // RFC 4954 4: an initial response that would make the line exceed 512 octets is sent
        // after an empty 334 instead.
        let fits = initial
            .as_ref()
            .is_none_or(|ir| 5 + mechanism.name().len() + 1 + ir.expose().len() + 2 <= 512);
        let (line_response, deferred) = if fits {
            (initial, None)
        } else {
            (None, initial)
        };
        self.enter(Phase::Auth {
            authenticator: Box::new(authenticator),
            deferred,
        });
        self.send(
            Command::Auth {
                mechanism: &mechanism,
                initial_response: line_response.as_ref().map(|ir| ir.expose().as_slice()),
            },
            Expect::Auth,
        );
    }

    fn on_auth(&mut self, reply: &Reply) {
        let Phase::Auth {
            authenticator,
            deferred,
        } = &mut self.phase
        else {
            return self.fail(Error::UnexpectedReply {
                stage: Stage::Auth,
                reply: reply.clone(),
            });
        };
        let code = reply.code();
        if code == Code::AUTH_CHALLENGE {
            if let Some(response) = deferred.take() {
                return self.send(Command::AuthResponse(response.expose()), Expect::Auth);
            }
            let step = sasl::decode_challenge(reply.line(0).unwrap_or_default())
                .and_then(|challenge| authenticator.step(&challenge));
            let response = match step {
                Ok(r) => sasl::encode_response(r.expose()),
                Err(e) => return self.fail_sasl(e),
            };
            self.secrets.add_base64(response.expose());
            self.send(Command::AuthResponse(response.expose()), Expect::Auth);
        } else if code == Code::AUTH_SUCCEEDED {
            if let Err(e) = authenticator.finish() {
                return self.fail_sasl(e);
            }
            let mechanism = authenticator.mechanism().clone();
            self.events.push_back(Event::Authenticated(mechanism));
            if self.stop_at(Milestone::Auth) {
                return;
            }
            self.become_ready();
        } else if code.is_transient() || code.is_permanent() {
            self.fail(Error::AuthFailed(reply.clone()));
        } else {
            self.fail(Error::UnexpectedReply {
                stage: Stage::Auth,
                reply: reply.clone(),
            });
        }
    }

    /// The SASL exchange failed on our side; a server's `e=` text is redacted first.
    fn fail_sasl(&mut self, mut error: SaslError) {
        if let SaslError::ServerError(text) = &mut error {
            self.secrets.scrub_text(text);
        }
        self.fail(Error::Sasl(error))
    }

    /// A probe that stops at `milestone` says QUIT here (Config::stop_after). True if it did.
    fn stop_at(&mut self, milestone: Milestone) -> bool {
        if self.config.stop_after != Some(milestone) {
            return false;
        }
        self.enter(Phase::Quitting);
        self.send(Command::Quit, Expect::Quit);
        true
    }

    fn become_ready(&mut self) {
        self.enter(Phase::Ready { rset_owed: false });
        self.events.push_back(Event::Ready);
        // Messages queued before the capabilities were known are checked as they start.
        self.pump();
    }

    /// A reply to MAIL, RCPT, DATA, BDAT or the end of data.
    fn on_message_reply(&mut self, expect: Expect, reply: &Reply) {
        let Some(id) = expect.message() else { return };
        let Some(i) = self.message_index(id) else {
            return self.fail(Error::UnsolicitedReply(reply.clone()));
        };
        let stage = expect.stage();
        if reply.is_positive_intermediate() && !matches!(expect, Expect::Data(_)) {
            return self.fail(Error::UnexpectedReply {
                stage,
                reply: reply.clone(),
            });
        }
        self.messages[i].outstanding -= 1;
        let positive = reply.is_positive_completion();
        match expect {
            Expect::Xforward(_) => {
                // Only what the server's logs say: a refusal is kept for the outcome, and the
                // message goes on (Postfix's XFORWARD_README gives it no other meaning).
                let m = &mut self.messages[i];
                let refused = m
                    .xforward_reply
                    .as_ref()
                    .is_some_and(|r| !r.is_positive_completion());
                if !refused {
                    m.xforward_reply = Some(reply.clone());
                }
            }
            Expect::Mail(_) => {
                let m = &mut self.messages[i];
                if m.probe.is_some() {
                    m.mail_reply = Some(reply.clone());
                }
                if !positive {
                    m.fail(Rejection::Mail(reply.clone()));
                }
            }
            Expect::Rcpt(_, index) => {
                let m = &mut self.messages[i];
                m.rcpt_answered += 1;
                if let Some(r) = m.recipients.get_mut(index) {
                    r.rcpt = Some(reply.clone());
                }
                let event = if positive {
                    m.accepted += 1;
                    Event::RecipientAccepted {
                        message: id,
                        index,
                        reply: reply.clone(),
                    }
                } else {
                    Event::RecipientRejected {
                        message: id,
                        index,
                        reply: reply.clone(),
                    }
                };
                self.events.push_back(event);
            }
            Expect::Data(_) => {
                if reply.code() == Code::START_MAIL_INPUT {
                    if self.messages[i].doomed() || self.messages[i].step == Step::Abandoned {
                        self.on_doomed_354(i, id);
                    } else {
                        self.step_to(i, Step::Body);
                    }
                } else if positive {
                    return self.fail(Error::UnexpectedReply {
                        stage,
                        reply: reply.clone(),
                    });
                } else {
                    self.abandon(i, Some(Rejection::Data(reply.clone())), true);
                }
            }
            Expect::Bdat(_) if !positive => {
                // RFC 3030 2: after a refused chunk, send no more; RSET before the next. Chunks
                // are pipelined (RFC 3030 4.2), so the refusal may come after LAST is out: then
                // there is nothing left to stop, and the message stays `Done`, refused.
                if self.messages[i].step == Step::Done {
                    self.messages[i].fail(Rejection::Data(reply.clone()));
                    self.owe_rset();
                } else {
                    self.abandon(i, Some(Rejection::Data(reply.clone())), true);
                }
            }
            Expect::DataEnd(_) => {
                let m = &mut self.messages[i];
                if positive {
                    m.final_reply = Some(reply.clone());
                } else {
                    m.fail(Rejection::Content(reply.clone()));
                    // A refused BDAT LAST may leave the transaction open; a refused `.` ends it.
                    if matches!(m.framer, Framer::Bdat(_)) {
                        self.owe_rset();
                    }
                }
            }
            Expect::LmtpRcpt(_, index) => {
                let m = &mut self.messages[i];
                if positive {
                    m.final_reply = Some(reply.clone());
                } else {
                    m.last_delivery_failure = Some(reply.clone());
                }
                if let Some(r) = m.recipients.get_mut(index) {
                    r.delivery = Some(reply.clone());
                }
                self.events.push_back(Event::RecipientDelivered {
                    message: id,
                    index,
                    reply: reply.clone(),
                });
            }
            _ => {}
        }
        self.settle(i);
    }

    /// A 354 for a message that cannot succeed. With no valid recipient (RFC 2920 3.1) the
    /// answer is an empty content: the server refuses it, and the outcome is decided already.
    /// A message whose content was stopped (it would have grown past SIZE) cannot take that way:
    /// the `.` would deliver it empty to the recipients that were accepted.
    fn on_doomed_354(&mut self, i: usize, id: crate::MessageId) {
        let m = &self.messages[i];
        if m.accepted > 0 && matches!(m.failure, Some(Rejection::Unsendable(_))) {
            return self.fail(Error::ContentAbandoned(id));
        }
        let start = self.out.len();
        self.out.extend_from_slice(END_OF_DATA);
        self.transcribe_content(start, true);
        self.await_end_of_data(i);
        if self.messages[i].step != Step::Abandoned {
            self.abandon(i, None, false);
        }
    }

    // ----- giving up on a message -----

    /// Gives up on message `i` before the end of its content, the one way: records why (the
    /// first refusal wins), stops its content (later body bytes are dropped), owes an RSET when
    /// the server may hold the transaction open (`rset`, unless MAIL itself was refused: Exim
    /// keeps the sender of a transaction whose every RCPT it refused), and reports the outcome
    /// once its last awaited reply is in.
    fn abandon(&mut self, i: usize, why: Option<Rejection>, rset: bool) {
        if let Some(why) = why {
            self.messages[i].fail(why);
        }
        if self.messages[i].step != Step::Abandoned {
            self.step_to(i, Step::Abandoned);
        }
        let staged = core::mem::take(&mut self.messages[i].staged);
        self.recycle(staged);
        // A refused MAIL started no transaction (RFC 5321 4.1.1.2): nothing to reset.
        let started = !matches!(self.messages[i].failure, Some(Rejection::Mail(_)));
        if rset && started {
            self.owe_rset();
        }
        self.settle(i);
        // The room its content leaves is announced (`BodyWanted`) when the call that abandoned
        // it ends, not here: the same call may go on to start the next message, whose
        // commands and framed content take that room again.
    }

    fn owe_rset(&mut self) {
        if let Phase::Ready { rset_owed } = &mut self.phase {
            *rset_owed = true;
        }
    }

    /// The content of message `i` cannot go on (`why`: too large for the server, or 8-bit
    /// octets undeclared). Before its MAIL is sent (prepared, waiting for its RSET's reply), the
    /// message is unsendable; before DATA is out, the message is dropped and RSET follows; with
    /// BDAT no further chunk goes (those sent were whole) and RSET follows; once DATA is out,
    /// only closing the connection keeps the server from taking part of it.
    pub(super) fn stop_content(&mut self, i: usize, why: Unsendable) {
        let id = self.messages[i].id;
        match self.messages[i].step {
            Step::Done | Step::Abandoned => {}
            Step::Queued => self.abandon(i, Some(Rejection::Unsendable(why)), false),
            Step::Rcpts(_) | Step::SendData | Step::Chunks => {
                self.abandon(i, Some(Rejection::Unsendable(why)), true);
            }
            Step::AwaitData | Step::Body => {
                let m = &mut self.messages[i];
                m.failure = Some(Rejection::Unsendable(why));
                let outcome = m.outcome();
                self.events.push_back(Event::MessageDone(outcome));
                self.fail(Error::ContentAbandoned(id));
            }
        }
    }

    /// Reports message `i`'s outcome once all its replies are in and nothing more goes out.
    fn settle(&mut self, i: usize) {
        let m = &mut self.messages[i];
        if m.reported || m.outstanding > 0 || !matches!(m.step, Step::Done | Step::Abandoned) {
            return;
        }
        let outcome = m.outcome();
        self.events.push_back(Event::MessageDone(outcome));
    }

    // ----- sending -----

    /// Starts whatever queued work the session allows now, in order.
    pub(super) fn pump(&mut self) {
        while matches!(self.phase, Phase::Ready { .. }) {
            let Some(front) = self.jobs.front() else {
                break;
            };
            if let Job::Message(id) = *front {
                if !self.pump_message(id) {
                    break;
                }
                self.jobs.pop_front();
                continue;
            }
            if !self.may_send() {
                break;
            }
            match self.jobs.pop_front() {
                Some(Job::Side(id, side)) => {
                    let (command, stage) = match &side {
                        SideCommand::Noop(a) => (Command::Noop(a.as_ref()), Stage::Noop),
                        SideCommand::Vrfy(a) => (Command::Vrfy(a), Stage::Vrfy),
                        SideCommand::Expn(a) => (Command::Expn(a), Stage::Expn),
                        SideCommand::Help(a) => (Command::Help(a.as_ref()), Stage::Help),
                        SideCommand::Etrn(a) => (Command::Etrn(a), Stage::Etrn),
                    };
                    self.send(command, Expect::Side(id, stage));
                }
                Some(Job::Quit) => {
                    self.enter(Phase::Quitting);
                    self.send(Command::Quit, Expect::Quit);
                }
                _ => {}
            }
        }
        self.collect();
    }

    /// Moves message `id` along as far as it can go now. True when it needs nothing more from
    /// the job queue (its content is out, or it was given up).
    fn pump_message(&mut self, id: crate::MessageId) -> bool {
        let Some(i) = self.message_index(id) else {
            return true;
        };
        loop {
            if !matches!(self.phase, Phase::Ready { .. }) {
                return false;
            }
            let may_send = self.may_send();
            match self.messages[i].step {
                Step::Queued => {
                    if !may_send
                        || self.messages_in_flight()
                            >= self.config.limits.max_messages_in_flight.max(1)
                    {
                        return false;
                    }
                    if !self.start_message(i) {
                        // Unsendable (Abandoned: done with it), or waiting for its RSET's reply.
                        return self.messages[i].step == Step::Abandoned;
                    }
                }
                Step::Rcpts(k) => {
                    if self.messages[i].failure.is_some() && !self.pipelining() {
                        // MAIL refused, one command at a time: send no RCPT.
                        self.abandon(i, None, false);
                        return true;
                    }
                    if self.messages[i].probe == Some(ProbeDepth::Mail) {
                        // A probe of MAIL alone: it went; nothing more (RSET before the next).
                        self.abandon(i, None, true);
                        return true;
                    }
                    if !may_send {
                        return false;
                    }
                    let count = self.messages[i].envelope.recipients.len();
                    if k + 1 >= count && self.messages[i].probe == Some(ProbeDepth::Rcpt) {
                        // A probe's last RCPT: no DATA; RSET before the next transaction.
                        self.send_rcpt(i, k);
                        self.abandon(i, None, true);
                        return true;
                    }
                    if k + 1 < count {
                        self.step_to(i, Step::Rcpts(k + 1));
                    } else if matches!(self.messages[i].framer, Framer::Bdat(_)) {
                        self.step_to(i, Step::Chunks);
                    } else {
                        self.step_to(i, Step::SendData);
                    }
                    self.send_rcpt(i, k);
                }
                Step::SendData => {
                    if self.messages[i].doomed() {
                        self.abandon(i, None, true);
                        return true;
                    }
                    if !may_send {
                        return false;
                    }
                    self.step_to(i, Step::AwaitData);
                    self.send_for(i, Command::Data, Expect::Data(id));
                    return false;
                }
                Step::AwaitData => return false,
                Step::Body => {
                    let mut staged = core::mem::take(&mut self.messages[i].staged);
                    let start = self.out.len();
                    // Content staged while DATA awaited its 354 becomes the output as it is
                    // when nothing else waits there (the usual case): no copy.
                    // (An empty one is no buffer to swap in: the output keeps its own.)
                    if self.out.is_empty() && !staged.is_empty() {
                        core::mem::swap(&mut self.out, &mut staged);
                    } else {
                        self.out.extend_from_slice(&staged);
                    }
                    self.transcribe_content(start, false);
                    self.recycle(staged);
                    if !self.messages[i].body_finished {
                        return false;
                    }
                    self.end_data(i);
                    return true;
                }
                Step::Chunks => {
                    if self.messages[i].doomed() {
                        self.abandon(i, None, true);
                        return true;
                    }
                    if !may_send {
                        return false;
                    }
                    if !self.send_chunk(i) {
                        return self.messages[i].step == Step::Done;
                    }
                }
                Step::Done | Step::Abandoned => return true,
            }
        }
    }

    /// Sends RCPT `k` of message `i`.
    fn send_rcpt(&mut self, i: usize, k: usize) {
        let id = self.messages[i].id;
        // Borrow the envelope out for the encoder (taking it costs no allocation).
        let envelope = core::mem::take(&mut self.messages[i].envelope);
        if let Some(r) = envelope.recipients.get(k) {
            let rcpt = Command::Rcpt {
                to: &r.address,
                params: &r.params,
            };
            self.send_for(i, rcpt, Expect::Rcpt(id, k));
        }
        self.messages[i].envelope = envelope;
    }

    /// The content of message `i` (DATA, 354 received) is complete: the end mark goes out.
    fn end_data(&mut self, i: usize) {
        let octets = self.messages[i].framed_size();
        let mut end = [0u8; 6];
        let mut n = 0;
        if let Framer::Data(encoder) = &mut self.messages[i].framer {
            n = encoder.finish_into(&mut end).unwrap_or(0);
        }
        let start = self.out.len();
        self.out.extend_from_slice(end.get(..n).unwrap_or_default());
        self.transcribe_content(start, true);
        self.step_to(i, Step::Done);
        self.messages[i].content_sent = true;
        if self.config.transcript && !self.config.transcript_content {
            self.content_transcript(octets);
            self.transcript(Direction::Sent, b".".to_vec());
        }
        self.await_end_of_data(i);
    }

    /// The end mark of message `i`'s DATA is out: awaits its replies. SMTP: one. LMTP (RFC 2033
    /// 4.2): one per recipient the server accepted, in RCPT order, whatever else it refused (the
    /// `.` closing a doomed DATA too, or every later reply would land on the wrong command); one
    /// when it accepted none, since a server that answered 354 then still owes the `.` a reply.
    fn await_end_of_data(&mut self, i: usize) {
        let id = self.messages[i].id;
        let mut owed = 0;
        if self.config.protocol == Protocol::Lmtp {
            for k in 0..self.messages[i].recipients.len() {
                let rcpt = &self.messages[i].recipients[k].rcpt;
                if rcpt.as_ref().is_some_and(Reply::is_positive_completion) {
                    self.pipeline.push(Expect::LmtpRcpt(id, k));
                    owed += 1;
                }
            }
        }
        if owed == 0 {
            self.pipeline.push(Expect::DataEnd(id));
            owed = 1;
        }
        self.messages[i].outstanding += owed;
    }

    /// Sends one BDAT chunk of message `i` when a full one is staged, or the last once the body
    /// is finished. False when nothing could go (a chunk is still filling) or the last went.
    fn send_chunk(&mut self, i: usize) -> bool {
        let id = self.messages[i].id;
        let chunk = self.config.limits.bdat_chunk_size.max(1);
        let m = &self.messages[i];
        let last = m.body_finished && m.staged.len() <= chunk;
        if !last && m.staged.len() < chunk {
            return false;
        }
        let size = if last { m.staged.len() } else { chunk };
        let expect = if last {
            Expect::DataEnd(id)
        } else {
            Expect::Bdat(id)
        };
        self.send_for(
            i,
            Command::Bdat {
                size: size as u64,
                last,
            },
            expect,
        );
        let m = &mut self.messages[i];
        let start = self.out.len();
        if last {
            let staged = core::mem::take(&mut m.staged);
            m.content_sent = true;
            self.out.extend_from_slice(&staged);
            self.transcribe_content(start, true);
            self.recycle(staged);
            self.step_to(i, Step::Done);
        } else {
            self.out.extend(m.staged.drain(..size));
            self.transcribe_content(start, false);
        }
        if self.config.transcript && !self.config.transcript_content {
            self.content_transcript(size as u64);
        }
        !last
    }

    /// Decides DATA or BDAT and the MAIL parameters, sends RSET if owed, then MAIL. False if
    /// the message cannot be sent to this server (it is then abandoned with the reason) or must
    /// wait for the reply to its RSET (no PIPELINING).
    fn start_message(&mut self, i: usize) -> bool {
        if matches!(self.messages[i].framer, Framer::Undecided) && !self.prepare_message(i) {
            return false;
        }
        let id = self.messages[i].id;
        let bdat = matches!(self.messages[i].framer, Framer::Bdat(_));
        // With BDAT, whole messages go out before earlier ones are answered. A server that kept
        // an earlier refused transaction open (Exim answers the next MAIL with 503) must see an
        // RSET first; it costs a line, not a round trip.
        let others = bdat
            && self
                .messages
                .iter()
                .take_while(|m| m.step != Step::Queued)
                .any(|m| m.id != id && !m.reported);
        let owed = matches!(self.phase, Phase::Ready { rset_owed: true });
        if !self.messages[i].rset_sent && (owed || others) {
            if let Phase::Ready { rset_owed } = &mut self.phase {
                *rset_owed = false;
            }
            self.messages[i].rset_sent = true;
            self.send(Command::Rset, Expect::Rset);
            if !self.may_send() {
                return false;
            }
        }
        if !self.send_xforward(i) {
            return false;
        }
        self.step_to(i, Step::Rcpts(0));
        let envelope = core::mem::take(&mut self.messages[i].envelope);
        let mail_params = core::mem::take(&mut self.messages[i].params);
        let mail = Command::Mail {
            from: envelope.from.as_ref(),
            params: &mail_params,
        };
        self.send_for(i, mail, Expect::Mail(id));
        let m = &mut self.messages[i];
        m.envelope = envelope;
        m.params = mail_params;
        true
    }

    /// XFORWARD before message `i`'s MAIL (Postfix's `XFORWARD_README`): the attributes of its
    /// envelope that the server's XFORWARD keyword names (a server without it gets none, and
    /// one that does not name an attribute does not get it: it is logging, nothing depends on
    /// it), in lines of at most 512 octets. True when all went and MAIL may follow now.
    fn send_xforward(&mut self, i: usize) -> bool {
        let id = self.messages[i].id;
        if self.messages[i].xforward.is_none() {
            let named = self.capabilities.as_ref().and_then(|c| {
                c.unknown
                    .iter()
                    .find(|e| e.keyword.eq_ignore_ascii_case("XFORWARD"))
            });
            let taken: Vec<crate::xclient::Attribute> = match named {
                Some(e) => self.messages[i]
                    .envelope
                    .xforward
                    .iter()
                    .filter(|a| e.params.iter().any(|p| p.eq_ignore_ascii_case(a.name())))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            self.messages[i].xforward = Some((taken, 0));
        }
        loop {
            let Some((taken, sent)) = self.messages[i].xforward.take() else {
                return true;
            };
            if sent >= taken.len() {
                self.messages[i].xforward = Some((taken, sent));
                return true;
            }
            let end = crate::xclient::next_line(&taken, sent, crate::xclient::XFORWARD_VERB);
            self.send_for(
                i,
                Command::Xforward(taken.get(sent..end).unwrap_or_default()),
                Expect::Xforward(id),
            );
            let more = end < taken.len();
            self.messages[i].xforward = Some((taken, end));
            // Without PIPELINING each line waits for its reply, and MAIL for the last one's.
            if !self.may_send() {
                return false;
            }
            if !more {
                return true;
            }
        }
    }

    /// Frames what is held of message `i`'s body, then fixes its MAIL parameters against the
    /// server's extensions with what the content showed (its exact size and 8-bit octets when
    /// it is all here), and checks the command lines as they will be sent. False (and the
    /// message abandoned, before anything of it was sent) when it cannot be sent to this server.
    fn prepare_message(&mut self, i: usize) -> bool {
        let no_caps = Capabilities::default();
        let caps = self.capabilities.as_ref().unwrap_or(&no_caps);
        let m = &self.messages[i];
        let declared = &m.envelope.params;
        let bdat = params::uses_bdat(caps, &self.config, declared);
        let binary = declared.body == Some(BodyType::BinaryMime);
        let eight_bit = !m.staged.is_ascii();
        let raw = core::mem::take(&mut self.messages[i].staged);
        let mut staged = self.spare.pop().unwrap_or_default();
        super::reserve_content(&mut staged, raw.len(), self.content_capacity());
        let m = &mut self.messages[i];
        let exact = if bdat {
            let mut encoder = BdatEncoder::new(binary);
            encoder.encode(&raw, &mut staged);
            let size = encoder.final_size();
            if m.body_finished {
                encoder.finish(&mut staged);
            }
            m.framer = Framer::Bdat(encoder);
            size
        } else {
            let mut encoder = DataEncoder::new();
            encoder.encode(&raw, &mut staged);
            let size = encoder.final_size();
            m.framer = Framer::Data(encoder);
            size
        };
        m.staged = staged;
        let measured = m.measured;
        let probe = m.probe.is_some();
        let facts = params::ContentFacts {
            // The whole content is here (or was measured when given): its size is known, not
            // declared. Else what is here is a lower bound, which already tells when it is too
            // large. A probe has no content: only what the caller declared goes on MAIL.
            size: if probe {
                None
            } else {
                m.body_finished
                    .then_some(exact)
                    .or(measured.map(|(size, _)| size))
            },
            seen: exact,
            eight_bit: eight_bit || measured.is_some_and(|(_, eight)| eight),
            complete: m.body_finished || measured.is_some(),
        };
        let size_limit = params::size_limit(caps);
        let checked = params::mail_params(&m.envelope, caps, &self.config, self.secure, facts)
            .and_then(|p| {
                params::check_lines(&m.envelope, &p, &mut self.scratch)?;
                Ok(p)
            });
        self.recycle(raw);
        match checked {
            Ok(p) => {
                let m = &mut self.messages[i];
                m.size_limit = size_limit;
                m.eight_bit_declared =
                    matches!(p.body, Some(BodyType::EightBitMime | BodyType::BinaryMime));
                m.params = p;
                true
            }
            Err(why) => {
                self.abandon(i, Some(Rejection::Unsendable(why)), false);
                false
            }
        }
    }

    fn content_transcript(&mut self, octets: u64) {
        let line = format!("<{octets} octets of content>");
        self.transcript(Direction::Sent, line.into_bytes());
    }
}
