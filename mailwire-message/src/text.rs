//! [`TextError`]: why a piece of text (a subject, a display name, a header, a file name, a
//! Content-ID, a MIME type) cannot go into a message, and the checks shared by every field.

use core::fmt;

/// Why a piece of text cannot go into a message. `at` is a byte offset into that text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// The text is empty where something is needed.
    Empty,
    /// A byte that may not appear here: CR, LF or NUL anywhere (they would end the header
    /// line: header injection), or a byte outside the field's grammar.
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the text.
        at: usize,
    },
    /// Longer than the field allows (a header line must fit in 998 octets, RFC 5322 2.1.1).
    TooLong {
        /// The length found, in octets.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// Not of the field's shape (a MIME type that is not `type/subtype`).
    Malformed {
        /// Where the shape breaks.
        at: usize,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TextError::Empty => f.write_str("empty"),
            TextError::InvalidByte { byte, at } => match byte {
                b'\r' => write!(f, "CR at offset {at}"),
                b'\n' => write!(f, "LF at offset {at}"),
                0 => write!(f, "NUL at offset {at}"),
                b if b.is_ascii_graphic() => {
                    write!(f, "invalid byte '{}' at offset {at}", char::from(b))
                }
                b => write!(f, "invalid byte 0x{b:02X} at offset {at}"),
            },
            TextError::TooLong { len, max } => {
                write!(f, "{len} octets, more than the {max} allowed")
            }
            TextError::Malformed { at } => write!(f, "malformed at offset {at}"),
        }
    }
}

impl std::error::Error for TextError {}

/// The longest line RFC 5322 2.1.1 allows, without its CRLF.
pub(crate) const MAX_LINE: usize = 998;

/// Refuses CR, LF and NUL: the bytes that would end a header line or are never allowed.
pub(crate) fn no_line_break(text: &str) -> Result<(), TextError> {
    match text
        .bytes()
        .enumerate()
        .find(|&(_, b)| matches!(b, b'\r' | b'\n' | 0))
    {
        Some((at, byte)) => Err(TextError::InvalidByte { byte, at }),
        None => Ok(()),
    }
}

/// Refuses the empty text and any byte for which `allowed` is false.
pub(crate) fn only(text: &str, allowed: impl Fn(u8) -> bool) -> Result<(), TextError> {
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    match text.bytes().enumerate().find(|&(_, b)| !allowed(b)) {
        Some((at, byte)) => Err(TextError::InvalidByte { byte, at }),
        None => Ok(()),
    }
}

/// Refuses text longer than `max` octets.
pub(crate) fn at_most(text: &str, max: usize) -> Result<(), TextError> {
    if text.len() > max {
        return Err(TextError::TooLong {
            len: text.len(),
            max,
        });
    }
    Ok(())
}

/// RFC 2045 5.1 `token` octets: printable ASCII except space and the tspecials.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// RFC 5322 3.2.3 `atext`, which with `.` and `@` makes an RFC 2392 Content-ID (`id-left@id-right`
/// as dot-atoms; the `@` is not required, as mail user agents do not require it).
pub(crate) fn is_content_id(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.@".contains(&b)
}
