//! `reply_parser`: any split of the server's bytes gives the same replies and the same error as
//! feeding them at once; the parser never panics and buffers no more than its limits allow
//! (RFC 5321 4.2, 4.5.3.1.5).
//!
//! Input layout: `[limits0, limits1, n, split sizes (n bytes)…, stream…]`; all zero header bytes
//! mean the default [`ParserConfig`] fed in one chunk. See [`parser_config`].

use crate::input::{chunks, Bytes};
use mailwire::{Code, Deviations, ParserConfig, Reply, ReplyError, ReplyParser, Status};

/// Maps two header bytes to a parser configuration; `(0, 0)` is the default.
///
/// `b0`: bit 0 forbids bare LF, bit 1 allows a missing space, bit 2 allows mismatched
/// continuation codes, bits 3–5 pick `max_line_len`. `b1`: bits 0–2 pick `max_lines`, bits 3–5
/// `max_reply_bytes`. The tables mix the defaults, the RFC's 512 and tiny limits that fall inside
/// the code or the first line.
pub fn parser_config(b0: u8, b1: u8) -> ParserConfig {
    const LINE: [usize; 8] = [4096, 512, 1, 4, 5, 8, 16, 600];
    const LINES: [usize; 8] = [512, 0, 1, 2, 3, 8, 64, 100_000];
    const TEXT: [usize; 8] = [64 * 1024, 0, 1, 8, 32, 256, 1024, 1 << 20];
    let mut c = ParserConfig::default();
    c.allow_bare_lf = b0 & 1 == 0;
    c.allow_missing_space = b0 & 2 != 0;
    c.allow_mismatched_continuation = b0 & 4 != 0;
    c.max_line_len = LINE[usize::from(b0 >> 3 & 7)];
    c.max_lines = LINES[usize::from(b1 & 7)];
    c.max_reply_bytes = TEXT[usize::from(b1 >> 3 & 7)];
    c
}

/// Everything a feed of the stream produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// Each reply, what was tolerated in it, and the stream offset just past its last byte.
    replies: Vec<(Reply, Deviations, usize)>,
    /// The error that stopped the parser.
    error: Option<ReplyError>,
    /// `buffered()` at the end, when no error stopped the parser (after an error it depends on
    /// how far into the bad chunk the parser got, which depends on the split).
    buffered: Option<usize>,
}

/// The target.
pub fn reply_parser(data: &[u8]) {
    let mut input = Bytes::new(data);
    let config = parser_config(input.u8(), input.u8());
    let n = usize::from(input.u8());
    let sizes = input.take(n);
    let stream = input.rest();

    let whole = feed(config, &[stream]);
    let split = feed(config, &chunks(stream, sizes));
    assert_eq!(whole, split, "split {sizes:?} changed the outcome");
    if stream.len() <= 4096 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            whole,
            feed(config, &bytes),
            "byte-by-byte feed changed the outcome"
        );
    }
    for (reply, _, _) in &whole.replies {
        round_trip(reply);
    }
}

/// Largest number of bytes the parser may hold for an incomplete reply, from its documented
/// bounds: the stored text is capped by `max_reply_bytes` and each of at most `max_lines` lines
/// adds a code, a separator and CRLF; and no line is longer than `max_line_len`.
pub fn buffer_bound(config: &ParserConfig) -> usize {
    let lines = config.max_lines.max(1);
    let by_text = config
        .max_reply_bytes
        .saturating_add(6usize.saturating_mul(lines));
    let by_lines = config.max_line_len.saturating_mul(lines);
    by_text.min(by_lines)
}

