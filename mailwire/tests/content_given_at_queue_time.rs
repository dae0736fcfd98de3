//! `send_message_with_content`: a message queued with the start of its content takes what
//! `Limits::body_buffer` allows, so memory stays bounded, and still tells MAIL what
//! `send_message_with_body` would: a body that fits is finished before MAIL, its exact size
//! (RFC 1870 6) and 8-bit octets (RFC 6152 3) known; a larger one given whole is measured where
//! it is when the server's extensions make that matter, and not otherwise.

mod support;

use mailwire::{Rejection, Timestamp, Unsendable, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

/// A body of `n` bytes of 7-bit text in 70-byte lines, some starting with a dot.
fn text(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| match i % 72 {
            70 => b'\r',
            71 => b'\n',
            0 if i % 720 == 0 => b'.',
            _ => b'a' + (i % 26) as u8,
        })
        .collect()
}

/// Its RFC 1870 size: CRLF counted, stuffed dots not, a CRLF added to an open last line.
fn rfc1870_size(body: &[u8]) -> usize {
    body.len() + if body.ends_with(b"\r\n") { 0 } else { 2 }
}

/// No MAIL went out, and the message was refused for undeclared 8-bit content (RFC 6152 3).
fn assert_unsendable_before_mail(client: &mut mailwire::Client, id: mailwire::MessageId) {
    assert!(!sent(client).contains("MAIL"));
    let outcome = outcome_of(&events(client), id).expect("an outcome");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Rejected(Rejection::Unsendable(Unsendable::EightBitContent))
        ),
        "{:?}",
        outcome.verdict
    );
}

/// A body that fits is taken whole and finished: MAIL declares its exact size, and nothing
/// about 7-bit content (the session knows it), as with `send_message_with_body`.
#[test]
fn small_body_is_finished_before_mail() {
    let mut client = ready_session(
        base_config(),
        &["mx", "PIPELINING", "8BITMIME", "SIZE 1000000"],
    );
    let body = text(1000);
    let (_, taken) = client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert_eq!(taken, body.len());
    let wire = sent(&mut client);
    assert!(
        wire.starts_with(&format!(
            "MAIL FROM:<a@example.org> SIZE={}\r\n",
            rfc1870_size(&body)
        )),
        "{wire}"
    );
}

/// A body larger than the buffer is taken in part; to a server with SIZE the whole is
/// measured where it is, and MAIL declares its exact size; the rest follows with `write_body`.
#[test]
fn large_body_is_measured_for_a_server_with_size() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING", "8BITMIME", "SIZE 10000000"]);
    let body = text(1 << 20);
    let (id, taken) = client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert!(taken > 0 && taken <= 128 * 1024, "took {taken}");
    let wire = sent(&mut client);
    let mail = format!("MAIL FROM:<a@example.org> SIZE={}\r\n", rfc1870_size(&body));
    assert!(wire.starts_with(&mail), "{wire}");
    assert!(client.write_body(id, &body[taken..]).unwrap() < body.len() - taken);
}

/// Too large for the server's SIZE, found by measuring: refused before MAIL, as
/// `send_message_with_body` would, though the session holds only part of it.
#[test]
fn large_body_over_size_never_sends_mail() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING", "8BITMIME", "SIZE 500000"]);
    let body = text(1 << 20);
    let (id, _) = client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert!(!sent(&mut client).contains("MAIL"));
    let outcome = outcome_of(&events(&mut client), id).expect("an outcome");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Rejected(Rejection::Unsendable(Unsendable::TooLarge { .. }))
        ),
        "{:?}",
        outcome.verdict
    );
}

/// 8-bit octets far beyond what the session takes, to a server without 8BITMIME: found by
/// measuring, refused before MAIL.
#[test]
fn large_eight_bit_body_to_a_server_without_8bitmime_never_sends_mail() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING"]);
    let mut body = text(1 << 20);
    let last = body.len() - 10;
    body[last] = 0xe9;
    let (id, _) = client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert_unsendable_before_mail(&mut client, id);
}

