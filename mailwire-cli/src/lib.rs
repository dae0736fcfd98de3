//! What `smtp-send` and `smtp-bulk` (and `mailwire-tokio`'s `send` example) share, so that the
//! same situation never gets two answers: the exit statuses (the core's [`mailwire::Class`] of
//! an outcome or a session error, and the statuses of the command line itself, [`exit_status`]),
//! the connection options ([`connect::ConnectArgs`]), `--header` ([`headers::HeaderField`]) and how a
//! secret is read from a file.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use mailwire::{MessageOutcome, Secret, UsageError};
use mailwire_transport::{Error, TlsConfigError};
use std::path::Path;

pub mod certificates;
pub mod connect;
pub mod dkim;
pub mod headers;
pub mod jobs;
pub mod outcomes;
pub mod params;
pub mod progress;
pub mod signals;
pub mod xclient;

/// Exit statuses, after BSD `sysexits.h` where one fits. An outcome's status is its
/// [`mailwire::Class::exit_status`]; these are the ones around it.
pub mod exit {
    /// Sent to every recipient.
    pub const OK: u8 = 0;
    /// Usage: bad or conflicting options, a configuration that cannot work.
    pub const USAGE: u8 = 64;
    /// Bad input data: an invalid address, `--helo` name, header (CR, LF, NUL).
    pub const DATAERR: u8 = 65;
    /// An input file cannot be read.
    pub const NOINPUT: u8 = 66;
    /// Permanent refusal (5yz), or the message cannot be sent to this server.
    pub const UNAVAILABLE: u8 = 69;
    /// Internal error (a bug).
    pub const SOFTWARE: u8 = 70;
    /// The operating system failed (no randomness for the SCRAM nonce).
    pub const OSERR: u8 = 71;
    /// An output file cannot be created (`smtp-bulk --outcomes PATH`).
    pub const CANTCREAT: u8 = 73;
    /// Reading the message failed while sending.
    pub const IOERR: u8 = 74;
    /// Temporary failure: a 4yz, a timeout, a failed or lost connection.
    pub const TEMPFAIL: u8 = 75;
    /// The server broke the protocol.
    pub const PROTOCOL: u8 = 76;
    /// Authentication failed, or the TLS the policy requires was not had.
    pub const NOPERM: u8 = 77;
    /// Partial delivery (not in sysexits.h: 64–78, so it collides with none).
    pub const PARTIAL: u8 = 79;
}

/// The exit status of one message's result, from any adapter (`mailwire-blocking`,
/// `mailwire-tokio`: they share [`Error`]): the core's class of the outcome, or of the error
/// that ended the session ([`mailwire::Class::exit_status`], the mapping `smtp-bulk` reports
/// too); the command line's own statuses for what failed around it.
pub fn exit_status(result: &Result<MessageOutcome, Error>) -> u8 {
    match result {
        Ok(outcome) => outcome.class().exit_status(),
        Err(e) => error_status(e),
    }
}

/// The exit status of an error: [`exit_status`] without an outcome.
pub fn error_status(e: &Error) -> u8 {
    match e {
        Error::TlsConfig(TlsConfigError::InvalidServerName { .. }) => exit::USAGE,
        Error::TlsConfig(TlsConfigError::Rustls(_)) => exit::SOFTWARE,
        // A CA (or client certificate) file unreadable, not PEM, or without a certificate.
        Error::TlsConfig(_) => exit::NOINPUT,
        Error::Usage(UsageError::InvalidAddress(_) | UsageError::InvalidCommand(_)) => {
            exit::DATAERR
        }
        Error::Usage(UsageError::Config(_)) => exit::USAGE,
        Error::Usage(UsageError::Unsendable(_)) => mailwire::Class::Permanent.exit_status(),
        Error::Usage(_) => exit::SOFTWARE,
        Error::Body(_) => exit::IOERR,
        Error::Nonce(_) => exit::OSERR,
        Error::Stalled => exit::SOFTWARE,
        // Connect, Session, Cancelled: the core's judgement.
        other => other.class().exit_status(),
    }
}

/// Whether an envelope sender as given (`--from`, a job's `from`, a sidecar's) is the null
/// reverse-path of bounces and other notifications (RFC 5321 4.5.5, 6.1): `<>`, or nothing.
pub fn is_null_path(text: &str) -> bool {
    matches!(text, "" | "<>")
}

/// Why a secret file could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum SecretFileError {
    /// It could not be read.
    Unreadable(std::io::Error),
    /// It is not UTF-8.
    NotUtf8,
}

impl std::fmt::Display for SecretFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretFileError::Unreadable(e) => write!(f, "cannot be read: {e}"),
            SecretFileError::NotUtf8 => f.write_str("is not UTF-8"),
        }
    }
}

impl std::error::Error for SecretFileError {}

/// A password or token from a file: its content less one trailing LF or CRLF (an editor's final
/// line end), everything else kept as is, spaces and further lines included. Both commands read
/// `--auth-password-file` this way.
pub fn read_secret_file(path: &Path) -> Result<Secret<String>, SecretFileError> {
    let bytes = std::fs::read(path).map_err(SecretFileError::Unreadable)?;
    let mut text = String::from_utf8(bytes).map_err(|_| SecretFileError::NotUtf8)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Secret::new(text))
}
