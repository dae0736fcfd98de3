//! The connection: TCP (or a Unix-domain socket), then possibly TLS (configured by
//! `mailwire-transport`).

use mailwire_transport::{ClientOptions, Error, TlsError, TlsSetup};
use rustls::ClientConnection;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the session's bytes travel over: a TCP connection, or a Unix-domain socket
/// ([`ClientOptions::unix_socket`]).
pub(crate) enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// A program's standard input and output ([`ClientOptions::pipe`]).
    #[cfg(unix)]
    Pipe(crate::pipe::Piped),
}

impl Socket {
    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_read_timeout(d),
            #[cfg(unix)]
            Socket::Unix(s) => s.set_read_timeout(d),
            #[cfg(unix)]
            Socket::Pipe(s) => s.set_read_timeout(d),
        }
    }

    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_write_timeout(d),
            #[cfg(unix)]
            Socket::Unix(s) => s.set_write_timeout(d),
            #[cfg(unix)]
            Socket::Pipe(s) => s.set_write_timeout(d),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown(how),
            #[cfg(unix)]
            Socket::Pipe(s) => s.shutdown(how),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.read(buf),
            #[cfg(unix)]
            Socket::Pipe(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.write(buf),
            #[cfg(unix)]
            Socket::Pipe(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Socket::Unix(s) => s.flush(),
            #[cfg(unix)]
            Socket::Pipe(s) => s.flush(),
        }
    }
}

/// A connection, plain or wrapped in TLS.
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<rustls::StreamOwned<ClientConnection, Socket>>),
    /// Only while upgrading, or after a failed upgrade.
    Gone,
}

impl Stream {
    fn socket(&self) -> Option<&Socket> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(&s.sock),
            Stream::Gone => None,
        }
    }

    pub(crate) fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        match self.socket() {
            // A zero timeout means "none" to the OS: never pass it.
            Some(s) => s.set_read_timeout(Some(d.max(Duration::from_millis(1)))),
            None => Err(gone()),
        }
    }

    /// Closes both directions (used to abandon a message mid-content).
    pub(crate) fn shutdown(&self) {
        if let Some(s) = self.socket() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Wraps the TCP connection in TLS and completes the handshake before `deadline`.
    pub(crate) fn upgrade(&mut self, setup: &TlsSetup, deadline: Instant) -> Result<(), TlsError> {
        let Stream::Plain(mut sock) = std::mem::replace(self, Stream::Gone) else {
            return Err(TlsError::Io(Arc::new(gone())));
        };
        let mut conn = setup.connection().map_err(TlsError::Rustls)?;
        while conn.is_handshaking() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(TlsError::HandshakeTimeout);
            }
            sock.set_read_timeout(Some(remaining))
                .map_err(|e| TlsError::Io(Arc::new(e)))?;
            match conn.complete_io(&mut sock) {
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TlsError::from_io(e)),
            }
        }
        // The last flight of the handshake (client Finished) may still be queued.
        while conn.wants_write() {
            match conn.write_tls(&mut sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TlsError::from_io(e)),
            }
        }
        log::info!(
            "TLS established ({})",
            mailwire_transport::negotiated(&conn)
        );
        *self = Stream::Tls(Box::new(rustls::StreamOwned::new(conn, sock)));
        Ok(())
    }

    /// Sends TLS close_notify, if TLS is on.
    pub(crate) fn close_notify(&mut self) {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.conn.write_tls(&mut s.sock);
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection already closed")
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Gone => Err(gone()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Gone => Err(gone()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Gone => Err(gone()),
        }
    }
}

