//! The options for connecting, one struct for both commands: the server, the EHLO name, the
//! timeouts, TLS and AUTH. Each command flattens [`ConnectArgs`] into its own arguments, so the
//! same flag means the same thing in both.

use crate::exit;
use crate::read_secret_file;
use clap::{Args, ValueEnum};
use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{AuthConfig, ClientName, Config, Timeouts, TlsPolicy};
use mailwire_transport::TlsOptions;
use std::path::PathBuf;
use std::time::Duration;

/// A command-line failure before anything is sent: its exit status and what to print.
#[derive(Debug)]
pub struct CliError {
    /// The exit status ([`crate::exit`]).
    pub code: u8,
    /// The message, for stderr.
    pub message: String,
}

impl CliError {
    /// A failure with this status.
    pub fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }
}

/// STARTTLS policy (RFC 3207).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StartTls {
    /// Never send STARTTLS.
    Never,
    /// STARTTLS when offered; plaintext otherwise.
    Opportunistic,
    /// STARTTLS must succeed before AUTH or MAIL.
    Required,
}

/// How to reach the server and what to say to it (shared by `smtp-send` and `smtp-bulk`).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// The server, HOST or HOST:PORT, an IPv6 address in square brackets. Default port 25, or 465 with
    /// --tls-on-connect.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// The EHLO name (default: this host's name when it is a domain with a dot, else
    /// localhost).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// Bounds each connection attempt and the wait for each complete reply, in seconds
    /// (default: RFC 5321's per-stage timeouts).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: Option<u64>,
    /// Do not pipeline even when the server offers PIPELINING (RFC 2920).
    #[arg(long)]
    pub no_pipelining: bool,
    /// Do not use BDAT even when the server offers CHUNKING (RFC 3030).
    #[arg(long)]
    pub no_chunking: bool,

    /// STARTTLS policy. Default: required on port 587, opportunistic otherwise.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        conflicts_with = "tls_on_connect",
        help_heading = "TLS"
    )]
    pub starttls: Option<StartTls>,
    /// Implicit TLS from the first byte (RFC 8314; default port 465).
    #[arg(long, help_heading = "TLS")]
    pub tls_on_connect: bool,
    /// Trust only the CA certificates in this PEM file (instead of the web PKI roots).
    #[arg(long, value_name = "PEM", help_heading = "TLS")]
    pub ca_file: Option<PathBuf>,
    /// The name to verify the server's certificate against, and to send as SNI (default: the
    /// host in --server).
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    pub tls_name: Option<String>,
    /// Accept any certificate for any name: encrypted but NOT authenticated. Tests only.
    #[arg(long, help_heading = "TLS")]
    pub danger_accept_invalid_certs: bool,

    /// Authenticate as this user. The password comes from --auth-password-file or the
    /// SMTP_PASSWORD environment variable, never from the command line.
    #[arg(long, value_name = "USER", help_heading = "Authentication")]
    pub auth_user: Option<String>,
    /// A file holding the password (one trailing LF or CRLF is removed).
    #[arg(
        long,
        value_name = "PATH",
        requires = "auth_user",
        help_heading = "Authentication"
    )]
    pub auth_password_file: Option<PathBuf>,
    /// Allow only these SASL mechanisms (repeatable); default: the strongest both sides offer.
    #[arg(
        long = "auth-mech",
        value_name = "MECH",
        requires = "auth_user",
        help_heading = "Authentication"
    )]
    pub auth_mechs: Vec<String>,
    /// Allow PLAIN and LOGIN on a connection without TLS (they send the password readably).
    #[arg(long, requires = "auth_user", help_heading = "Authentication")]
    pub auth_plaintext_ok: bool,
}

/// Where to connect and the session to run there, from [`ConnectArgs`].
#[derive(Debug)]
pub struct Connection {
    /// The host, as given (a name or an address, brackets removed).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The session's configuration.
    pub config: Config,
    /// Certificate verification.
    pub tls: TlsOptions,
    /// The name the certificate is checked against (and SNI).
    pub tls_name: String,
    /// The bound on each connection attempt.
    pub connect_timeout: Duration,
}

