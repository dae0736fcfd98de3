//! SCRAM through `Client::connect`: every connection draws its own client nonce (RFC 5802
//! 5.1, 9), even when the caller's options are cloned for several connections or already carry
//! a nonce.

mod support;

use base64::Engine as _;
use mailwire_blocking::mailwire::sasl::{Credentials, Mechanism};
use mailwire_blocking::mailwire::{AuthConfig, Error, Secret};
use mailwire_blocking::{Client, ClientOptions, Error as BlockingError};
use std::time::Duration;
use support::{options, Mock};

/// A server offering only SCRAM-SHA-256 that answers AUTH with 535; returns the AUTH line.
fn scram_refusing_server() -> Mock<String> {
    Mock::start(|peer| {
        peer.hello(&["AUTH SCRAM-SHA-256", "PIPELINING"]);
        let auth = peer.expect("AUTH");
        peer.send("535 5.7.8 authentication credentials invalid\r\n");
        peer.drain();
        auth
    })
}

/// Options for `port` that may only use SCRAM-SHA-256, without TLS (SCRAM sends no password).
fn scram_options(port: u16, preset_nonce: Vec<u8>) -> ClientOptions {
    let mut o = options(port, Duration::from_secs(10));
    let mut auth = AuthConfig::new(Credentials::Password {
        username: "user".into(),
        password: Secret::new("pencil".into()),
    });
    auth.mechanisms = vec![Mechanism::ScramSha256];
    auth.nonce = preset_nonce;
    o.config.auth = Some(auth);
    o
}

/// The client nonce of `AUTH SCRAM-SHA-256 <initial response>`, checking the client-first
/// message is `n,,n=user,r=<nonce>` (RFC 5802 5.1, no channel binding).
fn client_nonce(auth_line: &str) -> String {
    let initial = auth_line
        .strip_prefix("AUTH SCRAM-SHA-256 ")
        .unwrap_or_else(|| panic!("not SCRAM-SHA-256 with an initial response: {auth_line:?}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(initial)
        .expect("the initial response is base64");
    let client_first = String::from_utf8(decoded).expect("client-first is UTF-8");
    client_first
        .strip_prefix("n,,n=user,r=")
        .unwrap_or_else(|| panic!("unexpected client-first {client_first:?}"))
        .to_owned()
}

/// RFC 5802 9: two connections from one cloned `Config`, which even carries a nonce of its own,
/// send two different nonces, neither the caller's, each the unpadded base64 of
/// `SCRAM_MAX_NONCE_LEN` (32) random bytes: 43 characters. RFC 4954 6: the 535 ends the
/// session with `AuthFailed`, not a client-side SASL error.
#[test]
fn scram_nonce_is_drawn_for_every_connection() {
    two_connections_send_fresh_nonces(vec![0x42; 32]);
}

/// Without a nonce from the caller (the `AuthConfig::new` default), the same: 32 bytes drawn
/// per connection.
#[test]
fn scram_nonce_is_drawn_when_the_caller_gives_none() {
    two_connections_send_fresh_nonces(Vec::new());
}

fn two_connections_send_fresh_nonces(preset: Vec<u8>) {
    let (first, second) = (scram_refusing_server(), scram_refusing_server());
    let template = scram_options(first.port, preset.clone());
    let mut again = template.clone();
    again.port = second.port;
    for o in [template, again] {
        let err = Client::connect(o).unwrap_err();
        assert!(
            matches!(&err, BlockingError::Session { error: Error::AuthFailed(r), .. } if r.code().get() == 535),
            "{err:?}"
        );
    }
    let nonces = [client_nonce(&first.join()), client_nonce(&second.join())];
    let preset = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&preset);
    for nonce in &nonces {
        assert_eq!(nonce.len(), 43, "{nonce:?}");
        assert_ne!(*nonce, preset, "the caller's nonce was reused");
    }
    assert_ne!(nonces[0], nonces[1], "two connections sent the same nonce");
}
