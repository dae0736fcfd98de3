//! [`MessageReport`]: what became of one message and each of its recipients.

use crate::error::SendError;
use smtp_proto::{Mailbox, MessageId, Rejection, Reply, Stage};

/// What the server said to one RCPT TO.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecipientStatus {
    /// Accepted (2yz).
    Accepted(Reply),
    /// Refused (4yz or 5yz).
    Rejected(Reply),
    /// Not answered: MAIL was refused, the message could not be sent, or the session ended.
    Unanswered,
}

/// One recipient of a message and its fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientReport {
    /// The address, as in the envelope.
    pub address: Mailbox,
    /// The reply to its RCPT TO.
    pub status: RecipientStatus,
    /// LMTP only: the per-recipient reply after the content (RFC 2033 4.2).
    pub delivery: Option<Reply>,
}

impl RecipientReport {
    /// Whether its RCPT TO was accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self.status, RecipientStatus::Accepted(_))
    }

    /// The reply to its RCPT TO, if it was answered.
    pub fn reply(&self) -> Option<&Reply> {
        match &self.status {
            RecipientStatus::Accepted(r) | RecipientStatus::Rejected(r) => Some(r),
            RecipientStatus::Unanswered => None,
        }
    }
}

/// How a message ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The server took responsibility for the message for `recipients` recipients; `reply` is
    /// its reply after the content.
    Accepted {
        /// The final reply (2yz).
        reply: Reply,
        /// How many recipients it was accepted for.
        recipients: usize,
    },
    /// The server refused it.
    Rejected(Rejection),
    /// It was never queued, or the session ended before its outcome was known. With
    /// `content_sent`, the whole content had left, so the server may have delivered it.
    Failed {
        /// Whether the whole content (and its end mark) was sent.
        content_sent: bool,
        /// What ended the session (or why the message was not queued).
        error: SendError,
    },
}

/// What became of one message.
#[derive(Clone, Debug)]
pub struct MessageReport {
    /// The session's handle; `None` when the message was refused before being queued.
    pub message: Option<MessageId>,
    /// Each envelope recipient, in RCPT order.
    pub recipients: Vec<RecipientReport>,
    /// The outcome.
    pub outcome: Outcome,
}

impl MessageReport {
    /// Whether the server accepted the message (for at least one recipient).
    pub fn is_accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted { .. })
    }

    /// Whether the message was accepted for every recipient.
    pub fn is_fully_accepted(&self) -> bool {
        self.is_accepted() && self.recipients.iter().all(RecipientReport::is_accepted)
    }

    /// The recipients whose RCPT TO was refused.
    pub fn rejected_recipients(&self) -> impl Iterator<Item = &RecipientReport> {
        self.recipients
            .iter()
            .filter(|r| matches!(r.status, RecipientStatus::Rejected(_)))
    }

    /// The server's reply after the content: 2yz when accepted, the refusal when the content
    /// was refused.
    pub fn final_reply(&self) -> Option<&Reply> {
        match &self.outcome {
            Outcome::Accepted { reply, .. } => Some(reply),
            Outcome::Rejected(Rejection::Content(reply)) => Some(reply),
            _ => None,
        }
    }

    /// `Ok(self)` when accepted; [`SendError::Rejected`] when refused; the session's error when
    /// it failed. This is what [`crate::SmtpClient::send`] returns.
    pub fn into_result(self) -> Result<MessageReport, SendError> {
        match self.outcome {
            Outcome::Accepted { .. } => Ok(self),
            Outcome::Rejected(_) => Err(SendError::Rejected(Box::new(self))),
            Outcome::Failed { error, .. } => Err(error),
        }
    }

    pub(crate) fn rejection_reply(&self) -> Option<&Reply> {
        match &self.outcome {
            Outcome::Rejected(r) => r.reply(),
            _ => None,
        }
    }

    pub(crate) fn rejection_stage(&self) -> Option<Stage> {
        match &self.outcome {
            Outcome::Rejected(Rejection::Mail(_)) => Some(Stage::Mail),
            Outcome::Rejected(Rejection::NoValidRecipients(_)) => Some(Stage::Rcpt),
            Outcome::Rejected(Rejection::Data(_)) => Some(Stage::Data),
            Outcome::Rejected(Rejection::Content(_)) => Some(Stage::DataEnd),
            _ => None,
        }
    }

    /// Whether a refusal was temporary (4yz): for a refusal with no valid recipient, whether any
    /// recipient was refused with a 4yz.
    pub fn is_transient(&self) -> bool {
        match &self.outcome {
            Outcome::Rejected(Rejection::NoValidRecipients(_)) => self
                .recipients
                .iter()
                .filter_map(RecipientReport::reply)
                .any(Reply::is_transient),
            Outcome::Rejected(r) => r.is_transient(),
            Outcome::Failed { error, .. } => error.is_transient(),
            Outcome::Accepted { .. } => false,
        }
    }
}
