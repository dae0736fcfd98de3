//! SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802) against someone else's server: aiosmtpd
//! with Python's `scramp` doing the server side (mailwire-testkit), over plain TCP (SCRAM needs no
//! TLS: the password never crosses the wire and the server proves it knows it). A missing peer
//! skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_blocking::mailwire::sasl::{Credentials, Mechanism, SaslError};
use mailwire_blocking::mailwire::{AuthConfig, Error, Secret};
use mailwire_blocking::{Client, Error as BlockingError};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, AiosmtpdBuilder, AiosmtpdMechanism, Tap};
use std::time::Duration;
use support::*;

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

/// Password credentials with these mechanisms allowed (empty: any); no plaintext mechanism
/// without TLS.
fn auth(password: &str, mechanisms: &[Mechanism]) -> AuthConfig {
    let mut a = AuthConfig::new(Credentials::Password {
        username: USER.into(),
        password: Secret::new(password.into()),
    });
    a.mechanisms = mechanisms.to_vec();
    a
}

/// Authenticates with `mechanisms` allowed, expects `want` to be used, sends one message, and
/// checks that the server recorded the login, the mechanism and the bytes.
fn authenticate_then_send(mechanisms: &[Mechanism], want: Mechanism) {
    let server = peer_or_skip!(server().start());
    let mut o = options(server.port(), T);
    o.config.auth = Some(auth(PASSWORD, mechanisms));
    let mut client = Client::connect(o).unwrap();
    assert_eq!(client.authenticated_mechanism(), Some(&want));
    let body = format!("Subject: {want}\r\n\r\nsent after {want}\r\n.dot line\r\n");
    client
        .send_bytes(
            envelope("a@example.org", &["b@example.net"]),
            body.as_bytes(),
        )
        .unwrap();
    client.quit().unwrap();
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.auth_login.as_deref(), Some(USER));
    assert_eq!(m.auth_mechanism.as_deref(), Some(want.name()));
    assert!(!m.tls);
    assert_eq!(m.rcpt_to, ["b@example.net"]);
    assert_eq!(m.data, body.as_bytes());
}

/// RFC 7677 / RFC 4954: with every mechanism allowed and no TLS, the client picks SCRAM-SHA-256
/// over SCRAM-SHA-1 and the plaintext ones, scramp accepts the proof, the client verifies
/// scramp's signature, and the message goes through. The password holds `,` and `=`, which
/// SCRAM carries inside the proof only.
#[test]
fn scram_sha256_authenticates_then_sends() {
    authenticate_then_send(&[], Mechanism::ScramSha256);
}

/// RFC 5802: SCRAM-SHA-1 (the only one allowed) against scramp, then a message.
#[test]
fn scram_sha1_authenticates_then_sends() {
    authenticate_then_send(&[Mechanism::ScramSha1], Mechanism::ScramSha1);
}

/// RFC 5802 9: a server that cannot prove it knows the password (its `v=` is random bytes of the
/// right length) and that then says 235 anyway is not believed: the session ends with
/// `ServerSignatureMismatch`, and the client sent no MAIL (checked on the wire, through a relay
/// recording the client's bytes, not by asking the server).
#[test]
fn scram_wrong_server_signature_fails_before_mail() {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha1] {
        let server = peer_or_skip!(server().scram_wrong_server_signature(true).start());
        let tap = Tap::start(server.addr()).unwrap();
        let mut o = options(tap.addr().port(), T);
        o.config.auth = Some(auth(PASSWORD, std::slice::from_ref(&mechanism)));
        let err = Client::connect(o).unwrap_err();
        assert!(
            matches!(
                err,
                BlockingError::Session {
                    error: Error::Sasl(SaslError::ServerSignatureMismatch),
                    ..
                }
            ),
            "{mechanism}: {err:?}"
        );
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

/// RFC 4954 6: a wrong password makes scramp refuse the client's proof with 535, which ends the
/// session as `AuthFailed` carrying that reply.
#[test]
fn scram_wrong_password_is_auth_failed_535() {
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha1] {
        let server = peer_or_skip!(server().start());
        let mut o = options(server.port(), T);
        o.config.auth = Some(auth("not the password", std::slice::from_ref(&mechanism)));
        match Client::connect(o) {
            Err(BlockingError::Session {
                error: Error::AuthFailed(reply),
                ..
            }) => {
                assert_eq!(reply.code().get(), 535, "{mechanism}: {reply:?}")
            }
            other => panic!("{mechanism}: {other:?}"),
        }
        assert!(server.messages().unwrap().is_empty());
    }
}

/// RFC 5802 2.2 and 5.1 with RFC 4013 on both sides: scramp derives its keys from the SASLprep
/// of the password it was given and prepares the user name it receives; the client prepares
/// what it was given. So credentials typed in another Unicode form log in: `Ⅸ` (U+2168) for a
/// server that stored `I<soft hyphen>X`, a decomposed `é` for a composed one, full-width letters
/// in the user name. Raw UTF-8 would give other keys, and 535.
#[test]
fn scram_saslprep_non_ascii_password_forms_authenticate() {
    for (stored_user, stored, typed_user, typed) in [
        (USER, "I\u{00AD}X", USER, "\u{2168}"),
        (
            USER,
            "caf\u{00E9} cr\u{00E8}me",
            USER,
            "cafe\u{0301} cre\u{0300}me",
        ),
        (
            "user",
            PASSWORD,
            "\u{FF55}\u{FF53}\u{FF45}\u{FF52}",
            PASSWORD,
        ),
    ] {
        let server = peer_or_skip!(Aiosmtpd::builder()
            .auth_user(stored_user, stored)
            .auth_mechanisms(&[AiosmtpdMechanism::ScramSha256])
            .require_auth(true)
            .start());
        let mut o = options(server.port(), T);
        let mut a = AuthConfig::new(Credentials::Password {
            username: typed_user.into(),
            password: Secret::new(typed.into()),
        });
        a.mechanisms = vec![Mechanism::ScramSha256];
        o.config.auth = Some(a);
        let mut client = Client::connect(o).unwrap_or_else(|e| panic!("{typed:?}: {e:?}"));
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
            .unwrap();
        client.quit().unwrap();
        let m = &server.wait_for_messages(1, T).unwrap()[0];
        assert_eq!(m.auth_login.as_deref(), Some(stored_user));
        assert_eq!(m.auth_mechanism.as_deref(), Some("SCRAM-SHA-256"));
    }
}
