//! Steady-state reply parsing allocates nothing (style guide, testing habit 5): after a warm-up,
//! the parser swaps its internal reply with the caller's, so both buffers stay warm.
//!
//! This file is its own test binary because it installs a counting global allocator. It counts
//! only on the thread that asks to, so the test harness's own allocations do not interfere.

use mailwire::{ParserConfig, Reply, ReplyParser, Status};
mod counting_alloc;

/// Allocations made on this thread while running `f`.
fn allocations_in(f: impl FnOnce()) -> u64 {
    counting_alloc::counting(f).1
}

/// Parses every reply in `wire`, fed whole (`chunk == None`) or in chunks; returns how many.
fn parse_all(
    parser: &mut ReplyParser,
    reply: &mut Reply,
    wire: &[u8],
    chunk: Option<usize>,
) -> usize {
    let mut count = 0;
    let size = chunk.unwrap_or(wire.len()).max(1);
    for piece in wire.chunks(size) {
        let mut rest = piece;
        while let Ok(Status::Complete { consumed }) = parser.parse(rest, reply) {
            count += 1;
            rest = &rest[consumed..];
        }
    }
    count
}

/// RFC 5321 4.2 replies of one and ten lines, alternating; after a warm-up, parsing thousands of
/// them, whole, byte by byte and in odd-sized chunks, makes no allocation at all.
#[test]
fn steady_state_parsing_does_not_allocate() {
    let mut wire = Vec::new();
    for i in 0..2_000 {
        if i % 2 == 0 {
            wire.extend_from_slice(b"250 2.1.5 Recipient ok\r\n");
        } else {
            for line in 0..9 {
                wire.extend_from_slice(
                    format!("250-EXTENSION-{line} with some parameters\r\n").as_bytes(),
                );
            }
            wire.extend_from_slice(b"250 SMTPUTF8\r\n");
        }
    }
    let replies = 2_000;

    for config in [
        ParserConfig::STRICT,
        ParserConfig::default(),
        ParserConfig::LENIENT,
    ] {
        let mut parser = ReplyParser::new(config);
        let mut reply = Reply::default();
        // Warm-up: both the parser's buffers and `reply` reach their working capacity.
        assert_eq!(parse_all(&mut parser, &mut reply, &wire, None), replies);

        for chunk in [None, Some(1), Some(7), Some(4096)] {
            let mut parsed = 0;
            let allocations = allocations_in(|| {
                parsed = parse_all(&mut parser, &mut reply, &wire, chunk);
            });
            assert_eq!(parsed, replies);
            assert_eq!(
                allocations, 0,
                "{config:?}, chunks of {chunk:?}: {allocations} allocations"
            );
        }
        assert!(!parser.has_partial());
    }
}

/// The counter itself works (so a zero above means something).
#[test]
fn counting_allocator_sees_allocations() {
    let n = allocations_in(|| {
        let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(10));
        drop(v);
    });
    assert_eq!(n, 1);
}
