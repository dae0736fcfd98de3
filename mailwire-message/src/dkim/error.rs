//! Why a key cannot be used, or a message cannot be signed. Every variant is the caller's
//! input at fault: a key, a setting or the message itself; nothing was signed.

use core::fmt;

/// Why a key was refused. Nothing of the key's material appears in it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither PEM, nor DER, nor the base64 of a 32-byte Ed25519 seed.
    NotAKey,
    /// A PEM block whose base64 does not decode.
    Base64,
    /// An encrypted private key: decrypt it first (`openssl pkey -in KEY -out PLAIN`).
    Encrypted,
    /// A public key where the private key is needed.
    PublicKey,
    /// A PEM block of a kind DKIM has no algorithm for (`EC PRIVATE KEY`, a certificate ...).
    Unsupported {
        /// The PEM label.
        label: String,
    },
    /// The key's bytes were read but refused by the signature library (ring): a key of the
    /// wrong size (RSA must be 2048 to 4096 bits), a malformed or inconsistent key.
    Rejected {
        /// ring's reason (`TooSmall`, `InvalidEncoding`, `WrongAlgorithm` ...).
        reason: String,
    },
}

impl KeyError {
    pub(crate) fn rejected(e: &ring::error::KeyRejected) -> KeyError {
        KeyError::Rejected {
            reason: e.to_string(),
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotAKey => f.write_str(
                "not a private key: expected PEM (PRIVATE KEY or RSA PRIVATE KEY), DER, or the \
                 base64 of a 32-byte Ed25519 seed",
            ),
            KeyError::Base64 => f.write_str("the PEM block's base64 does not decode"),
            KeyError::Encrypted => {
                f.write_str("the private key is encrypted: give it decrypted (openssl pkey)")
            }
            KeyError::PublicKey => f.write_str("a public key where the private key is needed"),
            KeyError::Unsupported { label } => write!(
                f,
                "a PEM {label:?} block: DKIM signs with RSA or Ed25519 private keys only"
            ),
            KeyError::Rejected { reason } if reason == "TooSmall" => f.write_str(
                "the RSA key is shorter than 2048 bits (RFC 8301 asks for 2048; this signer \
                 takes 2048 to 4096)",
            ),
            KeyError::Rejected { reason } if reason == "TooLarge" => {
                f.write_str("the RSA key is longer than 4096 bits (this signer takes 2048 to 4096)")
            }
            KeyError::Rejected { reason } => write!(f, "the key was refused: {reason}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a signer could not be set up or a message could not be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DkimError {
    /// The key was refused.
    Key(KeyError),
    /// The signing domain (`d=`) is not a domain name in ASCII (RFC 6376 3.5; an
    /// internationalised domain goes in its `xn--` form).
    InvalidDomain(String),
    /// The selector (`s=`) is not one or more DNS labels (RFC 6376 3.1).
    InvalidSelector(String),
    /// The identity (`i=`) has no `@`, or its domain is neither the signing domain nor one
    /// of its subdomains (RFC 6376 3.5).
    InvalidIdentity(String),
    /// A header field name to sign that is not a field name (RFC 5322 3.6.8).
    InvalidHeaderName(String),
    /// The header fields to sign leave out From, which RFC 6376 5.4 requires.
    FromNotSigned,
    /// The message has no From field to sign (RFC 6376 5.4, RFC 5322 3.6).
    NoFrom,
    /// A line of the header section is neither a field (`name: value`) nor the continuation
    /// of one (1-based line number).
    MalformedHeader {
        /// The line, counted from 1.
        line: usize,
    },
    /// The header section is longer than the signer holds while it waits for the body.
    HeaderSectionTooLong {
        /// The bound, in bytes.
        limit: usize,
    },
    /// The signing time is before 1970 (the `t=` tag counts seconds since then).
    TimeBeforeEpoch,
    /// The signature library failed to sign (an RSA blinding failure: not expected).
    SigningFailed,
}

impl fmt::Display for DkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimError::Key(e) => write!(f, "DKIM key: {e}"),
            DkimError::InvalidDomain(d) => {
                write!(f, "DKIM signing domain {d:?} is not an ASCII domain name")
            }
            DkimError::InvalidSelector(s) => {
                write!(f, "DKIM selector {s:?} is not one or more DNS labels")
            }
            DkimError::InvalidIdentity(i) => write!(
                f,
                "DKIM identity {i:?} is not [local]@domain with the signing domain or a \
                 subdomain of it"
            ),
            DkimError::InvalidHeaderName(n) => {
                write!(f, "{n:?} is not a header field name to sign")
            }
            DkimError::FromNotSigned => {
                f.write_str("the DKIM header list must include From (RFC 6376 5.4)")
            }
            DkimError::NoFrom => f.write_str("the message has no From field to sign"),
            DkimError::MalformedHeader { line } => write!(
                f,
                "line {line} of the message's header section is neither a field nor a \
                 continuation"
            ),
            DkimError::HeaderSectionTooLong { limit } => write!(
                f,
                "the message's header section is longer than {limit} bytes (no empty line \
                 ends it?)"
            ),
            DkimError::TimeBeforeEpoch => f.write_str("the DKIM signing time is before 1970"),
            DkimError::SigningFailed => f.write_str("the signature library failed to sign"),
        }
    }
}

impl std::error::Error for DkimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DkimError::Key(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for DkimError {
    fn from(e: KeyError) -> DkimError {
        DkimError::Key(e)
    }
}
