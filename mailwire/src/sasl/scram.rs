//! SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding.
//!
//! ```text
//! C: n,,n=user,r=<client nonce>                         client-first (gs2 header "n,,")
//! S: r=<client nonce><server nonce>,s=<salt>,i=<count>  server-first
//! C: c=biws,r=<full nonce>,p=<client proof>             client-final
//! S: v=<server signature>  (or e=<error>)               server-final
//! ```
//!
//! The password never crosses the wire, and the server proves in `v=` that it knows it (or a key
//! derived from it), so a man in the middle without the password cannot make the client believe it
//! authenticated: [`crate::sasl::Authenticator::finish`] fails until `v=` was verified.
//!
//! Decisions:
//! - The GS2 header is always `n,,` (RFC 5802 6: the client does not support channel binding), so
//!   `c=` is always `biws`, its base64. The `-PLUS` mechanisms are not offered.
//! - The user name and the password are prepared with SASLprep (RFC 4013) in [`Scram::new`], so
//!   before anything is sent: RFC 5802 2.2 `Normalize(password)`, and 5.1 for the user name,
//!   which is then escaped (`=` as `=3D`, `,` as `=2C`). A password typed in another Unicode form
//!   (decomposed accents, full-width letters, a soft hyphen) thus gives the same keys as the one
//!   the server stored. What SASLprep refuses, or a user name it empties, fails the exchange
//!   there ([`SaslError::SaslprepFailed`], [`SaslError::InvalidCredentials`]); without the
//!   `saslprep` feature (no_std) non-ASCII credentials are [`SaslError::SaslprepUnavailable`].
//!   See `saslprep.rs` for the details.
//! - A mandatory extension (`m=`, RFC 5802 5.1) fails the exchange; other extensions after `i=`
//!   (and after `v=`) are ignored, as the RFC asks.
//! - The server nonce must extend ours by at least one character (`s-nonce` is `1*printable`);
//!   the iteration count must be 1..=[`super::SCRAM_MAX_ITERATIONS`]; the salt must be non-empty
//!   base64 (padding optional).
//! - `v=` is compared in constant time.

use super::{
    base64_secret, concat_secret, hmac, oauth::escape_saslname, saslprep, SaslError,
    SCRAM_MAX_ITERATIONS,
};
use crate::secret::Secret;
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use hmac::digest::Digest;

/// The hash function of the mechanism (RFC 5802 2.2 `H`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Secret<Vec<u8>> {
        match self {
            Hash::Sha1 => hmac::<hmac::Hmac<sha1::Sha1>>(key, parts),
            Hash::Sha256 => hmac::<hmac::Hmac<sha2::Sha256>>(key, parts),
        }
    }

    fn digest(self, data: &[u8]) -> Secret<Vec<u8>> {
        fn wrap(mut output: impl AsMut<[u8]>) -> Secret<Vec<u8>> {
            let secret = Secret::new(output.as_mut().to_vec());
            crate::secret::wipe_bytes(output.as_mut());
            secret
        }
        match self {
            Hash::Sha1 => wrap(sha1::Sha1::digest(data)),
            Hash::Sha256 => wrap(sha2::Sha256::digest(data)),
        }
    }

    /// RFC 5802 2.2 `Hi(str, salt, i)`: PBKDF2 (RFC 8018) with HMAC-H, one block of H's size.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Secret<Vec<u8>> {
        // Derived in place in the buffer the `Secret` will own (and wipe): no copies.
        let mut buffer = alloc::vec![0u8; self.output_len()];
        match self {
            Hash::Sha1 => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut buffer)
            }
            Hash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut buffer)
            }
        }
        Secret::new(buffer)
    }

    fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }
}

/// How far the exchange got.
enum Stage {
    /// client-first is ready; the password is kept until server-first brings salt and count.
    AwaitingServerFirst { password: Secret<Vec<u8>> },
    /// client-final went out; only the signature we expect from the server is kept.
    AwaitingServerFinal { server_signature: Secret<Vec<u8>> },
    /// The server proved it knows the password.
    Verified,
}

pub(super) struct Scram {
    hash: Hash,
    /// `n,,n=<user>,r=<client nonce>`: not secret (user name and nonce).
    client_first: Vec<u8>,
    /// The client nonce, which the server's must extend.
    nonce: String,
    stage: Stage,
}

/// The GS2 header (RFC 5802 7 `gs2-header`): no channel binding, no authorisation identity.
const GS2_HEADER: &[u8] = b"n,,";
/// Its base64, the `c=` of client-final (RFC 5802 7 `channel-binding`).
const CHANNEL_BINDING: &[u8] = b"biws";

