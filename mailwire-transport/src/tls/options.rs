//! [`TlsOptions`]: which certificates to trust and which to present, and how they become one
//! rustls client configuration.

use super::accept_any_certificate::AcceptAnyCertificate;
use super::error::{PemFile, TlsConfigError};
use super::pem;
use rustls::{ClientConfig, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;

/// How the server's certificate is checked, and which certificate the client presents.
///
/// [`TlsOptions::build`] turns them into a `rustls::ClientConfig`. Precedence, first match
/// wins: [`client_config`](Self::client_config) as is; else
/// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs); else the certificates of
/// [`ca_file`](Self::ca_file); else the `webpki-roots` roots. A
/// [`client_certificate`](Self::client_certificate) is added in the last three cases.
///
/// The default trusts the web PKI roots and presents no client certificate.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Trust only the certificates in this PEM file instead of the built-in web PKI roots
    /// (`webpki-roots`): for a private CA, or to pin a server's own certificate.
    pub ca_file: Option<PathBuf>,
    /// Present this certificate when the server asks for one (TLS client authentication, which
    /// some submission servers require instead of, or besides, AUTH).
    pub client_certificate: Option<ClientCertificate>,
    /// Accept any certificate, for any name. **For tests only.** The connection is then
    /// encrypted but not authenticated: anyone on the path can pose as the server, read the
    /// mail and the credentials, and change them. The handshake signatures are still checked,
    /// so this is not "no TLS", but it is no protection against an active attacker.
    pub danger_accept_invalid_certs: bool,
    /// A complete rustls configuration, used as is instead of everything above (custom
    /// verifiers, another crypto provider, ALPN, a session store, …).
    pub client_config: Option<Arc<ClientConfig>>,
}

impl TlsOptions {
    /// Trusts only the certificates in the PEM file `path`.
    pub fn with_ca_file(path: impl Into<PathBuf>) -> TlsOptions {
        TlsOptions {
            ca_file: Some(path.into()),
            ..TlsOptions::default()
        }
    }

    /// Uses `config` as is. This is also how one configuration built by [`TlsOptions::build`]
    /// is shared by the options of many connections.
    pub fn with_client_config(config: Arc<ClientConfig>) -> TlsOptions {
        TlsOptions {
            client_config: Some(config),
            ..TlsOptions::default()
        }
    }

    /// Builds the rustls client configuration: the `ring` provider, rustls' safe default
    /// protocol versions (TLS 1.3 and 1.2), the roots and client certificate as described on
    /// [`TlsOptions`]. With [`client_config`](Self::client_config) set, that `Arc` is returned
    /// (the same allocation, not a copy).
    ///
    /// Build it once per server and share it: every connection made from one configuration
    /// shares its state (and, once the adapters keep one, its TLS session cache), and reading
    /// and parsing the roots for every connection would be wasted work.
    ///
    /// # Errors
    /// A [`TlsConfigError`] naming the file or option at fault. No file is read when
    /// [`client_config`](Self::client_config) is set, and the CA file is not read when
    /// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs) is.
    pub fn build(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        if let Some(config) = &self.client_config {
            return Ok(Arc::clone(config));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(TlsConfigError::Rustls)?;
        let builder = if self.danger_accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let config = match &self.client_certificate {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let chain = pem::certificates(PemFile::ClientCertificates, &identity.chain)?;
                let key = pem::private_key(&identity.key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|source| TlsConfigError::InvalidClientCertificate {
                        chain: identity.chain.clone(),
                        key: identity.key.clone(),
                        source,
                    })?
            }
        };
        Ok(Arc::new(config))
    }

    /// The CA file's certificates, or the web PKI roots.
    fn roots(&self) -> Result<RootCertStore, TlsConfigError> {
        let Some(path) = &self.ca_file else {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        };
        let mut roots = RootCertStore::empty();
        for cert in pem::certificates(PemFile::CaCertificates, path)? {
            roots
                .add(cert)
                .map_err(|source| TlsConfigError::InvalidCaCertificate {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(roots)
    }
}

/// A client certificate for TLS client authentication: two PEM files.
///
/// The key file is read when the configuration is built and kept only inside rustls; `Debug`
/// shows the paths, never the key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// The client's certificate first, then any intermediates (the root is not needed).
    pub chain: PathBuf,
    /// The certificate's private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), the first found.
    pub key: PathBuf,
}

impl ClientCertificate {
    /// The certificate chain in `chain` and its private key in `key`.
    pub fn new(chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> ClientCertificate {
        ClientCertificate {
            chain: chain.into(),
            key: key.into(),
        }
    }
}
