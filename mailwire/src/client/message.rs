//! One message's data: how far it has gone out ([`Step`]; its transitions are in `state.rs`),
//! its content framer and held bytes, what the server said, and the outcome built from that.

use crate::body::{BdatEncoder, DataEncoder};
use crate::command::MailParams;
use crate::envelope::{Envelope, MessageId};
use crate::error::Error;
use crate::outcome::{MessageOutcome, RecipientOutcome, Rejection, Verdict};
use crate::reply::Reply;
use alloc::vec::Vec;

/// How far the message's commands and content have gone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing sent yet.
    Queued,
    /// MAIL sent; RCPT `n` is next.
    Rcpts(usize),
    /// Every RCPT sent; DATA next.
    SendData,
    /// DATA sent, waiting for 354.
    AwaitData,
    /// 354 received: content flows.
    Body,
    /// BDAT: chunks go out as the body comes (RFC 3030 2).
    Chunks,
    /// The end of content is out.
    Done,
    /// Given up before the end of content. Body bytes written from now on are dropped.
    Abandoned,
}

/// How far a probe goes ([`crate::Client::probe`]): MAIL alone, or MAIL and every RCPT; never
/// DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProbeDepth {
    /// MAIL FROM only.
    Mail,
    /// MAIL FROM and one RCPT TO per recipient.
    Rcpt,
}

/// How the content is framed: chosen when the message starts, once the server's extensions are
/// known (RFC 3030 needs CHUNKING).
#[derive(Debug)]
pub(crate) enum Framer {
    /// Not started: the body is held raw.
    Undecided,
    /// DATA: line ends normalised, dot-stuffed (RFC 5321 4.5.2).
    Data(DataEncoder),
    /// BDAT: line ends normalised (or untouched for BINARYMIME), no stuffing.
    Bdat(BdatEncoder),
}

#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) id: MessageId,
    pub(crate) envelope: Envelope,
    /// The MAIL parameters as they are sent to this server.
    pub(crate) params: MailParams,
    pub(crate) step: Step,
    pub(crate) framer: Framer,
    /// Wire bytes not yet handed out (raw body bytes while `Undecided`).
    pub(crate) staged: Vec<u8>,
    /// The caller called `finish_body`.
    pub(crate) body_finished: bool,
    /// The end of content was handed out.
    pub(crate) content_sent: bool,
    /// One per envelope recipient.
    pub(crate) recipients: Vec<RecipientOutcome>,
    pub(crate) rcpt_answered: usize,
    pub(crate) accepted: usize,
    /// The first refusal; decides the outcome.
    pub(crate) failure: Option<Rejection>,
    /// The positive reply after the content (LMTP: the last positive delivery).
    pub(crate) final_reply: Option<Reply>,
    /// LMTP: the last negative delivery reply.
    pub(crate) last_delivery_failure: Option<Reply>,
    /// The RSET before its MAIL is out.
    pub(crate) rset_sent: bool,
    /// Replies awaited for this message.
    pub(crate) outstanding: usize,
    /// The outcome event was emitted.
    pub(crate) reported: bool,
    /// The server's SIZE limit, checked against the content as it is framed (RFC 1870 6).
    pub(crate) size_limit: Option<u64>,
    /// MAIL declared a body that may carry octets above 127 (8BITMIME or BINARYMIME).
    pub(crate) eight_bit_declared: bool,
    /// A `write_body` took less than offered: `BodyWanted` is owed once room opens.
    pub(crate) blocked: bool,
    /// The whole content's RFC 1870 size and whether it has an octet above 127, measured when
    /// it was given whole but did not fit (`send_message_with_content`).
    pub(crate) measured: Option<(u64, bool)>,
    /// A probe: no content, no DATA.
    pub(crate) probe: Option<ProbeDepth>,
    /// A probe's MAIL reply.
    pub(crate) mail_reply: Option<Reply>,
    /// The XFORWARD attributes the server names, once MAIL is due, and how many went.
    pub(crate) xforward: Option<(Vec<crate::xclient::Attribute>, usize)>,
    /// The reply to XFORWARD that goes in the outcome.
    pub(crate) xforward_reply: Option<Reply>,
}

