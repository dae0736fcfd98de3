//! A configuration no server could make work is the caller's to fix, so `Client::new` refuses
//! it with a typed `UsageError::Config` instead of starting a session that fails at AUTH.

mod support;

use mailwire::sasl::{Credentials, Mechanism, SaslError};
use mailwire::{AuthConfig, Client, ConfigError, Error, Event, Secret, Timestamp, UsageError};
use support::base_config;

fn password(user: &str, pass: &str) -> Credentials {
    Credentials::Password {
        username: user.into(),
        password: Secret::new(pass.into()),
    }
}

fn new_with(auth: AuthConfig) -> Result<Client, UsageError> {
    let mut config = base_config();
    config.auth = Some(auth);
    Client::new(config, Timestamp::ZERO)
}

/// A mechanism without its credential (a token mechanism with a password).
#[test]
fn token_mechanism_with_a_password_is_refused() {
    let mut auth = AuthConfig::new(password("alice", "secret"));
    auth.mechanisms = vec![Mechanism::XOAuth2];
    assert_eq!(
        new_with(auth).err(),
        Some(UsageError::Config(ConfigError::NoMechanismForCredentials {
            mechanism: Mechanism::XOAuth2,
            reason: SaslError::CredentialsMismatch
        }))
    );
}

/// SCRAM alone, and no nonce to make its client nonce from.
#[test]
fn scram_without_a_nonce_is_refused() {
    let mut auth = AuthConfig::new(password("alice", "secret"));
    auth.mechanisms = vec![Mechanism::ScramSha256];
    assert_eq!(
        new_with(auth).err(),
        Some(UsageError::Config(ConfigError::NoMechanismForCredentials {
            mechanism: Mechanism::ScramSha256,
            reason: SaslError::InvalidNonce
        }))
    );
}

/// A nonce given but too short to be a nonce (RFC 5802 5.1).
#[test]
fn short_nonce_is_refused() {
    let mut auth = AuthConfig::new(password("alice", "secret"));
    auth.nonce = vec![7; 5];
    assert_eq!(
        new_with(auth).err(),
        Some(UsageError::Config(ConfigError::NonceTooShort { len: 5 }))
    );
}

/// PLAIN alone with a NUL in the password (RFC 4616 2 cannot carry it).
#[test]
fn credentials_the_only_mechanism_cannot_carry_are_refused() {
    let mut auth = AuthConfig::new(password("alice", "sec\0ret"));
    auth.mechanisms = vec![Mechanism::Plain];
    assert!(matches!(
        new_with(auth).err(),
        Some(UsageError::Config(ConfigError::NoMechanismForCredentials {
            mechanism: Mechanism::Plain,
            reason: SaslError::InvalidCredentials
        }))
    ));
}

/// Credentials longer than an AUTH response line can carry (RFC 4954 4).
#[test]
fn credentials_too_long_for_auth_are_refused() {
    let auth = AuthConfig::new(password("alice", &"x".repeat(10_000)));
    assert_eq!(
        new_with(auth).err(),
        Some(UsageError::Config(ConfigError::CredentialsTooLong))
    );
}

/// Any mechanism allowed and no nonce: SCRAM is left out, the rest stay. A server offering SCRAM
/// and PLAIN then gets PLAIN (here on implicit TLS); one offering only SCRAM gets
/// `NoUsableMechanism`, the server's incompatibility, at AUTH time.
#[test]
fn without_a_nonce_scram_is_left_out() {
    let now = Timestamp::ZERO;
    for (offered, expect_plain) in [("SCRAM-SHA-256 PLAIN", true), ("SCRAM-SHA-256", false)] {
        let mut config = base_config();
        config.implicit_tls = true;
        config.auth = Some(AuthConfig::new(password("alice", "secret")));
        let mut client = Client::new(config, now).unwrap();
        let mut wire = Vec::new();
        client.handle_input(now, b"220 mx ESMTP\r\n");
        client.poll_transmit(now, &mut wire);
        client.handle_input(now, format!("250-mx\r\n250 AUTH {offered}\r\n").as_bytes());
        wire.clear();
        client.poll_transmit(now, &mut wire);
        let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
        if expect_plain {
            assert!(wire.starts_with(b"AUTH PLAIN "), "{wire:?}");
        } else {
            assert!(matches!(
                events.last(),
                Some(Event::Closed(Err(Error::NoUsableMechanism)))
            ));
        }
    }
}
