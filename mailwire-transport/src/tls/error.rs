//! [`TlsConfigError`]: why a TLS configuration could not be built, naming the file or the name
//! at fault.

use rustls::pki_types::pem;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What a PEM file named in [`TlsOptions`](super::TlsOptions) was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PemFile {
    /// [`TlsOptions::ca_file`](super::TlsOptions::ca_file): the certificates to trust.
    CaCertificates,
    /// [`ClientCertificate::chain`](super::ClientCertificate::chain): the client's certificate,
    /// then its intermediates.
    ClientCertificates,
    /// [`ClientCertificate::key`](super::ClientCertificate::key): the client's private key.
    ClientKey,
}

impl PemFile {
    /// What the file should hold, for messages ("certificate", "private key").
    fn item(self) -> &'static str {
        match self {
            PemFile::CaCertificates | PemFile::ClientCertificates => "certificate",
            PemFile::ClientKey => "private key",
        }
    }
}

impl fmt::Display for PemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemFile::CaCertificates => "CA file",
            PemFile::ClientCertificates => "client certificate file",
            PemFile::ClientKey => "client key file",
        })
    }
}

/// Why a TLS client configuration or server name could not be made.
///
/// Every variant is the caller's to fix (a file, an option, a name), found before any
/// connection is made; none depends on the server. Handshake failures are not here: they
/// happen on a connection and belong to the adapter's own error. Cheap to clone (I/O and PEM
/// errors are shared behind an `Arc`). The private key's contents never appear in a message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The file could not be read (missing, unreadable, a directory).
    Unreadable {
        /// What the file was for.
        file: PemFile,
        /// The file.
        path: PathBuf,
        /// Why.
        source: Arc<io::Error>,
    },
    /// The file is not valid PEM (a section without its end line, bad base64).
    BadPem {
        /// What the file was for.
        file: PemFile,
        /// The file.
        path: PathBuf,
        /// What the PEM parser found.
        source: Arc<pem::Error>,
    },
    /// The file holds no PEM section of the kind it is for: no certificate in a CA or client
    /// certificate file, no private key in a key file. (Sections of other kinds are skipped.)
    NothingFound {
        /// What the file was for.
        file: PemFile,
        /// The file.
        path: PathBuf,
    },
    /// A certificate in the CA file cannot be a trust anchor (its DER does not parse as an
    /// X.509 certificate).
    InvalidCaCertificate {
        /// The CA file.
        path: PathBuf,
        /// What rustls (webpki) said.
        source: rustls::Error,
    },
    /// rustls refused the client certificate and key: the key does not belong to the
    /// certificate, or its type is not supported by the provider.
    InvalidClientCertificate {
        /// The certificate chain file.
        chain: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The server name is neither a DNS name nor an IP address, so it can be neither sent as
    /// SNI nor checked against a certificate.
    InvalidServerName {
        /// The name as given.
        name: String,
    },
    /// rustls refused the configuration itself (the provider supports none of the protocol
    /// versions asked for).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::Unreadable { file, path, source } => {
                write!(f, "cannot read the {file} {}: {source}", path.display())
            }
            TlsConfigError::BadPem { file, path, source } => {
                write!(f, "the {file} {} is not valid PEM: {source}", path.display())
            }
            TlsConfigError::NothingFound { file, path } => {
                write!(f, "no {} in the {file} {}", file.item(), path.display())
            }
            TlsConfigError::InvalidCaCertificate { path, source } => write!(
                f,
                "a certificate in the CA file {} cannot be trusted as a root: {source}",
                path.display()
            ),
            TlsConfigError::InvalidClientCertificate { chain, key, source } => write!(
                f,
                "the client certificate {} and key {} cannot be used: {source}",
                chain.display(),
                key.display()
            ),
            TlsConfigError::InvalidServerName { name } => write!(
                f,
                "{name:?} is neither a DNS name nor an IP address, so it cannot be a TLS server name"
            ),
            TlsConfigError::Rustls(e) => write!(f, "rustls refused the TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Unreadable { source, .. } => Some(&**source),
            TlsConfigError::BadPem { source, .. } => Some(&**source),
            TlsConfigError::InvalidCaCertificate { source, .. }
            | TlsConfigError::InvalidClientCertificate { source, .. }
            | TlsConfigError::Rustls(source) => Some(source),
            TlsConfigError::NothingFound { .. } | TlsConfigError::InvalidServerName { .. } => None,
        }
    }
}
