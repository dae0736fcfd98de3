//! What became of a message: [`MessageOutcome`], which the session emits exactly once for every
//! message it queued ([`crate::Event::MessageDone`]), complete: the envelope given back, every
//! recipient's replies, and one [`Verdict`].
//!
//! The judgements a sender needs are made here, once, for every adapter and command: whether the
//! message got through ([`MessageOutcome::is_accepted`]), and whether trying again later may help
//! ([`MessageOutcome::is_transient`]).

use crate::capability::Keyword;
use crate::command::CommandError;
use crate::envelope::{Envelope, MessageId};
use crate::error::{Error, Stage};
use crate::reply::Reply;
use alloc::vec::Vec;
use core::fmt;

/// What the server said about one recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientOutcome {
    /// The reply to its RCPT TO; `None` when it was never answered (MAIL refused, the message
    /// not sent, the session ended).
    pub rcpt: Option<Reply>,
    /// LMTP only: its own reply after the content (RFC 2033 4.2); `None` with SMTP, and for a
    /// recipient whose RCPT was refused.
    pub delivery: Option<Reply>,
}

impl RecipientOutcome {
    /// Whether the server took the message for this recipient: RCPT accepted and, with LMTP, the
    /// delivery reply positive too. With SMTP this says nothing of the message as a whole: see
    /// [`MessageOutcome::is_accepted`].
    pub fn is_accepted(&self) -> bool {
        self.rcpt
            .as_ref()
            .is_some_and(Reply::is_positive_completion)
            && self
                .delivery
                .as_ref()
                .is_none_or(Reply::is_positive_completion)
    }

    /// The reply that decided this recipient's fate: the LMTP delivery reply when there is one,
    /// else the RCPT reply.
    pub fn reply(&self) -> Option<&Reply> {
        self.delivery.as_ref().or(self.rcpt.as_ref())
    }

    /// Whether this recipient was refused with a 4yz (try again later).
    pub fn is_transient(&self) -> bool {
        self.reply().is_some_and(Reply::is_transient)
    }
}

/// Why the client itself did not send a message to this server (RFC 5321 leaves a client no
/// way to send it as asked). Decided before MAIL whenever the facts are known by then; if they
/// only show in the content (it grew past SIZE, an octet above 127 appeared), the message is
/// stopped without the server taking any of it (see [`Error::ContentAbandoned`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsendable {
    /// The message needs an extension the server does not advertise (SMTPUTF8 for a non-ASCII
    /// address, RFC 6531 3.4; 8BITMIME declared; DSN parameters; REQUIRETLS; …).
    ExtensionMissing(Keyword),
    /// The message is larger than the server's SIZE limit (RFC 1870 6.1): the declared size,
    /// the size counted from content given before MAIL, or the content counted as it streamed.
    TooLarge {
        /// The size, in octets (RFC 1870 6: CRLFs counted, stuffed dots and the end mark not).
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The content has octets above 127 and the server does not offer 8BITMIME, or the message
    /// was declared `BODY=7BIT` (RFC 6152 3, RFC 5321 2.4).
    EightBitContent,
    /// REQUIRETLS on a connection without TLS (RFC 8689 4.1).
    TlsRequired,
    /// The MAIL or RCPT line as it would be sent to this server does not encode (too long with
    /// the parameters this server needs, RFC 5321 4.5.3.1.4).
    Command {
        /// MAIL or RCPT.
        stage: Stage,
        /// Why.
        error: CommandError,
    },
}

