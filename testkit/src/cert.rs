//! Throw-away certificates for TLS tests.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::{set_mode, TempDir};

/// The common name of [`TestCert::client_cert_path`]'s certificate.
pub const CLIENT_COMMON_NAME: &str = "mailwire-testkit client";

/// A fresh CA and a server certificate it signed, valid for `localhost` and
/// `127.0.0.1`, written as PEM files into a temp folder (removed on drop).
///
/// Servers get [`cert_path`](Self::cert_path) (server certificate followed by
/// the CA certificate) and [`key_path`](Self::key_path); clients trust
/// [`ca_path`](Self::ca_path) / [`ca_der`](Self::ca_der). All files are
/// world-readable so that servers running as other users can read them.
#[derive(Debug)]
pub struct TestCert {
    ca_pem: String,
    ca_der: Vec<u8>,
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
    key_der: Vec<u8>,
    client_cert_path: PathBuf,
    client_key_path: PathBuf,
    ca_path: PathBuf,
    cert_path: PathBuf,
    leaf_path: PathBuf,
    key_path: PathBuf,
    dir: TempDir,
}

fn err(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("rcgen: {e}"))
}

impl TestCert {
    /// Generates the CA and server certificate (ECDSA P-256) and writes them.
    pub fn generate() -> io::Result<TestCert> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mailwire-testkit test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(err)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(err)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &issuer).map_err(err)?;

        // A client certificate from the same CA, for servers that require one.
        let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, CLIENT_COMMON_NAME);
        client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().map_err(err)?;
        let client_cert = client_params.signed_by(&client_key, &issuer).map_err(err)?;

        let dir = TempDir::new("cert")?;
        let ca_pem = ca_cert.pem();
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        let ca_path = dir.path().join("ca.pem");
        let cert_path = dir.path().join("server-chain.pem");
        let leaf_path = dir.path().join("server.pem");
        let key_path = dir.path().join("server.key");
        let client_cert_path = dir.path().join("client.pem");
        let client_key_path = dir.path().join("client.key");
        fs::write(&client_cert_path, client_cert.pem())?;
        fs::write(&client_key_path, client_key.serialize_pem())?;
        fs::write(&ca_path, &ca_pem)?;
        fs::write(&cert_path, format!("{cert_pem}{ca_pem}"))?;
        fs::write(&leaf_path, &cert_pem)?;
        fs::write(&key_path, &key_pem)?;
        for p in [
            &ca_path,
            &cert_path,
            &leaf_path,
            &key_path,
            &client_cert_path,
            &client_key_path,
        ] {
            set_mode(p, 0o644)?;
        }
        Ok(TestCert {
            ca_der: ca_cert.der().to_vec(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
            client_cert_path,
            client_key_path,
            ca_pem,
            cert_pem,
            key_pem,
            ca_path,
            cert_path,
            leaf_path,
            key_path,
            dir,
        })
    }

    /// PEM file with the CA certificate: what clients should trust.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// PEM file with the server certificate followed by the CA certificate.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// PEM file with the server certificate alone.
    pub fn leaf_cert_path(&self) -> &Path {
        &self.leaf_path
    }

    /// PEM file with the server's private key (PKCS#8).
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// PEM file with a client certificate the same CA signed (common name
    /// [`CLIENT_COMMON_NAME`], extended key usage clientAuth).
    pub fn client_cert_path(&self) -> &Path {
        &self.client_cert_path
    }

    /// PEM file with the client certificate's private key (PKCS#8).
    pub fn client_key_path(&self) -> &Path {
        &self.client_key_path
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The server certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The server certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The server key, PEM (PKCS#8).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The server key, DER (PKCS#8).
    pub fn key_der(&self) -> &[u8] {
        &self.key_der
    }

    /// The folder holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
