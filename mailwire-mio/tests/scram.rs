//! The driver with SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802) against someone else's
//! server: aiosmtpd with Python's `scramp` doing the server side (mailwire-testkit), over plain TCP.
//! The message is queued before the session has even connected, so it goes out right after AUTH
//! unless the core stops it. A missing peer skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

use mailwire::sasl::{Credentials, Mechanism, SaslError};
use mailwire::{
    AuthConfig, ClientName, Config, Envelope, Error, Event, Mailbox, Secret, Timeouts, TlsPolicy,
};
use mailwire_mio::{Driver, DriverEvent};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, AiosmtpdBuilder, AiosmtpdMechanism, Tap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);
const USER: &str = "scram-user";
const PASSWORD: &str = "pencil,=and more";

/// A server offering PLAIN, LOGIN and both SCRAMs for `USER` / `PASSWORD`, on plain TCP.
fn server() -> AiosmtpdBuilder {
    Aiosmtpd::builder()
        .auth_user(USER, PASSWORD)
        .auth_mechanisms(&[
            AiosmtpdMechanism::Plain,
            AiosmtpdMechanism::Login,
            AiosmtpdMechanism::ScramSha1,
            AiosmtpdMechanism::ScramSha256,
        ])
        .require_auth(true)
}

/// Connects with these credentials, queues one message and QUIT, and runs the session to its
/// end (bounded). Returns the events in order.
fn session(addr: SocketAddr, password: &str, mechanisms: &[Mechanism], body: &[u8]) -> Vec<Event> {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = Timeouts::uniform(T);
    let mut auth = AuthConfig::new(Credentials::Password {
        username: USER.into(),
        password: Secret::new(password.into()),
    });
    auth.mechanisms = mechanisms.to_vec();
    config.auth = Some(auth);
    // No nonce here: `Driver::connect` draws a fresh one for every connection.

    let mut driver = Driver::new().unwrap();
    let token = driver.connect(addr, config, None).unwrap();
    let client = driver.client_mut(token).unwrap();
    let envelope = Envelope::new(
        Some(Mailbox::parse("a@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    );
    client.send_message_with_body(envelope, body).unwrap();
    client.quit().unwrap();
    let end = Instant::now() + T;
    let mut events = Vec::new();
    while !driver.is_empty() && Instant::now() < end {
        driver.turn(Some(Duration::from_millis(100))).unwrap();
        while let Some((_, e)) = driver.poll_event() {
            if let DriverEvent::Session(e) = e {
                events.push(e);
            }
        }
    }
    assert!(
        driver.is_empty(),
        "session still open after {T:?}: {events:?}"
    );
    events
}

/// Authenticates with `mechanisms` allowed, expects `want`, and checks that the message was
/// accepted and that the server recorded the login, the mechanism and the bytes.
fn authenticate_then_send(mechanisms: &[Mechanism], want: Mechanism) {
    let server = peer_or_skip!(server().start());
    let body = format!("Subject: {want}\r\n\r\nsent after {want}\r\n.dot line\r\n");
    let events = session(server.addr(), PASSWORD, mechanisms, body.as_bytes());
    assert!(
        events.contains(&Event::Authenticated(want.clone())),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::MessageDone(o) if o.is_accepted())),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&Event::Closed(Ok(()))));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.auth_login.as_deref(), Some(USER));
    assert_eq!(m.auth_mechanism.as_deref(), Some(want.name()));
    assert_eq!(m.rcpt_to, ["b@example.net"]);
    assert_eq!(m.data, body.as_bytes());
}

/// RFC 7677 / RFC 4954: with every mechanism allowed and no TLS, the core picks SCRAM-SHA-256,
/// scramp accepts the proof, the core verifies scramp's signature, and the queued message goes
/// through.
#[test]
fn scram_sha256_authenticates_then_sends() {
    authenticate_then_send(&[], Mechanism::ScramSha256);
}

/// RFC 5802: SCRAM-SHA-1 (the only one allowed) against scramp, then the queued message.
#[test]
fn scram_sha1_authenticates_then_sends() {
    authenticate_then_send(&[Mechanism::ScramSha1], Mechanism::ScramSha1);
}

/// RFC 5802 9: a server whose `v=` proves nothing (random bytes) and that would say 235 next is
/// not believed: the session closes with `ServerSignatureMismatch`, the queued message is
/// reported failed with nothing of it sent, and no MAIL crossed the wire (checked through a
/// relay recording the client's bytes).
#[test]
fn scram_wrong_server_signature_fails_before_mail() {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha1] {
        let server = peer_or_skip!(server().scram_wrong_server_signature(true).start());
        let tap = Tap::start(server.addr()).unwrap();
        let events = session(
            tap.addr(),
            PASSWORD,
            std::slice::from_ref(&mechanism),
            b"never sent\r\n",
        );
        assert_eq!(
            events.last(),
            Some(&Event::Closed(Err(Error::Sasl(
                SaslError::ServerSignatureMismatch
            )))),
            "{mechanism}: {events:?}"
        );
        assert!(
            events.iter().any(|e| matches!(
                e,
                Event::MessageDone(mailwire::MessageOutcome {
                    verdict: mailwire::Verdict::Failed {
                        content_sent: false,
                        ..
                    },
                    ..
                })
            )),
            "{events:?}"
        );
        assert!(!events
            .iter()
            .any(|e| matches!(e, Event::Authenticated(_) | Event::Ready)));
        let sent = tap.wait_closed(1, T).unwrap();
        let sent = String::from_utf8_lossy(&sent[0]);
        assert!(
            sent.contains(&format!("AUTH {mechanism} ")),
            "{mechanism}: {sent}"
        );
        assert!(!sent.to_ascii_uppercase().contains("MAIL FROM"), "{sent}");
        assert!(server.messages().unwrap().is_empty());
    }
}

/// RFC 4954 6: a wrong password makes scramp refuse the proof with 535: the session closes with
/// `AuthFailed` carrying that reply, and the message is not delivered.
#[test]
fn scram_wrong_password_is_auth_failed_535() {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha1] {
        let server = peer_or_skip!(server().start());
        let events = session(
            server.addr(),
            "not the password",
            std::slice::from_ref(&mechanism),
            b"never sent\r\n",
        );
        match events.last() {
            Some(Event::Closed(Err(Error::AuthFailed(reply)))) => {
                assert_eq!(reply.code().get(), 535, "{mechanism}: {reply:?}")
            }
            other => panic!("{mechanism}: {other:?} in {events:?}"),
        }
        assert!(server.messages().unwrap().is_empty());
    }
}