impl fmt::Display for Unsendable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsendable::ExtensionMissing(keyword) => write!(
                f,
                "the message needs {}, which the server does not offer",
                keyword.name()
            ),
            Unsendable::TooLarge { size, limit } => write!(
                f,
                "message of {size} octets exceeds the server's SIZE limit of {limit}"
            ),
            Unsendable::EightBitContent => f.write_str(
                "the content has 8-bit octets and the server does not offer 8BITMIME \
                 (or BODY=7BIT was declared)",
            ),
            Unsendable::TlsRequired => f.write_str("REQUIRETLS needs a TLS connection"),
            Unsendable::Command { stage, error } => {
                write!(f, "the {stage} command cannot be sent: {error}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Unsendable {}

/// Why a message was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// MAIL FROM was refused.
    Mail(Reply),
    /// No recipient was accepted (every RCPT refused, RFC 5321 3.3): each recipient's reply is in
    /// [`MessageOutcome::recipients`].
    NoValidRecipients,
    /// DATA (or a BDAT chunk) was refused before the content was complete.
    Data(Reply),
    /// The reply after the content was a refusal (LMTP: every recipient's delivery was refused;
    /// this is the last refusal).
    Content(Reply),
    /// The client did not send it to this server.
    Unsendable(Unsendable),
}

impl Rejection {
    /// The server's reply that refused the message, when one did.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Rejection::Mail(r) | Rejection::Data(r) | Rejection::Content(r) => Some(r),
            Rejection::NoValidRecipients | Rejection::Unsendable(_) => None,
        }
    }

    /// The stage that refused it, when the server did.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Rejection::Mail(_) => Some(Stage::Mail),
            Rejection::NoValidRecipients => Some(Stage::Rcpt),
            Rejection::Data(_) => Some(Stage::Data),
            Rejection::Content(_) => Some(Stage::DataEnd),
            Rejection::Unsendable(_) => None,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Mail(r) => write!(f, "MAIL FROM refused: {r}"),
            Rejection::NoValidRecipients => f.write_str("no recipient accepted"),
            Rejection::Data(r) => write!(f, "DATA refused: {r}"),
            Rejection::Content(r) => write!(f, "content refused: {r}"),
            Rejection::Unsendable(u) => write!(f, "not sent: {u}"),
        }
    }
}

/// How a message ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The server took responsibility for the message for every recipient; `reply` is its reply
    /// after the content (LMTP: the last delivery reply).
    Accepted {
        /// The final reply (2yz).
        reply: Reply,
    },
    /// The server took the message for some recipients and refused the others (their replies
    /// are in [`MessageOutcome::recipients`]).
    PartiallyAccepted {
        /// The final reply (2yz).
        reply: Reply,
    },
    /// The message was not accepted.
    Rejected(Rejection),
    /// A probe ([`crate::Client::probe`]) went as far as it was asked: `mail` is the reply to
    /// MAIL FROM, each recipient's RCPT reply is in [`MessageOutcome::recipients`]. No content
    /// was sent; an RSET follows before any later transaction.
    Probed {
        /// The reply to MAIL FROM.
        mail: Reply,
    },
    /// The session ended before the outcome was known. With `content_sent`, the whole content
    /// and its end mark had gone out, so the server may have taken the message.
    Failed {
        /// What ended the session.
        error: Error,
        /// Whether the whole content (and its end mark) was handed out.
        content_sent: bool,
    },
}

/// How a message or a session ended, in the classes a sender acts on. The one mapping every
/// command of this project uses for its exit status and its reports, so that the same situation
/// never gets two answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// Accepted for every recipient.
    Delivered,
    /// Accepted for some recipients, refused for the others.
    Partial,
    /// Not delivered, and trying again later may work: a 4yz (421 included), a timeout, a lost
    /// connection.
    Temporary,
    /// Refused for good (5yz), or not sent because this server cannot take it as asked.
    Permanent,
    /// The server broke the protocol: a malformed, unexpected or unsolicited reply, bytes after
    /// STARTTLS's 220.
    Protocol,
    /// Authentication failed, or the TLS the policy requires was not had.
    Security,
    /// Ended on this side: the caller aborted, or a command could not be encoded (a bug).
    Local,
}

impl Class {
    /// A short name for reports: `delivered`, `partial`, `temporary`, `permanent`, `protocol`,
    /// `security`, `local`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Delivered => "delivered",
            Class::Partial => "partial",
            Class::Temporary => "temporary",
            Class::Permanent => "permanent",
            Class::Protocol => "protocol",
            Class::Security => "security",
            Class::Local => "local",
        }
    }

    /// The exit status a command gives for it, after BSD `sysexits.h`: 0, 79 (partial: outside
    /// sysexits' 64–78, so it collides with none), `EX_TEMPFAIL` 75, `EX_UNAVAILABLE` 69,
    /// `EX_PROTOCOL` 76, `EX_NOPERM` 77, `EX_SOFTWARE` 70.
    pub fn exit_status(self) -> u8 {
        match self {
            Class::Delivered => 0,
            Class::Partial => 79,
            Class::Temporary => 75,
            Class::Permanent => 69,
            Class::Protocol => 76,
            Class::Security => 77,
            Class::Local => 70,
        }
    }
}

