//! [`Tap`]: a TCP relay on 127.0.0.1 that records what clients send to a
//! peer, so a test can check what a client did *not* send (no `MAIL` after a
//! failed AUTH) without trusting the server to have read it: a server may drop
//! input it had not yet read when the client closes (aiosmtpd cancels its
//! handler on EOF).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::loopback;

/// Every socket of the relay gives up after this long without traffic, so
/// no test can hang on it.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Record {
    /// What each connection's client sent, in the order connections came.
    sent: Vec<Vec<u8>>,
    /// Connections whose client side has ended (EOF, error or idle limit).
    closed: usize,
}

#[derive(Default)]
struct Shared {
    record: Mutex<Record>,
    changed: Condvar,
    stop: AtomicBool,
    /// With [`Tap::cutting`]: cut each connection at its client's Nth end of data.
    cut_every: Option<usize>,
    /// Connections cut so far.
    cuts: AtomicUsize,
}

/// A relay from a port of its own to `upstream`, recording the client's
/// bytes per connection. Stopped on drop (open relays end within the idle
/// limit).
pub struct Tap {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("addr", &self.addr).finish()
    }
}

impl Tap {
    /// Listens on a kernel-chosen 127.0.0.1 port; each connection made to it
    /// is relayed to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Tap> {
        Tap::with(upstream, Shared::default())
    }

    /// A relay that cuts every connection (both ways, at once) when its client has sent its
    /// `every`th end of data (`CRLF.CRLF`, so DATA only): on even connections (0, 2, …) just
    /// after relaying it, so the server has the message and its reply may or may not reach
    /// the client; on odd ones just before, so the server never gets that message's end.
    pub fn cutting(upstream: SocketAddr, every: usize) -> io::Result<Tap> {
        Tap::with(
            upstream,
            Shared {
                cut_every: Some(every.max(1)),
                ..Shared::default()
            },
        )
    }

    /// Connections cut by [`Tap::cutting`] so far.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    fn with(upstream: SocketAddr, shared: Shared) -> io::Result<Tap> {
        let listener = TcpListener::bind(loopback(0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for client in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    relay(client, upstream, &shared);
                }
            })
        };
        Ok(Tap {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().sent.len()
    }

    /// Waits until the client side of `n` connections has ended (at most
    /// `timeout`), then returns what each connection's client sent.
    pub fn wait_closed(&self, n: usize, timeout: Duration) -> io::Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        let mut record = self.lock();
        while record.closed < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("tap: {} of {n} connections closed", record.closed),
                ));
            }
            record = self
                .shared
                .changed
                .wait_timeout(record, left)
                .map_err(|_| io::Error::other("tap: poisoned"))?
                .0;
        }
        Ok(record.sent.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        // A relay thread that panicked leaves the record as it was; still usable.
        self.shared
            .record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor, which then sees `stop`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Starts the two copying threads of one connection.
fn relay(client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    let index = {
        let mut record = shared
            .record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        record.sent.push(Vec::new());
        record.sent.len() - 1
    };
    let close = |shared: &Shared| {
        let mut record = shared
            .record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        record.closed += 1;
        shared.changed.notify_all();
    };
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
        return close(shared);
    };
    let streams = (|| {
        for s in [&client, &server] {
            s.set_read_timeout(Some(IDLE_LIMIT))?;
            s.set_write_timeout(Some(IDLE_LIMIT))?;
            s.set_nodelay(true)?;
        }
        Ok::<_, io::Error>((client.try_clone()?, server.try_clone()?))
    })();
    let Ok((client_in, server_in)) = streams else {
        return close(shared);
    };
    // Server to client: plain copy; when the server closes, so does the client's side.
    thread::spawn(move || {
        let mut from = server_in;
        let mut to = client;
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    // Client to server, recorded.
    let shared = Arc::clone(shared);
    thread::spawn(move || {
        let mut from = client_in;
        let mut to = server;
        let mut buf = [0u8; 16 * 1024];
        let mut marks = EndMarks::default();
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    // Where to cut this read, if here: after the Nth mark, or before its ".".
                    let cut = shared.cut_every.and_then(|every| {
                        let end = marks.find(&buf[..n], every)?;
                        Some(if index % 2 == 0 {
                            end
                        } else {
                            end.saturating_sub(3)
                        })
                    });
                    let n = cut.unwrap_or(n);
                    if let Ok(mut record) = shared.record.lock() {
                        record.sent[index].extend_from_slice(&buf[..n]);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if cut.is_some() {
                        shared.cuts.fetch_add(1, Ordering::SeqCst);
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        close(&shared);
    });
}

/// Counts the ends of data (`CRLF.CRLF`) in a client's stream, across reads.
#[derive(Default)]
struct EndMarks {
    /// The last bytes seen, up to four.
    tail: Vec<u8>,
    seen: usize,
}

impl EndMarks {
    /// Scans `bytes`; when the `nth` mark of the stream ends in them, the offset just past it.
    fn find(&mut self, bytes: &[u8], nth: usize) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            self.tail.push(b);
            if self.tail.len() > 5 {
                self.tail.remove(0);
            }
            if self.tail == b"\r\n.\r\n" {
                self.seen += 1;
                if self.seen == nth {
                    return Some(i + 1);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::EndMarks;

    #[test]
    fn end_marks_across_reads() {
        let mut m = EndMarks::default();
        assert_eq!(m.find(b"DATA\r\nhi\r\n.", 2), None);
        assert_eq!(m.find(b"\r\nMAIL\r\nx\r", 2), None);
        assert_eq!(m.find(b"\n.\r\nRSET", 2), Some(4));
    }
}
