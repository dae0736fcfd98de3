//! The connection: TCP, then possibly TLS (configured by `mailwire-transport`).

use mailwire_transport::{ClientOptions, Error, TlsError, TlsSetup};
use rustls::ClientConnection;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A TCP connection, plain or wrapped in TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<ClientConnection, TcpStream>>),
    /// Only while upgrading, or after a failed upgrade.
    Gone,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(&s.sock),
            Stream::Gone => None,
        }
    }

    pub(crate) fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        match self.tcp() {
            // A zero timeout means "none" to the OS: never pass it.
            Some(s) => s.set_read_timeout(Some(d.max(Duration::from_millis(1)))),
            None => Err(gone()),
        }
    }

    /// Closes both directions (used to abandon a message mid-content).
    pub(crate) fn shutdown(&self) {
        if let Some(s) = self.tcp() {
            let _ = s.shutdown(std::net::Shutdown::Both);
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

/// Connects to each address `host:port` resolves to, in turn, each attempt bounded by the
/// connect timeout. TCP_NODELAY is set: each flight is written at once, and waiting for
/// delayed ACKs would cost 40 ms per flight.
pub(crate) fn connect_tcp(options: &ClientOptions) -> Result<TcpStream, Error> {
    let server = options.server();
    let fail = |source: io::Error| Error::Connect {
        server: server.clone(),
        source: Arc::new(source),
    };
    let addrs = (options.host.as_str(), options.port)
        .to_socket_addrs()
        .map_err(fail)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for addr in addrs {
        log::debug!("connecting to {addr}");
        match TcpStream::connect_timeout(&addr, options.connect_timeout) {
            Ok(sock) => {
                log::info!("connected to {addr}");
                sock.set_nodelay(true).map_err(fail)?;
                return Ok(sock);
            }
            Err(e) => {
                log::debug!("connecting to {addr} failed: {e}");
                last = e;
            }
        }
    }
    Err(fail(last))
}
