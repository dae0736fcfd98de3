//! SASL for SMTP AUTH (RFC 4954): mechanisms as small step functions, and the choice of the
//! strongest mechanism both sides allow.
//!
//! The step functions work on decoded bytes; [`decode_challenge`] and [`encode_response`] do the
//! base64 of RFC 4954 4.
//!
//! # Driving an exchange
//!
//! 1. [`choose`] a mechanism from the server's `AUTH` capability, then [`Authenticator::new`].
//! 2. Send `AUTH <name>`, with [`Authenticator::initial_response`] (base64, `=` if empty) when it
//!    returns `Some` (RFC 4954 4 lets every SMTP client send one).
//! 3. For every `334`, [`decode_challenge`] the text, [`Authenticator::step`], and send the
//!    [`encode_response`] of the answer on a line of its own.
//! 4. On `235`, call [`Authenticator::finish`]: for SCRAM it fails unless the server proved that it
//!    knows the password (RFC 5802 9).
//!
//! # Decisions where the RFCs leave room
//!
//! - **An empty 334 before anything else** (the server did not take, or was not sent, the initial
//!   response, RFC 4954 4) is answered with the initial response, once. For PLAIN, XOAUTH2,
//!   OAUTHBEARER and SCRAM that is the whole opening message; a second empty 334 goes to the
//!   mechanism (and PLAIN rejects it). A non-empty challenge before the opening went out is
//!   [`SaslError::UnexpectedChallenge`].
//! - [`Authenticator::initial_response`] returns the opening message until the first
//!   [`Authenticator::step`] (calling it twice gives the same bytes, SCRAM's nonce included), then
//!   `None`.
//! - **Failure is sticky**: once [`Authenticator::step`] has failed, it and
//!   [`Authenticator::finish`] return the same error.
//! - **Credentials a mechanism cannot carry** are refused by [`Authenticator::new`] with
//!   [`SaslError::InvalidCredentials`], before anything is sent: PLAIN needs a non-empty user and
//!   password without NUL (RFC 4616 2); SCRAM a non-empty user without NUL (RFC 5802 7,
//!   `saslname`), and a user and password that SASLprep accepts (below); XOAUTH2 and OAUTHBEARER a non-empty token and no `\x01` (their field separator)
//!   in the user or token, and no NUL in the OAUTHBEARER user. LOGIN and CRAM-MD5 take anything.
//!   A token for a password mechanism (or the reverse) is [`SaslError::CredentialsMismatch`].
//! - **SASLprep** (RFC 4013) prepares SCRAM's user name and password, as RFC 5802 2.2 and 5.1
//!   ask, in [`Authenticator::new`]: a refused one is [`SaslError::SaslprepFailed`], a user name
//!   it empties [`SaslError::InvalidCredentials`], both before anything is sent. It needs the
//!   `saslprep` feature (on by default; it needs std, as the `stringprep` crate does); without
//!   it, SCRAM takes ASCII credentials only, prepared exactly as with it (printable ASCII as it
//!   is, controls refused), and refuses the rest with [`SaslError::SaslprepUnavailable`] rather
//!   than send raw UTF-8 that a normalising server would reject. Both strings are treated as
//!   "stored strings" (unassigned code points refused, RFC 3454 7), the user name too. PLAIN,
//!   LOGIN and CRAM-MD5 send the bytes as given (RFC 4616 leaves preparation to the server).
//! - **Challenges' base64** ([`decode_challenge`]): the standard alphabet, padding optional
//!   (servers differ), surrounding spaces and tabs ignored, and `=` alone read as empty (the form
//!   RFC 4954 4 uses for an empty initial response). Anything else that is not base64, including
//!   spaces or line breaks inside, is [`SaslError::InvalidBase64`].
//!
//! # Secrets
//!
//! Every buffer that holds a password, a token or anything derived from them lives in a
//! [`Secret`], which prints `<redacted>` and is wiped when dropped; [`Authenticator`]'s `Debug`
//! prints only the mechanism and the stage. Buffers are allocated at their final size so that no
//! reallocation leaves an unwiped copy behind.

use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use core::fmt;

mod cram_md5;
mod login;
mod oauth;
mod plain;
#[cfg(feature = "scram")]
mod saslprep;
#[cfg(feature = "scram")]
mod scram;

