//! Parses one of the benchmark replies many times with one parser, for a profiler:
//!
//! ```sh
//! cargo build --release -p mailwire-benches --bin reply_loop
//! valgrind --tool=callgrind target/release/reply_loop ours lines100 20000
//! callgrind_annotate callgrind.out.*
//! ```
//!
//! Arguments: the parser (`ours`, `stalwart`, `lettre`; default `ours`), the reply (`single`,
//! `ehlo10`, `lines100`; default `lines100`) and the number of parses (default 20,000). Prints
//! a count of the parsed replies (lines for ours and lettre), so the work cannot be optimised
//! away; for Stalwart only the reply is touched, not scanned again.
use std::hint::black_box;
use std::str::FromStr;

fn main() {
    let mut args = std::env::args().skip(1);
    let parser = args.next().unwrap_or_else(|| "ours".into());
    let which = args.next().unwrap_or_else(|| "lines100".into());
    let rounds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let Some((_, bytes)) = mailwire_benches::replies()
        .into_iter()
        .find(|(name, _)| *name == which)
    else {
        eprintln!("reply_loop: unknown reply {which} (single, ehlo10, lines100)");
        std::process::exit(2);
    };
    let mut lines = 0usize;
    match parser.as_str() {
        "ours" => {
            let mut parser = mailwire::ReplyParser::new(mailwire::ParserConfig::default());
            let mut reply = mailwire::Reply::default();
            for _ in 0..rounds {
                match parser.parse(black_box(&bytes), &mut reply) {
                    Ok(mailwire::Status::Complete { .. }) => lines += reply.line_count(),
                    other => panic!("unexpected parse result {other:?}"),
                }
            }
        }
        "stalwart" => {
            let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
            for _ in 0..rounds {
                receiver.reset();
                let response = receiver.parse(&mut black_box(&bytes).iter()).unwrap();
                lines += usize::from(response.message.len() > 1);
            }
        }
        "lettre" => {
            for _ in 0..rounds {
                let text = std::str::from_utf8(black_box(&bytes)).unwrap();
                let response = lettre::transport::smtp::response::Response::from_str(text).unwrap();
                lines += response.message().count();
            }
        }
        _ => {
            eprintln!("reply_loop: unknown parser {parser} (ours, stalwart, lettre)");
            std::process::exit(2);
        }
    }
    println!("{lines}");
}
