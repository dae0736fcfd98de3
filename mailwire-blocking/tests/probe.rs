//! `probe()` against scripted servers: each stop point says QUIT where it was asked to (or, for
//! the connection alone, says nothing), and the report holds what was learnt.

mod support;

use mailwire_blocking::mailwire::{Class, Milestone, ProbeDepth, Verdict};
use mailwire_blocking::{probe, Error, ProbeUntil};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(10);

/// Connect only: the client sends nothing and reads nothing.
#[test]
fn probe_connect_says_nothing() {
    let mock = Mock::start(|peer| peer.drain());
    let report = probe(options(mock.port, T), ProbeUntil::Connect).unwrap();
    assert!(report.greeting.is_none() && report.capabilities.is_none());
    assert_eq!(report.class(), Class::Delivered);
    assert!(mock.join().is_empty(), "nothing may be sent");
}

/// RFC 5321 4.1.1.10: after the greeting (no EHLO) and after EHLO, QUIT; the report keeps the
/// greeting and the capabilities.
#[test]
fn probe_milestones_quit_there() {
    let mock = Mock::start(|peer| {
        peer.send("220 mock.test ESMTP hello\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let report = probe(
        options(mock.port, T),
        ProbeUntil::Milestone(Milestone::Greeting),
    )
    .unwrap();
    mock.join();
    assert_eq!(
        report.greeting.unwrap().text_lossy(),
        "mock.test ESMTP hello"
    );
    assert!(report.capabilities.is_none());

    let mock = Mock::start(|peer| {
        peer.hello(&["PIPELINING", "SIZE 1000"]);
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let report = probe(
        options(mock.port, T),
        ProbeUntil::Milestone(Milestone::Hello),
    )
    .unwrap();
    mock.join();
    let caps = report.capabilities.unwrap();
    assert!(caps.pipelining);
    assert_eq!(caps.max_size(), Some(1000));
    assert!(!report.tls && report.authenticated.is_none());
}

/// MAIL and RCPT without DATA (RFC 5321 3.3): the outcome holds every reply; a refused
/// recipient makes it partial, as a message would be.
#[test]
fn probe_rcpt_reports_every_reply_and_sends_no_data() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL FROM:<a@example.org>");
        peer.send("250 2.1.0 ok\r\n");
        peer.expect("RCPT TO:<b@example.net>");
        peer.send("250 2.1.5 ok\r\n");
        peer.expect("RCPT TO:<c@example.net>");
        peer.send("550 5.1.1 no such user\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
        peer.lines.clone()
    });
    let report = probe(
        options(mock.port, T),
        ProbeUntil::Transaction {
            envelope: envelope("a@example.org", &["b@example.net", "c@example.net"]),
            depth: ProbeDepth::Rcpt,
        },
    )
    .unwrap();
    let lines = mock.join();
    assert!(!lines.iter().any(|l| l.starts_with("DATA")), "{lines:?}");
    let outcome = report.outcome.as_ref().unwrap();
    assert!(matches!(&outcome.verdict, Verdict::Probed { mail } if mail.code().get() == 250));
    assert_eq!(
        outcome.recipients[1].rcpt.as_ref().unwrap().code().get(),
        550
    );
    assert_eq!(report.class(), Class::Partial);
}

/// A session that ends before the stop point is an error, classed by the core.
#[test]
fn probe_refused_greeting_is_an_error() {
    let mock = Mock::start(|peer| {
        peer.send("554 5.3.2 not now\r\n");
        peer.drain();
    });
    let err = probe(
        options(mock.port, T),
        ProbeUntil::Milestone(Milestone::Hello),
    )
    .unwrap_err();
    mock.join();
    assert!(matches!(err, Error::Session { .. }), "{err:?}");
    assert_eq!(err.class(), Class::Permanent);
}
