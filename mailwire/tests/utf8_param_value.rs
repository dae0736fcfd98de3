//! RFC 6531 3.3: an esmtp-value may hold UTF-8 only under SMTPUTF8 (RFC 5321 4.1.2 allows
//! octets 33–126 alone). [`mailwire::command::Param`] accepts a UTF-8 value, so a message whose
//! extra MAIL or RCPT parameter carries one needs SMTPUTF8 as a UTF-8 address does: declared on
//! MAIL to a server that offers it, refused for one that does not. (Found by the `caller_api`
//! fuzz target: the line `MAIL FROM:<a@example.org> XLONG=é` went to a server without
//! SMTPUTF8.)

mod support;

use mailwire::command::Param;
use mailwire::outcome::Unsendable;
use mailwire::{Envelope, Keyword, Rejection, Timestamp, UsageError, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

fn with_utf8_mail_param() -> Envelope {
    let mut envelope = envelope_to(&["b@example.net"]);
    envelope
        .params
        .extra
        .push(Param::new("XLONG", Some("é")).unwrap());
    envelope
}

fn with_utf8_rcpt_param() -> Envelope {
    let mut envelope = envelope_to(&["b@example.net"]);
    envelope.recipients[0]
        .params
        .extra
        .push(Param::new("XTAG", Some("ü")).unwrap());
    envelope
}

/// The capabilities are known and lack SMTPUTF8: the call is refused, nothing is sent.
#[test]
fn utf8_param_value_refused_without_smtputf8() {
    for envelope in [with_utf8_mail_param(), with_utf8_rcpt_param()] {
        let mut client = ready_session(base_config(), &["mx.example", "PIPELINING"]);
        let result = client.send_message_with_body(envelope, b"hi\r\n");
        assert_eq!(
            result,
            Err(UsageError::Unsendable(Unsendable::ExtensionMissing(
                Keyword::SmtpUtf8
            )))
        );
        assert_eq!(sent(&mut client), "");
    }
}

/// Queued before the capabilities are known: the message gets that reason as its outcome, and
/// nothing of it is sent.
#[test]
fn utf8_param_value_queued_early_is_unsendable() {
    let now = Timestamp::ZERO;
    let mut client = mailwire::Client::new(base_config(), now).unwrap();
    let id = client
        .send_message_with_body(with_utf8_mail_param(), b"hi\r\n")
        .unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(now, b"250-mx.example\r\n250 PIPELINING\r\n");
    let ev = events(&mut client);
    let outcome = outcome_of(&ev, id).expect("an outcome");
    assert_eq!(
        outcome.verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::ExtensionMissing(
            Keyword::SmtpUtf8
        )))
    );
    assert_eq!(sent(&mut client), "");
}

/// A server that offers SMTPUTF8 gets it declared on MAIL.
#[test]
fn utf8_param_value_declares_smtputf8() {
    let mut client = ready_session(base_config(), &["mx.example", "PIPELINING", "SMTPUTF8"]);
    client
        .send_message_with_body(with_utf8_rcpt_param(), b"hi\r\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org> SMTPUTF8\r\nRCPT TO:<b@example.net> XTAG=ü\r\nDATA\r\n"
    );
}