impl Scram {
    /// `nonce` is the printable client nonce (RFC 5802 7: printable ASCII but `,`).
    pub(super) fn new(
        hash: Hash,
        username: &str,
        password: &Secret<String>,
        nonce: &str,
    ) -> Result<Scram, SaslError> {
        // RFC 5802 7: `saslname` is one or more UTF-8 characters other than NUL.
        if username.is_empty() || username.as_bytes().contains(&0) {
            return Err(SaslError::InvalidCredentials);
        }
        if nonce.is_empty() || !nonce.bytes().all(is_printable) {
            return Err(SaslError::InvalidNonce);
        }
        // RFC 5802 5.1 `n`: SASLprep the user name, and abort if that fails or leaves nothing.
        let username = saslprep::prepare(username)?;
        if username.is_empty() {
            return Err(SaslError::InvalidCredentials);
        }
        // RFC 5802 2.2: `SaltedPassword := Hi(Normalize(password), salt, i)`. Prepared now, so
        // that a password SASLprep refuses fails before anything is sent. An owned result is
        // moved (not copied) into the secret that wipes it.
        let password = Secret::new(match saslprep::prepare(password.expose())? {
            Cow::Borrowed(password) => password.as_bytes().to_vec(),
            Cow::Owned(password) => password.into_bytes(),
        });
        let user = escape_saslname(username.as_bytes());
        let mut client_first = Vec::with_capacity(GS2_HEADER.len() + 5 + user.len() + nonce.len());
        client_first.extend_from_slice(GS2_HEADER);
        client_first.extend_from_slice(b"n=");
        client_first.extend_from_slice(&user);
        client_first.extend_from_slice(b",r=");
        client_first.extend_from_slice(nonce.as_bytes());
        Ok(Scram {
            hash,
            client_first,
            nonce: String::from(nonce),
            stage: Stage::AwaitingServerFirst { password },
        })
    }

    pub(super) fn opening(&self) -> Secret<Vec<u8>> {
        Secret::new(self.client_first.clone())
    }

    pub(super) fn step(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
        match &self.stage {
            Stage::AwaitingServerFirst { password } => {
                let ClientFinal {
                    message,
                    server_signature,
                } = self.client_final(password.expose(), challenge)?;
                self.stage = Stage::AwaitingServerFinal { server_signature };
                Ok(message)
            }
            Stage::AwaitingServerFinal { server_signature } => {
                verify_server_final(server_signature.expose(), challenge)?;
                self.stage = Stage::Verified;
                // RFC 4954 4: the server-final data came in a 334, so the client answers it with
                // an empty line before the server sends 235.
                Ok(Secret::new(Vec::new()))
            }
            Stage::Verified => Err(SaslError::UnexpectedChallenge),
        }
    }

    /// RFC 5802 3: from server-first, the client-final message and the server signature to expect.
    fn client_final(&self, password: &[u8], server_first: &[u8]) -> Result<ClientFinal, SaslError> {
        let parsed = parse_server_first(server_first)?;
        // RFC 5802 5.1 `r=`: the client nonce followed by the server's part.
        if parsed.nonce.len() <= self.nonce.len()
            || !parsed.nonce.starts_with(self.nonce.as_bytes())
        {
            return Err(SaslError::NonceMismatch);
        }
        if parsed.iterations == 0 || parsed.iterations > SCRAM_MAX_ITERATIONS {
            return Err(SaslError::IterationCount(parsed.iterations));
        }
        let hash = self.hash;
        let salted = hash.hi(password, &parsed.salt, parsed.iterations);
        let client_key = hash.hmac(salted.expose(), &[b"Client Key"]);
        let stored_key = hash.digest(client_key.expose());
        let server_key = hash.hmac(salted.expose(), &[b"Server Key"]);

        let without_proof = concat_secret(&[b"c=", CHANNEL_BINDING, b",r=", parsed.nonce]);
        let bare = self
            .client_first
            .get(GS2_HEADER.len()..)
            .unwrap_or_default();
        let auth_message: &[&[u8]] = &[bare, b",", server_first, b",", without_proof.expose()];

        let client_signature = hash.hmac(stored_key.expose(), auth_message);
        let server_signature = hash.hmac(server_key.expose(), auth_message);
        let mut proof = Vec::with_capacity(client_key.expose().len());
        for (key, signature) in client_key.expose().iter().zip(client_signature.expose()) {
            proof.push(key ^ signature);
        }
        let proof = Secret::new(proof);
        let proof_base64 = Secret::new(base64_secret(proof.expose()));
        let client_final = concat_secret(&[without_proof.expose(), b",p=", proof_base64.expose()]);
        Ok(ClientFinal {
            message: client_final,
            server_signature,
        })
    }

    pub(super) fn finish(&self) -> Result<(), SaslError> {
        match self.stage {
            Stage::Verified => Ok(()),
            _ => Err(SaslError::IncompleteExchange),
        }
    }

    pub(super) fn stage(&self) -> &'static str {
        match self.stage {
            Stage::AwaitingServerFirst { .. } => "awaiting server-first",
            Stage::AwaitingServerFinal { .. } => "awaiting server-final",
            Stage::Verified => "server verified",
        }
    }
}

/// The client-final message and the server signature that must answer it.
struct ClientFinal {
    message: Secret<Vec<u8>>,
    server_signature: Secret<Vec<u8>>,
}

