//! [`Error`]: why a message cannot be built, and [`Field`], the address field at fault.

use crate::address::AddressError;
use crate::header::HeaderError;
use crate::text::TextError;
use core::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// An address field of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The author (and the envelope's MAIL FROM).
    From,
    /// A primary recipient.
    To,
    /// A copy recipient.
    Cc,
    /// A blind copy recipient (envelope only).
    Bcc,
    /// Where replies go.
    ReplyTo,
}

impl Field {
    /// The header field's name.
    pub fn name(self) -> &'static str {
        match self {
            Field::From => "From",
            Field::To => "To",
            Field::Cc => "Cc",
            Field::Bcc => "Bcc",
            Field::ReplyTo => "Reply-To",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a message cannot be built. Every variant but [`Error::ReadFile`] is the caller's input
/// at fault; nothing was sent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// No From address (RFC 5322 3.6: From is required; it is also the envelope's MAIL FROM).
    NoFrom,
    /// No To, Cc or Bcc address: the message would go nowhere.
    NoRecipients,
    /// An address that is not valid.
    Address {
        /// The field it was given for.
        field: Field,
        /// The text given.
        input: String,
        /// What is wrong with it.
        error: AddressError,
    },
    /// The subject holds a CR, LF or NUL.
    Subject(TextError),
    /// An extra header field refused.
    Header {
        /// The field name given.
        name: String,
        /// What is wrong with it.
        error: HeaderError,
    },
    /// An attachment's file name is empty, holds a CR, LF or NUL, or is too long.
    FileName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        error: TextError,
    },
    /// A MIME type that is not `type/subtype` of RFC 2045 tokens.
    ContentType {
        /// The type given.
        input: String,
        /// What is wrong with it.
        error: TextError,
    },
    /// An inline part's Content-ID is empty, too long, or holds a byte other than RFC 5322
    /// `atext`, `.` and `@` (write it without the angle brackets).
    ContentId {
        /// The Content-ID given.
        cid: String,
        /// What is wrong with it.
        error: TextError,
    },
    /// Two inline parts with one Content-ID.
    DuplicateContentId {
        /// The Content-ID.
        cid: String,
    },
    /// An inline part, but no HTML body to show it in.
    InlineWithoutHtml {
        /// The inline part's Content-ID.
        cid: String,
    },
    /// A path to attach has no file name (it ends in `..`, or is a root).
    NoFileName {
        /// The path.
        path: PathBuf,
    },
    /// A file to attach could not be read.
    ReadFile {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoFrom => f.write_str("no From address"),
            Error::NoRecipients => f.write_str("no To, Cc or Bcc address"),
            Error::Address {
                field,
                input,
                error,
            } => write!(f, "invalid {field} address {input:?}: {error}"),
            Error::Subject(e) => write!(f, "invalid Subject: {e}"),
            Error::Header { name, error } => write!(f, "header field {name:?}: {error}"),
            Error::FileName { name, error } => write!(f, "invalid file name {name:?}: {error}"),
            Error::ContentType { input, error } => {
                write!(f, "invalid MIME type {input:?} (type/subtype): {error}")
            }
            Error::ContentId { cid, error } => write!(f, "invalid Content-ID {cid:?}: {error}"),
            Error::DuplicateContentId { cid } => {
                write!(f, "two inline parts with Content-ID {cid:?}")
            }
            Error::InlineWithoutHtml { cid } => {
                write!(f, "inline part {cid:?} but no HTML body to show it")
            }
            Error::NoFileName { path } => write!(f, "{} has no file name", path.display()),
            Error::ReadFile { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Address { error, .. } => Some(error),
            Error::Subject(e)
            | Error::FileName { error: e, .. }
            | Error::ContentType { error: e, .. }
            | Error::ContentId { error: e, .. } => Some(e),
            Error::Header { error, .. } => Some(error),
            Error::ReadFile { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
