//! Content sent without a copy: `DataEncoder::plan` lays out the same wire bytes as `encode`
//! (pieces of the input and the bytes the encoder adds), and `Client::write_body_planned`
//! sends exactly what `write_body` sends, or is `write_body` when the content cannot go out at
//! once (RFC 5321 4.5.2 stuffing and 2.3.8 line ends either way).

use mailwire::body::{BodyPlan, DataEncoder, Piece};
use mailwire::{
    Client, ClientName, Config, Envelope, Error, Event, Mailbox, MessageId, Rejection, Timestamp,
    TlsPolicy, Unsendable, Verdict,
};
use proptest::prelude::*;

fn wire_of(pieces: &[Piece], input: &[u8]) -> Vec<u8> {
    pieces
        .iter()
        .flat_map(|p| p.bytes(input))
        .copied()
        .collect()
}

/// `input` in `cuts` chunks, each planned (with at most `max` pieces a call) or encoded, then
/// finished: the wire bytes, and the size the encoder counted.
fn mixed(input: &[u8], cuts: &[usize], plan_them: &[bool], max: usize) -> (Vec<u8>, u64) {
    let mut encoder = DataEncoder::new();
    let mut wire = Vec::new();
    let mut at = 0;
    for (k, &cut) in cuts.iter().chain([&input.len()]).enumerate() {
        let end = cut.clamp(at, input.len());
        let mut chunk = &input[at..end];
        at = end;
        if plan_them.get(k).copied().unwrap_or(false) {
            while !chunk.is_empty() {
                let mut pieces = Vec::new();
                let used = encoder.plan(chunk, &mut pieces, max);
                assert!(pieces.len() <= max);
                assert!(used > 0, "a plan with room always makes progress");
                wire.extend_from_slice(&wire_of(&pieces, chunk));
                chunk = &chunk[used..];
            }
        } else {
            encoder.encode(chunk, &mut wire);
        }
    }
    let size = encoder.final_size();
    encoder.finish(&mut wire);
    (wire, size)
}

