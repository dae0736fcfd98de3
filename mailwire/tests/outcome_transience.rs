//! Whether trying again later may help is judged once, in the core
//! (`MessageOutcome::is_transient`), for every adapter and command. RFC 5321 4.2.1: 4yz is
//! transient, 5yz permanent; for a message no recipient took, any recipient refused with a 4yz
//! may take it later.

mod support;

use mailwire::{Rejection, Timestamp, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

/// Sends one message to `rcpts` recipients with these replies to MAIL, each RCPT and DATA;
/// returns its outcome.
fn outcome(replies: &str, rcpts: usize) -> mailwire::MessageOutcome {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING"]);
    let to: Vec<String> = (0..rcpts).map(|i| format!("r{i}@example.net")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let id = client
        .send_message_with_body(envelope_to(&to), b"hi\n")
        .unwrap();
    sent(&mut client);
    client.handle_input(Timestamp::ZERO, replies.as_bytes());
    sent(&mut client);
    outcome_of(&events(&mut client), id).expect("an outcome")
}

/// RCPT refused 450 then 550, DATA refused: transient, since the first recipient may take it
/// later. (`smtp-send` said "temporary" and `smtp-bulk` "permanent" for this one.)
#[test]
fn one_transient_recipient_refusal_makes_it_transient() {
    let o = outcome(
        "250 ok\r\n450 try later\r\n550 no\r\n554 no valid recipients\r\n",
        2,
    );
    assert_eq!(o.verdict, Verdict::Rejected(Rejection::NoValidRecipients));
    assert!(o.is_transient());
    assert_eq!(o.recipients[0].rcpt.as_ref().unwrap().code().get(), 450);
    assert_eq!(o.recipients[1].rcpt.as_ref().unwrap().code().get(), 550);
}

/// Every recipient refused with 5yz: permanent, in either order.
#[test]
fn permanent_recipient_refusals_are_permanent() {
    let o = outcome(
        "250 ok\r\n550 no\r\n553 no\r\n554 no valid recipients\r\n",
        2,
    );
    assert!(!o.is_transient());
}

/// MAIL refused with 451: transient; with 550: permanent.
#[test]
fn mail_refusal_class_decides() {
    assert!(outcome("451 later\r\n503 no\r\n503 no\r\n", 1).is_transient());
    assert!(!outcome("550 no\r\n503 no\r\n503 no\r\n", 1).is_transient());
}

/// Taken for one recipient and refused (4yz) for the other: partially accepted, which is not a
/// failure to retry (the refused recipient is named in the outcome).
#[test]
fn partial_acceptance_is_not_transient() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING"]);
    let id = client
        .send_message_with_body(envelope_to(&["a@example.net", "b@example.net"]), b"hi\n")
        .unwrap();
    sent(&mut client);
    client.handle_input(
        Timestamp::ZERO,
        b"250 ok\r\n250 ok\r\n452 full\r\n354 go\r\n",
    );
    sent(&mut client);
    client.handle_input(Timestamp::ZERO, b"250 queued\r\n");
    let o = outcome_of(&events(&mut client), id).unwrap();
    assert!(matches!(o.verdict, Verdict::PartiallyAccepted { .. }));
    assert!(!o.is_transient());
    assert_eq!(
        o.refused_recipients().map(|(i, _)| i).collect::<Vec<_>>(),
        [1]
    );
}

/// RFC 4954 6: AUTH refused with 454 (temporary failure): the queued message's failure is
/// transient; with 535 or 534: permanent.
#[test]
fn auth_refusal_class_decides() {
    let outcome = |reply: &str| {
        let mut config = base_config();
        support::apply_config(&mut config, "implicit_tls=true user=alice pass=wonderland");
        let now = Timestamp::ZERO;
        let mut client = mailwire::Client::new(config, now).unwrap();
        let id = client
            .send_message_with_body(envelope_to(&["b@example.net"]), b"hi\n")
            .unwrap();
        client.handle_input(now, b"220 mx.example ESMTP\r\n");
        sent(&mut client);
        client.handle_input(now, b"250-mx.example\r\n250 AUTH PLAIN\r\n");
        assert!(sent(&mut client).starts_with("AUTH PLAIN "));
        client.handle_input(now, reply.as_bytes());
        assert_eq!(sent(&mut client), "");
        outcome_of(&events(&mut client), id).expect("an outcome")
    };
    assert!(outcome("454 4.7.0 try later\r\n").is_transient());
    assert!(!outcome("535 5.7.8 bad credentials\r\n").is_transient());
    assert!(!outcome("534 5.7.9 too weak\r\n").is_transient());
}

/// A message the client would not send to this server (RFC 1870 6.1 here) is not worth trying
/// again on it: not transient.
#[test]
fn unsendable_is_not_transient() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "SIZE 10"]);
    let id = client
        .send_message_with_body(envelope_to(&["b@example.net"]), &[b'x'; 64])
        .unwrap();
    let o = outcome_of(&events(&mut client), id).unwrap();
    assert!(matches!(
        o.verdict,
        Verdict::Rejected(Rejection::Unsendable(mailwire::Unsendable::TooLarge { .. }))
    ));
    assert!(!o.is_transient());
}

/// A probe (MAIL and RCPT, no DATA) is classed as a message with those replies would be: all
/// taken → delivered, some refused → partial, none taken or MAIL refused → by the replies'
/// class.
#[test]
fn probes_are_classed_by_their_replies() {
    use mailwire::{Class, ProbeDepth};
    let cases: [(&str, usize, Class); 5] = [
        ("250 ok\r\n250 ok\r\n250 ok\r\n", 2, Class::Delivered),
        ("250 ok\r\n250 ok\r\n550 no\r\n", 2, Class::Partial),
        ("250 ok\r\n550 no\r\n550 no\r\n", 2, Class::Permanent),
        ("250 ok\r\n450 later\r\n550 no\r\n", 2, Class::Temporary),
        ("451 later\r\n503 no\r\n", 1, Class::Temporary),
    ];
    for (replies, n, class) in cases {
        let mut client = ready_session(base_config(), &["mx", "PIPELINING"]);
        let to: Vec<String> = (0..n).map(|i| format!("r{i}@example.net")).collect();
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let id = client.probe(envelope_to(&to), ProbeDepth::Rcpt).unwrap();
        let wire = sent(&mut client);
        assert!(!wire.contains("DATA"), "{wire}");
        client.handle_input(Timestamp::ZERO, replies.as_bytes());
        let outcome = outcome_of(&events(&mut client), id).unwrap();
        assert!(
            matches!(outcome.verdict, Verdict::Probed { .. }),
            "{:?}",
            outcome.verdict
        );
        assert_eq!(outcome.class(), class, "{replies:?}");
    }
}
