//! The error families, by who is to blame: [`UsageError`] (the caller's: a refused call changes
//! nothing) with [`ConfigError`] (a configuration no session could use, refused by
//! [`crate::Client::new`]), and [`Error`] (what ended the session: the server, the network, or a
//! local decision; sticky). None ever holds a credential: reply texts are redacted by the session
//! before they reach an error.

use crate::address::AddressError;
use crate::command::CommandError;
use crate::envelope::MessageId;
use crate::outcome::Unsendable;
use crate::reply::Reply;
use crate::reply_parser::ReplyError;
use crate::sasl::{Mechanism, SaslError};
use core::fmt;

/// Where in the conversation something happened: the command whose reply was awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Waiting for the 220 greeting.
    Greeting,
    /// EHLO, HELO or LHLO.
    Hello,
    /// STARTTLS, or the TLS handshake after it.
    StartTls,
    /// AUTH and its challenges.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, waiting for 354.
    Data,
    /// After the end of data (`.`), waiting for the final reply.
    DataEnd,
    /// A BDAT chunk.
    Bdat,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// VRFY.
    Vrfy,
    /// EXPN.
    Expn,
    /// HELP.
    Help,
    /// XCLIENT (Postfix's `XCLIENT_README`).
    Xclient,
    /// ETRN (RFC 1985).
    Etrn,
    /// XFORWARD (Postfix's `XFORWARD_README`).
    Xforward,
    /// QUIT.
    Quit,
    /// Nothing was awaited.
    Idle,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Hello => "EHLO/HELO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::DataEnd => "end of data",
            Stage::Bdat => "BDAT",
            Stage::Rset => "RSET",
            Stage::Noop => "NOOP",
            Stage::Vrfy => "VRFY",
            Stage::Expn => "EXPN",
            Stage::Help => "HELP",
            Stage::Xclient => "XCLIENT",
            Stage::Etrn => "ETRN",
            Stage::Xforward => "XFORWARD",
            Stage::Quit => "QUIT",
            Stage::Idle => "idle",
        })
    }
}

/// What ended the session. Sticky: once the session has failed, it stays failed with this error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server's bytes are not a valid reply (RFC 5321 4.2).
    ReplySyntax {
        /// What was wrong.
        error: ReplyError,
        /// What was awaited.
        stage: Stage,
    },
    /// The greeting was not 220 (e.g. 554, RFC 5321 3.1).
    GreetingRejected(Reply),
    /// The server refused a command the session cannot go on without (EHLO and HELO, …).
    Rejected {
        /// Which command.
        stage: Stage,
        /// The server's reply.
        reply: Reply,
    },
    /// `421`: the server is closing the connection (RFC 5321 3.8).
    ServiceClosing {
        /// What was awaited when it came.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// A reply that makes no sense here (a 354 to RCPT, a 2yz to DATA, …).
    UnexpectedReply {
        /// What was awaited.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// A reply arrived when none was awaited.
    UnsolicitedReply(Reply),
    /// No complete reply before the stage's deadline (RFC 5321 4.5.3.2).
    Timeout {
        /// What was awaited.
        stage: Stage,
    },
    /// TLS is required but the server does not offer STARTTLS.
    TlsNotOffered,
    /// TLS is required and the server refused STARTTLS.
    TlsRejected(Reply),
    /// Bytes arrived after the 220 to STARTTLS and before TLS started: an injection attempt
    /// (CVE-2011-0411); they were not read as replies.
    BytesAfterStartTls,
    /// The server refused the credentials or the mechanism (534, 535, 454, 5yz to AUTH).
    AuthFailed(Reply),
    /// The client side of the SASL exchange failed (bad challenge, SCRAM server not verified).
    Sasl(SaslError),
    /// Credentials are configured but the server offers no mechanism we may use (none in common,
    /// or only plaintext ones on a connection that is not secure).
    NoUsableMechanism,
    /// The connection closed while a reply was awaited (or in the middle of one).
    ConnectionClosed {
        /// What was awaited.
        stage: Stage,
    },
    /// The caller ended the session ([`crate::Client::abort`]).
    LocallyAborted,
    /// The TLS handshake after STARTTLS failed ([`crate::Client::handle_tls_failed`]).
    TlsHandshakeFailed,
    /// A write made no progress for [`crate::Timeouts::data_block`]
    /// ([`crate::Client::handle_write_timeout`], RFC 5321 4.5.3.2.5).
    WriteTimeout {
        /// What the session was doing.
        stage: Stage,
    },
    /// A message's content had to stop part-way (it grew past the server's SIZE, or brought
    /// 8-bit octets the MAIL command did not declare): with DATA the only way to keep the server
    /// from taking a truncated message is to close the connection (RFC 5321 4.1.1.4 gives no way
    /// to cancel DATA). The message's own outcome says why.
    ContentAbandoned(MessageId),
    /// XCLIENT is configured ([`crate::Config::xclient`]) but the server does not offer it (not
    /// in its EHLO reply, or no longer, for the attributes still to send).
    XclientNotOffered,
    /// The server's XCLIENT keyword does not name this attribute, and
    /// [`crate::Xclient::check_offered`] is on: nothing of that command was sent.
    XclientAttributeNotOffered(alloc::string::String),
    /// A command the session built could not be encoded (a SASL response over RFC 4954's
    /// 12,288-octet line, …). Local: the configuration checks are meant to make it unreachable.
    CommandUnencodable {
        /// The command's stage.
        stage: Stage,
        /// Why.
        error: CommandError,
    },
}

impl Error {
    /// The stage, when the error has one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::ReplySyntax { stage, .. }
            | Error::Rejected { stage, .. }
            | Error::ServiceClosing { stage, .. }
            | Error::UnexpectedReply { stage, .. }
            | Error::Timeout { stage }
            | Error::WriteTimeout { stage }
            | Error::CommandUnencodable { stage, .. }
            | Error::ConnectionClosed { stage } => Some(*stage),
            Error::GreetingRejected(_) => Some(Stage::Greeting),
            Error::TlsNotOffered
            | Error::TlsRejected(_)
            | Error::BytesAfterStartTls
            | Error::TlsHandshakeFailed => Some(Stage::StartTls),
            Error::AuthFailed(_) | Error::Sasl(_) | Error::NoUsableMechanism => Some(Stage::Auth),
            Error::UnsolicitedReply(_) | Error::LocallyAborted => None,
            Error::ContentAbandoned(_) => Some(Stage::Data),
            Error::XclientNotOffered | Error::XclientAttributeNotOffered(_) => Some(Stage::Xclient),
        }
    }

    /// The server's reply behind the error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::GreetingRejected(r)
            | Error::TlsRejected(r)
            | Error::AuthFailed(r)
            | Error::UnsolicitedReply(r) => Some(r),
            Error::Rejected { reply, .. }
            | Error::ServiceClosing { reply, .. }
            | Error::UnexpectedReply { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// Whether trying again later may work: a 4yz reply, a timeout or a lost connection
    /// (EX_TEMPFAIL territory), as opposed to a permanent refusal or a protocol violation. A
    /// session closed to stop another message's content ([`Error::ContentAbandoned`]) is
    /// transient for the messages it cut short.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::ContentAbandoned(_) => true,
            Error::Timeout { .. } | Error::WriteTimeout { .. } | Error::ConnectionClosed { .. } => {
                true
            }
            Error::ServiceClosing { .. } => true,
            Error::GreetingRejected(r)
            | Error::Rejected { reply: r, .. }
            | Error::AuthFailed(r) => r.is_transient(),
            Error::TlsRejected(r) => r.is_transient(),
            _ => false,
        }
    }
}

