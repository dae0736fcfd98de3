//! RFC 6152 3: content with octets above 127 goes only to a server that offers 8BITMIME, and
//! MAIL says so with `BODY=8BITMIME`. The session checks the content it has before MAIL, and
//! what it is given as it streams.

mod support;

use mailwire::command::BodyType;
use mailwire::{Error, Event, Rejection, Timestamp, Unsendable, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

const EIGHT_BIT: &[u8] = "Subject: caf\u{e9}\n\nna\u{ef}ve\n".as_bytes();

/// The whole body before MAIL, 8-bit, to a server with 8BITMIME: declared.
#[test]
fn eight_bit_body_is_declared() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "8BITMIME"]);
    client
        .send_message_with_body(envelope_to(&["b@example.net"]), EIGHT_BIT)
        .unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"));
}

/// The whole body before MAIL, 7-bit: nothing declared (the body is known).
#[test]
fn seven_bit_body_declares_nothing() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "8BITMIME"]);
    client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"plain\n")
        .unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org>\r\n"));
}

/// 8-bit content for a server without 8BITMIME: refused before MAIL with a typed reason; the
/// session goes on with the next message. (It used to go out undeclared.)
#[test]
fn eight_bit_body_to_a_server_without_8bitmime_never_sends_mail() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING"]);
    let id = client
        .send_message_with_body(envelope_to(&["b@example.net"]), EIGHT_BIT)
        .unwrap();
    let ev = events(&mut client);
    assert_eq!(
        outcome_of(&ev, id).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    );
    assert_eq!(sent(&mut client), "");
    client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"fine\n")
        .unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org>\r\n"));
}

/// `BODY=7BIT` declared, 8-bit content given: refused, whatever the server offers.
#[test]
fn declared_seven_bit_with_eight_bit_content_is_refused() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "8BITMIME"]);
    let mut envelope = envelope_to(&["b@example.net"]);
    envelope.params.body = Some(BodyType::SevenBit);
    let id = client.send_message_with_body(envelope, EIGHT_BIT).unwrap();
    assert!(matches!(
        outcome_of(&events(&mut client), id).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    ));
    assert_eq!(sent(&mut client), "");
}

/// Streamed, the content unknown at MAIL, to a server without 8BITMIME: 7-bit goes, then an
/// 8-bit octet arrives after DATA went out. The content is stopped and the connection closed
/// (a `.` would deliver it truncated); the end mark never leaves.
#[test]
fn undeclared_eight_bit_octet_mid_stream_stops_the_content() {
    let now = Timestamp::ZERO;
    let mut client = ready_session(base_config(), &["mx", "PIPELINING"]);
    let id = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    assert_eq!(client.write_body(id, b"Subject: x\n\nascii\n"), Ok(18));
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org>\r\n"));
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(sent(&mut client), "Subject: x\r\n\r\nascii\r\n");
    client.write_body(id, "caf\u{e9}\n".as_bytes()).unwrap();
    let ev = events(&mut client);
    assert_eq!(
        outcome_of(&ev, id).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    );
    assert!(matches!(ev.last(), Some(Event::Closed(Err(Error::ContentAbandoned(m)))) if *m == id));
    assert_eq!(sent(&mut client), "");
}

/// The same with BDAT: no further chunk goes, and RSET comes before the next message.
#[test]
fn undeclared_eight_bit_octet_mid_stream_with_bdat_ends_the_message_only() {
    let now = Timestamp::ZERO;
    let mut config = base_config();
    config.limits.bdat_chunk_size = 4;
    let mut client = ready_session(config, &["mx", "PIPELINING", "CHUNKING"]);
    let id = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    client.write_body(id, b"abcd").unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 4\r\nabcd"
    );
    client.write_body(id, "\u{e9}".as_bytes()).unwrap();
    client.finish_body(id).unwrap();
    assert_eq!(sent(&mut client), "");
    client.handle_input(now, b"250 ok\r\n250 ok\r\n250 chunk\r\n");
    let ev = events(&mut client);
    assert_eq!(
        outcome_of(&ev, id).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    );
    assert!(!client.is_closed());
    client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"x\n")
        .unwrap();
    assert!(sent(&mut client).starts_with("RSET\r\nMAIL FROM:<a@example.org>\r\n"));
}

/// Streamed without PIPELINING to a server without 8BITMIME: an 8-bit octet arrives while MAIL
/// is still awaited, before DATA. The message is dropped (no RCPT, no DATA), and RSET ends the
/// open transaction before the next MAIL; the session goes on.
#[test]
fn undeclared_eight_bit_octet_before_data_drops_the_message_then_rset() {
    let now = Timestamp::ZERO;
    let mut client = ready_session(base_config(), &["mx"]);
    let id = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    assert_eq!(sent(&mut client), "MAIL FROM:<a@example.org>\r\n");
    client.write_body(id, EIGHT_BIT).unwrap();
    client.finish_body(id).unwrap();
    assert_eq!(sent(&mut client), "");
    client.handle_input(now, b"250 ok\r\n");
    assert_eq!(
        outcome_of(&events(&mut client), id).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    );
    assert_eq!(sent(&mut client), "");
    client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"fine\n")
        .unwrap();
    assert_eq!(sent(&mut client), "RSET\r\n");
    client.handle_input(now, b"250 reset\r\n");
    assert_eq!(sent(&mut client), "MAIL FROM:<a@example.org>\r\n");
    assert!(!client.is_closed());
}

/// RFC 6152 2: streamed (the content unknown at MAIL) to a server with 8BITMIME, MAIL declares
/// `BODY=8BITMIME`, so 8-bit octets written later go out as they are.
#[test]
fn streamed_to_an_8bitmime_server_declares_it_and_eight_bit_goes() {
    let now = Timestamp::ZERO;
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "8BITMIME"]);
    let id = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    );
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    client.write_body(id, EIGHT_BIT).unwrap();
    client.finish_body(id).unwrap();
    assert_eq!(
        sent(&mut client),
        "Subject: caf\u{e9}\r\n\r\nna\u{ef}ve\r\n.\r\n"
    );
    client.handle_input(now, b"250 queued\r\n");
    assert!(outcome_of(&events(&mut client), id).unwrap().is_accepted());
}
