//! RFC 5321 4.2 and RFC 2920 3.1: a reply answers a command that has left, in order. One that
//! arrives while nothing of ours is on the wire answers nothing, whatever read it came with.

mod support;

use mailwire::{Client, Error, Event, Timestamp};
use support::{base_config, envelope_to, events};

/// A server that writes its greeting and a stray `250 Ok` in one segment. The EHLO had not left
/// when the `250` came, so the `250` is unsolicited: the session ends there and MAIL is never
/// sent. (It used to be taken as the EHLO reply; MAIL then went out and was blamed for the real
/// EHLO refusal that followed.)
#[test]
fn stray_reply_in_the_greeting_segment_is_unsolicited() {
    let now = Timestamp::ZERO;
    let mut client = Client::new(base_config(), now).unwrap();
    let id = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    client.finish_body(id).unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n250 Ok\r\n");
    let ev = events(&mut client);
    assert!(
        matches!(ev.last(), Some(Event::Closed(Err(Error::UnsolicitedReply(r)))) if r.code().get() == 250),
        "{ev:?}"
    );
    let mut wire = Vec::new();
    client.poll_transmit(now, &mut wire);
    assert!(wire.is_empty(), "{:?}", String::from_utf8_lossy(&wire));
    // The message was never sent, and says so.
    let outcome = support::outcome_of(&ev, id).unwrap();
    assert!(matches!(
        outcome.verdict,
        mailwire::Verdict::Failed {
            content_sent: false,
            ..
        }
    ));
    // The same bytes with the EHLO taken out between them are a normal session.
    let mut client = Client::new(base_config(), now).unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250 Ok\r\n");
    assert!(client.is_ready());
}

/// A reply while idle after the session is ready (no command awaited, no content flowing).
#[test]
fn reply_while_idle_is_unsolicited() {
    let mut client = support::ready_session(base_config(), &["mx.example", "PIPELINING"]);
    client.handle_input(Timestamp::ZERO, b"250 surprise\r\n");
    assert!(matches!(
        events(&mut client).last(),
        Some(Event::Closed(Err(Error::UnsolicitedReply(_))))
    ));
}
