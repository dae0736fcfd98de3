//! A server's certificates as `smtp-send` shows them: PEM for `--tls-get-peer-cert` (RFC 7468
//! 5.1, what `openssl x509` reads) and SHA-256 fingerprints for the JSON summary.

use base64::Engine;
use mailwire_transport::rustls::pki_types::CertificateDer;

/// Each certificate as a PEM block, `-----BEGIN CERTIFICATE-----`, the base64 of its DER in
/// lines of 64 characters (RFC 7468 2), `-----END CERTIFICATE-----`, in the order given.
pub fn pem_chain(certificates: &[CertificateDer<'_>]) -> String {
    let mut out = String::new();
    for der in certificates {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for line in text.as_bytes().chunks(64) {
            // Base64 is ASCII: every chunk is valid UTF-8.
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// The SHA-256 of `der`, in upper-case hex pairs joined by colons, as `openssl x509 -noout
/// -fingerprint -sha256` prints it.
pub fn sha256_fingerprint(der: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    let pairs: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_lines_are_64_characters_and_decode_back() {
        let ders: Vec<CertificateDer<'static>> = [vec![0u8; 100], (0..=255).collect()]
            .into_iter()
            .map(CertificateDer::from)
            .collect();
        let pem = pem_chain(&ders);
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----\n").count(), 2);
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(line.len() <= 64, "{line}");
        }
        use mailwire_transport::rustls::pki_types::pem::PemObject;
        let back: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, ders);
        assert_eq!(pem_chain(&[]), "");
    }

    #[test]
    fn fingerprint_of_the_empty_string_is_the_known_one() {
        // SHA-256 of no bytes (FIPS 180-4's well-known value).
        assert_eq!(
            sha256_fingerprint(&CertificateDer::from(Vec::new())),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:\
             27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }
}
