//! Cancellation, as `Client`'s docs define it: a `send` future dropped mid-message (here by
//! `tokio::time::timeout`) shuts the connection down at once; the server never receives the end
//! of data of the message cut short (RFC 5321 4.1.1.4: without its end the server drops the
//! message), nothing reports it delivered, and every later call returns `Error::Cancelled`.

mod support;

use mailwire_tokio::{Client, Error};
use std::io::BufRead;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::AsyncWriteExt;

const T: Duration = Duration::from_secs(5);

/// Everything the client sent after the 354, until it closed; and how long after the 354 the
/// close came.
fn stall_after_354(peer: &mut Peer, read_after: Duration) -> (Vec<u8>, Duration) {
    peer.to_354();
    let since = Instant::now();
    // Answer nothing; with `read_after`, read nothing either for that long.
    std::thread::sleep(read_after);
    let mut wire = Vec::new();
    loop {
        let buf = match peer.reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf.to_vec(),
        };
        peer.reader.consume(buf.len());
        wire.extend_from_slice(&buf);
    }
    (wire, since.elapsed())
}

fn has_end_of_data(wire: &[u8]) -> bool {
    wire.starts_with(b".\r\n") || wire.windows(5).any(|w| w == b"\r\n.\r\n")
}

/// The body reader stalls after its first line (the session waits for the rest): the timeout
/// drops `send`; the server sees the connection end with no end of data, promptly; the next
/// call gets `Error::Cancelled`.
#[test]
fn dropped_send_while_the_body_stalls_never_ends_the_data() {
    let mock = Mock::start(|peer| stall_after_354(peer, Duration::ZERO));
    runtime().block_on(async {
        let mut client = Client::connect(options(mock.port, T)).await.unwrap();
        // More than the session holds before the 354 (its body buffer), so that the content
        // is under way when the reader stalls; `writer` stays open: the body never ends.
        let (mut writer, reader) = tokio::io::duplex(1024 * 1024);
        let mut first = b"Subject: cut short\r\n\r\n".to_vec();
        while first.len() < 300 * 1024 {
            first.extend_from_slice(b"a line of the first part of the content\r\n");
        }
        writer.write_all(&first).await.unwrap();
        let sent = tokio::time::timeout(
            Duration::from_millis(500),
            client.send(envelope("a@example.org", &["b@example.net"]), reader),
        )
        .await;
        assert!(sent.is_err(), "the send should still be running: {sent:?}");
        assert!(!client.is_open());
        assert!(matches!(client.noop().await, Err(Error::Cancelled)));
        assert!(matches!(
            client
                .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
                .await,
            Err(Error::Cancelled)
        ));
        assert!(matches!(client.quit().await, Err(Error::Cancelled)));
        drop(writer);
    });
    let (wire, closed_after) = mock.join();
    assert!(
        wire.starts_with(b"Subject: cut short\r\n"),
        "{} bytes",
        wire.len()
    );
    assert!(
        !has_end_of_data(&wire),
        "{} bytes ending {:?}",
        wire.len(),
        String::from_utf8_lossy(&wire[wire.len().saturating_sub(16)..])
    );
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
}

/// A server that stops reading after 354: the content fills the socket buffers and the write
/// waits; the timeout drops `send` mid-write. What reached the server has no end of data.
#[test]
fn dropped_send_mid_write_never_ends_the_data() {
    let mock = Mock::start(|peer| stall_after_354(peer, Duration::from_secs(1)));
    runtime().block_on(async {
        let mut client = Client::connect(options(mock.port, T)).await.unwrap();
        let line = [b'x'; 78];
        let mut body = Vec::new();
        while body.len() < 16 * 1024 * 1024 {
            body.extend_from_slice(&line);
            body.extend_from_slice(b"\r\n");
        }
        let sent = tokio::time::timeout(
            Duration::from_millis(500),
            client.send(envelope("a@example.org", &["b@example.net"]), &body[..]),
        )
        .await;
        assert!(sent.is_err(), "the send should still be writing: {sent:?}");
        assert!(matches!(client.noop().await, Err(Error::Cancelled)));
    });
    let (wire, _) = mock.join();
    assert!(
        !wire.is_empty(),
        "some content was written before the stall"
    );
    assert!(
        !has_end_of_data(&wire),
        "{} bytes ending {:?}",
        wire.len(),
        String::from_utf8_lossy(&wire[wire.len().saturating_sub(16)..])
    );
}

/// A future dropped before its first poll did nothing: the session goes on.
#[test]
fn unpolled_send_changes_nothing() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("NOOP");
        peer.send("250 ok\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    runtime().block_on(async {
        let mut client = Client::connect(options(mock.port, T)).await.unwrap();
        drop(client.noop());
        assert!(client.is_open());
        assert_eq!(client.noop().await.unwrap().code().get(), 250);
        client.quit().await.unwrap();
    });
    mock.join();
}
