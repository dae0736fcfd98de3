//! The options for connecting, one struct for both commands: the server, the EHLO name, the
//! timeouts, TLS and AUTH. Each command flattens [`ConnectArgs`] into its own arguments, so the
//! same flag means the same thing in both. [`RouteArgs`] (`-4`, `-6`, `--local-interface`,
//! `--socket`) is for the adapters that honour `ClientOptions`' family, local address and Unix
//! socket (`mailwire-blocking`, `mailwire-tokio`): `smtp-send` and the tokio example flatten
//! it; `smtp-bulk` (on `mailwire-mio`, TCP to one address) does not, so it refuses those flags
//! as unknown (64) rather than ignore them.

use crate::exit;
use crate::read_secret_file;
use clap::{Args, ValueEnum};
use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{AuthConfig, ClientName, Config, Protocol, Timeouts, TlsPolicy};
use mailwire_transport::{
    AddressFamily, ClientCertificate, ClientOptions, PipeCommand, ProxyHeader, ProxyVersion,
    TlsOptions,
};
use std::net::{IpAddr, SocketAddr};
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

/// The protocol spoken (`--protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// SMTP (RFC 5321): EHLO, one reply after the content.
    Smtp,
    /// LMTP (RFC 2033): LHLO, one reply per recipient after the content.
    Lmtp,
}

/// How to reach the server and what to say to it (shared by `smtp-send` and `smtp-bulk`).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// The server, HOST or HOST:PORT, an IPv6 address in square brackets. Default port 25, 465
    /// with --tls-on-connect, 24 with --protocol lmtp.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// SMTP, or LMTP (RFC 2033: LHLO, and one delivery reply per recipient).
    #[arg(long, value_enum, value_name = "PROTOCOL", default_value = "smtp")]
    pub protocol: ProtocolArg,
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

    /// STARTTLS policy. Default: required on port 587, implicit TLS on port 465, opportunistic
    /// otherwise.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        conflicts_with = "tls_on_connect",
        help_heading = "TLS"
    )]
    pub starttls: Option<StartTls>,
    /// Implicit TLS from the first byte (RFC 8314; default port 465). The default on port 465
    /// unless --starttls is given.
    #[arg(long, help_heading = "TLS")]
    pub tls_on_connect: bool,
    /// Trust only the CA certificates in this PEM file (instead of the web PKI roots).
    #[arg(long, value_name = "PEM", help_heading = "TLS")]
    pub ca_file: Option<PathBuf>,
    /// The name to verify the server's certificate against, and to send as SNI (default: the
    /// host in --server).
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    pub tls_name: Option<String>,
    /// Present this client certificate (PEM, the chain from the client's own certificate) to
    /// servers that ask for one; needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// Accept any certificate for any name: encrypted but NOT authenticated. Tests only.
    #[arg(long, help_heading = "TLS")]
    pub danger_accept_invalid_certs: bool,

    /// Authenticate as this user. The password comes from --auth-password-file or the
    /// SMTP_PASSWORD environment variable (or a token from --auth-oauth-token-file), never from
    /// the command line.
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
    /// A file holding an OAuth 2.0 access token (one trailing LF or CRLF is removed), for
    /// XOAUTH2 or OAUTHBEARER instead of a password.
    #[arg(
        long,
        value_name = "PATH",
        requires = "auth_user",
        conflicts_with = "auth_password_file",
        help_heading = "Authentication"
    )]
    pub auth_oauth_token_file: Option<PathBuf>,
    /// Allow only these SASL mechanisms (repeatable); default: the strongest both sides offer.
    #[arg(
        long = "auth-mech",
        value_name = "MECH",
        requires = "auth_user",
        help_heading = "Authentication"
    )]
    pub auth_mechs: Vec<String>,
    /// Allow PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER on a connection without TLS (they send the
    /// password or token readably).
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
    /// Which addresses of the host are tried ([`RouteArgs`]: `-4`, `-6`).
    pub family: AddressFamily,
    /// The local end to bind ([`RouteArgs`]: `--local-interface`).
    pub local_address: Option<SocketAddr>,
    /// A Unix-domain socket instead of TCP ([`RouteArgs`]: `--socket`).
    pub unix_socket: Option<PathBuf>,
    /// A PROXY protocol header to send first ([`RouteArgs`]: `--proxy-version`).
    pub proxy_header: Option<ProxyHeader>,
    /// A program to speak SMTP with instead ([`RouteArgs`]: `--pipe`).
    pub pipe: Option<PipeCommand>,
}

