//! Body encoding: dot-stuffing and line-end normalisation of a 100 MiB text body (70-byte lines,
//! every 20th starting with `.`), with LF and with CRLF line ends, against a plain copy of the
//! same bytes.
//!
//! * `copy`: `Vec::extend_from_slice` into a reused buffer (memcpy): the floor.
//! * `encode`: `DataEncoder::encode` of the whole body at once into a reused `Vec`, then `finish`.
//! * `encode_64k`: the same fed in 64 KiB chunks, as a streaming adapter feeds it.
//! * `encode_into_64k`: `DataEncoder::encode_into` into one fixed 64 KiB buffer, refilled
//!   (the output is dropped, as if written to a socket): no `Vec` growth at all.
//! * `session_64k`: the session's one content path: a `Client` past its 354 takes the body with
//!   `write_body` in 64 KiB blocks (with its back-pressure), and `poll_transmit` hands the wire
//!   bytes into one reused buffer, as an adapter does; the end of data at the end.
//! * `scan_portable`, `scan_avx2`, `scan_avx512bw`: the content scan alone (`mailwire_simd`,
//!   each variant this machine runs), over the body run by run as the encoder calls it (a run
//!   stops at a dot to stuff or a bare LF; the byte there is stepped over): what the encoders
//!   spend finding where content needs a change, without the copy. Also on a 1 MiB body
//!   (`crlf_1m`, with `copy`), which stays in cache: the 100 MiB rows are bound by memory.
//! * `measure`: `ContentMeter::update` of the body (its RFC 1870 size and whether it has 8-bit
//!   octets, as an adapter measures content before MAIL for a server that announced SIZE).
//! * `tally_portable`, `tally_avx2`, `tally_avx512bw` (1 MiB only): the meter's pass alone
//!   (`mailwire_simd`'s tally: bare line ends counted, 8-bit octets looked for), each variant.
//! * `encode_after_3` (1 MiB only): `encode` into a buffer that already holds 3 bytes, so
//!   that the output starts off every alignment.
//!
//! Throughput is input bytes. Sample counts are small: each iteration moves 100 MiB.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mailwire::body::ContentMeter;
use mailwire::{
    Client, ClientName, Config, DataEncoder, Envelope, Mailbox, MessageId, Timestamp, TlsPolicy,
};
use mailwire_benches::{text_body, LineEnd};
use std::hint::black_box;
use std::time::Duration;

