//! The incremental, bounded, resumable reply parser (RFC 5321 4.2, 4.5.3.1.5).
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use crate::reply::Reply;
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

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReplyError {}

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

/// An incremental reply parser. Feed it any split of the server's bytes; it returns each reply as
/// soon as its last line is complete, holds at most one incomplete reply, never rescans bytes it
/// has already searched, and does not allocate in steady state when the output `Reply` is reused.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    config: ParserConfig,
}

impl ReplyParser {
    /// A parser with the given limits.
    pub fn new(config: ParserConfig) -> ReplyParser {
        ReplyParser { config }
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
        let _ = (input, out);
        todo!()
    }

    /// What the parser tolerated in the reply it returned last.
    pub fn deviations(&self) -> Deviations {
        todo!()
    }

    /// True when bytes of an incomplete reply are buffered (a connection closed now cut a reply).
    pub fn has_partial(&self) -> bool {
        todo!()
    }

    /// Bytes currently buffered for the incomplete reply.
    pub fn buffered(&self) -> usize {
        todo!()
    }
}
