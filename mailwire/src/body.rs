//! Message content on the wire: dot-stuffing for DATA (RFC 5321 4.5.2) and line-end
//! normalisation for DATA and BDAT (RFC 5321 2.3.8, RFC 3030).
//!
//! Every line end leaves as CRLF: a bare LF or a bare CR in the input becomes CRLF, so the output
//! can never carry `\n.\n`, `\r.\r` or another end-of-data look-alike (the SMTP smuggling class,
//! CVE-2023-51764/51765/51766).
//!
//! # How it works
//!
//! One small state machine serves both encoders: at the start of a line, just after a
//! CR (so an LF here completes that CR's line end and is dropped), or in the middle of a line.
//! A CR is written as CRLF at once, so the output never lags the input and no byte is held back
//! between calls; a CR at the end of one chunk and an LF at the start of the next still make one
//! line end. Between those, the input is copied in runs: the bytes up to the next bare CR or LF
//! or dot at a line start leave as they are (CRLF included), found by a scan of neighbouring
//! byte pairs that the compiler vectorises (`mailwire_simd`, in the widest vectors the CPU has)
//! and copied by it in the same pass, so well-formed text is read once however short its lines
//! (a search for each line end costs a call per line).
//!
//! [`DataEncoder::encode_into`] consumes an input byte only once all of its output is written,
//! with one exception so that a one-byte buffer still makes progress: given a single byte of room
//! for a two-byte expansion (CRLF, or a stuffed `..`), it writes the first byte and owes the
//! second, which goes out first on the next call (any call, `finish` included).
//!
//! # Decisions
//!
//! - `finish` resets the byte count along with the rest of the state; read
//!   [`DataEncoder::bytes_out`] before finishing if it is wanted. The count is of wire bytes, so
//!   it includes the stuffed dots that RFC 1870 4 leaves out of the SIZE value: it is an upper
//!   bound for SIZE.
//! - [`unstuff`] follows RFC 5321 4.5.2 like a server: one leading dot is removed from any line
//!   that starts with one, whether or not a second dot follows. A CR at the very end of the wire
//!   bytes is reported as [`UnstuffError::MissingEnd`] (the input stops in a line end), any other
//!   CR or LF not in a CRLF pair as [`UnstuffError::BareLineEnd`].

use alloc::vec::Vec;
use core::fmt;
use mailwire_simd::Scanner;
use memchr::memchr2;

/// Where the encoder is in the current line (RFC 5321 2.3.8, 4.5.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum LineState {
    /// At the start of a line (and of the body): a `.` here must be doubled.
    #[default]
    Start,
    /// At the start of a line that a CR ended; that CR was already written as CRLF, so an LF
    /// here belongs to it and is dropped.
    AfterCr,
    /// Inside a line.
    Middle,
}

/// Line-end normalisation with optional dot-stuffing; the shared core of both encoders.
#[derive(Clone, Debug, Default)]
struct Normaliser {
    state: LineState,
    /// The second byte of a two-byte expansion that `encode_into` could not fit (only ever with
    /// a single byte of room); it is written before anything else.
    owed: Option<u8>,
    bytes_out: u64,
    /// Dots added by stuffing (counted when the input dot is consumed), so that the RFC 1870
    /// message size (which leaves them out) is `bytes_out - stuffed`.
    stuffed: u64,
}

impl Normaliser {
    fn encode(&mut self, input: &[u8], out: &mut Vec<u8>, stuff: bool) {
        // Exact for text without line ends; line ends and dots grow it further as needed.
        out.reserve(input.len() + usize::from(self.owed.is_some()));
        self.run(input, out, stuff);
    }

