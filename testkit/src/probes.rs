//! The probe cases every adapter runs (`tests/probe.rs` in `mailwire-blocking` and
//! `mailwire-tokio`): a scripted server, how far the probe goes, and what must come of it,
//! stated in the shared types (`ProbeUntil`, `ProbeReport`, `Error`), so the adapters cannot
//! give two answers.

use crate::mock::{Mock, Peer};
use mailwire::{Class, Envelope, Mailbox, Milestone, ProbeDepth, Verdict};
use mailwire_transport::{Error, ProbeReport, ProbeUntil};

/// One probe against one scripted server.
pub struct ProbeCase {
    /// A name, for failure messages.
    pub name: &'static str,
    /// The server's script; it returns every line the client sent.
    pub script: fn(&mut Peer),
    /// How far the probe goes.
    pub until: fn() -> ProbeUntil,
    /// What must come of it, given the client's lines the server read.
    pub check: fn(Result<ProbeReport, Error>, &[String]),
}

/// Runs every case with `probe` (the adapter's: `port` is the mock's, on 127.0.0.1), each
/// against a fresh scripted server; panics naming the case that failed.
pub fn run_probe_table(probe: impl Fn(u16, ProbeUntil) -> Result<ProbeReport, Error>) {
    for case in probe_cases() {
        let script = case.script;
        let mock = Mock::start(move |peer| {
            script(peer);
            std::mem::take(&mut peer.lines)
        });
        let result = probe(mock.port, (case.until)());
        let lines = mock.join();
        let check = std::panic::AssertUnwindSafe(|| (case.check)(result, &lines));
        let checked = std::panic::catch_unwind(check);
        assert!(checked.is_ok(), "probe case {} failed", case.name);
    }
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("a@example.org").expect("an address")),
        to.iter().map(|a| Mailbox::parse(a).expect("an address")),
    )
}

/// The cases.
pub fn probe_cases() -> Vec<ProbeCase> {
    vec![
        ProbeCase {
            // The connection alone: nothing sent, nothing read.
            name: "connect_says_nothing",
            script: |peer| {
                peer.drain();
            },
            until: || ProbeUntil::Connect,
            check: |result, lines| {
                let report = result.expect("a report");
                assert!(report.greeting.is_none() && report.capabilities.is_none());
                assert_eq!(report.class(), Class::Delivered);
                assert!(
                    lines.iter().all(String::is_empty),
                    "nothing sent: {lines:?}"
                );
            },
        },
        ProbeCase {
            // RFC 5321 4.1.1.10: QUIT after the greeting, no EHLO; the greeting kept.
            name: "greeting_quits_there",
            script: |peer| {
                peer.send("220 mock.test ESMTP hello\r\n");
                peer.expect("QUIT");
                peer.send("221 bye\r\n");
            },
            until: || ProbeUntil::Milestone(Milestone::Greeting),
            check: |result, lines| {
                let report = result.expect("a report");
                let greeting = report.greeting.expect("the greeting");
                assert_eq!(greeting.text_lossy(), "mock.test ESMTP hello");
                assert!(report.capabilities.is_none());
                assert_eq!(lines, ["QUIT"]);
            },
        },
        ProbeCase {
            // QUIT after EHLO; the capabilities kept.
            name: "ehlo_quits_there",
            script: |peer| {
                peer.hello(&["PIPELINING", "SIZE 1000"]);
                peer.expect("QUIT");
                peer.send("221 bye\r\n");
            },
            until: || ProbeUntil::Milestone(Milestone::Hello),
            check: |result, _| {
                let report = result.expect("a report");
                let caps = report.capabilities.expect("the capabilities");
                assert!(caps.pipelining);
                assert_eq!(caps.max_size(), Some(1000));
                assert!(!report.tls && report.authenticated.is_none());
            },
        },
        ProbeCase {
            // MAIL and RCPT without DATA (RFC 5321 3.3): every reply in the outcome; a refused
            // recipient makes it partial, as a message would be.
            name: "rcpt_reports_every_reply_and_sends_no_data",
            script: |peer| {
                peer.hello(&[]);
                peer.expect("MAIL FROM:<a@example.org>");
                peer.send("250 2.1.0 ok\r\n");
                peer.expect("RCPT TO:<b@example.net>");
                peer.send("250 2.1.5 ok\r\n");
                peer.expect("RCPT TO:<c@example.net>");
                peer.send("550 5.1.1 no such user\r\n");
                peer.expect("QUIT");
                peer.send("221 bye\r\n");
            },
            until: || ProbeUntil::Transaction {
                envelope: envelope(&["b@example.net", "c@example.net"]),
                depth: ProbeDepth::Rcpt,
            },
            check: |result, lines| {
                let report = result.expect("a report");
                assert!(!lines.iter().any(|l| l.starts_with("DATA")), "{lines:?}");
                let outcome = report.outcome.as_ref().expect("an outcome");
                assert!(
                    matches!(&outcome.verdict, Verdict::Probed { mail } if mail.code().get() == 250)
                );
                let rcpt = outcome.recipients[1].rcpt.as_ref().expect("a reply");
                assert_eq!(rcpt.code().get(), 550);
                assert_eq!(report.class(), Class::Partial);
            },
        },
        ProbeCase {
            // A session that ends before the stop point is an error, classed by the core.
            name: "refused_greeting_is_an_error",
            script: |peer| {
                peer.send("554 5.3.2 not now\r\n");
                peer.drain();
            },
            until: || ProbeUntil::Milestone(Milestone::Hello),
            check: |result, _| {
                let err = result.expect_err("an error");
                assert!(matches!(err, Error::Session { .. }), "{err:?}");
                assert_eq!(err.class(), Class::Permanent);
            },
        },
    ]
}
