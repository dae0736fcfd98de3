//! [`TlsSetup`]: one server's TLS: the shared client configuration and the name to verify.

use super::error::TlsConfigError;
use super::options::TlsOptions;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use std::sync::Arc;

/// What an adapter needs to start TLS with one server: the rustls client configuration and the
/// server name (sent as SNI, checked against the certificate).
///
/// Make one per server and clone it for every connection: a clone shares the configuration
/// (an `Arc`), so a pool of connections to one server uses one configuration, and a TLS
/// session cache kept in it would serve them all.
#[derive(Clone, Debug)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsSetup {
    /// Uses the caller's configuration and name as they are.
    pub fn new(config: Arc<ClientConfig>, server_name: ServerName<'static>) -> TlsSetup {
        TlsSetup {
            config,
            server_name,
        }
    }

    /// Builds the configuration from `options` ([`TlsOptions::build`]) and parses
    /// `server_name` ([`parse_server_name`]).
    ///
    /// # Errors
    /// The name is checked first: a [`TlsConfigError::InvalidServerName`] costs no file read.
    pub fn from_options(
        options: &TlsOptions,
        server_name: &str,
    ) -> Result<TlsSetup, TlsConfigError> {
        let server_name = parse_server_name(server_name)?;
        Ok(TlsSetup {
            config: options.build()?,
            server_name,
        })
    }

    /// The shared configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// The name the certificate is checked against.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// A new client connection to this server, sharing the configuration, its handshake not
    /// started. The adapter moves its bytes.
    ///
    /// # Errors
    /// What rustls says when it cannot start a connection with this configuration (a caller's
    /// `client_config` with no usable cipher suite, for one).
    pub fn connection(&self) -> Result<ClientConnection, rustls::Error> {
        ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())
    }
}

/// The TLS server name for a host as a user writes it: a DNS name (`mx.example.org`), an IPv4
/// address, or an IPv6 address with or without brackets (`[2001:db8::1]`, as in a URL or
/// `host:port`). An IP address is checked against the certificate's IP address SANs and not
/// sent as SNI (RFC 6066 3 allows host names only); rustls does both.
///
/// # Errors
/// [`TlsConfigError::InvalidServerName`] with the name as given.
pub fn parse_server_name(name: &str) -> Result<ServerName<'static>, TlsConfigError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_owned()).map_err(|_| TlsConfigError::InvalidServerName {
        name: name.to_owned(),
    })
}