/// The largest SCRAM iteration count accepted from a server (RFC 5802 5.1 `i=`).
///
/// The count sets how long the client hashes (PBKDF2, RFC 5802 2.2), so a hostile server could
/// otherwise make it spin for hours. Common servers use 4096 (the minimum RFC 7677 4 recommends)
/// up to about 100 000; a million is far above any real deployment and still under a second in an
/// optimised build.
pub const SCRAM_MAX_ITERATIONS: u32 = 1_000_000;

/// The fewest caller nonce bytes SCRAM accepts (144 bits of randomness).
pub const SCRAM_MIN_NONCE_LEN: usize = 18;

/// The most caller nonce bytes SCRAM uses; any beyond are ignored (256 bits is plenty, and the
/// bound keeps the client-first message short).
pub const SCRAM_MAX_NONCE_LEN: usize = 32;

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

/// Every known mechanism with its name as registered with IANA (RFC 4422 3.1: names are
/// case-insensitive, upper case by convention).
const NAMES: [(Mechanism, &str); 7] = [
    (Mechanism::Plain, "PLAIN"),
    (Mechanism::Login, "LOGIN"),
    (Mechanism::CramMd5, "CRAM-MD5"),
    (Mechanism::XOAuth2, "XOAUTH2"),
    (Mechanism::OAuthBearer, "OAUTHBEARER"),
    (Mechanism::ScramSha1, "SCRAM-SHA-1"),
    (Mechanism::ScramSha256, "SCRAM-SHA-256"),
];

impl Mechanism {
    /// Parses a mechanism name, case-insensitively.
    pub fn parse(name: &str) -> Mechanism {
        for (mechanism, known) in NAMES.iter() {
            if name.eq_ignore_ascii_case(known) {
                return mechanism.clone();
            }
        }
        Mechanism::Other(name.to_ascii_uppercase())
    }
    /// The name as sent in AUTH.
    pub fn name(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::Other(name) => name,
        }
    }
    /// Whether it sends the password (or a token) in the clear, so needs a secure connection.
    pub fn is_plaintext(&self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
        )
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    /// The user name, password or token contains something the mechanism cannot carry, or is
    /// empty where the mechanism needs a value (a NUL in a PLAIN password, RFC 4616 2; an empty
    /// SCRAM user, RFC 5802 7; a `\x01` in an OAuth token, RFC 7628 3.1). Caught before sending.
    InvalidCredentials,
    /// The caller's nonce for SCRAM is shorter than [`SCRAM_MIN_NONCE_LEN`] bytes (RFC 5802 5.1
    /// needs a fresh, hard to guess nonce; this crate reads no random source of its own).
    InvalidNonce,
    /// SASLprep (RFC 4013) refuses the SCRAM user name or password: it holds a prohibited
    /// character (a control, private-use, non-character or other RFC 4013 2.3 code point), a
    /// code point unassigned in Unicode 3.2, or right-to-left text that breaks RFC 3454 6.
    /// Caught by [`Authenticator::new`], before anything is sent.
    SaslprepFailed,
    /// The SCRAM user name or password is not ASCII, and this build has no SASLprep (the
    /// `saslprep` feature, which needs std) to prepare it as RFC 5802 2.2 requires. Caught by
    /// [`Authenticator::new`], before anything is sent.
    SaslprepUnavailable,
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::InvalidBase64 => f.write_str("the server's SASL challenge is not valid base64"),
            SaslError::UnexpectedChallenge => {
                f.write_str("the server sent a SASL challenge the mechanism did not expect")
            }
            SaslError::InvalidServerMessage => {
                f.write_str("the server's SASL message does not follow the mechanism's syntax")
            }
            SaslError::NonceMismatch => f.write_str("the server's SCRAM nonce does not extend the client's"),
            SaslError::ServerSignatureMismatch => {
                f.write_str("the server's SCRAM signature is wrong: it did not prove it knows the password")
            }
            SaslError::IncompleteExchange => {
                f.write_str("the server reported success before the SASL exchange was complete")
            }
            SaslError::ServerError(value) => {
                // The value comes from the peer: print it escaped, so it cannot forge lines in a log.
                write!(f, "the server reported a SCRAM error: {}", value.escape_debug())
            }
            SaslError::CredentialsMismatch => {
                f.write_str("these credentials cannot be used with this SASL mechanism")
            }
            SaslError::Unsupported => f.write_str("this SASL mechanism is not supported"),
            SaslError::IterationCount(count) => write!(
                f,
                "the server's SCRAM iteration count {count} is out of range (1 to {SCRAM_MAX_ITERATIONS})"
            ),
            SaslError::InvalidCredentials => {
                f.write_str("the user name, password or token cannot be carried by this SASL mechanism")
            }
            SaslError::InvalidNonce => write!(
                f,
                "the SCRAM nonce must be at least {SCRAM_MIN_NONCE_LEN} bytes of fresh randomness"
            ),
            SaslError::SaslprepFailed => f.write_str(
                "the user name or password is refused by SASLprep (RFC 4013): a prohibited or \
                 unassigned character, or badly mixed right-to-left text",
            ),
            SaslError::SaslprepUnavailable => f.write_str(
                "a non-ASCII SCRAM user name or password needs SASLprep (RFC 4013), which this \
                 build lacks (the `saslprep` feature)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SaslError {}

/// One mechanism's state: each file holds one small state machine.
enum State {
    Plain(plain::Plain),
    Login(login::Login),
    CramMd5(cram_md5::CramMd5),
    XOAuth2(oauth::XOAuth2),
    OAuthBearer(oauth::OAuthBearer),
    #[cfg(feature = "scram")]
    Scram(scram::Scram),
}

/// Where a client-first mechanism (one with an initial response) stands with its opening message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opening {
    /// Not handed out yet.
    Pending,
    /// Handed out by [`Authenticator::initial_response`].
    Offered,
    /// Sent in answer to an empty 334; or the mechanism has had a challenge of its own.
    Done,
}