/// RFC 5802 7 `printable`: `%x21-2B / %x2D-7E` (visible ASCII but `,`).
fn is_printable(byte: u8) -> bool {
    matches!(byte, 0x21..=0x2b | 0x2d..=0x7e)
}

/// The fields of server-first (RFC 5802 7 `server-first-message`).
struct ServerFirst<'a> {
    nonce: &'a [u8],
    salt: Vec<u8>,
    iterations: u32,
}

/// Base64 inside SCRAM messages: standard alphabet, padding optional (servers differ).
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// `[reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]`, in that order.
fn parse_server_first(message: &[u8]) -> Result<ServerFirst<'_>, SaslError> {
    let mut attributes = message.split(|&b| b == b',');
    let mut next = |name: u8| -> Result<&[u8], SaslError> {
        match attributes.next() {
            Some([first, b'=', value @ ..]) if *first == name => Ok(value),
            // RFC 5802 5.1 `m`: a mandatory extension this client does not know; it MUST fail.
            _ => Err(SaslError::InvalidServerMessage),
        }
    };
    let nonce = next(b'r')?;
    if nonce.is_empty() || !nonce.iter().all(|&b| is_printable(b)) {
        return Err(SaslError::InvalidServerMessage);
    }
    let salt = next(b's')?;
    let salt = LENIENT_BASE64
        .decode(salt)
        .map_err(|_| SaslError::InvalidServerMessage)?;
    if salt.is_empty() {
        return Err(SaslError::InvalidServerMessage);
    }
    let iterations = parse_count(next(b'i')?)?;
    // Anything after `i=` is an extension, which RFC 5802 5.1 says to ignore.
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

/// RFC 5802 7 `posit-number = %x31-39 *DIGIT`. A count too large for `u32` is reported as
/// `u32::MAX`, which is out of range anyway; `0` is reported as itself.
fn parse_count(digits: &[u8]) -> Result<u32, SaslError> {
    match digits {
        [b'0'] => return Err(SaslError::IterationCount(0)),
        [b'1'..=b'9', ..] if digits.iter().all(u8::is_ascii_digit) => {}
        _ => return Err(SaslError::InvalidServerMessage),
    }
    let mut count: u32 = 0;
    for digit in digits {
        count = count
            .saturating_mul(10)
            .saturating_add(u32::from(digit - b'0'));
    }
    Ok(count)
}

/// RFC 5802 7 `server-final-message = (server-error / verifier) ["," extensions]`.
fn verify_server_final(expected: &[u8], message: &[u8]) -> Result<(), SaslError> {
    let first = message.split(|&b| b == b',').next().unwrap_or_default();
    match first {
        [b'e', b'=', value @ ..] => Err(SaslError::ServerError(
            String::from_utf8_lossy(value).into_owned(),
        )),
        [b'v', b'=', value @ ..] => {
            let signature = LENIENT_BASE64
                .decode(value)
                .map_err(|_| SaslError::InvalidServerMessage)?;
            // `expected` is never empty (an HMAC output); checking it anyway keeps a future bug
            // from turning into accepting an empty `v=`.
            if !expected.is_empty() && constant_time_eq(&signature, expected) {
                Ok(())
            } else {
                Err(SaslError::ServerSignatureMismatch)
            }
        }
        _ => Err(SaslError::InvalidServerMessage),
    }
}

/// Compares without an early exit, so the time taken does not tell an attacker how many leading
/// bytes of a forged signature were right. Lengths are public (the hash's output size).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    core::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 7: `i=` is a positive number without leading zeros.
    #[test]
    fn scram_iteration_count_syntax() {
        assert_eq!(parse_count(b"4096"), Ok(4096));
        assert_eq!(parse_count(b"0"), Err(SaslError::IterationCount(0)));
        assert_eq!(parse_count(b"99999999999"), Ok(u32::MAX));
        for bad in [&b""[..], b"04096", b"-1", b"12a", b" 1"] {
            assert_eq!(
                parse_count(bad),
                Err(SaslError::InvalidServerMessage),
                "{bad:?}"
            );
        }
    }

    /// RFC 5802 5.1: attributes come in order, and `m=` (a mandatory extension) must fail.
    #[test]
    fn scram_server_first_syntax() {
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096").is_ok());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096,x=ext").is_ok());
        for bad in [
            &b"m=ext,r=abc,s=QSXCR+Q6sek8bf92,i=4096"[..],
            b"s=QSXCR+Q6sek8bf92,r=abc,i=4096",
            b"r=abc,s=QSXCR+Q6sek8bf92",
            b"r=,s=QSXCR+Q6sek8bf92,i=4096",
            b"r=a\x7fc,s=QSXCR+Q6sek8bf92,i=4096",
            b"r=abc,s=,i=4096",
            b"r=abc,s=not base64!,i=4096",
            b"",
        ] {
            assert_eq!(
                parse_server_first(bad).err(),
                Some(SaslError::InvalidServerMessage),
                "{bad:?}"
            );
        }
    }

    /// Equal slices compare equal; any difference or length mismatch does not.
    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