#[test]
fn plan_known_answers() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b"a\nb", b"a\r\nb\r\n.\r\n"),
        (b"a\rb", b"a\r\nb\r\n.\r\n"),
        (b".a\r\n..\r\n", b"..a\r\n...\r\n.\r\n"),
        (b"x\r\n.\r\ny", b"x\r\n..\r\ny\r\n.\r\n"),
        (b"\n\n\r\r", b"\r\n\r\n\r\n\r\n.\r\n"),
    ];
    for &(input, want) in cases {
        let (wire, _) = mixed(input, &[], &[true], 64);
        assert_eq!(wire, want, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn clean_text_is_one_borrowed_piece() {
    let mut input = Vec::new();
    while input.len() < 100_000 {
        input.extend_from_slice(b"a line of text that needs nothing\r\n");
    }
    let mut pieces = Vec::new();
    let used = DataEncoder::new().plan(&input, &mut pieces, 4);
    assert_eq!(used, input.len());
    assert_eq!(
        pieces,
        [Piece::Content {
            start: 0,
            end: input.len()
        }]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any content, cut anywhere, planned and encoded in any mix, with any cap on the pieces:
    /// the same wire bytes and the same RFC 1870 size as one `encode`.
    #[test]
    fn planning_is_encoding(
        input in proptest::collection::vec(
            prop_oneof![8 => any::<u8>(), 2 => Just(b'\r'), 2 => Just(b'\n'), 2 => Just(b'.')],
            0..600,
        ),
        cuts in proptest::collection::vec(0usize..600, 0..6),
        plan_them in proptest::collection::vec(any::<bool>(), 0..7),
        max in 1usize..6,
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (want, want_size) = mixed(&input, &[], &[false], 1);
        let (got, got_size) = mixed(&input, &cuts, &plan_them, max);
        prop_assert_eq!(got, want);
        prop_assert_eq!(got_size, want_size);
    }
}

// ------------------------------------------------------------------ through the session

fn envelope() -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    )
}

/// A session that has sent MAIL, RCPT and DATA; the server's EHLO says `ehlo`. The wire so far
/// is in `wire`.
fn session(config: Config, ehlo: &[u8], wire: &mut Vec<u8>) -> (Client, MessageId) {
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    client.handle_input(now, b"220 mx ESMTP\r\n");
    client.poll_transmit(now, wire);
    client.handle_input(now, ehlo);
    let id = client.send_message(envelope()).unwrap();
    client.poll_transmit(now, wire);
    (client, id)
}

fn config() -> Config {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config
}

const EHLO: &[u8] = b"250-mx\r\n250-8BITMIME\r\n250 PIPELINING\r\n";

/// Sends `body` in `chunk`-byte writes, planned or not, and returns the whole wire.
fn send(body: &[u8], chunk: usize, planned: bool) -> (Vec<u8>, usize) {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    let (mut client, id) = session(config(), EHLO, &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    let mut plans = 0;
    let mut plan = BodyPlan::new();
    for mut part in body.chunks(chunk.max(1)) {
        while !part.is_empty() {
            client.poll_transmit(now, &mut wire);
            let taken = if planned {
                let taken = client.write_body_planned(id, part, &mut plan).unwrap();
                if !plan.is_empty() {
                    plans += 1;
                    assert_eq!(plan.taken(), taken);
                    let bytes: Vec<u8> = plan.slices(part).flatten().copied().collect();
                    assert_eq!(bytes.len(), plan.len());
                    // The session holds none of it: nothing of it comes out of poll_transmit.
                    let mut after = Vec::new();
                    assert_eq!(client.poll_transmit(now, &mut after), 0);
                    wire.extend_from_slice(&bytes);
                }
                taken
            } else {
                client.write_body(id, part).unwrap()
            };
            part = &part[taken..];
        }
    }
    client.finish_body(id).unwrap();
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250 queued\r\n");
    let mut accepted = false;
    while let Some(event) = client.poll_event() {
        if let Event::MessageDone(outcome) = event {
            accepted = outcome.is_fully_accepted();
        }
    }
    assert!(accepted);
    (wire, plans)
}

#[test]
fn the_session_sends_the_same_bytes_planned() {
    let mut body = Vec::new();
    for k in 0..20_000 {
        match k % 7 {
            0 => body.extend_from_slice(b".dot at a line start\r\n"),
            1 => body.extend_from_slice(b"bare lf\n"),
            2 => body.extend_from_slice(b"bare cr\r"),
            _ => body.extend_from_slice(b"an ordinary line of text\r\n"),
        }
    }
    body.extend_from_slice(b"no line end at the end");
    for chunk in [1, 7, 4096, 65_536, body.len()] {
        let (copied, _) = send(&body, chunk, false);
        let (planned, plans) = send(&body, chunk, true);
        assert!(plans > 0, "chunk {chunk}: nothing was planned");
        assert_eq!(planned, copied, "chunk {chunk}");
    }
}

#[test]
fn before_the_354_the_content_is_taken_as_write_body_takes_it() {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    let (mut client, id) = session(config(), EHLO, &mut wire);
    let mut plan = BodyPlan::new();
    let taken = client
        .write_body_planned(id, b"early\r\n", &mut plan)
        .unwrap();
    assert!(plan.is_empty());
    assert_eq!(taken, 7);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    client.finish_body(id).unwrap();
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"early\r\n.\r\n");
}

#[test]
fn output_not_yet_polled_goes_first() {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    let (mut client, id) = session(config(), EHLO, &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    // A NOOP queued and not polled yet: its bytes are in the transmit buffer.
    client.noop(None).unwrap();
    let mut plan = BodyPlan::new();
    client.write_body(id, b"first ").unwrap();
    let taken = client
        .write_body_planned(id, b"then\r\n", &mut plan)
        .unwrap();
    assert!(
        plan.is_empty(),
        "the transmit buffer is not empty: copied behind it"
    );
    assert_eq!(taken, 6);
}

#[test]
fn the_transcript_of_content_gets_a_copy() {
    let now = Timestamp::ZERO;
    let mut config = config();
    config.transcript = true;
    config.transcript_content = true;
    let mut wire = Vec::new();
    let (mut client, id) = session(config, EHLO, &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    client.poll_transmit(now, &mut wire);
    let mut plan = BodyPlan::new();
    client
        .write_body_planned(id, b"seen\r\n", &mut plan)
        .unwrap();
    assert!(plan.is_empty());
    let mut lines = Vec::new();
    while let Some(event) = client.poll_event() {
        if let Event::Transcript(line) = event {
            lines.push(line.line);
        }
    }
    assert!(lines.iter().any(|l| l == b"seen"), "{lines:?}");
}

#[test]
fn undeclared_eight_bit_is_refused_as_write_body_refuses_it() {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    // No 8BITMIME: the MAIL cannot declare 8-bit content.
    let (mut client, id) = session(config(), b"250-mx\r\n250 PIPELINING\r\n", &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    client.poll_transmit(now, &mut wire);
    let mut plan = BodyPlan::new();
    client
        .write_body_planned(id, "caf\u{e9}\r\n".as_bytes(), &mut plan)
        .unwrap();
    assert!(plan.is_empty());
    let mut refused = None;
    while let Some(event) = client.poll_event() {
        if let Event::MessageDone(outcome) = event {
            refused = Some(outcome.verdict);
        }
    }
    assert!(
        matches!(
            refused,
            Some(Verdict::Rejected(Rejection::Unsendable(
                Unsendable::EightBitContent
            )))
        ),
        "{refused:?}"
    );
}

#[test]
fn content_over_the_size_limit_fails_the_session_and_plans_nothing() {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    let ehlo = b"250-mx\r\n250-8BITMIME\r\n250-SIZE 100\r\n250 PIPELINING\r\n";
    let (mut client, id) = session(config(), ehlo, &mut wire);
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    client.poll_transmit(now, &mut wire);
    let mut plan = BodyPlan::new();
    let body = vec![b'x'; 500];
    client.write_body_planned(id, &body, &mut plan).unwrap();
    assert!(plan.is_empty());
    assert!(client.is_closed());
    assert!(matches!(client.error(), Some(Error::ContentAbandoned(_))));
}
