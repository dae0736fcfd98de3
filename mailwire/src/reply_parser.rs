//! The incremental, bounded, resumable reply parser (RFC 5321 4.2, 4.5.3.1.5).
//!
//! [`ReplyParser::parse`] takes whatever bytes arrived and returns one reply as soon as its last
//! line is complete ([`Status::Complete`] with the bytes used), or [`Status::Partial`] when every
//! byte was consumed and buffered. Any split of the same stream gives the same replies and the
//! same errors.
//!
//! # How it works
//!
//! * Each line's first bytes (the code and the separator) are read one at a time; the rest of the
//!   line is searched with `memchr3` for LF, CR and NUL and copied straight into the reply being
//!   built. Every input byte is looked at once: nothing already searched is scanned again, so
//!   trickling input costs O(n) in total.
//! * The reply is built in an internal [`Reply`]; on completion the caller's `out` is cleared and
//!   swapped with it, so both buffers keep their capacity and steady-state parsing allocates
//!   nothing.
//! * Memory is bounded while a reply is incomplete: a line is refused as soon as its consumed
//!   bytes exceed `max_line_len` (the parser does not wait for a line end that may never come),
//!   the stored text as soon as it exceeds `max_reply_bytes`, and the reply as soon as a
//!   continuation line ends at `max_lines` lines (another line must follow).
//!
//! # Decisions
//!
//! * Line syntax (RFC 5321 4.2): three digits (first 2–5, second 0–5, third 0–9), then `-`
//!   (more lines follow), a space (last line), or the line end right away (`250\r\n` is a valid
//!   last line with empty text; `250 \r\n`, as Postfix's smtp-sink ends its EHLO reply, too).
//!   With `allow_missing_space`, any other fourth byte starts the text of a last line
//!   (`250OK` → text `OK`) and [`Deviations::missing_space`] is set; otherwise it is
//!   [`ReplyError::InvalidSeparator`] (a NUL there too: the separator rule is checked first).
//! * Line ends: CRLF. A bare LF ends the line iff `allow_bare_lf` (reported in
//!   [`Deviations::bare_lf`]), else [`ReplyError::BareLineEnd`].
//! * A CR not followed by LF: [`ReplyError::BareLineEnd`] when `allow_bare_lf` is off; with
//!   `allow_bare_lf` on it is kept as a text byte and also reported in [`Deviations::bare_lf`]
//!   (the flag means "a bare line-end character was seen"). It never ends a line: treating a
//!   lone CR as a line end would let the text of one line forge the start of another.
//! * A NUL anywhere in a line is [`ReplyError::Nul`] (in every profile: no real server needs it
//!   and it truncates text in C consumers of our logs).
//! * Text is kept as bytes. Non-UTF-8 text is accepted unchanged in every profile; it is the
//!   reader's job to decode it (see [`Reply::text_lossy`]). Nothing here ever panics on it.
//! * Lengths: a line's length counts its code, separator and line end. A line longer than
//!   RFC 5321 4.5.3.1.5's 512 octets but within `max_line_len` sets [`Deviations::long_line`].
//!   `max_reply_bytes` counts stored text bytes only (codes, separators and line ends are not
//!   stored).
//! * When two limits are crossed by the same chunk, the error is the one a byte-by-byte feed would
//!   hit first (ties go to [`ReplyError::LineTooLong`]), so the error does not depend on the split.
//! * Continuation codes: a line whose code differs from the first line's is
//!   [`ReplyError::MismatchedCode`] unless `allow_mismatched_continuation`, in which case the
//!   first line's code wins and [`Deviations::mismatched_continuation`] is set.
//! * The enhanced status code (RFC 3463, RFC 2034) comes from the start of the first line when
//!   its class equals the reply code's first digit; the text keeps it.
//! * Errors are sticky: after one, every later call returns it and consumes nothing. On
//!   [`Status::Partial`] and on errors, `out` is left untouched.

use crate::reply::{Code, Reply};
use core::fmt;

/// Limits and leniency of the reply parser. Every limit is enforced with a typed [`ReplyError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParserConfig {
    /// Longest accepted line, code and line end included (RFC 5321 4.5.3.1.5 says 512; real
    /// servers exceed it). Default 4096.
    pub max_line_len: usize,
    /// Most lines in one reply. Default 512.
    pub max_lines: usize,
    /// Most text bytes buffered for one reply. Default 64 KiB.
    pub max_reply_bytes: usize,
    /// Accept a bare LF as a line end. Default true (real servers send it); reported in
    /// [`Deviations::bare_lf`].
    pub allow_bare_lf: bool,
    /// Accept a line that has text right after the code with no space (`250OK`). Default false.
    pub allow_missing_space: bool,
    /// Accept continuation lines whose code differs from the first line's (the first code wins).
    /// Default false.
    pub allow_mismatched_continuation: bool,
}

