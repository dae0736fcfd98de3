//! The message flow: starting queued work in order, pipelining it (RFC 2920), holding body bytes
//! until the server wants them, BDAT chunking (RFC 3030), and matching each reply to its message
//! and recipient.

use super::message::{Emit, Encoder};
use super::{Client, Expect, Job, Phase, Side};
use crate::body::{BodyEncoder, ChunkEncoder};
use crate::capability::{Capabilities, SizeLimit};
use crate::command::{BodyType, Command, MailParams};
use crate::config::{Config, Protocol};
use crate::envelope::{Envelope, MessageId};
use crate::error::{Error, UsageError};
use crate::event::{Direction, Event, Rejection};
use crate::reply::{Code, Reply};
use alloc::format;
use alloc::vec::Vec;

/// Checks that every command of the envelope encodes (no over-long line, valid parameters), with
/// the parameters the session may add (SMTPUTF8, SIZE) included.
pub(super) fn check_commands(envelope: &Envelope, scratch: &mut Vec<u8>) -> Result<(), UsageError> {
    scratch.clear();
    let mut params = envelope.params.clone();
    params.smtputf8 |= envelope.needs_smtputf8();
    Command::Mail {
        from: envelope.from.as_ref(),
        params: &params,
    }
    .encode(scratch)?;
    for r in &envelope.recipients {
        scratch.clear();
        Command::Rcpt {
            to: &r.address,
            params: &r.params,
        }
        .encode(scratch)?;
    }
    Ok(())
}

/// The MAIL parameters as they will be sent to a server with these capabilities, or why the
/// message cannot be sent to it.
pub(super) fn adjust_params(
    envelope: &Envelope,
    caps: &Capabilities,
    config: &Config,
    secure: bool,
) -> Result<MailParams, UsageError> {
    let mut p = envelope.params.clone();
    // RFC 6531 3.4: non-ASCII addresses need SMTPUTF8 on MAIL.
    if p.smtputf8 || envelope.needs_smtputf8() {
        if !caps.smtputf8 {
            return Err(UsageError::ExtensionMissing("SMTPUTF8"));
        }
        p.smtputf8 = true;
    }
    match p.body {
        Some(BodyType::EightBitMime) if !caps.eight_bit_mime => {
            return Err(UsageError::ExtensionMissing("8BITMIME"));
        }
        Some(BodyType::BinaryMime) if !(caps.binary_mime && uses_bdat(caps, config, &p)) => {
            return Err(UsageError::ExtensionMissing("BINARYMIME"));
        }
        _ => {}
    }
    // RFC 1870 6.1: refuse before MAIL what the server said it will not take; send SIZE= only
    // to a server that knows it.
    match (p.size, caps.size) {
        (Some(size), Some(SizeLimit::Max(limit))) if size > limit => {
            return Err(UsageError::TooLarge { size, limit });
        }
        (Some(_), None) => p.size = None,
        _ => {}
    }
    let dsn = p.ret.is_some()
        || p.envid.is_some()
        || envelope
            .recipients
            .iter()
            .any(|r| r.params.notify.is_some() || r.params.orcpt.is_some());
    if dsn && !caps.dsn {
        return Err(UsageError::ExtensionMissing("DSN"));
    }
    // RFC 8689 4.1: REQUIRETLS only over TLS, to a server that offers it.
    if p.requiretls {
        if !secure {
            return Err(UsageError::TlsRequired);
        }
        if !caps.requiretls {
            return Err(UsageError::ExtensionMissing("REQUIRETLS"));
        }
    }
    if p.deliver_by.is_some() && caps.deliver_by.is_none() {
        return Err(UsageError::ExtensionMissing("DELIVERBY"));
    }
    if p.mt_priority.is_some() && caps.mt_priority.is_none() {
        return Err(UsageError::ExtensionMissing("MT-PRIORITY"));
    }
    Ok(p)
}

/// Whether content goes with BDAT: the server offers CHUNKING, the caller allows it, and the
/// protocol is SMTP (or BINARYMIME forces it).
fn uses_bdat(caps: &Capabilities, config: &Config, params: &MailParams) -> bool {
    caps.chunking
        && config.protocol == Protocol::Smtp
        && (config.chunking || params.body == Some(BodyType::BinaryMime))
}

impl Client {
    fn pipelining(&self) -> bool {
        self.config.pipelining && self.capabilities.as_ref().is_some_and(|c| c.pipelining)
    }

    fn may_send(&self) -> bool {
        self.pipeline.may_send(self.pipelining())
    }

