//! [`ClientOptions`]: where to connect and how, the same for every adapter.

use crate::TlsOptions;
use mailwire::{ClientName, Config};
use std::time::Duration;

/// Where to connect, and the session's configuration: what `Client::connect` takes in every
/// adapter (`mailwire-blocking`, `mailwire-tokio`), and what their pools are built from.
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
    /// Which certificates to trust and which to present ([`TlsOptions`]). The rustls
    /// configuration is built from them when an adapter connects, only when TLS may be used. To
    /// build it once for many connections to one server, set
    /// `tls = TlsOptions::with_client_config(tls.build()?)` and clone the options: each
    /// connection then shares that one configuration (the adapters' pools do this).
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

    /// `host:port` as given, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Whether the session may use TLS (implicit TLS, or a STARTTLS policy other than
    /// `Never`): only then is a TLS configuration built.
    pub fn wants_tls(&self) -> bool {
        self.config.implicit_tls || self.config.tls != mailwire::TlsPolicy::Never
    }

    /// The TLS configuration for this server when the session may use TLS
    /// ([`ClientOptions::wants_tls`]): built from [`ClientOptions::tls`], checked against
    /// [`ClientOptions::tls_name`] or else [`ClientOptions::host`]. `None` when TLS is never
    /// used, so that no file is read.
    ///
    /// # Errors
    /// The [`TlsConfigError`](crate::TlsConfigError) naming the file or name at fault.
    pub fn tls_setup(&self) -> Result<Option<crate::TlsSetup>, crate::TlsConfigError> {
        if !self.wants_tls() {
            return Ok(None);
        }
        let name = self.tls_name.as_deref().unwrap_or(&self.host);
        crate::TlsSetup::from_options(&self.tls, name).map(Some)
    }

    /// These options with the TLS configuration built once ([`TlsOptions::build`]), so that
    /// every connection made from clones of them shares it (a pool's connections). Options
    /// that never use TLS are returned as they are.
    ///
    /// # Errors
    /// The [`TlsConfigError`](crate::TlsConfigError) naming the file or name at fault.
    pub fn with_shared_tls(mut self) -> Result<ClientOptions, crate::TlsConfigError> {
        if let Some(setup) = self.tls_setup()? {
            self.tls = TlsOptions::with_client_config(std::sync::Arc::clone(setup.config()));
        }
        Ok(self)
    }
}
