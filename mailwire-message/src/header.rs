//! Extra header fields: [`HeaderError`] and the rules a field must meet.

use crate::text::{at_most, no_line_break, TextError, MAX_LINE};
use core::fmt;

/// Why an extra header field is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The field name is empty, or holds a byte other than printable ASCII without `:`
    /// (RFC 5322 2.2, 3.6.8).
    Name(TextError),
    /// The value holds a CR, LF or NUL (header injection), or a word too long to fold into a
    /// 998-octet line (RFC 5322 2.1.1).
    Value(TextError),
    /// A field the message writes itself from its typed parts (From, To, Cc, Bcc, Reply-To,
    /// Subject, MIME-Version, Content-*): set it through the builder instead.
    Reserved,
    /// A second Date or Message-ID (RFC 5322 3.6: at most one of each).
    Duplicate,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Name(e) => write!(
                f,
                "invalid field name ({e}): printable ASCII without ':' (RFC 5322 2.2)"
            ),
            HeaderError::Value(e) => write!(f, "invalid field value ({e})"),
            HeaderError::Reserved => {
                f.write_str("the message writes this field itself: use the builder's setter")
            }
            HeaderError::Duplicate => f.write_str("this field may appear only once"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Fields built from the typed parts of the message, which an extra header may not add to.
const RESERVED: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
];

/// Fields the message generates unless an extra header gives them.
pub(crate) const GENERATED: &[&str] = &["Date", "Message-ID"];

/// Checks an extra field: its name (RFC 5322 2.2: printable ASCII without `:`), not one the
/// message writes itself, and a value without CR, LF or NUL whose every word fits on a line
/// when it is written as given (`raw`; encoded words are folded by mail-builder).
pub(crate) fn check(name: &str, value: &str, raw: bool) -> Result<(), HeaderError> {
    if name.is_empty() {
        return Err(HeaderError::Name(TextError::Empty));
    }
    if let Some((at, byte)) = name
        .bytes()
        .enumerate()
        .find(|&(_, b)| !(33..=126).contains(&b) || b == b':')
    {
        return Err(HeaderError::Name(TextError::InvalidByte { byte, at }));
    }
    // "Name: " and one octet of value on a 998-octet line.
    at_most(name, MAX_LINE - 3).map_err(HeaderError::Name)?;
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HeaderError::Reserved);
    }
    no_line_break(value).map_err(HeaderError::Value)?;
    if !raw {
        return Ok(());
    }
    // mail-builder folds a value at its whitespace; a word it cannot break must fit on the
    // first line, after "Name: " (a continuation line has more room).
    let longest = value.split([' ', '\t']).map(str::len).max().unwrap_or(0);
    let room = MAX_LINE - (name.len() + 2);
    if longest > room {
        return Err(HeaderError::Value(TextError::TooLong {
            len: longest,
            max: room,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(check("X-Test", "yes", true), Ok(()));
        assert_eq!(
            check("Date", "Mon, 1 Jan 2024 00:00:00 +0000", true),
            Ok(())
        );
        assert_eq!(
            check("", "v", true),
            Err(HeaderError::Name(TextError::Empty))
        );
        assert_eq!(
            check("X Test", "v", true),
            Err(HeaderError::Name(TextError::InvalidByte {
                byte: b' ',
                at: 1
            }))
        );
        assert_eq!(
            check("X:Test", "v", true),
            Err(HeaderError::Name(TextError::InvalidByte {
                byte: b':',
                at: 1
            }))
        );
        assert_eq!(
            check("X-Ä", "v", true),
            Err(HeaderError::Name(TextError::InvalidByte {
                byte: 0xC3,
                at: 2
            }))
        );
        assert_eq!(
            check("bcc", "eve@example.net", true),
            Err(HeaderError::Reserved)
        );
        assert_eq!(
            check("CONTENT-TYPE", "text/html", true),
            Err(HeaderError::Reserved)
        );
        assert_eq!(
            check("X-A", "ok\r\nBcc: eve@example.net", true),
            Err(HeaderError::Value(TextError::InvalidByte {
                byte: b'\r',
                at: 2
            }))
        );
        assert_eq!(
            check("X-A", "ok\nRCPT TO:<eve@example.net>", true),
            Err(HeaderError::Value(TextError::InvalidByte {
                byte: b'\n',
                at: 2
            }))
        );
        assert_eq!(
            check("X-A", "a\0b", true),
            Err(HeaderError::Value(TextError::InvalidByte {
                byte: 0,
                at: 1
            }))
        );
        let word = "x".repeat(993);
        assert_eq!(check("X-A", &word, true), Ok(()));
        assert_eq!(
            check("X-A", &format!("{word}y"), true),
            Err(HeaderError::Value(TextError::TooLong {
                len: 994,
                max: 993
            }))
        );
        assert_eq!(check("X-A", &format!("{word} {word}"), true), Ok(()));
        assert!(matches!(
            check(&"X".repeat(996), "", true),
            Err(HeaderError::Name(TextError::TooLong { .. }))
        ));
    }
}
