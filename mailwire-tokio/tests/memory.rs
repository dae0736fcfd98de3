//! The tokio adapter holds a bounded number of content bytes whatever it is given, as the
//! blocking one does: `send_many` queues every message but pulls each body from the caller's
//! bytes as the session takes it (`mailwire_transport::Feeds`), and `send_bytes` and `send`
//! never copy a body whole. Measured as the high-water mark of heap bytes the test thread
//! holds (its own test binary: it installs a counting allocator; a current-thread runtime, so
//! the whole session runs on that thread), against Postfix's `smtp-sink`.

mod support;

use mailwire_testkit::{dotted_text, peak_heap, peer_or_skip, PeakAlloc, SmtpSink};
use mailwire_tokio::{Client, MessageOutcome, Pool, PoolOptions};
use std::time::Duration;
use support::*;

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

const T: Duration = Duration::from_secs(30);

/// The blocking adapter's bound: the session's body buffer (256 KiB), its output and the
/// adapter's (each up to twice that as they grow), staged content and a read buffer.
const BOUND: usize = 4 << 20;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `send_many` with 40 messages of 1 MiB at once: all accepted, the thread never holding more
/// than the bound though 40 MiB were queued (it used to copy every body into the session).
#[test]
fn send_many_holds_the_body_buffer() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body = dotted_text(1 << 20);
    let rt = current_thread();
    let mut client = rt
        .block_on(Client::connect(options(sink.port(), T)))
        .unwrap();
    let (reports, peak) =
        peak_heap(|| {
            rt.block_on(client.send_many(
                (0..40).map(|_| (envelope("a@example.org", &["b@example.net"]), &body[..])),
            ))
        });
    assert_eq!(reports.len(), 40);
    assert!(
        reports
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{reports:?}"
    );
    rt.block_on(client.quit()).unwrap();
    eprintln!("peak heap: {peak} bytes");
    assert!(peak < BOUND, "held {peak} bytes at once");
}

/// A 64 MiB body in memory (`send_bytes`) and the same streamed from a reader (`send`): the
/// same bound; the body's size does not show.
#[test]
fn large_bodies_are_not_copied_whole() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body = dotted_text(64 << 20);
    let rt = current_thread();
    let mut client = rt
        .block_on(Client::connect(options(sink.port(), T)))
        .unwrap();
    let (outcome, peak) = peak_heap(|| {
        rt.block_on(client.send_bytes(envelope("a@example.org", &["b@example.net"]), &body))
    });
    assert!(outcome.unwrap().is_fully_accepted());
    eprintln!("send_bytes peak heap: {peak} bytes");
    assert!(peak < BOUND, "send_bytes held {peak} bytes at once");
    let (outcome, peak) = peak_heap(|| {
        rt.block_on(client.send(envelope("a@example.org", &["b@example.net"]), &body[..]))
    });
    assert!(outcome.unwrap().is_fully_accepted());
    eprintln!("send peak heap: {peak} bytes");
    assert!(peak < BOUND, "send held {peak} bytes at once");
    rt.block_on(client.quit()).unwrap();
}

/// The pool's sends are the client's: four 16 MiB bodies sent one after another through a
/// `Pool` (one connection, reused), the same bound.
#[test]
fn pool_sends_are_bounded_too() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body = dotted_text(16 << 20);
    let rt = current_thread();
    let pool = Pool::new(options(sink.port(), T), PoolOptions::default()).unwrap();
    let (outcomes, peak) = peak_heap(|| {
        rt.block_on(async {
            let mut outcomes = Vec::new();
            for _ in 0..4 {
                let env = envelope("a@example.org", &["b@example.net"]);
                outcomes.push(pool.send_bytes(env, &body).await);
            }
            outcomes
        })
    });
    assert!(
        outcomes
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{outcomes:?}"
    );
    assert_eq!(pool.stats().opened, 1, "{:?}", pool.stats());
    rt.block_on(pool.close_idle());
    eprintln!("pool peak heap: {peak} bytes");
    assert!(peak < BOUND, "the pool held {peak} bytes at once");
}
