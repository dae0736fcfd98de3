//! Property tests: whatever a server sends (well-formed replies in any order, garbage, endless
//! lines, closes, silence), the session never panics, keeps its buffers bounded, and sends
//! nothing after it reported `Closed` (RFC 5321 4.2, 3.8; STYLE.md testing habit 3).

mod support;

use mailwire::sasl::Credentials;
use mailwire::{
    AuthConfig, Client, ClientName, Config, Envelope, Event, Mailbox, Secret, Timestamp, TlsPolicy,
};
use proptest::prelude::*;
use std::time::Duration;

/// One step of a hostile server.
#[derive(Clone, Debug)]
enum Step {
    /// A syntactically valid reply line.
    Line { code: u16, more: bool, text: String },
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Time passes.
    Wait(u64),
    /// The caller queues a message (sometimes with a body written at once).
    Send { body: bool },
    /// The caller finishes a TLS handshake (ignored unless requested).
    Tls,
    /// The connection closes.
    Close,
}

fn step() -> impl Strategy<Value = Step> {
    let codes = prop::sample::select(vec![
        220u16, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 500, 501, 502, 503, 530,
        535, 550, 552, 554,
    ]);
    let text = prop::sample::select(vec![
        "",
        "OK",
        "mx.example",
        "PIPELINING",
        "CHUNKING",
        "STARTTLS",
        "AUTH PLAIN LOGIN CRAM-MD5",
        "SIZE 10",
        "8BITMIME",
        "SMTPUTF8",
        "DSN",
        "VXNlcm5hbWU6",
        "PDEyMzQ+",
        "2.0.0 ok",
        "==",
    ])
    .prop_map(String::from);
    prop_oneof![
        6 => (codes, any::<bool>(), text).prop_map(|(code, more, text)| Step::Line { code, more, text }),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Step::Raw),
        1 => (0u64..700).prop_map(Step::Wait),
        1 => any::<bool>().prop_map(|body| Step::Send { body }),
        1 => Just(Step::Tls),
        1 => Just(Step::Close).prop_filter("rare", |_| true),
    ]
}

