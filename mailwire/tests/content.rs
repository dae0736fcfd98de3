//! The one content path, through the session: DATA and BDAT framing (RFC 5321 4.5.2,
//! RFC 3030 2), back-pressure (`write_body` takes what `Limits::body_buffer` allows and says
//! how much), and the SIZE limit counted on what is really sent (RFC 1870 6). Known answers,
//! then properties over any body, any split of the writes and any buffer size, against a small
//! scripted server that answers as a real one would.

use mailwire::{
    BdatEncoder, Client, ClientName, Config, DataEncoder, Envelope, Error, Event, Mailbox,
    MessageId, MessageOutcome, Rejection, Timestamp, TlsPolicy, Unsendable, Verdict,
};
use proptest::prelude::*;

/// What a scripted server saw and says.
#[derive(Default)]
struct Server {
    /// Client bytes not yet read.
    buf: Vec<u8>,
    mode: Mode,
    /// Command lines, in order.
    commands: Vec<String>,
    /// DATA: the wire bytes between DATA's 354 and the end mark, end mark included.
    data_wire: Vec<u8>,
    /// BDAT: each chunk's size, and whether it was LAST.
    chunks: Vec<(usize, bool)>,
    /// BDAT: the chunks' octets.
    chunk_content: Vec<u8>,
    /// The end of a message's content was seen (`.` or `BDAT … LAST`).
    ended: usize,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    #[default]
    Commands,
    Data,
    Chunk(usize, bool),
}

impl Server {
    /// Reads what the client sent; returns the replies.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(bytes);
        let mut replies = Vec::new();
        loop {
            match self.mode {
                Mode::Commands => {
                    let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    self.buf.drain(..end + 2);
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    match verb.as_str() {
                        "DATA" => {
                            replies.extend_from_slice(b"354 go\r\n");
                            self.mode = Mode::Data;
                        }
                        "BDAT" => {
                            let mut words = line.split(' ').skip(1);
                            let n: usize = words.next().unwrap().parse().unwrap();
                            let last = words.next() == Some("LAST");
                            self.chunks.push((n, last));
                            self.mode = Mode::Chunk(n, last);
                        }
                        "QUIT" => replies.extend_from_slice(b"221 bye\r\n"),
                        _ => replies.extend_from_slice(b"250 ok\r\n"),
                    }
                    self.commands.push(line);
                }
                Mode::Data => {
                    // The end mark: `.` CRLF at the start of a line (the content starts at one).
                    let start_mark = self.data_wire.is_empty() && self.buf.starts_with(b".\r\n");
                    let mut joined = self.data_wire.clone();
                    joined.extend_from_slice(&self.buf);
                    let end = if start_mark {
                        Some(3)
                    } else {
                        joined
                            .windows(5)
                            .position(|w| w == b"\r\n.\r\n")
                            .map(|p| p + 5 - self.data_wire.len())
                    };
                    match end {
                        Some(n) if n <= self.buf.len() => {
                            self.data_wire.extend(self.buf.drain(..n));
                            self.ended += 1;
                            replies.extend_from_slice(b"250 queued\r\n");
                            self.mode = Mode::Commands;
                        }
                        _ => {
                            let keep = self.buf.len().min(4);
                            let take = self.buf.len() - keep;
                            self.data_wire.extend(self.buf.drain(..take));
                            break;
                        }
                    }
                }
                Mode::Chunk(n, last) => {
                    if self.buf.len() < n {
                        break;
                    }
                    self.chunk_content.extend(self.buf.drain(..n));
                    replies.extend_from_slice(b"250 chunk ok\r\n");
                    if last {
                        self.ended += 1;
                    }
                    self.mode = Mode::Commands;
                }
            }
        }
        replies
    }
}

/// A session past the greeting and EHLO.
fn session(chunking: bool, size: Option<u64>, chunk: usize, buffer: usize) -> Client {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.limits.bdat_chunk_size = chunk;
    config.limits.body_buffer = buffer;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    let mut ehlo = String::from("250-mx.example\r\n250-8BITMIME\r\n");
    if chunking {
        ehlo.push_str("250-CHUNKING\r\n");
    }
    if let Some(size) = size {
        ehlo.push_str(&format!("250-SIZE {size}\r\n"));
    }
    ehlo.push_str("250 PIPELINING\r\n");
    client.handle_input(now, ehlo.as_bytes());
    while client.poll_event().is_some() {}
    assert!(client.is_ready());
    client
}

fn envelope() -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    )
}

/// How one message went.
struct Run {
    outcome: Option<MessageOutcome>,
    closed: Option<Result<(), Error>>,
    /// Loop turns, all of which made progress.
    turns: usize,
}

