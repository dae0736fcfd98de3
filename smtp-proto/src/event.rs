//! What the session reports: past-tense facts carrying the handle they concern.

use crate::capability::Capabilities;
use crate::envelope::{CommandId, MessageId};
use crate::error::{Error, Stage, UsageError};
use crate::reply::Reply;
use crate::reply_parser::Deviations;
use crate::sasl::Mechanism;
use alloc::vec::Vec;

/// Which way a transcript line went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Sent,
    /// Server to client.
    Received,
}

/// One line of the conversation, without its line end. AUTH payloads (both directions) are
/// replaced by `<redacted>`; message content is summarised, not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptLine {
    /// Sent or received.
    pub direction: Direction,
    /// The line (lossless bytes; may be non-UTF-8).
    pub line: Vec<u8>,
}

/// Why a message was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// MAIL FROM was refused.
    Mail(Reply),
    /// No recipient was accepted (every RCPT refused); the last refusal is kept. RFC 5321 3.3.
    NoValidRecipients(Option<Reply>),
    /// DATA (or a BDAT chunk) was refused before the content was complete.
    Data(Reply),
    /// The reply after the content was a refusal.
    Content(Reply),
    /// The message could not be sent as asked with this server (missing extension, too large).
    Unsendable(UsageError),
}

impl Rejection {
    /// The server's reply, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Rejection::Mail(r) | Rejection::Data(r) | Rejection::Content(r) => Some(r),
            Rejection::NoValidRecipients(r) => r.as_ref(),
            Rejection::Unsendable(_) => None,
        }
    }

    /// Whether it was a 4yz (try again later).
    pub fn is_transient(&self) -> bool {
        self.reply().is_some_and(Reply::is_transient)
    }
}

/// Something that happened. Drain with [`crate::Client::poll_event`] after every input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's 220 greeting.
    GreetingReceived(Reply),
    /// The EHLO/LHLO reply was parsed (after STARTTLS: the new set). After HELO: empty.
    CapabilitiesChanged(Capabilities),
    /// The server said 220 to STARTTLS: start TLS on the connection now, then call
    /// [`crate::Client::handle_tls_established`]. Nothing is sent until then.
    TlsUpgradeRequested,
    /// STARTTLS was not done under an opportunistic policy (not offered, or refused with this
    /// reply): the session goes on in plaintext.
    TlsSkipped(Option<Reply>),
    /// AUTH succeeded.
    Authenticated(Mechanism),
    /// Greeting, EHLO, TLS and AUTH are done: messages flow from here.
    Ready,
    /// The parser tolerated a deviation from RFC 5321 in a reply.
    DeviationTolerated {
        /// What was tolerated.
        deviations: Deviations,
        /// The reply's stage.
        stage: Stage,
    },
    /// MAIL FROM was accepted.
    SenderAccepted {
        /// The message.
        message: MessageId,
        /// The reply.
        reply: Reply,
    },
    /// A RCPT TO was accepted.
    RecipientAccepted {
        /// The message.
        message: MessageId,
        /// Index into the envelope's recipients.
        index: usize,
        /// The reply.
        reply: Reply,
    },
    /// A RCPT TO was refused.
    RecipientRejected {
        /// The message.
        message: MessageId,
        /// Index into the envelope's recipients.
        index: usize,
        /// The reply.
        reply: Reply,
    },
    /// The server is ready for this message's content: body bytes written now go straight out
    /// instead of being held in memory.
    BodyWanted(MessageId),
    /// LMTP: the per-recipient reply after the end of data (RFC 2033 4.2).
    RecipientDelivered {
        /// The message.
        message: MessageId,
        /// Index into the envelope's recipients.
        index: usize,
        /// The reply (2yz delivered, else not).
        reply: Reply,
    },
    /// The server took responsibility for the message (for at least one recipient). `reply` is
    /// the reply after the content (LMTP: the last positive per-recipient reply).
    MessageAccepted {
        /// The message.
        message: MessageId,
        /// The final reply.
        reply: Reply,
        /// How many recipients the message was accepted for.
        recipients: usize,
    },
    /// The server refused the message.
    MessageRejected {
        /// The message.
        message: MessageId,
        /// Why.
        rejection: Rejection,
    },
    /// The session ended before the message's outcome was known. If `content_sent`, the server
    /// may have delivered it anyway.
    MessageFailed {
        /// The message.
        message: MessageId,
        /// Whether the whole content (and its end mark) was handed out before the failure.
        content_sent: bool,
    },
    /// The reply to a NOOP, VRFY, EXPN or HELP.
    ReplyReceived {
        /// The command.
        command: CommandId,
        /// The reply.
        reply: Reply,
    },
    /// A line sent or received (only with [`crate::Config::transcript`]).
    Transcript(TranscriptLine),
    /// The session is over: `Ok` after QUIT, else the error. Nothing is sent after this.
    Closed(Result<(), Error>),
}
