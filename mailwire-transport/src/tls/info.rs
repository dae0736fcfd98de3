//! What an established TLS session negotiated and what the server showed, for callers (Go's
//! `tls.ConnectionState` for an SMTP connection): every adapter hands out the same type.

use rustls::pki_types::CertificateDer;
use rustls::{CipherSuite, HandshakeKind, ProtocolVersion};

/// An established TLS session: its protocol version and cipher suite, whether the handshake
/// resumed an earlier session, and the certificate chain the server presented (verified
/// against the configured roots unless verification was turned off).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// TLS 1.2 or 1.3 (`ProtocolVersion::TLSv1_3`).
    pub protocol_version: ProtocolVersion,
    /// The cipher suite (`CipherSuite::TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: CipherSuite,
    /// `Full`, or `Resumed` when a session of an earlier connection with the same TLS
    /// configuration was resumed (RFC 8446 2.2; RFC 5077 for TLS 1.2).
    pub handshake_kind: HandshakeKind,
    /// The server's certificates as it sent them (DER), its own first (RFC 8446 4.4.2).
    /// Empty when a resumed TLS 1.2 session carried none.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsInfo {
    /// The session of `conn`; `None` while its handshake is not complete.
    pub fn of(conn: &rustls::CommonState) -> Option<TlsInfo> {
        if conn.is_handshaking() {
            return None;
        }
        Some(TlsInfo {
            protocol_version: conn.protocol_version()?,
            cipher_suite: conn.negotiated_cipher_suite()?.suite(),
            handshake_kind: conn.handshake_kind()?,
            peer_certificates: conn
                .peer_certificates()
                .map(<[CertificateDer<'static>]>::to_vec)
                .unwrap_or_default(),
        })
    }

    /// The protocol version as the IANA registry and OpenSSL name it: `TLSv1.3`, `TLSv1.2`.
    pub fn version_name(&self) -> String {
        match self.protocol_version {
            ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
            ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
            other => format!("{other:?}"),
        }
    }

    /// The cipher suite's IANA name without rustls' `TLS13_` prefix for TLS 1.3 suites:
    /// `TLS_AES_256_GCM_SHA384`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub fn cipher_suite_name(&self) -> String {
        let name = format!("{:?}", self.cipher_suite);
        match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(protocol_version: ProtocolVersion, cipher_suite: CipherSuite) -> TlsInfo {
        TlsInfo {
            protocol_version,
            cipher_suite,
            handshake_kind: HandshakeKind::Full,
            peer_certificates: Vec::new(),
        }
    }

    #[test]
    fn names_are_the_registry_ones() {
        let v13 = info(
            ProtocolVersion::TLSv1_3,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        );
        assert_eq!(v13.version_name(), "TLSv1.3");
        assert_eq!(v13.cipher_suite_name(), "TLS_CHACHA20_POLY1305_SHA256");
        let v12 = info(
            ProtocolVersion::TLSv1_2,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        );
        assert_eq!(v12.version_name(), "TLSv1.2");
        assert_eq!(
            v12.cipher_suite_name(),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(
            info(
                ProtocolVersion::TLSv1_0,
                CipherSuite::TLS_NULL_WITH_NULL_NULL
            )
            .version_name(),
            "TLSv1_0"
        );
    }
}