/// Counts turns in a row that made no progress; fails past a few. Every turn offers bytes,
/// takes the transmit buffer and feeds the replies, so a turn with none of that is a stall.
#[derive(Default)]
struct Idle(usize);

impl Idle {
    fn turn(&mut self, progress: bool) {
        if progress {
            self.0 = 0;
        } else {
            self.0 += 1;
            assert!(self.0 < 3, "no progress in {} turns in a row", self.0);
        }
    }
}

/// Sends message `id`'s body as `pieces` (each offered until taken) through `client`, with
/// `server` answering, until its outcome (and, if the session ends, `Closed`) is in. An empty
/// `pieces` means the body was given whole (`send_message_with_body`).
fn drive(client: &mut Client, server: &mut Server, id: MessageId, pieces: &[&[u8]]) -> Run {
    drive_body(client, server, id, pieces, pieces.is_empty())
}

fn drive_streamed(
    client: &mut Client,
    server: &mut Server,
    id: MessageId,
    pieces: &[&[u8]],
) -> Run {
    drive_body(client, server, id, pieces, false)
}

fn drive_body(
    client: &mut Client,
    server: &mut Server,
    id: MessageId,
    pieces: &[&[u8]],
    whole: bool,
) -> Run {
    let now = Timestamp::ZERO;
    let mut wire = Vec::new();
    // Empty pieces offer nothing: skip them.
    let mut pieces = pieces.iter().copied().filter(|p| !p.is_empty());
    let mut rest: Option<&[u8]> = pieces.next();
    let mut finished = whole;
    let mut run = Run {
        outcome: None,
        closed: None,
        turns: 0,
    };
    let mut idle = Idle::default();
    let mut blocked = false;
    loop {
        run.turns += 1;
        let mut progress = false;
        if !blocked && run.outcome.is_none() {
            match rest {
                Some(piece) if !piece.is_empty() => {
                    let taken = client.write_body(id, piece).unwrap();
                    progress |= taken > 0;
                    blocked = taken < piece.len();
                    rest = Some(&piece[taken..]);
                }
                Some(_) => rest = pieces.next(),
                None if !finished => {
                    client.finish_body(id).unwrap();
                    finished = true;
                    progress = true;
                }
                None => {}
            }
        }
        wire.clear();
        if client.poll_transmit(now, &mut wire) > 0 {
            progress = true;
            let replies = server.feed(&wire);
            if !replies.is_empty() {
                client.handle_input(now, &replies);
            }
        }
        while let Some(event) = client.poll_event() {
            progress = true;
            match event {
                Event::BodyWanted(m) if m == id => blocked = false,
                Event::MessageDone(o) if o.message == id => run.outcome = Some(o),
                Event::Closed(result) => run.closed = Some(result),
                _ => {}
            }
        }
        if run.closed.is_some() || (run.outcome.is_some() && (finished || client.is_closed())) {
            return run;
        }
        if run.outcome.is_some() && !finished {
            // Refused early: the rest of the body is dropped, finish it.
            let _ = client.finish_body(id);
            finished = true;
            continue;
        }
        idle.turn(progress);
    }
}

/// The content as one big write of a large-buffered session would frame it.
fn data_reference(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut encoder = DataEncoder::new();
    encoder.encode(body, &mut wire);
    encoder.finish(&mut wire);
    wire
}

fn bdat_reference(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut encoder = BdatEncoder::new(false);
    encoder.encode(body, &mut wire);
    encoder.finish(&mut wire);
    wire
}

/// RFC 5321 4.5.2: through the session, line ends are normalised, dots stuffed, the end mark
/// added; the SIZE declared for a body given whole is its RFC 1870 size.
#[test]
fn data_known_answer() {
    let mut client = session(false, Some(1000), 8, 1024);
    let mut server = Server::default();
    let id = client
        .send_message_with_body(envelope(), b"Subject: hi\n\n.dot\nend")
        .unwrap();
    let run = drive(&mut client, &mut server, id, &[]);
    assert!(run.outcome.unwrap().is_accepted());
    assert_eq!(
        server.data_wire,
        b"Subject: hi\r\n\r\n..dot\r\nend\r\n.\r\n"
    );
    // RFC 1870 6: CRLFs count (the closing one too), the stuffed dot and the end mark do not.
    assert_eq!(server.commands[0], "MAIL FROM:<a@example.org> SIZE=26");
}

/// RFC 3030 2: BDAT chunks are gathered to `bdat_chunk_size`, whatever the write sizes; what is
/// left when the body ends goes with `LAST`.
#[test]
fn bdat_chunks_are_full_whatever_the_writes() {
    let mut client = session(true, None, 4, 64);
    let mut server = Server::default();
    let id = client.send_message(envelope()).unwrap();
    let run = drive(
        &mut client,
        &mut server,
        id,
        &[b"a", b"bc", b"defghij", b"k\n"],
    );
    assert!(run.outcome.unwrap().is_accepted());
    assert_eq!(
        server.chunks,
        [(4, false), (4, false), (4, false), (1, true)]
    );
    assert_eq!(server.chunk_content, b"abcdefghijk\r\n");
}

