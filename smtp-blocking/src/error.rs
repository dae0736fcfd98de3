//! [`SendError`]: why an operation did not succeed, with the stage and the server's reply when
//! there is one.

use crate::report::MessageReport;
use smtp_proto::{Reply, Stage, UsageError};
use smtp_transport::{NonceError, TlsConfigError};
use std::fmt;
use std::io;
use std::sync::Arc;

/// Why connecting, sending or another operation failed.
///
/// Cheap to clone: I/O errors are shared behind an `Arc`, so the one error that ended a session
/// can be reported with every message it cut short.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The server's name did not resolve, or no address accepted a connection before the
    /// connect timeout. `source` is the last address's error.
    Connect {
        /// `host:port` as given.
        server: String,
        /// Why (the last attempt's error, or a resolution failure).
        source: Arc<io::Error>,
    },
    /// Reading from or writing to the connection failed (reset, write timeout, TLS record
    /// error) while the session was at `stage`.
    Io {
        /// What the session was waiting for.
        stage: Stage,
        /// The error.
        source: Arc<io::Error>,
    },
    /// The TLS configuration could not be built from [`crate::ClientOptions::tls`] and
    /// [`crate::ClientOptions::host`] (a CA or client certificate file unreadable or empty, an
    /// invalid server name, …): the caller's to fix. Nothing was sent; no connection was made.
    TlsConfig(TlsConfigError),
    /// The TLS handshake failed on the connection: certificate not trusted, name mismatch,
    /// alert from the server, connection lost, timeout.
    Tls(TlsError),
    /// The session ended with an error: a refusal it cannot go on after (greeting, EHLO,
    /// required STARTTLS, AUTH), a 421, a timeout naming the stage, a malformed reply, or the
    /// server closing the connection.
    Session(smtp_proto::Error),
    /// The call was refused by the session before anything was sent (the envelope needs an
    /// extension the server lacks, the message is over its SIZE, the session is closed, …).
    Usage(UsageError),
    /// The server refused the message (MAIL, every RCPT, DATA or the content). The report
    /// names each recipient's reply.
    Rejected(Box<MessageReport>),
    /// Reading the message body from the caller's reader failed. The connection was closed
    /// so that the server cannot take a truncated message.
    Body(Arc<io::Error>),
    /// No SCRAM nonce could be drawn: the operating system's random source failed. Nothing
    /// was sent; no connection was made.
    Nonce(NonceError),
    /// The session awaits nothing, yet the operation is unfinished. This is a bug in this crate
    /// or in `smtp-proto`; please report it.
    Stalled,
}

impl SendError {
    /// The stage of the conversation the error belongs to, when there is one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            SendError::Connect { .. } => Some(Stage::Greeting),
            SendError::Io { stage, .. } => Some(*stage),
            SendError::Tls(_) => Some(Stage::StartTls),
            SendError::Session(e) => e.stage(),
            SendError::Usage(_) | SendError::Stalled | SendError::Body(_) => None,
            SendError::TlsConfig(_) | SendError::Nonce(_) => None,
            SendError::Rejected(report) => report.rejection_stage(),
        }
    }

    /// The server's reply behind the error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            SendError::Session(e) => e.reply(),
            SendError::Rejected(report) => report.rejection_reply(),
            _ => None,
        }
    }

    /// Whether trying again later may work: a 4yz reply, a timeout, a lost connection.
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Connect { .. } | SendError::Io { .. } => true,
            SendError::Session(e) => e.is_transient(),
            SendError::Rejected(report) => report.is_transient(),
            SendError::Tls(TlsError::Io(_)) => true,
            _ => false,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect { server, source } => {
                write!(f, "cannot connect to {server}: {source}")
            }
            SendError::Io { stage, source } => {
                write!(
                    f,
                    "connection failed while waiting for the {stage} reply: {source}"
                )
            }
            SendError::TlsConfig(e) => write!(f, "TLS configuration: {e}"),
            SendError::Tls(e) => write!(f, "TLS: {e}"),
            SendError::Session(e) => e.fmt(f),
            SendError::Usage(e) => e.fmt(f),
            SendError::Rejected(report) => match (&report.outcome, report.rejection_reply()) {
                (crate::Outcome::Rejected(r), _) => {
                    write!(f, "message refused: {}", RejectionDisplay(r))
                }
                (_, Some(reply)) => write!(f, "message refused: {reply}"),
                _ => f.write_str("message refused"),
            },
            SendError::Body(e) => write!(f, "reading the message body failed: {e}"),
            SendError::Nonce(e) => e.fmt(f),
            SendError::Stalled => f.write_str("the session stalled (a bug: please report it)"),
        }
    }
}

struct RejectionDisplay<'a>(&'a smtp_proto::Rejection);

impl fmt::Display for RejectionDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use smtp_proto::Rejection;
        match self.0 {
            Rejection::Mail(r) => write!(f, "MAIL FROM rejected: {r}"),
            Rejection::NoValidRecipients(Some(r)) => write!(f, "no recipient accepted (last: {r})"),
            Rejection::NoValidRecipients(None) => f.write_str("no recipient accepted"),
            Rejection::Data(r) => write!(f, "DATA rejected: {r}"),
            Rejection::Content(r) => write!(f, "content rejected: {r}"),
            Rejection::Unsendable(e) => write!(f, "cannot be sent to this server: {e}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Connect { source, .. } | SendError::Io { source, .. } => Some(&**source),
            SendError::Body(source) => Some(&**source),
            SendError::TlsConfig(e) => Some(e),
            SendError::Tls(e) => Some(e),
            SendError::Session(e) => Some(e),
            SendError::Usage(e) => Some(e),
            SendError::Nonce(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UsageError> for SendError {
    fn from(e: UsageError) -> Self {
        SendError::Usage(e)
    }
}

impl From<smtp_proto::Error> for SendError {
    fn from(e: smtp_proto::Error) -> Self {
        SendError::Session(e)
    }
}

impl From<NonceError> for SendError {
    fn from(e: NonceError) -> Self {
        SendError::Nonce(e)
    }
}

impl From<TlsConfigError> for SendError {
    fn from(e: TlsConfigError) -> Self {
        SendError::TlsConfig(e)
    }
}

impl From<TlsError> for SendError {
    fn from(e: TlsError) -> Self {
        SendError::Tls(e)
    }
}

/// Why the TLS handshake on a connection failed. (A configuration that could not be built is
/// a [`SendError::TlsConfig`] instead, before any connection.)
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused to start or the handshake failed (certificate not trusted, name
    /// mismatch, no common protocol version, alert from the server, …).
    Rustls(rustls::Error),
    /// The connection failed or closed during the handshake.
    Io(Arc<io::Error>),
    /// The handshake did not complete before the deadline.
    HandshakeTimeout,
    /// The core asked for TLS on a session configured never to use it (`TlsPolicy::Never`
    /// without implicit TLS), so no configuration was built. A bug in this crate or in
    /// `smtp-proto`; please report it.
    Unconfigured,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Rustls(e) => write!(f, "handshake failed: {e}"),
            TlsError::Io(e) => write!(f, "connection failed during the handshake: {e}"),
            TlsError::HandshakeTimeout => f.write_str("handshake timed out"),
            TlsError::Unconfigured => {
                f.write_str("TLS requested on a session configured without it (a bug)")
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Io(source) => Some(&**source),
            TlsError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

impl TlsError {
    /// Sorts an I/O error from rustls into a protocol error or a connection failure.
    pub(crate) fn from_io(e: io::Error) -> TlsError {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return TlsError::Rustls(inner.clone());
        }
        TlsError::Io(Arc::new(e))
    }
}
