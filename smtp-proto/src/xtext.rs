//! xtext (RFC 3461 4): `+XX` hex escapes for bytes outside `!`..`~`, `+` and `=`.
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Appends the xtext encoding of `input` to `out`.
pub fn encode(input: &[u8], out: &mut String) {
    let _ = (input, out);
    todo!()
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
        let _ = f;
        todo!()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for XTextError {}

/// Decodes xtext.
pub fn decode(input: &str) -> Result<Vec<u8>, XTextError> {
    let _ = input;
    todo!()
}