impl Message {
    pub(crate) fn new(id: MessageId, envelope: Envelope, staged: Vec<u8>) -> Message {
        let mut recipients = Vec::with_capacity(envelope.recipients.len());
        recipients.resize_with(envelope.recipients.len(), RecipientOutcome::default);
        Message {
            id,
            envelope,
            params: MailParams::default(),
            step: Step::Queued,
            framer: Framer::Undecided,
            staged,
            body_finished: false,
            content_sent: false,
            recipients,
            rcpt_answered: 0,
            accepted: 0,
            failure: None,
            final_reply: None,
            last_delivery_failure: None,
            rset_sent: false,
            outstanding: 0,
            reported: false,
            size_limit: None,
            eight_bit_declared: false,
            blocked: false,
            measured: None,
            probe: None,
            mail_reply: None,
            xforward: None,
            xforward_reply: None,
        }
    }

    /// Body bytes are dropped: the message will not be sent (or already has its outcome).
    pub(crate) fn discarding(&self) -> bool {
        self.step == Step::Abandoned || self.reported
    }

    /// The transaction cannot succeed any more: refused, or every RCPT answered and none taken.
    pub(crate) fn doomed(&self) -> bool {
        self.failure.is_some()
            || (self.rcpt_answered == self.envelope.recipients.len() && self.accepted == 0)
    }

    /// Records the first refusal.
    pub(crate) fn fail(&mut self, rejection: Rejection) {
        if self.failure.is_none() {
            self.failure = Some(rejection);
        }
    }

    /// The RFC 1870 size of the content framed so far.
    pub(crate) fn framed_size(&self) -> u64 {
        match &self.framer {
            Framer::Undecided => 0,
            Framer::Data(encoder) => encoder.message_size(),
            Framer::Bdat(encoder) => encoder.bytes_out(),
        }
    }

    /// The verdict, once every reply is in. A refused MAIL, or a message the client would not
    /// send, is reported as such; otherwise no accepted recipient explains any later refusal
    /// (DATA or BDAT refused with 503/554 because of it).
    fn verdict(&mut self) -> Verdict {
        // A probe is `Probed` once MAIL was answered; one abandoned before MAIL went out (the
        // server could not take it) is refused as a message would be.
        if let (Some(_), Some(mail)) = (self.probe, self.mail_reply.take()) {
            return Verdict::Probed { mail };
        }
        match self.failure.take() {
            Some(f @ (Rejection::Mail(_) | Rejection::Unsendable(_))) => Verdict::Rejected(f),
            _ if self.accepted == 0 => Verdict::Rejected(Rejection::NoValidRecipients),
            Some(f) => Verdict::Rejected(f),
            None => match self.final_reply.take() {
                Some(reply) if self.recipients.iter().all(RecipientOutcome::is_accepted) => {
                    Verdict::Accepted { reply }
                }
                Some(reply) => Verdict::PartiallyAccepted { reply },
                // LMTP: no recipient's delivery succeeded.
                None => Verdict::Rejected(Rejection::Content(
                    self.last_delivery_failure.take().unwrap_or_default(),
                )),
            },
        }
    }

    /// The outcome now that every reply is in; the envelope and replies move into it.
    pub(crate) fn outcome(&mut self) -> MessageOutcome {
        let verdict = self.verdict();
        self.finish_outcome(verdict)
    }

    /// The outcome of a message the session ended before it was known.
    pub(crate) fn failed_outcome(&mut self, error: Error) -> MessageOutcome {
        let verdict = Verdict::Failed {
            error,
            content_sent: self.content_sent,
        };
        self.finish_outcome(verdict)
    }

    fn finish_outcome(&mut self, verdict: Verdict) -> MessageOutcome {
        self.reported = true;
        MessageOutcome {
            message: self.id,
            envelope: core::mem::take(&mut self.envelope),
            recipients: core::mem::take(&mut self.recipients),
            verdict,
            xforward: self.xforward_reply.take(),
        }
    }
}
