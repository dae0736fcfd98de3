//! The reply parser against known answers (RFC 5321 4.2, 4.5.3.1.5), fed whole, byte by byte,
//! split at every position and with the next reply's first bytes appended; property tests for any
//! split; hostile streams that must hit a limit with bounded buffering.

use mailwire::{
    Code, Deviations, EnhancedCode, ParserConfig, Reply, ReplyError, ReplyParser, Status,
};
use proptest::prelude::*;

/// What a wire vector should parse to.
#[derive(Debug, Clone)]
enum Expect {
    Reply {
        code: u16,
        lines: Vec<Vec<u8>>,
        enhanced: Option<(u8, u16, u16)>,
        deviations: Deviations,
    },
    Error(ReplyError),
}

fn ok(code: u16, lines: &[&[u8]]) -> Expect {
    Expect::Reply {
        code,
        lines: lines.iter().map(|l| l.to_vec()).collect(),
        enhanced: None,
        deviations: Deviations::default(),
    }
}

fn enhanced(expect: Expect, class: u8, subject: u16, detail: u16) -> Expect {
    match expect {
        Expect::Reply {
            code,
            lines,
            deviations,
            ..
        } => Expect::Reply {
            code,
            lines,
            enhanced: Some((class, subject, detail)),
            deviations,
        },
        e => e,
    }
}

fn deviating(expect: Expect, set: fn(&mut Deviations)) -> Expect {
    match expect {
        Expect::Reply {
            code,
            lines,
            enhanced,
            mut deviations,
        } => {
            set(&mut deviations);
            Expect::Reply {
                code,
                lines,
                enhanced,
                deviations,
            }
        }
        e => e,
    }
}

fn err(e: ReplyError) -> Expect {
    Expect::Error(e)
}

/// One parsed reply with the deviations reported for it.
type Parsed = (Reply, Deviations);

/// Feeds `chunks` in order, collecting every reply; stops at the first error (checking that the
/// parser is then poisoned).
fn feed_chunks<'a>(
    config: ParserConfig,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (ReplyParser, Result<Vec<Parsed>, ReplyError>) {
    let mut parser = ReplyParser::new(config);
    let mut replies = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        loop {
            let mut reply = Reply::default();
            match parser.parse(rest, &mut reply) {
                Ok(Status::Complete { consumed }) => {
                    assert!(consumed > 0 && consumed <= rest.len());
                    replies.push((reply, parser.deviations()));
                    rest = &rest[consumed..];
                }
                Ok(Status::Partial) => {
                    assert_eq!(reply, Reply::default(), "out untouched on Partial");
                    break;
                }
                Err(e) => {
                    // Sticky (rustls habit): the same error again, whatever the input.
                    assert_eq!(parser.parse(b"250 OK\r\n", &mut reply), Err(e));
                    assert_eq!(parser.parse(b"", &mut reply), Err(e));
                    return (parser, Err(e));
                }
            }
        }
    }
    (parser, Ok(replies))
}

fn check_one(expect: &Expect, got: &Result<Vec<Parsed>, ReplyError>, how: &str, wire: &[u8]) {
    let ctx = format!("{how}: {:?}", String::from_utf8_lossy(wire));
    match expect {
        Expect::Error(e) => assert_eq!(got.as_ref().err(), Some(e), "{ctx}"),
        Expect::Reply {
            code,
            lines,
            enhanced,
            deviations,
        } => {
            let replies = got
                .as_ref()
                .unwrap_or_else(|e| panic!("{ctx}: unexpected error {e}"));
            assert_eq!(replies.len(), 1, "{ctx}: {replies:?}");
            let (reply, devs) = &replies[0];
            assert_eq!(reply.code().get(), *code, "{ctx}");
            let got_lines: Vec<Vec<u8>> = reply.lines().map(<[u8]>::to_vec).collect();
            assert_eq!(&got_lines, lines, "{ctx}");
            let want = enhanced.map(|(class, subject, detail)| EnhancedCode {
                class,
                subject,
                detail,
            });
            assert_eq!(reply.enhanced_code(), want, "{ctx}");
            assert_eq!(devs, deviations, "{ctx}");
        }
    }
}

