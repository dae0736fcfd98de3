//! LMTP (RFC 2033) against a real LMTP server, Postfix's `smtp-sink -L`: LHLO, and after the end
//! of data one reply per accepted recipient, each tied to its recipient (RFC 2033 4.2).

use mailwire::{
    Client, ClientName, Config, Envelope, Event, Mailbox, Protocol, Timestamp, TlsPolicy,
};
use mailwire_testkit::{peer_or_skip, SmtpSink};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A minimal blocking driver (the whole adapter contract in a dozen lines).
fn drive(mut client: Client, addr: std::net::SocketAddr) -> Vec<Event> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream.set_nodelay(true).unwrap();
    let epoch = Instant::now();
    let now = || Timestamp::from_instant(epoch, Instant::now());
    let (mut events, mut wire, mut buf) = (Vec::new(), Vec::new(), [0u8; 8192]);
    loop {
        wire.clear();
        if client.poll_transmit(now(), &mut wire) > 0 {
            stream.write_all(&wire).unwrap();
        }
        let mut done = false;
        while let Some(e) = client.poll_event() {
            done |= matches!(e, Event::Closed(_));
            events.push(e);
        }
        if done {
            return events;
        }
        let wait = client.poll_timeout().map_or(Duration::from_secs(5), |t| {
            t.to_instant(epoch)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        stream.set_read_timeout(Some(wait)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => client.handle_closed(now()),
            Ok(n) => client.handle_input(now(), &buf[..n]),
            Err(_) => client.handle_timeout(now()),
        }
    }
}

fn lmtp_client() -> Client {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.protocol = Protocol::Lmtp;
    config.timeouts = mailwire::Timeouts::uniform(Duration::from_secs(10));
    Client::new(config, Timestamp::ZERO).expect("configuration")
}

fn envelope() -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        ["u1@example.org", "u2@example.org", "u3@example.org"].map(|a| Mailbox::parse(a).unwrap()),
    )
}

#[test]
fn lmtp_one_reply_per_recipient_from_smtp_sink() {
    let sink = peer_or_skip!(SmtpSink::builder().lmtp(true).start());
    let mut client = lmtp_client();
    let id = client
        .send_message_with_body(envelope(), b"Subject: lmtp\n\nhi\n")
        .unwrap();
    let id2 = client
        .send_message_with_body(envelope(), b"Subject: lmtp 2\n\nhi\n")
        .unwrap();
    client.quit().unwrap();
    let events = drive(client, sink.addr());
    for m in [id, id2] {
        let delivered: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                Event::RecipientDelivered {
                    message,
                    index,
                    reply,
                } if *message == m => {
                    assert!(reply.is_positive_completion(), "{reply:?}");
                    Some(*index)
                }
                _ => None,
            })
            .collect();
        assert_eq!(delivered, [0, 1, 2], "{events:#?}");
        assert!(events.iter().any(
            |e| matches!(e, Event::MessageDone(o) if o.message == m && o.is_fully_accepted() && o.recipients.len() == 3)
        ));
    }
    assert!(
        matches!(events.last(), Some(Event::Closed(Ok(())))),
        "{events:#?}"
    );
}

#[test]
fn lmtp_refusal_after_data_is_per_recipient() {
    let sink = peer_or_skip!(SmtpSink::builder().lmtp(true).hard_reject(&["."]).start());
    let mut client = lmtp_client();
    let id = client
        .send_message_with_body(envelope(), b"Subject: lmtp\n\nhi\n")
        .unwrap();
    client.quit().unwrap();
    let events = drive(client, sink.addr());
    let refused = events
        .iter()
        .filter(|e| matches!(e, Event::RecipientDelivered { message, reply, .. } if *message == id && reply.is_permanent()))
        .count();
    assert_eq!(refused, 3, "{events:#?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::MessageDone(o) if o.message == id && matches!(o.verdict, mailwire::Verdict::Rejected(_)))),
        "{events:#?}"
    );
}
