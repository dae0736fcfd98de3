//! `ContentFeed`: content pulled from its source as the session takes it. Bytes in memory, a
//! file and a reader give the same wire bytes; each feed holds at most one read buffer; a
//! reader is read once; a failing source is a `FeedError::Read`.

use mailwire::{
    Client, ClientName, Config, Envelope, Event, Mailbox, MessageId, Timestamp, TlsPolicy,
};
use mailwire_transport::{Content, ContentFeed, Fed, FeedError};
use std::collections::VecDeque;
use std::io::{self, Read};

/// A session past EHLO (PIPELINING, 8BITMIME, and SIZE when `size`), with a 16 KiB body buffer.
fn session(size: bool) -> Client {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.limits.body_buffer = 16 * 1024;
    config.limits.bdat_chunk_size = 4096;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    let ehlo: &[u8] = if size {
        b"250-mx\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n"
    } else {
        b"250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    };
    client.handle_input(now, ehlo);
    while client.poll_event().is_some() {}
    client
}

fn envelope() -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    )
}

/// 300 KiB of text, lines of 70 with some leading dots.
fn body() -> Vec<u8> {
    (0..300 * 1024)
        .map(|i| match i % 72 {
            70 => b'\r',
            71 => b'\n',
            0 if i % 7200 == 0 => b'.',
            _ => b'a' + (i % 26) as u8,
        })
        .collect()
}