fn feed(config: ParserConfig, chunks: &[&[u8]]) -> Outcome {
    let mut parser = ReplyParser::new(config);
    let mut out = Reply::default();
    let mut outcome = Outcome {
        replies: Vec::new(),
        error: None,
        buffered: None,
    };
    let bound = buffer_bound(&config);
    let mut offset = 0;
    for chunk in chunks {
        let mut rest: &[u8] = chunk;
        loop {
            match parser.parse(rest, &mut out) {
                Ok(Status::Complete { consumed }) => {
                    assert!(
                        consumed >= 1 && consumed <= rest.len(),
                        "consumed {consumed} of {} bytes",
                        rest.len()
                    );
                    offset += consumed;
                    rest = &rest[consumed..];
                    check_reply(&config, &out, parser.deviations());
                    assert_eq!(
                        parser.buffered(),
                        0,
                        "bytes still buffered after a complete reply"
                    );
                    assert!(!parser.has_partial());
                    outcome
                        .replies
                        .push((out.clone(), parser.deviations(), offset));
                    if rest.is_empty() {
                        break;
                    }
                }
                Ok(Status::Partial) => {
                    offset += rest.len();
                    let buffered = parser.buffered();
                    assert!(
                        buffered <= bound,
                        "buffered {buffered} bytes, more than the bound {bound} for {config:?}"
                    );
                    assert_eq!(parser.has_partial(), buffered > 0);
                    break;
                }
                Err(error) => {
                    // Sticky: the same error whatever comes next, and nothing consumed.
                    assert_eq!(parser.parse(b"250 OK\r\n", &mut out), Err(error));
                    assert_eq!(parser.parse(b"", &mut out), Err(error));
                    outcome.error = Some(error);
                    return outcome;
                }
            }
        }
    }
    outcome.buffered = Some(parser.buffered());
    outcome
}

/// What every reply the parser returns must satisfy, given the configuration.
fn check_reply(config: &ParserConfig, reply: &Reply, deviations: Deviations) {
    let code = reply.code().get();
    assert!(Code::new(code).is_some(), "invalid code {code}");
    let lines = reply.line_count();
    assert!(lines >= 1, "a reply without lines");
    assert!(
        lines <= config.max_lines,
        "{lines} lines, limit {}",
        config.max_lines
    );
    let mut text = 0;
    for line in reply.lines() {
        text += line.len();
        assert!(!line.contains(&b'\n'), "LF in reply text {line:?}");
        assert!(!line.contains(&0), "NUL in reply text {line:?}");
        assert!(
            config.allow_bare_lf || !line.contains(&b'\r'),
            "CR in strict reply text"
        );
        // At least the code and one line-end byte besides the text.
        assert!(
            line.len() + 4 <= config.max_line_len,
            "line of {} text bytes within a limit of {}",
            line.len(),
            config.max_line_len
        );
    }
    assert!(
        text <= config.max_reply_bytes,
        "{text} text bytes, limit {}",
        config.max_reply_bytes
    );
    assert!(!deviations.bare_lf || config.allow_bare_lf);
    assert!(!deviations.missing_space || config.allow_missing_space);
    assert!(!deviations.mismatched_continuation || config.allow_mismatched_continuation);
    assert!(!deviations.long_line || config.max_line_len > 512);
    if let Some(e) = reply.enhanced_code() {
        assert_eq!(
            u16::from(e.class),
            code / 100,
            "enhanced code class differs from the code"
        );
        let first = reply.line(0).unwrap_or_default();
        assert!(
            first.starts_with(e.to_string().as_bytes()),
            "enhanced code not at the start"
        );
    }
}

/// `Reply::to_wire` gives bytes that parse back to the same reply.
fn round_trip(reply: &Reply) {
    let mut config = ParserConfig::default();
    // A lone CR kept in lenient text goes back out as is.
    config.allow_bare_lf = true;
    config.max_line_len = usize::MAX;
    config.max_lines = usize::MAX;
    config.max_reply_bytes = usize::MAX;
    let mut wire = Vec::new();
    reply.to_wire(&mut wire);
    let mut parser = ReplyParser::new(config);
    let mut back = Reply::default();
    let status = parser.parse(&wire, &mut back);
    assert_eq!(
        status,
        Ok(Status::Complete {
            consumed: wire.len()
        }),
        "to_wire output {:?} does not parse back",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(&back, reply, "to_wire then parse changed the reply");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_header_is_the_default_config() {
        assert_eq!(parser_config(0, 0), ParserConfig::default());
    }

    #[test]
    fn known_good_streams_pass() {
        reply_parser(b"\0\0\x00220 mx ESMTP\r\n250-a\r\n250 b\r\n");
        reply_parser(b"\0\0\x02\x01\x00250-a\r\n250 b\r\n354");
        reply_parser(b"\x01\x09\x01\x03250 a\nb\r\n");
    }
}
