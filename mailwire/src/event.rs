//! What the session reports: past-tense facts carrying the handle they concern.

use crate::capability::Capabilities;
use crate::envelope::{CommandId, MessageId};
use crate::error::{Error, Stage};
use crate::outcome::MessageOutcome;
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
/// replaced by `<redacted>`, and so is any credential a server repeats; message content is
/// summarised, not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TranscriptLine {
    /// Sent or received.
    pub direction: Direction,
    /// The line (lossless bytes; may be non-UTF-8).
    pub line: Vec<u8>,
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
    /// [`crate::Client::write_body`] took less than it was offered for this message (the
    /// core held as much content as [`crate::Limits::body_buffer`] allows); it takes more now.
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
    /// A message's outcome, complete: exactly one for every message
    /// [`crate::Client::send_message`] queued, also when the session ends first.
    MessageDone(MessageOutcome),
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
