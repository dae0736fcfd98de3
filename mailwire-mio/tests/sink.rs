//! The bulk sender against Postfix's `smtp-sink` (a real, fast, pipelining server), started on
//! 127.0.0.1 by mailwire-testkit. Skipped when smtp-sink is not installed, unless
//! `SMTP_REQUIRE_PEERS=1` (CI), which makes a missing peer fail.

use mailwire::{
    ClientName, Config, Envelope, Mailbox, MessageOutcome, Timeouts, TlsPolicy, Verdict,
};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Outcome};
use mailwire_testkit::{peer_or_skip, SmtpSink};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn session() -> Config {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = Timeouts::uniform(Duration::from_secs(20));
    config
}

/// The last `mesg=N` smtp-sink's `-c` counters printed: messages ended with `.` on its side.
fn sink_messages(sink: &SmtpSink) -> Option<usize> {
    let out = sink.output();
    let at = out.rfind("mesg=")?;
    out[at + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// RFC 2920 pipelining across messages on 200 connections at once: 10,000 messages of 1 KiB,
/// every one accounted for by the client (exactly one outcome each) and by the server (its
/// message counter).
#[test]
fn two_hundred_connections_ten_thousand_messages() {
    // -m: smtp-sink handles 256 connections at once by default; make room for 200 and retries.
    let sink = peer_or_skip!(SmtpSink::builder()
        .counters(true)
        .arg("-m")
        .arg("1000")
        .start());
    const N: usize = 10_000;
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let mut body = b"Subject: load\r\n\r\n".to_vec();
    while body.len() < 1024 {
        body.extend_from_slice(
            b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n",
        );
    }
    let body: Arc<[u8]> = body.into();
    let messages = (0..N).map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)));
    let mut config = BulkConfig::new(sink.addr(), session());
    config.connections = 200;
    config.window = 8;
    let mut seen = vec![0u8; N];
    let start = Instant::now();
    let summary = bulk::run(&config, messages, |r| {
        seen[r.index] += 1;
        assert!(
            matches!(&r.outcome, Outcome::Done(o) if o.is_fully_accepted() && o.recipients.len() == 1),
            "{r:?}"
        );
    })
    .unwrap();
    let elapsed = start.elapsed();
    assert!(
        seen.iter().all(|&c| c == 1),
        "exactly one outcome per message"
    );
    assert_eq!((summary.messages, summary.accepted), (N, N), "{summary:?}");
    assert!(summary.connections >= 200, "{summary:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    // The counters are printed when a '.' arrives: wait for the last ones to be written.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink_messages(&sink) != Some(N) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        sink_messages(&sink),
        Some(N),
        "the server counted every message"
    );
}

/// Many recipients per message: each RCPT pipelined, the outcome counts them (RFC 5321 3.3).
#[test]
fn many_recipients_per_message() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let recipients: Vec<Mailbox> = (1..=5)
        .map(|i| Mailbox::parse(&format!("rcpt+{i}@example.net")).unwrap())
        .collect();
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        recipients,
    );
    let body: Arc<[u8]> = b"Subject: five\n\n.leading dot\nend\n".to_vec().into();
    let messages = (0..20).map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)));
    let mut config = BulkConfig::new(sink.addr(), session());
    config.connections = 3;
    let summary = bulk::run(&config, messages, |r| {
        assert!(
            matches!(&r.outcome, Outcome::Done(o) if o.is_fully_accepted() && o.recipients.len() == 5),
            "{r:?}"
        );
    })
    .unwrap();
    assert_eq!(summary.accepted, 20);
    let dumped = sink.wait_for_messages(20, Duration::from_secs(5)).unwrap();
    assert_eq!(dumped.len(), 20);
    for m in dumped {
        assert_eq!(
            m.mail_args.split_whitespace().next(),
            Some("<sender@example.org>")
        );
        assert_eq!(m.rcpt_args.len(), 5);
        assert_eq!(m.data, b"Subject: five\n\n.leading dot\nend\n");
    }
}

/// A server that refuses in the middle of the content and stops reading (smtp-sink `-A 0`: 550
/// right after the 354): the refusal is the message's outcome, not a connection failure.
#[test]
fn refusal_mid_content_is_a_rejection() {
    let sink = peer_or_skip!(SmtpSink::builder().abort_after_data(0).start());
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let body: Arc<[u8]> =
        b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
            .repeat(60_000)
            .into();
    let mut config = BulkConfig::new(sink.addr(), session());
    config.attempts = 1;
    let mut outcome = None;
    let summary = bulk::run(&config, [BulkMessage::new(envelope, body)], |r| {
        outcome = Some(r.outcome.clone())
    })
    .unwrap();
    assert_eq!(summary.rejected, 1, "{outcome:?}");
    let Some(Outcome::Done(MessageOutcome {
        verdict: Verdict::Rejected(rejection),
        ..
    })) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(rejection.reply().map(|r| r.code().get()), Some(550));
}