/// Connects as the options say: to the Unix-domain socket when one is given, else over TCP
/// ([`connect_tcp`]).
pub(crate) fn connect(options: &ClientOptions) -> Result<Socket, Error> {
    options.check_route()?;
    let mut socket = match (&options.pipe, &options.unix_socket) {
        (Some(command), _) => start_pipe(options, command)?,
        (None, Some(path)) => connect_unix(options, path)?,
        (None, None) => Socket::Tcp(connect_tcp(options)?),
    };
    if let Some(header) = &options.proxy_header {
        // First on the bare connection: before the greeting, before any TLS.
        let (local, peer) = match &socket {
            Socket::Tcp(s) => (s.local_addr().ok(), s.peer_addr().ok()),
            #[cfg(unix)]
            Socket::Unix(_) | Socket::Pipe(_) => (None, None),
        };
        let bytes = header.bytes(local, peer)?;
        socket
            .set_write_timeout(Some(options.connect_timeout))
            .and_then(|()| socket.write_all(&bytes))
            .map_err(|e| options.connect_error(e))?;
        log::info!(
            "PROXY header sent ({})",
            mailwire_transport::ProxyHeader::describe(&bytes)
        );
    }
    Ok(socket)
}

/// The program of [`ClientOptions::pipe`], started.
#[cfg(unix)]
fn start_pipe(
    options: &ClientOptions,
    command: &mailwire_transport::PipeCommand,
) -> Result<Socket, Error> {
    log::debug!("starting {}", options.server());
    let piped = crate::pipe::Piped::start(command).map_err(|e| options.connect_error(e))?;
    log::info!("started {} (pid {})", options.server(), piped.id());
    Ok(Socket::Pipe(piped))
}

#[cfg(not(unix))]
fn start_pipe(
    options: &ClientOptions,
    _command: &mailwire_transport::PipeCommand,
) -> Result<Socket, Error> {
    let e = io::Error::new(io::ErrorKind::Unsupported, "a program's pipes need Unix");
    Err(options.connect_error(e))
}

/// A local socket: no name to resolve, no timeout (std has none for it; a listener whose
/// backlog is full refuses at once rather than waits, on Linux).
#[cfg(unix)]
fn connect_unix(options: &ClientOptions, path: &std::path::Path) -> Result<Socket, Error> {
    log::debug!("connecting to {}", options.server());
    let sock = UnixStream::connect(path).map_err(|e| options.connect_error(e))?;
    log::info!("connected to {}", options.server());
    Ok(Socket::Unix(sock))
}

#[cfg(not(unix))]
fn connect_unix(options: &ClientOptions, _path: &std::path::Path) -> Result<Socket, Error> {
    let e = io::Error::new(io::ErrorKind::Unsupported, "Unix-domain sockets need Unix");
    Err(options.connect_error(e))
}

/// Connects to each address `host:port` resolves to of the options' family
/// ([`ClientOptions::tcp_addresses`]), in turn, each attempt bounded by the connect timeout
/// and made from [`ClientOptions::local_address`] when set. TCP_NODELAY is set: each flight
/// is written at once, and waiting for delayed ACKs would cost 40 ms per flight.
fn connect_tcp(options: &ClientOptions) -> Result<TcpStream, Error> {
    let resolved = (options.host.as_str(), options.port)
        .to_socket_addrs()
        .map_err(|e| options.connect_error(e))?;
    let mut last = None;
    for addr in options.tcp_addresses(resolved)? {
        log::debug!("connecting to {addr}");
        match connect_one(addr, options.local_address, options.connect_timeout) {
            Ok(sock) => {
                log::info!("connected to {addr}");
                sock.set_nodelay(true)
                    .map_err(|e| options.connect_error(e))?;
                return Ok(sock);
            }
            Err(e) => {
                log::debug!("connecting to {addr} failed: {e}");
                last = Some(e);
            }
        }
    }
    // tcp_addresses gave at least one address, so `last` is set.
    Err(options.connect_error(last.unwrap_or_else(|| io::ErrorKind::NotFound.into())))
}

/// One attempt: bound to `local` first when given (socket2: std binds only as it connects).
fn connect_one(
    addr: SocketAddr,
    local: Option<SocketAddr>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect_timeout(&addr, timeout);
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket
        .bind(&local.into())
        .map_err(|e| ClientOptions::bind_error(local, e))?;
    socket.connect_timeout(&addr.into(), timeout)?;
    Ok(socket.into())
}
