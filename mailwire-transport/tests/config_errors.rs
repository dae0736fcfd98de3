//! Every way a TLS configuration can fail names the file (and what it was for) or the name at
//! fault, with the underlying error as `source()`.

mod support;

use mailwire_transport::{ClientCertificate, PemFile, TlsConfigError, TlsOptions, TlsSetup};
use std::error::Error as _;
use support::Pki;

#[test]
fn missing_ca_file_is_unreadable_with_the_io_error() {
    let err = TlsOptions::with_ca_file("/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    match &err {
        TlsConfigError::Unreadable { file, path, source } => {
            assert_eq!(*file, PemFile::CaCertificates);
            assert_eq!(path.to_str(), Some("/nonexistent/ca.pem"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.source().is_some());
    let text = err.to_string();
    assert!(
        text.contains("CA file") && text.contains("/nonexistent/ca.pem"),
        "{text}"
    );
}

#[test]
fn ca_file_without_a_certificate_is_nothing_found() {
    let pki = Pki::generate();
    // A key is a PEM section, but not a certificate: skipped, leaving nothing.
    let err = TlsOptions::with_ca_file(&pki.client_key)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TlsConfigError::NothingFound { file: PemFile::CaCertificates, path } if *path == pki.client_key
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("no certificate in the CA file {}", pki.client_key.display())
    );
}

#[test]
fn ca_file_with_broken_pem_is_bad_pem() {
    let pki = Pki::generate();
    let path = pki.file(
        "broken.pem",
        b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    let err = TlsOptions::with_ca_file(&path).build().unwrap_err();
    assert!(
        matches!(
            &err,
            TlsConfigError::BadPem {
                file: PemFile::CaCertificates,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.source().is_some());
}

#[test]
fn ca_file_with_a_non_certificate_is_an_invalid_ca_certificate() {
    let pki = Pki::generate();
    // Valid PEM, valid base64, but the DER inside is no X.509 certificate.
    let path = pki.file(
        "junk.pem",
        b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let err = TlsOptions::with_ca_file(&path).build().unwrap_err();
    assert!(
        matches!(&err, TlsConfigError::InvalidCaCertificate { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.source().is_some());
}

#[test]
fn client_key_file_without_a_key_is_nothing_found() {
    let pki = Pki::generate();
    let mut options = TlsOptions::with_ca_file(&pki.ca);
    options.client_certificate = Some(ClientCertificate::new(&pki.client_chain, &pki.ca));
    let err = options.build().unwrap_err();
    assert!(
        matches!(
            &err,
            TlsConfigError::NothingFound {
                file: PemFile::ClientKey,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("no private key in the client key file"));
}

#[test]
fn client_chain_file_missing_is_unreadable() {
    let pki = Pki::generate();
    let mut options = TlsOptions::default();
    options.client_certificate = Some(ClientCertificate::new(
        pki.dir.join("absent.pem"),
        &pki.client_key,
    ));
    let err = options.build().unwrap_err();
    assert!(
        matches!(
            &err,
            TlsConfigError::Unreadable {
                file: PemFile::ClientCertificates,
                ..
            }
        ),
        "{err:?}"
    );
}

/// rustls checks that the key belongs to the certificate; the error names both files.
#[test]
fn client_key_of_another_certificate_is_refused() {
    let pki = Pki::generate();
    let mut options = TlsOptions::with_ca_file(&pki.ca);
    options.client_certificate = Some(ClientCertificate::new(&pki.client_chain, &pki.other_key));
    let err = options.build().unwrap_err();
    match &err {
        TlsConfigError::InvalidClientCertificate { chain, key, source } => {
            assert_eq!(*chain, pki.client_chain);
            assert_eq!(*key, pki.other_key);
            assert!(
                matches!(source, rustls::Error::InconsistentKeys(_)),
                "{source:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A key's bytes never show in the error, even when its PEM is broken.
#[test]
fn broken_key_error_does_not_show_the_key() {
    let pki = Pki::generate();
    let secret_line = "c2VjcmV0LWtleS1tYXRlcmlhbA";
    let path = pki.file(
        "broken.key",
        format!("-----BEGIN PRIVATE KEY-----\n{secret_line}!!\n-----END PRIVATE KEY-----\n")
            .as_bytes(),
    );
    let mut options = TlsOptions::default();
    options.client_certificate = Some(ClientCertificate::new(&pki.client_chain, &path));
    let err = options.build().unwrap_err();
    assert!(
        matches!(
            &err,
            TlsConfigError::BadPem {
                file: PemFile::ClientKey,
                ..
            }
        ),
        "{err:?}"
    );
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(secret_line), "{shown}");
    }
}

/// The name is checked before any file is read.
#[test]
fn invalid_server_name_is_reported_before_the_files() {
    let err = TlsSetup::from_options(
        &TlsOptions::with_ca_file("/nonexistent/ca.pem"),
        "not a host name!",
    )
    .unwrap_err();
    assert!(
        matches!(&err, TlsConfigError::InvalidServerName { name } if name == "not a host name!"),
        "{err:?}"
    );
}

/// With a configuration of the caller's, no option file is read at all.
#[test]
fn client_config_is_used_as_is_without_reading_files() {
    let base = TlsOptions::default().build().unwrap();
    let mut options = TlsOptions::with_client_config(base.clone());
    options.ca_file = Some("/nonexistent/ca.pem".into());
    let built = options.build().unwrap();
    assert!(std::sync::Arc::ptr_eq(&base, &built));
}

/// `danger_accept_invalid_certs` reads no CA file (it trusts nothing in particular).
#[test]
fn danger_accept_invalid_certs_reads_no_ca_file() {
    let mut options = TlsOptions::with_ca_file("/nonexistent/ca.pem");
    options.danger_accept_invalid_certs = true;
    assert!(options.build().is_ok());
}