const SIZE: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn body(c: &mut Criterion) {
    let mut group = c.benchmark_group("body_encode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(4));
    for (name, line_end) in [("lf", LineEnd::Lf), ("crlf", LineEnd::Crlf)] {
        let input = text_body(SIZE, line_end);
        group.throughput(Throughput::Bytes(input.len() as u64));
        // Room for the worst case (LF → CRLF, stuffed dots) so no iteration reallocates.
        let mut out: Vec<u8> = Vec::with_capacity(input.len() * 2 + 16);

        group.bench_with_input(BenchmarkId::new("copy", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(input));
                black_box(out.len())
            })
        });

        let mut encoder = DataEncoder::new();
        group.bench_with_input(BenchmarkId::new("encode", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                encoder.encode(black_box(input), &mut out);
                encoder.finish(&mut out);
                black_box(out.len())
            })
        });

        group.bench_with_input(BenchmarkId::new("encode_64k", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                for chunk in black_box(input).chunks(CHUNK) {
                    encoder.encode(chunk, &mut out);
                }
                encoder.finish(&mut out);
                black_box(out.len())
            })
        });

        for variant in mailwire_simd::Variant::ALL {
            if !variant.is_available() {
                continue;
            }
            let id = BenchmarkId::new(format!("scan_{}", variant.name()), name);
            group.bench_with_input(id, &input, |b, input| b.iter(|| scan_runs(variant, input)));
        }

        group.bench_with_input(BenchmarkId::new("measure", name), &input, |b, input| {
            b.iter(|| measure(black_box(input)))
        });

        let mut buf = vec![0u8; CHUNK];
        group.bench_with_input(
            BenchmarkId::new("encode_into_64k", name),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut rest: &[u8] = black_box(input);
                    let mut total = 0;
                    while !rest.is_empty() {
                        let (used, written) = encoder.encode_into(rest, &mut buf);
                        black_box(&buf[..written]);
                        total += written;
                        rest = &rest[used..];
                    }
                    total += encoder.finish_into(&mut buf).unwrap_or(0);
                    total
                })
            },
        );

        group.bench_with_input(BenchmarkId::new("session_64k", name), &input, |b, input| {
            b.iter(|| {
                let (mut client, id) = flowing();
                let now = Timestamp::ZERO;
                let mut wire = Vec::with_capacity(512 * 1024);
                let mut total = 0;
                for block in black_box(input).chunks(CHUNK) {
                    let mut rest = block;
                    while !rest.is_empty() {
                        let taken = client.write_body(id, rest).unwrap();
                        rest = &rest[taken..];
                        wire.clear();
                        total += client.poll_transmit(now, &mut wire);
                        black_box(&wire);
                    }
                }
                client.finish_body(id).unwrap();
                wire.clear();
                total + client.poll_transmit(now, &mut wire)
            })
        });

        // The encoders' output is what it should be: LF bodies grow by one byte a line,
        // and every line starting with '.' gains a dot.
        out.clear();
        encoder.encode(&input, &mut out);
        encoder.finish(&mut out);
        let lines = input.iter().filter(|&&b| b == b'\n').count();
        let dots = input
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"."))
            .count();
        let grow = if line_end == LineEnd::Lf { lines } else { 0 };
        assert_eq!(out.len(), input.len() + grow + dots + 3);
    }
    // The scan's own speed, on a 1 MiB body that stays in cache between iterations (the 100 MiB
    // above is bound by memory, whatever the scan).
    let small = text_body(1024 * 1024, LineEnd::Crlf);
    group.throughput(Throughput::Bytes(small.len() as u64));
    group.measurement_time(Duration::from_secs(2));
    let mut out: Vec<u8> = Vec::with_capacity(small.len() * 2);
    group.bench_with_input(BenchmarkId::new("copy", "crlf_1m"), &small, |b, input| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(input));
            black_box(out.len())
        })
    });
    let mut encoder = DataEncoder::new();
    group.bench_with_input(BenchmarkId::new("encode", "crlf_1m"), &small, |b, input| {
        b.iter(|| {
            out.clear();
            encoder.encode(black_box(input), &mut out);
            encoder.finish(&mut out);
            black_box(out.len())
        })
    });
    group.bench_with_input(
        BenchmarkId::new("measure", "crlf_1m"),
        &small,
        |b, input| b.iter(|| measure(black_box(input))),
    );
    // The same into a buffer that holds 3 bytes before the content, as a transmit buffer holds
    // the commands before it: the output then starts off a 4-byte boundary, which cost the
    // wide blocks' stores half as much time again until they were aligned (`mailwire_simd`).
    group.bench_with_input(
        BenchmarkId::new("encode_after_3", "crlf_1m"),
        &small,
        |b, input| {
            b.iter(|| {
                out.clear();
                out.extend_from_slice(b"3B:");
                encoder.encode(black_box(input), &mut out);
                encoder.finish(&mut out);
                black_box(out.len())
            })
        },
    );
    for variant in mailwire_simd::Variant::ALL
        .into_iter()
        .filter(|v| v.is_available())
    {
        let id = BenchmarkId::new(format!("scan_{}", variant.name()), "crlf_1m");
        group.bench_with_input(id, &small, |b, input| b.iter(|| scan_runs(variant, input)));
        let id = BenchmarkId::new(format!("tally_{}", variant.name()), "crlf_1m");
        group.bench_with_input(id, &small, |b, input| {
            b.iter(|| mailwire_simd::tally_with(variant, black_box(input)))
        });
        if let Some(scanner) = mailwire_simd::Scanner::with(variant) {
            let id = BenchmarkId::new(format!("scan_copy_{}", variant.name()), "crlf_1m");
            group.bench_with_input(id, &small, |b, input| {
                b.iter(|| {
                    out.clear();
                    scan_copy_runs(scanner, input, &mut out)
                })
            });
        }
    }
    group.finish();
}

/// The meter's size of `input` and whether it is 8-bit.
fn measure(input: &[u8]) -> (u64, bool) {
    let mut meter = ContentMeter::new();
    meter.update(input);
    (meter.size(), meter.eight_bit())
}

/// [`scan_runs`] with each run copied as the scan finds it (the fused scan and copy the
/// encoder runs), the byte where a run stops copied after it.
fn scan_copy_runs(scanner: mailwire_simd::Scanner, input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut rest: &[u8] = black_box(input);
    let mut runs = 0usize;
    while let Some(&first) = rest.first() {
        let mut run = scanner.copy_clean_prefix(rest, true, out);
        if run == 0 {
            out.push(first);
            run = 1;
        }
        rest = &rest[run..];
        runs += 1;
    }
    runs
}

/// The scan over `input` run by run, as the encoder calls it: a run stops at a dot to stuff
/// (or a bare line end) and the byte there is stepped over. Returns the runs.
fn scan_runs(variant: mailwire_simd::Variant, input: &[u8]) -> usize {
    let mut rest: &[u8] = black_box(input);
    let mut runs = 0usize;
    while !rest.is_empty() {
        let window = &rest[..rest.len().min(16 * 1024)];
        let run = mailwire_simd::clean_prefix_with(variant, window, true)
            .unwrap_or(0)
            .max(1);
        rest = &rest[run..];
        runs += 1;
    }
    runs
}

/// A session past EHLO, MAIL, RCPT and DATA's 354: content flows straight to the transmit
/// buffer.
fn flowing() -> (Client, MessageId) {
    let mut config = Config::new(ClientName::parse("client.bench.example").unwrap());
    config.tls = TlsPolicy::Never;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250-mx\r\n250-8BITMIME\r\n250 PIPELINING\r\n");
    let envelope = Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    );
    let id = client.send_message(envelope).unwrap();
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    while client.poll_event().is_some() {}
    (client, id)
}

criterion_group!(benches, body);
criterion_main!(benches);
