//! `caller_api`: what the *caller* passes, hammered. Arbitrary configurations (client names,
//! credentials, mechanism lists, nonces, limits), envelopes (every MAIL and RCPT parameter, long
//! extra parameters, DSN, SIZE, SMTPUTF8 addresses), bodies of any size offered in any pieces, and
//! call sequences in any order, against a scripted server that answers only what the client
//! handed out (with the capabilities and the reply codes the input picks). Checked:
//!
//! - no panic, and the client goes quiet after every step;
//! - a refused call changes nothing: the client's `Debug` (all its state but a scratch buffer),
//!   `replies_pending`, `is_ready`, `is_closed`, `error`, `poll_timeout`, `capabilities` and the
//!   phase are the same after it, and it produced no output and no event; its error agrees with
//!   the session (`Closed` iff closed, `Quitting` after QUIT, `Unsendable` only once the
//!   capabilities are known, `NoRecipients` for an empty envelope) and no handle number was used;
//! - every accepted message gets exactly one `Event::MessageDone`, with its envelope given back
//!   unchanged and one recipient outcome per recipient; `Failed` only on a closed session; no more
//!   accepted outcomes than contents completed on the wire;
//! - every reply an event or a session error hands back answered the command it is reported for
//!   (the server tags its replies with what they answer, `server::Await::tag`);
//! - `write_body` takes at most what it is offered, writes to the oldest open body always work on
//!   an open session, and `Event::BodyWanted` comes only after a short write and then takes bytes;
//! - on the wire, split into command lines and content as a server reads it: every command line
//!   is a known command, ends with CRLF, has no CR, LF or NUL inside, and is within
//!   RFC 5321 4.5.3.1.4's 512 octets or the extended limits (RFC 1870 SIZE +26, RFC 3461 RET or
//!   ENVID +100 on MAIL, NOTIFY or ORCPT +500 on RCPT, RFC 4954 12,288 for an AUTH response);
//!   non-ASCII only in a transaction that declared SMTPUTF8 (RFC 6531 3.3); MAIL parameters only
//!   for extensions the server offered (SIZE, BODY, SMTPUTF8, DSN, REQUIRETLS over TLS, BY,
//!   MT-PRIORITY), RCPT's NOTIFY and ORCPT only with DSN;
//! - content framing intact: DATA content is dot-stuffed with CRLF line ends and ends at its
//!   first CRLF.CRLF, which unstuffs to exactly the normalised body of a queued message (so no
//!   body can end its content early and smuggle commands: CVE-2023-51764); BDAT chunks are whole
//!   at every `poll_transmit` and the chunks up to `LAST` carry exactly a message's body
//!   (normalised, or untouched for BINARYMIME); no completed content is larger than the server's
//!   SIZE or has 8-bit octets MAIL did not declare (RFC 1870 6, RFC 6152 3).
//!
//! Input layout: [`Setup`] (configuration and server), then steps ([`Op`]). Strings, bodies and
//! parameters are [`Text`]s: a pick from a table of good and tricky values, raw bytes, or a unit
//! repeated (long values).

mod input;
mod server;
mod wire;

pub use input::*;

use crate::body::normalise;
use crate::input::Bytes;
use mailwire::{
    Capabilities, Client, CommandId, Envelope, Error, Event, MessageId, MessageOutcome, Rejection,
    Reply, SizeLimit, Stage, Timestamp, UsageError, Verdict,
};
use server::{Await, Server};
use std::collections::VecDeque;
use std::time::Duration;
use wire::{Item, Offered, Wire};

/// Above this many body bytes the client's `Debug` is not compared (formatting held content
/// costs more than it finds).
const DEBUG_COMPARE_LIMIT: usize = 16 * 1024;
/// Calls per input whose `Debug` is compared, the first ones that may be refused (formatting the
/// client for every call took most of the target's time; the cheap observables are compared for
/// every call).
const DEBUG_COMPARES: usize = 24;

/// A message the client accepted.
#[derive(Debug)]
struct Queued {
    id: MessageId,
    envelope: Envelope,
    /// Every body byte `write_body` (or `send_message_with_body`) took.
    taken: Vec<u8>,
    /// Offered and not taken: offered again after `BodyWanted`.
    backlog: Vec<u8>,
    /// A short write without a `BodyWanted` since.
    blocked: bool,
    /// The caller finished the body.
    finished: bool,
    outcomes: usize,
}

/// What a refused call must leave as it was.
#[derive(Debug, PartialEq)]
struct Observed {
    debug: Option<String>,
    replies_pending: usize,
    ready: bool,
    closed: bool,
    secure: bool,
    error: Option<Error>,
    timeout: Option<Timestamp>,
    capabilities: Option<Capabilities>,
    phase: &'static str,
}