impl Connection {
    /// The adapters' options for this connection (`mailwire-blocking`, `mailwire-tokio`).
    pub fn into_client_options(self) -> ClientOptions {
        let mut options = ClientOptions::new(self.host, self.port, self.config.client_name.clone());
        options.config = self.config;
        options.tls = self.tls;
        options.tls_name = Some(self.tls_name);
        options.connect_timeout = self.connect_timeout;
        options.family = self.family;
        options.local_address = self.local_address;
        options.unix_socket = self.unix_socket;
        options.proxy_header = self.proxy_header;
        options.pipe = self.pipe;
        options
    }
}

/// Where the connection goes beyond `--server`: the address family, the local end, or a
/// Unix-domain socket instead of TCP. Only for commands on an adapter that honours them (see the
/// module's docs).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct RouteArgs {
    /// Use only the IPv4 addresses of the server's name.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use only the IPv6 addresses of the server's name.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Connect from this local address: ADDR, ADDR:PORT, or an IPv6 address in brackets
    /// with a port (an address of this host; no name). Only addresses of the server of its
    /// family are tried.
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub local_interface: Option<String>,
    /// Connect to this Unix-domain socket instead of TCP (typically with --protocol lmtp, where
    /// Dovecot and Cyrus listen). No STARTTLS unless --starttls or --tls-on-connect is given,
    /// which then needs --tls-name.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with_all = ["server", "ipv4", "ipv6", "local_interface"]
    )]
    pub socket: Option<PathBuf>,
    /// Speak SMTP with this command instead of a server (run by /bin/sh -c, its standard
    /// input and output the session): `exim -bs`, `sendmail -bs`, to test an MTA's
    /// configuration with no listener. No STARTTLS unless asked for, which then needs
    /// --tls-name.
    #[arg(
        long,
        value_name = "COMMAND",
        conflicts_with_all = [
            "server", "socket", "ipv4", "ipv6", "local_interface", "proxy_version"
        ]
    )]
    pub pipe: Option<String>,
    /// The PROXY protocol header.
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

/// `--proxy-version`, `--proxy-source`, `--proxy-dest`: a PROXY protocol header first on each
/// connection (`smtp-send` through [`RouteArgs`], `smtp-bulk` on its own).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct ProxyArgs {
    /// Send a PROXY protocol header (HAProxy's, version 1 or 2) first, before the greeting and
    /// before any TLS, as a proxy in front of the server would: the server then takes
    /// --proxy-source as the client's address.
    #[arg(long, value_name = "1|2", value_parser = ["1", "2"])]
    pub proxy_version: Option<String>,
    /// The client address the PROXY header announces, ADDR:PORT (an IPv6 address in
    /// brackets). Default: this connection's own local address.
    #[arg(long, value_name = "ADDR:PORT", requires = "proxy_version")]
    pub proxy_source: Option<String>,
    /// The destination the PROXY header announces, ADDR:PORT (an IPv6 address in brackets).
    /// Default: the server's address as connected.
    #[arg(long, value_name = "ADDR:PORT", requires = "proxy_version")]
    pub proxy_dest: Option<String>,
}

