//! Parses one of the benchmark replies many times with our parser, for a profiler:
//!
//! ```sh
//! cargo build --release -p smtp-benches --bin reply_loop
//! valgrind --tool=callgrind target/release/reply_loop lines100 20000
//! callgrind_annotate callgrind.out.*
//! ```
//!
//! Arguments: the reply (`single`, `ehlo10`, `lines100`; default `lines100`) and the number of
//! parses (default 20,000). Prints the bytes consumed, so the work cannot be optimised away.
fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "lines100".into());
    let rounds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let Some((_, bytes)) = smtp_benches::replies()
        .into_iter()
        .find(|(name, _)| *name == which)
    else {
        eprintln!("reply_loop: unknown reply {which} (single, ehlo10, lines100)");
        std::process::exit(2);
    };
    let mut parser = smtp_proto::ReplyParser::new(smtp_proto::ParserConfig::default());
    let mut reply = smtp_proto::Reply::default();
    let mut consumed_total = 0usize;
    for _ in 0..rounds {
        match parser.parse(std::hint::black_box(&bytes), &mut reply) {
            Ok(smtp_proto::Status::Complete { consumed }) => consumed_total += consumed,
            other => panic!("unexpected parse result {other:?}"),
        }
    }
    println!("{consumed_total}");
}