struct Run {
    client: Client,
    now: Timestamp,
    server: Server,
    wire: Wire,
    messages: Vec<Queued>,
    /// Side commands accepted.
    sides: Vec<CommandId>,
    /// Handles given out so far (messages and side commands share the numbering).
    handles: u64,
    quit_called: bool,
    closed_seen: bool,
    tls_wanted: bool,
    accepted_outcomes: usize,
    /// Where the next DATA or BDAT content is looked for among `messages`.
    content_cursor: usize,
    body_bytes: usize,
    trace: bool,
    /// Deep snapshots left ([`DEBUG_COMPARES`]).
    deep_left: usize,
}

/// The target.
pub fn caller_api(data: &[u8]) {
    run(data, false);
}

/// Runs the target on `data` and prints what happens, as it happens, for a person reading a
/// seed or a crash: the steps, the client's bytes, the server's replies, refused calls and every
/// event but the transcript.
pub fn trace(data: &[u8]) {
    run(data, true);
}

fn run(data: &[u8], trace: bool) -> Run {
    let mut input = Bytes::new(data);
    let setup = Setup::read(&mut input);
    let mut run = Run::new(setup);
    run.trace = trace;
    run.settle();
    while !input.is_empty() {
        let op = Op::read(&mut input);
        if run.trace {
            run.say(format!("> {op:?}\n"));
        }
        run.step(op);
        run.settle();
    }
    run.client.handle_closed(run.now);
    run.settle();
    run.finish();
    run
}

impl Run {
    fn new(setup: Setup) -> Run {
        let now = Timestamp::ZERO;
        let config = setup.config();
        let client = match Client::new(config.clone(), now) {
            Ok(client) => client,
            Err(UsageError::Config(_)) if config.auth.is_some() => {
                let mut config = config;
                config.auth = None;
                Client::new(config, now).expect("a configuration without AUTH is accepted")
            }
            Err(e) => panic!("Client::new refused {config:?} with {e:?}"),
        };
        let lmtp = setup.session & 32 != 0;
        let secure = setup.session & 3 == 3;
        Run {
            client,
            now,
            server: Server {
                setup,
                lmtp,
                secure,
                awaiting: VecDeque::from([Await::Greeting]),
                rcpt_ok: Vec::new(),
            },
            wire: Wire::new(),
            messages: Vec::new(),
            sides: Vec::new(),
            handles: 0,
            quit_called: false,
            closed_seen: false,
            tls_wanted: false,
            accepted_outcomes: 0,
            content_cursor: 0,
            body_bytes: 0,
            trace: false,
            deep_left: DEBUG_COMPARES,
        }
    }

    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    /// A line of the trace.
    fn say(&self, line: String) {
        if self.trace {
            print!("{line}");
        }
    }

    /// The state a refused call must leave as it was; `deep`: with the client's `Debug` (for
    /// calls that may be refused; a call that must be taken skips the cost).
    fn observe_as(&self, deep: bool) -> Observed {
        let debug = deep.then(|| {
            // Everything but the buffer the session checks command lines in.
            let mut d = format!("{:?}", self.client);
            if let Some(at) = d.find("scratch: [") {
                let end = d[at..].find(']').map_or(d.len(), |e| at + e + 1);
                d.replace_range(at..end, "");
            }
            d
        });
        Observed {
            debug,
            replies_pending: self.client.replies_pending(),
            ready: self.client.is_ready(),
            closed: self.closed(),
            secure: self.client.is_secure(),
            error: self.client.error().cloned(),
            timeout: self.client.poll_timeout(),
            capabilities: self.client.capabilities().cloned(),
            phase: self.client.phase_name(),
        }
    }

    /// The state before a call that may be refused: deep while [`DEBUG_COMPARES`] last and the
    /// held content is small.
    fn observe(&mut self) -> Observed {
        let deep = self.body_bytes <= DEBUG_COMPARE_LIMIT && self.deep_left > 0;
        if deep {
            self.deep_left -= 1;
        }
        self.observe_as(deep)
    }