/// `write_body` pushes back: with a 16-byte buffer and no reply yet to DATA, it takes 16 bytes
/// and no more until the 354 lets them out; `BodyWanted` says when to offer the rest. (The
/// content is not all known when MAIL goes, so BODY=8BITMIME is declared to a server that
/// offers it: RFC 6152 allows 8-bit octets, it does not require them.)
#[test]
fn write_body_takes_what_the_buffer_allows() {
    let now = Timestamp::ZERO;
    let mut client = session(false, None, 8, 16);
    let id = client.send_message(envelope()).unwrap();
    let body = [b'x'; 40];
    // Everything held counts, the commands not yet taken too.
    assert_eq!(client.write_body(id, &body), Ok(0));
    let mut wire = Vec::new();
    client.poll_transmit(now, &mut wire);
    assert_eq!(
        wire,
        b"MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    );
    // The commands left: room again, and the writer turned away is told.
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(events.contains(&Event::BodyWanted(id)), "{events:?}");
    assert_eq!(client.write_body(id, &body), Ok(16));
    // The held content did not leave (it waits for the 354): no room, and no wake-up.
    assert_eq!(client.write_body(id, &body[16..]), Ok(0));
    wire.clear();
    assert_eq!(client.poll_transmit(now, &mut wire), 0);
    assert!(!std::iter::from_fn(|| client.poll_event()).any(|e| matches!(e, Event::BodyWanted(_))));
    client.handle_input(now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, [b'x'; 16]);
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(events.contains(&Event::BodyWanted(id)), "{events:?}");
    assert_eq!(client.write_body(id, &body[16..]), Ok(16));
}

/// Regression: BDAT with one-octet chunks, a tiny buffer and one-byte writes of a 95-byte body
/// of dots and bare CR/LF: every octet becomes a `BDAT 1` command of its own, and the run ends.
/// (The old property test of the content framer bounded its calls at four per input byte and
/// called such a run, one-byte output buffers and all, a stall; the drive loop here counts turns
/// without progress instead.)
#[test]
fn bdat_tiny_chunks_tiny_buffer_finish() {
    let input: Vec<u8> = b"\r\r.\r\n\r\r\r.\r"
        .iter()
        .copied()
        .cycle()
        .take(95)
        .collect();
    let pieces: Vec<&[u8]> = input.chunks(1).collect();
    let mut client = session(true, None, 1, 1);
    let mut server = Server::default();
    let id = client.send_message(envelope()).unwrap();
    let run = drive(&mut client, &mut server, id, &pieces);
    assert!(run.outcome.unwrap().is_accepted());
    assert_eq!(server.chunk_content, bdat_reference(&input));
    // One octet a chunk: as many chunks as octets, and the LAST one empty or of one octet.
    assert!(server.chunks.iter().all(|&(n, _)| n <= 1));
    assert!(server.chunks.len() >= server.chunk_content.len());
    assert!(run.turns >= 95, "{} turns", run.turns);
}

/// RFC 1870 6.1 with the size known before MAIL (the body given whole): a message over the
/// server's SIZE never has its MAIL sent.
#[test]
fn too_large_whole_body_never_sends_mail() {
    for chunking in [false, true] {
        let mut client = session(chunking, Some(1000), 64, 4096);
        let mut server = Server::default();
        let id = client
            .send_message_with_body(envelope(), &[b'x'; 5000])
            .unwrap();
        let run = drive(&mut client, &mut server, id, &[]);
        let outcome = run.outcome.unwrap();
        assert_eq!(
            outcome.verdict,
            Verdict::Rejected(Rejection::Unsendable(Unsendable::TooLarge {
                size: 5002,
                limit: 1000
            }))
        );
        assert!(server.commands.is_empty(), "{:?}", server.commands);
        assert!(!client.is_closed());
    }
}

/// RFC 1870 6, streamed without PIPELINING: the content grows past SIZE while MAIL is still
/// awaited, before DATA. The message is dropped (no RCPT, no DATA), its outcome says why once
/// MAIL is answered, and RSET ends the open transaction before the next MAIL.
#[test]
fn streamed_past_size_before_data_drops_the_message_then_rset() {
    let now = Timestamp::ZERO;
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250-mx.example\r\n250 SIZE 10\r\n");
    let id = client.send_message(envelope()).unwrap();
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"MAIL FROM:<a@example.org>\r\n");
    assert_eq!(client.write_body(id, &[b'x'; 20]), Ok(20));
    client.finish_body(id).unwrap();
    wire.clear();
    assert_eq!(client.poll_transmit(now, &mut wire), 0);
    client.handle_input(now, b"250 ok\r\n");
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    let outcome = events.iter().find_map(|e| match e {
        Event::MessageDone(o) if o.message == id => Some(o.clone()),
        _ => None,
    });
    assert_eq!(
        outcome.unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::TooLarge {
            size: 20,
            limit: 10
        }))
    );
    assert!(!client.is_closed());
    client.send_message_with_body(envelope(), b"x\n").unwrap();
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"RSET\r\n");
    client.handle_input(now, b"250 reset\r\n");
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"MAIL FROM:<a@example.org> SIZE=3\r\n");
}

