//! SASL for SMTP AUTH (RFC 4954): mechanisms as small step functions, and the choice of the
//! strongest mechanism both sides allow.
//!
//! The step functions work on decoded bytes; [`decode_challenge`] and [`encode_response`] do the
//! base64 of RFC 4954 4.
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A SASL mechanism name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
    /// CRAM-MD5 (RFC 2195).
    CramMd5,
    /// XOAUTH2 (Google/Microsoft).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628).
    OAuthBearer,
    /// SCRAM-SHA-1 (RFC 5802).
    ScramSha1,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// Any other, upper-cased.
    Other(String),
}

impl Mechanism {
    /// Parses a mechanism name, case-insensitively.
    pub fn parse(name: &str) -> Mechanism {
        let _ = name;
        todo!()
    }
    /// The name as sent in AUTH.
    pub fn name(&self) -> &str {
        todo!()
    }
    /// Whether it sends the password (or a token) in the clear, so needs a secure connection.
    pub fn is_plaintext(&self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

/// What the client authenticates with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// A user name and password (PLAIN, LOGIN, CRAM-MD5, SCRAM).
    Password {
        /// The user (authentication identity).
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// An OAuth 2.0 bearer token (XOAUTH2, OAUTHBEARER).
    OAuth2 {
        /// The user.
        username: String,
        /// The access token.
        token: Secret<String>,
    },
}

/// Why authentication failed on the client side.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslError {
    /// A 334 challenge's text was not valid base64.
    InvalidBase64,
    /// A challenge came when the mechanism expected none (or more than it can answer).
    UnexpectedChallenge,
    /// The server's message did not follow the mechanism's syntax (SCRAM).
    InvalidServerMessage,
    /// The server's nonce does not extend ours (SCRAM, RFC 5802 5.1).
    NonceMismatch,
    /// The server could not prove it knows the password (SCRAM server signature, RFC 5802 9).
    ServerSignatureMismatch,
    /// The server reported success before the mechanism finished (SCRAM without verification).
    IncompleteExchange,
    /// The server sent an error (SCRAM `e=`), with its value.
    ServerError(String),
    /// These credentials cannot be used with this mechanism (a token for PLAIN, …).
    CredentialsMismatch,
    /// The mechanism is not supported by this crate (or its feature is off).
    Unsupported,
    /// SCRAM iteration count out of range (0, or above the configured maximum).
    IterationCount(u32),
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SaslError {}

/// One authentication exchange in progress.
pub struct Authenticator {
    _todo: (),
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator(<redacted>)")
    }
}

impl Authenticator {
    /// Starts an exchange. `nonce` is caller-provided randomness (at least 18 bytes are used for
    /// SCRAM's client nonce; this crate reads no random source); other mechanisms ignore it.
    pub fn new(
        mechanism: Mechanism,
        credentials: &Credentials,
        nonce: &[u8],
    ) -> Result<Authenticator, SaslError> {
        let _ = (mechanism, credentials, nonce);
        todo!()
    }

    /// The mechanism.
    pub fn mechanism(&self) -> &Mechanism {
        todo!()
    }

    /// The initial response (decoded bytes), for mechanisms that have one (PLAIN, XOAUTH2,
    /// OAUTHBEARER, SCRAM's client-first). `Some(empty)` means an empty initial response (`=`).
    pub fn initial_response(&mut self) -> Option<Secret<Vec<u8>>> {
        todo!()
    }

    /// Answers a decoded 334 challenge.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        let _ = challenge;
        todo!()
    }

    /// Called on 235: checks the mechanism finished (SCRAM verified the server signature).
    pub fn finish(&self) -> Result<(), SaslError> {
        todo!()
    }
}

/// Decodes the text of a 334 reply (RFC 4954 4). Surrounding spaces are ignored.
pub fn decode_challenge(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    let _ = text;
    todo!()
}

/// Base64-encodes a response (`=` alone for an empty initial response is the caller's choice).
pub fn encode_response(response: &[u8]) -> Secret<Vec<u8>> {
    let _ = response;
    todo!()
}

/// Chooses the strongest mechanism that the server offers and the caller allows, in this order:
/// SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, then PLAIN, LOGIN only when `secure` (TLS is on) or
/// `allow_plaintext`; XOAUTH2 and OAUTHBEARER only with [`Credentials::OAuth2`] (and they too need
/// `secure` or `allow_plaintext`). `allowed` empty means "any".
pub fn choose(
    offered: &[Mechanism],
    allowed: &[Mechanism],
    credentials: &Credentials,
    secure: bool,
    allow_plaintext: bool,
) -> Option<Mechanism> {
    let _ = (offered, allowed, credentials, secure, allow_plaintext);
    todo!()
}