    /// The loop behind [`Normaliser::encode`]: specials one at a time, and between them runs
    /// of bytes that leave unchanged, found and copied to `out` by `mailwire_simd`'s fused
    /// scan.
    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, stuff: bool) {
        let before = out.len();
        let scanner = Scanner::new();
        if let Some(byte) = self.owed.take() {
            out.push(byte);
        }
        let mut rest = input;
        while let Some((&first, tail)) = rest.split_first() {
            if let Some((bytes, next)) = self.special(first, stuff) {
                out.extend_from_slice(bytes);
                self.count_stuffed(first, bytes);
                self.state = next;
                rest = tail;
                // CRLF together is the common case: its LF needs no output, take it now.
                if let (LineState::AfterCr, [b'\n', after @ ..]) = (next, rest) {
                    self.state = LineState::Start;
                    rest = after;
                }
                continue;
            }
            // An ordinary first byte: the run that leaves as it is, found and put in one pass.
            let mut run = scanner.copy_clean_prefix(rest, stuff, out);
            if run == 0 {
                // Cannot happen (an ordinary first byte is always part of its run), but a
                // byte taken as it is keeps the loop going whatever the scan says.
                out.extend_from_slice(rest.get(..1).unwrap_or_default());
                run = 1;
            }
            self.state = match rest.get(run - 1) {
                Some(b'\n') => LineState::Start,
                _ => LineState::Middle,
            };
            rest = rest.get(run..).unwrap_or_default();
        }
        self.bytes_out += (out.len() - before) as u64;
    }

    /// Counts a stuffed dot: a `.` whose output is two bytes.
    fn count_stuffed(&mut self, byte: u8, bytes: &[u8]) {
        if byte == b'.' && bytes.len() == 2 {
            self.stuffed += 1;
        }
    }

    /// The output and next state for a byte with a special meaning in the current state (a
    /// line end, or a dot at the start of a line when stuffing); `None` for an ordinary byte.
    fn special(&self, byte: u8, stuff: bool) -> Option<(&'static [u8], LineState)> {
        match byte {
            b'\n' if self.state == LineState::AfterCr => Some((b"", LineState::Start)),
            b'\n' => Some((b"\r\n", LineState::Start)),
            b'\r' => Some((b"\r\n", LineState::AfterCr)),
            b'.' if stuff && self.state != LineState::Middle => Some((b"..", LineState::Middle)),
            _ => None,
        }
    }

    fn encode_into(&mut self, input: &[u8], out: &mut [u8], stuff: bool) -> (usize, usize) {
        let mut read = 0;
        let mut written = 0;
        let scanner = Scanner::new();
        if let Some(byte) = self.owed {
            let Some(slot) = out.first_mut() else {
                return (0, 0);
            };
            *slot = byte;
            self.owed = None;
            written = 1;
        }
        while let Some(rest) = input.get(read..) {
            let Some(&first) = rest.first() else { break };
            let space = out.len() - written;
            if let Some((bytes, next)) = self.special(first, stuff) {
                // An input byte is consumed only with all of its output written, except that a
                // two-byte expansion is split when the caller offers a single byte of room (else
                // a one-byte buffer could never make progress): its second byte is owed, and
                // goes out before anything else.
                if let Some(dst) = out.get_mut(written..written + bytes.len()) {
                    dst.copy_from_slice(bytes);
                    written += bytes.len();
                } else if let (&[head, tail], 0, 1) = (bytes, written, space) {
                    if let Some(slot) = out.first_mut() {
                        *slot = head;
                    }
                    self.owed = Some(tail);
                    written = 1;
                } else {
                    break;
                }
                self.count_stuffed(first, bytes);
                self.state = next;
                read += 1;
                // CRLF in one go is the common case: its LF needs no output, take it now.
                if next == LineState::AfterCr && rest.get(1) == Some(&b'\n') {
                    self.state = LineState::Start;
                    read += 1;
                }
                continue;
            }
            // A run of bytes that leave as they are, found and copied in one pass; searched no
            // further than what fits, so that tiny output buffers do not make it quadratic.
            let run = match out.get_mut(written..) {
                Some(dst) => scanner.copy_clean_prefix_into(rest, stuff, dst),
                None => 0,
            };
            if run == 0 {
                break;
            }
            written += run;
            read += run;
            self.state = match rest.get(run.wrapping_sub(1)) {
                Some(b'\n') => LineState::Start,
                _ => LineState::Middle,
            };
        }
        self.bytes_out += written as u64;
        (read, written)
    }

    /// Content octets the end adds: the CRLF that closes an open last line (RFC 1870 6 counts
    /// it; the end mark it does not).
    fn end_octets(&self) -> u64 {
        if self.state == LineState::Middle {
            2
        } else {
            0
        }
    }

    /// Appends the owed byte (if any) and the trailer, and resets.
    fn finish(&mut self, out: &mut Vec<u8>, stuff: bool) {
        if let Some(byte) = self.owed {
            out.push(byte);
        }
        out.extend_from_slice(self.trailer(stuff));
        *self = Normaliser::default();
    }

    /// [`Normaliser::finish`] into a buffer, all or nothing.
    fn finish_into(&mut self, out: &mut [u8], stuff: bool) -> Option<usize> {
        let trailer = self.trailer(stuff);
        let (dst, len) = match self.owed {
            Some(byte) => {
                let (slot, dst) = out.split_first_mut()?;
                let dst = dst.get_mut(..trailer.len())?;
                *slot = byte;
                (dst, trailer.len() + 1)
            }
            None => (out.get_mut(..trailer.len())?, trailer.len()),
        };
        dst.copy_from_slice(trailer);
        *self = Normaliser::default();
        Some(len)
    }

    /// The bytes that end the content: CRLF if a line is open, then the end mark if stuffing.
    fn trailer(&self, stuff: bool) -> &'static [u8] {
        match (self.state == LineState::Middle, stuff) {
            (true, true) => b"\r\n.\r\n",
            (false, true) => b".\r\n",
            (true, false) => b"\r\n",
            (false, false) => b"",
        }
    }
}