    /// After a refused call: nothing changed, nothing came out, and the error fits the session.
    fn refused(&mut self, what: &str, before: &Observed, error: &UsageError) {
        if self.trace {
            self.say(format!("U: {what}: {error:?}\n"));
        }
        let after = self.observe_as(before.debug.is_some());
        assert_eq!(
            &after, before,
            "{what} refused with {error:?} changed the session"
        );
        let mut out = Vec::new();
        assert_eq!(
            self.client.poll_transmit(self.now, &mut out),
            0,
            "{what} refused, sent {out:?}"
        );
        let event = self.client.poll_event();
        assert!(
            event.is_none(),
            "{what} refused with {error:?}, then {event:?}"
        );
        match error {
            UsageError::Closed => assert!(before.closed, "{what}: Closed on an open session"),
            UsageError::Quitting => {
                assert!(
                    self.quit_called && !before.closed,
                    "{what}: Quitting without QUIT"
                )
            }
            UsageError::Unsendable(_) => {
                assert!(
                    before.capabilities.is_some(),
                    "{what}: Unsendable before EHLO"
                )
            }
            UsageError::Config(_) => panic!("{what}: {error:?} after Client::new"),
            // On a closed session any refusal will do (an invalid argument may be named first).
            _ => {}
        }
    }

    /// An accepted call's handle: numbered in order, none used by a refused call.
    fn handle(&mut self, number: u64) {
        self.handles += 1;
        assert_eq!(number, self.handles, "handle numbers skip or repeat");
    }

    /// The oldest message whose body the caller has not finished.
    fn oldest_open(&self) -> Option<usize> {
        self.messages.iter().position(|m| !m.finished)
    }

    /// The message a `Write`/`Finish` target names.
    fn target(&self, target: u8) -> Option<usize> {
        if target == 0 || self.messages.is_empty() {
            return self.oldest_open();
        }
        Some(usize::from(target - 1) % self.messages.len())
    }