impl ConnectArgs {
    /// The connection these options describe. `server` overrides `--server` (the demo's own
    /// address); without either the command line is incomplete (64).
    pub fn connection(&self, server: Option<(String, u16)>) -> Result<Connection, CliError> {
        let (host, port) = match (server, &self.server) {
            (Some(s), _) => s,
            (None, Some(s)) => parse_server(s, self.tls_on_connect)?,
            (None, None) => return Err(CliError::new(exit::USAGE, "--server is required")),
        };
        let helo = match &self.helo {
            Some(name) => ClientName::parse(name).map_err(|e| {
                CliError::new(exit::DATAERR, format!("invalid --helo name {name:?}: {e}"))
            })?,
            None => default_client_name(),
        };
        let mut config = Config::new(helo);
        let mut connect_timeout = Duration::from_secs(30);
        if let Some(secs) = self.timeout {
            config.timeouts = Timeouts::uniform(Duration::from_secs(secs));
            connect_timeout = Duration::from_secs(secs);
        }
        config.pipelining = !self.no_pipelining;
        config.chunking = !self.no_chunking;
        config.implicit_tls = self.tls_on_connect;
        config.tls = match self.starttls {
            Some(StartTls::Never) => TlsPolicy::Never,
            Some(StartTls::Opportunistic) => TlsPolicy::Opportunistic,
            Some(StartTls::Required) => TlsPolicy::Required,
            None if port == 587 => TlsPolicy::Required,
            None => TlsPolicy::Opportunistic,
        };
        let mut tls = TlsOptions::default();
        tls.ca_file = self.ca_file.clone();
        tls.danger_accept_invalid_certs = self.danger_accept_invalid_certs;
        if let Some(path) = &self.ca_file {
            // Fail before connecting (66) rather than at STARTTLS.
            std::fs::File::open(path).map_err(|e| {
                CliError::new(
                    exit::NOINPUT,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?;
        }
        if let Some(user) = &self.auth_user {
            let mut auth = AuthConfig::new(Credentials::Password {
                username: user.clone(),
                password: self.password()?,
            });
            auth.mechanisms = self
                .auth_mechs
                .iter()
                .map(|m| Mechanism::parse(m))
                .collect();
            auth.allow_plaintext = self.auth_plaintext_ok;
            config.auth = Some(auth);
        }
        let tls_name = self.tls_name.clone().unwrap_or_else(|| host.clone());
        Ok(Connection {
            host,
            port,
            config,
            tls,
            tls_name,
            connect_timeout,
        })
    }

    /// The password: `--auth-password-file` less one trailing LF or CRLF, or `SMTP_PASSWORD`.
    fn password(&self) -> Result<mailwire::Secret<String>, CliError> {
        if let Some(path) = &self.auth_password_file {
            return read_secret_file(path).map_err(|e| {
                let code = match e {
                    crate::SecretFileError::NotUtf8 => exit::DATAERR,
                    _ => exit::NOINPUT,
                };
                CliError::new(code, format!("the password file {} {e}", path.display()))
            });
        }
        match std::env::var("SMTP_PASSWORD") {
            Ok(p) => Ok(mailwire::Secret::new(p)),
            Err(_) => Err(CliError::new(
                exit::USAGE,
                "--auth-user needs --auth-password-file or SMTP_PASSWORD",
            )),
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
pub fn parse_server(s: &str, implicit_tls: bool) -> Result<(String, u16), CliError> {
    let default_port = if implicit_tls { 465 } else { 25 };
    let bad = || {
        CliError::new(
            exit::USAGE,
            format!("invalid --server {s:?}: expected HOST[:PORT]"),
        )
    };
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad()),
        }
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || host.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

/// This host's name when it is a domain with a dot, else `localhost`.
pub fn default_client_name() -> ClientName {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    ClientName::parse(&host)
        .ok()
        .filter(|_| host.contains('.'))
        .or_else(|| ClientName::parse("localhost").ok())
        .unwrap_or_else(|| ClientName::parse("[127.0.0.1]").expect("a valid address literal"))
}