impl ParserConfig {
    /// The strict profile: CRLF only, 512-octet lines, matching continuation codes.
    pub const STRICT: ParserConfig = ParserConfig {
        max_line_len: 512,
        max_lines: 512,
        max_reply_bytes: 64 * 1024,
        allow_bare_lf: false,
        allow_missing_space: false,
        allow_mismatched_continuation: false,
    };
    /// The lenient profile: bare LF, missing space and mismatched continuation codes tolerated
    /// (and reported).
    pub const LENIENT: ParserConfig = ParserConfig {
        max_line_len: 4096,
        max_lines: 512,
        max_reply_bytes: 64 * 1024,
        allow_bare_lf: true,
        allow_missing_space: true,
        allow_mismatched_continuation: true,
    };
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            max_line_len: 4096,
            max_lines: 512,
            max_reply_bytes: 64 * 1024,
            allow_bare_lf: true,
            allow_missing_space: false,
            allow_mismatched_continuation: false,
        }
    }
}

/// Deviations from RFC 5321 that the parser tolerated in one reply (so a caller can see what its
/// server does wrong instead of failing or hiding it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deviations {
    /// A line ended in a bare LF.
    pub bare_lf: bool,
    /// A line had text right after the code, without a space.
    pub missing_space: bool,
    /// A continuation line's code differed from the first line's.
    pub mismatched_continuation: bool,
    /// A line was longer than RFC 5321's 512 octets (but within `max_line_len`).
    pub long_line: bool,
}

impl Deviations {
    /// True when nothing was tolerated.
    pub fn is_empty(&self) -> bool {
        *self == Deviations::default()
    }
}

/// Why the server's bytes are not a valid reply. Each names what went wrong; `line` is the
/// 0-based line within the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// The line does not start with three digits forming a valid code (first 2–5, second 0–5).
    InvalidCode {
        /// Line within the reply.
        line: usize,
    },
    /// The fourth byte is neither space, `-`, nor the line end.
    InvalidSeparator {
        /// Line within the reply.
        line: usize,
        /// The byte found.
        byte: u8,
    },
    /// A continuation line's code differs from the first line's.
    MismatchedCode {
        /// Line within the reply.
        line: usize,
        /// The first line's code.
        expected: u16,
        /// This line's code (0 if it was not a valid code).
        found: u16,
    },
    /// A line ended in a bare LF (or had a CR not followed by LF) and bare LF is not allowed.
    BareLineEnd {
        /// Line within the reply.
        line: usize,
    },
    /// A NUL byte in a reply line.
    Nul {
        /// Line within the reply.
        line: usize,
    },
    /// A line exceeds `max_line_len`.
    LineTooLong {
        /// Line within the reply.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// The reply has more than `max_lines` lines.
    TooManyLines {
        /// The limit.
        limit: usize,
    },
    /// The reply's text exceeds `max_reply_bytes`.
    ReplyTooLong {
        /// The limit.
        limit: usize,
    },
}

/// RFC 5321 4.5.3.1.5's line limit, code and CRLF included.
const RFC_MAX_LINE: usize = 512;

