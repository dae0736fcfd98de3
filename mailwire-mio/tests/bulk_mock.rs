//! The bulk sender against a scripted server doing what real servers do not do on demand:
//! dropping connections mid-transaction, 421 mid-queue, silence. Every message must end in
//! exactly one outcome.

mod support;

use mailwire::{ClientName, Config, Envelope, Error, Mailbox, Stage, Timeouts, TlsPolicy};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Outcome, Report};
use mailwire_mio::TransportError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{MockServer, Script};

fn session(timeout: Duration) -> Config {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = Timeouts::uniform(timeout);
    config
}

fn messages(n: usize) -> Vec<BulkMessage> {
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let body: Arc<[u8]> = b"Subject: test\r\n\r\nhello\r\n".to_vec().into();
    (0..n)
        .map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)))
        .collect()
}

/// Runs and checks that every message got exactly one report.
fn run_checked(config: &BulkConfig, n: usize) -> (bulk::Summary, Vec<Report>) {
    let mut reports = Vec::new();
    let summary = bulk::run(config, messages(n), |r| reports.push(r.clone())).unwrap();
    let mut seen = vec![0u32; n];
    for r in &reports {
        seen[r.index] += 1;
    }
    assert!(
        seen.iter().all(|&c| c == 1),
        "every message exactly once: {seen:?}"
    );
    assert_eq!(summary.messages, n);
    assert_eq!(summary.accepted + summary.rejected + summary.failed, n);
    (summary, reports)
}

