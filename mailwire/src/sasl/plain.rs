//! PLAIN (RFC 4616): the password in one message, `authzid NUL authcid NUL passwd`.

use super::{concat_secret, SaslError};
use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;

/// The PLAIN exchange: one message, sent as the initial response (or on the first, empty, 334).
pub(super) struct Plain {
    /// `NUL user NUL password`: the authorisation identity is left empty so that the server
    /// derives it from the authentication identity (RFC 4616 2).
    message: Secret<Vec<u8>>,
}

impl Plain {
    /// RFC 4616 2: `authcid` and `passwd` are `1*SAFE`, where `SAFE` is any UTF-8 but NUL (the
    /// separator). Anything else is refused here, before a byte is sent.
    pub(super) fn new(username: &str, password: &Secret<String>) -> Result<Plain, SaslError> {
        let password = password.expose().as_bytes();
        if !is_safe(username.as_bytes()) || !is_safe(password) {
            return Err(SaslError::InvalidCredentials);
        }
        Ok(Plain {
            message: concat_secret(&[b"\0", username.as_bytes(), b"\0", password]),
        })
    }

    pub(super) fn opening(&self) -> Secret<Vec<u8>> {
        self.message.clone()
    }

    /// RFC 4616 2: the server sends no challenge of its own (the empty 334 that asks for the
    /// message is answered in `Authenticator::step`), so any challenge here is unexpected.
    pub(super) fn step(&mut self, _challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        Err(SaslError::UnexpectedChallenge)
    }

    pub(super) fn stage(&self) -> &'static str {
        "message ready"
    }
}

fn is_safe(value: &[u8]) -> bool {
    !value.is_empty() && !value.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(p: &str) -> Secret<String> {
        Secret::new(String::from(p))
    }

    /// RFC 4616 2: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`, authzid left empty.
    #[test]
    fn plain_message_has_empty_authzid() {
        let plain = Plain::new("tim", &password("tanstaaftanstaaf")).unwrap();
        assert_eq!(
            plain.opening().expose().as_slice(),
            b"\0tim\0tanstaaftanstaaf"
        );
    }

    /// RFC 4616 2: authcid and passwd are `1*SAFE` (no NUL, not empty).
    #[test]
    fn plain_refuses_nul_and_empty_fields() {
        for (user, pass) in [("a\0b", "pw"), ("user", "p\0w"), ("", "pw"), ("user", "")] {
            assert_eq!(
                Plain::new(user, &password(pass)).err(),
                Some(SaslError::InvalidCredentials),
                "{user:?}"
            );
        }
    }
}