/// Prints what went wrong and where; lines are counted from 1 for people (the `line` fields are
/// 0-based).
impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReplyError::InvalidCode { line } => write!(
                f,
                "reply line {} does not start with a valid three-digit reply code",
                line + 1
            ),
            ReplyError::InvalidSeparator { line, byte } => write!(
                f,
                "reply line {}: byte 0x{:02x} after the reply code is neither space, '-' nor the line end",
                line + 1,
                byte
            ),
            ReplyError::MismatchedCode { line, expected, found } => write!(
                f,
                "reply line {} has code {} but the reply started with code {}",
                line + 1,
                found,
                expected
            ),
            ReplyError::BareLineEnd { line } => write!(
                f,
                "reply line {} has a bare CR or LF instead of CRLF",
                line + 1
            ),
            ReplyError::Nul { line } => write!(f, "reply line {} contains a NUL byte", line + 1),
            ReplyError::LineTooLong { line, limit } => write!(
                f,
                "reply line {} is longer than the limit of {} bytes",
                line + 1,
                limit
            ),
            ReplyError::TooManyLines { limit } => {
                write!(f, "reply has more than the limit of {} lines", limit)
            }
            ReplyError::ReplyTooLong { limit } => {
                write!(f, "reply text is longer than the limit of {} bytes", limit)
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReplyError {}

/// The first CR, LF or NUL in `bytes`. Most reply lines are short, where `memchr3`'s vector
/// setup costs more than the search (measured with callgrind: ~170 instructions for a 14-byte
/// line), so the first 64 bytes are scanned eight at a time with word arithmetic (SWAR), and
/// only a longer line goes to `memchr3`.
fn find_line_byte(bytes: &[u8]) -> Option<usize> {
    const SWAR_LIMIT: usize = 64;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // The lowest set bit marks the first zero byte of `v` exactly (bits above it may be false
    // positives, which cannot come before the first real match).
    fn zero_bytes(v: u64) -> u64 {
        v.wrapping_sub(LO) & !v & HI
    }
    let mut i = 0;
    while i < SWAR_LIMIT {
        let Some(Ok(chunk)) = bytes.get(i..i + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        let w = u64::from_le_bytes(chunk);
        let hits = zero_bytes(w ^ (LO * u64::from(b'\r')))
            | zero_bytes(w ^ (LO * u64::from(b'\n')))
            | zero_bytes(w);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = bytes.get(i..)?;
    if i >= SWAR_LIMIT {
        return memchr::memchr3(b'\r', b'\n', 0, rest).map(|j| i + j);
    }
    rest.iter()
        .position(|&b| b == b'\r' || b == b'\n' || b == 0)
        .map(|j| i + j)
}

#[cfg(test)]
#[test]
fn find_line_byte_matches_a_plain_scan() {
    let plain = |b: &[u8]| b.iter().position(|&x| x == b'\r' || x == b'\n' || x == 0);
    let mut buf = [b'a'; 200];
    assert_eq!(find_line_byte(&buf), None);
    for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 100, 200] {
        for at in 0..len {
            for byte in [b'\r', b'\n', 0, 0x8d, 0x0b, 0xff] {
                buf = [b'a'; 200];
                buf[at] = byte;
                assert_eq!(
                    find_line_byte(&buf[..len]),
                    plain(&buf[..len]),
                    "len {len} at {at} byte {byte}"
                );
            }
        }
    }
}

/// The result of one [`ReplyParser::parse`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A reply is complete and was written to the output `Reply`; `consumed` bytes of the input
    /// were used, the rest is for the next call.
    Complete {
        /// Bytes of the input used.
        consumed: usize,
    },
    /// All the input was consumed and buffered; no reply is complete yet. Not an error.
    Partial,
}

/// Where the parser is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading the code: `digits` of the three read so far, their value in `value`.
    Code { digits: u8, value: u16 },
    /// In the text; `last` when this is the reply's last line.
    Text { last: bool },
}

impl Phase {
    const START: Phase = Phase::Code {
        digits: 0,
        value: 0,
    };
}

/// An incremental reply parser. Feed it any split of the server's bytes; it returns each reply as
/// soon as its last line is complete, holds at most one incomplete reply, never rescans bytes it
/// has already searched, and does not allocate in steady state when the output `Reply` is reused.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    config: ParserConfig,
    /// The reply being built; swapped with the caller's on completion.
    building: Reply,
    phase: Phase,
    /// Bytes of the current line consumed so far (code, separator, text and line end).
    line_len: usize,
    /// The last byte consumed was a CR whose successor has not arrived yet.
    pending_cr: bool,
    /// Wire bytes of the incomplete reply consumed so far.
    wire_len: usize,
    /// Deviations in the reply being built.
    current: Deviations,
    /// Deviations in the reply returned last.
    last: Deviations,
    /// Sticky error.
    error: Option<ReplyError>,
}

impl ReplyParser {
    /// A parser with the given limits.
    pub fn new(config: ParserConfig) -> ReplyParser {
        ReplyParser {
            config,
            building: Reply::default(),
            phase: Phase::START,
            line_len: 0,
            pending_cr: false,
            wire_len: 0,
            current: Deviations::default(),
            last: Deviations::default(),
            error: None,
        }
    }

