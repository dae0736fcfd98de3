//! Sending content allocates nothing per message: one `ContentWriter` and one caller buffer
//! carry a thousand messages of assorted sizes, DATA and BDAT, with no heap allocation after
//! setup (style guide, testing habit 5).
//!
//! Its own test binary, because it installs a counting global allocator; only the thread that
//! switches counting on is counted, so the harness's own allocations do not interfere.

use smtp_proto::content::{ContentError, Finish, Framing};
use smtp_proto::{BodyEncoder, ChunkEncoder, ContentWriter};

mod counting_alloc;
use counting_alloc::counting;

/// What a message's wire bytes came to, kept without allocating: length and a checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Digest {
    len: u64,
    hash: u64,
}

impl Digest {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // FNV-1a.
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.len += bytes.len() as u64;
    }
}

/// Sends one message through `writer` into `buf`, `step` input bytes per write.
fn send(
    writer: &mut ContentWriter,
    buf: &mut [u8],
    body: &[u8],
    step: usize,
) -> Result<Digest, ContentError> {
    let mut digest = Digest {
        len: 0,
        hash: 0xcbf2_9ce4_8422_2325,
    };
    for piece in body.chunks(step) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = writer.write(rest, buf)?;
            digest.add(&buf[..p.written]);
            rest = &rest[p.consumed..];
        }
    }
    loop {
        let f = writer.finish(buf)?;
        digest.add(&buf[..f.written()]);
        if let Finish::Complete { .. } = f {
            return Ok(digest);
        }
    }
}

/// Bodies of assorted sizes (0 to 64 KiB), with dots at line starts, bare LF, bare CR, CRLF
/// and binary bytes, so every path of the encoders runs.
fn bodies() -> Vec<Vec<u8>> {
    let sizes = [
        0usize, 1, 2, 5, 17, 80, 999, 1000, 4096, 10_000, 30_000, 65_537,
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..1000)
        .map(|i| {
            let size = sizes[i % sizes.len()];
            (0..size)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    match seed % 16 {
                        0 => b'.',
                        1 => b'\n',
                        2 => b'\r',
                        3 => (seed >> 8) as u8,
                        _ => b'a' + (seed % 26) as u8,
                    }
                })
                .collect()
        })
        .collect()
}

/// RFC 5321 4.5.2 / RFC 3030 2 content, the way a caller would send it after setup: one writer,
/// one 1,500-byte buffer, 1,000 messages (reset between them), assorted input steps. Zero
/// allocations; and the bytes are the reference encoders' (checked outside the count).
#[test]
fn thousand_messages_through_one_writer_allocate_nothing() {
    let bodies = bodies();
    for framing in [
        Framing::Data,
        Framing::Bdat { chunk_size: 4096 },
        Framing::BinaryBdat { chunk_size: 1000 },
    ] {
        let mut writer = ContentWriter::new(framing, Some(1 << 20));
        let mut buf = [0u8; 1500];
        let mut digests = vec![Digest::default(); bodies.len()];
        let (messages, allocations) = counting(|| {
            let mut messages = 0;
            for (i, (body, digest)) in bodies.iter().zip(digests.iter_mut()).enumerate() {
                writer.reset();
                let step = [1 << 16, 1, 7, 512][i % 4];
                *digest = send(&mut writer, &mut buf, body, step).expect("under the limit");
                messages += 1;
            }
            messages
        });
        assert_eq!(messages, 1000);
        assert_eq!(allocations, 0, "{framing:?}: {allocations} allocations");

        // The DATA bytes are exactly the reference encoder's; BDAT carries the same length of
        // content plus headers (the framing itself is checked in tests/content.rs).
        for (i, body) in bodies.iter().enumerate().step_by(37) {
            let mut reference = Digest {
                len: 0,
                hash: 0xcbf2_9ce4_8422_2325,
            };
            let mut wire = Vec::new();
            match framing {
                Framing::Data => {
                    let mut encoder = BodyEncoder::new();
                    encoder.encode(body, &mut wire);
                    encoder.finish(&mut wire);
                    reference.add(&wire);
                    assert_eq!(digests[i], reference, "message {i}");
                }
                _ => {
                    let binary = matches!(framing, Framing::BinaryBdat { .. });
                    let mut encoder = ChunkEncoder::new(binary);
                    encoder.encode(body, &mut wire);
                    encoder.finish(&mut wire);
                    assert!(digests[i].len > wire.len() as u64, "message {i}");
                }
            }
        }
    }
}

/// RFC 1870: refusing a message over the SIZE limit, then resetting for the next one, does
/// not allocate either.
#[test]
fn size_refusals_allocate_nothing() {
    let bodies = bodies();
    for framing in [Framing::Data, Framing::Bdat { chunk_size: 4096 }] {
        let mut writer = ContentWriter::new(framing, Some(5_000));
        let mut buf = [0u8; 700];
        let ((sent, refused), allocations) = counting(|| {
            let (mut sent, mut refused) = (0, 0);
            for body in &bodies {
                writer.reset();
                match send(&mut writer, &mut buf, body, 333) {
                    Ok(_) => sent += 1,
                    Err(ContentError::SizeExceeded { limit: 5_000, .. }) => refused += 1,
                    Err(other) => panic!("{other}"),
                }
            }
            (sent, refused)
        });
        assert!(sent > 0 && refused > 0, "{sent} sent, {refused} refused");
        assert_eq!(allocations, 0, "{framing:?}: {allocations} allocations");
    }
}

/// The counter does count (so the zeros above mean something).
#[test]
fn counter_sees_allocations() {
    let (_, n) = counting(|| std::hint::black_box(vec![0u8; 32]));
    assert_eq!(n, 1);
    let (_, n) = counting(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        v.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        std::hint::black_box(v)
    });
    assert_eq!(n, 2);
}