impl RouteArgs {
    /// [`ConnectArgs::connection`] with these options applied. With `--socket` no `--server`
    /// is needed (the host is `localhost`, the TLS name unless --tls-name says otherwise), and
    /// STARTTLS is off unless asked for, when --tls-name must say what the certificate names
    /// (64 otherwise). A malformed --local-interface is a usage error (64).
    pub fn connection(
        &self,
        connect: &ConnectArgs,
        server: Option<(String, u16)>,
    ) -> Result<Connection, CliError> {
        let local_address = self
            .local_interface
            .as_deref()
            .map(parse_local_interface)
            .transpose()?;
        let proxy_header = self.proxy.header(self.socket.is_some())?;
        let local = self.socket.is_some() || self.pipe.is_some();
        let server = server.or_else(|| local.then(|| ("localhost".into(), 0)));
        let mut connection = connect.connection(server)?;
        connection.family = match (self.ipv4, self.ipv6) {
            (true, _) => AddressFamily::V4,
            (_, true) => AddressFamily::V6,
            _ => AddressFamily::Any,
        };
        connection.local_address = local_address;
        connection.proxy_header = proxy_header;
        if local {
            let tls_asked = connect.starttls.is_some() || connect.tls_on_connect;
            let option = if self.pipe.is_some() {
                "--pipe"
            } else {
                "--socket"
            };
            if !tls_asked {
                // A local socket or program does not leave the host: no STARTTLS unless asked.
                connection.config.tls = TlsPolicy::Never;
                connection.config.implicit_tls = false;
            } else if connect.starttls != Some(StartTls::Never) && connect.tls_name.is_none() {
                return Err(CliError::new(
                    exit::USAGE,
                    format!(
                        "TLS over {option} needs --tls-name (the name the server's certificate \
                         has)"
                    ),
                ));
            }
        }
        connection.unix_socket = self.socket.clone();
        connection.pipe = self
            .pipe
            .as_ref()
            .map(|command| PipeCommand::new("/bin/sh", ["-c", command.as_str()]));
        Ok(connection)
    }
}

impl ProxyArgs {
    /// The header, or a usage error (64) for an address that is not ADDR:PORT, two given of
    /// two families, or over a Unix socket (`unix_socket`: its ends have no address) only one
    /// of the two.
    pub fn header(&self, unix_socket: bool) -> Result<Option<ProxyHeader>, CliError> {
        let Some(version) = &self.proxy_version else {
            return Ok(None);
        };
        let version = if version == "1" {
            ProxyVersion::V1
        } else {
            ProxyVersion::V2
        };
        let parse = |option: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    t.parse::<SocketAddr>().map_err(|_| {
                        CliError::new(
                            exit::USAGE,
                            format!("invalid {option} {t:?}: expected ADDR:PORT or [IPv6]:PORT"),
                        )
                    })
                })
                .transpose()
        };
        let header = ProxyHeader {
            version,
            source: parse("--proxy-source", &self.proxy_source)?,
            destination: parse("--proxy-dest", &self.proxy_dest)?,
        };
        if let (Some(source), Some(destination)) = (header.source, header.destination) {
            // The same check the adapter makes, before connecting.
            header.bytes(Some(source), Some(destination)).map_err(|e| {
                CliError::new(exit::USAGE, format!("--proxy-source/--proxy-dest: {e}"))
            })?;
        } else if unix_socket && (header.source.is_some() || header.destination.is_some()) {
            return Err(CliError::new(
                exit::USAGE,
                "over --socket the PROXY header needs both --proxy-source and --proxy-dest \
                 (or neither: it then says UNKNOWN / LOCAL)",
            ));
        }
        Ok(Some(header))
    }
}

/// `--local-interface`: `ADDR`, `ADDR:PORT`, `[v6]` or `[v6]:PORT` (port 0 when none: the
/// system picks).
pub fn parse_local_interface(s: &str) -> Result<SocketAddr, CliError> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 0))
        .map_err(|_| {
            CliError::new(
                exit::USAGE,
                format!("invalid --local-interface {s:?}: expected an address, ADDR:PORT or [IPv6]:PORT"),
            )
        })
}