    /// Sends a command that belongs to message `index`, counting its awaited reply.
    fn send_for(&mut self, index: usize, command: Command<'_>, expect: Expect) {
        self.messages[index].outstanding += 1;
        self.send(command, expect);
    }

    /// Starts whatever queued work the session allows now, in order.
    pub(super) fn pump(&mut self) {
        while self.phase == Phase::Ready {
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
                        Side::Noop(a) => (Command::Noop(a.as_ref()), crate::Stage::Noop),
                        Side::Vrfy(a) => (Command::Vrfy(a), crate::Stage::Vrfy),
                        Side::Expn(a) => (Command::Expn(a), crate::Stage::Expn),
                        Side::Help(a) => (Command::Help(a.as_ref()), crate::Stage::Help),
                    };
                    self.send(command, Expect::Side(id, stage));
                }
                Some(Job::Quit) => {
                    self.quit_sent = true;
                    self.send(Command::Quit, Expect::Quit);
                }
                _ => {}
            }
        }
        self.collect();
    }

    /// Messages started whose outcome is not known yet.
    fn messages_in_flight(&self) -> usize {
        // Messages start in queue order, so the started ones are a prefix.
        self.messages
            .iter()
            .take_while(|m| m.emit != Emit::NotStarted)
            .filter(|m| !m.reported)
            .count()
    }

    /// Moves message `id` along as far as it can go now. True when it needs nothing more from
    /// the job queue (its content is out, or it was given up).
    fn pump_message(&mut self, id: MessageId) -> bool {
        let Some(i) = self.message_index(id) else {
            return true;
        };
        loop {
            if self.phase == Phase::Closed {
                return false;
            }
            let may_send = self.may_send();
            match self.messages[i].emit {
                Emit::NotStarted => {
                    if !may_send
                        || self.messages_in_flight()
                            >= self.config.limits.max_messages_in_flight.max(1)
                    {
                        return false;
                    }
                    if !self.start_message(i) {
                        // Rejected (Aborted: done with it), or waiting for its RSET's reply.
                        return self.messages[i].emit == Emit::Aborted;
                    }
                }
                Emit::Rcpts(k) => {
                    let m = &self.messages[i];
                    if m.failure.is_some() && !self.pipelining() {
                        // MAIL refused, one command at a time: send no RCPT.
                        self.abandon(i);
                        return true;
                    }
                    if k == m.envelope.recipients.len() {
                        let bdat = matches!(m.encoder, Encoder::Bdat(_));
                        self.messages[i].emit = if bdat { Emit::Chunks } else { Emit::SendData };
                        continue;
                    }
                    if !may_send {
                        return false;
                    }
                    self.messages[i].emit = Emit::Rcpts(k + 1);
                    // Borrow the envelope out for the encoder (taking it costs no allocation).
                    let envelope = core::mem::take(&mut self.messages[i].envelope);
                    let r = &envelope.recipients[k];
                    let rcpt = Command::Rcpt {
                        to: &r.address,
                        params: &r.params,
                    };
                    self.send_for(i, rcpt, Expect::Rcpt(id, k));
                    self.messages[i].envelope = envelope;
                }
                Emit::SendData => {
                    if self.messages[i].doomed() {
                        self.abandon(i);
                        return true;
                    }
                    if !may_send {
                        return false;
                    }
                    self.messages[i].emit = Emit::AwaitData;
                    self.send_for(i, Command::Data, Expect::Data(id));
                    return false;
                }
                Emit::AwaitData => return false,
                Emit::Body => {
                    let m = &mut self.messages[i];
                    self.out.append(&mut m.staged);
                    if !m.body_finished {
                        return false;
                    }
                    let mut octets = 0;
                    if let Encoder::Data(encoder) = &mut m.encoder {
                        octets = encoder.bytes_out();
                        encoder.finish(&mut self.out);
                    }
                    m.content_sent = true;
                    m.emit = Emit::Done;
                    let lmtp = self.config.protocol == Protocol::Lmtp;
                    let accepted = if lmtp { m.accepted.clone() } else { Vec::new() };
                    if self.config.transcript {
                        self.content_transcript(octets);
                        self.transcript(Direction::Sent, b".".to_vec());
                    }
                    if lmtp {
                        // RFC 2033 4.2: one reply per accepted recipient, in RCPT order.
                        for k in accepted {
                            self.messages[i].outstanding += 1;
                            self.pipeline.push(Expect::LmtpRcpt(id, k));
                        }
                    } else {
                        self.messages[i].outstanding += 1;
                        self.pipeline.push(Expect::DataEnd(id));
                    }
                    return true;
                }
                Emit::Chunks => {
                    if self.messages[i].doomed() {
                        self.abandon(i);
                        return true;
                    }
                    if !may_send {
                        return false;
                    }
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
                    if last {
                        self.out.append(&mut m.staged);
                        m.content_sent = true;
                        m.emit = Emit::Done;
                    } else {
                        self.out.extend(m.staged.drain(..size));
                    }
                    if self.config.transcript {
                        self.content_transcript(size as u64);
                    }
                    if last {
                        return true;
                    }
                }
                Emit::Done | Emit::Aborted => return true,
            }
        }
    }

    /// Decides DATA or BDAT and the MAIL parameters, sends RSET if needed, then MAIL. False if
    /// the message cannot be sent to this server (it is then reported rejected) or must wait
    /// for the reply to its RSET (no PIPELINING).
    fn start_message(&mut self, i: usize) -> bool {
        if matches!(self.messages[i].encoder, Encoder::Undecided) && !self.prepare_message(i) {
            return false;
        }
        let id = self.messages[i].id;
        let bdat = matches!(self.messages[i].encoder, Encoder::Bdat(_));
        // With BDAT, whole messages go out before earlier ones are answered. A server that kept
        // an earlier refused transaction open (Exim answers the next MAIL with 503) must see an
        // RSET first; it costs a line, not a round trip.
        let others = bdat
            && self
                .messages
                .iter()
                .take_while(|m| m.emit != Emit::NotStarted)
                .any(|m| m.id != id && !m.reported);
        if !self.messages[i].rset_sent && (self.need_rset || others) {
            self.need_rset = false;
            self.messages[i].rset_sent = true;
            self.send(Command::Rset, Expect::Rset);
            if !self.may_send() {
                return false;
            }
        }
        let m = &mut self.messages[i];
        m.emit = Emit::Rcpts(0);
        let envelope = core::mem::take(&mut m.envelope);
        let params = core::mem::take(&mut m.params);
        let mail = Command::Mail {
            from: envelope.from.as_ref(),
            params: &params,
        };
        self.send_for(i, mail, Expect::Mail(id));
        let m = &mut self.messages[i];
        m.envelope = envelope;
        m.params = params;
        true
    }

    /// Checks the message against the server's extensions and chooses its encoder. False (and
    /// the message reported rejected) when it cannot be sent to this server.
    fn prepare_message(&mut self, i: usize) -> bool {
        let no_caps;
        let caps = match &self.capabilities {
            Some(c) => c,
            None => {
                no_caps = Capabilities::default();
                &no_caps
            }
        };
        let params =
            match adjust_params(&self.messages[i].envelope, caps, &self.config, self.secure) {
                Ok(p) => p,
                Err(e) => {
                    let m = &mut self.messages[i];
                    m.fail(Rejection::Unsendable(e));
                    m.emit = Emit::Aborted;
                    m.staged = Vec::new();
                    self.settle(i);
                    return false;
                }
            };
        let bdat = uses_bdat(caps, &self.config, &params);
        let m = &mut self.messages[i];
        m.params = params;
        let raw = core::mem::take(&mut m.staged);
        if bdat {
            let mut encoder = ChunkEncoder::new(m.params.body == Some(BodyType::BinaryMime));
            encoder.encode(&raw, &mut m.staged);
            if m.body_finished {
                encoder.finish(&mut m.staged);
            }
            m.encoder = Encoder::Bdat(encoder);
        } else {
            let mut encoder = BodyEncoder::new();
            encoder.encode(&raw, &mut m.staged);
            m.encoder = Encoder::Data(encoder);
        }
        true
    }

    /// Gives up on message `i` before the end of its content.
    fn abandon(&mut self, i: usize) {
        let m = &mut self.messages[i];
        m.emit = Emit::Aborted;
        m.staged = Vec::new();
        // The server may hold the transaction open (RFC 5321 4.1.1.5; Exim keeps the sender).
        self.need_rset = true;
        self.settle(i);
    }

    fn content_transcript(&mut self, octets: u64) {
        let line = format!("<{octets} octets of content>");
        self.transcript(Direction::Sent, line.into_bytes());
    }

    /// Reports message `i`'s outcome once all its replies are in and nothing more goes out.
    pub(super) fn settle(&mut self, i: usize) {
        let m = &mut self.messages[i];
        if m.reported || m.outstanding > 0 || !matches!(m.emit, Emit::Done | Emit::Aborted) {
            return;
        }
        m.reported = true;
        let message = m.id;
        let event = match m.outcome() {
            Ok((reply, recipients)) => Event::MessageAccepted {
                message,
                reply,
                recipients,
            },
            Err(rejection) => Event::MessageRejected { message, rejection },
        };
        self.events.push_back(event);
    }

    /// Forgets messages whose outcome is reported and whose body the caller finished.
    fn collect(&mut self) {
        while self
            .messages
            .front()
            .is_some_and(|m| m.reported && m.body_finished)
        {
            self.messages.pop_front();
        }
    }

    /// Which message `write_body`/`finish_body` may write to.
    pub(super) fn body_target(&self, id: MessageId) -> Result<usize, UsageError> {
        if self.phase == Phase::Closed {
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

    pub(super) fn body_input(&mut self, i: usize, data: &[u8], finish: bool) {
        let Client { messages, out, .. } = self;
        let m = &mut messages[i];
        if !m.discarding() {
            match &mut m.encoder {
                Encoder::Undecided => m.staged.extend_from_slice(data),
                Encoder::Data(encoder) => {
                    // After 354 the content goes straight out; before, it waits in `staged`.
                    let target = if m.emit == Emit::Body {
                        out
                    } else {
                        &mut m.staged
                    };
                    encoder.encode(data, target);
                }
                Encoder::Bdat(encoder) => {
                    encoder.encode(data, &mut m.staged);
                    if finish {
                        encoder.finish(&mut m.staged);
                    }
                }
            }
        }
        if finish {
            m.body_finished = true;
        }
    }

    /// A reply to MAIL, RCPT, DATA, BDAT or the end of data.
    pub(super) fn on_message_reply(&mut self, expect: Expect, reply: Reply) {
        let Some(id) = expect.message() else { return };
        let Some(i) = self.message_index(id) else {
            return self.fail(Error::UnsolicitedReply(reply));
        };
        let stage = expect.stage();
        if reply.is_positive_intermediate() && !matches!(expect, Expect::Data(_)) {
            return self.fail(Error::UnexpectedReply { stage, reply });
        }
        self.messages[i].outstanding -= 1;
        let positive = reply.is_positive_completion();
        match expect {
            Expect::Mail(_) => {
                if positive {
                    self.events
                        .push_back(Event::SenderAccepted { message: id, reply });
                } else {
                    self.messages[i].fail(Rejection::Mail(reply));
                }
            }
            Expect::Rcpt(_, index) => {
                let m = &mut self.messages[i];
                m.rcpt_answered += 1;
                if positive {
                    m.accepted.push(index);
                    self.events.push_back(Event::RecipientAccepted {
                        message: id,
                        index,
                        reply,
                    });
                } else {
                    m.last_rcpt_rejection = Some(reply.clone());
                    self.events.push_back(Event::RecipientRejected {
                        message: id,
                        index,
                        reply,
                    });
                }
            }
            Expect::Data(_) => {
                if reply.code() == Code::START_MAIL_INPUT {
                    if self.messages[i].doomed() {
                        // RFC 2920 3.1: a 354 with no valid recipient is answered with an empty
                        // content; the outcome is already decided.
                        self.out.extend_from_slice(b".\r\n");
                        let m = &mut self.messages[i];
                        m.outstanding += 1;
                        m.emit = Emit::Aborted;
                        m.staged = Vec::new();
                        self.pipeline.push(Expect::DataEnd(id));
                    } else {
                        self.messages[i].emit = Emit::Body;
                        self.events.push_back(Event::BodyWanted(id));
                    }
                } else if positive {
                    return self.fail(Error::UnexpectedReply { stage, reply });
                } else {
                    let m = &mut self.messages[i];
                    let rejection = Rejection::Data(reply);
                    m.fail(rejection);
                    m.emit = Emit::Aborted;
                    m.staged = Vec::new();
                    self.need_rset = true;
                }
            }
            Expect::Bdat(_) if !positive => {
                // RFC 3030 2: after a refused chunk, send no more; RSET before the next.
                self.messages[i].fail(Rejection::Data(reply));
                self.need_rset = true;
            }
            Expect::DataEnd(_) => {
                let m = &mut self.messages[i];
                if positive {
                    m.final_reply = Some(reply);
                } else {
                    m.fail(Rejection::Content(reply));
                    if matches!(m.encoder, Encoder::Bdat(_)) {
                        self.need_rset = true;
                    }
                }
            }
            Expect::LmtpRcpt(_, index) => {
                let m = &mut self.messages[i];
                if positive {
                    m.delivered += 1;
                    m.final_reply = Some(reply.clone());
                } else {
                    m.last_delivery_failure = Some(reply.clone());
                }
                self.events.push_back(Event::RecipientDelivered {
                    message: id,
                    index,
                    reply,
                });
            }
            _ => {}
        }
        self.settle(i);
    }
}