    fn step(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Answer(styles) => self.answer(&styles),
            Op::Send(spec) => {
                let envelope = spec.build();
                let before = self.observe();
                match self.client.send_message(envelope.clone()) {
                    Ok(id) => self.accepted(id, envelope, Vec::new(), false),
                    Err(e) => {
                        if !before.closed && !self.quit_called && envelope.recipients.is_empty() {
                            assert_eq!(e, UsageError::NoRecipients, "an empty envelope");
                        }
                        self.refused("send_message", &before, &e);
                    }
                }
            }
            Op::SendWithBody(spec, body) => {
                let envelope = spec.build();
                let body = body.bytes(BODIES);
                let before = self.observe();
                match self.client.send_message_with_body(envelope.clone(), &body) {
                    Ok(id) => {
                        assert!(
                            self.oldest_open().is_none(),
                            "whole body accepted out of order"
                        );
                        self.body_bytes += body.len();
                        self.accepted(id, envelope, body, true);
                    }
                    Err(e) => {
                        if e == UsageError::BodyOutOfOrder {
                            assert!(
                                self.oldest_open().is_some(),
                                "BodyOutOfOrder with no open body"
                            );
                        }
                        self.refused("send_message_with_body", &before, &e);
                    }
                }
            }
            Op::Write(target, body) => {
                let Some(i) = self.target(target) else { return };
                let data = body.bytes(BODIES);
                self.write(i, data);
            }
            Op::Finish(target) => {
                let Some(i) = self.target(target) else { return };
                let id = self.messages[i].id;
                let before = self.observe();
                match self.client.finish_body(id) {
                    Ok(()) => {
                        assert_eq!(
                            Some(i),
                            self.oldest_open(),
                            "finish_body out of order accepted"
                        );
                        assert!(!before.closed, "finish_body accepted on a closed session");
                        let m = &mut self.messages[i];
                        m.finished = true;
                        m.backlog.clear();
                    }
                    Err(e) => {
                        if !before.closed {
                            assert_ne!(
                                Some(i),
                                self.oldest_open(),
                                "finish_body of the oldest open body refused: {e:?}"
                            );
                        }
                        self.refused("finish_body", &before, &e);
                    }
                }
            }
            Op::Side(which, argument) => {
                let argument = argument.map(|a| a.string(ARGUMENTS));
                let before = self.observe();
                let arg = argument.as_deref();
                let result = match which % 5 {
                    0 => self.client.noop(arg),
                    1 => self.client.verify(arg.unwrap_or("")),
                    2 => self.client.expand(arg.unwrap_or("")),
                    3 => self.client.help(arg),
                    _ => self.client.etrn(arg.unwrap_or("")),
                };
                match result {
                    Ok(id) => {
                        assert!(!before.closed, "side command accepted on a closed session");
                        self.handle(id.get());
                        self.sides.push(id);
                    }
                    Err(e) => self.refused("side command", &before, &e),
                }
            }
            Op::Quit => {
                let before = self.observe();
                match self.client.quit() {
                    Ok(()) => {
                        assert!(
                            !before.closed && !self.quit_called,
                            "quit accepted twice or closed"
                        );
                        self.quit_called = true;
                    }
                    Err(e) => self.refused("quit", &before, &e),
                }
            }
            Op::Abort => {
                let was_closed = self.closed();
                self.client.abort(now);
                assert!(self.closed(), "abort left the session open");
                if !was_closed {
                    assert_eq!(self.client.error(), Some(&Error::LocallyAborted));
                }
            }
            Op::Wait(0) => {
                if let Some(deadline) = self.client.poll_timeout() {
                    self.now = self.now.max(deadline);
                    self.client.handle_timeout(self.now);
                    assert!(
                        matches!(self.client.error(), Some(Error::Timeout { .. })),
                        "deadline passed without a timeout: {:?}",
                        self.client.error()
                    );
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
            Op::Close => {
                self.client.handle_closed(now);
                assert!(self.closed(), "handle_closed left the session open");
            }
            Op::TlsDone => self.tls_done(),
            Op::TlsFailed => {
                let wanted = std::mem::take(&mut self.tls_wanted) && !self.closed();
                self.client.handle_tls_failed(now);
                if wanted {
                    assert_eq!(self.client.error(), Some(&Error::TlsHandshakeFailed));
                }
            }
            Op::WriteTimeout => {
                let was_closed = self.closed();
                self.client.handle_write_timeout(now);
                assert!(self.closed(), "handle_write_timeout left the session open");
                if !was_closed {
                    assert!(matches!(
                        self.client.error(),
                        Some(Error::WriteTimeout { .. })
                    ));
                }
            }
        }
    }

    fn tls_done(&mut self) {
        let wanted = std::mem::take(&mut self.tls_wanted) && !self.closed();
        self.client.handle_tls_established(self.now);
        if wanted {
            self.server.secure = true;
            assert!(self.client.is_secure(), "TLS established, not secure");
        }
    }

    fn accepted(&mut self, id: MessageId, envelope: Envelope, body: Vec<u8>, whole: bool) {
        assert!(!self.closed(), "a message accepted on a closed session");
        assert!(!self.quit_called, "a message accepted after QUIT");
        assert!(
            !envelope.recipients.is_empty(),
            "a message without recipients accepted"
        );
        self.handle(id.get());
        self.messages.push(Queued {
            id,
            envelope,
            taken: body,
            backlog: Vec::new(),
            blocked: false,
            finished: whole,
            outcomes: 0,
        });
    }

    /// Offers the backlog and `data` to message `i`'s body; returns how much was taken.
    fn write(&mut self, i: usize, data: Vec<u8>) -> usize {
        let id = self.messages[i].id;
        let mut offer = std::mem::take(&mut self.messages[i].backlog);
        offer.extend_from_slice(&data);
        // To the oldest open body of an open session it must be taken: no deep snapshot.
        let must_take = Some(i) == self.oldest_open() && !self.closed();
        let before = if must_take {
            self.observe_as(false)
        } else {
            self.observe()
        };
        match self.client.write_body(id, &offer) {
            Ok(n) => {
                assert_eq!(
                    Some(i),
                    self.oldest_open(),
                    "write_body out of order accepted"
                );
                assert!(!before.closed, "write_body accepted on a closed session");
                assert!(n <= offer.len(), "write_body took {n} of {}", offer.len());
                self.body_bytes += n;
                let m = &mut self.messages[i];
                m.taken.extend_from_slice(&offer[..n]);
                if n < offer.len() {
                    m.backlog = offer[n..].to_vec();
                    m.blocked = true;
                }
                n
            }
            Err(e) => {
                if !before.closed {
                    assert_ne!(
                        Some(i),
                        self.oldest_open(),
                        "write_body to the oldest open body refused: {e:?}"
                    );
                }
                self.refused("write_body", &before, &e);
                0
            }
        }
    }

    /// The server answers awaited commands, one reply per read.
    fn answer(&mut self, styles: &[u8]) {
        let count = match styles.first() {
            None | Some(0) => MAX_ANSWERS,
            Some(&n) => usize::from(n),
        };
        let styles = styles.get(1..).unwrap_or_default();
        for k in 0..count {
            if self.closed() {
                return;
            }
            let Some(awaited) = self.server.awaiting.pop_front() else {
                return;
            };
            let style = if styles.is_empty() {
                0
            } else {
                styles[k % styles.len()]
            };
            let reply = self.server.reply(awaited, style);
            let code = &reply[..3];
            match awaited {
                Await::Rcpt { txn } if code[0] == b'2' => {
                    if self.server.rcpt_ok.len() <= txn {
                        self.server.rcpt_ok.resize(txn + 1, 0);
                    }
                    self.server.rcpt_ok[txn] += 1;
                }
                Await::Data if code == b"354" => self.wire.start_data(),
                Await::Data => self.wire.after_data = false,
                Await::Auth if code == b"334" => self.wire.auth_response_next = true,
                _ => {}
            }
            self.say(format!(
                "S[{awaited:?}]: {}",
                String::from_utf8_lossy(&reply)
            ));
            self.client.handle_input(self.now, &reply);
            self.settle();
        }
    }

    /// Until the client is quiet: what it sends, what it reports, and what it asks for again.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            let mut progress = self.transmit();
            let (wanted, tls) = self.drain_events();
            for id in wanted {
                let Some(i) = self.messages.iter().position(|m| m.id == id) else {
                    continue;
                };
                if !self.messages[i].backlog.is_empty()
                    && !self.messages[i].finished
                    && !self.closed()
                {
                    let n = self.write(i, Vec::new());
                    assert!(n > 0, "BodyWanted({id:?}), then write_body took nothing");
                    progress = true;
                }
            }
            if tls && !self.closed() {
                if self.server.caps(13) {
                    self.tls_wanted = false;
                    self.client.handle_tls_failed(self.now);
                    progress = true;
                } else if !self.server.caps(14) {
                    self.tls_done();
                    progress = true;
                }
            }
            if !progress {
                if self.closed() {
                    assert!(self.closed_seen, "closed without Event::Closed");
                    assert_eq!(
                        self.client.poll_timeout(),
                        None,
                        "a deadline on a closed session"
                    );
                    self.server.awaiting.clear();
                }
                return;
            }
        }
        panic!("the client never goes quiet");
    }

    /// Hands the client's output to the wire checks and the server; true if there was any.
    fn transmit(&mut self) -> bool {
        let mut out = Vec::new();
        let n = self.client.poll_transmit(self.now, &mut out);
        assert_eq!(n, out.len(), "poll_transmit miscounted");
        if n == 0 {
            return false;
        }
        assert!(
            !self.closed_seen && !self.closed(),
            "sent after Closed: {:?}",
            String::from_utf8_lossy(&out)
        );
        if self.trace {
            self.say(format!(
                "C: {}\n",
                String::from_utf8_lossy(&out).replace("\r\n", "\r\n   ")
            ));
        }
        let offered = Offered {
            caps: self.client.capabilities(),
            secure: self.client.is_secure(),
        };
        let items = self.wire.feed(&out, &offered);
        for item in items {
            match item {
                Item::Command(awaited) => self.server.awaiting.push_back(awaited),
                Item::AuthResponse => self.server.awaiting.push_back(Await::Auth),
                Item::Content {
                    content,
                    binary,
                    txn,
                } => {
                    self.match_content(&content, binary);
                    let owed = if self.server.lmtp {
                        self.server.rcpt_ok.get(txn).copied().unwrap_or(0).max(1)
                    } else {
                        1
                    };
                    for _ in 0..owed {
                        self.server.awaiting.push_back(Await::DataEnd);
                    }
                }
            }
        }
        true
    }

    /// A completed content is exactly the body of a message queued (in order): normalised, or
    /// untouched for BINARYMIME. An empty one is the `.` alone a doomed DATA gets.
    fn match_content(&mut self, content: &[u8], binary: bool) {
        if content.is_empty() {
            return;
        }
        let found = (self.content_cursor..self.messages.len()).find(|&i| {
            let taken = &self.messages[i].taken;
            if binary {
                taken == content
            } else {
                normalise(taken) == content
            }
        });
        match found {
            Some(i) => self.content_cursor = i + 1,
            None => panic!(
                "content {:?} is no queued message's body",
                String::from_utf8_lossy(content)
            ),
        }
        if let Some(SizeLimit::Max(max)) = self.client.capabilities().and_then(|c| c.size) {
            assert!(
                content.len() as u64 <= max,
                "{} octets of content over SIZE {max}",
                content.len()
            );
        }
    }

    /// Checks the events; returns the messages `BodyWanted` named and whether TLS was asked for.
    fn drain_events(&mut self) -> (Vec<MessageId>, bool) {
        let mut wanted = Vec::new();
        let mut tls = false;
        while let Some(event) = self.client.poll_event() {
            if self.trace && !matches!(event, Event::Transcript(_)) {
                self.say(format!("E: {event:?}\n"));
            }
            match &event {
                Event::Closed(result) => {
                    if let Err(error) = result {
                        error_answers(error);
                    }
                    assert!(!self.closed_seen, "Closed twice");
                    self.closed_seen = true;
                    assert!(self.closed(), "Closed on an open session");
                    assert_eq!(
                        result.as_ref().err(),
                        self.client.error(),
                        "Closed disagrees with error()"
                    );
                }
                Event::MessageDone(outcome) => {
                    let closed = self.closed();
                    let error = self.client.error().cloned();
                    let m = self
                        .messages
                        .iter_mut()
                        .find(|m| m.id == outcome.message)
                        .unwrap_or_else(|| panic!("outcome for unknown {:?}", outcome.message));
                    m.outcomes += 1;
                    assert_eq!(m.outcomes, 1, "second outcome: {event:?}");
                    assert_eq!(
                        outcome.envelope, m.envelope,
                        "envelope not given back as queued"
                    );
                    assert_eq!(outcome.recipients.len(), m.envelope.recipients.len());
                    outcome_answers(outcome);
                    match &outcome.verdict {
                        Verdict::Failed { error: e, .. } => {
                            assert!(closed, "Failed on an open session: {event:?}");
                            match &error {
                                Some(session) => {
                                    assert_eq!(e, session, "Failed with another error")
                                }
                                None => {
                                    assert_eq!(e, &Error::ConnectionClosed { stage: Stage::Quit })
                                }
                            }
                        }
                        Verdict::Accepted { .. } | Verdict::PartiallyAccepted { .. } => {
                            self.accepted_outcomes += 1;
                            assert!(
                                self.accepted_outcomes <= self.wire.contents_done,
                                "{} accepted, {} contents sent",
                                self.accepted_outcomes,
                                self.wire.contents_done
                            );
                        }
                        _ => {}
                    }
                }
                Event::BodyWanted(id) => {
                    let m = self
                        .messages
                        .iter_mut()
                        .find(|m| m.id == *id)
                        .unwrap_or_else(|| panic!("BodyWanted for unknown {id:?}"));
                    assert!(m.blocked, "BodyWanted({id:?}) without a short write");
                    m.blocked = false;
                    wanted.push(*id);
                }
                Event::RecipientAccepted {
                    message,
                    index,
                    reply,
                }
                | Event::RecipientRejected {
                    message,
                    index,
                    reply,
                }
                | Event::RecipientDelivered {
                    message,
                    index,
                    reply,
                } => {
                    let to = if matches!(event, Event::RecipientDelivered { .. }) {
                        "end"
                    } else {
                        "rcpt"
                    };
                    answers(reply, &[to], &event);
                    let m = self
                        .messages
                        .iter()
                        .find(|m| m.id == *message)
                        .unwrap_or_else(|| panic!("{event:?} for an unknown message"));
                    assert!(
                        *index < m.envelope.recipients.len(),
                        "{event:?}: no such recipient"
                    );
                }
                Event::ReplyReceived { command, reply } => {
                    answers(reply, &["side", "rset"], &event);
                    assert!(
                        self.sides.contains(command),
                        "{event:?} for an unknown command"
                    );
                }
                Event::TlsUpgradeRequested => {
                    assert!(!self.tls_wanted, "TlsUpgradeRequested twice");
                    self.tls_wanted = true;
                    tls = true;
                }
                _ => {}
            }
        }
        (wanted, tls)
    }

    fn finish(&mut self) {
        assert!(self.closed_seen, "session open after handle_closed");
        for m in &self.messages {
            assert_eq!(m.outcomes, 1, "{:?} got {} outcomes", m.id, m.outcomes);
        }
    }
}

