//! [`ClientOptions`]: where to connect and how, the same for every adapter.

use crate::TlsOptions;
use mailwire::proxy::{ProxyEndpoints, ProxyVersion};
use mailwire::{ClientName, Config};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Which of the addresses the server's name resolves to are tried ([`ClientOptions::family`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressFamily {
    /// Every address, in the order the resolver gave them (the default).
    #[default]
    Any,
    /// IPv4 addresses only (swaks' `-4`).
    V4,
    /// IPv6 addresses only (swaks' `-6`).
    V6,
}

impl AddressFamily {
    /// Whether `addr` is of this family.
    pub fn admits(self, addr: &SocketAddr) -> bool {
        match self {
            AddressFamily::Any => true,
            AddressFamily::V4 => addr.is_ipv4(),
            AddressFamily::V6 => addr.is_ipv6(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            AddressFamily::Any => "",
            AddressFamily::V4 => "IPv4 ",
            AddressFamily::V6 => "IPv6 ",
        }
    }
}

/// Where to connect, and the session's configuration: what `Client::connect` takes in every
/// adapter (`mailwire-blocking`, `mailwire-tokio`), and what their pools are built from.
///
/// The session itself (client name, STARTTLS policy, implicit TLS, credentials, per-stage
/// timeouts, transcript) is configured in [`ClientOptions::config`], an [`mailwire::Config`].
///
/// How the connection is made: over TCP to every address `host` resolves to, in turn (those of
/// [`ClientOptions::family`] only, from [`ClientOptions::local_address`] when set), or to the
/// Unix-domain socket [`ClientOptions::unix_socket`] instead. `mailwire-blocking` and
/// `mailwire-tokio` honour every field; `mailwire-mio` takes a `SocketAddr` of its own and none
/// of these.
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
    /// Which of the addresses `host` resolves to are tried: all (the default), IPv4 only, or
    /// IPv6 only. An address literal of the other family leaves none, and connecting fails
    /// ([`crate::Error::Connect`], "no IPv6 address"). TCP only.
    pub family: AddressFamily,
    /// The local end to bind before connecting (a source address of this host; port 0: one
    /// the system picks). Only addresses of its family are tried. Default `None`: the
    /// system's choice. TCP only.
    pub local_address: Option<SocketAddr>,
    /// Connect to this Unix-domain socket instead of TCP (LMTP to a local delivery agent such
    /// as Dovecot or Cyrus, which listen on one). `host` and `port` are then not used to
    /// connect: `host` is still the TLS name unless [`ClientOptions::tls_name`] is set, and
    /// messages name the socket as `unix:PATH`. With [`ClientOptions::family`] other than
    /// `Any` or a [`ClientOptions::local_address`], connecting is refused
    /// ([`crate::Error::Connect`] of kind `InvalidInput`): they are TCP's. Only on Unix.
    pub unix_socket: Option<PathBuf>,
    /// A PROXY protocol header ([`ProxyHeader`]) to write first, before the greeting is read
    /// and before any TLS handshake: for a server behind a proxy that expects one, or to test
    /// one. Default `None`: nothing before SMTP.
    pub proxy_header: Option<ProxyHeader>,
    /// Speak SMTP with a program on this host instead of connecting ([`PipeCommand`]: `exim
    /// -bs`, `sendmail -bs`, any MTA's "SMTP on standard input" mode), to test its
    /// configuration with no listener. `mailwire-blocking` and `mailwire-tokio`; with
    /// [`ClientOptions::unix_socket`], [`ClientOptions::family`] other than `Any`,
    /// [`ClientOptions::local_address`] or [`ClientOptions::proxy_header`], connecting is refused
    /// ([`crate::Error::Connect`] of kind `InvalidInput`). Only on Unix.
    pub pipe: Option<PipeCommand>,
}

/// A program to speak SMTP with ([`ClientOptions::pipe`]): started with its standard input and
/// output joined to one end of a Unix-domain socket pair (so reads and writes have the
/// timeouts of a connection's), its standard error the caller's. When the session ends the
/// socket is closed and the program is given [`PipeCommand::exit_wait`] to exit before it is
/// killed; it is always waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipeCommand {
    /// The program, found in `PATH` when it has no `/`.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<std::ffi::OsString>,
    /// How long it may take to exit once its input is closed. Default 5 s.
    pub exit_wait: Duration,
}

