//! Streaming content allocates nothing in steady state: a large body goes through
//! `write_body` in blocks, with back-pressure, into a transmit buffer the caller reuses, and
//! after the first blocks no block costs a heap allocation, DATA or BDAT (style guide, testing
//! habit 5). The session's per-message allocations are bounded in `tests/alloc_session.rs`.
//!
//! Its own test binary, because it installs a counting global allocator; only the thread that
//! switches counting on is counted, so the harness's own allocations do not interfere.

use mailwire::{Client, ClientName, Config, Envelope, Mailbox, Timestamp, TlsPolicy};

mod counting_alloc;
use counting_alloc::counting;

/// A session past EHLO with the message's commands answered and its content flowing.
fn flowing(chunking: bool) -> (Client, mailwire::MessageId) {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    let ehlo: &[u8] = if chunking {
        b"250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
    } else {
        b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    };
    client.handle_input(now, ehlo);
    let envelope = Envelope::new(
        Some(Mailbox::parse("alice@example.org").unwrap()),
        [Mailbox::parse("bob@example.net").unwrap()],
    );
    let id = client.send_message(envelope).unwrap();
    wire.clear();
    client.poll_transmit(now, &mut wire);
    let replies: &[u8] = if chunking {
        b"250 ok\r\n250 ok\r\n"
    } else {
        b"250 ok\r\n250 ok\r\n354 go\r\n"
    };
    client.handle_input(now, replies);
    while client.poll_event().is_some() {}
    (client, id)
}

/// Streams `blocks` blocks of 64 KiB; returns the allocations counted over the last
/// `blocks - warmup` of them, and the wire bytes. (Measured: DATA allocates 3 times in the
/// first block and never again; BDAT twice in the first and twice more when its queues reach
/// their high-water mark, around block 72; nothing after.)
fn stream(chunking: bool, blocks: usize, warmup: usize) -> (u64, u64) {
    let (mut client, id) = flowing(chunking);
    let now = Timestamp::ZERO;
    let block: Vec<u8> = (0..64 * 1024)
        .map(|i| {
            if i % 72 == 71 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut wire = Vec::with_capacity(512 * 1024);
    let mut sent = 0u64;
    let mut allocations = 0;
    // BDAT chunks are answered as they go, one reply each, from a buffer made before counting.
    let replies = b"250 chunk ok\r\n".repeat(64);
    for n in 0..blocks {
        let (_, count) = counting(|| {
            let mut rest = &block[..];
            while !rest.is_empty() {
                let taken = client.write_body(id, rest).unwrap();
                rest = &rest[taken..];
                wire.clear();
                let out = client.poll_transmit(now, &mut wire);
                sent += out as u64;
                if chunking && out > 0 {
                    let chunks = wire.windows(5).filter(|w| w == b"BDAT ").count();
                    client.handle_input(now, &replies[..chunks * 14]);
                }
                while client.poll_event().is_some() {}
            }
        });
        if n >= warmup {
            allocations += count;
        }
    }
    (allocations, sent)
}

/// RFC 5321 4.5.2 content after the 354: 64 MiB in 64 KiB blocks, no allocation once the
/// buffers have grown to their working size.
#[test]
fn data_streaming_allocates_nothing_in_steady_state() {
    let (allocations, sent) = stream(false, 1024, 128);
    assert!(sent > 64 << 20);
    assert_eq!(allocations, 0, "{allocations} allocations over 896 blocks");
}

/// RFC 3030 BDAT chunks, answered as they go: the same.
#[test]
fn bdat_streaming_allocates_nothing_in_steady_state() {
    let (allocations, sent) = stream(true, 1024, 128);
    assert!(sent > 64 << 20);
    assert_eq!(allocations, 0, "{allocations} allocations over 896 blocks");
}

/// The counter does count.
#[test]
fn counter_sees_allocations() {
    let (_, n) = counting(|| std::hint::black_box(vec![0u8; 32]));
    assert_eq!(n, 1);
}
