//! [`renew_nonce`]: SCRAM's client nonce, drawn afresh for every connection.

use mailwire::sasl::SCRAM_MAX_NONCE_LEN;
use mailwire::Config;
use std::fmt;

/// Gives `config` a fresh SCRAM client nonce: [`SCRAM_MAX_NONCE_LEN`] (32) bytes from the
/// operating system's random source, replacing whatever `config.auth.nonce` held. Call it for
/// every connection, just before [`mailwire::Client::new`]. Without authentication
/// (`config.auth` is `None`) it does nothing.
///
/// The nonce a caller's `Config` carries is never kept. A `Config` is a template, cloned for
/// every connection to a server; a nonce is for one exchange only (RFC 5802 9: a reused nonce
/// lets a replayed exchange pass). The core reads no random source of its own, so this is the
/// adapter's job, and this function is the one place it is done. (Tests that need a known
/// nonce drive the core's `Authenticator` directly.)
///
/// 32 bytes is the most the core uses; base64-encoded without padding they make the 43
/// printable characters of the `r=` attribute (RFC 5802 5.1).
///
/// # Errors
/// [`NonceError`] when the random source fails. The old nonce is gone even then, so a caller
/// who goes on regardless gets the core's refusal to run SCRAM on an empty nonce, never a reuse.
pub fn renew_nonce(config: &mut Config) -> Result<(), NonceError> {
    let Some(auth) = config.auth.as_mut() else {
        return Ok(());
    };
    auth.nonce.clear();
    let mut nonce = vec![0u8; SCRAM_MAX_NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(NonceError)?;
    auth.nonce = nonce;
    Ok(())
}

/// The operating system's random source failed, so no SCRAM nonce could be drawn. Nobody's
/// fault on the wire: the machine could not provide randomness (very early boot, a sandbox that
/// forbids `getrandom(2)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonceError(getrandom::Error);

impl fmt::Display for NonceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot draw a SCRAM nonce: the random source failed: {}",
            self.0
        )
    }
}

impl std::error::Error for NonceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailwire::sasl::Credentials;
    use mailwire::{AuthConfig, ClientName, Secret};

    fn with_auth(nonce: Vec<u8>) -> Config {
        let mut config = Config::new(ClientName::parse("client.test").unwrap());
        let mut auth = AuthConfig::new(Credentials::Password {
            username: "user".into(),
            password: Secret::new("pencil".into()),
        });
        auth.nonce = nonce;
        config.auth = Some(auth);
        config
    }

    fn nonce(config: &Config) -> &[u8] {
        &config.auth.as_ref().unwrap().nonce
    }

    /// RFC 5802 9: the caller's nonce is replaced, and two renewals of clones differ.
    #[test]
    fn renew_nonce_replaces_the_callers_and_differs_each_time() {
        let template = with_auth(vec![7; SCRAM_MAX_NONCE_LEN]);
        let (mut a, mut b) = (template.clone(), template.clone());
        renew_nonce(&mut a).unwrap();
        renew_nonce(&mut b).unwrap();
        assert_eq!(nonce(&a).len(), SCRAM_MAX_NONCE_LEN);
        assert_eq!(nonce(&b).len(), SCRAM_MAX_NONCE_LEN);
        assert_ne!(nonce(&a), nonce(&template));
        assert_ne!(nonce(&a), nonce(&b));
    }

    /// An empty nonce (the `AuthConfig::new` default) is filled too.
    #[test]
    fn renew_nonce_fills_an_empty_nonce() {
        let mut config = with_auth(Vec::new());
        renew_nonce(&mut config).unwrap();
        assert_eq!(nonce(&config).len(), SCRAM_MAX_NONCE_LEN);
    }

    /// Without authentication there is nothing to draw.
    #[test]
    fn renew_nonce_without_auth_is_a_no_op() {
        let mut config = Config::new(ClientName::parse("client.test").unwrap());
        renew_nonce(&mut config).unwrap();
        assert!(config.auth.is_none());
    }
}
