//! SCRAM through `Driver::connect`: every connection draws its own client nonce (RFC 5802 5.1,
//! 9), even when the caller's `Config` is cloned for several sessions or already carries one.

use base64::Engine as _;
use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{AuthConfig, ClientName, Config, Error, Event, Secret, Timeouts, TlsPolicy};
use mailwire_mio::{Driver, DriverEvent};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A server offering only SCRAM-SHA-256 that answers every AUTH with 535, and sends the
/// AUTH line of each of its `connections` connections, in order, down the channel.
fn scram_refusing_server(connections: usize) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let _ = writer.write_all(b"220 mock ESMTP\r\n");
            let mut line = String::new();
            loop {
                line.clear();
                if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") {
                    b"250-mock\r\n250-AUTH SCRAM-SHA-256\r\n250 PIPELINING\r\n"
                } else if upper.starts_with("AUTH") {
                    let _ = tx.send(line.trim_end().to_owned());
                    b"535 5.7.8 authentication credentials invalid\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = writer.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"500 unexpected\r\n"
                };
                let _ = writer.write_all(reply);
            }
        }
    });
    (addr, rx)
}

/// A session that may only use SCRAM-SHA-256, without TLS (SCRAM sends no password).
fn scram_session(preset_nonce: Vec<u8>) -> Config {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    config.timeouts = Timeouts::uniform(Duration::from_secs(10));
    let mut auth = AuthConfig::new(Credentials::Password {
        username: "user".into(),
        password: Secret::new("pencil".into()),
    });
    auth.mechanisms = vec![Mechanism::ScramSha256];
    auth.nonce = preset_nonce;
    config.auth = Some(auth);
    config
}

/// Turns until every session is closed (bounded); returns each session's `Closed` result.
fn run(driver: &mut Driver) -> Vec<Result<(), Error>> {
    let end = Instant::now() + Duration::from_secs(15);
    let mut closed = Vec::new();
    while !driver.is_empty() && Instant::now() < end {
        driver.turn(Some(Duration::from_millis(100))).unwrap();
        while let Some((_, event)) = driver.poll_event() {
            if let DriverEvent::Session(Event::Closed(result)) = event {
                closed.push(result);
            }
        }
    }
    assert!(driver.is_empty(), "sessions still open after 15 s");
    closed
}

/// The client nonce of `AUTH SCRAM-SHA-256 <initial response>`, checking the client-first
/// message is `n,,n=user,r=<nonce>` (RFC 5802 5.1, no channel binding).
fn client_nonce(auth_line: &str) -> String {
    let initial = auth_line
        .strip_prefix("AUTH SCRAM-SHA-256 ")
        .unwrap_or_else(|| panic!("not a SCRAM-SHA-256 AUTH with initial response: {auth_line:?}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(initial)
        .expect("the initial response is base64");
    let client_first = String::from_utf8(decoded).expect("client-first is UTF-8");
    let nonce = client_first
        .strip_prefix("n,,n=user,r=")
        .unwrap_or_else(|| panic!("unexpected client-first {client_first:?}"));
    nonce.to_owned()
}

/// RFC 5802 9: two sessions from one cloned `Config`, which even carries a nonce of its own,
/// send two different nonces, neither the caller's, each the unpadded base64 of
/// `SCRAM_MAX_NONCE_LEN` (32) random bytes: 43 characters.
#[test]
fn scram_nonce_is_drawn_for_every_connection() {
    let (addr, auth_lines) = scram_refusing_server(2);
    let preset = vec![0x42; 32];
    let config = scram_session(preset.clone());
    let mut driver = Driver::new().unwrap();
    driver.connect(addr, config.clone(), None).unwrap();
    driver.connect(addr, config, None).unwrap();
    let closed = run(&mut driver);
    assert_eq!(closed.len(), 2);

    let lines: Vec<String> = auth_lines
        .recv_timeout(Duration::from_secs(1))
        .into_iter()
        .chain(auth_lines.recv_timeout(Duration::from_secs(1)))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "AUTH lines received: {lines:?}; closed: {closed:?}"
    );
    let nonces: Vec<String> = lines.iter().map(|l| client_nonce(l)).collect();
    let preset = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&preset);
    for nonce in &nonces {
        assert_eq!(nonce.len(), 43, "{nonce:?}");
        assert_ne!(*nonce, preset, "the caller's nonce was reused");
    }
    assert_ne!(nonces[0], nonces[1], "two connections sent the same nonce");
}

/// RFC 4954 6: a 535 to SCRAM ends the session with `AuthFailed` carrying the reply, not with a
/// client-side SASL error (which is what an undrawn nonce gave).
#[test]
fn scram_refused_ends_with_auth_failed() {
    let (addr, _auth_lines) = scram_refusing_server(1);
    let mut driver = Driver::new().unwrap();
    driver
        .connect(addr, scram_session(Vec::new()), None)
        .unwrap();
    let closed = run(&mut driver);
    assert!(
        matches!(closed.as_slice(), [Err(Error::AuthFailed(reply))] if reply.code().get() == 535),
        "{closed:?}"
    );
}