/// To a server without SIZE and with 8BITMIME nothing about the content matters before MAIL,
/// so nothing is measured: no `SIZE=`, 8BITMIME declared (the rest may bring 8-bit octets).
#[test]
fn large_body_is_not_measured_when_nothing_depends_on_it() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING", "8BITMIME"]);
    assert!(!client.content_facts_wanted());
    let body = text(1 << 20);
    client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"));
}

/// Bodies go in queue order: while an earlier body is unfinished, a later message takes none
/// of its content, and takes it by `write_body` once the earlier one is finished.
#[test]
fn later_message_takes_nothing_while_an_earlier_body_is_open() {
    let mut client = ready_session(base_config(), &["mx", "PIPELINING", "8BITMIME"]);
    let first = client
        .send_message(envelope_to(&["b@example.net"]))
        .unwrap();
    let (second, taken) = client
        .send_message_with_content(envelope_to(&["c@example.net"]), b"hello\r\n", true)
        .unwrap();
    assert_eq!(taken, 0);
    client.finish_body(first).unwrap();
    assert_eq!(client.write_body(second, b"hello\r\n"), Ok(7));
    client.finish_body(second).unwrap();
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    client.poll_transmit(now, &mut wire);
    assert!(String::from_utf8_lossy(&wire).starts_with("MAIL FROM:<a@example.org>"));
}

/// The session's extensions decide whether measuring matters: SIZE, or no 8BITMIME, or not
/// known yet.
#[test]
fn content_facts_wanted_follows_the_extensions() {
    assert!(ready_session(base_config(), &["mx", "SIZE 1000"]).content_facts_wanted());
    assert!(ready_session(base_config(), &["mx", "PIPELINING"]).content_facts_wanted());
    assert!(!ready_session(base_config(), &["mx", "8BITMIME"]).content_facts_wanted());
    let client = mailwire::Client::new(base_config(), Timestamp::ZERO).unwrap();
    assert!(client.content_facts_wanted());
}

/// With BODY=7BIT declared, an 8-bit octet in the part taken still stops the message before
/// MAIL, as with a body that fits: the message does not start before its content is looked at.
#[test]
fn large_seven_bit_body_with_eight_bit_start_never_sends_mail() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING", "8BITMIME"]);
    let mut body = text(1 << 20);
    body[100] = 0xe9;
    let mut envelope = envelope_to(&["b@example.net"]);
    envelope.params.body = Some(mailwire::command::BodyType::SevenBit);
    let (id, _) = client
        .send_message_with_content(envelope, &body, true)
        .unwrap();
    assert_unsendable_before_mail(&mut client, id);
}

/// A large body taken in part by a session that can start the message at once (its MAIL does
/// not depend on the part) is framed as it is taken; what goes out after the 354 is the whole
/// body dot-stuffed, with its first part framed once, not twice or not at all.
#[test]
fn large_body_taken_in_part_goes_out_stuffed_once() {
    let mut config = base_config();
    config.limits.body_buffer = 64 * 1024;
    let mut client = ready_session(config, &["mx", "PIPELINING", "8BITMIME"]);
    let body = text(300 * 1024);
    let (id, mut taken) = client
        .send_message_with_content(envelope_to(&["b@example.net"]), &body, true)
        .unwrap();
    assert!(taken > 0 && taken < body.len(), "took {taken}");
    let mut wire = sent(&mut client).into_bytes();
    let now = Timestamp::ZERO;
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    loop {
        let mut out = Vec::new();
        client.poll_transmit(now, &mut out);
        wire.extend_from_slice(&out);
        if taken == body.len() {
            if out.is_empty() {
                break;
            }
            continue;
        }
        taken += client.write_body(id, &body[taken..]).unwrap();
        if taken == body.len() {
            client.finish_body(id).unwrap();
        }
    }
    let mut expected =
        b"MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\nDATA\r\n".to_vec();
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            expected.push(b'.');
        }
        expected.extend_from_slice(line);
    }
    if !body.ends_with(b"\r\n") {
        // An open last line is closed before the end mark (RFC 5321 4.1.1.4).
        expected.extend_from_slice(b"\r\n");
    }
    expected.extend_from_slice(b".\r\n");
    assert_eq!(wire.len(), expected.len());
    assert!(wire == expected, "the wire differs from the stuffed body");
}
