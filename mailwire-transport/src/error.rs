//! [`Error`]: why an adapter's operation could not give an outcome, by whose fault: the
//! caller's ([`Error::Usage`], [`Error::TlsConfig`], [`Error::Body`], [`Error::Cancelled`]), the
//! network's or the server's ([`Error::Connect`], [`Error::Session`] with its [`Transport`]
//! cause). A message the server refused is not an error: it is a [`mailwire::MessageOutcome`].
//!
//! One type for every adapter (`mailwire-blocking` and `mailwire-tokio` re-export it), so that
//! a caller, a command's exit status and a pool's retry rule read the same answer whichever
//! adapter ran the session.

use crate::{NonceError, TlsConfigError};
use mailwire::{Reply, Stage, UsageError};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Why connecting, sending or another operation failed.
///
/// Cheap to clone: I/O errors are shared behind an `Arc`, so the one error that ended a session
/// can be reported with every message it cut short.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server's name did not resolve, or no address accepted a connection before the
    /// connect timeout. `source` is the last address's error.
    Connect {
        /// `host:port` as given.
        server: String,
        /// Why (the last attempt's error, or a resolution failure).
        source: Arc<io::Error>,
    },
    /// The TLS configuration could not be built from [`crate::ClientOptions::tls`] and
    /// [`crate::ClientOptions::host`] (a CA or client certificate file unreadable or empty, an
    /// invalid server name, …): the caller's to fix. Nothing was sent; no connection was made.
    TlsConfig(TlsConfigError),
    /// No SCRAM nonce could be drawn: the operating system's random source failed. Nothing
    /// was sent; no connection was made.
    Nonce(NonceError),
    /// The call was refused before anything was sent: an invalid envelope or configuration, a
    /// message this server cannot take as asked (its capabilities known), the session closed
    /// by QUIT.
    Usage(UsageError),
    /// The session ended: a refusal it cannot go on after (greeting, EHLO, required STARTTLS,
    /// AUTH), a 421, a timeout, a malformed reply, the connection lost. `error` is the core's
    /// account, with the stage and the server's reply; `cause` is what failed underneath, when
    /// something did. With `content_sent` (for the message being sent), the whole content had
    /// gone out, so the server may have taken it.
    Session {
        /// What ended the session.
        error: mailwire::Error,
        /// The I/O or TLS failure underneath, if any (boxed: it is rarely there, and the error
        /// stays small).
        cause: Option<Box<Transport>>,
        /// Whether the message's whole content (and its end mark) had been sent.
        content_sent: bool,
    },
    /// Reading the message body from the caller's reader failed. The connection was closed
    /// so that the server cannot take a truncated message.
    Body(Arc<io::Error>),
    /// An earlier operation on this connection was cancelled before it completed (an async
    /// adapter's future dropped part-way: `mailwire-tokio`). The connection was shut down at
    /// once, so the server never received the end of a message cut short, and every later call
    /// gets this error. Blocking calls cannot be cancelled and never report it.
    Cancelled,
    /// A pool had no connection free within [`crate::PoolOptions::wait_timeout`]: every one was
    /// in use the whole time. Nothing was sent; trying again later may work.
    PoolTimeout {
        /// How long the send waited.
        waited: Duration,
    },
    /// The session awaits nothing, yet the operation is unfinished. This is a bug in this crate
    /// or in `mailwire`; please report it.
    Stalled,
}