/// Queues every feed, answers as a server would (250 to MAIL and RCPT, 354 to DATA, 250 to the
/// end of data), pumps the front feed after each `BodyWanted`, and returns everything sent and
/// the most the session held in its transmit buffer at once.
fn run(client: &mut Client, mut feeds: Vec<ContentFeed<'_>>) -> (Vec<u8>, usize) {
    let now = Timestamp::ZERO;
    let mut queue: VecDeque<(MessageId, ContentFeed<'_>)> = VecDeque::new();
    let mut blocked = false;
    for mut feed in feeds.drain(..) {
        let (id, fed) = feed.send(client, envelope()).unwrap();
        if fed != Fed::Finished {
            queue.push_back((id, feed));
        }
    }
    let mut all = Vec::new();
    let mut most = 0;
    let mut done = 0;
    let total = 3;
    let mut wire = Vec::new();
    for _ in 0..100_000 {
        if let Some((id, feed)) = queue.front_mut().filter(|_| !blocked) {
            match feed.pump(client, *id).unwrap() {
                Fed::Finished => {
                    queue.pop_front();
                }
                _ => blocked = true,
            }
        }
        wire.clear();
        client.poll_transmit(now, &mut wire);
        most = most.max(wire.len());
        all.extend_from_slice(&wire);
        let text = String::from_utf8_lossy(&wire);
        let mut replies = String::new();
        for line in text.split("\r\n") {
            match line {
                l if l.starts_with("MAIL") || l.starts_with("RCPT") => {
                    replies.push_str("250 ok\r\n")
                }
                "DATA" => replies.push_str("354 go\r\n"),
                "." => replies.push_str("250 queued\r\n"),
                _ => {}
            }
        }
        if !replies.is_empty() {
            client.handle_input(now, replies.as_bytes());
        }
        while let Some(event) = client.poll_event() {
            match event {
                Event::BodyWanted(id) if queue.front().is_some_and(|(f, _)| *f == id) => {
                    blocked = false
                }
                Event::MessageDone(outcome) => {
                    assert!(outcome.is_accepted());
                    done += 1;
                }
                _ => {}
            }
        }
        if done == total {
            return (all, most);
        }
    }
    panic!("the messages did not finish");
}

/// The same content from memory, a file and a reader: the same wire bytes, three messages in
/// one pipelined session, the session never holding more than its buffer (and one encoded
/// block beyond it).
#[test]
fn every_source_sends_the_same_bytes_in_bounded_memory() {
    let body = body();
    let dir = std::env::temp_dir().join(format!("mailwire-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.eml");
    std::fs::write(&path, &body).unwrap();
    let mut client = session(false);
    let feeds = vec![
        ContentFeed::open(&Content::shared(body.clone())).unwrap(),
        ContentFeed::open(&Content::file(&path)).unwrap(),
        ContentFeed::open(&Content::reader(io::Cursor::new(body.clone()))).unwrap(),
    ];
    let (wire, most) = run(&mut client, feeds);
    let _ = std::fs::remove_dir_all(&dir);
    let mut one = Vec::new();
    mailwire::DataEncoder::new().encode(&body, &mut one);
    let count = wire.windows(one.len()).filter(|w| *w == &one[..]).count();
    assert_eq!(count, 3, "each content arrives whole");
    assert!(most <= 16 * 1024 + 4096, "held {most} bytes at once");
}

/// A file measured for a server with SIZE declares its exact size; a reader is read once: a
/// second feed on it is refused.
#[test]
fn file_is_declared_and_reader_is_read_once() {
    let body = body();
    let dir = std::env::temp_dir().join(format!("mailwire-feed-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.eml");
    std::fs::write(&path, &body).unwrap();
    let mut client = session(true);
    let mut feed = ContentFeed::open(&Content::file(&path)).unwrap();
    feed.send(&mut client, envelope()).unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(Timestamp::ZERO, &mut wire);
    let _ = std::fs::remove_dir_all(&dir);
    // RFC 1870 6: the CRLF that closes the open last line counts.
    let size = body.len() + if body.ends_with(b"\r\n") { 0 } else { 2 };
    let mail = format!("MAIL FROM:<a@example.org> SIZE={size} BODY=7BIT\r\n");
    assert!(
        String::from_utf8_lossy(&wire).starts_with(&mail),
        "{}",
        String::from_utf8_lossy(&wire)
    );

    let content = Content::reader(io::Cursor::new(b"hi\r\n".to_vec()));
    assert!(content.is_repeatable());
    let _first = ContentFeed::open(&content).unwrap();
    assert!(!content.is_repeatable());
    assert!(ContentFeed::open(&content.clone()).is_err());
}

/// A file with bytes before it (`Content::file_with_prefix`, how a DKIM signature goes before
/// a message file): sent as one content, prefix first, measured with the prefix (SIZE), its
/// length hint the sum, and sent the same again from each new feed.
#[test]
fn a_prefixed_file_is_one_content() {
    let body = body();
    let prefix = b"DKIM-Signature: v=1; a=ed25519-sha256;\r\n\tb=xyz\r\n".to_vec();
    let dir = std::env::temp_dir().join(format!("mailwire-feed-prefix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.eml");
    std::fs::write(&path, &body).unwrap();
    let content = Content::file_with_prefix(prefix.clone(), &path);
    assert_eq!(content.len_hint(), Some((prefix.len() + body.len()) as u64));
    assert!(format!("{content:?}").contains(&format!("{} bytes, then", prefix.len())));
    let mut whole = prefix.clone();
    whole.extend_from_slice(&body);

    let mut client = session(true);
    let mut feed = ContentFeed::open(&content).unwrap();
    feed.send(&mut client, envelope()).unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(Timestamp::ZERO, &mut wire);
    let size = whole.len() + if whole.ends_with(b"\r\n") { 0 } else { 2 };
    assert!(
        String::from_utf8_lossy(&wire).starts_with(&format!(
            "MAIL FROM:<a@example.org> SIZE={size} BODY=7BIT\r\n"
        )),
        "{}",
        String::from_utf8_lossy(&wire)
    );

    let mut client = session(false);
    // `run` sends three messages.
    let feeds = (0..3)
        .map(|_| ContentFeed::open(&content.clone()).unwrap())
        .collect();
    let (wire, _) = run(&mut client, feeds);
    let _ = std::fs::remove_dir_all(&dir);
    let mut one = Vec::new();
    mailwire::DataEncoder::new().encode(&whole, &mut one);
    let count = wire.windows(one.len()).filter(|w| *w == &one[..]).count();
    assert_eq!(count, 3, "prefix and file arrive as one content, each time");
}

/// Queues `feed`'s message, answers MAIL, RCPT and DATA, and pumps the feed as the session
/// sends, until it is no longer blocked (or 100 rounds): what the last pump returned.
fn pump_after_go_ahead(client: &mut Client, feed: &mut ContentFeed<'_>) -> Result<Fed, FeedError> {
    let (id, _) = feed.send(client, envelope()).unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(Timestamp::ZERO, &mut wire);
    client.handle_input(Timestamp::ZERO, b"250 ok\r\n250 ok\r\n354 go\r\n");
    let mut result = Ok(Fed::Blocked);
    for _ in 0..100 {
        wire.clear();
        client.poll_transmit(Timestamp::ZERO, &mut wire);
        result = feed.pump(client, id);
        if !matches!(result, Ok(Fed::Blocked)) {
            break;
        }
    }
    result
}

/// A reader that fails in the middle is a `FeedError::Read`.
#[test]
fn failing_reader_is_a_read_error() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }
    // Before anything is queued: nothing is queued.
    let mut client = session(false);
    let mut feed = ContentFeed::from_reader(Failing(20_000));
    assert!(matches!(
        feed.send(&mut client, envelope()),
        Err(FeedError::Read(_))
    ));
    // In the middle of the content.
    let mut feed = ContentFeed::from_reader(Failing(100_000));
    let result = pump_after_go_ahead(&mut client, &mut feed);
    assert!(matches!(result, Err(FeedError::Read(_))), "{result:?}");
}

/// A reader that says it read more than its buffer holds (`Read` forbids it, a safe reader can
/// do it anyway) is a `FeedError::Read`, at the start and in the middle of the content, and
/// `declare_content` refuses to measure it: taken at its word, the message would go out cut
/// short (the bytes past the buffer read as the end of the content) or be measured too small.
#[test]
fn reader_claiming_more_than_its_buffer_is_a_read_error() {
    /// Honest for `honest` bytes, then claims one byte more than it was given room for.
    struct Overclaiming {
        honest: usize,
    }
    impl Read for Overclaiming {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.honest == 0 {
                buf.fill(b'y');
                return Ok(buf.len() + 1);
            }
            let n = buf.len().min(self.honest);
            buf[..n].fill(b'x');
            self.honest -= n;
            Ok(n)
        }
    }
    let mut client = session(false);
    let mut feed = ContentFeed::from_reader(Overclaiming { honest: 0 });
    match feed.send(&mut client, envelope()) {
        Err(FeedError::Read(e)) => {
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("bytes into a buffer of"), "{e}");
        }
        other => panic!("expected a read error before anything is queued, got {other:?}"),
    }
    // In the middle: the first 100,000 bytes are honest.
    let mut feed = ContentFeed::from_reader(Overclaiming { honest: 100_000 });
    let result = pump_after_go_ahead(&mut client, &mut feed);
    assert!(matches!(result, Err(FeedError::Read(_))), "{result:?}");
    assert!(!feed.is_finished(), "the body must not be finished short");
    let mut envelope = envelope();
    let measured =
        mailwire_transport::declare_content(&mut envelope, Overclaiming { honest: 5000 });
    assert_eq!(
        measured.map_err(|e| e.kind()),
        Err(io::ErrorKind::InvalidData)
    );
    assert_eq!(
        envelope.params.size, None,
        "nothing declared from a bad measure"
    );
}