/// `reply`, carried by `event`, answered one of the commands `to` (the tag the server ends its
/// replies with): a session that takes one command's reply for another's is caught here.
fn answers(reply: &Reply, to: &[&str], event: &dyn std::fmt::Debug) {
    if tag_redacted(reply) {
        return;
    }
    let tag = server::answered(reply);
    assert!(
        tag.is_some_and(|t| to.contains(&t)),
        "{event:?}: a reply to {tag:?} where one to {to:?} belongs"
    );
}

/// The session redacts the credentials wherever a reply repeats them (`client/redact.rs`); with
/// a password of a letter or two, that can be inside the tag, which then says nothing.
fn tag_redacted(reply: &Reply) -> bool {
    reply
        .lines()
        .last()
        .is_some_and(|line| line.windows(10).any(|w| w == b"<redacted>"))
}

/// The reply in a session's error answered a command of the stage the error names (the
/// greeting's and HELO/EHLO's replies carry no tag, nor does an AUTH challenge).
fn error_answers(error: &Error) {
    let (stage, reply) = match error {
        Error::Rejected { stage, reply }
        | Error::ServiceClosing { stage, reply }
        | Error::UnexpectedReply { stage, reply } => (*stage, reply),
        Error::TlsRejected(reply) => (Stage::StartTls, reply),
        Error::AuthFailed(reply) => (Stage::Auth, reply),
        Error::GreetingRejected(reply) => (Stage::Greeting, reply),
        _ => return,
    };
    let to: &[&str] = match stage {
        Stage::Greeting | Stage::Hello if tag_redacted(reply) => return,
        Stage::Greeting | Stage::Hello => {
            let tag = server::answered(reply);
            assert_eq!(tag, None, "{error:?}: a reply to {tag:?} at {stage:?}");
            return;
        }
        Stage::Auth if reply.code().get() == 334 => return,
        Stage::StartTls => &["starttls"],
        Stage::Auth => &["auth"],
        Stage::Mail => &["mail"],
        Stage::Rcpt => &["rcpt"],
        Stage::Data => &["data"],
        Stage::DataEnd => &["end"],
        Stage::Bdat => &["bdat"],
        Stage::Rset => &["rset"],
        Stage::Noop | Stage::Vrfy | Stage::Expn | Stage::Help | Stage::Etrn => &["side"],
        Stage::Xclient => &["xclient"],
        Stage::Xforward => &["xforward"],
        Stage::Quit => &["quit"],
        _ => return,
    };
    answers(reply, to, error);
}

