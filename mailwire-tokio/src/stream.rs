//! The connection: tokio TCP (or a Unix-domain socket), then possibly TLS by tokio-rustls
//! (configured by `mailwire-transport`).

use mailwire_transport::{ClientOptions, Error, TlsError, TlsSetup};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

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
    /// Closes both directions at once, from synchronous code too.
    fn shutdown_now(&self) {
        let _ = match self {
            Socket::Tcp(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Socket::Unix(s) => socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Socket::Pipe(p) => {
                socket2::SockRef::from(p.socket()).shutdown(std::net::Shutdown::Both)
            }
        };
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Pipe(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Socket::Pipe(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Pipe(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Pipe(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A connection, plain or wrapped in TLS.
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<TlsStream<Socket>>),
    /// During a handshake, after a failed one, or after a cancelled operation.
    Gone,
}

impl Stream {
    fn socket(&self) -> Option<&Socket> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(s.get_ref().0),
            Stream::Gone => None,
        }
    }

    /// Closes both directions at once, from synchronous code too (a dropped future's guard):
    /// nothing more is read or written, and the server sees the end of the connection.
    pub(crate) fn shutdown(&self) {
        if let Some(s) = self.socket() {
            s.shutdown_now();
        }
    }

    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Gone => Err(gone()),
        }
    }

    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf).await,
            Stream::Tls(s) => s.write(buf).await,
            Stream::Gone => Err(gone()),
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush().await,
            Stream::Tls(s) => s.flush().await,
            Stream::Gone => Err(gone()),
        }
    }

    /// Writes a flight: in one `write` when the socket takes it (TCP_NODELAY is on, so it
    /// leaves at once), each `write` and the final flush bounded by `limit` without progress
    /// (RFC 5321 4.5.3.2.5's data block timeout). A stall is an error of kind `TimedOut`.
    pub(crate) async fn write_flight(&mut self, mut buf: &[u8], limit: Duration) -> io::Result<()> {
        while !buf.is_empty() {
            match tokio::time::timeout(limit, self.write(buf)).await {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => buf = &buf[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(stalled_write(limit)),
            }
        }
        match tokio::time::timeout(limit, self.flush()).await {
            Ok(result) => result,
            Err(_) => Err(stalled_write(limit)),
        }
    }

    /// Wraps the TCP connection in TLS and completes the handshake before `deadline`.
    pub(crate) async fn upgrade(
        &mut self,
        setup: &TlsSetup,
        deadline: Instant,
    ) -> Result<(), TlsError> {
        let Stream::Plain(sock) = std::mem::replace(self, Stream::Gone) else {
            return Err(TlsError::Io(Arc::new(gone())));
        };
        let connector = TlsConnector::from(Arc::clone(setup.config()));
        let handshake = connector.connect(setup.server_name().clone(), sock);
        let tls = match tokio::time::timeout_at(deadline, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return Err(TlsError::from_io(e)),
            Err(_) => return Err(TlsError::HandshakeTimeout),
        };
        let conn = tls.get_ref().1;
        log::info!("TLS established ({})", mailwire_transport::negotiated(conn));
        *self = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// Sends TLS close_notify, if TLS is on (bounded: QUIT's reply is in, so this is the last
    /// write).
    pub(crate) async fn close_notify(&mut self, limit: Duration) {
        if let Stream::Tls(s) = self {
            s.get_mut().1.send_close_notify();
            let _ = tokio::time::timeout(limit, s.flush()).await;
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection already closed")
}

fn stalled_write(limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("a write made no progress for {limit:?} (the data block timeout)"),
    )
}

/// Connects as the options say: to the Unix-domain socket when one is given (bounded by the
/// connect timeout), else over TCP ([`connect_tcp`]).
pub(crate) async fn connect(options: &ClientOptions) -> Result<Socket, Error> {
    let mut socket = connect_socket(options).await?;
    if let Some(header) = &options.proxy_header {
        // First on the bare connection: before the greeting, before any TLS.
        let (local, peer) = match &socket {
            Socket::Tcp(s) => (s.local_addr().ok(), s.peer_addr().ok()),
            #[cfg(unix)]
            Socket::Unix(_) | Socket::Pipe(_) => (None, None),
        };
        let bytes = header.bytes(local, peer)?;
        let write = async {
            use tokio::io::AsyncWriteExt;
            match &mut socket {
                Socket::Tcp(s) => s.write_all(&bytes).await,
                #[cfg(unix)]
                Socket::Unix(s) => s.write_all(&bytes).await,
                #[cfg(unix)]
                Socket::Pipe(s) => s.write_all(&bytes).await,
            }
        };
        match tokio::time::timeout(options.connect_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(options.connect_error(e)),
            Err(_) => return Err(options.connect_error(connect_timed_out())),
        }
        log::info!(
            "PROXY header sent ({})",
            mailwire_transport::ProxyHeader::describe(&bytes)
        );
    }
    Ok(socket)
}

/// The TCP connection, or the Unix-domain socket.
async fn connect_socket(options: &ClientOptions) -> Result<Socket, Error> {
    options.check_route()?;
    if let Some(command) = &options.pipe {
        return start_pipe(options, command);
    }
    let Some(path) = &options.unix_socket else {
        return connect_tcp(options).await.map(Socket::Tcp);
    };
    #[cfg(unix)]
    {
        log::debug!("connecting to {}", options.server());
        match tokio::time::timeout(options.connect_timeout, UnixStream::connect(path)).await {
            Ok(Ok(sock)) => {
                log::info!("connected to {}", options.server());
                Ok(Socket::Unix(sock))
            }
            Ok(Err(e)) => Err(options.connect_error(e)),
            Err(_) => Err(options.connect_error(connect_timed_out())),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        let e = io::Error::new(io::ErrorKind::Unsupported, "Unix-domain sockets need Unix");
        Err(options.connect_error(e))
    }
}

/// The program of [`ClientOptions::pipe`], started.
#[cfg(unix)]
fn start_pipe(
    options: &ClientOptions,
    command: &mailwire_transport::PipeCommand,
) -> Result<Socket, Error> {
    log::debug!("starting {}", options.server());
    let piped = crate::pipe::Piped::start(command).map_err(|e| options.connect_error(e))?;
    log::info!(
        "started {} (pid {})",
        options.server(),
        piped.id().unwrap_or_default()
    );
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

fn connect_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connect timed out")
}

/// Connects to each address `host:port` resolves to of the options' family
/// ([`ClientOptions::tcp_addresses`]), in turn, each attempt bounded by the connect timeout
/// and made from [`ClientOptions::local_address`] when set. TCP_NODELAY is set: each flight
/// is written at once, and waiting for delayed ACKs would cost 40 ms per flight.
async fn connect_tcp(options: &ClientOptions) -> Result<TcpStream, Error> {
    // Name resolution is bounded by the connect timeout too (it runs on tokio's blocking pool).
    let lookup = tokio::net::lookup_host((options.host.as_str(), options.port));
    let resolved = match tokio::time::timeout(options.connect_timeout, lookup).await {
        Ok(addrs) => addrs.map_err(|e| options.connect_error(e))?,
        Err(_) => {
            let e = io::Error::new(io::ErrorKind::TimedOut, "name resolution timed out");
            return Err(options.connect_error(e));
        }
    };
    let mut last = None;
    for addr in options.tcp_addresses(resolved)? {
        log::debug!("connecting to {addr}");
        let attempt = connect_one(addr, options.local_address);
        match tokio::time::timeout(options.connect_timeout, attempt).await {
            Ok(Ok(sock)) => {
                log::info!("connected to {addr}");
                sock.set_nodelay(true)
                    .map_err(|e| options.connect_error(e))?;
                return Ok(sock);
            }
            Ok(Err(e)) => {
                log::debug!("connecting to {addr} failed: {e}");
                last = Some(e);
            }
            Err(_) => {
                log::debug!("connecting to {addr} timed out");
                last = Some(connect_timed_out());
            }
        }
    }
    // tcp_addresses gave at least one address, so `last` is set.
    Err(options.connect_error(last.unwrap_or_else(|| io::ErrorKind::NotFound.into())))
}

/// One attempt: bound to `local` first when given.
async fn connect_one(addr: SocketAddr, local: Option<SocketAddr>) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(addr).await;
    };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket
        .bind(local)
        .map_err(|e| ClientOptions::bind_error(local, e))?;
    socket.connect(addr).await
}
