//! `Event::BodyWanted` promises that `write_body` takes more now. A message abandoned in the
//! middle of a call frees the room its content held, but the same call may go on to start the
//! next message, whose MAIL and framed content take that room again; the room must be announced
//! when the call ends, not when it was freed. Found by the `caller_api` fuzzer
//! (`fuzz/regressions/caller_api/body-wanted-then-room-taken-by-next-message`).

mod support;

use mailwire::{Client, Event, Timestamp};
use support::{base_config, envelope_to, events};

#[test]
fn body_wanted_is_never_followed_by_a_write_that_takes_nothing() {
    let now = Timestamp::ZERO;
    let mut config = base_config();
    // Room for two octets of content (the body buffer holds two BDAT chunks at least).
    config.limits.body_buffer = 2;
    config.limits.bdat_chunk_size = 1;
    let mut client = Client::new(config, now).unwrap();

    // Queued before the greeting: a finished message that needs SMTPUTF8, and a message whose
    // content starts with a dot (stuffing doubles it when the message starts).
    let mut first = envelope_to(&["b@example.net"]);
    first.params.smtputf8 = true;
    client.send_message_with_body(first, b"x").unwrap();
    let second = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    let body = b".line\r\n".repeat(50);
    let mut taken = client.write_body(second, &body).unwrap();
    assert_eq!(
        taken, 1,
        "one octet of room while the first message holds its own"
    );

    // The server offers nothing: the first message is unsendable (no SMTPUTF8), which frees its
    // octet, and the second starts, its held dot now two octets: no room after all.
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250 mx.example\r\n");

    // From here on every BodyWanted must be met by a write that takes something.
    for _ in 0..10_000 {
        wire.clear();
        client.poll_transmit(now, &mut wire);
        let mut replies = Vec::new();
        for line in String::from_utf8_lossy(&wire).split_inclusive("\r\n") {
            match line {
                l if l.starts_with("MAIL") || l.starts_with("RCPT") => replies.push("250 ok"),
                "DATA\r\n" => replies.push("354 go"),
                ".\r\n" => replies.push("250 queued"),
                _ => {}
            }
        }
        for event in events(&mut client) {
            if event == Event::BodyWanted(second) && taken < body.len() {
                let n = client.write_body(second, &body[taken..]).unwrap();
                assert!(
                    n > 0,
                    "BodyWanted, then write_body took nothing ({taken} taken)"
                );
                taken += n;
                if taken == body.len() {
                    client.finish_body(second).unwrap();
                }
            }
        }
        for reply in replies {
            client.handle_input(now, format!("{reply}\r\n").as_bytes());
        }
        if taken == body.len() && wire.is_empty() {
            break;
        }
    }
    assert_eq!(taken, body.len(), "the whole body was taken");
}