#[cfg(unix)]
impl PipeCommand {
    /// Starts the program with its standard input and output on one end of a new Unix-domain
    /// socket pair, its standard error ours; gives back the other end and the child. What
    /// both adapters do for [`ClientOptions::pipe`].
    pub fn spawn(&self) -> io::Result<(std::os::unix::net::UnixStream, std::process::Child)> {
        use std::os::fd::OwnedFd;
        use std::process::{Command, Stdio};
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let theirs_too = theirs.try_clone()?;
        // `cmd` holds the program's ends until it is dropped at the end of this function, so
        // that only the program has them: its exit is then our end's EOF.
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_too)))
            .stderr(Stdio::inherit());
        let child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", self.program.display()),
            )
        })?;
        Ok((ours, child))
    }

    /// Waits up to `wait` for `child` (started by [`PipeCommand::spawn`], its input closed) to
    /// exit, then kills it; either way waits for it, so no zombie is left. Blocks the caller. A
    /// `wait` too long for the clock to count (`Duration::MAX`) waits for as long as it takes.
    pub fn reap(child: &mut std::process::Child, wait: Duration) {
        let deadline = std::time::Instant::now().checked_add(wait);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    log::debug!("the program exited: {status}");
                    return;
                }
                Ok(None) if deadline.is_none_or(|d| std::time::Instant::now() < d) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break,
            }
        }
        log::info!("the program did not exit in {wait:?}: killed");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl PipeCommand {
    /// `program` with `args`.
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
    ) -> PipeCommand {
        PipeCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            exit_wait: Duration::from_secs(5),
        }
    }
}

/// The PROXY protocol header an adapter writes right after connecting
/// ([`ClientOptions::proxy_header`]; the encoding is [`mailwire::proxy`]'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyHeader {
    /// Version 1 (a text line) or 2 (binary).
    pub version: ProxyVersion,
    /// The original client's address to announce. `None`: this connection's own local
    /// address.
    pub source: Option<SocketAddr>,
    /// The address the original client reached. `None`: the server's address as connected.
    pub destination: Option<SocketAddr>,
}

impl ProxyHeader {
    /// A header of `version` that announces this connection's own two ends.
    pub fn new(version: ProxyVersion) -> ProxyHeader {
        ProxyHeader {
            version,
            source: None,
            destination: None,
        }
    }

    /// The header for a connection from `local` to `peer` (both `None` over a Unix-domain
    /// socket): the given addresses where set, else the connection's. A connection without
    /// addresses and no given pair says UNKNOWN (version 1) or LOCAL (version 2). Two ends of
    /// two families are [`mailwire::ConfigError::ProxyHeader`].
    pub fn bytes(
        &self,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    ) -> Result<Vec<u8>, crate::Error> {
        self.encode_for(local, peer).map_err(|e| {
            crate::Error::Usage(mailwire::UsageError::Config(
                mailwire::ConfigError::ProxyHeader(e),
            ))
        })
    }

    /// [`ProxyHeader::bytes`] with the encoder's own error (for an adapter whose errors are
    /// not [`crate::Error`], such as `mailwire-mio`'s).
    pub fn encode_for(
        &self,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    ) -> Result<Vec<u8>, mailwire::proxy::ProxyError> {
        let endpoints = match (self.source.or(local), self.destination.or(peer)) {
            (Some(source), Some(destination)) => ProxyEndpoints::Tcp {
                source,
                destination,
            },
            _ => ProxyEndpoints::Unknown,
        };
        let mut out = Vec::with_capacity(108);
        mailwire::proxy::encode(self.version, endpoints, &mut out)?;
        Ok(out)
    }

