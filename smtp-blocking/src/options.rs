//! [`ClientOptions`]: where to connect and how.

use smtp_proto::{ClientName, Config};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where to connect, and the session's configuration.
///
/// The session itself (client name, STARTTLS policy, implicit TLS, credentials, per-stage
/// timeouts, transcript) is configured in [`ClientOptions::config`], an [`smtp_proto::Config`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The server's host name or IP address. Every address it resolves to is tried in turn. It is
    /// also the TLS server name: sent as SNI and checked against the certificate (an IP address
    /// is checked against the certificate's IP addresses).
    pub host: String,
    /// The port (25, 587, or 465 with implicit TLS).
    pub port: u16,
    /// The session's configuration.
    pub config: Config,
    /// How long to wait for each TCP connection attempt. Default 30 s.
    pub connect_timeout: Duration,
    /// Certificate verification.
    pub tls: TlsOptions,
}

impl ClientOptions {
    /// Options for `host:port`, saying `client_name` in EHLO, with [`Config::new`]'s defaults
    /// (STARTTLS required, RFC 5321 timeouts).
    pub fn new(host: impl Into<String>, port: u16, client_name: ClientName) -> ClientOptions {
        ClientOptions {
            host: host.into(),
            port,
            config: Config::new(client_name),
            connect_timeout: Duration::from_secs(30),
            tls: TlsOptions::default(),
        }
    }
}

/// How the server's certificate is checked.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Trust only the certificates in this PEM file instead of the built-in web PKI roots
    /// (`webpki-roots`).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate, for any name. The connection is then encrypted but not
    /// authenticated: anyone on the path can read and change it. For tests only.
    pub danger_accept_invalid_certs: bool,
    /// A complete rustls configuration to use instead of the above (client certificates, custom
    /// verifiers, ALPN, …).
    pub client_config: Option<Arc<rustls::ClientConfig>>,
}