/// Bodies rich in what matters: dots, CR, LF, 8-bit octets and ordinary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'.'),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'a'),
            any::<u8>()
        ],
        0..300,
    )
}

/// Splits `input` at the given cut points.
fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&input[start..cut]);
        start = cut;
    }
    pieces.push(&input[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 5321 4.5.2: any body, any split of the writes, any buffer: the DATA content on the
    /// wire is exactly what one `DataEncoder` pass gives, and no turn stalls.
    #[test]
    fn data_any_split_matches_encoder(
        input in body(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        buffer in 1usize..64,
    ) {
        let mut client = session(false, None, 1, buffer);
        let mut server = Server::default();
        let id = client.send_message(envelope()).unwrap();
        let run = drive_streamed(&mut client, &mut server, id, &split(&input, &cuts));
        prop_assert!(run.outcome.unwrap().is_accepted());
        prop_assert_eq!(&server.data_wire, &data_reference(&input));
    }

    /// RFC 3030 2: any body, split and buffer: complete chunks of at most `chunk_size`, one
    /// LAST at the end, carrying exactly what `BdatEncoder` gives.
    #[test]
    fn bdat_any_split_matches_encoder(
        input in body(),
        chunk in 1usize..40,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        buffer in 1usize..64,
    ) {
        let mut client = session(true, None, chunk, buffer);
        let mut server = Server::default();
        let id = client.send_message(envelope()).unwrap();
        let run = drive_streamed(&mut client, &mut server, id, &split(&input, &cuts));
        prop_assert!(run.outcome.unwrap().is_accepted());
        prop_assert!(server.chunks.iter().all(|&(n, _)| n <= chunk), "{:?}", server.chunks);
        prop_assert_eq!(server.chunks.iter().filter(|c| c.1).count(), 1);
        prop_assert!(server.chunks.last().is_some_and(|c| c.1));
        prop_assert_eq!(&server.chunk_content, &bdat_reference(&input));
    }

    /// RFC 1870 6, streamed (the size unknown at MAIL): a message whose content stays within
    /// the limit goes through; one that grows past it is refused with `TooLarge`, and the
    /// server never takes it: with DATA the end mark never goes out and the connection is
    /// closed; with BDAT no LAST chunk goes out, what went carries at most `limit` octets, and
    /// RSET comes before the next message.
    #[test]
    fn size_limit_holds_on_what_is_sent(
        input in body(),
        chunking in any::<bool>(),
        chunk in 1usize..40,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        buffer in 1usize..64,
        slack in -3i64..3,
    ) {
        let input: Vec<u8> = input.into_iter().map(|b| b & 0x7f).collect();
        let exact = {
            let mut e = DataEncoder::new();
            e.encode(&input, &mut Vec::new());
            e.final_size()
        };
        let limit = exact.saturating_add_signed(slack).max(1);
        let mut client = session(chunking, Some(limit), chunk, buffer);
        let mut server = Server::default();
        let id = client.send_message(envelope()).unwrap();
        let run = drive_streamed(&mut client, &mut server, id, &split(&input, &cuts));
        let outcome = run.outcome.unwrap();
        if exact <= limit {
            prop_assert!(outcome.is_accepted(), "{:?}", outcome.verdict);
        } else {
            prop_assert!(
                matches!(outcome.verdict, Verdict::Rejected(Rejection::Unsendable(Unsendable::TooLarge { .. }))),
                "{:?}", outcome.verdict
            );
            prop_assert_eq!(server.ended, 0);
            if chunking {
                prop_assert!(server.chunk_content.len() as u64 <= limit);
                prop_assert!(!client.is_closed());
                let next = client.send_message_with_body(envelope(), b"").unwrap();
                let run = drive(&mut client, &mut server, next, &[]);
                prop_assert!(run.outcome.unwrap().is_accepted());
                let mail = server.commands.iter().rposition(|c| c.starts_with("MAIL")).unwrap();
                prop_assert_eq!(&server.commands[mail - 1], "RSET");
            } else {
                prop_assert!(matches!(run.closed, Some(Err(Error::ContentAbandoned(m))) if m == id));
            }
        }
    }
}
