//! `MessageOutcome::xforward` (Postfix's `XFORWARD_README`): the first refusal of a message's
//! XFORWARD lines, else the last reply, whatever becomes of the message; none when nothing was
//! sent. Attributes that need two lines go in two, both before MAIL.

mod support;

use mailwire::xclient::Attribute;
use mailwire::Timestamp;
use support::*;

const EHLO: &[&str] = &["mx.example", "PIPELINING", "XFORWARD NAME ADDR HELO"];

fn send(replies: &[&[u8]], xforward: &[(&str, String)]) -> (String, mailwire::MessageOutcome) {
    let now = Timestamp::ZERO;
    let mut client = ready_session(base_config(), EHLO);
    let mut envelope = envelope_to(&["b@example.net"]);
    envelope.xforward = xforward
        .iter()
        .map(|(n, v)| Attribute::new(n, v).unwrap())
        .collect();
    let id = client.send_message_with_body(envelope, b"hi\r\n").unwrap();
    let mut wire = sent(&mut client);
    for reply in replies {
        client.handle_input(now, reply);
        // Handed out before the next reply comes, as an adapter writes after every read.
        wire.push_str(&sent(&mut client));
    }
    let events = events(&mut client);
    (wire, outcome_of(&events, id).expect("an outcome"))
}

#[test]
fn the_first_refusal_is_kept_and_the_message_goes_on() {
    let long = |c: &str| [&*c.repeat(63); 4].join(".");
    let (wire, outcome) = send(
        &[
            b"501 5.5.4 Bad NAME syntax\r\n",
            b"250 2.0.0 Ok\r\n",
            b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
            b"250 2.0.0 queued\r\n",
        ],
        &[
            ("NAME", long("n")),
            ("HELO", long("h")),
            ("ADDR", "192.0.2.1".into()),
        ],
    );
    let lines: Vec<&str> = wire.lines().collect();
    assert!(lines[0].starts_with("XFORWARD NAME="), "{wire}");
    assert!(lines[1].starts_with("XFORWARD HELO=") && lines[1].ends_with(" ADDR=192.0.2.1"));
    assert_eq!(lines[2], "MAIL FROM:<a@example.org>", "{wire}");
    assert!(outcome.is_accepted(), "{outcome:?}");
    assert_eq!(outcome.xforward.map(|r| r.code().get()), Some(501));
}

#[test]
fn the_last_reply_when_all_were_taken_and_none_without_attributes() {
    let replies: &[&[u8]] = &[
        b"250 2.0.0 Ok\r\n",
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
        b"250 2.0.0 queued\r\n",
    ];
    let (wire, outcome) = send(replies, &[("NAME", "up.example".into())]);
    assert!(
        wire.starts_with("XFORWARD NAME=up.example\r\nMAIL FROM:"),
        "{wire}"
    );
    assert_eq!(outcome.xforward.as_ref().map(|r| r.code().get()), Some(250));
    let (wire, outcome) = send(&replies[1..], &[]);
    assert!(wire.starts_with("MAIL FROM:"), "{wire}");
    assert!(outcome.is_accepted());
    assert_eq!(outcome.xforward, None);
}
