//! What `smtp-send` reports of a TLS session, against aiosmtpd (Python's ssl, OpenSSL) and Exim
//! (GnuTLS): `--tls-get-peer-cert` writes the chain the server presented as PEM (read back by
//! rustls' PEM parser, compared byte for byte with the test certificates), `--json`'s
//! `tls_session` names the version and suite and fingerprints each certificate (checked
//! against Python's hashlib), the probe's `tls:` line says the same; without TLS nothing is
//! written, and the paths that cannot work are refused.

mod support;

use mailwire_blocking::rustls::pki_types::{pem::PemObject, CertificateDer};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, Exim, SmtpSink, TempDir, TestCert};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// The certificates of a PEM file, DER.
fn chain(path: &std::path::Path) -> Vec<Vec<u8>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(|c| c.unwrap().to_vec())
        .collect()
}

/// `openssl x509 -fingerprint -sha256`'s form of the SHA-256 of `der`, by Python's hashlib.
fn python_fingerprint(dir: &std::path::Path, der: &[u8]) -> String {
    let file = dir.join("cert.der");
    std::fs::write(&file, der).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; d=hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest(); \
             print(':'.join(d[i:i+2] for i in range(0,64,2)).upper())",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn aiosmtpd_chain_written_and_described_in_json() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let dir = TempDir::new("peer-cert").unwrap();
    let pem = dir.path().join("server.pem");
    let target = format!("127.0.0.1:{}", server.port());
    let ca = cert.ca_path().to_str().unwrap();
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "required",
            "--ca-file",
            ca,
            "--quit-after",
            "tls",
            "--tls-get-peer-cert",
            pem.to_str().unwrap(),
            "--json",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(chain(&pem), [cert.cert_der(), cert.ca_der()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let session = &v["tls_session"];
    assert_eq!(session["version"], "TLSv1.3", "{v}");
    assert!(
        session["cipher_suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS_"),
        "{v}"
    );
    assert_eq!(session["resumed"], false);
    let prints: Vec<&str> = session["peer_certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256"].as_str().unwrap())
        .collect();
    assert_eq!(
        prints,
        [
            python_fingerprint(dir.path(), cert.cert_der()),
            python_fingerprint(dir.path(), cert.ca_der())
        ]
    );

    // A message sent, the PEM on standard output after the result line (no PATH given).
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "required",
            "--ca-file",
            ca,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--tls-get-peer-cert",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("sent to 1 of 1 recipient(s)"),
        "{stdout}"
    );
    let printed: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(stdout.as_bytes())
        .map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(printed, [cert.cert_der(), cert.ca_der()]);
    assert_eq!(server.wait_for_messages(1, T).unwrap().len(), 1);
}

#[test]
fn exim_gnutls_chain_and_probe_line() {
    let cert = TestCert::generate().unwrap();
    let exim = peer_or_skip!(Exim::builder()
        .tls(cert.cert_path(), cert.key_path())
        .start());
    let dir = TempDir::new("peer-cert-exim").unwrap();
    let pem = dir.path().join("exim.pem");
    let out = smtp_send(
        &[
            "--server",
            &exim.addr().to_string(),
            "--starttls",
            "required",
            "--ca-file",
            cert.ca_path().to_str().unwrap(),
            "--quit-after",
            "tls",
            "--tls-get-peer-cert",
            pem.to_str().unwrap(),
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("tls: ")).unwrap();
    assert!(line.starts_with("tls: yes (TLSv1."), "{line}");
    assert!(line.contains(", TLS_"), "{line}");
    assert_eq!(chain(&pem)[0], cert.cert_der());
}

#[test]
fn without_tls_nothing_is_written_and_bad_paths_are_refused() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let dir = TempDir::new("peer-cert-none").unwrap();
    let pem = dir.path().join("none.pem");
    let target = format!("127.0.0.1:{}", sink.port());
    let base = [
        "--server",
        &target,
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        smtp_send(&args, &[], T)
    };
    let out = run(&["--tls-get-peer-cert", pem.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(!pem.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no TLS session"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tls"], false);
    assert!(v["tls_session"].is_null(), "{v}");

    // Standard output is --json's: a PATH is needed (64, before connecting).
    let out = run(&["--tls-get-peer-cert", "--json"]);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));

    // A path that cannot be created: 73, after the message went.
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let tls_target = format!("127.0.0.1:{}", server.port());
    let missing = dir.path().join("no-such-dir").join("x.pem");
    let out = smtp_send(
        &[
            "--server",
            &tls_target,
            "--starttls",
            "required",
            "--ca-file",
            cert.ca_path().to_str().unwrap(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--tls-get-peer-cert",
            missing.to_str().unwrap(),
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(73), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-get-peer-cert"));
    assert_eq!(server.wait_for_messages(1, T).unwrap().len(), 1);
}

/// The reason to fetch a chain is often that it does not verify: the handshake then fails (77)
/// and nothing is written; with `--danger-accept-invalid-certs` the probe gets to TLS and the
/// chain the server presented is written all the same.
#[test]
fn an_untrusted_chain_is_written_only_when_verification_is_off() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let dir = TempDir::new("peer-cert-untrusted").unwrap();
    let pem = dir.path().join("untrusted.pem");
    let target = format!("127.0.0.1:{}", server.port());
    let args = [
        "--server",
        target.as_str(),
        "--starttls",
        "required",
        "--quit-after",
        "tls",
        "--tls-get-peer-cert",
        pem.to_str().unwrap(),
    ];
    // The test CA is not among the web roots: the certificate does not verify.
    let out = smtp_send(&args, &[], T);
    assert_eq!(out.status.code(), Some(77), "{}", describe(&out));
    assert!(!pem.exists());
    let mut insecure = args.to_vec();
    insecure.push("--danger-accept-invalid-certs");
    let out = smtp_send(&insecure, &[], T);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(chain(&pem), [cert.cert_der(), cert.ca_der()]);
}