/// Streaming DATA encoder: takes the body in chunks of any size and emits wire bytes in constant
/// memory (one byte of state: where we are in the current line end).
#[derive(Clone, Debug, Default)]
pub struct DataEncoder {
    inner: Normaliser,
}

impl DataEncoder {
    /// A new encoder at the start of the body.
    pub fn new() -> DataEncoder {
        DataEncoder::default()
    }

    /// Appends the wire form of `input` (line ends normalised, dot-stuffed) to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.inner.encode(input, out, true);
    }

    /// Appends the end of data: a CRLF if the body did not end with a line end, then `.` CRLF.
    /// The encoder is then reset for a new body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.inner.finish(out, true);
    }

    /// Like [`DataEncoder::encode`] into a caller-owned buffer: encodes as much of `input` as
    /// fits in `out`, returns `(consumed, written)`. Never allocates; call again with the rest.
    pub fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        self.inner.encode_into(input, out, true)
    }

    /// Like [`DataEncoder::finish`] into a caller-owned buffer; needs at most 5 bytes. Returns
    /// `Some(written)`, or `None` (nothing written, state unchanged) if `out` is too small.
    ///
    /// One exception to the 5: when [`DataEncoder::encode_into`] was given a single byte of room
    /// for a two-byte expansion, the second byte is still owed and finishing may need 6 bytes.
    /// Calling `encode_into` with an empty input and any room writes the owed byte.
    pub fn finish_into(&mut self, out: &mut [u8]) -> Option<usize> {
        self.inner.finish_into(out, true)
    }

    /// Wire bytes produced so far for this body (the SIZE the server will count, end mark
    /// excluded).
    pub fn bytes_out(&self) -> u64 {
        self.inner.bytes_out
    }

    /// The message size of RFC 1870 6 so far: the content octets written, CRLFs included, the
    /// dots added by stuffing left out ([`DataEncoder::bytes_out`] minus those dots). Reset by
    /// `finish`, like the byte count.
    pub fn message_size(&self) -> u64 {
        self.inner.bytes_out - self.inner.stuffed
    }

    /// The RFC 1870 6 size of the message if it ended now: [`DataEncoder::message_size`] plus
    /// the CRLF that `finish` adds to an open last line.
    pub fn final_size(&self) -> u64 {
        self.message_size() + self.inner.end_octets()
    }
}

/// Streaming BDAT content encoder (RFC 3030): line ends normalised to CRLF, no dot-stuffing; or,
/// for BINARYMIME, bytes passed through untouched.
#[derive(Clone, Debug, Default)]
pub struct BdatEncoder {
    binary: bool,
    inner: Normaliser,
}

impl BdatEncoder {
    /// `binary`: pass bytes through unchanged (BODY=BINARYMIME).
    pub fn new(binary: bool) -> BdatEncoder {
        BdatEncoder {
            binary,
            inner: Normaliser::default(),
        }
    }

    /// Appends the normalised form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.binary {
            // RFC 3030 3: BINARYMIME content is sent as is.
            out.extend_from_slice(input);
            self.inner.bytes_out += input.len() as u64;
        } else {
            self.inner.encode(input, out, false);
        }
    }

    /// Appends what the end of the content needs: a CRLF if the text did not end with a line end
    /// (nothing in binary mode). The encoder is then reset.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.binary {
            self.inner.finish(out, false);
        }
        *self = BdatEncoder::new(self.binary);
    }

    /// Like [`BdatEncoder::encode`] into a caller-owned buffer: encodes as much of `input` as
    /// fits in `out`, returns `(consumed, written)`. Never allocates; call again with the rest.
    /// As with [`DataEncoder::encode_into`], a single byte of room for a CRLF gets the CR, and
    /// the LF is owed to the next call.
    pub fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        if self.binary {
            let n = input.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), input.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.inner.bytes_out += n as u64;
            (n, n)
        } else {
            self.inner.encode_into(input, out, false)
        }
    }

    /// Like [`BdatEncoder::finish`] into a caller-owned buffer; needs at most 2 bytes (a CRLF
    /// for an open line, or the LF owed by `encode_into`). Returns `Some(written)` and resets, or `None` (nothing written, state
    /// unchanged) if `out` is too small.
    pub fn finish_into(&mut self, out: &mut [u8]) -> Option<usize> {
        let written = if self.binary {
            0
        } else {
            self.inner.finish_into(out, false)?
        };
        *self = BdatEncoder::new(self.binary);
        Some(written)
    }

    /// Wire bytes produced so far: the message size of RFC 1870 6 so far (BDAT has no
    /// stuffing).
    pub fn bytes_out(&self) -> u64 {
        self.inner.bytes_out
    }

    /// The RFC 1870 6 size of the content if it ended now: [`BdatEncoder::bytes_out`] plus the
    /// CRLF that `finish` adds to an open last line of text.
    pub fn final_size(&self) -> u64 {
        if self.binary {
            self.inner.bytes_out
        } else {
            self.inner.bytes_out + self.inner.end_octets()
        }
    }
}