/// Every reply in an outcome answered the command it is reported for.
fn outcome_answers(outcome: &MessageOutcome) {
    for r in &outcome.recipients {
        if let Some(rcpt) = &r.rcpt {
            answers(rcpt, &["rcpt"], outcome);
        }
        if let Some(delivery) = &r.delivery {
            answers(delivery, &["end"], outcome);
        }
    }
    if let Some(reply) = &outcome.xforward {
        answers(reply, &["xforward"], outcome);
    }
    match &outcome.verdict {
        Verdict::Accepted { reply } | Verdict::PartiallyAccepted { reply } => {
            answers(reply, &["end"], outcome)
        }
        Verdict::Probed { mail } => answers(mail, &["mail"], outcome),
        Verdict::Rejected(Rejection::Mail(reply)) => answers(reply, &["mail"], outcome),
        // DATA refused, or a BDAT chunk before the last.
        Verdict::Rejected(Rejection::Data(reply)) => answers(reply, &["data", "bdat"], outcome),
        // The reply after the content: to the end mark, or to BDAT LAST.
        Verdict::Rejected(Rejection::Content(reply)) => answers(reply, &["end"], outcome),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one whole reply `wire` holds.
    fn parse_reply(wire: &[u8]) -> Reply {
        let mut parser = mailwire::ReplyParser::new(Default::default());
        let mut reply = Reply::default();
        let status = parser.parse(wire, &mut reply).expect("a valid reply");
        assert_eq!(
            status,
            mailwire::Status::Complete {
                consumed: wire.len()
            }
        );
        reply
    }

    /// Every reply an event can carry names what it answered, in every style (multi-line ones
    /// on their last line); the greeting, HELO/EHLO replies and AUTH challenges are left as
    /// they are; and a misplaced reply fails the check.
    #[test]
    fn replies_name_the_command_they_answer() {
        let run = Run::new(Setup::read(&mut Bytes::new(&[])));
        let all = [
            Await::Greeting,
            Await::Hello { extended: true },
            Await::Hello { extended: false },
            Await::StartTls,
            Await::Auth,
            Await::Mail,
            Await::Rcpt { txn: 0 },
            Await::Data,
            Await::DataEnd,
            Await::Bdat,
            Await::Rset,
            Await::Side,
            Await::Xclient,
            Await::Xforward,
            Await::Quit,
        ];
        for awaited in all {
            for style in 0..=63u8 {
                let wire = run.server.reply(awaited, style);
                let reply = parse_reply(&wire);
                let tag = server::answered(&reply);
                if awaited.tag().is_none() || wire.starts_with(b"334 ") {
                    assert_eq!(tag, None, "{awaited:?} style {style}: {reply:?}");
                } else {
                    assert_eq!(tag, awaited.tag(), "{awaited:?} style {style}");
                }
            }
        }
        let reply = parse_reply(&run.server.reply(Await::Rcpt { txn: 0 }, 0));
        answers(&reply, &["rcpt"], &"RCPT");
        let misplaced = std::panic::catch_unwind(|| answers(&reply, &["side", "rset"], &"NOOP"));
        assert!(
            misplaced.is_err(),
            "a RCPT reply passed for a side command's"
        );
        let rejected = |stage| Error::Rejected {
            stage,
            reply: reply.clone(),
        };
        // A password `n` redacted inside the tag (`[e<redacted>d]`): nothing to check.
        let redacted = Reply::new(mailwire::Code::OK, &["2.0.0 OK [e<redacted>d]"]);
        answers(&redacted, &["end"], &"the end mark");
        answers(&redacted, &["rcpt"], &"RCPT");
        error_answers(&rejected(Stage::Rcpt));
        let misplaced = std::panic::catch_unwind(|| error_answers(&rejected(Stage::Mail)));
        assert!(
            misplaced.is_err(),
            "a RCPT reply passed in an error at MAIL"
        );
    }

    /// The XCLIENT seed takes the path it is for: its attributes in two XCLIENT lines (the
    /// one with a name the syntax refuses not among them, the CR LF value in xtext), EHLO after
    /// each 220, an ETRN, and the message accepted.
    #[test]
    fn xclient_seed_reaches_xclient_etrn_and_the_message() {
        let seeds = crate::seeds::caller_seeds();
        let (_, seed) = seeds
            .iter()
            .find(|(name, _)| *name == "xclient-two-lines-then-etrn")
            .expect("the seed");
        let run = run(seed, false);
        let wire = run.wire.text();
        let lines: Vec<&str> = wire.lines().collect();
        let xclient: Vec<&&str> = lines.iter().filter(|l| l.starts_with("XCLIENT ")).collect();
        assert_eq!(xclient.len(), 2, "{wire}");
        assert!(xclient[0].starts_with("XCLIENT HELO=hhh"), "{wire}");
        assert!(xclient[1].ends_with("ADDR=10.1.2.3"), "{wire}");
        // The CR LF value went in xtext: no line of its own.
        assert!(
            xclient[1].contains("ADDR=x+0D+0ARCPT+20TO:<evil@example.org>"),
            "{wire}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("RCPT TO:<evil")),
            "{wire}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("EHLO ")).count(),
            3,
            "{wire}"
        );
        assert!(lines.contains(&"ETRN postmaster"), "{wire}");
        assert_eq!(run.accepted_outcomes, 1, "{wire}");
    }

    /// The every-parameter seed sends XFORWARD before each MAIL, with only the names the
    /// server lists (LOGIN is not one), and the outcome carries its reply.
    #[test]
    fn xforward_goes_before_mail_with_the_names_offered() {
        let seeds = crate::seeds::caller_seeds();
        let (_, seed) = seeds
            .iter()
            .find(|(name, _)| *name == "every-parameter-implicit-tls")
            .expect("the seed");
        let run = run(seed, false);
        let wire = run.wire.text();
        let lines: Vec<&str> = wire.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("XFORWARD "))
            .unwrap_or_else(|| panic!("no XFORWARD in {wire}"));
        assert_eq!(lines[at], "XFORWARD ADDR=10.1.2.3", "{wire}");
        assert!(lines[at + 1].starts_with("MAIL FROM:"), "{wire}");
    }

    #[test]
    fn steps_round_trip_through_their_encoding() {
        let envelope = EnvelopeSpec {
            from: Some(Text::Pick(0)),
            recipients: vec![RcptSpec {
                address: Text::Bytes(b"b@example.net".to_vec()),
                notify: Some(3),
                orcpt: Some((Text::Pick(0), Text::Pick(1))),
                extra: vec![ParamSpec {
                    keyword: Text::Pick(0),
                    value: Some(Text::Repeat(b"v".to_vec(), 485)),
                }],
            }],
            mail: MailSpec {
                size: Some(0),
                body: Some(1),
                smtputf8: true,
                ret: Some(true),
                envid: Some(Text::Pick(2)),
                requiretls: true,
                deliver_by: Some((1, 3)),
                mt_priority: Some(-3),
                extra: vec![ParamSpec {
                    keyword: Text::Bytes(b"ABC".to_vec()),
                    value: None,
                }],
                xforward: vec![(Text::Pick(1), Text::Repeat(b"x".to_vec(), 300))],
            },
        };
        let setup = Setup {
            auth: 3 | 7 << 3 | 3 << 6,
            xclient: 2 | 4 | 16,
            xclient_attributes: vec![(Text::Pick(0), Text::Bytes(b"10.0.0.1".to_vec()))],
            credentials: Some((Text::Pick(1), Text::Pick(2))),
            mechanism: Some(Text::Pick(1)),
            nonce: Some(Text::Bytes(b"nonce".to_vec())),
            server: 0xffff,
            ..Setup::default()
        };
        let ops = vec![
            Op::Answer(vec![0]),
            Op::Send(envelope.clone()),
            Op::SendWithBody(envelope, Text::Pick(3)),
            Op::Write(0, Text::Bytes(b"hi".to_vec())),
            Op::Finish(2),
            Op::Side(1, Some(Text::Pick(0))),
            Op::Side(0, None),
            Op::Quit,
            Op::Abort,
            Op::Wait(7),
            Op::Close,
            Op::TlsDone,
            Op::TlsFailed,
            Op::WriteTimeout,
        ];
        let bytes = encode(&setup, &ops);
        let mut input = Bytes::new(&bytes);
        assert_eq!(Setup::read(&mut input), setup);
        for op in &ops {
            assert_eq!(&Op::read(&mut input), op);
        }
        assert!(input.is_empty());
    }
}
