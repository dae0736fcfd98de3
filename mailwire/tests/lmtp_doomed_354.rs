//! RFC 2033 4.2: after the end of data an LMTP server sends one reply per recipient it
//! accepted. That holds for the `.` the client sends to close a DATA it already knows is doomed
//! (RFC 2920 3.1: MAIL refused, yet RCPTs accepted and DATA answered 354 by an incoherent
//! server): the session must await as many replies as RCPTs were accepted, or every later reply
//! lands on the wrong command. (Found by the `caller_api` fuzz target: the session awaited one
//! reply, took the second delivery reply for the next command's, and in the end sent RSET after
//! a DATA whose reply was still to come.)

mod support;

use mailwire::{Client, Event, Protocol, Rejection, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

/// A session with an LMTP server that offers PIPELINING, its LHLO answered.
fn lmtp_session() -> Client {
    let mut config = base_config();
    config.protocol = Protocol::Lmtp;
    ready_session(config, &["mx.example", "PIPELINING"])
}

#[test]
fn doomed_lmtp_data_awaits_one_reply_per_accepted_recipient() {
    let mut client = lmtp_session();
    let now = mailwire::Timestamp::ZERO;
    let id = client
        .send_message_with_body(envelope_to(&["b@example.net", "c@example.net"]), b"hi\r\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\
         RCPT TO:<c@example.net>\r\nDATA\r\n"
    );
    client.handle_input(
        now,
        b"550 5.7.1 sender refused\r\n250 ok\r\n250 ok\r\n354 go\r\n",
    );
    // The content of a message whose MAIL was refused does not go: the `.` alone closes DATA.
    assert_eq!(sent(&mut client), ".\r\n");
    let noop = client.noop(None).unwrap();
    assert_eq!(sent(&mut client), "NOOP\r\n");
    // Two delivery replies (one per accepted RCPT), then NOOP's.
    client.handle_input(now, b"550 5.1.1 b refused\r\n");
    assert!(
        outcome_of(&events(&mut client), id).is_none(),
        "outcome before the second delivery reply"
    );
    client.handle_input(now, b"550 5.1.1 c refused\r\n250 2.0.0 noop ok\r\n");
    let seen = events(&mut client);
    let outcome = outcome_of(&seen, id).expect("an outcome");
    match &outcome.verdict {
        Verdict::Rejected(Rejection::Mail(reply)) => assert_eq!(reply.code().get(), 550),
        other => panic!("{other:?}"),
    }
    let noop_reply = seen.iter().find_map(|e| match e {
        Event::ReplyReceived { command, reply } if *command == noop => Some(reply.clone()),
        _ => None,
    });
    assert_eq!(
        noop_reply.expect("NOOP's reply").text_lossy(),
        "2.0.0 noop ok",
        "NOOP got another command's reply"
    );
    assert!(!client.is_closed());
    // The next message goes out with nothing awaited before it: no RSET in the middle of a
    // pipeline whose DATA is unanswered.
    client
        .send_message_with_body(envelope_to(&["d@example.net"]), b"x\r\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n"
    );
}

/// With no RCPT accepted, an LMTP server must refuse DATA (RFC 2033 4.2); one that answers 354
/// anyway owes one reply to the `.`, as an SMTP server would.
#[test]
fn doomed_lmtp_data_with_no_accepted_recipient_awaits_one_reply() {
    let mut client = lmtp_session();
    let now = mailwire::Timestamp::ZERO;
    let id = client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"hi\r\n")
        .unwrap();
    sent(&mut client);
    client.handle_input(now, b"250 ok\r\n550 5.1.1 no\r\n354 go\r\n");
    assert_eq!(sent(&mut client), ".\r\n");
    client.handle_input(now, b"554 5.5.1 no valid recipients\r\n");
    let outcome = outcome_of(&events(&mut client), id).expect("an outcome");
    assert!(matches!(
        outcome.verdict,
        Verdict::Rejected(Rejection::NoValidRecipients)
    ));
}