impl ConnectArgs {
    /// The connection these options describe. `server` overrides `--server` (the demo's own
    /// address); without either the command line is incomplete (64).
    pub fn connection(&self, server: Option<(String, u16)>) -> Result<Connection, CliError> {
        let default_port = match (self.tls_on_connect, self.protocol) {
            (true, _) => 465,
            (false, ProtocolArg::Lmtp) => 24,
            (false, ProtocolArg::Smtp) => 25,
        };
        let (host, port) = match (server, &self.server) {
            (Some(s), _) => s,
            (None, Some(s)) => parse_server(s, default_port)?,
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
        config.protocol = match self.protocol {
            ProtocolArg::Smtp => Protocol::Smtp,
            ProtocolArg::Lmtp => Protocol::Lmtp,
        };
        // RFC 8314 3.3: port 465 is implicit TLS, unless --starttls says what to do instead.
        config.implicit_tls = self.tls_on_connect || (port == 465 && self.starttls.is_none());
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
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            tls.client_certificate = Some(ClientCertificate::new(cert, key));
        }
        // Fail before connecting (66) rather than at STARTTLS.
        for (what, path) in [
            ("CA file", &self.ca_file),
            ("client certificate", &self.tls_cert),
            ("client key", &self.tls_key),
        ] {
            if let Some(path) = path {
                std::fs::File::open(path).map_err(|e| {
                    CliError::new(
                        exit::NOINPUT,
                        format!("cannot read {what} {}: {e}", path.display()),
                    )
                })?;
            }
        }
        if let Some(user) = &self.auth_user {
            let credentials = match &self.auth_oauth_token_file {
                Some(path) => Credentials::OAuth2 {
                    username: user.clone(),
                    token: secret_file("token", path)?,
                },
                None => Credentials::Password {
                    username: user.clone(),
                    password: self.password()?,
                },
            };
            let mut auth = AuthConfig::new(credentials);
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
            family: AddressFamily::Any,
            local_address: None,
            unix_socket: None,
            proxy_header: None,
            pipe: None,
        })
    }

    /// The password: `--auth-password-file` less one trailing LF or CRLF, or `SMTP_PASSWORD`.
    fn password(&self) -> Result<mailwire::Secret<String>, CliError> {
        if let Some(path) = &self.auth_password_file {
            return secret_file("password", path);
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

/// A password or token file ([`read_secret_file`]): 66 when unreadable, 65 when not UTF-8.
fn secret_file(what: &str, path: &std::path::Path) -> Result<mailwire::Secret<String>, CliError> {
    read_secret_file(path).map_err(|e| {
        let code = match e {
            crate::SecretFileError::NotUtf8 => exit::DATAERR,
            _ => exit::NOINPUT,
        };
        CliError::new(code, format!("the {what} file {} {e}", path.display()))
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address; `default_port` when none
/// is given.
pub fn parse_server(s: &str, default_port: u16) -> Result<(String, u16), CliError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    #[derive(Parser)]
    struct RoutedArgs {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        route: RouteArgs,
    }

    fn routed(args: &[&str]) -> Result<Connection, CliError> {
        let args = RoutedArgs::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .map_err(|e| CliError::new(exit::USAGE, e.to_string()))?;
        args.route.connection(&args.connect, None)
    }

    #[test]
    fn family_and_local_interface() {
        let c = routed(&["--server", "mx.example", "-4"]).unwrap();
        assert_eq!(c.family, AddressFamily::V4);
        let c = routed(&["--server", "mx.example", "--ipv6"]).unwrap();
        assert_eq!(c.family, AddressFamily::V6);
        assert!(routed(&["--server", "mx.example", "-4", "-6"]).is_err());
        for (given, want) in [
            ("127.0.0.2", "127.0.0.2:0"),
            ("127.0.0.1:2500", "127.0.0.1:2500"),
            ("::1", "[::1]:0"),
            ("[::1]", "[::1]:0"),
            ("[::1]:2500", "[::1]:2500"),
        ] {
            let c = routed(&["--server", "mx.example", "--local-interface", given]).unwrap();
            assert_eq!(c.local_address, Some(want.parse().unwrap()), "{given}");
        }
        for bad in [
            "",
            "localhost",
            "127.0.0.1:x",
            "1.2.3.4.5",
            "127.0.0.1\r\nQUIT",
        ] {
            let e = routed(&["--server", "mx.example", "--local-interface", bad]).unwrap_err();
            assert_eq!(e.code, exit::USAGE, "{bad:?}: {}", e.message);
        }
        let c = routed(&["--server", "mx.example"]).unwrap();
        assert_eq!(
            (c.family, c.local_address, c.unix_socket),
            (AddressFamily::Any, None, None)
        );
    }

    /// --socket: no --server needed, no STARTTLS unless asked for, and then a --tls-name.
    #[test]
    fn unix_socket_rules() {
        let c = routed(&["--socket", "/run/lmtp", "--protocol", "lmtp"]).unwrap();
        assert_eq!(
            c.unix_socket.as_deref(),
            Some(std::path::Path::new("/run/lmtp"))
        );
        assert_eq!(
            (c.config.tls, c.config.implicit_tls),
            (TlsPolicy::Never, false)
        );
        let c = routed(&["--socket", "/run/lmtp", "--starttls", "never"]).unwrap();
        assert_eq!(c.config.tls, TlsPolicy::Never);
        for tls in [&["--starttls", "required"][..], &["--tls-on-connect"]] {
            let mut args = vec!["--socket", "/run/lmtp"];
            args.extend_from_slice(tls);
            assert_eq!(routed(&args).unwrap_err().code, exit::USAGE, "{tls:?}");
            args.extend_from_slice(&["--tls-name", "lmtp.example"]);
            let c = routed(&args).unwrap();
            assert_eq!(c.tls_name, "lmtp.example");
        }
        for conflict in [
            &["--server", "x"][..],
            &["-4"],
            &["-6"],
            &["--local-interface", "127.0.0.1"],
        ] {
            let mut args = vec!["--socket", "/run/lmtp"];
            args.extend_from_slice(conflict);
            assert!(routed(&args).is_err(), "{conflict:?}");
        }
        let options = routed(&["--socket", "/run/lmtp"])
            .unwrap()
            .into_client_options();
        assert_eq!(options.server(), "unix:/run/lmtp");
        assert!(!options.wants_tls());
    }

    fn connection(args: &[&str]) -> Connection {
        let args = Args::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .expect("valid arguments");
        args.connect.connection(None).expect("a connection")
    }

    /// RFC 8314 3.3: port 465 is implicit TLS unless --starttls says otherwise; 587 requires
    /// STARTTLS; elsewhere it is opportunistic.
    #[test]
    fn tls_defaults_by_port() {
        let c = connection(&["--server", "mx.example:465"]);
        assert!(c.config.implicit_tls);
        let c = connection(&["--server", "mx.example:465", "--starttls", "required"]);
        assert!(!c.config.implicit_tls);
        assert_eq!(c.config.tls, TlsPolicy::Required);
        let c = connection(&["--server", "mx.example:587"]);
        assert!(!c.config.implicit_tls);
        assert_eq!(c.config.tls, TlsPolicy::Required);
        let c = connection(&["--server", "mx.example"]);
        assert_eq!((c.port, c.config.implicit_tls), (25, false));
        assert_eq!(c.config.tls, TlsPolicy::Opportunistic);
        let c = connection(&["--server", "mx.example", "--tls-on-connect"]);
        assert_eq!((c.port, c.config.implicit_tls), (465, true));
    }

    /// LMTP (RFC 2033) has no assigned port; 24 is the usual one (swaks' too).
    #[test]
    fn lmtp_protocol_and_default_port() {
        let c = connection(&["--server", "lda.example", "--protocol", "lmtp"]);
        assert_eq!((c.port, c.config.protocol), (24, Protocol::Lmtp));
        let c = connection(&["--server", "lda.example:2003", "--protocol", "lmtp"]);
        assert_eq!(c.port, 2003);
        let c = connection(&["--server", "mx.example"]);
        assert_eq!(c.config.protocol, Protocol::Smtp);
    }

    #[test]
    fn client_certificate_needs_both_files() {
        assert!(Args::try_parse_from(["t", "--server", "x", "--tls-cert", "c.pem"]).is_err());
        assert!(Args::try_parse_from(["t", "--server", "x", "--tls-key", "k.pem"]).is_err());
        let args = Args::try_parse_from([
            "t",
            "--server",
            "x",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .unwrap();
        let e = args.connect.connection(None).unwrap_err();
        assert_eq!(e.code, exit::NOINPUT, "{}", e.message);
    }

    #[test]
    fn oauth_token_file_gives_oauth2_credentials() {
        let dir = std::env::temp_dir().join(format!("mailwire-cli-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "tok-123\n").unwrap();
        let c = connection(&[
            "--server",
            "x",
            "--auth-user",
            "u@example.org",
            "--auth-oauth-token-file",
            path.to_str().unwrap(),
        ]);
        match &c.config.auth.as_ref().unwrap().credentials {
            Credentials::OAuth2 { username, token } => {
                assert_eq!(
                    (username.as_str(), token.expose().as_str()),
                    ("u@example.org", "tok-123")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(Args::try_parse_from([
            "t",
            "--server",
            "x",
            "--auth-user",
            "u",
            "--auth-oauth-token-file",
            "t",
            "--auth-password-file",
            "p"
        ])
        .is_err());
    }
}
