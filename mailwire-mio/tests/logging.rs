//! The driver logs what the blocking adapter logs (connections, TLS, AUTH, the transcript at
//! debug level), each record naming its connection, and never a credential.

use mailwire::sasl::Credentials;
use mailwire::{AuthConfig, ClientName, Config, Event, Secret, Timeouts, TlsPolicy};
use mailwire_mio::{Driver, DriverEvent, TRANSCRIPT_TARGET};
use mailwire_testkit::mock::Mock;
use std::sync::Mutex;
use std::time::Duration;

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

#[test]
fn connection_auth_and_transcript_are_logged_per_connection() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
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
    let records = CAPTURE.0.lock().unwrap().clone();
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
