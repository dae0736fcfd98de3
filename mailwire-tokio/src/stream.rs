//! The connection: tokio TCP, then possibly TLS by tokio-rustls (configured by
//! `mailwire-transport`).

use mailwire_transport::{ClientOptions, Error, TlsError, TlsSetup};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A TCP connection, plain or wrapped in TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// During a handshake, after a failed one, or after a cancelled operation.
    Gone,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(s.get_ref().0),
            Stream::Gone => None,
        }
    }

    /// Closes both directions at once, from synchronous code too (a dropped future's guard):
    /// nothing more is read or written, and the server sees the end of the connection.
    pub(crate) fn shutdown(&self) {
        if let Some(s) = self.tcp() {
            let _ = socket2::SockRef::from(s).shutdown(std::net::Shutdown::Both);
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

/// Connects to each address `host:port` resolves to, in turn, each attempt bounded by the
/// connect timeout. TCP_NODELAY is set: each flight is written at once, and waiting for
/// delayed ACKs would cost 40 ms per flight.
pub(crate) async fn connect_tcp(options: &ClientOptions) -> Result<TcpStream, Error> {
    let server = options.server();
    let fail = |source: io::Error| Error::Connect {
        server: server.clone(),
        source: Arc::new(source),
    };
    // Name resolution is bounded by the connect timeout too (it runs on tokio's blocking pool).
    let lookup = tokio::net::lookup_host((options.host.as_str(), options.port));
    let addrs = match tokio::time::timeout(options.connect_timeout, lookup).await {
        Ok(addrs) => addrs.map_err(fail)?,
        Err(_) => {
            let e = io::Error::new(io::ErrorKind::TimedOut, "name resolution timed out");
            return Err(fail(e));
        }
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for addr in addrs {
        log::debug!("connecting to {addr}");
        match tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(sock)) => {
                log::info!("connected to {addr}");
                sock.set_nodelay(true).map_err(fail)?;
                return Ok(sock);
            }
            Ok(Err(e)) => {
                log::debug!("connecting to {addr} failed: {e}");
                last = e;
            }
            Err(_) => {
                log::debug!("connecting to {addr} timed out");
                last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
            }
        }
    }
    Err(fail(last))
}