/// One authentication exchange in progress.
pub struct Authenticator {
    mechanism: Mechanism,
    state: State,
    opening: Opening,
    /// Set by the first failed step; every later call returns it (failure is sticky).
    failed: Option<SaslError>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only names and stages: the states hold passwords, tokens and keys.
        f.debug_struct("Authenticator")
            .field("mechanism", &self.mechanism.name())
            .field("stage", &self.stage())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Authenticator {
    /// Starts an exchange. `nonce` is caller-provided randomness (at least 18 bytes are used for
    /// SCRAM's client nonce; this crate reads no random source); other mechanisms ignore it.
    ///
    /// SCRAM uses at most [`SCRAM_MAX_NONCE_LEN`] bytes, base64-encoded without padding as the
    /// printable client nonce of RFC 5802 5.1 (base64 never contains `,`).
    pub fn new(
        mechanism: Mechanism,
        credentials: &Credentials,
        nonce: &[u8],
    ) -> Result<Authenticator, SaslError> {
        let printable = if matches!(mechanism, Mechanism::ScramSha1 | Mechanism::ScramSha256) {
            if nonce.len() < SCRAM_MIN_NONCE_LEN {
                return Err(SaslError::InvalidNonce);
            }
            let used = nonce.get(..SCRAM_MAX_NONCE_LEN).unwrap_or(nonce);
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(used)
        } else {
            String::new()
        };
        Authenticator::build(mechanism, credentials, &printable)
    }

    /// Starts an exchange with SCRAM's printable client nonce given as is, for the RFC test
    /// vectors (whose nonces are not base64 of anything). Not for production: the nonce must be
    /// fresh randomness, which [`Authenticator::new`] guarantees the shape of.
    ///
    /// The nonce must be non-empty printable ASCII without `,` (RFC 5802 7), else
    /// [`SaslError::InvalidNonce`].
    #[doc(hidden)]
    pub fn with_printable_nonce(
        mechanism: Mechanism,
        credentials: &Credentials,
        nonce: &str,
    ) -> Result<Authenticator, SaslError> {
        Authenticator::build(mechanism, credentials, nonce)
    }

    fn build(
        mechanism: Mechanism,
        credentials: &Credentials,
        nonce: &str,
    ) -> Result<Authenticator, SaslError> {
        let state = match (&mechanism, credentials) {
            (Mechanism::Other(_), _) => return Err(SaslError::Unsupported),
            (Mechanism::Plain, Credentials::Password { username, password }) => {
                State::Plain(plain::Plain::new(username, password)?)
            }
            (Mechanism::Login, Credentials::Password { username, password }) => {
                State::Login(login::Login::new(username, password))
            }
            (Mechanism::CramMd5, Credentials::Password { username, password }) => {
                State::CramMd5(cram_md5::CramMd5::new(username, password))
            }
            (Mechanism::XOAuth2, Credentials::OAuth2 { username, token }) => {
                State::XOAuth2(oauth::XOAuth2::new(username, token)?)
            }
            (Mechanism::OAuthBearer, Credentials::OAuth2 { username, token }) => {
                State::OAuthBearer(oauth::OAuthBearer::new(username, token)?)
            }
            #[cfg(feature = "scram")]
            (Mechanism::ScramSha1, Credentials::Password { username, password }) => State::Scram(
                scram::Scram::new(scram::Hash::Sha1, username, password, nonce)?,
            ),
            #[cfg(feature = "scram")]
            (Mechanism::ScramSha256, Credentials::Password { username, password }) => State::Scram(
                scram::Scram::new(scram::Hash::Sha256, username, password, nonce)?,
            ),
            #[cfg(not(feature = "scram"))]
            (Mechanism::ScramSha1 | Mechanism::ScramSha256, _) => {
                let _ = nonce;
                return Err(SaslError::Unsupported);
            }
            (_, _) => return Err(SaslError::CredentialsMismatch),
        };
        Ok(Authenticator {
            mechanism,
            state,
            opening: Opening::Pending,
            failed: None,
        })
    }

    /// The mechanism.
    pub fn mechanism(&self) -> &Mechanism {
        &self.mechanism
    }

    /// The initial response (decoded bytes), for mechanisms that have one (PLAIN, XOAUTH2,
    /// OAUTHBEARER, SCRAM's client-first). `Some(empty)` means an empty initial response (`=`).
    ///
    /// It is the same message every time until the first [`Authenticator::step`], then `None`.
    pub fn initial_response(&mut self) -> Option<Secret<Vec<u8>>> {
        if self.opening == Opening::Done || self.failed.is_some() {
            return None;
        }
        let message = self.opening_message()?;
        self.opening = Opening::Offered;
        Some(message)
    }

    /// Answers a decoded 334 challenge.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.step_inner(challenge);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn step_inner(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        if self.opening != Opening::Done {
            if let Some(opening) = self.opening_message() {
                let pending = self.opening == Opening::Pending;
                self.opening = Opening::Done;
                if challenge.is_empty() {
                    // RFC 4954 4: an empty 334 asks for the initial response that was not sent
                    // (or that the server dropped). Answer it once; later ones go to the mechanism.
                    return Ok(opening);
                }
                if pending {
                    // A real challenge before our opening message: nothing to answer it with.
                    return Err(SaslError::UnexpectedChallenge);
                }
            }
        }
        match &mut self.state {
            State::Plain(plain) => plain.step(challenge),
            State::Login(login) => login.step(challenge),
            State::CramMd5(cram) => cram.step(challenge),
            State::XOAuth2(xoauth2) => xoauth2.step(challenge),
            State::OAuthBearer(bearer) => bearer.step(challenge),
            #[cfg(feature = "scram")]
            State::Scram(scram) => scram.step(challenge),
        }
    }

    /// Called on 235: checks the mechanism finished (SCRAM verified the server signature).
    pub fn finish(&self) -> Result<(), SaslError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match &self.state {
            #[cfg(feature = "scram")]
            State::Scram(scram) => scram.finish(),
            _ => Ok(()),
        }
    }

    /// The opening message of a client-first mechanism; `None` for LOGIN and CRAM-MD5.
    fn opening_message(&mut self) -> Option<Secret<Vec<u8>>> {
        match &mut self.state {
            State::Plain(plain) => Some(plain.opening()),
            State::Login(_) | State::CramMd5(_) => None,
            State::XOAuth2(xoauth2) => Some(xoauth2.opening()),
            State::OAuthBearer(bearer) => Some(bearer.opening()),
            #[cfg(feature = "scram")]
            State::Scram(scram) => Some(scram.opening()),
        }
    }

    fn stage(&self) -> &'static str {
        match &self.state {
            State::Plain(plain) => plain.stage(),
            State::Login(login) => login.stage(),
            State::CramMd5(cram) => cram.stage(),
            State::XOAuth2(xoauth2) => xoauth2.stage(),
            State::OAuthBearer(bearer) => bearer.stage(),
            #[cfg(feature = "scram")]
            State::Scram(scram) => scram.stage(),
        }
    }
}

