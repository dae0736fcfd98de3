//! STARTTLS edge cases that need more than a transcript (RFC 3207; CVE-2011-0411).

mod support;

use mailwire::sasl::Credentials;
use mailwire::{AuthConfig, Client, Event, Secret, Timestamp, TlsPolicy};

fn events(client: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

/// CVE-2011-0411: when the injected bytes arrive in the same read as the 220, the core never
/// asks for the handshake at all, so an adapter cannot start TLS on a poisoned stream.
#[test]
fn injected_bytes_in_same_read_never_request_tls() {
    let now = Timestamp::ZERO;
    let mut config = support::base_config();
    config.tls = TlsPolicy::Required;
    let mut client = Client::new(config, now).expect("configuration");
    let mut out = Vec::new();
    client.handle_input(now, b"220 mx ESMTP\r\n");
    client.poll_transmit(now, &mut out);
    client.handle_input(now, b"250-mx\r\n250 STARTTLS\r\n");
    client.poll_transmit(now, &mut out);
    assert_eq!(out, b"EHLO client.example\r\nSTARTTLS\r\n");
    client.handle_input(now, b"220 ready\r\n250 AUTH PLAIN\r\n");
    let ev = events(&mut client);
    assert!(
        !ev.iter().any(|e| matches!(e, Event::TlsUpgradeRequested)),
        "{ev:?}"
    );
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(Err(mailwire::Error::BytesAfterStartTls)))
    ));
    // A late handshake report changes nothing and sends nothing.
    client.handle_tls_established(now);
    out.clear();
    assert_eq!(client.poll_transmit(now, &mut out), 0);
}

/// RFC 3207 4.2: no credential leaves before TLS when TLS is required, even if the server
/// advertises AUTH in plaintext; after TLS, AUTH goes out.
#[test]
fn credentials_wait_for_tls_when_required() {
    let now = Timestamp::ZERO;
    let mut config = support::base_config();
    config.tls = TlsPolicy::Required;
    let mut auth = AuthConfig::new(Credentials::Password {
        username: "alice".into(),
        password: Secret::new("wonderland".into()),
    });
    auth.allow_plaintext = true;
    config.auth = Some(auth);
    let mut client = Client::new(config, now).expect("configuration");
    let mut out = Vec::new();
    client.handle_input(now, b"220 mx ESMTP\r\n");
    client.poll_transmit(now, &mut out);
    client.handle_input(now, b"250-mx\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n");
    client.poll_transmit(now, &mut out);
    assert_eq!(out, b"EHLO client.example\r\nSTARTTLS\r\n");
    client.handle_input(now, b"220 go\r\n");
    assert!(events(&mut client).contains(&Event::TlsUpgradeRequested));
    out.clear();
    assert_eq!(
        client.poll_transmit(now, &mut out),
        0,
        "nothing before the handshake"
    );
    client.handle_tls_established(now);
    assert!(client.is_secure());
    client.poll_transmit(now, &mut out);
    client.handle_input(now, b"250-mx\r\n250 AUTH PLAIN\r\n");
    client.poll_transmit(now, &mut out);
    assert_eq!(
        out,
        b"EHLO client.example\r\nAUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\n"
    );
}

/// A spurious `handle_tls_established` (no upgrade requested) is a documented no-op.
#[test]
fn spurious_tls_established_is_a_no_op() {
    let now = Timestamp::ZERO;
    let mut client = Client::new(support::base_config(), now).expect("configuration");
    client.handle_tls_established(now);
    assert!(!client.is_secure());
    let mut out = Vec::new();
    assert_eq!(client.poll_transmit(now, &mut out), 0);
}
