//! [`TlsSetup`]: what the driver needs to start TLS on a session (a rustls client configuration
//! and the name to verify), built with the same provider (`ring`) and roots as smtp-blocking.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A rustls client configuration and the server name to verify the certificate against. Cheap
/// to clone (the configuration is shared).
#[derive(Clone, Debug)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsSetup {
    /// Uses the caller's configuration as is.
    pub fn new(config: Arc<ClientConfig>, server_name: ServerName<'static>) -> TlsSetup {
        TlsSetup {
            config,
            server_name,
        }
    }

    /// Verifies `server_name` against the Mozilla roots (webpki-roots), or, with `ca_file`,
    /// against the PEM certificates in that file only.
    pub fn with_roots(
        server_name: &str,
        ca_file: Option<&Path>,
    ) -> Result<TlsSetup, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| TlsSetupError::CaFile(path.to_path_buf(), e.to_string()))?;
                for cert in certs {
                    let cert =
                        cert.map_err(|e| TlsSetupError::CaFile(path.to_path_buf(), e.to_string()))?;
                    roots.add(cert).map_err(TlsSetupError::Rustls)?;
                }
                if roots.is_empty() {
                    return Err(TlsSetupError::CaFile(
                        path.to_path_buf(),
                        "no certificate in the file".into(),
                    ));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsSetupError::Rustls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsSetupError::ServerName(server_name.to_owned()))?;
        Ok(TlsSetup {
            config: Arc::new(config),
            server_name,
        })
    }

    /// A new client connection, its outgoing plaintext unbounded (the core bounds what it hands
    /// out; rustls must not refuse part of a flight).
    pub(crate) fn start(&self) -> Result<ClientConnection, rustls::Error> {
        let mut conn = ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())?;
        conn.set_buffer_limit(None);
        Ok(conn)
    }
}

/// Why a [`TlsSetup`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The CA file could not be read or holds no PEM certificate.
    CaFile(PathBuf, String),
    /// The server name is neither a DNS name nor an IP address.
    ServerName(String),
    /// rustls refused the configuration or a certificate.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::CaFile(path, e) => write!(f, "CA file {}: {e}", path.display()),
            TlsSetupError::ServerName(name) => write!(f, "invalid TLS server name {name:?}"),
            TlsSetupError::Rustls(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsSetupError {}