/// The base64 of challenges: the standard alphabet (RFC 4648 4, as RFC 4954 4 requires), with or
/// without padding since servers differ.
const CHALLENGE_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Decodes the text of a 334 reply (RFC 4954 4). Surrounding spaces are ignored.
///
/// Padding is optional, spaces and tabs around the text are ignored, and `=` alone (or nothing)
/// is the empty challenge.
pub fn decode_challenge(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    let text = trim(text);
    if text.is_empty() || text == b"=" {
        return Ok(Vec::new());
    }
    CHALLENGE_BASE64
        .decode(text)
        .map_err(|_| SaslError::InvalidBase64)
}

fn trim(mut text: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = text {
        text = rest;
    }
    text
}

/// Base64-encodes a response (`=` alone for an empty initial response is the caller's choice).
///
/// The standard alphabet with padding (RFC 4954 4); an empty response encodes as empty.
pub fn encode_response(response: &[u8]) -> Secret<Vec<u8>> {
    Secret::new(base64_secret(response))
}

/// Standard padded base64 into a buffer allocated at its final size (no reallocated copies).
pub(crate) fn base64_secret(bytes: &[u8]) -> Vec<u8> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    let mut out = alloc::vec![0u8; len];
    match engine.encode_slice(bytes, &mut out) {
        Ok(written) => out.truncate(written),
        // Only when the length overflowed `usize`, which no response in memory can do.
        Err(_) => out.clear(),
    }
    out
}

