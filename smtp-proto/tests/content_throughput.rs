//! Throughput of `ContentWriter` against `BodyEncoder::encode` on a 64 MiB body. Not a test
//! of behaviour: ignored by default, run it in release to get figures:
//!
//! ```text
//! cargo test --release -p smtp-proto --test content_throughput -- --ignored --nocapture
//! ```

use smtp_proto::content::{Finish, Framing};
use smtp_proto::{BodyEncoder, ContentWriter};
use std::hint::black_box;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// 64 MiB of mail-like text: 76-byte lines, LF or CRLF line ends, a dot-led line now and then.
fn body(crlf: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 * MIB + 100);
    let mut n = 0u64;
    while body.len() < 64 * MIB {
        n += 1;
        if n % 50 == 0 {
            body.push(b'.');
        }
        body.extend((0..75).map(|i| b'a' + ((n as usize + i) % 26) as u8));
        body.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    body.truncate(64 * MIB);
    body
}

/// Best of five runs of `f`, in MiB/s.
fn best(mut f: impl FnMut() -> usize) -> f64 {
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        black_box(f());
        fastest = fastest.min(start.elapsed());
    }
    64.0 / fastest.as_secs_f64()
}

fn writer_run(writer: &mut ContentWriter, body: &[u8], block: usize, out: &mut [u8]) -> usize {
    writer.reset();
    let mut total = 0;
    for piece in body.chunks(block) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = writer.write(rest, out).unwrap();
            total += black_box(&out[..p.written]).len();
            rest = &rest[p.consumed..];
        }
    }
    loop {
        let f = writer.finish(out).unwrap();
        total += f.written();
        if let Finish::Complete { .. } = f {
            return total;
        }
    }
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn content_writer_throughput() {
    for crlf in [false, true] {
        let body = body(crlf);
        println!(
            "body: 64 MiB, {} line ends",
            if crlf { "CRLF" } else { "LF" }
        );
        let mut reused = Vec::with_capacity(70 * MIB);
        let figures = [
            (
                "BodyEncoder::encode, fresh Vec",
                best(|| {
                    let mut wire = Vec::new();
                    let mut encoder = BodyEncoder::new();
                    encoder.encode(&body, &mut wire);
                    encoder.finish(&mut wire);
                    wire.len()
                }),
            ),
            (
                "BodyEncoder::encode, reused Vec",
                best(|| {
                    reused.clear();
                    let mut encoder = BodyEncoder::new();
                    encoder.encode(&body, &mut reused);
                    encoder.finish(&mut reused);
                    reused.len()
                }),
            ),
            ("ContentWriter Data, 64 KiB out", {
                let mut writer = ContentWriter::new(Framing::Data, None);
                let mut out = vec![0u8; 64 * 1024];
                best(|| writer_run(&mut writer, &body, body.len(), &mut out))
            }),
            ("ContentWriter Data + SIZE limit, 64 KiB out", {
                let mut writer = ContentWriter::new(Framing::Data, Some(1 << 40));
                let mut out = vec![0u8; 64 * 1024];
                best(|| writer_run(&mut writer, &body, body.len(), &mut out))
            }),
            ("ContentWriter Data, 1.5 KiB out", {
                let mut writer = ContentWriter::new(Framing::Data, None);
                let mut out = vec![0u8; 1500];
                best(|| writer_run(&mut writer, &body, body.len(), &mut out))
            }),
            (
                "ContentWriter Bdat 64 KiB chunks, 64 KiB blocks, 64 KiB out",
                {
                    let mut writer = ContentWriter::new(
                        Framing::Bdat {
                            chunk_size: 64 * 1024,
                        },
                        None,
                    );
                    let mut out = vec![0u8; 64 * 1024];
                    best(|| writer_run(&mut writer, &body, 64 * 1024, &mut out))
                },
            ),
        ];
        for (name, mib_s) in figures {
            println!("  {name:<60} {mib_s:>8.0} MiB/s");
        }
    }
}