impl Error {
    /// Its class ([`crate::outcome::Class`]): temporary when [`Error::is_transient`], else
    /// security (AUTH, SASL, required TLS), protocol (the server broke it), permanent (the
    /// server refused the session), or local.
    pub fn class(&self) -> crate::outcome::Class {
        use crate::outcome::Class;
        if self.is_transient() {
            return Class::Temporary;
        }
        match self {
            Error::TlsNotOffered
            | Error::TlsRejected(_)
            | Error::TlsHandshakeFailed
            | Error::AuthFailed(_)
            | Error::Sasl(_)
            | Error::NoUsableMechanism => Class::Security,
            Error::ReplySyntax { .. }
            | Error::UnexpectedReply { .. }
            | Error::UnsolicitedReply(_)
            | Error::BytesAfterStartTls => Class::Protocol,
            Error::GreetingRejected(_)
            | Error::Rejected { .. }
            | Error::XclientNotOffered
            | Error::XclientAttributeNotOffered(_) => Class::Permanent,
            _ => Class::Local,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReplySyntax { error, stage } => {
                write!(f, "malformed reply at {stage}: {error}")
            }
            Error::GreetingRejected(r) => write!(f, "server refused the session: {r}"),
            Error::Rejected { stage, reply } => write!(f, "{stage} rejected: {reply}"),
            Error::ServiceClosing { stage, reply } => {
                write!(f, "server closing the connection at {stage}: {reply}")
            }
            Error::UnexpectedReply { stage, reply } => {
                write!(f, "unexpected reply at {stage}: {reply}")
            }
            Error::UnsolicitedReply(r) => write!(f, "reply with no command pending: {r}"),
            Error::Timeout { stage } => write!(f, "timed out waiting for the {stage} reply"),
            Error::TlsNotOffered => {
                f.write_str("TLS required but the server does not offer STARTTLS")
            }
            Error::TlsRejected(r) => write!(f, "TLS required but STARTTLS was refused: {r}"),
            Error::BytesAfterStartTls => f.write_str(
                "server sent bytes after its STARTTLS 220 before TLS (injection attempt)",
            ),
            Error::AuthFailed(r) => write!(f, "authentication failed: {r}"),
            Error::Sasl(e) => write!(f, "authentication failed: {e}"),
            Error::NoUsableMechanism => {
                f.write_str("no authentication mechanism usable with this server and connection")
            }
            Error::ConnectionClosed { stage } => {
                write!(f, "connection closed while waiting for the {stage} reply")
            }
            Error::LocallyAborted => f.write_str("session aborted by the client"),
            Error::XclientNotOffered => {
                f.write_str("XCLIENT configured but the server does not offer it")
            }
            Error::XclientAttributeNotOffered(name) => {
                write!(f, "the server's XCLIENT does not take the attribute {name}")
            }
            Error::TlsHandshakeFailed => f.write_str("the TLS handshake after STARTTLS failed"),
            Error::WriteTimeout { stage } => {
                write!(f, "the server stopped reading (write timed out at {stage})")
            }
            Error::ContentAbandoned(message) => write!(
                f,
                "connection closed to stop the partial content of {message} from being taken"
            ),
            Error::CommandUnencodable { stage, error } => {
                write!(f, "the {stage} command could not be encoded: {error}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// The caller's misuse. A call refused with a `UsageError` changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The session has ended.
    Closed,
    /// QUIT was already queued.
    Quitting,
    /// An envelope with no recipient.
    NoRecipients,
    /// An address is not valid.
    InvalidAddress(AddressError),
    /// A command argument is not valid (CR, LF, NUL, too long, …).
    InvalidCommand(CommandError),
    /// The server's capabilities are known and the message cannot be sent to it as asked.
    Unsendable(Unsendable),
    /// No such message, or its body is already finished.
    UnknownMessage,
    /// Body bytes for a message while an earlier message's body is unfinished (bodies are
    /// written in the order messages were queued).
    BodyOutOfOrder,
    /// The configuration given to [`crate::Client::new`] cannot work.
    Config(ConfigError),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Closed => f.write_str("the session is closed"),
            UsageError::Quitting => f.write_str("QUIT is already queued"),
            UsageError::NoRecipients => f.write_str("the envelope has no recipient"),
            UsageError::InvalidAddress(e) => write!(f, "invalid address: {e}"),
            UsageError::InvalidCommand(e) => write!(f, "invalid command: {e}"),
            UsageError::Unsendable(e) => e.fmt(f),
            UsageError::UnknownMessage => f.write_str("no such message with an unfinished body"),
            UsageError::BodyOutOfOrder => {
                f.write_str("an earlier message's body is not finished yet")
            }
            UsageError::Config(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UsageError {}

impl From<AddressError> for UsageError {
    fn from(e: AddressError) -> Self {
        UsageError::InvalidAddress(e)
    }
}

impl From<CommandError> for UsageError {
    fn from(e: CommandError) -> Self {
        UsageError::InvalidCommand(e)
    }
}

impl From<Unsendable> for UsageError {
    fn from(e: Unsendable) -> Self {
        UsageError::Unsendable(e)
    }
}

impl From<ConfigError> for UsageError {
    fn from(e: ConfigError) -> Self {
        UsageError::Config(e)
    }
}

/// Why [`crate::Client::new`] refused a configuration: it is the caller's to fix, and no server
/// could change it, so it is refused when given rather than failing a session at AUTH time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No SASL mechanism the caller allows can carry these credentials (a password mechanism
    /// with a token, a mechanism this build does not support, SCRAM without a nonce, a NUL in a
    /// PLAIN password, …). `mechanism` is the first one tried and `reason` why it failed.
    NoMechanismForCredentials {
        /// The first mechanism tried.
        mechanism: Mechanism,
        /// Why it cannot be used.
        reason: SaslError,
    },
    /// A SCRAM nonce was given but is shorter than [`crate::sasl::SCRAM_MIN_NONCE_LEN`] bytes
    /// (RFC 5802 5.1 needs fresh, hard to guess randomness).
    NonceTooShort {
        /// Its length.
        len: usize,
    },
    /// The user name and secret together are too long for an AUTH response line (RFC 4954 4:
    /// 12,288 octets of base64).
    CredentialsTooLong,
    /// The PROXY protocol header asked for cannot be made (its two addresses are of two
    /// families): refused by the adapter as it connects, before anything is sent.
    ProxyHeader(crate::proxy::ProxyError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoMechanismForCredentials { mechanism, reason } => write!(
                f,
                "no allowed SASL mechanism can use these credentials ({mechanism}: {reason})"
            ),
            ConfigError::NonceTooShort { len } => write!(
                f,
                "the SCRAM nonce has {len} bytes; at least {} are needed",
                crate::sasl::SCRAM_MIN_NONCE_LEN
            ),
            ConfigError::CredentialsTooLong => {
                f.write_str("the credentials are too long for an AUTH response (RFC 4954 4)")
            }
            ConfigError::ProxyHeader(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}
