//! The sans-IO core against a real server with no socket at all: Exim 4.96 speaking SMTP on
//! stdin/stdout (`exim4 -C FILE -odi -bs`). Proves the core needs nothing but bytes and time,
//! and checks PIPELINING + CHUNKING across messages (RFC 2920, RFC 3030), AUTH CRAM-MD5
//! (RFC 2195), SMTPUTF8 (RFC 6531), per-recipient refusal and the bytes Exim stored.

use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{
    AuthConfig, Client, ClientName, Config, Envelope, Event, Mailbox, Rejection, Secret, Timestamp,
    TlsPolicy, Verdict,
};
use mailwire_testkit::{peer_or_skip, Exim};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Exim adds Message-Id, From and Date to local (`-bs`) submissions that lack them.
const HEADERS: &str = "From: sender@example.org\r\nDate: Mon, 23 Nov 2026 11:00:00 +0000\r\nMessage-ID: <t@example.org>\r\n";

fn body(rest: &str) -> Vec<u8> {
    format!("{HEADERS}{rest}").into_bytes()
}

fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse(s).unwrap()
}

/// Runs a whole session over the child's pipes; returns every event.
fn drive(mut client: Client, command: &mut std::process::Command) -> Vec<Event> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return drop(tx.send(Vec::new())),
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let epoch = Instant::now();
    let now = || Timestamp::from_instant(epoch, Instant::now());
    let mut events = Vec::new();
    let mut wire = Vec::new();
    let hard_stop = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < hard_stop,
            "session did not end: {events:#?}"
        );
        wire.clear();
        if client.poll_transmit(now(), &mut wire) > 0 && stdin.write_all(&wire).is_err() {
            client.handle_closed(now());
        }
        let mut done = false;
        while let Some(e) = client.poll_event() {
            done |= matches!(e, Event::Closed(_));
            events.push(e);
        }
        if done {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(b) if b.is_empty() => client.handle_closed(now()),
            Ok(b) => client.handle_input(now(), &b),
            Err(_) => client.handle_timeout(now()),
        }
    }
    drop(stdin);
    let _ = child.wait();
    events
}

#[test]
fn pipelined_bdat_messages_auth_and_smtputf8_over_exim_bs() {
    let exim = peer_or_skip!(Exim::builder().auth_user("alice", "wonderland").prepare());
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = mailwire::Timeouts::uniform(Duration::from_secs(10));
    let mut auth = AuthConfig::new(Credentials::Password {
        username: "alice".into(),
        password: Secret::new("wonderland".into()),
    });
    auth.mechanisms = vec![Mechanism::CramMd5];
    config.auth = Some(auth);
    let mut client = Client::new(config, Timestamp::ZERO).expect("configuration");

    let from = mailbox("sender@example.org");
    // 1: one recipient refused by Exim's test policy, one accepted.
    let m1 = client
        .send_message_with_body(
            Envelope::new(
                Some(from.clone()),
                [mailbox("reject-me@example.org"), mailbox("one@example.org")],
            ),
            &body("Subject: one\n\n.leading dot\nbare lf\rbare cr\n"),
        )
        .unwrap();
    // 2: every recipient refused: must not disturb message 3 (Exim keeps the sender otherwise).
    let m2 = client
        .send_message_with_body(
            Envelope::new(Some(from.clone()), [mailbox("reject-too@example.org")]),
            &body("Subject: two\n\nnever stored\n"),
        )
        .unwrap();
    // 3: a UTF-8 recipient: SMTPUTF8 added by the core.
    let m3 = client
        .send_message_with_body(
            Envelope::new(Some(from), [mailbox("δοκιμή@example.org")]),
            &body("Subject: three\n\nκείμενο\n"),
        )
        .unwrap();
    client.quit().unwrap();

    let events = drive(client, &mut exim.bs_command());
    let find = |id| {
        events
            .iter()
            .find_map(|e| match e {
                Event::MessageDone(o) if o.message == id => Some(o),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no outcome for {id:?}: {events:#?}"))
    };
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Authenticated(Mechanism::CramMd5))),
        "{events:#?}"
    );
    // 1: taken for one recipient, refused for the other.
    let one = find(m1);
    assert!(
        matches!(one.verdict, Verdict::PartiallyAccepted { .. }),
        "{events:#?}"
    );
    assert_eq!(
        one.refused_recipients().map(|(i, _)| i).collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(
        find(m2).verdict,
        Verdict::Rejected(Rejection::NoValidRecipients),
        "{events:#?}"
    );
    assert!(find(m3).is_fully_accepted(), "{events:#?}");
    assert!(
        matches!(events.last(), Some(Event::Closed(Ok(())))),
        "{events:#?}"
    );

    let mut stored = exim.wait_for_messages(2, Duration::from_secs(10)).unwrap();
    stored.sort_by(|a, b| a.envelope_to.cmp(&b.envelope_to));
    assert_eq!(stored.len(), 2, "{stored:#?}");
    let one = stored
        .iter()
        .find(|m| m.envelope_to.iter().any(|r| r.contains("one@")))
        .unwrap();
    assert_eq!(one.return_path, "sender@example.org");
    assert_eq!(
        one.data,
        body("Subject: one\r\n\r\n.leading dot\r\nbare lf\r\nbare cr\r\n")
    );
    let three = stored
        .iter()
        .find(|m| m.envelope_to.iter().any(|r| r.contains("δοκιμή")))
        .unwrap();
    assert_eq!(three.data, body("Subject: three\r\n\r\nκείμενο\r\n"));
}