/// Chooses the strongest mechanism that the server offers and the caller allows, in this order:
/// SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, then PLAIN, LOGIN only when `secure` (TLS is on) or
/// `allow_plaintext`; XOAUTH2 and OAUTHBEARER only with [`Credentials::OAuth2`] (and they too need
/// `secure` or `allow_plaintext`). `allowed` empty means "any".
///
/// Why this order: SCRAM never sends the password or anything a listener can replay, and it also
/// authenticates the server (RFC 5802 9), so it is safe even without TLS; SHA-256 before SHA-1
/// (RFC 7677). CRAM-MD5 does not reveal the password either (RFC 2195), though a listener can try
/// to guess it offline. PLAIN and LOGIN send the password itself, so they come last and only over
/// TLS unless the caller says otherwise; PLAIN before LOGIN because it is standard (RFC 4616) and
/// takes one round trip. With a token, OAUTHBEARER (RFC 7628, standard) comes before XOAUTH2 (the
/// older vendor form); both send a bearer token, which is as good as a password while it lasts.
/// SCRAM is never chosen when the `scram` feature is off.
pub fn choose(
    offered: &[Mechanism],
    allowed: &[Mechanism],
    credentials: &Credentials,
    secure: bool,
    allow_plaintext: bool,
) -> Option<Mechanism> {
    const PASSWORD_ORDER: [Mechanism; 5] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];
    const TOKEN_ORDER: [Mechanism; 2] = [Mechanism::OAuthBearer, Mechanism::XOAuth2];
    let order: &[Mechanism] = match credentials {
        Credentials::Password { .. } => &PASSWORD_ORDER,
        Credentials::OAuth2 { .. } => &TOKEN_ORDER,
    };
    order
        .iter()
        .filter(|m| {
            cfg!(feature = "scram") || !matches!(m, Mechanism::ScramSha1 | Mechanism::ScramSha256)
        })
        .filter(|m| !m.is_plaintext() || secure || allow_plaintext)
        .filter(|m| allowed.is_empty() || allowed.contains(m))
        .find(|m| offered.contains(m))
        .cloned()
}

/// HMAC (RFC 2104) of the concatenated `parts` under `key`, for CRAM-MD5 and SCRAM.
pub(crate) fn hmac<M>(key: &[u8], parts: &[&[u8]]) -> Secret<Vec<u8>>
where
    M: hmac::Mac + hmac::digest::KeyInit,
{
    // HMAC takes keys of any length (longer ones are hashed first, RFC 2104 2), so this
    // constructor cannot fail; the `match` keeps a panic path out of the code all the same.
    let mut mac = match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Secret::new(Vec::new()),
    };
    for part in parts {
        mac.update(part);
    }
    let output = mac.finalize().into_bytes();
    let mut out = Vec::with_capacity(output.len());
    out.extend_from_slice(&output);
    let mut output = output;
    crate::secret::wipe_bytes(&mut output);
    Secret::new(out)
}

/// Builds a message from parts into a buffer allocated at its final size, as a [`Secret`].
pub(crate) fn concat_secret(parts: &[&[u8]]) -> Secret<Vec<u8>> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len);
    for part in parts {
        out.extend_from_slice(part);
    }
    Secret::new(out)
}
