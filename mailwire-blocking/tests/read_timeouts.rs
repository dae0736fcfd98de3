//! The adapter keeps a socket read timeout across waits when it is no longer than the time left
//! to the current deadline (one setsockopt less per wait). These hold the two ways that could go
//! wrong: a shorter deadline after a longer one must still fire on time, and a read that wakes
//! before a longer deadline (the kept timeout was a shorter stage's) must not end the session.

mod support;

use mailwire_blocking::mailwire::{Error as SessionError, Stage};
use mailwire_blocking::{Client, Error};
use std::thread::sleep;
use std::time::{Duration, Instant};
use support::*;

/// MAIL may take 2 s and is answered after 200 ms; RCPT may take 300 ms and is never answered.
/// The RCPT timeout fires about 300 ms after it: with the MAIL wait's timeout kept, the read
/// would wait some 2 s.
#[test]
fn a_shorter_deadline_after_a_longer_one_fires_on_time() {
    let server = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL");
        sleep(Duration::from_millis(200));
        peer.send("250 ok\r\n");
        peer.expect("RCPT");
        // Silence until the client gives up.
        peer.drain();
    });
    let mut o = options(server.port, Duration::from_secs(2));
    o.config.timeouts.rcpt = Duration::from_millis(300);
    let mut client = Client::connect(o).unwrap();
    let start = Instant::now();
    let result = client.send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n");
    let elapsed = start.elapsed();
    match result {
        Err(Error::Session {
            error: SessionError::Timeout { stage },
            ..
        }) => assert_eq!(stage, Stage::Rcpt),
        other => panic!("expected the RCPT timeout, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_millis(1500),
        "the 300 ms RCPT timeout fired after {elapsed:?} (MAIL's 2 s kept?)"
    );
    drop(client);
    server.join();
}

/// MAIL may take 400 ms and is answered at once; RCPT may take 3 s and is answered after 1.2 s.
/// A read timeout kept from the MAIL wait wakes the RCPT wait early, more than once; the
/// session must go on and send the message.
#[test]
fn an_early_wake_before_a_longer_deadline_is_not_a_timeout() {
    let server = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL");
        peer.send("250 ok\r\n");
        peer.expect("RCPT");
        sleep(Duration::from_millis(1200));
        peer.send("250 ok\r\n");
        peer.expect("DATA");
        peer.send("354 go on\r\n");
        let body = peer.data();
        peer.send("250 queued\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
        body
    });
    let mut o = options(server.port, Duration::from_secs(3));
    o.config.timeouts.mail = Duration::from_millis(400);
    let mut client = Client::connect(o).unwrap();
    let outcome = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
        .expect("the message is sent: an early wake is not the deadline");
    assert!(outcome.is_accepted());
    client.quit().unwrap();
    assert_eq!(server.join(), b"hi\r\n");
}