/// Runs one vector whole, byte by byte, split in two at every position, and with the next
/// reply's first bytes appended (h11's habit).
fn run_case(config: ParserConfig, wire: &[u8], expect: &Expect) {
    let (parser, got) = feed_chunks(config, [wire]);
    check_one(expect, &got, "whole", wire);
    if got.is_ok() {
        assert!(!parser.has_partial());
        assert_eq!(parser.buffered(), 0);
    }

    let (_, got) = feed_chunks(config, wire.chunks(1));
    check_one(expect, &got, "byte by byte", wire);

    for at in 0..=wire.len() {
        let (a, b) = wire.split_at(at);
        let (_, got) = feed_chunks(config, [a, b]);
        check_one(expect, &got, &format!("split at {at}"), wire);
    }

    let trailing = b"250-next";
    let mut with_next = wire.to_vec();
    with_next.extend_from_slice(trailing);
    for chunks in [with_next.chunks(with_next.len()), with_next.chunks(1)] {
        let (parser, got) = feed_chunks(config, chunks);
        check_one(expect, &got, "with trailing bytes", wire);
        if got.is_ok() {
            assert!(parser.has_partial());
            assert_eq!(parser.buffered(), trailing.len());
        }
    }
    if matches!(expect, Expect::Reply { .. }) {
        let mut parser = ReplyParser::new(config);
        let mut reply = Reply::default();
        assert_eq!(
            parser.parse(&with_next, &mut reply),
            Ok(Status::Complete {
                consumed: wire.len()
            }),
            "consumed stops at the reply's end"
        );
    }
}

fn long_line(code: &[u8], sep: u8, text_len: usize) -> Vec<u8> {
    let mut v = code.to_vec();
    v.push(sep);
    v.extend(std::iter::repeat_n(b'x', text_len));
    v.extend_from_slice(b"\r\n");
    v
}