/// What became of one message: emitted once per message in [`crate::Event::MessageDone`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageOutcome {
    /// The message.
    pub message: MessageId,
    /// Its envelope, given back (to retry it elsewhere without keeping a copy).
    pub envelope: Envelope,
    /// One per envelope recipient, in RCPT order.
    pub recipients: Vec<RecipientOutcome>,
    /// How it ended.
    pub verdict: Verdict,
    /// The reply to XFORWARD when the message had attributes the server took: the first
    /// refusal, else the last reply. A refusal does not stop the message (XFORWARD only says
    /// what the server's logs show); `None` when none was sent.
    pub xforward: Option<Reply>,
}

impl MessageOutcome {
    /// Whether the server took the message, for at least one recipient.
    pub fn is_accepted(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Accepted { .. } | Verdict::PartiallyAccepted { .. }
        )
    }

    /// Whether it was taken for every recipient.
    pub fn is_fully_accepted(&self) -> bool {
        matches!(self.verdict, Verdict::Accepted { .. })
    }

    /// Whether trying again later may get the message through where it did not: a refusal with
    /// a 4yz (for a message no recipient took: any recipient refused with a 4yz, since retrying
    /// may reach that one), or a session that failed in a way that may pass (a 421, a timeout,
    /// a lost connection). False for an accepted message, a 5yz refusal and a message the client
    /// would not send. This is the one judgement the adapters and commands use.
    pub fn is_transient(&self) -> bool {
        match &self.verdict {
            Verdict::Accepted { .. } | Verdict::PartiallyAccepted { .. } => false,
            Verdict::Probed { mail } => {
                mail.is_transient()
                    || (!self.recipients.iter().any(RecipientOutcome::is_accepted)
                        && self.recipients.iter().any(RecipientOutcome::is_transient))
            }
            Verdict::Rejected(Rejection::Unsendable(_)) => false,
            Verdict::Rejected(Rejection::NoValidRecipients) => {
                self.recipients.iter().any(RecipientOutcome::is_transient)
            }
            Verdict::Rejected(rejection) => {
                rejection.reply().is_some_and(Reply::is_transient)
                    || self
                        .recipients
                        .iter()
                        .any(|r| r.delivery.as_ref().is_some_and(Reply::is_transient))
            }
            Verdict::Failed { error, .. } => error.is_transient(),
        }
    }

    /// Its class: delivered, partial, temporary or permanent refusal, or the class of the
    /// error that ended the session first ([`Error::class`]).
    pub fn class(&self) -> Class {
        match &self.verdict {
            Verdict::Accepted { .. } => Class::Delivered,
            Verdict::Probed { mail } => self.probe_class(mail),
            Verdict::PartiallyAccepted { .. } => Class::Partial,
            Verdict::Failed { error, .. } => error.class(),
            Verdict::Rejected(_) if self.is_transient() => Class::Temporary,
            Verdict::Rejected(_) => Class::Permanent,
        }
    }

    /// A probe's class: as a message's would be with that MAIL and those RCPT replies (refused
    /// at MAIL, no recipient taken, some refused, all taken).
    fn probe_class(&self, mail: &Reply) -> Class {
        let transient = || {
            if self.is_transient() {
                Class::Temporary
            } else {
                Class::Permanent
            }
        };
        let answered: Vec<&RecipientOutcome> = self
            .recipients
            .iter()
            .filter(|r| r.rcpt.is_some())
            .collect();
        if !mail.is_positive_completion() {
            transient()
        } else if answered.is_empty() {
            Class::Delivered
        } else if !answered.iter().any(|r| r.is_accepted()) {
            transient()
        } else if answered.iter().all(|r| r.is_accepted()) {
            Class::Delivered
        } else {
            Class::Partial
        }
    }

    /// The server's reply after the content: 2yz when accepted, the refusal when the content
    /// was refused.
    pub fn final_reply(&self) -> Option<&Reply> {
        match &self.verdict {
            Verdict::Accepted { reply } | Verdict::PartiallyAccepted { reply } => Some(reply),
            Verdict::Rejected(Rejection::Content(reply)) => Some(reply),
            _ => None,
        }
    }

    /// The recipients whose RCPT (or LMTP delivery) was refused, with their index.
    pub fn refused_recipients(&self) -> impl Iterator<Item = (usize, &RecipientOutcome)> {
        self.recipients.iter().enumerate().filter(|(_, r)| {
            r.reply()
                .is_some_and(|reply| !reply.is_positive_completion())
        })
    }
}
