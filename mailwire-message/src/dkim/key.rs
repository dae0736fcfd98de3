//! The signing key: RSA (RFC 6376 3.3.1, 2048 to 4096 bits) or Ed25519 (RFC 8463), read from
//! PEM, DER or an Ed25519 seed, and the DNS record that publishes its public half.

use super::error::KeyError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use core::fmt;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use std::sync::Arc;

/// A DKIM signature algorithm (the `a=` tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DkimAlgorithm {
    /// `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1; RFC 8301 retired
    /// `rsa-sha1`).
    RsaSha256,
    /// `ed25519-sha256`: Ed25519 over the SHA-256 hash of the signed data (RFC 8463 3).
    Ed25519Sha256,
}

impl DkimAlgorithm {
    /// The name in the `a=` tag.
    pub fn name(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa-sha256",
            DkimAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key type in the DNS record's `k=` tag.
    pub fn key_type(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa",
            DkimAlgorithm::Ed25519Sha256 => "ed25519",
        }
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key to sign with. Cheap to clone (shared); its `Debug` shows the algorithm and
/// size, never key material.
#[derive(Clone)]
pub struct DkimKey {
    pair: Arc<Pair>,
}

impl fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimKey")
            .field("algorithm", &self.algorithm())
            .field("bits", &self.bits())
            .finish()
    }
}

/// Zeroes a buffer that held key material before it is freed (best effort: no `unsafe`).
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    core::hint::black_box(&bytes);
}

impl DkimKey {
    /// Reads a key file's bytes, whatever its form: PEM (`PRIVATE KEY`, PKCS#8, RSA or
    /// Ed25519; `RSA PRIVATE KEY`, PKCS#1), DER of either, or the base64 of a 32-byte Ed25519
    /// seed (the form RFC 8463's example gives). Encrypted keys, public keys and other key
    /// types are refused by name.
    pub fn parse(bytes: &[u8]) -> Result<DkimKey, KeyError> {
        let text = core::str::from_utf8(bytes).ok();
        if let Some(text) = text {
            if text.contains("-----BEGIN ") {
                return DkimKey::from_pem(text);
            }
            let compact: String = text.split_whitespace().collect();
            if !compact.is_empty() && compact.len() <= 64 {
                if let Ok(seed) = STANDARD.decode(compact.as_bytes()) {
                    if seed.len() == 32 {
                        let key = DkimKey::from_ed25519_seed(&seed);
                        wipe(seed);
                        return key;
                    }
                    wipe(seed);
                }
            }
        }
        if bytes.first() == Some(&0x30) {
            // DER: a SEQUENCE, PKCS#8 or PKCS#1.
            return DkimKey::from_pkcs8_der(bytes).or_else(|_| DkimKey::from_rsa_der(bytes));
        }
        Err(KeyError::NotAKey)
    }

    /// Reads a PEM private key: `PRIVATE KEY` (PKCS#8, RSA or Ed25519) or `RSA PRIVATE KEY`
    /// (PKCS#1). The first block that is a private key is read (a file may hold a certificate
    /// too); without one, the first block names what the file holds instead.
    pub fn from_pem(text: &str) -> Result<DkimKey, KeyError> {
        let mut first: Option<KeyError> = None;
        let mut rest = text;
        while let Some(begin) = rest.find("-----BEGIN ") {
            let after = &rest[begin + "-----BEGIN ".len()..];
            let label_end = after.find("-----").ok_or(KeyError::NotAKey)?;
            let label = &after[..label_end];
            let body = &after[label_end + 5..];
            let end_marker = format!("-----END {label}-----");
            let end = body.find(&end_marker).ok_or(KeyError::NotAKey)?;
            rest = &body[end + end_marker.len()..];
            let body = &body[..end];
            let refusal = match label {
                "PRIVATE KEY" | "RSA PRIVATE KEY" => return DkimKey::from_pem_block(label, body),
                "ENCRYPTED PRIVATE KEY" => KeyError::Encrypted,
                "PUBLIC KEY" | "RSA PUBLIC KEY" => KeyError::PublicKey,
                other => KeyError::Unsupported {
                    label: other.chars().take(40).collect(),
                },
            };
            first.get_or_insert(refusal);
        }
        Err(first.unwrap_or(KeyError::NotAKey))
    }

