//! RFC 1870 6 and RFC 6152 3: content written to a message that waits for the reply to its RSET
//! (no PIPELINING: its MAIL parameters are fixed, its MAIL not sent) is counted against the
//! server's SIZE and checked for 8-bit octets like content written later. Content that breaks
//! either makes the message `Unsendable` before its MAIL is sent. (Found by the `caller_api` fuzz
//! target: a message of 77 octets went out with `BDAT 77 LAST` to a server with `SIZE 10`; the
//! check stopped content only once MAIL had been sent.)

mod support;

use mailwire::{Rejection, Timestamp, Unsendable, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

/// A message refused before the next one starts leaves an RSET owed; without PIPELINING the
/// next message fixes its MAIL parameters, sends RSET and waits for its reply with MAIL unsent.
fn waiting_for_rset(ehlo: &[&str]) -> (mailwire::Client, mailwire::MessageId) {
    let now = Timestamp::ZERO;
    let mut client = ready_session(base_config(), ehlo);
    let first = client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"hi\r\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org> SIZE=4\r\n",
        "one command at a time"
    );
    client.handle_input(now, b"250 ok\r\n");
    assert_eq!(sent(&mut client), "RCPT TO:<b@example.net>\r\n");
    client.handle_input(now, b"250 ok\r\n");
    assert_eq!(sent(&mut client), "DATA\r\n");
    client.handle_input(now, b"554 no\r\n");
    assert!(matches!(
        outcome_of(&events(&mut client), first).unwrap().verdict,
        Verdict::Rejected(Rejection::Data(_))
    ));
    let second = client
        .send_message(envelope_to(&["c@example.net"]))
        .unwrap();
    assert_eq!(sent(&mut client), "RSET\r\n");
    (client, second)
}

#[test]
fn content_over_size_while_waiting_for_rset_is_unsendable() {
    let (mut client, id) = waiting_for_rset(&["mx.example", "SIZE 10"]);
    client.write_body(id, b"0123456789abcdef\r\n").unwrap();
    client.finish_body(id).unwrap();
    client.handle_input(Timestamp::ZERO, b"250 reset\r\n");
    let outcome = outcome_of(&events(&mut client), id).expect("an outcome");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Rejected(Rejection::Unsendable(Unsendable::TooLarge {
                limit: 10,
                ..
            }))
        ),
        "{:?}",
        outcome.verdict
    );
    assert_eq!(sent(&mut client), "", "MAIL sent for a message over SIZE");
    assert!(!client.is_closed());
}

#[test]
fn eight_bit_content_while_waiting_for_rset_is_unsendable() {
    let (mut client, id) = waiting_for_rset(&["mx.example", "SIZE"]);
    client.write_body(id, "caf\u{e9}\r\n".as_bytes()).unwrap();
    client.finish_body(id).unwrap();
    client.handle_input(Timestamp::ZERO, b"250 reset\r\n");
    let outcome = outcome_of(&events(&mut client), id).expect("an outcome");
    assert_eq!(
        outcome.verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
    );
    assert_eq!(
        sent(&mut client),
        "",
        "8-bit content for a server without 8BITMIME"
    );
}
