//! Message content on the wire: dot-stuffing for DATA (RFC 5321 4.5.2) and line-end
//! normalisation for DATA and BDAT (RFC 5321 2.3.8, RFC 3030).
//!
//! Every line end leaves as CRLF: a bare LF or a bare CR in the input becomes CRLF, so the output
//! can never carry `\n.\n`, `\r.\r` or another end-of-data look-alike (the SMTP smuggling class,
//! CVE-2023-51764/51765/51766).
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use alloc::vec::Vec;

/// Streaming DATA encoder: takes the body in chunks of any size and emits wire bytes in constant
/// memory (one byte of state: where we are in the current line end).
#[derive(Clone, Debug, Default)]
pub struct BodyEncoder {
    _todo: (),
}

impl BodyEncoder {
    /// A new encoder at the start of the body.
    pub fn new() -> BodyEncoder {
        BodyEncoder::default()
    }

    /// Appends the wire form of `input` (line ends normalised, dot-stuffed) to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }

    /// Appends the end of data: a CRLF if the body did not end with a line end, then `.` CRLF.
    /// The encoder is then reset for a new body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }

    /// Like [`BodyEncoder::encode`] into a caller-owned buffer: encodes as much of `input` as
    /// fits in `out`, returns `(consumed, written)`. Never allocates; call again with the rest.
    pub fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let _ = (input, out);
        todo!()
    }

    /// Like [`BodyEncoder::finish`] into a caller-owned buffer; needs at most 5 bytes. Returns
    /// `Some(written)`, or `None` (nothing written, state unchanged) if `out` is too small.
    pub fn finish_into(&mut self, out: &mut [u8]) -> Option<usize> {
        let _ = out;
        todo!()
    }

    /// Wire bytes produced so far for this body (the SIZE the server will count, end mark
    /// excluded).
    pub fn bytes_out(&self) -> u64 {
        todo!()
    }
}

/// Streaming BDAT content encoder (RFC 3030): line ends normalised to CRLF, no dot-stuffing; or,
/// for BINARYMIME, bytes passed through untouched.
#[derive(Clone, Debug, Default)]
pub struct ChunkEncoder {
    _todo: (),
}

impl ChunkEncoder {
    /// `binary`: pass bytes through unchanged (BODY=BINARYMIME).
    pub fn new(binary: bool) -> ChunkEncoder {
        let _ = binary;
        todo!()
    }

    /// Appends the normalised form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }

    /// Appends what the end of the content needs: a CRLF if the text did not end with a line end
    /// (nothing in binary mode). The encoder is then reset.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }

    /// Wire bytes produced so far.
    pub fn bytes_out(&self) -> u64 {
        todo!()
    }
}

/// Why DATA wire bytes could not be decoded by [`unstuff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnstuffError {
    /// No `CRLF.CRLF` end mark.
    MissingEnd,
    /// A bare CR or LF.
    BareLineEnd {
        /// Offset in the wire bytes.
        at: usize,
    },
    /// Bytes after the end mark.
    TrailingBytes {
        /// Offset of the first one.
        at: usize,
    },
}

/// Decodes DATA wire bytes (up to and including the `.` CRLF end mark) back into content, as a
/// server would: removes the end mark and one leading dot from each line. Strict: bare CR or LF
/// is an error. For tests, fuzzing and the demo server.
pub fn unstuff(wire: &[u8]) -> Result<Vec<u8>, UnstuffError> {
    let _ = wire;
    todo!()
}