/// Measures content before it is sent: its RFC 1870 6 size (what the server counts against
/// SIZE: line ends normalised to CRLF and counted, the CRLF that closes an open last line too,
/// stuffed dots and the end mark not) and whether it has an octet above 127 (RFC 6152). One pass,
/// in constant memory, no allocation: an adapter measures a file this way, then declares `SIZE=`
/// and `BODY=` for it.
///
/// ```
/// use mailwire::body::ContentMeter;
///
/// let mut meter = ContentMeter::new();
/// meter.update(b"Subject: caf\xc3\xa9\n\n.dot\n");
/// meter.update(b"end");
/// assert_eq!(meter.size(), 29); // 16 + 2 + 6 (one dot) + 5 ("end" and its closing CRLF)
/// assert!(meter.eight_bit());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ContentMeter {
    /// Octets so far with every line end counted as CRLF, except a CR that ends the input so
    /// far (counted as one octet until the next byte shows whether its LF follows).
    octets: u64,
    /// The last byte so far: whether the next byte's pair starts with a CR, and what the end
    /// adds.
    last: Option<u8>,
    eight_bit: bool,
}

impl ContentMeter {
    /// A meter at the start of the content.
    pub fn new() -> ContentMeter {
        ContentMeter::default()
    }

    /// Counts `input`, the next bytes of the content.
    ///
    /// The RFC 1870 size leaves stuffed dots out, so the meter need not find them: each byte is
    /// an octet, and each CR without its LF and each LF without its CR one more (2.3.8: each
    /// becomes CRLF on the wire). `mailwire_simd`'s tally counts those pairs in one pass that
    /// stops nowhere, and ORs the bytes for the 8-bit test (criterion `body_encode`, `measure`
    /// of 1 MiB of the bench's body in cache: 83 µs when the meter ran the DATA encoder's loop,
    /// stopping at every dot, and a second pass for `is_ascii`).
    pub fn update(&mut self, input: &[u8]) {
        let Some(&first) = input.first() else {
            return;
        };
        // The pair of the first byte with the one before it, which the tally leaves out.
        let first_bare = (self.last == Some(b'\r')) != (first == b'\n');
        let tally = Scanner::new().tally(input);
        self.octets += input.len() as u64 + u64::from(first_bare) + tally.bare_line_ends;
        self.eight_bit |= tally.eight_bit;
        self.last = input.last().copied();
    }

    /// The RFC 1870 6 size of the content so far, as if it ended now: a last CR becomes CRLF,
    /// and an open last line gets the CRLF that closes it.
    pub fn size(&self) -> u64 {
        let end = match self.last {
            None | Some(b'\n') => 0,
            Some(b'\r') => 1,
            Some(_) => 2,
        };
        self.octets + end
    }

    /// Whether an octet above 127 was seen.
    pub fn eight_bit(&self) -> bool {
        self.eight_bit
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

impl fmt::Display for UnstuffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UnstuffError::MissingEnd => f.write_str("no end-of-data mark (CRLF . CRLF)"),
            UnstuffError::BareLineEnd { at } => {
                write!(f, "bare CR or LF at offset {at} (RFC 5321 2.3.8)")
            }
            UnstuffError::TrailingBytes { at } => {
                write!(f, "bytes after the end-of-data mark at offset {at}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UnstuffError {}

/// Decodes DATA wire bytes (up to and including the `.` CRLF end mark) back into content, as a
/// server would: removes the end mark and one leading dot from each line. Strict: bare CR or LF
/// is an error. For tests, fuzzing and the demo server.
pub fn unstuff(wire: &[u8]) -> Result<Vec<u8>, UnstuffError> {
    let mut out = Vec::with_capacity(wire.len());
    let mut pos = 0;
    loop {
        let rest = wire.get(pos..).unwrap_or(&[]);
        let Some(k) = memchr2(b'\r', b'\n', rest) else {
            return Err(UnstuffError::MissingEnd);
        };
        let (line, end) = rest.split_at(k);
        match end {
            [b'\r', b'\n', ..] => {}
            [b'\r'] => return Err(UnstuffError::MissingEnd),
            _ => return Err(UnstuffError::BareLineEnd { at: pos + k }),
        }
        let next = pos + k + 2;
        if line == b"." {
            // RFC 5321 4.5.2: the end mark; nothing may follow it within this body.
            return if next < wire.len() {
                Err(UnstuffError::TrailingBytes { at: next })
            } else {
                Ok(out)
            };
        }
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
        pos = next;
    }
}
