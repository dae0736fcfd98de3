//! What `smtp-send` and `smtp-bulk` share, so that the same situation never gets two answers:
//! the exit statuses (the core's [`mailwire::Class`] of an outcome or a session error, and
//! the statuses of the command line itself) and how a secret is read from a file.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use mailwire::Secret;
use std::path::Path;

pub mod connect;
pub mod headers;
pub mod params;

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