/// Vectors whose answer is the same in every profile.
fn common_cases() -> Vec<(Vec<u8>, Expect)> {
    vec![
        (b"250 OK\r\n".to_vec(), ok(250, &[b"OK"])),
        (
            b"220 mail.example.com ESMTP\r\n".to_vec(),
            ok(220, &[b"mail.example.com ESMTP"]),
        ),
        // RFC 5321 4.2: the text is optional; the code alone ends the last line.
        (b"250\r\n".to_vec(), ok(250, &[b""])),
        // Postfix smtp-sink ends its EHLO reply with "250 ".
        (b"250 \r\n".to_vec(), ok(250, &[b""])),
        (
            b"250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n".to_vec(),
            ok(250, &[b"mail.example.com", b"PIPELINING", b"8BITMIME"]),
        ),
        (b"250-\r\n250 \r\n".to_vec(), ok(250, &[b"", b""])),
        (
            b"354 Start mail input; end with <CRLF>.<CRLF>\r\n".to_vec(),
            ok(354, &[b"Start mail input; end with <CRLF>.<CRLF>"]),
        ),
        (b"334 \r\n".to_vec(), ok(334, &[b""])),
        (b"559 x\r\n".to_vec(), ok(559, &[b"x"])),
        (
            b"599 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (b"200 x\r\n".to_vec(), ok(200, &[b"x"])),
        // Text after the first space keeps further spaces and tabs.
        (
            b"250  two\tspaces \r\n".to_vec(),
            ok(250, &[b" two\tspaces "]),
        ),
        // Non-UTF-8 text is kept as bytes.
        (
            b"250 caf\xe9 \xff\xfe\r\n".to_vec(),
            ok(250, &[b"caf\xe9 \xff\xfe"]),
        ),
        // RFC 3463 / RFC 2034 enhanced codes, class matching the reply's first digit.
        (
            b"250 2.1.0 Ok\r\n".to_vec(),
            enhanced(ok(250, &[b"2.1.0 Ok"]), 2, 1, 0),
        ),
        (
            b"554-5.7.1 first\r\n554 5.7.1 second\r\n".to_vec(),
            enhanced(ok(554, &[b"5.7.1 first", b"5.7.1 second"]), 5, 7, 1),
        ),
        (
            b"451 4.3.0\r\n".to_vec(),
            enhanced(ok(451, &[b"4.3.0"]), 4, 3, 0),
        ),
        (b"550 2.1.0 odd\r\n".to_vec(), ok(550, &[b"2.1.0 odd"])),
        (
            b"250-hello\r\n250 2.0.0 x\r\n".to_vec(),
            ok(250, &[b"hello", b"2.0.0 x"]),
        ),
        (b"250 2.01.0 bad\r\n".to_vec(), ok(250, &[b"2.01.0 bad"])),
        // 512 octets including CRLF is within RFC 5321 4.5.3.1.5.
        (long_line(b"250", b' ', 506), ok(250, &[&[b'x'; 506]])),
        (
            b"abc\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"650 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"160 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"260 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"25x x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"25 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (b"\r\n".to_vec(), err(ReplyError::InvalidCode { line: 0 })),
        (
            b" 250 x\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 0 }),
        ),
        (
            b"250-a\r\nxyz\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 1 }),
        ),
        (
            b"250-a\r\n\r\n".to_vec(),
            err(ReplyError::InvalidCode { line: 1 }),
        ),
        (b"250 a\0b\r\n".to_vec(), err(ReplyError::Nul { line: 0 })),
        (
            b"250-a\r\n250 \0\r\n".to_vec(),
            err(ReplyError::Nul { line: 1 }),
        ),
    ]
}

/// RFC 5321 4.2: every vector of the common table, in the default profile, in every split.
#[test]
fn known_answers_default_profile() {
    let mut cases = common_cases();
    cases.extend([
        (
            long_line(b"250", b' ', 507),
            deviating(ok(250, &[&[b'x'; 507]]), |d| d.long_line = true),
        ),
        (
            b"250 OK\n".to_vec(),
            deviating(ok(250, &[b"OK"]), |d| d.bare_lf = true),
        ),
        (
            b"250-a\n250 b\r\n".to_vec(),
            deviating(ok(250, &[b"a", b"b"]), |d| d.bare_lf = true),
        ),
        (
            b"250x\r\n".to_vec(),
            err(ReplyError::InvalidSeparator {
                line: 0,
                byte: b'x',
            }),
        ),
        // The separator rule comes first: a NUL there is a bad separator.
        (
            b"250\0\r\n".to_vec(),
            err(ReplyError::InvalidSeparator { line: 0, byte: 0 }),
        ),
        (
            b"250-a\r\n251 b\r\n".to_vec(),
            err(ReplyError::MismatchedCode {
                line: 1,
                expected: 250,
                found: 251,
            }),
        ),
    ]);
    for (wire, expect) in &cases {
        run_case(ParserConfig::default(), wire, expect);
    }
}

/// RFC 5321 2.3.8, 4.2, 4.5.3.1.5: the strict profile refuses every deviation.
#[test]
fn known_answers_strict_profile() {
    let mut cases = common_cases();
    cases.extend([
        (
            b"250 OK\n".to_vec(),
            err(ReplyError::BareLineEnd { line: 0 }),
        ),
        (b"250\n".to_vec(), err(ReplyError::BareLineEnd { line: 0 })),
        (
            b"250-a\r\n250 b\n".to_vec(),
            err(ReplyError::BareLineEnd { line: 1 }),
        ),
        (
            b"250 a\rb\r\n".to_vec(),
            err(ReplyError::BareLineEnd { line: 0 }),
        ),
        (
            b"250 a\r\r\n".to_vec(),
            err(ReplyError::BareLineEnd { line: 0 }),
        ),
        (
            b"250OK\r\n".to_vec(),
            err(ReplyError::InvalidSeparator {
                line: 0,
                byte: b'O',
            }),
        ),
        (
            b"250-a\r\n250+b\r\n".to_vec(),
            err(ReplyError::InvalidSeparator {
                line: 1,
                byte: b'+',
            }),
        ),
        (
            b"250-a\r\n251 b\r\n".to_vec(),
            err(ReplyError::MismatchedCode {
                line: 1,
                expected: 250,
                found: 251,
            }),
        ),
        (
            long_line(b"250", b' ', 507),
            err(ReplyError::LineTooLong {
                line: 0,
                limit: 512,
            }),
        ),
        (
            [b"250-a\r\n".as_slice(), &long_line(b"250", b' ', 600)].concat(),
            err(ReplyError::LineTooLong {
                line: 1,
                limit: 512,
            }),
        ),
    ]);
    for (wire, expect) in &cases {
        run_case(ParserConfig::STRICT, wire, expect);
    }
}

/// The lenient profile tolerates bare LF, lone CR, missing space and mismatched continuation
/// codes, and reports each in `Deviations`.
#[test]
fn known_answers_lenient_profile() {
    let mut cases = common_cases();
    cases.extend([
        (
            b"250 OK\n".to_vec(),
            deviating(ok(250, &[b"OK"]), |d| d.bare_lf = true),
        ),
        (
            b"250\n".to_vec(),
            deviating(ok(250, &[b""]), |d| d.bare_lf = true),
        ),
        (
            b"250 a\rb\r\n".to_vec(),
            deviating(ok(250, &[b"a\rb"]), |d| d.bare_lf = true),
        ),
        (
            b"250 a\r\r\n".to_vec(),
            deviating(ok(250, &[b"a\r"]), |d| d.bare_lf = true),
        ),
        (
            b"250\r\r\n".to_vec(),
            deviating(ok(250, &[b"\r"]), |d| d.bare_lf = true),
        ),
        (b"250 a\r\n".to_vec(), ok(250, &[b"a"])),
        (
            b"250OK\r\n".to_vec(),
            deviating(ok(250, &[b"OK"]), |d| d.missing_space = true),
        ),
        (
            b"250-a\r\n250OK\r\n".to_vec(),
            deviating(ok(250, &[b"a", b"OK"]), |d| d.missing_space = true),
        ),
        (
            b"2500\r\n".to_vec(),
            deviating(ok(250, &[b"0"]), |d| d.missing_space = true),
        ),
        (b"250O\0\r\n".to_vec(), err(ReplyError::Nul { line: 0 })),
        // With a missing space allowed, the fourth byte is text, and a NUL in text is refused.
        (b"250\0\r\n".to_vec(), err(ReplyError::Nul { line: 0 })),
        (
            b"250-a\r\n251 b\r\n".to_vec(),
            deviating(ok(250, &[b"a", b"b"]), |d| d.mismatched_continuation = true),
        ),
        (
            long_line(b"250", b' ', 3000),
            deviating(ok(250, &[&[b'x'; 3000]]), |d| d.long_line = true),
        ),
        (
            long_line(b"250", b' ', 4091),
            err(ReplyError::LineTooLong {
                line: 0,
                limit: 4096,
            }),
        ),
    ]);
    for (wire, expect) in &cases {
        run_case(ParserConfig::LENIENT, wire, expect);
    }
}

/// RFC 5321 4.5.3.1.5 limits: `max_lines` is enforced as soon as a continuation line ends at the
/// limit, since the reply then needs one more line.
#[test]
fn max_lines_is_enforced_when_the_limit_line_continues() {
    let mut config = ParserConfig::default();
    config.max_lines = 3;
    run_case(
        config,
        b"250-a\r\n250-b\r\n250 c\r\n",
        &ok(250, &[b"a", b"b", b"c"]),
    );
    run_case(
        config,
        b"250-a\r\n250-b\r\n250-c\r\n",
        &err(ReplyError::TooManyLines { limit: 3 }),
    );
    config.max_lines = 0;
    run_case(
        config,
        b"250 a\r\n",
        &err(ReplyError::TooManyLines { limit: 0 }),
    );
}

/// `max_reply_bytes` caps the stored text of one reply, whatever the split.
#[test]
fn max_reply_bytes_caps_the_text() {
    let mut config = ParserConfig::default();
    config.max_reply_bytes = 10;
    run_case(
        config,
        b"250-12345\r\n250 12345\r\n",
        &ok(250, &[b"12345", b"12345"]),
    );
    run_case(
        config,
        b"250-12345\r\n250 123456\r\n",
        &err(ReplyError::ReplyTooLong { limit: 10 }),
    );
    // Both limits crossed by the same chunk: the error is the one a byte-by-byte feed hits
    // first, so it does not depend on the split.
    config.max_line_len = 12;
    run_case(
        config,
        b"250-12345\r\n250 1234567890\r\n",
        &err(ReplyError::ReplyTooLong { limit: 10 }),
    );
    config.max_reply_bytes = 100;
    run_case(
        config,
        b"250 1234567890\r\n",
        &err(ReplyError::LineTooLong { line: 0, limit: 12 }),
    );
}

/// RFC 5321 4.5.3.1.5: a server sending a line that never ends costs bounded memory; the limit
/// error comes as soon as the buffered line exceeds `max_line_len`, not at a line end.
#[test]
fn endless_line_hits_line_limit_with_bounded_buffering() {
    for config in [
        ParserConfig::STRICT,
        ParserConfig::default(),
        ParserConfig::LENIENT,
    ] {
        let mut parser = ReplyParser::new(config);
        let mut reply = Reply::default();
        assert_eq!(parser.parse(b"250-", &mut reply), Ok(Status::Partial));
        let chunk = [b'a'; 100];
        let mut fed = 4;
        let error = loop {
            match parser.parse(&chunk, &mut reply) {
                Ok(Status::Partial) => {
                    fed += chunk.len();
                    assert!(parser.buffered() <= config.max_line_len);
                    assert!(fed <= config.max_line_len, "limit not enforced");
                }
                Ok(Status::Complete { .. }) => panic!("no reply can complete"),
                Err(e) => break e,
            }
        };
        assert_eq!(
            error,
            ReplyError::LineTooLong {
                line: 0,
                limit: config.max_line_len
            }
        );
    }
}

/// RFC 5321 4.2.1: endless continuation lines hit `max_lines` or `max_reply_bytes`, with the
/// buffered bytes bounded by `max_reply_bytes + 6 * max_lines`.
#[test]
fn endless_continuation_lines_hit_a_limit_with_bounded_buffering() {
    let mut few_lines = ParserConfig::default();
    few_lines.max_lines = 50;
    let mut few_bytes = ParserConfig::default();
    few_bytes.max_reply_bytes = 1000;
    let cases = [
        (
            ParserConfig::default(),
            ReplyError::TooManyLines { limit: 512 },
        ),
        (few_lines, ReplyError::TooManyLines { limit: 50 }),
        (few_bytes, ReplyError::ReplyTooLong { limit: 1000 }),
    ];
    for (config, expected) in cases {
        let mut parser = ReplyParser::new(config);
        let mut reply = Reply::default();
        let bound = config.max_reply_bytes + 6 * config.max_lines;
        let line = b"250-some continuation text\r\n";
        let error = loop {
            match parser.parse(line, &mut reply) {
                Ok(Status::Partial) => assert!(parser.buffered() <= bound),
                Ok(Status::Complete { .. }) => panic!("no reply can complete"),
                Err(e) => break e,
            }
        };
        assert_eq!(error, expected);
    }
}

/// RFC 5321 4.2: a whole pipelined flight (RFC 2920) of 10,000 replies in one slice gives each
/// reply in order, `consumed` pointing at the next.
#[test]
fn ten_thousand_replies_in_one_slice() {
    let mut wire = Vec::new();
    for i in 0..10_000u32 {
        if i % 3 == 0 {
            wire.extend_from_slice(b"250-first\r\n250-second\r\n250 last\r\n");
        } else {
            wire.extend_from_slice(format!("250 2.1.5 recipient {i} ok\r\n").as_bytes());
        }
    }
    let mut parser = ReplyParser::new(ParserConfig::STRICT);
    let mut reply = Reply::default();
    let mut rest = &wire[..];
    let mut count = 0u32;
    while let Status::Complete { consumed } = parser.parse(rest, &mut reply).unwrap() {
        if count.is_multiple_of(3) {
            assert_eq!(reply.line_count(), 3);
        } else {
            assert_eq!(
                reply.line(0).unwrap(),
                format!("2.1.5 recipient {count} ok").as_bytes()
            );
            assert_eq!(
                reply.enhanced_code().map(|e| e.to_string()).as_deref(),
                Some("2.1.5")
            );
        }
        rest = &rest[consumed..];
        count += 1;
    }
    assert_eq!(count, 10_000);
    assert!(rest.is_empty());
    assert!(!parser.has_partial());
}

/// A connection closed mid-reply is visible: `has_partial` and `buffered` report the cut reply.
#[test]
fn has_partial_and_buffered_track_the_incomplete_reply() {
    let mut parser = ReplyParser::new(ParserConfig::default());
    let mut reply = Reply::default();
    assert!(!parser.has_partial());
    assert_eq!(parser.parse(b"", &mut reply), Ok(Status::Partial));
    assert!(!parser.has_partial());
    assert_eq!(
        parser.parse(b"250-a\r\n25", &mut reply),
        Ok(Status::Partial)
    );
    assert!(parser.has_partial());
    assert_eq!(parser.buffered(), 9);
    assert_eq!(parser.parse(b"0 b\r", &mut reply), Ok(Status::Partial));
    assert_eq!(parser.buffered(), 13);
    assert_eq!(
        parser.parse(b"\n", &mut reply),
        Ok(Status::Complete { consumed: 1 })
    );
    assert!(!parser.has_partial());
    assert_eq!(parser.buffered(), 0);
    assert_eq!(reply, Reply::new(Code::OK, &["a", "b"]));
}

/// `deviations()` describes the reply returned last, not earlier ones.
#[test]
fn deviations_describe_the_last_reply_only() {
    let mut parser = ReplyParser::new(ParserConfig::LENIENT);
    let mut reply = Reply::default();
    let wire = b"250 one\n250OK\r\n250 clean\r\n";
    let mut rest = &wire[..];
    let mut seen = Vec::new();
    while let Ok(Status::Complete { consumed }) = parser.parse(rest, &mut reply) {
        seen.push(parser.deviations());
        rest = &rest[consumed..];
    }
    assert_eq!(seen.len(), 3);
    assert!(seen[0].bare_lf && !seen[0].missing_space);
    assert!(seen[1].missing_space && !seen[1].bare_lf);
    assert!(seen[2].is_empty());
}

/// The output reply is overwritten (cleared first), whatever it held before.
#[test]
fn output_reply_is_cleared_before_being_filled() {
    let mut parser = ReplyParser::new(ParserConfig::default());
    let mut reply = Reply::new(Code::SERVICE_NOT_AVAILABLE, &["4.3.2 old", "lines", "here"]);
    assert_eq!(
        parser.parse(b"250 new\r\n", &mut reply),
        Ok(Status::Complete { consumed: 9 })
    );
    assert_eq!(reply, Reply::new(Code::OK, &["new"]));
    assert_eq!(reply.enhanced_code(), None);
}

/// Errors print what went wrong and which line (counted from 1 for people).
#[test]
fn error_display_names_the_problem_and_line() {
    let cases = [
        (
            ReplyError::InvalidCode { line: 0 },
            "reply line 1 does not start with a valid three-digit reply code",
        ),
        (
            ReplyError::InvalidSeparator {
                line: 2,
                byte: b'x',
            },
            "reply line 3: byte 0x78 after the reply code is neither space, '-' nor the line end",
        ),
        (
            ReplyError::MismatchedCode {
                line: 1,
                expected: 250,
                found: 251,
            },
            "reply line 2 has code 251 but the reply started with code 250",
        ),
        (
            ReplyError::BareLineEnd { line: 0 },
            "reply line 1 has a bare CR or LF instead of CRLF",
        ),
        (
            ReplyError::Nul { line: 4 },
            "reply line 5 contains a NUL byte",
        ),
        (
            ReplyError::LineTooLong {
                line: 0,
                limit: 512,
            },
            "reply line 1 is longer than the limit of 512 bytes",
        ),
        (
            ReplyError::TooManyLines { limit: 512 },
            "reply has more than the limit of 512 lines",
        ),
        (
            ReplyError::ReplyTooLong { limit: 65536 },
            "reply text is longer than the limit of 65536 bytes",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

fn arb_code() -> impl Strategy<Value = Code> {
    (2u16..=5, 0u16..=5, 0u16..=9).prop_map(|(a, b, c)| Code::new(a * 100 + b * 10 + c).unwrap())
}

/// Line text: any bytes but CR, LF and NUL (non-UTF-8 included), sometimes with an enhanced code.
fn arb_line() -> impl Strategy<Value = Vec<u8>> {
    let byte = any::<u8>().prop_filter("not CR, LF, NUL", |b| !matches!(b, b'\r' | b'\n' | 0));
    prop_oneof![
        proptest::collection::vec(byte.clone(), 0..40),
        (proptest::collection::vec(byte, 0..20)).prop_map(|t| [b"2.1.0 ".as_slice(), &t].concat()),
        (proptest::collection::vec(b'a'..=b'z', 0..20))
            .prop_map(|t| [b"5.7.1 ".as_slice(), &t].concat()),
    ]
}

fn arb_reply() -> impl Strategy<Value = Reply> {
    (arb_code(), proptest::collection::vec(arb_line(), 1..6))
        .prop_map(|(code, lines)| Reply::new(code, &lines))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 5321 4.2: for any sequence of valid replies and any split of their wire bytes, the
    /// parser gives back exactly the replies (enhanced codes included), in strict and lenient
    /// profiles alike.
    #[test]
    fn any_split_gives_back_the_replies(
        replies in proptest::collection::vec(arb_reply(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut wire = Vec::new();
        for reply in &replies {
            reply.to_wire(&mut wire);
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&wire[start..cut]);
            start = cut;
        }
        chunks.push(&wire[start..]);
        for config in [ParserConfig::STRICT, ParserConfig::LENIENT] {
            let (parser, got) = feed_chunks(config, chunks.iter().copied());
            let got: Vec<Reply> = got.unwrap().into_iter().map(|(r, d)| {
                assert!(d.is_empty());
                r
            }).collect();
            prop_assert_eq!(&got, &replies);
            prop_assert!(!parser.has_partial());
        }
    }

    /// Any bytes at all, in any split: the parser never panics, and its result does not depend
    /// on the split.
    #[test]
    fn arbitrary_bytes_never_panic_and_ignore_the_split(
        wire in proptest::collection::vec(
            prop_oneof![Just(b'2'), Just(b'5'), Just(b'0'), Just(b' '), Just(b'-'), Just(b'\r'),
                        Just(b'\n'), Just(0u8), any::<u8>()],
            0..200),
        at in any::<prop::sample::Index>(),
    ) {
        let at = at.index(wire.len() + 1);
        for config in [ParserConfig::STRICT, ParserConfig::default(), ParserConfig::LENIENT] {
            let (_, whole) = feed_chunks(config, [&wire[..]]);
            let (_, split) = feed_chunks(config, [&wire[..at], &wire[at..]]);
            let (_, bytes) = feed_chunks(config, wire.chunks(1));
            prop_assert_eq!(&whole, &split);
            prop_assert_eq!(&whole, &bytes);
        }
    }
}