    fn from_pem_block(label: &str, body: &str) -> Result<DkimKey, KeyError> {
        // Legacy OpenSSL encryption of PKCS#1 puts headers (`Proc-Type: 4,ENCRYPTED`) first.
        if body.contains("Proc-Type:") || body.contains("DEK-Info:") {
            return Err(KeyError::Encrypted);
        }
        let compact: String = body.split_whitespace().collect();
        let der = STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| KeyError::Base64)?;
        let key = if label == "PRIVATE KEY" {
            DkimKey::from_pkcs8_der(&der)
        } else {
            DkimKey::from_rsa_der(&der)
        };
        wipe(der);
        key
    }

    /// A PKCS#8 private key in DER: RSA, or Ed25519 (version 1, as OpenSSL writes it, or 2).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<DkimKey, KeyError> {
        match RsaKeyPair::from_pkcs8(der) {
            Ok(pair) => Ok(DkimKey::new(Pair::Rsa(pair))),
            Err(rsa) => match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                Ok(pair) => Ok(DkimKey::new(Pair::Ed25519(pair))),
                // Say why RSA refused it when it is an RSA key (the wrong algorithm for
                // Ed25519 says nothing useful).
                Err(ed) if rsa.to_string() == "WrongAlgorithm" => Err(KeyError::rejected(&ed)),
                Err(_) => Err(KeyError::rejected(&rsa)),
            },
        }
    }

    /// A PKCS#1 `RSAPrivateKey` in DER (what `openssl genrsa -traditional` writes as PEM).
    pub fn from_rsa_der(der: &[u8]) -> Result<DkimKey, KeyError> {
        RsaKeyPair::from_der(der)
            .map(|pair| DkimKey::new(Pair::Rsa(pair)))
            .map_err(|e| KeyError::rejected(&e))
    }

    /// An Ed25519 key from its 32-byte seed (RFC 8032 5.1.5's private key).
    pub fn from_ed25519_seed(seed: &[u8]) -> Result<DkimKey, KeyError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| DkimKey::new(Pair::Ed25519(pair)))
            .map_err(|e| KeyError::rejected(&e))
    }

    fn new(pair: Pair) -> DkimKey {
        DkimKey {
            pair: Arc::new(pair),
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> DkimAlgorithm {
        match *self.pair {
            Pair::Rsa(_) => DkimAlgorithm::RsaSha256,
            Pair::Ed25519(_) => DkimAlgorithm::Ed25519Sha256,
        }
    }

    /// The key's size in bits: the RSA modulus, or 256 for Ed25519.
    pub fn bits(&self) -> usize {
        match &*self.pair {
            Pair::Rsa(pair) => pair.public().modulus_len() * 8,
            Pair::Ed25519(_) => 256,
        }
    }

    /// The public key as the DNS record's `p=` carries it (before base64): for RSA a DER
    /// `SubjectPublicKeyInfo` (RFC 6376 3.6.1), for Ed25519 the 32 raw bytes (RFC 8463 4).
    pub fn public_key(&self) -> Vec<u8> {
        match &*self.pair {
            Pair::Rsa(pair) => subject_public_key_info(pair.public().as_ref()),
            Pair::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// The TXT record to publish at `SELECTOR._domainkey.DOMAIN` (RFC 6376 3.6.1):
    /// `v=DKIM1; k=rsa; p=…` (or `k=ed25519`). A DNS TXT string holds at most 255 octets:
    /// split a longer record into several strings of one record, as DNS servers expect.
    pub fn dns_record(&self) -> String {
        format!(
            "v=DKIM1; k={}; p={}",
            self.algorithm().key_type(),
            STANDARD.encode(self.public_key())
        )
    }

    /// Signs the canonicalised header data (RFC 6376 3.7): RSA over the data, Ed25519 over its
    /// SHA-256 hash (RFC 8463 3).
    pub(crate) fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        match &*self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    data,
                    &mut signature,
                )
                .ok()?;
                Some(signature)
            }
            Pair::Ed25519(pair) => {
                let hash = ring::digest::digest(&ring::digest::SHA256, data);
                Some(pair.sign(hash.as_ref()).as_ref().to_vec())
            }
        }
    }
}

/// DER length octets (X.690 8.1.3).
fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Wraps a PKCS#1 `RSAPublicKey` in the `SubjectPublicKeyInfo` that DKIM records carry
/// (RFC 5280 4.1.2.7, RFC 3279 2.3.1).
fn subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }.
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0x03];
    der_length(rsa_public_key.len() + 1, &mut bit_string);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(rsa_public_key);
    let mut out = vec![0x30];
    der_length(ALGORITHM.len() + bit_string.len(), &mut out);
    out.extend_from_slice(&ALGORITHM);
    out.extend_from_slice(&bit_string);
    out
}
