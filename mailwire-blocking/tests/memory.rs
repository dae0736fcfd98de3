//! The blocking adapter holds a bounded number of content bytes whatever it is given:
//! `send_many` queues every message but pulls each body from the caller's bytes as the session
//! takes it, and `send_bytes` and `send` never copy a body whole. Measured as the high-water
//! mark of heap bytes the sending thread holds (its own test binary: it installs a counting
//! allocator), against Postfix's `smtp-sink`.

mod support;

use mailwire_blocking::{Client, MessageOutcome};
use mailwire_testkit::{dotted_text, peak_heap, peer_or_skip, PeakAlloc, SmtpSink};
use std::time::Duration;
use support::*;

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

const T: Duration = Duration::from_secs(30);

/// The session's body buffer (256 KiB), its output and the adapter's (each up to twice that as
/// they grow), staged content and a read buffer; measured about 1.5 MB.
const BOUND: usize = 4 << 20;

/// `send_many` with 40 messages of 1 MiB at once: all accepted, the thread never holding more
/// than the bound though 40 MiB were queued (it used to hold every queued body's wire form).
#[test]
fn send_many_holds_the_body_buffer() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body = dotted_text(1 << 20);
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let (reports, peak) = peak_heap(|| {
        client
            .send_many((0..40).map(|_| (envelope("a@example.org", &["b@example.net"]), &body[..])))
    });
    assert!(
        reports
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{reports:?}"
    );
    client.quit().unwrap();
    eprintln!("peak heap: {peak} bytes");
    assert!(peak < BOUND, "held {peak} bytes at once");
}

/// A 64 MiB body in memory (`send_bytes`) and the same streamed from a reader (`send`): the
/// same bound; the body's size does not show.
#[test]
fn large_bodies_are_not_copied_whole() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body = dotted_text(64 << 20);
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let (outcome, peak) =
        peak_heap(|| client.send_bytes(envelope("a@example.org", &["b@example.net"]), &body));
    assert!(outcome.unwrap().is_fully_accepted());
    eprintln!("send_bytes peak heap: {peak} bytes");
    assert!(peak < BOUND, "send_bytes held {peak} bytes at once");
    let (outcome, peak) =
        peak_heap(|| client.send(envelope("a@example.org", &["b@example.net"]), &body[..]));
    assert!(outcome.unwrap().is_fully_accepted());
    eprintln!("send peak heap: {peak} bytes");
    assert!(peak < BOUND, "send held {peak} bytes at once");
    client.quit().unwrap();
}
