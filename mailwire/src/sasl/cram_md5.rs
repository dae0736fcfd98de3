//! CRAM-MD5 (RFC 2195): `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! The password never crosses the wire, but a listener who sees a challenge and its answer can
//! try to guess the password offline, and the server must keep the password (or an equivalent):
//! stronger than PLAIN without TLS, weaker than SCRAM.

use super::{hmac, SaslError};
use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;
use md5::Md5;

pub(super) struct CramMd5 {
    username: Vec<u8>,
    password: Secret<Vec<u8>>,
    answered: bool,
}

impl CramMd5 {
    pub(super) fn new(username: &str, password: &Secret<String>) -> CramMd5 {
        CramMd5 {
            username: username.as_bytes().to_vec(),
            password: Secret::new(password.expose().as_bytes().to_vec()),
            answered: false,
        }
    }

    /// RFC 2195 2: one challenge (a `msg-id`, `<…>`), one answer; the digest is lower-case hex.
    pub(super) fn step(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        if self.answered {
            return Err(SaslError::UnexpectedChallenge);
        }
        if challenge.is_empty() {
            // RFC 2195 2 always sends a timestamp; an empty challenge is a broken server.
            return Err(SaslError::InvalidServerMessage);
        }
        self.answered = true;
        let digest = hmac::<hmac::Hmac<Md5>>(self.password.expose(), &[challenge]);
        let mut out = Vec::with_capacity(self.username.len() + 1 + 2 * digest.expose().len());
        out.extend_from_slice(&self.username);
        out.push(b' ');
        for byte in digest.expose() {
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        }
        // The password is no longer needed.
        self.password = Secret::new(Vec::new());
        Ok(Secret::new(out))
    }

    pub(super) fn stage(&self) -> &'static str {
        if self.answered {
            "done"
        } else {
            "awaiting challenge"
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2195 2: the example exchange (user `tim`, password `tanstaaftanstaaf`).
    #[test]
    fn cram_md5_rfc2195_example() {
        let mut cram = CramMd5::new("tim", &Secret::new(String::from("tanstaaftanstaaf")));
        let answer = cram
            .step(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap();
        assert_eq!(
            answer.expose().as_slice(),
            b"tim b913a602c7eda7a495b4e6e7334d3890"
        );
        assert_eq!(
            cram.step(b"<1.2@x>").err(),
            Some(SaslError::UnexpectedChallenge)
        );
    }

    /// RFC 2195 2: the challenge is a msg-id; an empty one is refused, not signed.
    #[test]
    fn cram_md5_refuses_empty_challenge() {
        let mut cram = CramMd5::new("tim", &Secret::new(String::from("pw")));
        assert_eq!(cram.step(b"").err(), Some(SaslError::InvalidServerMessage));
    }
}
