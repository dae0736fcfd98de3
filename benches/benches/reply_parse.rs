//! Reply parsing: one complete reply per iteration, for three reply shapes, four ways:
//!
//! * `ours`: `mailwire::ReplyParser::parse` into one reused `Reply` (no allocation; see the
//!   `reply_allocs` binary for the count).
//! * `lettre`: lettre 0.11's nom parser through its public entry point, `Response::from_str`,
//!   after the UTF-8 check its reader also does (`read_line` into a `String`). Allocates a
//!   `Vec<String>` per reply. This is the most favourable case for lettre: its connection calls
//!   the parser again on the whole buffer after every line, so an n-line reply costs it n parses.
//! * `stalwart`: Stalwart's `smtp-proto` 0.2 `ResponseReceiver::parse` (reset between replies, as
//!   its client does). Allocates the reply's `String`.
//! * `memchr`: the floor: finding the reply's line ends with `memchr::memchr_iter(b'\n')` and
//!   nothing else (no code, no validation, no copy).
//!
//! Throughput is bytes; the report divides to get replies per second.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

fn ours(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply_parse");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, bytes) in mailwire_benches::replies() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));

        let mut parser = mailwire::ReplyParser::new(mailwire::ParserConfig::default());
        let mut reply = mailwire::Reply::default();
        let complete = mailwire::Status::Complete {
            consumed: bytes.len(),
        };
        assert_eq!(parser.parse(&bytes, &mut reply), Ok(complete));
        group.bench_with_input(BenchmarkId::new("ours", name), &bytes, |b, input| {
            b.iter(|| {
                let status = parser.parse(black_box(input), &mut reply);
                black_box(&reply);
                status
            })
        });

        let text = std::str::from_utf8(&bytes).unwrap();
        let parsed = lettre::transport::smtp::response::Response::from_str(text).unwrap();
        assert_eq!(parsed.message().count(), reply.line_count());
        group.bench_with_input(BenchmarkId::new("lettre", name), &bytes, |b, input| {
            b.iter(|| {
                let text = std::str::from_utf8(black_box(input)).unwrap();
                lettre::transport::smtp::response::Response::from_str(text)
            })
        });

        let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
        let response = receiver.parse(&mut bytes.iter()).unwrap();
        assert_eq!(response.code, reply.code().get());
        group.bench_with_input(BenchmarkId::new("stalwart", name), &bytes, |b, input| {
            b.iter(|| {
                receiver.reset();
                receiver.parse(&mut black_box(input).iter())
            })
        });

        assert_eq!(
            memchr::memchr_iter(b'\n', &bytes).count(),
            reply.line_count()
        );
        group.bench_with_input(BenchmarkId::new("memchr", name), &bytes, |b, input| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(input)).count())
        });
    }
    group.finish();
}

criterion_group!(benches, ours);
criterion_main!(benches);
