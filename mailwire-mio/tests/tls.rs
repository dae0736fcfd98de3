//! TLS through rustls' non-blocking API: STARTTLS (RFC 3207) and implicit TLS (RFC 8314)
//! against the scripted server running rustls, with mailwire-testkit's throw-away certificates.

mod support;

use mailwire::{ClientName, Config, Envelope, Error, Event, Mailbox, Timeouts, TlsPolicy};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage};
use mailwire_mio::{Driver, DriverEvent, TlsOptions, TlsSetup, TransportError};
use mailwire_testkit::TestCert;
use std::sync::Arc;
use std::time::Duration;
use support::{server_config, MockServer, Script};

fn session(tls: TlsPolicy, implicit: bool) -> Config {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = tls;
    config.implicit_tls = implicit;
    config.timeouts = Timeouts::uniform(Duration::from_secs(10));
    config
}

fn messages(n: usize) -> Vec<BulkMessage> {
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let body: Arc<[u8]> = b"Subject: tls\r\n\r\nsecret\r\n".repeat(40).into();
    (0..n)
        .map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)))
        .collect()
}

/// RFC 3207: STARTTLS required; the whole queue goes over TLS, pipelined, on every connection.
#[test]
fn starttls_required_bulk() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        starttls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    let mut bulk = BulkConfig::new(server.addr, session(TlsPolicy::Required, false));
    bulk.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap(),
    );
    bulk.connections = 3;
    let summary = bulk::run(&bulk, messages(60), |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
    assert_eq!(summary.accepted, 60);
    assert_eq!(server.accepted(), 60);
    assert_eq!(
        server
            .stats
            .tls_sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}

/// RFC 8314: implicit TLS from the first byte; the greeting arrives inside TLS.
#[test]
fn implicit_tls_bulk() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        implicit_tls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    let mut bulk = BulkConfig::new(server.addr, session(TlsPolicy::Never, true));
    bulk.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "127.0.0.1").unwrap(),
    );
    bulk.connections = 2;
    let summary = bulk::run(&bulk, messages(40), |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
    assert_eq!(summary.accepted, 40);
    assert_eq!(server.accepted(), 40);
}

/// A certificate for another name fails the handshake: the driver reports the TLS error, then
/// the core's `Closed`; nothing is sent in the clear after STARTTLS (RFC 3207 4.1).
#[test]
fn starttls_wrong_name_fails_with_tls_error() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        starttls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let setup = TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "mx.example.com")
        .unwrap();
    let token = driver
        .connect(
            server.addr,
            session(TlsPolicy::Required, false),
            Some(setup),
        )
        .unwrap();
    let (mut tls_error, mut closed) = (false, None);
    for _ in 0..200 {
        driver.turn(Some(Duration::from_millis(50))).unwrap();
        while let Some((t, event)) = driver.poll_event() {
            assert_eq!(t, token);
            match event {
                DriverEvent::Transport(TransportError::Tls(_)) => tls_error = true,
                DriverEvent::Session(Event::Closed(result)) => closed = Some(result),
                _ => {}
            }
        }
        if closed.is_some() {
            break;
        }
    }
    assert!(tls_error);
    // The adapter reports the failed handshake to the core, whose error says so.
    assert!(
        matches!(closed, Some(Err(Error::TlsHandshakeFailed))),
        "{closed:?}"
    );
    assert!(driver.is_empty());
    assert_eq!(server.accepted(), 0);
}

/// STARTTLS agreed but the session was opened without a TLS configuration: a transport error,
/// never a plaintext fallback.
#[test]
fn starttls_without_setup_fails() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        starttls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    driver
        .connect(server.addr, session(TlsPolicy::Required, false), None)
        .unwrap();
    let mut saw = false;
    for _ in 0..200 {
        driver.turn(Some(Duration::from_millis(50))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            saw |= matches!(event, DriverEvent::Transport(TransportError::NoTlsSetup));
        }
        if driver.is_empty() {
            break;
        }
    }
    assert!(saw && driver.is_empty());
}

/// A body far larger than the socket buffers over TLS, to a server that reads slowly: rustls'
/// records leave through `write_tls` as the socket takes them, and every byte arrives once.
#[test]
fn large_body_over_tls_with_partial_writes() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        implicit_tls: Some(Arc::clone(&config)),
        slow_content: Some(Duration::from_millis(5)),
        ..Script::default()
    });
    let mut bulk = BulkConfig::new(server.addr, session(TlsPolicy::Never, true));
    bulk.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap(),
    );
    let line = b"0123456789012345678901234567890123456789012345678901234567890123456789012345\r\n";
    let body: Arc<[u8]> = line.repeat(60_000).into(); // 4.7 MB
    let envelope = Envelope::new(None, [Mailbox::parse("rcpt@example.net").unwrap()]);
    let messages = (0..2).map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)));
    let summary = bulk::run(&bulk, messages, |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
    assert_eq!(summary.accepted, 2);
    assert_eq!(
        server
            .stats
            .content_bytes
            .load(std::sync::atomic::Ordering::SeqCst),
        2 * body.len()
    );
}

/// `max_per_connection`: after N messages a connection says QUIT and a new one takes over; with
/// one `TlsSetup` (one rustls configuration, one session store) the new connection resumes the
/// TLS session (RFC 8446 2.2); with `resumption` off, every handshake is a full one.
#[test]
fn reconnects_after_max_per_connection_resume_tls() {
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        starttls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    for resumption in [true, false] {
        let mut options = TlsOptions::with_ca_file(cert.ca_path());
        options.resumption = resumption;
        let mut bulk = BulkConfig::new(server.addr, session(TlsPolicy::Required, false));
        bulk.tls = Some(TlsSetup::from_options(&options, "localhost").unwrap());
        bulk.max_per_connection = Some(2);
        let summary = bulk::run(&bulk, messages(8), |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
        assert_eq!(summary.accepted, 8);
        assert_eq!(summary.connections, 4, "{summary:?}");
        let expected = if resumption { 3 } else { 0 };
        assert_eq!(
            summary.tls_resumed, expected,
            "resumption {resumption}: {summary:?}"
        );
    }
}

/// `Driver::tls_info`: nothing before the handshake; once the session is ready over implicit
/// TLS, the protocol version, a full handshake and the chain the server presented (its
/// certificate, then the CA's), byte for byte.
#[test]
fn driver_tls_info_gives_the_session_and_the_chain() {
    use mailwire_mio::rustls::HandshakeKind;
    let cert = TestCert::generate().unwrap();
    let config = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        implicit_tls: Some(Arc::clone(&config)),
        ..Script::default()
    });
    let mut driver = Driver::new().unwrap();
    let setup =
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap();
    let token = driver
        .connect(server.addr, session(TlsPolicy::Never, true), Some(setup))
        .unwrap();
    assert!(driver.tls_info(token).is_none());
    let mut ready = false;
    for _ in 0..200 {
        driver.turn(Some(Duration::from_millis(50))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            ready |= matches!(event, DriverEvent::Session(Event::Ready));
        }
        if ready {
            break;
        }
    }
    assert!(ready);
    let info = driver.tls_info(token).expect("a TLS session");
    assert_eq!(info.handshake_kind, HandshakeKind::Full);
    assert!(info.version_name().starts_with("TLSv1."), "{info:?}");
    let chain: Vec<&[u8]> = info.peer_certificates.iter().map(|c| c.as_ref()).collect();
    assert_eq!(chain, [cert.cert_der(), cert.ca_der()]);
}
