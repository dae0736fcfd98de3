//! OAuth 2.0 bearer tokens: XOAUTH2 (Google's and Microsoft's form) and OAUTHBEARER (RFC 7628).
//!
//! Both send the token in the initial response. On failure the server sends one challenge (a JSON
//! error, RFC 7628 3.2.2), which the client must answer before the server ends the exchange with
//! `535`: XOAUTH2 with an empty response, OAUTHBEARER with a lone `\x01` (RFC 7628 3.2.3). The
//! JSON is not interpreted: nothing in it changes what the client does, and the `535` that
//! follows carries the failure to the caller.

use super::{concat_secret, SaslError};
use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;

/// The field separator of both formats (RFC 7628 3.1 `kvsep`).
const KVSEP: u8 = 0x01;

/// Whether the OAuth exchange has seen the server's error challenge.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Sent,
    ErrorAcknowledged,
}

pub(super) struct XOAuth2 {
    message: Secret<Vec<u8>>,
    stage: Stage,
}

impl XOAuth2 {
    /// `user=U \x01 auth=Bearer T \x01 \x01`. A `\x01` in the user or token would end its field
    /// early and let the value forge another, so it is refused, as is an empty token.
    pub(super) fn new(username: &str, token: &Secret<String>) -> Result<XOAuth2, SaslError> {
        let token = token.expose().as_bytes();
        if username.as_bytes().contains(&KVSEP) || !is_token(token) {
            return Err(SaslError::InvalidCredentials);
        }
        let message = concat_secret(&[
            b"user=",
            username.as_bytes(),
            b"\x01auth=Bearer ",
            token,
            b"\x01\x01",
        ]);
        Ok(XOAuth2 {
            message,
            stage: Stage::Sent,
        })
    }

    pub(super) fn opening(&self) -> Secret<Vec<u8>> {
        self.message.clone()
    }

    /// The only challenge after the token is the server's error; an empty answer lets it send
    /// the final `535`.
    pub(super) fn step(&mut self, _challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        acknowledge_error(&mut self.stage, b"")
    }

    pub(super) fn stage(&self) -> &'static str {
        stage_name(self.stage)
    }
}

pub(super) struct OAuthBearer {
    message: Secret<Vec<u8>>,
    stage: Stage,
}

impl OAuthBearer {
    /// RFC 7628 3.1: `gs2-header kvsep "auth=Bearer " token kvsep kvsep`, where the GS2 header
    /// (RFC 5801 4) is `n,a=<saslname>,`: no channel binding, and the user as the authorisation
    /// identity with `,` and `=` escaped as `=2C` and `=3D`. An empty user leaves `a=` out (it is
    /// optional). The user may not hold NUL (`saslname`, RFC 5801 4) nor `\x01`; the token may not
    /// hold `\x01` or be empty (RFC 6750 2.1 `b64token`).
    pub(super) fn new(username: &str, token: &Secret<String>) -> Result<OAuthBearer, SaslError> {
        let user = username.as_bytes();
        let token = token.expose().as_bytes();
        if user.contains(&KVSEP) || user.contains(&0) || !is_token(token) {
            return Err(SaslError::InvalidCredentials);
        }
        let escaped = escape_saslname(user);
        let message = if escaped.is_empty() {
            concat_secret(&[b"n,,\x01auth=Bearer ", token, b"\x01\x01"])
        } else {
            concat_secret(&[b"n,a=", &escaped, b",\x01auth=Bearer ", token, b"\x01\x01"])
        };
        Ok(OAuthBearer {
            message,
            stage: Stage::Sent,
        })
    }

    pub(super) fn opening(&self) -> Secret<Vec<u8>> {
        self.message.clone()
    }

    /// RFC 7628 3.2.3: the error challenge is answered with a lone `kvsep`.
    pub(super) fn step(&mut self, _challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        acknowledge_error(&mut self.stage, &[KVSEP])
    }

    pub(super) fn stage(&self) -> &'static str {
        stage_name(self.stage)
    }
}

fn acknowledge_error(stage: &mut Stage, answer: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
    match stage {
        Stage::Sent => {
            *stage = Stage::ErrorAcknowledged;
            Ok(Secret::new(answer.to_vec()))
        }
        // After the acknowledgement the server must end the exchange (RFC 7628 3.2.3).
        Stage::ErrorAcknowledged => Err(SaslError::UnexpectedChallenge),
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Sent => "token ready",
        Stage::ErrorAcknowledged => "server error acknowledged",
    }
}

fn is_token(token: &[u8]) -> bool {
    !token.is_empty() && !token.contains(&KVSEP)
}

/// RFC 5801 4 / RFC 5802 7 `saslname`: `=` becomes `=3D` and `,` becomes `=2C`.
pub(super) fn escape_saslname(name: &[u8]) -> Vec<u8> {
    let extra = name.iter().filter(|&&b| b == b'=' || b == b',').count() * 2;
    let mut out = Vec::with_capacity(name.len() + extra);
    for &byte in name {
        match byte {
            b'=' => out.extend_from_slice(b"=3D"),
            b',' => out.extend_from_slice(b"=2C"),
            _ => out.push(byte),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> Secret<String> {
        Secret::new(String::from(t))
    }

    /// RFC 5802 7: `saslname` escapes `=` as `=3D` and `,` as `=2C` (and nothing else).
    #[test]
    fn saslname_escapes_comma_and_equals() {
        assert_eq!(escape_saslname(b"a=b,c"), b"a=3Db=2Cc");
        assert_eq!(escape_saslname(b"plain@example.com"), b"plain@example.com");
        assert_eq!(escape_saslname(b""), b"");
    }

    /// RFC 7628 3.1: an empty user leaves the optional `a=` out of the GS2 header.
    #[test]
    fn oauthbearer_without_user_omits_authzid() {
        let bearer = OAuthBearer::new("", &token("T")).unwrap();
        assert_eq!(
            bearer.opening().expose().as_slice(),
            b"n,,\x01auth=Bearer T\x01\x01"
        );
    }

    /// RFC 7628 3.1: `\x01` separates fields, so it may not appear inside the user or token.
    #[test]
    fn oauth_refuses_separator_in_user_or_token() {
        assert!(XOAuth2::new("a\x01b", &token("T")).is_err());
        assert!(XOAuth2::new("user", &token("T\x01auth=x")).is_err());
        assert!(XOAuth2::new("user", &token("")).is_err());
        assert!(OAuthBearer::new("a\x01b", &token("T")).is_err());
        assert!(OAuthBearer::new("a\0b", &token("T")).is_err());
        assert!(OAuthBearer::new("user", &token("T\x01")).is_err());
    }
}