/// What failed underneath a session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Transport {
    /// Reading from or writing to the connection failed (reset, broken pipe, TLS record error).
    Io(Arc<io::Error>),
    /// The TLS handshake failed: certificate not trusted, name mismatch, alert from the server,
    /// connection lost, timeout.
    Tls(TlsError),
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Io(e) => write!(f, "I/O: {e}"),
            Transport::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl Error {
    /// The stage of the conversation the error belongs to, when there is one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Connect { .. } => Some(Stage::Greeting),
            Error::Session { error, .. } => error.stage(),
            _ => None,
        }
    }

    /// The server's reply behind the error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Session { error, .. } => error.reply(),
            _ => None,
        }
    }

    /// Its class ([`mailwire::Class`]), the core's judgement as every command reports it: a
    /// connect that failed is temporary, a session error is what the core says it is, a message
    /// this server cannot take is permanent; the caller's own mistakes are local.
    pub fn class(&self) -> mailwire::Class {
        match self {
            Error::Connect { .. } | Error::PoolTimeout { .. } => mailwire::Class::Temporary,
            Error::Session { error, .. } => error.class(),
            Error::Usage(UsageError::Unsendable(_)) => mailwire::Class::Permanent,
            _ => mailwire::Class::Local,
        }
    }

    /// Whether trying again later may work: a failed connect, and what the core judges
    /// transient (a 4yz, a timeout, a lost connection; [`mailwire::Error::is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::PoolTimeout { .. } => true,
            Error::Session { error, .. } => error.is_transient(),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { server, source } => {
                write!(f, "cannot connect to {server}: {source}")
            }
            Error::TlsConfig(e) => write!(f, "TLS configuration: {e}"),
            Error::Nonce(e) => e.fmt(f),
            Error::Usage(e) => e.fmt(f),
            Error::Session { error, cause, .. } => match cause {
                Some(cause) => write!(f, "{error} ({cause})"),
                None => error.fmt(f),
            },
            Error::Body(e) => write!(f, "reading the message body failed: {e}"),
            Error::Cancelled => f.write_str(
                "an earlier operation was cancelled part-way, so the connection was closed",
            ),
            Error::PoolTimeout { waited } => write!(
                f,
                "no pooled connection became free in {} ms (all in use); nothing was sent",
                waited.as_millis()
            ),
            Error::Stalled => f.write_str("the session stalled (a bug: please report it)"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::Body(source) => Some(&**source),
            Error::TlsConfig(e) => Some(e),
            Error::Nonce(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Session {
                cause: Some(cause), ..
            } => match &**cause {
                Transport::Io(e) => Some(&**e),
                Transport::Tls(e) => Some(e),
            },
            Error::Session { error, .. } => Some(error),
            Error::Cancelled | Error::PoolTimeout { .. } | Error::Stalled => None,
        }
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

impl From<TlsConfigError> for Error {
    fn from(e: TlsConfigError) -> Self {
        Error::TlsConfig(e)
    }
}

impl From<NonceError> for Error {
    fn from(e: NonceError) -> Self {
        Error::Nonce(e)
    }
}

/// Why the TLS handshake failed on the connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the handshake (certificate not trusted, name mismatch, no common protocol
    /// version, alert from the server, …).
    Rustls(rustls::Error),
    /// The connection failed or closed during the handshake.
    Io(Arc<io::Error>),
    /// The handshake did not complete before the deadline.
    HandshakeTimeout,
    /// The session asked for TLS but none was configured (a bug: the configuration is built
    /// whenever the policy may use TLS).
    Unconfigured,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Rustls(e) => write!(f, "handshake failed: {e}"),
            TlsError::Io(e) => write!(f, "connection failed during the handshake: {e}"),
            TlsError::HandshakeTimeout => f.write_str("handshake timed out"),
            TlsError::Unconfigured => {
                f.write_str("TLS was asked for but not configured (a bug: please report it)")
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
    /// Sorts an I/O error from a handshake over rustls (its `Stream`, or tokio-rustls) into a
    /// protocol error ([`TlsError::Rustls`], which the adapter reports to the core with
    /// `handle_tls_failed`) or a connection failure ([`TlsError::Io`]: `handle_closed`).
    pub fn from_io(e: io::Error) -> TlsError {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return TlsError::Rustls(inner.clone());
        }
        TlsError::Io(Arc::new(e))
    }

    /// Tells the core how the handshake it asked for failed, as every adapter does: rustls
    /// refused it (`handle_tls_failed`: `TlsHandshakeFailed`), the connection failed under it
    /// (`handle_closed`: `ConnectionClosed`), or its deadline passed (`handle_timeout`). With
    /// implicit TLS the first two end the session as a closed connection at the greeting. The
    /// connection is closed in any case.
    pub fn report_to(&self, core: &mut mailwire::Client, now: mailwire::Timestamp) {
        match self {
            TlsError::Io(_) => {}
            TlsError::HandshakeTimeout => core.handle_timeout(now),
            _ => core.handle_tls_failed(now),
        }
        core.handle_closed(now);
    }
}