    /// The parser's configuration.
    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Consumes bytes from `input` until one reply is complete (written into `out`, which is
    /// cleared first, and its deviations into [`ReplyParser::deviations`]) or `input` is used up.
    ///
    /// After an error the parser is poisoned: it returns the same error on every later call.
    pub fn parse(&mut self, input: &[u8], out: &mut Reply) -> Result<Status, ReplyError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut pos = 0;
        let result = self.run(input, &mut pos);
        // Every byte up to `pos` belongs to the reply (complete or not).
        self.wire_len += pos;
        match result {
            Ok(true) => {
                self.finish(out);
                Ok(Status::Complete { consumed: pos })
            }
            Ok(false) => Ok(Status::Partial),
            Err(error) => {
                self.error = Some(error);
                Err(error)
            }
        }
    }

    /// What the parser tolerated in the reply it returned last.
    pub fn deviations(&self) -> Deviations {
        self.last
    }

    /// True when bytes of an incomplete reply are buffered (a connection closed now cut a reply).
    pub fn has_partial(&self) -> bool {
        self.wire_len > 0
    }

    /// Bytes currently buffered for the incomplete reply: the wire bytes consumed since it began
    /// (codes, separators and line ends included, although only the text is stored). At most
    /// `max_reply_bytes + 6 * max(max_lines, 1)`: stored text is capped by the former, and each
    /// line adds at most a code, a separator and CRLF.
    pub fn buffered(&self) -> usize {
        self.wire_len
    }

    /// The index of the current line within the reply.
    fn line_index(&self) -> usize {
        self.building.line_ends.len()
    }

    /// Moves the finished reply into `out` and resets for the next one.
    fn finish(&mut self, out: &mut Reply) {
        self.building.set_enhanced_from_first_line();
        out.clear();
        core::mem::swap(out, &mut self.building);
        self.last = self.current;
        self.current = Deviations::default();
        self.wire_len = 0;
    }

