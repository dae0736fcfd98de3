//! The adapter against a scripted server, for what no real server does on purpose: dripping
//! replies, silence, 421 after the content, garbage, closing mid-reply. Each test bounds its
//! own time.

mod support;

use mailwire_blocking::mailwire::{Error, Stage};
use mailwire_blocking::{Client, Error as BlockingError, Transport};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// RFC 5321 4.5.3.2: the deadline runs per complete reply, not per read. A server that sends
/// one byte every 200 ms never leaves a read waiting long, yet the greeting times out.
#[test]
fn slow_drip_greeting_times_out_per_reply() {
    let mock = Mock::start(|peer| {
        for b in "220-mock.test a very long greeting that never ends\r\n"
            .bytes()
            .cycle()
            .take(200)
        {
            // Stops once the client has gone (the write fails).
            if std::io::Write::write_all(&mut peer.stream, &[b]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let start = Instant::now();
    let err = Client::connect(options(mock.port, Duration::from_secs(1))).unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::Timeout {
                    stage: Stage::Greeting
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    drop(mock);
}

/// A server that goes silent after MAIL: the timeout names the stage it was waiting for.
#[test]
fn silence_after_mail_names_the_stage() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL FROM");
        thread::sleep(Duration::from_secs(3));
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(1))).unwrap();
    let start = Instant::now();
    let err = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::Timeout { stage: Stage::Mail },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(start.elapsed() < Duration::from_secs(3));
    mock.join();
}

/// RFC 5321 3.8: a 421 after the content ends the session; the message's fate is unknown,
/// and the error is transient.
#[test]
fn service_closing_after_content() {
    let mock = Mock::start(|peer| {
        peer.hello(&["PIPELINING"]);
        peer.expect("MAIL FROM");
        peer.expect("RCPT TO");
        peer.expect("DATA");
        peer.send("250 ok\r\n250 ok\r\n354 go\r\n");
        let wire = peer.data();
        peer.send("421 4.3.0 shutting down\r\n");
        wire
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let err = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hello\r\n")
        .unwrap_err();
    match &err {
        BlockingError::Session {
            error:
                Error::ServiceClosing {
                    stage: Stage::DataEnd,
                    reply,
                },
            ..
        } => {
            assert_eq!(reply.code().get(), 421)
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(mock.join(), b"hello\r\n");
    // The session is over: later calls report the same error.
    assert!(matches!(
        client.noop(),
        Err(BlockingError::Session {
            error: Error::ServiceClosing { .. },
            ..
        })
    ));
}

/// RFC 5321 3.8: 421 in answer to DATA (mid-transaction).
#[test]
fn service_closing_at_data() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL FROM");
        peer.send("250 ok\r\n");
        peer.expect("RCPT TO");
        peer.send("250 ok\r\n");
        peer.expect("DATA");
        peer.send("421 4.4.5 too busy\r\n");
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let err = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::ServiceClosing {
                    stage: Stage::Data,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    mock.join();
}

/// RFC 5321 4.2: bytes that are not a reply end the session with a syntax error.
#[test]
fn garbage_greeting_is_a_protocol_error() {
    let mock = Mock::start(|peer| {
        peer.send("HTTP/1.1 400 Bad Request\r\n\r\n");
        thread::sleep(Duration::from_millis(200));
    });
    let err = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::ReplySyntax {
                    stage: Stage::Greeting,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    mock.join();
}

/// The server closes in the middle of a multi-line EHLO reply.
#[test]
fn close_mid_reply() {
    let mock = Mock::start(|peer| {
        peer.send("220 mock.test ESMTP\r\n");
        peer.expect("EHLO");
        peer.send("250-mock.test\r\n250-PIPE");
    });
    let err = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::ConnectionClosed {
                    stage: Stage::Hello
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    mock.join();
}

/// Nothing listening: a connect error, promptly.
#[test]
fn connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Client::connect(options(port, Duration::from_secs(2))).unwrap_err();
    assert!(matches!(err, BlockingError::Connect { .. }), "{err:?}");
    assert!(err.is_transient());
}

/// RFC 2920: with PIPELINING, MAIL, RCPT and DATA go in one flight, and the content with its
/// end mark in the next; the mock checks the content arrives whole before it answers anything.
#[test]
fn pipelined_flight_and_content_with_end_mark() {
    let mock = Mock::start(|peer| {
        peer.hello(&["PIPELINING"]);
        // All three commands must be readable without answering any of them.
        peer.expect("MAIL FROM:<a@example.org>");
        peer.expect("RCPT TO:<b@example.net>");
        peer.expect("RCPT TO:<c@example.net>");
        peer.expect("DATA");
        peer.send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n");
        let wire = peer.data();
        peer.send("250 2.0.0 queued\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
        wire
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let report = client
        .send_bytes(
            envelope("a@example.org", &["b@example.net", "c@example.net"]),
            b".dot\nline\n",
        )
        .unwrap();
    assert!(report.is_accepted() && !report.is_fully_accepted());
    assert_eq!(
        report
            .final_reply()
            .unwrap()
            .enhanced_code()
            .unwrap()
            .to_string(),
        "2.0.0"
    );
    client.quit().unwrap();
    assert_eq!(mock.join(), b"..dot\r\nline\r\n");
}

/// RFC 3030: with CHUNKING the content goes as BDAT LAST, no dot-stuffing.
#[test]
fn chunking_sends_bdat() {
    let mock = Mock::start(|peer| {
        peer.hello(&["PIPELINING", "CHUNKING"]);
        peer.expect("MAIL FROM");
        peer.expect("RCPT TO");
        let bdat = peer.expect("BDAT");
        let size: usize = bdat.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut content = vec![0u8; size];
        std::io::Read::read_exact(&mut peer.reader, &mut content).unwrap();
        peer.send("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
        (bdat, content)
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b".dot\nx\n")
        .unwrap();
    let (bdat, content) = mock.join();
    assert!(bdat.ends_with("LAST"), "{bdat}");
    assert_eq!(content, b".dot\r\nx\r\n");
}

/// A body reader that fails: the connection is closed (the server must not take a truncated
/// message) and the error says it was the body. (The session reads ahead of the server up to
/// its body buffer, so here the reader fails before MAIL has even left.)
#[test]
fn failing_body_reader_abandons_the_message() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        // Whatever came after EHLO, until the client closed.
        peer.drain()
    });
    struct Failing(bool);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                Err(std::io::Error::other("disk on fire"))
            } else {
                buf[..6].copy_from_slice(b"part\r\n");
                Ok(6)
            }
        }
    }
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let err = client
        .send(
            envelope("a@example.org", &["b@example.net"]),
            Failing(false),
        )
        .unwrap_err();
    assert!(matches!(err, BlockingError::Body(_)), "{err:?}");
    // The server saw the connection end without an end mark.
    let wire = mock.join();
    assert!(
        !String::from_utf8_lossy(&wire).contains("\r\n.\r\n"),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
}

/// RFC 5321 4.5.3.2.5: each write of content is bounded by the data block timeout. A server
/// that stops reading after 354 fills the socket buffers; the write then times out instead of
/// hanging the caller.
#[test]
fn server_that_stops_reading_times_out_the_write() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL");
        peer.send("250 ok\r\n");
        peer.expect("RCPT");
        peer.send("250 ok\r\n");
        peer.expect("DATA");
        peer.send("354 go\r\n");
        // Read nothing more; hold the connection open well past the client's give-up time.
        thread::sleep(Duration::from_secs(15));
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(1))).unwrap();
    let body = vec![b'x'; 64 * 1024 * 1024];
    let start = Instant::now();
    let err = client
        .send(envelope("a@example.org", &["b@example.net"]), &body[..])
        .unwrap_err();
    assert!(
        matches!(&err, BlockingError::Session { cause: Some(cause), .. } if matches!(&**cause, Transport::Io(source) if matches!(source.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    // Not joined: the mock holds the connection for 15 s and then ends by itself.
    drop(mock);
}

/// RFC 3030 without PIPELINING: each BDAT chunk waits for its reply; a body of several chunks
/// streams through (the adapter stops reading the body while the core holds a chunk back).
#[test]
fn chunking_without_pipelining_multi_chunk() {
    const SIZE: usize = 300 * 1024;
    let mock = Mock::start(|peer| {
        peer.hello(&["CHUNKING"]);
        peer.expect("MAIL");
        peer.send("250 ok\r\n");
        peer.expect("RCPT");
        peer.send("250 ok\r\n");
        let mut content = Vec::new();
        let mut chunks = 0;
        loop {
            let bdat = peer.expect("BDAT");
            let mut words = bdat.split_whitespace().skip(1);
            let size: usize = words.next().unwrap().parse().unwrap();
            let last = words.next() == Some("LAST");
            let mut chunk = vec![0u8; size];
            std::io::Read::read_exact(&mut peer.reader, &mut chunk).unwrap();
            content.extend_from_slice(&chunk);
            chunks += 1;
            if last {
                peer.send("250 2.0.0 queued\r\n");
                return (chunks, content);
            }
            peer.send("250 2.0.0 chunk ok\r\n");
        }
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let mut body = Vec::new();
    while body.len() < SIZE {
        body.extend_from_slice(format!("line {}\r\n", body.len()).as_bytes());
    }
    client
        .send(envelope("a@example.org", &["b@example.net"]), &body[..])
        .unwrap();
    let (chunks, content) = mock.join();
    assert!(chunks >= 4, "{chunks} chunks");
    assert_eq!(content, body);
}

/// RFC 5321 3.8: a server that answers 421 in the middle of the content and hangs up: the
/// error is the 421 (transient), not just a broken pipe.
#[test]
fn service_closing_mid_content() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("MAIL");
        peer.send("250 ok\r\n");
        peer.expect("RCPT");
        peer.send("250 ok\r\n");
        peer.expect("DATA");
        peer.send("354 go\r\n");
        let mut some = vec![0u8; 100_000];
        std::io::Read::read_exact(&mut peer.reader, &mut some).unwrap();
        peer.send("421 4.4.2 mock.test timeout, closing\r\n");
        let _ = peer.stream.shutdown(std::net::Shutdown::Both);
    });
    let mut client = Client::connect(options(mock.port, Duration::from_secs(5))).unwrap();
    let body = vec![b'x'; 32 * 1024 * 1024];
    let err = client
        .send(envelope("a@example.org", &["b@example.net"]), &body[..])
        .unwrap_err();
    mock.join();
    assert!(err.is_transient(), "{err:?}");
    assert!(
        matches!(
            &err,
            BlockingError::Session {
                error: Error::ServiceClosing { .. },
                ..
            }
        ),
        "{err:?}"
    );
}