/// RFC 5321 6.1 (no message lost): half the connections close mid-transaction (after their
/// second message, on the next MAIL); every message ends accepted or failed after its tries,
/// exactly once, and the server's count matches the client's.
#[test]
fn half_the_connections_close_mid_transaction() {
    let server = MockServer::start(|n| Script {
        close_at_mail: (n % 2 == 1).then_some(2),
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 8;
    config.window = 4;
    config.attempts = 4;
    let (summary, reports) = run_checked(&config, 300);
    assert_eq!(
        summary.accepted,
        server.accepted(),
        "client and server agree"
    );
    assert_eq!(summary.rejected, 0);
    // Half the connections fail; the others take the retries.
    assert!(
        summary.connections > 8,
        "new connections replace the closed ones"
    );
    for r in &reports {
        match &r.outcome {
            Outcome::Done(o) if o.is_fully_accepted() => {
                assert!(r.attempts >= 1 && r.attempts <= 4)
            }
            Outcome::Failed(f) => {
                assert_eq!(r.attempts, 4, "failed only after every try: {f}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        reports.iter().any(|r| r.attempts > 1),
        "some messages were retried"
    );
}

/// Connections reset (RST, unread bytes discarded) mid-transaction: replies may be lost, but
/// every message still gets exactly one outcome.
#[test]
fn reset_connections_lose_no_message() {
    let server = MockServer::start(|n| Script {
        reset_at_mail: (n % 3 == 0).then_some(1),
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 6;
    config.window = 8;
    config.attempts = 5;
    let (summary, _) = run_checked(&config, 200);
    // A reply lost to the reset makes the client retry a message the server took.
    assert!(server.accepted() >= summary.accepted);
    assert!(summary.accepted > 0);
}

/// A connection closed after the content but before the final reply: the message's content
/// was sent (`content_sent`), and it is retried elsewhere (RFC 5321 6.1: a duplicate beats a loss).
#[test]
fn close_after_content_is_retried() {
    let (summary, reports, stored) = close_after_first_content(2, true);
    assert_eq!(summary.accepted, 10);
    assert_eq!(stored, 10);
    assert_eq!(
        reports.iter().find(|r| r.index == 0).map(|r| r.attempts),
        Some(2)
    );
}

/// RFC 5321 3.8: a 421 in the middle of a queue ends the session; the messages it stranded go
/// to a new connection.
#[test]
fn service_closing_mid_queue_requeues() {
    let server = MockServer::start(|n| Script {
        reply_421_at_mail: (n < 3).then_some(5),
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 2;
    config.window = 8;
    // Three connections say 421: a message can be stranded on each of them, the fourth try
    // goes to a well-behaved one.
    config.attempts = 4;
    let (summary, _) = run_checked(&config, 60);
    assert_eq!(summary.accepted, 60);
    assert_eq!(server.accepted(), 60);
    assert!(summary.connections >= 3);
}

/// A 421 on every connection after a few messages, with one try: the stranded messages are
/// reported failed with the core's `ServiceClosing`, once each.
#[test]
fn service_closing_without_retries_reports_failed() {
    let server = MockServer::start(|_| Script {
        reply_421_at_mail: Some(2),
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 1;
    config.window = 5;
    config.attempts = 1;
    let (summary, reports) = run_checked(&config, 20);
    assert_eq!(summary.accepted, server.accepted());
    assert!(summary.failed > 0);
    for r in reports {
        if let Outcome::Failed(f) = r.outcome {
            assert!(
                matches!(
                    f.error,
                    Some(Error::ServiceClosing {
                        stage: Stage::Mail,
                        ..
                    })
                ),
                "{f:?}"
            );
        }
    }
}

/// RFC 5321 4.5.3.2.1: a server that never greets times out (no timer thread: the driver sleeps
/// until the deadline); every message fails after its tries, and the run ends.
#[test]
fn silent_server_times_out() {
    let server = MockServer::start(|_| Script {
        silent: true,
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_millis(300)));
    config.connections = 2;
    config.attempts = 2;
    let start = Instant::now();
    let (summary, reports) = run_checked(&config, 5);
    let elapsed = start.elapsed();
    assert_eq!(summary.failed, 5);
    assert!(
        elapsed >= Duration::from_millis(550),
        "two 300 ms tries: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    for r in reports {
        let Outcome::Failed(f) = r.outcome else {
            panic!("{:?}", r.outcome)
        };
        assert_eq!(
            f.error,
            Some(Error::Timeout {
                stage: Stage::Greeting
            })
        );
        assert_eq!(r.attempts, 2);
    }
}

/// Nobody listening: the connects fail, every message fails after its tries with the connect
/// error, and the run ends.
#[test]
fn connection_refused_fails_every_message() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut config = BulkConfig::new(addr, session(Duration::from_secs(5)));
    config.connections = 3;
    config.attempts = 2;
    let (summary, reports) = run_checked(&config, 7);
    assert_eq!(summary.failed, 7);
    for r in reports {
        let Outcome::Failed(f) = &r.outcome else {
            panic!()
        };
        assert!(
            matches!(f.transport.as_deref(), Some(TransportError::Connect(_))),
            "{f:?}"
        );
        // A connection that could not be made is judged temporary, as smtp-send judges it.
        assert_eq!(r.class(), mailwire::Class::Temporary);
    }
}

/// RFC 3030: with CHUNKING, whole messages go out ahead (BDAT … LAST), many per round trip.
#[test]
fn chunking_server_gets_every_message() {
    let server = MockServer::start(|_| Script {
        chunking: true,
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 3;
    config.window = 16;
    let (summary, _) = run_checked(&config, 500);
    assert_eq!(summary.accepted, 500);
    assert_eq!(server.accepted(), 500);
}

/// Ten messages over one connection at a time, the first connection closing after the first
/// message's content, before its reply: the summary, the reports, the messages the server took.
fn close_after_first_content(attempts: u32, resend: bool) -> (bulk::Summary, Vec<Report>, usize) {
    let server = MockServer::start(|n| Script {
        close_after_content: (n == 0).then_some(0),
        ..Script::default()
    });
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 1;
    config.window = 4;
    config.attempts = attempts;
    config.retry_after_content = resend;
    let (summary, reports) = run_checked(&config, 10);
    (summary, reports, server.accepted())
}

/// RFC 5321 6.1, the other side of it: with `retry_after_content` off, a message whose
/// content was sent before the connection closed is reported failed with `content_sent` (its
/// outcome unknown), tried once and never sent twice; the others go on a new connection.
#[test]
fn close_after_content_without_resend_is_failed_unknown() {
    let (summary, reports, stored) = close_after_first_content(3, false);
    assert_eq!((summary.accepted, summary.failed), (9, 1));
    assert_eq!(stored, 9);
    let first = reports.iter().find(|r| r.index == 0).unwrap();
    assert_eq!(first.attempts, 1, "not resent");
    let Outcome::Failed(f) = &first.outcome else {
        panic!("{:?}", first.outcome)
    };
    assert!(f.content_sent, "{f:?}");
}

/// An input that counts what was taken from it.
fn counted(
    n: usize,
    taken: &Arc<std::sync::atomic::AtomicUsize>,
) -> impl Iterator<Item = BulkMessage> {
    let taken = Arc::clone(taken);
    messages(n).into_iter().inspect(move |_| {
        taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    })
}

/// The stop flag, set after the first outcome, with a rate of one message a second (so the
/// next message always waits for its token when the flag is seen): no more messages are taken
/// from the input, the one waiting is reported `NotAttempted`, every message taken has exactly
/// one report, and the run returns.
#[test]
fn stop_flag_ends_the_run_with_the_rest_not_attempted() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let server = MockServer::start(|_| Script::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 2;
    config.stop = Some(Arc::clone(&stop));
    config.rate = Some(bulk::Rate::per_second(1.0).unwrap());
    let taken = Arc::new(AtomicUsize::new(0));
    let mut reports = Vec::new();
    let summary = bulk::run(&config, counted(200, &taken), |r| {
        stop.store(true, Ordering::SeqCst);
        reports.push(r.clone());
    })
    .unwrap();
    let taken = taken.load(Ordering::SeqCst);
    assert!(taken < 200, "the input was not read to its end: {taken}");
    assert_eq!(reports.len(), taken, "one report per message taken");
    let mut seen: Vec<usize> = reports.iter().map(|r| r.index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..taken).collect::<Vec<_>>());
    let not_attempted = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::NotAttempted))
        .count();
    assert!(not_attempted >= 1, "{reports:?}");
    assert_eq!(summary.not_attempted, not_attempted);
    assert!(reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::NotAttempted))
        .all(|r| r.attempts == 0 && r.class() == mailwire::Class::Temporary));
    assert_eq!(summary.accepted, server.accepted());
    assert_eq!(
        summary.accepted + summary.rejected + summary.failed + summary.not_attempted,
        taken
    );
}

/// A rate across connections: every message still gets exactly one outcome and the server
/// the same count (the pace itself is measured in notes, not asserted).
#[test]
fn rate_limited_run_delivers_every_message() {
    let server = MockServer::start(|_| Script::default());
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 3;
    config.rate = Some(bulk::Rate::per_second(400.0).unwrap().with_burst(4));
    let (summary, _) = run_checked(&config, 60);
    assert_eq!(summary.accepted, 60);
    assert_eq!(server.accepted(), 60);
}

/// A pulled input in lock step with its outcomes (as a producer that writes the next job only
/// once it has read the last one's outcome): each message's report comes while the input has
/// nothing yet, so the run neither waits for more input to report nor ends early; the same
/// connection carries them all, kept open while the input is open.
#[test]
fn pulled_input_in_lock_step_with_its_outcomes() {
    use std::cell::Cell;
    use std::rc::Rc;
    const N: usize = 5;
    let server = MockServer::start(|_| Script::default());
    let mut config = BulkConfig::new(server.addr, session(Duration::from_secs(10)));
    config.connections = 2;
    let reported = Rc::new(Cell::new(0usize));
    let mut given = 0usize;
    let mut pulls = 0u64;
    let mut queue = messages(N).into_iter();
    let summary = {
        let seen = Rc::clone(&reported);
        bulk::run_pulled(
            &config,
            move || {
                pulls += 1;
                // Bounded: a run that never reports would end here, and fail below.
                if pulls > 1_000_000 {
                    return bulk::Pull::Ended;
                }
                if given == N {
                    return bulk::Pull::Ended;
                }
                if given > seen.get() {
                    return bulk::Pull::NotYet;
                }
                given += 1;
                queue.next().map_or(bulk::Pull::Ended, bulk::Pull::Message)
            },
            |r| {
                assert!(r.is_accepted(), "{r:?}");
                assert_eq!(r.index, reported.get());
                reported.set(reported.get() + 1);
            },
        )
        .unwrap()
    };
    assert_eq!(reported.get(), N);
    assert_eq!(summary.messages, N);
    assert_eq!(summary.accepted, N);
    assert_eq!(
        summary.connections, 1,
        "the idle connection waited for the input"
    );
    assert_eq!(server.accepted(), N);
}
