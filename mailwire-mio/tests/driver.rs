//! The driver on its own: connect failures, deadlines without a timer thread, partial writes
//! with writability interest, and the order of events.

mod support;

use mailwire::{ClientName, Config, Envelope, Error, Event, Mailbox, Stage, Timeouts, TlsPolicy};
use mailwire_mio::{Driver, DriverEvent, TransportError};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::{MockServer, Script};

fn session(timeout: Duration) -> Config {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = Timeouts::uniform(timeout);
    config
}

/// Turns until every session is closed (bounded), returning the events in order.
fn run(driver: &mut Driver, limit: Duration) -> Vec<DriverEvent> {
    let end = Instant::now() + limit;
    let mut events = Vec::new();
    while !driver.is_empty() && Instant::now() < end {
        driver.turn(Some(Duration::from_millis(100))).unwrap();
        while let Some((_, e)) = driver.poll_event() {
            events.push(e);
        }
    }
    while let Some((_, e)) = driver.poll_event() {
        events.push(e);
    }
    events
}

/// Nothing listens: the connect error comes first, then the core's `Closed` at the greeting.
#[test]
fn connect_refused_reports_transport_error_then_closed() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut driver = Driver::new().unwrap();
    driver
        .connect(addr, session(Duration::from_secs(5)), None)
        .unwrap();
    let events = run(&mut driver, Duration::from_secs(5));
    assert!(
        matches!(
            events.first(),
            Some(DriverEvent::Transport(TransportError::Connect(_)))
        ),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(DriverEvent::Session(Event::Closed(Err(
            Error::ConnectionClosed {
                stage: Stage::Greeting
            }
        ))))
    ));
    assert!(driver.is_empty());
}