    /// Consumes bytes of `input` from `*pos`; `Ok(true)` when a reply completed.
    fn run(&mut self, input: &[u8], pos: &mut usize) -> Result<bool, ReplyError> {
        loop {
            if self.phase == Phase::START {
                if let Some(last) = self.whole_line(input, pos)? {
                    if self.end_line(last)? {
                        return Ok(true);
                    }
                    continue;
                }
            }
            match self.phase {
                Phase::Code { digits, value } => {
                    let Some(&byte) = input.get(*pos) else {
                        return Ok(false);
                    };
                    if digits < 3 {
                        *pos += 1;
                        self.count_line_bytes(1)?;
                        self.phase = self.code_digit(digits, value, byte)?;
                    } else {
                        self.separator(byte, pos)?;
                    }
                }
                Phase::Text { last } => {
                    if self.text(input, pos)? {
                        if self.end_line(last)? {
                            return Ok(true);
                        }
                    } else {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// The fast path for the common case: a whole, well-formed `NNN-text` or `NNN text` line
    /// ending in CRLF is in the input, with no CR or NUL inside and within the limits. It is
    /// taken in one scan and one copy; anything else (a partial line, a bare LF, a code that
    /// differs from the first line's, an over-long line) returns `Ok(None)` with nothing consumed,
    /// and the byte-by-byte path below handles it, errors and deviations included.
    fn whole_line(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<bool>, ReplyError> {
        let rest = input.get(*pos..).unwrap_or_default();
        // One scan: the first CR, LF or NUL must be the CR of the line's CRLF.
        let Some(cr) = find_line_byte(rest) else {
            return Ok(None);
        };
        let lf = cr + 1;
        if cr < 4
            || rest[cr] != b'\r'
            || rest.get(lf) != Some(&b'\n')
            || lf + 1 > self.config.max_line_len
        {
            return Ok(None);
        }
        let (d0, d1, d2, sep) = (rest[0], rest[1], rest[2], rest[3]);
        if !((b'2'..=b'5').contains(&d0)
            && (b'0'..=b'5').contains(&d1)
            && d2.is_ascii_digit()
            && (sep == b' ' || sep == b'-'))
        {
            return Ok(None);
        }
        let text = &rest[4..cr];
        if self.building.text.len() + text.len() > self.config.max_reply_bytes {
            return Ok(None);
        }
        let value = u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0');
        match self.building.code {
            None => self.building.code = Code::new(value),
            Some(first) if first.get() != value => return Ok(None),
            Some(_) => {}
        }
        self.building.text.extend_from_slice(text);
        self.line_len = lf + 1;
        *pos += lf + 1;
        Ok(Some(sep == b' '))
    }

    /// Counts `n` more bytes of the current line against `max_line_len`.
    fn count_line_bytes(&mut self, n: usize) -> Result<(), ReplyError> {
        self.line_len += n;
        if self.line_len > self.config.max_line_len {
            return Err(ReplyError::LineTooLong {
                line: self.line_index(),
                limit: self.config.max_line_len,
            });
        }
        Ok(())
    }

    /// Checks the code digit at `digits` (RFC 5321 4.2: first 2–5, second 0–5, third 0–9), and on
    /// the third compares the code with the first line's.
    fn code_digit(&mut self, digits: u8, value: u16, byte: u8) -> Result<Phase, ReplyError> {
        let valid = match digits {
            0 => (b'2'..=b'5').contains(&byte),
            1 => (b'0'..=b'5').contains(&byte),
            _ => byte.is_ascii_digit(),
        };
        if !valid {
            return Err(ReplyError::InvalidCode {
                line: self.line_index(),
            });
        }
        let value = value * 10 + u16::from(byte - b'0');
        let digits = digits + 1;
        if digits == 3 {
            match self.building.code {
                None => {
                    // The digit checks above make this always `Some`.
                    let code = Code::new(value).ok_or(ReplyError::InvalidCode { line: 0 })?;
                    self.building.code = Some(code);
                }
                Some(first) if first.get() != value => {
                    if !self.config.allow_mismatched_continuation {
                        return Err(ReplyError::MismatchedCode {
                            line: self.line_index(),
                            expected: first.get(),
                            found: value,
                        });
                    }
                    // RFC 5321 4.2.1 leaves it open which code counts; we keep the first.
                    self.current.mismatched_continuation = true;
                }
                Some(_) => {}
            }
        }
        Ok(Phase::Code { digits, value })
    }

    /// Handles the byte after the code.
    fn separator(&mut self, byte: u8, pos: &mut usize) -> Result<(), ReplyError> {
        match byte {
            b'-' | b' ' => {
                *pos += 1;
                self.count_line_bytes(1)?;
                self.phase = Phase::Text { last: byte == b' ' };
            }
            // `250\r\n`: a last line with no text; the text phase handles the line end.
            b'\r' | b'\n' => self.phase = Phase::Text { last: true },
            _ if self.config.allow_missing_space => {
                // `250OK`: the byte is the first text byte of a last line.
                self.current.missing_space = true;
                self.phase = Phase::Text { last: true };
            }
            _ => {
                return Err(ReplyError::InvalidSeparator {
                    line: self.line_index(),
                    byte,
                })
            }
        }
        Ok(())
    }

    /// Appends `bytes` to the current line's text, within `max_line_len` and `max_reply_bytes`.
    fn push_text(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        let line_room = self.config.max_line_len.saturating_sub(self.line_len);
        let reply_room = self
            .config
            .max_reply_bytes
            .saturating_sub(self.building.text.len());
        if bytes.len() > line_room || bytes.len() > reply_room {
            // The limit a byte-by-byte feed would cross first, so the error does not depend
            // on how the input was split.
            return Err(if line_room <= reply_room {
                ReplyError::LineTooLong {
                    line: self.line_index(),
                    limit: self.config.max_line_len,
                }
            } else {
                ReplyError::ReplyTooLong {
                    limit: self.config.max_reply_bytes,
                }
            });
        }
        self.line_len += bytes.len();
        self.building.text.extend_from_slice(bytes);
        Ok(())
    }

    /// A CR or LF that does not form CRLF: an error unless bare line ends are allowed.
    fn bare_line_end(&mut self) -> Result<(), ReplyError> {
        if !self.config.allow_bare_lf {
            return Err(ReplyError::BareLineEnd {
                line: self.line_index(),
            });
        }
        self.current.bare_lf = true;
        Ok(())
    }

    /// Consumes text up to and including the line end; `Ok(true)` when the line ended.
    fn text(&mut self, input: &[u8], pos: &mut usize) -> Result<bool, ReplyError> {
        loop {
            let rest = input.get(*pos..).unwrap_or_default();
            if self.pending_cr {
                let Some(&next) = rest.first() else {
                    return Ok(false);
                };
                self.pending_cr = false;
                if next == b'\n' {
                    *pos += 1;
                    self.count_line_bytes(1)?;
                    return Ok(true);
                }
                // A lone CR: text in lenient mode. It was already counted in the line length
                // when consumed; `push_text` counts it again, so take it back first.
                self.bare_line_end()?;
                self.line_len -= 1;
                self.push_text(b"\r")?;
                continue;
            }
            let Some(found) = memchr::memchr3(b'\n', b'\r', 0, rest) else {
                self.push_text(rest)?;
                *pos += rest.len();
                return Ok(false);
            };
            self.push_text(&rest[..found])?;
            *pos += found;
            match rest[found] {
                0 => {
                    return Err(ReplyError::Nul {
                        line: self.line_index(),
                    })
                }
                b'\n' => {
                    *pos += 1;
                    self.count_line_bytes(1)?;
                    self.bare_line_end()?;
                    return Ok(true);
                }
                _ => {
                    // CR: whether it ends the line depends on the next byte, which may not have
                    // arrived yet.
                    *pos += 1;
                    self.count_line_bytes(1)?;
                    self.pending_cr = true;
                }
            }
        }
    }

    /// Closes the current line; `Ok(true)` when it was the reply's last.
    fn end_line(&mut self, last: bool) -> Result<bool, ReplyError> {
        if self.line_len > RFC_MAX_LINE {
            self.current.long_line = true;
        }
        self.building.line_ends.push(self.building.text.len());
        self.line_len = 0;
        self.phase = Phase::START;
        let lines = self.building.line_ends.len();
        // A continuation line at the limit means the reply needs one more line than allowed:
        // fail now rather than buffer it.
        if lines > self.config.max_lines || (!last && lines >= self.config.max_lines) {
            return Err(ReplyError::TooManyLines {
                limit: self.config.max_lines,
            });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(config: ParserConfig, input: &[u8]) -> (ReplyParser, Result<Status, ReplyError>) {
        let mut parser = ReplyParser::new(config);
        let mut out = Reply::default();
        let status = parser.parse(input, &mut out);
        (parser, status)
    }

    /// RFC 5321 4.2: a CR at the end of the input may be the first half of CRLF, so the line
    /// stays open until the next byte arrives.
    #[test]
    fn cr_at_chunk_end_waits_for_the_next_byte() {
        let (mut parser, status) = parse_one(ParserConfig::STRICT, b"250 OK\r");
        assert_eq!(status, Ok(Status::Partial));
        assert!(parser.pending_cr);
        let mut out = Reply::default();
        assert_eq!(
            parser.parse(b"\n", &mut out),
            Ok(Status::Complete { consumed: 1 })
        );
        assert!(!parser.pending_cr);
        assert_eq!(out.line(0), Some(&b"OK"[..]));
    }

    /// Text goes straight into the reply being built: after a partial line the stored text is
    /// the line's text only, and the line length counts the code and separator too.
    #[test]
    fn partial_line_text_is_stored_once() {
        let (parser, status) = parse_one(ParserConfig::default(), b"250-abc\r\n250 de");
        assert_eq!(status, Ok(Status::Partial));
        assert_eq!(parser.building.text, b"abcde");
        assert_eq!(parser.building.line_ends, [3]);
        assert_eq!(parser.line_len, 6);
        assert_eq!(parser.buffered(), 15);
    }

    /// When one chunk crosses both the line and the reply limit, the error is the limit with
    /// less room left (the one a byte-by-byte feed reaches first); a tie goes to the line.
    #[test]
    fn crossing_two_limits_reports_the_first_reached() {
        let mut config = ParserConfig {
            max_line_len: 10,
            max_reply_bytes: 5,
            ..ParserConfig::default()
        };
        let (_, status) = parse_one(config, b"250 1234567890");
        assert_eq!(status, Err(ReplyError::ReplyTooLong { limit: 5 }));
        config.max_reply_bytes = 6;
        let (_, status) = parse_one(config, b"250 1234567890");
        assert_eq!(status, Err(ReplyError::LineTooLong { line: 0, limit: 10 }));
        config.max_reply_bytes = 7;
        let (_, status) = parse_one(config, b"250 1234567890");
        assert_eq!(status, Err(ReplyError::LineTooLong { line: 0, limit: 10 }));
    }

    /// A limit smaller than a code is still enforced without panicking.
    #[test]
    fn tiny_line_limit_is_enforced_in_the_code() {
        let config = ParserConfig {
            max_line_len: 2,
            ..ParserConfig::default()
        };
        let (_, status) = parse_one(config, b"250 OK\r\n");
        assert_eq!(status, Err(ReplyError::LineTooLong { line: 0, limit: 2 }));
    }
}
