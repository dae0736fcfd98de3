//! [`TlsOptions`]: which certificates to trust and which to present, and how they become one
//! rustls client configuration.

use super::accept_any_certificate::AcceptAnyCertificate;
use super::error::{PemFile, TlsConfigError};
use super::pem;
use rustls::{ClientConfig, RootCertStore};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How the server's certificate is checked, and which certificate the client presents.
///
/// [`TlsOptions::build`] turns them into a `rustls::ClientConfig`. Precedence, first match
/// wins: [`client_config`](Self::client_config) as is; else
/// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs); else the certificates of
/// [`ca_file`](Self::ca_file); else the `webpki-roots` roots. A
/// [`client_certificate`](Self::client_certificate) is added in the last three cases.
///
/// The default trusts the web PKI roots, presents no client certificate and resumes sessions.
///
/// Clones share what [`TlsOptions::build`] built (as long as their fields are the same), so
/// options cloned for many connections to one server give them one configuration, hence one
/// TLS session store: a reconnect resumes the session of an earlier connection.
#[derive(Clone, Debug)]
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
    /// Resume TLS sessions across connections made with one configuration (RFC 8446 2.2:
    /// tickets for TLS 1.3, session IDs and tickets for TLS 1.2; rustls' in-memory store of
    /// 256 sessions). Default `true`. `false` makes every handshake a full one. Not used with
    /// [`client_config`](Self::client_config), which carries its own.
    pub resumption: bool,
    /// The configuration built last, shared by clones.
    built: Built,
}

/// What [`TlsOptions::build`] made, and from which options.
#[derive(Clone, Default)]
struct Built(Arc<Mutex<Option<BuiltFrom>>>);

/// A built configuration and the options it came from.
type BuiltFrom = (Key, Arc<ClientConfig>);

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// The options a built configuration came from.
#[derive(Clone, PartialEq, Eq)]
struct Key {
    ca_file: Option<PathBuf>,
    client_certificate: Option<ClientCertificate>,
    danger_accept_invalid_certs: bool,
    resumption: bool,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            ca_file: None,
            client_certificate: None,
            danger_accept_invalid_certs: false,
            client_config: None,
            resumption: true,
            built: Built::default(),
        }
    }
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
    /// Built once and shared: a second call on these options or a clone of them (with the same
    /// fields) returns the same `Arc`, so every connection made from them shares one
    /// configuration and its TLS session store (a reconnect resumes), and the roots and files
    /// are read once. Files changed on disk afterwards are not read again; options with other
    /// fields build anew.
    ///
    /// # Errors
    /// A [`TlsConfigError`] naming the file or option at fault. No file is read when
    /// [`client_config`](Self::client_config) is set, and the CA file is not read when
    /// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs) is.
    pub fn build(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        if let Some(config) = &self.client_config {
            return Ok(Arc::clone(config));
        }
        let key = Key {
            ca_file: self.ca_file.clone(),
            client_certificate: self.client_certificate.clone(),
            danger_accept_invalid_certs: self.danger_accept_invalid_certs,
            resumption: self.resumption,
        };
        let mut built = self.built.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, config)) = built.as_ref() {
            if *k == key {
                return Ok(Arc::clone(config));
            }
        }
        let config = self.build_new()?;
        *built = Some((key, Arc::clone(&config)));
        Ok(config)
    }

    fn build_new(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
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
        let mut config = match &self.client_certificate {
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
        if !self.resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
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