fn config(variant: u8) -> Config {
    let mut c = Config::new(ClientName::parse("client.example").unwrap());
    c.tls = match variant % 3 {
        0 => TlsPolicy::Never,
        1 => TlsPolicy::Opportunistic,
        _ => TlsPolicy::Required,
    };
    c.pipelining = variant & 4 == 0;
    c.chunking = variant & 8 == 0;
    c.transcript = variant & 16 == 0;
    c.limits.bdat_chunk_size = 16;
    if variant & 32 == 0 {
        let mut auth = AuthConfig::new(Credentials::Password {
            username: "alice".into(),
            password: Secret::new("pw".into()),
        });
        auth.allow_plaintext = true;
        auth.nonce = vec![7; 24];
        c.auth = Some(auth);
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the server sends, and whenever: no panic, nothing sent after `Closed`, bounded
    /// output, and every message queued gets exactly one `MessageDone`, before `Closed`.
    #[test]
    fn hostile_server_never_panics_and_nothing_follows_closed(
        variant in any::<u8>(),
        steps in prop::collection::vec(step(), 0..60),
        split in 1usize..9,
    ) {
        let mut now = Timestamp::ZERO;
        let mut client = Client::new(config(variant), now).expect("configuration");
        let mut closed = false;
        let mut out = Vec::new();
        let mut sent_total = 0usize;
        let mut events = 0usize;
        // Every message queued gets exactly one outcome: never two, and one by `Closed`.
        let mut outcomes: std::collections::BTreeMap<u64, usize> = Default::default();
        for s in steps {
            match s {
                Step::Line { code, more, text } => {
                    let line = format!("{code}{}{text}\r\n", if more { '-' } else { ' ' });
                    for chunk in line.as_bytes().chunks(split) {
                        client.handle_input(now, chunk);
                    }
                }
                Step::Raw(bytes) => client.handle_input(now, &bytes),
                Step::Wait(secs) => {
                    now = now.saturating_add(Duration::from_secs(secs));
                    client.handle_timeout(now);
                }
                Step::Send { body } => {
                    let env = Envelope::new(
                        Some(Mailbox::parse("a@example.org").unwrap()),
                        [Mailbox::parse("b@example.net").unwrap(), Mailbox::parse("c@example.net").unwrap()],
                    );
                    if let Ok(id) = client.send_message(env) {
                        outcomes.insert(id.get(), 0);
                        if body {
                            // An earlier message's unfinished body makes this a usage error
                            // (bodies are written in order), which must change nothing.
                            if client.write_body(id, b"Subject: x\r\n\r\n.hello\n").is_ok() {
                                client.finish_body(id).unwrap();
                            }
                        }
                    }
                }
                Step::Tls => client.handle_tls_established(now),
                Step::Close => client.handle_closed(now),
            }
            out.clear();
            let n = client.poll_transmit(now, &mut out);
            prop_assert!(!(closed && n > 0), "sent {:?} after Closed", String::from_utf8_lossy(&out));
            sent_total += n;
            while let Some(e) = client.poll_event() {
                events += 1;
                if let Event::MessageDone(o) = &e {
                    prop_assert!(!closed, "an outcome after Closed");
                    let n = outcomes.get_mut(&o.message.get());
                    prop_assert!(n.is_some(), "an outcome for a message never queued");
                    let n = n.unwrap();
                    *n += 1;
                    prop_assert_eq!(*n, 1, "two outcomes for {:?}", o.message);
                }
                if matches!(e, Event::Closed(_)) {
                    prop_assert!(!closed, "Closed reported twice");
                    closed = true;
                    prop_assert!(outcomes.values().all(|&n| n == 1), "{:?}", outcomes);
                }
            }
            // A deadline, when there is one, is never in the past of an open session that was
            // just told the time.
            if let Some(t) = client.poll_timeout() {
                prop_assert!(!client.is_closed());
                let _ = t;
            }
        }
        // Bounded: a bounded number of steps cannot make unbounded output or events.
        prop_assert!(sent_total < 64 * 1024);
        prop_assert!(events < 10_000);
        if !closed {
            // Ending it now still gives every message its one outcome, before `Closed`.
            client.abort(now);
            while let Some(e) = client.poll_event() {
                if let Event::MessageDone(o) = &e {
                    prop_assert!(!closed, "an outcome after Closed");
                    *outcomes.get_mut(&o.message.get()).unwrap() += 1;
                }
                closed |= matches!(e, Event::Closed(_));
            }
            prop_assert!(closed);
            prop_assert!(outcomes.values().all(|&n| n == 1), "{:?}", outcomes);
        }
        if closed {
            prop_assert!(client.is_closed());
            prop_assert!(client.send_message(Envelope::new(None, [Mailbox::parse("b@example.net").unwrap()])).is_err());
        }
    }
}

/// A server that sends one endless reply line costs bounded memory and ends the session with a
/// typed error (RFC 5321 4.5.3.1.5).
#[test]
fn endless_line_is_bounded() {
    let now = Timestamp::ZERO;
    let mut client = Client::new(support::base_config(), now).expect("configuration");
    let chunk = [b'x'; 1024];
    client.handle_input(now, b"220 ");
    for _ in 0..10_000 {
        client.handle_input(now, &chunk);
        if client.is_closed() {
            break;
        }
    }
    assert!(client.is_closed());
    let closed = std::iter::from_fn(|| client.poll_event()).last();
    assert!(
        matches!(
            &closed,
            Some(Event::Closed(Err(mailwire::Error::ReplySyntax { .. })))
        ),
        "{closed:?}"
    );
}

/// A server that sends endless continuation lines is stopped by the line-count limit.
#[test]
fn endless_continuation_is_bounded() {
    let now = Timestamp::ZERO;
    let mut client = Client::new(support::base_config(), now).expect("configuration");
    for _ in 0..100_000 {
        client.handle_input(now, b"220-more\r\n");
        if client.is_closed() {
            break;
        }
    }
    assert!(client.is_closed());
}