    /// The header `bytes` (from [`ProxyHeader::bytes`]) for a log line: a version 1 line as it
    /// is, without its CRLF; version 2 as `version 2, N octets`.
    pub fn describe(bytes: &[u8]) -> String {
        match bytes.strip_prefix(b"PROXY ") {
            Some(_) => String::from_utf8_lossy(bytes).trim_end().to_string(),
            None => format!("version 2, {} octets", bytes.len()),
        }
    }
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
            family: AddressFamily::Any,
            local_address: None,
            unix_socket: None,
            proxy_header: None,
            pipe: None,
        }
    }

    /// Options for the Unix-domain socket at `path` ([`ClientOptions::unix_socket`]), saying
    /// `client_name` in EHLO (LHLO with [`mailwire::Protocol::Lmtp`]). The socket never leaves
    /// this host, so STARTTLS is off ([`mailwire::TlsPolicy::Never`]); to use TLS over it, set
    /// the policy and [`ClientOptions::tls_name`], the name the certificate must have (`host`
    /// is `localhost`, port 0).
    pub fn unix(path: impl Into<PathBuf>, client_name: ClientName) -> ClientOptions {
        let mut options = ClientOptions::new("localhost", 0, client_name);
        options.config.tls = mailwire::TlsPolicy::Never;
        options.unix_socket = Some(path.into());
        options
    }

    /// `host:port` as given (`unix:PATH` for a Unix-domain socket, `pipe:PROGRAM ARGS…` for a
    /// program), for messages.
    pub fn server(&self) -> String {
        if let Some(pipe) = &self.pipe {
            let mut words = vec![pipe.program.display().to_string()];
            words.extend(pipe.args.iter().map(|a| a.to_string_lossy().into_owned()));
            return format!("pipe:{}", words.join(" "));
        }
        match &self.unix_socket {
            Some(path) => format!("unix:{}", path.display()),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// The addresses to try, in order: those of `resolved` (what `host:port` resolved to) of
    /// [`ClientOptions::family`], and of the [`ClientOptions::local_address`]'s family when one
    /// is set. Every adapter connects through this, so that the options mean the same in each.
    ///
    /// # Errors
    /// [`crate::Error::Connect`] (of kind `NotFound`) when none is left, saying which family was
    /// wanted; of kind `InvalidInput` when the options also name a Unix socket.
    pub fn tcp_addresses(
        &self,
        resolved: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, crate::Error> {
        self.check_route()?;
        let local = self.local_address;
        let addresses: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|a| self.family.admits(a))
            .filter(|a| local.is_none_or(|l| l.is_ipv4() == a.is_ipv4()))
            .collect();
        if addresses.is_empty() {
            let family = match (self.family, local) {
                (AddressFamily::Any, Some(l)) if l.is_ipv4() => AddressFamily::V4,
                (AddressFamily::Any, Some(_)) => AddressFamily::V6,
                (family, _) => family,
            };
            let why = format!("{} has no {}address", self.host, family.name());
            return Err(self.connect_error(io::Error::new(io::ErrorKind::NotFound, why)));
        }
        Ok(addresses)
    }

    /// Refuses TCP's options with a Unix socket ([`ClientOptions::unix_socket`]), and any other
    /// route with a program ([`ClientOptions::pipe`]).
    ///
    /// # Errors
    /// [`crate::Error::Connect`] of kind `InvalidInput`.
    pub fn check_route(&self) -> Result<(), crate::Error> {
        if self.pipe.is_some()
            && (self.unix_socket.is_some()
                || self.family != AddressFamily::Any
                || self.local_address.is_some()
                || self.proxy_header.is_some())
        {
            let why = "a program to speak SMTP with takes no socket, address family, local \
                       address or PROXY header";
            return Err(self.connect_error(io::Error::new(io::ErrorKind::InvalidInput, why)));
        }
        if self.unix_socket.is_some()
            && (self.family != AddressFamily::Any || self.local_address.is_some())
        {
            let why = "an address family or a local address applies to TCP, not a Unix socket";
            return Err(self.connect_error(io::Error::new(io::ErrorKind::InvalidInput, why)));
        }
        Ok(())
    }

    /// The error for a local end ([`ClientOptions::local_address`]) that cannot be bound,
    /// naming it (the adapters wrap it in [`ClientOptions::connect_error`]).
    pub fn bind_error(local: SocketAddr, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("cannot bind the local address {local}: {e}"),
        )
    }

    /// [`crate::Error::Connect`] for this server.
    pub fn connect_error(&self, source: io::Error) -> crate::Error {
        crate::Error::Connect {
            server: self.server(),
            source: std::sync::Arc::new(source),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ClientOptions {
        ClientOptions::new(
            "mx.example",
            25,
            ClientName::parse("client.example").unwrap(),
        )
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    const MIXED: &[&str] = &[
        "[::1]:25",
        "127.0.0.1:25",
        "[2001:db8::1]:25",
        "192.0.2.1:25",
    ];

    #[test]
    fn family_filters_and_keeps_the_order() {
        let mut o = options();
        assert_eq!(o.tcp_addresses(addrs(MIXED)).unwrap(), addrs(MIXED));
        o.family = AddressFamily::V4;
        assert_eq!(
            o.tcp_addresses(addrs(MIXED)).unwrap(),
            addrs(&["127.0.0.1:25", "192.0.2.1:25"])
        );
        o.family = AddressFamily::V6;
        assert_eq!(
            o.tcp_addresses(addrs(MIXED)).unwrap(),
            addrs(&["[::1]:25", "[2001:db8::1]:25"])
        );
    }

    #[test]
    fn local_address_keeps_its_family() {
        let mut o = options();
        o.local_address = Some("127.0.0.2:0".parse().unwrap());
        assert_eq!(
            o.tcp_addresses(addrs(MIXED)).unwrap(),
            addrs(&["127.0.0.1:25", "192.0.2.1:25"])
        );
        o.family = AddressFamily::V6;
        let e = o.tcp_addresses(addrs(MIXED)).unwrap_err();
        assert!(e.to_string().contains("no IPv6 address"), "{e}");
    }

    #[test]
    fn none_left_says_which_family() {
        let mut o = options();
        o.family = AddressFamily::V6;
        let e = o.tcp_addresses(addrs(&["127.0.0.1:25"])).unwrap_err();
        let crate::Error::Connect { server, source } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(server, "mx.example:25");
        assert_eq!(source.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "cannot connect to mx.example:25: mx.example has no IPv6 address"
        );
        o.family = AddressFamily::Any;
        let e = o.tcp_addresses(Vec::new()).unwrap_err();
        assert!(e.to_string().ends_with("mx.example has no address"), "{e}");
        assert!(e.is_transient(), "a failed connect is temporary");
    }

    #[test]
    fn unix_socket_options() {
        let o = ClientOptions::unix("/run/dovecot/lmtp", ClientName::parse("c.example").unwrap());
        assert_eq!(o.server(), "unix:/run/dovecot/lmtp");
        assert_eq!(o.config.tls, mailwire::TlsPolicy::Never);
        assert!(
            !o.wants_tls(),
            "no TLS configuration is built for a local socket"
        );
        assert!(o.check_route().is_ok());
        for change in [
            |o: &mut ClientOptions| o.family = AddressFamily::V4,
            |o: &mut ClientOptions| o.local_address = Some("127.0.0.1:0".parse().unwrap()),
        ] {
            let mut o = o.clone();
            change(&mut o);
            let e = o.check_route().unwrap_err();
            let crate::Error::Connect { source, .. } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(source.kind(), io::ErrorKind::InvalidInput, "{e}");
            assert!(o.tcp_addresses(addrs(MIXED)).is_err());
        }
    }

    /// `reap` with any wait: one the clock cannot add (`Duration::MAX`) waits for the exit
    /// instead of overflowing; a zero wait kills a program still running; both reap it.
    #[cfg(unix)]
    #[test]
    fn reap_takes_any_wait() {
        let quick = PipeCommand::new("sh", ["-c", "exit 3"]);
        let (_ours, mut child) = quick.spawn().unwrap();
        PipeCommand::reap(&mut child, Duration::MAX);
        assert_eq!(child.try_wait().unwrap().and_then(|s| s.code()), Some(3));
        let slow = PipeCommand::new("sleep", ["30"]);
        let (_ours, mut child) = slow.spawn().unwrap();
        PipeCommand::reap(&mut child, Duration::ZERO);
        let status = child.try_wait().unwrap().expect("reaped");
        assert!(!status.success(), "killed: {status}");
    }
}
