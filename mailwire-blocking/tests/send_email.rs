//! `Client::send_email` (feature `builder`) against the embedded demo server: the envelope is
//! the message's (MAIL FROM the From mailbox, RCPT To, Cc and Bcc once each, RFC 5321 3.3), and
//! the content stored is the message's, every part intact after dot-stuffing (RFC 5321 4.5.2).

mod support;

use mail_parser::{MessageParser, MimeHeaders};
use mailwire_blocking::demo_server::DemoServer;
use mailwire_blocking::message::{Attachment, Email};
use mailwire_blocking::Client;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(10);

#[test]
fn send_email_sends_envelope_and_every_part() {
    let server = DemoServer::start().unwrap();
    let csv = "n;name\n1;Zoë\n.\n..dots\n".as_bytes().to_vec();
    let email = Email::builder()
        .from("Alice <alice@example.org>")
        .to("bob@example.net")
        .cc("Carol <carol@example.net>")
        .bcc("dave@example.net")
        .bcc("bob@example.net")
        .subject("Grüße")
        .text(".leading dot\nsecond line\n")
        .attachment(Attachment::new("liste.csv", csv.clone()))
        .build()
        .unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let outcome = client.send_email(&email).unwrap();
    assert!(outcome.is_fully_accepted(), "{outcome:?}");
    client.quit().unwrap();

    let got = &server.wait_for(1, T)[0];
    assert!(
        got.mail_from.starts_with("<alice@example.org>"),
        "{}",
        got.mail_from
    );
    assert_eq!(
        got.rcpt_to,
        [
            "<bob@example.net>",
            "<carol@example.net>",
            "<dave@example.net>"
        ]
    );
    let m = MessageParser::default().parse(&got.content).unwrap();
    assert_eq!(m.subject(), Some("Grüße"));
    assert_eq!(m.message_id(), email.message_id());
    assert_eq!(
        m.body_text(0).unwrap().replace("\r\n", "\n"),
        ".leading dot\nsecond line\n"
    );
    let attachment = m.attachment(0).unwrap();
    assert_eq!(attachment.attachment_name(), Some("liste.csv"));
    assert_eq!(attachment.contents(), csv);
    assert!(!String::from_utf8_lossy(&got.content).contains("dave"));
}