/// RFC 5321 4.5.3.2.1: the greeting deadline fires from the poll timeout alone (no I/O, no
/// timer thread), neither early nor much late.
#[test]
fn greeting_deadline_fires_without_io() {
    let server = MockServer::start(|_| Script {
        silent: true,
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let start = Instant::now();
    driver
        .connect(server.addr, session(Duration::from_millis(250)), None)
        .unwrap();
    let events = run(&mut driver, Duration::from_secs(5));
    let elapsed = start.elapsed();
    assert!(matches!(
        events.last(),
        Some(DriverEvent::Session(Event::Closed(Err(Error::Timeout {
            stage: Stage::Greeting
        }))))
    ));
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

/// A body far larger than the socket buffers, to a server that reads slowly: writes stop at
/// `WouldBlock`, resume on writability, and every byte arrives once, in order.
#[test]
fn partial_writes_resume_on_writability() {
    let server = MockServer::start(|_| Script {
        slow_content: Some(Duration::from_millis(5)),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let token = driver
        .connect(server.addr, session(Duration::from_secs(20)), None)
        .unwrap();
    let line = b"0123456789012345678901234567890123456789012345678901234567890123456789012345\r\n";
    let body = line.repeat(100_000); // 7.8 MB
    let envelope = Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    );
    let client = driver.client_mut(token).unwrap();
    let id = client.send_message_with_body(envelope, &body).unwrap();
    client.quit().unwrap();
    let events = run(&mut driver, Duration::from_secs(30));
    assert!(
        events.iter().any(|e| matches!(e, DriverEvent::Session(Event::MessageDone(o)) if o.message == id && o.is_accepted())),
        "{:?}",
        events.iter().rev().take(3).collect::<Vec<_>>()
    );
    assert!(matches!(
        events.last(),
        Some(DriverEvent::Session(Event::Closed(Ok(()))))
    ));
    assert_eq!(
        server.stats.content_bytes.load(Ordering::SeqCst),
        body.len()
    );
}

/// Many sessions on one driver, each its own token, events tagged with it.
#[test]
fn sessions_are_independent() {
    let server = MockServer::start(|n| Script {
        close_at_mail: (n == 0).then_some(0),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let first = driver
        .connect(server.addr, session(Duration::from_secs(5)), None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(50)); // the server numbers connections as accepted
    let second = driver
        .connect(server.addr, session(Duration::from_secs(5)), None)
        .unwrap();
    assert_ne!(first, second);
    let envelope = Envelope::new(None, [Mailbox::parse("b@example.net").unwrap()]);
    for token in [first, second] {
        let c = driver.client_mut(token).unwrap();
        c.send_message_with_body(envelope.clone(), b"hi\r\n")
            .unwrap();
        c.quit().unwrap();
    }
    let end = Instant::now() + Duration::from_secs(5);
    let (mut failed, mut accepted) = (Vec::new(), Vec::new());
    while !driver.is_empty() && Instant::now() < end {
        driver.turn(Some(Duration::from_millis(100))).unwrap();
        while let Some((t, e)) = driver.poll_event() {
            match e {
                DriverEvent::Session(Event::MessageDone(o)) if o.is_accepted() => accepted.push(t),
                DriverEvent::Session(Event::MessageDone(o)) if failed_outcome(&o) => failed.push(t),
                _ => {}
            }
        }
    }
    assert_eq!(failed, [first]);
    assert_eq!(accepted, [second]);
}

/// RFC 5321 4.5.3.2.5: a server that stops reading in the middle of the content. The core cannot
/// see writes, so the driver bounds them with `data_block`: no progress for that long fails the
/// session, long before the end-of-data deadline.
#[test]
fn stalled_write_times_out_after_data_block() {
    let server = MockServer::start(|_| Script {
        slow_content: Some(Duration::from_secs(10)),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let mut config = session(Duration::from_secs(20));
    config.timeouts.data_block = Duration::from_millis(300);
    let token = driver.connect(server.addr, config, None).unwrap();
    let body = b"0123456789012345678901234567890123456789012345678901234567890123456789012345\r\n"
        .repeat(100_000);
    let envelope = Envelope::new(None, [Mailbox::parse("b@example.net").unwrap()]);
    driver
        .client_mut(token)
        .unwrap()
        .send_message_with_body(envelope, &body)
        .unwrap();
    let start = Instant::now();
    let events = run(&mut driver, Duration::from_secs(10));
    let elapsed = start.elapsed();
    assert!(events
        .iter()
        .any(|e| matches!(e, DriverEvent::Transport(TransportError::WriteTimeout))));
    assert!(events
        .iter()
        .any(|e| matches!(e, DriverEvent::Session(Event::MessageDone(o)) if failed_outcome(o))));
    // The server reads again after 10 s: failing well before shows the write deadline fired.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

/// The caller gives up on a session: its messages fail, `Closed` follows, the socket goes.
#[test]
fn abort_ends_the_session() {
    let server = MockServer::start(|_| Script {
        silent: true,
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let token = driver
        .connect(server.addr, session(Duration::from_secs(30)), None)
        .unwrap();
    let envelope = Envelope::new(None, [Mailbox::parse("b@example.net").unwrap()]);
    driver
        .client_mut(token)
        .unwrap()
        .send_message_with_body(envelope, b"x\r\n")
        .unwrap();
    driver.turn(Some(Duration::from_millis(50))).unwrap();
    assert!(driver.abort(token));
    assert!(driver.is_empty() && !driver.abort(token));
    let mut events = Vec::new();
    while let Some((_, e)) = driver.poll_event() {
        events.push(e);
    }
    assert!(matches!(
        events.first(),
        Some(DriverEvent::Session(Event::MessageDone(
            mailwire::MessageOutcome {
                verdict: mailwire::Verdict::Failed {
                    content_sent: false,
                    ..
                },
                ..
            }
        )))
    ));
    assert!(matches!(
        events.last(),
        Some(DriverEvent::Session(Event::Closed(Err(
            Error::LocallyAborted
        ))))
    ));
}

/// Whether the session ended before the message's outcome was known.
fn failed_outcome(o: &mailwire::MessageOutcome) -> bool {
    matches!(o.verdict, mailwire::Verdict::Failed { .. })
}
