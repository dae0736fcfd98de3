//! xtext (RFC 3461 4): `+XX` hex escapes for bytes outside `!`..`~`, `+` and `=`.
//!
//! Used for the DSN parameters `ENVID=` and `ORCPT=` (RFC 3461 4.2, 4.4).
//!
//! Decisions where the RFC leaves room:
//! - [`encode`] escapes exactly what RFC 3461 4 requires: every byte outside 33..=126, plus `+`
//!   and `=`. Everything else passes through, so the output is the shortest valid xtext.
//! - [`decode`] is strict: the hex digits after `+` must be upper case, as the `hexchar` rule of
//!   RFC 3461 4 says. A lower-case escape (`+2b`) is an [`XTextError::InvalidEscape`]: this module
//!   only ever reads back what an encoder wrote, and strictness keeps one spelling per value.
//!   A non-canonical escape of a byte that did not need one (`+41` for `A`) is accepted, since the
//!   grammar allows it.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `byte` is an `xchar` (RFC 3461 4): `!`..`~` except `+` and `=`.
fn is_xchar(byte: u8) -> bool {
    (33..=126).contains(&byte) && byte != b'+' && byte != b'='
}

/// Appends the xtext encoding of `input` to `out`.
pub fn encode(input: &[u8], out: &mut String) {
    out.reserve(input.len());
    for &byte in input {
        if is_xchar(byte) {
            out.push(char::from(byte));
        } else {
            out.push('+');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
        }
    }
}

/// The length of the xtext encoding of `input`, without building it.
pub fn encoded_len(input: &[u8]) -> usize {
    input.iter().map(|&b| if is_xchar(b) { 1 } else { 3 }).sum()
}

/// Why a string is not valid xtext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum XTextError {
    /// A byte outside `!`..`~`, or `=`, at this offset.
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// `+` not followed by two upper-case hex digits, at this offset.
    InvalidEscape {
        /// Offset of the `+`.
        at: usize,
    },
}

impl fmt::Display for XTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            XTextError::InvalidByte { byte, at } => {
                write!(f, "invalid xtext byte 0x{byte:02X} at offset {at}")
            }
            XTextError::InvalidEscape { at } => write!(
                f,
                "invalid xtext escape at offset {at}: '+' must be followed by two upper-case hex digits"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for XTextError {}

/// The value of an upper-case hex digit (RFC 3461 4 `hexchar`).
fn upper_hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes xtext.
pub fn decode(input: &str) -> Result<Vec<u8>, XTextError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'+' {
            let hi = bytes.get(i + 1).copied().and_then(upper_hex_value);
            let lo = bytes.get(i + 2).copied().and_then(upper_hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(XTextError::InvalidEscape { at: i }),
            }
            i += 3;
        } else if is_xchar(byte) {
            out.push(byte);
            i += 1;
        } else {
            return Err(XTextError::InvalidByte { byte, at: i });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3461 4: `+`, `=`, space and controls are escaped, upper-case hex.
    #[test]
    fn encode_escapes_plus_equals_and_non_graphic() {
        let mut s = String::new();
        encode(b"a+b=c d\r\n\x7f\xff~!", &mut s);
        assert_eq!(s, "a+2Bb+3Dc+20d+0D+0A+7F+FF~!");
        assert_eq!(encoded_len(b"a+b=c d\r\n\x7f\xff~!"), s.len());
    }

    /// RFC 3461 4: `hexchar` is `+` and two upper-case hex digits; anything else is refused.
    #[test]
    fn decode_is_strict() {
        assert_eq!(decode("a+2Bb+3D"), Ok(b"a+b=".to_vec()));
        assert_eq!(decode("+41"), Ok(b"A".to_vec()));
        assert_eq!(decode("+2b"), Err(XTextError::InvalidEscape { at: 0 }));
        assert_eq!(decode("ab+2"), Err(XTextError::InvalidEscape { at: 2 }));
        assert_eq!(decode("ab+"), Err(XTextError::InvalidEscape { at: 2 }));
        assert_eq!(
            decode("a=b"),
            Err(XTextError::InvalidByte { byte: b'=', at: 1 })
        );
        assert_eq!(
            decode("a b"),
            Err(XTextError::InvalidByte { byte: b' ', at: 1 })
        );
        assert_eq!(
            decode("a\r\n"),
            Err(XTextError::InvalidByte { byte: b'\r', at: 1 })
        );
        assert_eq!(
            decode("é"),
            Err(XTextError::InvalidByte { byte: 0xC3, at: 0 })
        );
        assert_eq!(decode(""), Ok(Vec::new()));
    }
}
