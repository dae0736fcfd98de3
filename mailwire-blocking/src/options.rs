//! [`ClientOptions`]: where to connect and how.

use mailwire::{ClientName, Config};
use mailwire_transport::TlsOptions;
use std::time::Duration;

/// Where to connect, and the session's configuration.
///
/// The session itself (client name, STARTTLS policy, implicit TLS, credentials, per-stage
/// timeouts, transcript) is configured in [`ClientOptions::config`], an [`mailwire::Config`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The server's host name or IP address. Every address it resolves to is tried in turn. It is
    /// also the TLS server name unless [`ClientOptions::tls_name`] says otherwise: sent as SNI
    /// and checked against the certificate (an IP address is checked against the certificate's
    /// IP addresses).
    pub host: String,
    /// The name to check the certificate against and send as SNI, when it is not `host` (a
    /// server reached by address whose certificate names it). Default `None`: `host`.
    pub tls_name: Option<String>,
    /// The port (25, 587, or 465 with implicit TLS).
    pub port: u16,
    /// The session's configuration.
    pub config: Config,
    /// How long to wait for each TCP connection attempt. Default 30 s.
    pub connect_timeout: Duration,
    /// Which certificates to trust and which to present: `mailwire-transport`'s [`TlsOptions`],
    /// shared with the other adapters. The rustls configuration is built from them at
    /// [`Client::connect`](crate::Client::connect), only when TLS may be used. To
    /// build it once for many connections to one server, set
    /// `tls = TlsOptions::with_client_config(tls.build()?)` and clone the options: each
    /// connection then shares that one configuration.
    pub tls: TlsOptions,
}

impl ClientOptions {
    /// Options for `host:port`, saying `client_name` in EHLO, with [`Config::new`]'s defaults
    /// (STARTTLS required, RFC 5321 timeouts).
    pub fn new(host: impl Into<String>, port: u16, client_name: ClientName) -> ClientOptions {
        ClientOptions {
            host: host.into(),
            tls_name: None,
            port,
            config: Config::new(client_name),
            connect_timeout: Duration::from_secs(30),
            tls: TlsOptions::default(),
        }
    }
}
