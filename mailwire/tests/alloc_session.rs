//! Heap allocations per message of a whole `Client` session in steady state: a scripted
//! server answers through `handle_input`, messages go in with `send_message_with_body`, the
//! transmit buffer is reused, events are drained and dropped.
//!
//! Unlike content encoding (`tests/alloc_content.rs`: zero), the session allocates per
//! message: the envelope and its per-message state are owned, and events carry owned replies.
//! This test documents the figure and bounds it at what was measured, so that an increase
//! fails (when allocations are cut, lower the bound and update the figures here).
//!
//! Measured (one recipient, 1 KiB body, PIPELINING, replies with text; the same in debug and
//! release builds):
//! - DATA: **7** allocations per message in the session, plus 3 to build the envelope (two
//!   `Mailbox` clones and the recipient list: the caller's side);
//! - BDAT (CHUNKING): **7** per message in the session, plus the same 3.
//!
//! Where the session's come from:
//! - 1: the message's recipient list for its outcome (`Vec<RecipientOutcome>`);
//! - 4: the RCPT reply, cloned twice (into `Event::RecipientAccepted` and into the outcome),
//!   2 buffers each (text, line index);
//! - 2: the final reply, cloned into the outcome.
//!
//! The reply parser reuses one `Reply` (replies are cloned only where they are kept), and the
//! content buffers of finished messages are reused by the next ones.
//!
//! (Earlier: 17 and 15, then 11 and 9. Cut by reusing one scratch buffer to check queued
//! commands (3), by borrowing instead of cloning the capabilities (1) and the envelope (2), then
//! by reusing the parser's reply and the staged-content buffers; the outcome event added 1.)
//!
//! Its own test binary, because it installs a counting global allocator; only the thread that
//! switches counting on is counted.

use mailwire::{Client, ClientName, Config, Envelope, Event, Mailbox, Timestamp, TlsPolicy};

mod counting_alloc;
use counting_alloc::counting;

/// A session past the greeting and EHLO, and the server's script for one message.
struct Bench {
    client: Client,
    wire: Vec<u8>,
    now: Timestamp,
    /// Replies to the first flight (MAIL, RCPT, DATA or the whole BDAT message).
    first: &'static [u8],
    /// Replies after the content (DATA only).
    second: Option<&'static [u8]>,
}

impl Bench {
    fn new(chunking: bool) -> Bench {
        let mut config = Config::new(ClientName::parse("client.example").unwrap());
        config.tls = TlsPolicy::Never;
        let now = Timestamp::ZERO;
        let mut client = Client::new(config, now).expect("configuration");
        let mut wire = Vec::new();
        client.handle_input(now, b"220 mx.example ESMTP\r\n");
        client.poll_transmit(now, &mut wire);
        assert_eq!(wire, b"EHLO client.example\r\n");
        wire.clear();
        let ehlo: &[u8] = if chunking {
            b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000000\r\n250 CHUNKING\r\n"
        } else {
            b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 10000000\r\n"
        };
        client.handle_input(now, ehlo);
        while client.poll_event().is_some() {}
        let (first, second): (&[u8], _) = if chunking {
            (
                b"250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n250 2.0.0 Queued as 1A2B3C\r\n",
                None,
            )
        } else {
            (
                b"250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 Go ahead\r\n",
                Some(&b"250 2.0.0 Queued as 1A2B3C\r\n"[..]),
            )
        };
        Bench {
            client,
            wire,
            now,
            first,
            second,
        }
    }

    /// One message through the script; true if it was accepted.
    fn send(&mut self, envelope: Envelope, body: &[u8]) -> bool {
        let id = self.client.send_message_with_body(envelope, body).unwrap();
        self.flush();
        self.client.handle_input(self.now, self.first);
        self.flush();
        if let Some(second) = self.second {
            self.client.handle_input(self.now, second);
            self.flush();
        }
        let mut accepted = false;
        while let Some(event) = self.client.poll_event() {
            if let Event::MessageDone(outcome) = event {
                accepted |= outcome.message == id && outcome.is_accepted();
            }
        }
        accepted
    }

    /// What the adapter does: take the bytes, "write" them, keep the buffer.
    fn flush(&mut self) {
        self.client.poll_transmit(self.now, &mut self.wire);
        std::hint::black_box(&self.wire);
        self.wire.clear();
    }
}

/// Per-message allocations over `messages` messages after a warm-up: (session, envelope).
fn measure(chunking: bool, messages: u64) -> (f64, f64) {
    let from = Mailbox::parse("alice@example.org").unwrap();
    let to = Mailbox::parse("bob@example.net").unwrap();
    let body: Vec<u8> = b"Subject: steady state\r\n\r\n"
        .iter()
        .copied()
        .chain((0..1000).map(|i| if i % 72 == 71 { b'\n' } else { b'x' }))
        .collect();
    let mut bench = Bench::new(chunking);
    // Warm-up: queues, buffers and the parser reach their working capacity.
    for _ in 0..50 {
        assert!(bench.send(Envelope::new(Some(from.clone()), [to.clone()]), &body));
    }
    let (mut session, mut envelopes) = (0, 0);
    for _ in 0..messages {
        let (envelope, n) = counting(|| Envelope::new(Some(from.clone()), [to.clone()]));
        envelopes += n;
        let (accepted, n) = counting(|| bench.send(envelope, &body));
        assert!(accepted);
        session += n;
    }
    (
        session as f64 / messages as f64,
        envelopes as f64 / messages as f64,
    )
}

/// RFC 5321 3.3 transactions (MAIL, RCPT, DATA, content, `.`), pipelined (RFC 2920): the
/// session's allocations per message stay under a fixed bound (see the module docs).
#[test]
fn data_session_allocations_per_message_are_bounded() {
    let (session, envelope) = measure(false, 1000);
    println!("DATA: {session} allocations per message in the session, {envelope} for the envelope");
    assert!(session <= 7.0, "DATA: {session} allocations per message");
    assert!(envelope <= 3.0, "envelope: {envelope} allocations");
}

/// RFC 3030 transactions (MAIL, RCPT, BDAT LAST), pipelined: bounded likewise.
#[test]
fn bdat_session_allocations_per_message_are_bounded() {
    let (session, envelope) = measure(true, 1000);
    println!("BDAT: {session} allocations per message in the session, {envelope} for the envelope");
    assert!(session <= 7.0, "BDAT: {session} allocations per message");
    assert!(envelope <= 3.0, "envelope: {envelope} allocations");
}

/// The counter does count (so the figures above mean something).
#[test]
fn counter_sees_allocations() {
    let (_, n) = counting(|| std::hint::black_box(vec![0u8; 32]));
    assert_eq!(n, 1);
}
