//! The driver logs what the blocking adapter logs (connections, TLS, AUTH, the transcript at
//! debug level), each record naming its connection, and never a credential.

mod support;

use mailwire::sasl::Credentials;
use mailwire::{
    AuthConfig, ClientName, Config, Envelope, Event, Mailbox, Secret, Timeouts, TlsPolicy,
};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage};
use mailwire_mio::{Driver, DriverEvent, TlsOptions, TlsSetup, TRANSCRIPT_TARGET};
use mailwire_testkit::mock::Mock;
use mailwire_testkit::TestCert;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use support::{server_config, MockServer, Script};

struct Capture(Mutex<Vec<(String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((record.target().to_string(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// The records so far, of every test in this file (the logger is global; each test looks for
/// its own connections' records).
fn capture() -> &'static Capture {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    &CAPTURE
}

#[test]
fn connection_auth_and_transcript_are_logged_per_connection() {
    let capture = capture();
    let password = "never-in-a-log-77";
    let mock = Mock::start(|peer| {
        peer.hello(&["AUTH PLAIN"]);
        peer.expect("AUTH PLAIN");
        peer.send("235 ok\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.transcript = true;
    config.timeouts = Timeouts::uniform(Duration::from_secs(10));
    let mut auth = AuthConfig::new(Credentials::Password {
        username: "alice".into(),
        password: Secret::new(password.into()),
    });
    auth.allow_plaintext = true;
    config.auth = Some(auth);
    let mut driver = Driver::new().unwrap();
    let token = driver
        .connect(
            format!("127.0.0.1:{}", mock.port).parse().unwrap(),
            config,
            None,
        )
        .unwrap();
    driver.client_mut(token).unwrap().quit().unwrap();
    let mut closed = false;
    for _ in 0..200 {
        driver.turn(Some(Duration::from_millis(50))).unwrap();
        while let Some((_, e)) = driver.poll_event() {
            closed |= matches!(e, DriverEvent::Session(Event::Closed(_)));
        }
        if closed {
            break;
        }
    }
    assert!(closed);
    mock.join();
    let records = capture.0.lock().unwrap().clone();
    let n = token.0;
    let has = |target: &str, text: &str| {
        records
            .iter()
            .any(|(t, m)| t.starts_with(target) && m.contains(text))
    };
    assert!(
        has(
            "mailwire_mio",
            &format!("connection {n}: connected to 127.0.0.1")
        ),
        "{records:#?}"
    );
    assert!(
        has(
            "mailwire_mio",
            &format!("connection {n}: authenticated with PLAIN")
        ),
        "{records:#?}"
    );
    assert!(
        has(TRANSCRIPT_TARGET, &format!("{n} -> EHLO client.test")),
        "{records:#?}"
    );
    assert!(
        has(TRANSCRIPT_TARGET, &format!("{n} -> AUTH PLAIN <redacted>")),
        "{records:#?}"
    );
    assert!(
        has(TRANSCRIPT_TARGET, &format!("{n} <- 235 ok")),
        "{records:#?}"
    );
    assert!(
        has("mailwire_mio", &format!("connection {n}: session closed")),
        "{records:#?}"
    );
    for (_, m) in &records {
        assert!(!m.contains(password), "{m}");
    }
}

/// RFC 3207: a bulk run over STARTTLS logs, for each of its connections, the connect and the
/// established TLS session (protocol version and cipher suite) at info level, naming the
/// connection.
#[test]
fn tls_established_is_logged_per_connection() {
    let capture = capture();
    let cert = TestCert::generate().unwrap();
    let server_tls = server_config(&cert);
    let server = MockServer::start(move |_| Script {
        starttls: Some(Arc::clone(&server_tls)),
        ..Script::default()
    });
    let mut session = Config::new(ClientName::parse("tls-log.test").unwrap());
    session.tls = TlsPolicy::Required;
    session.timeouts = Timeouts::uniform(Duration::from_secs(10));
    let mut config = BulkConfig::new(server.addr, session);
    config.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap(),
    );
    config.connections = 2;
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let messages =
        (0..4).map(|_| BulkMessage::new(envelope.clone(), &b"Subject: t\r\n\r\nx\r\n"[..]));
    let summary = bulk::run(&config, messages, |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
    assert_eq!(summary.connections, 2);
    let records = capture.0.lock().unwrap().clone();
    let port = server.addr.port();
    // This run's connections: those that connected to this server's port.
    let ours: Vec<String> = records
        .iter()
        .filter_map(|(_, m)| {
            let rest = m.strip_prefix("connection ")?;
            let (n, what) = rest.split_once(": ")?;
            what.ends_with(&format!("127.0.0.1:{port}"))
                .then(|| n.to_owned())
        })
        .collect();
    assert_eq!(ours.len(), 2, "{records:#?}");
    for n in &ours {
        assert!(
            records.iter().any(|(t, m)| t.starts_with("mailwire_mio")
                && m.starts_with(&format!("connection {n}: TLS established (TLSv1_"))),
            "connection {n}: {records:#?}"
        );
    }
}
