//! One message's progress: what of it has been sent, what the server said, what is held back.

use crate::body::{BodyEncoder, ChunkEncoder};
use crate::command::MailParams;
use crate::envelope::{Envelope, MessageId};
use crate::event::Rejection;
use crate::reply::Reply;
use alloc::vec::Vec;

/// How far the message's commands and content have gone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Emit {
    /// Nothing sent yet.
    NotStarted,
    /// MAIL sent; RCPT `n` is next.
    Rcpts(usize),
    /// All RCPTs sent; DATA next (DATA mode).
    SendData,
    /// DATA sent, waiting for 354.
    AwaitData,
    /// 354 received: content flows.
    Body,
    /// BDAT mode: chunks go out as the body comes.
    Chunks,
    /// The end of content is out.
    Done,
    /// Given up before the end of content (refused, or no valid recipient). Body bytes written
    /// from now on are dropped.
    Aborted,
}

/// The content encoder: dot-stuffing for DATA, plain normalisation for BDAT.
#[derive(Debug)]
pub(crate) enum Encoder {
    /// Mode not decided yet (capabilities unknown): body is held raw.
    Undecided,
    Data(BodyEncoder),
    Bdat(ChunkEncoder),
}

#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) id: MessageId,
    pub(crate) envelope: Envelope,
    /// The MAIL parameters as they will be sent (adjusted to the server's extensions).
    pub(crate) params: MailParams,
    pub(crate) emit: Emit,
    pub(crate) encoder: Encoder,
    /// Wire bytes (or, while `Undecided`, raw body bytes) not yet handed out.
    pub(crate) staged: Vec<u8>,
    /// The caller called `finish_body`.
    pub(crate) body_finished: bool,
    /// The end of content was handed out.
    pub(crate) content_sent: bool,
    pub(crate) accepted: Vec<usize>,
    pub(crate) rcpt_answered: usize,
    pub(crate) last_rcpt_rejection: Option<Reply>,
    /// The first refusal; decides the outcome.
    pub(crate) failure: Option<Rejection>,
    /// The positive reply after the content.
    pub(crate) final_reply: Option<Reply>,
    /// LMTP: recipients delivered.
    pub(crate) delivered: usize,
    /// LMTP: the last negative per-recipient reply.
    pub(crate) last_delivery_failure: Option<Reply>,
    /// The RSET before its MAIL is out.
    pub(crate) rset_sent: bool,
    /// Replies awaited for this message.
    pub(crate) outstanding: usize,
    /// The outcome event was emitted.
    pub(crate) reported: bool,
}

impl Message {
    pub(crate) fn new(id: MessageId, envelope: Envelope) -> Message {
        let params = envelope.params.clone();
        Message {
            id,
            envelope,
            params,
            emit: Emit::NotStarted,
            encoder: Encoder::Undecided,
            staged: Vec::new(),
            body_finished: false,
            content_sent: false,
            accepted: Vec::new(),
            rcpt_answered: 0,
            last_rcpt_rejection: None,
            failure: None,
            final_reply: None,
            delivered: 0,
            last_delivery_failure: None,
            rset_sent: false,
            outstanding: 0,
            reported: false,
        }
    }

    /// Body bytes are dropped: the message will not be sent (or already failed).
    pub(crate) fn discarding(&self) -> bool {
        self.emit == Emit::Aborted || self.reported
    }

    /// Every RCPT is answered and none accepted.
    pub(crate) fn known_no_recipients(&self) -> bool {
        self.rcpt_answered == self.envelope.recipients.len() && self.accepted.is_empty()
    }

    /// The transaction cannot succeed any more.
    pub(crate) fn doomed(&self) -> bool {
        self.failure.is_some() || self.known_no_recipients()
    }

    /// Records the first refusal.
    pub(crate) fn fail(&mut self, rejection: Rejection) {
        if self.failure.is_none() {
            self.failure = Some(rejection);
        }
    }

    /// The outcome, once every reply is in. A refused MAIL, or a message we could not send, is
    /// reported as such; otherwise no accepted recipient explains any later refusal (DATA or
    /// BDAT refused with 503/554 because of it).
    pub(crate) fn outcome(&mut self) -> Result<(Reply, usize), Rejection> {
        match self.failure.take() {
            Some(f @ (Rejection::Mail(_) | Rejection::Unsendable(_))) => return Err(f),
            _ if self.accepted.is_empty() => {
                return Err(Rejection::NoValidRecipients(
                    self.last_rcpt_rejection.take(),
                ));
            }
            Some(f) => return Err(f),
            None => {}
        }
        match self.final_reply.take() {
            Some(reply) => {
                let n = if self.delivered > 0 {
                    self.delivered
                } else {
                    self.accepted.len()
                };
                Ok((reply, n))
            }
            None => Err(Rejection::Content(
                self.last_delivery_failure.take().unwrap_or_default(),
            )),
        }
    }
}
