//! A sink for many concurrent sessions: one thread per connection, every message accepted and
//! thrown away. Postfix's `smtp-sink` here greets at most 256 sessions at once (the 257th
//! connection is never greeted, whatever its backlog argument), so the many-sessions run uses
//! this instead. It answers line by line and writes its replies once no more input is buffered,
//! so pipelined commands get their replies in one write (RFC 2920 3.2).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A running sink on 127.0.0.1; stopped on drop (sessions end when their clients close).
pub struct ThreadSink {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    live: Arc<(AtomicU64, AtomicU64)>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl ThreadSink {
    pub fn start() -> std::io::Result<ThreadSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        // Sessions open now, and the most open at once.
        let live = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let acceptor = {
            let (stop, accepted, live) = (stop.clone(), accepted.clone(), live.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let now = live.0.fetch_add(1, Ordering::SeqCst) + 1;
                    live.1.fetch_max(now, Ordering::SeqCst);
                    let (accepted, ended) = (accepted.clone(), live.clone());
                    // Small stacks: a thousand of them.
                    let spawned =
                        std::thread::Builder::new()
                            .stack_size(64 * 1024)
                            .spawn(move || {
                                let _ = session(conn, &accepted);
                                ended.0.fetch_sub(1, Ordering::SeqCst);
                            });
                    if spawned.is_err() {
                        live.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
        };
        Ok(ThreadSink {
            port,
            stop,
            accepted,
            live,
            acceptor: Some(acceptor),
        })
    }

    /// The most sessions that were open at once.
    pub fn peak_sessions(&self) -> u64 {
        self.live.1.load(Ordering::SeqCst)
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for ThreadSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

fn session(conn: TcpStream, accepted: &AtomicU64) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::with_capacity(64 * 1024, conn);
    let mut replies: Vec<u8> = b"220 thread-sink ESMTP\r\n".to_vec();
    out.write_all(&replies)?;
    replies.clear();
    let mut line = Vec::new();
    let mut in_data = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = line.strip_suffix(b"\r\n").unwrap_or(&line);
        if in_data {
            if text == b"." {
                in_data = false;
                accepted.fetch_add(1, Ordering::Relaxed);
                replies.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
            }
        } else {
            let verb: Vec<u8> = text
                .iter()
                .take_while(|b| **b != b' ')
                .map(u8::to_ascii_uppercase)
                .collect();
            match verb.as_slice() {
                b"EHLO" => replies.extend_from_slice(
                    b"250-thread-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                ),
                b"DATA" => {
                    in_data = true;
                    replies.extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                }
                b"QUIT" => {
                    replies.extend_from_slice(b"221 2.0.0 Bye\r\n");
                    out.write_all(&replies)?;
                    return Ok(());
                }
                _ => replies.extend_from_slice(b"250 2.0.0 Ok\r\n"),
            }
        }
        if reader.buffer().is_empty() && !replies.is_empty() {
            out.write_all(&replies)?;
            replies.clear();
        }
    }
}
