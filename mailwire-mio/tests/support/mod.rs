//! A scripted SMTP server on 127.0.0.1 (std threads), for what real servers will not do on
//! demand: close connections mid-transaction, say 421 mid-queue, stay silent, read slowly.
#![allow(dead_code)]

use rustls::pki_types::pem::PemObject;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What one connection does. Messages are counted per connection from 0.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Never send anything (the greeting deadline must fire).
    pub silent: bool,
    /// On MAIL of this message: send FIN (after every earlier reply) and stop answering.
    pub close_at_mail: Option<usize>,
    /// On MAIL of this message: close at once, unread bytes and all (the kernel sends RST).
    pub reset_at_mail: Option<usize>,
    /// After the content of this message: close without the final reply.
    pub close_after_content: Option<usize>,
    /// On MAIL of this message: `421` and close.
    pub reply_421_at_mail: Option<usize>,
    /// Sleep this long every 1,000 lines of content (a slow reader).
    pub slow_content: Option<Duration>,
    /// Offer CHUNKING and take BDAT.
    pub chunking: bool,
    /// Offer STARTTLS with this server configuration.
    pub starttls: Option<Arc<rustls::ServerConfig>>,
    /// Implicit TLS with this server configuration.
    pub implicit_tls: Option<Arc<rustls::ServerConfig>>,
}

/// Counters shared with the test.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Messages answered with 250 after their content.
    pub accepted: AtomicUsize,
    /// Bytes of content received (before the end mark), over all messages.
    pub content_bytes: AtomicUsize,
    /// Whether any connection finished TLS.
    pub tls_sessions: AtomicUsize,
}

/// The server; stops accepting when dropped (running connections end when their client goes).
pub struct MockServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server whose `n`th connection (from 0) follows `script(n)`.
    pub fn start(script: impl Fn(usize) -> Script + Send + 'static) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&stats), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let workers = Mutex::new(Vec::new());
            // Bounded: the test's own timeouts end a run long before this.
            let end = Instant::now() + Duration::from_secs(120);
            while !st.load(Ordering::Relaxed) && Instant::now() < end {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let n = s.connections.fetch_add(1, Ordering::SeqCst);
                        let script = script(n);
                        let stats = Arc::clone(&s);
                        workers.lock().unwrap().push(std::thread::spawn(move || {
                            let _ = serve(stream, script, &stats);
                        }));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        MockServer {
            addr,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A connection, plain or TLS, read line by line.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn serve(stream: TcpStream, script: Script, stats: &Stats) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    if script.silent {
        // Hold the connection until the client gives up.
        let mut s = stream;
        let mut buf = [0u8; 512];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        return Ok(());
    }
    let raw = stream.try_clone()?;
    if let Some(config) = &script.implicit_tls {
        let conn = rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        stats.tls_sessions.fetch_add(1, Ordering::SeqCst);
        let tls = rustls::StreamOwned::new(conn, stream);
        return session(
            BufReader::new(Box::new(tls) as Box<dyn Stream>),
            &raw,
            script,
            stats,
            true,
        );
    }
    session(
        BufReader::new(Box::new(stream) as Box<dyn Stream>),
        &raw,
        script,
        stats,
        false,
    )
}

fn session(
    mut io: BufReader<Box<dyn Stream>>,
    raw: &TcpStream,
    script: Script,
    stats: &Stats,
    mut secure: bool,
) -> io::Result<()> {
    io.get_mut().write_all(b"220 mock ESMTP ready\r\n")?;
    let mut messages = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        if io.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).to_ascii_uppercase();
        let verb = text
            .split([' ', '\r', '\n'])
            .next()
            .unwrap_or("")
            .to_owned();
        let reply: Vec<u8> = match verb.as_str() {
            "EHLO" => {
                let mut r = b"250-mock\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n".to_vec();
                if script.chunking {
                    r.extend_from_slice(b"250-CHUNKING\r\n");
                }
                if script.starttls.is_some() && !secure {
                    r.extend_from_slice(b"250-STARTTLS\r\n");
                }
                r.extend_from_slice(b"250 8BITMIME\r\n");
                r
            }
            "HELO" => b"250 mock\r\n".to_vec(),
            "STARTTLS" if !secure && script.starttls.is_some() => {
                io.get_mut().write_all(b"220 2.0.0 go ahead\r\n")?;
                let config = script.starttls.clone().unwrap_or_else(|| unreachable!());
                // Nothing may be buffered past STARTTLS (RFC 3207 / CVE-2011-0411).
                assert!(io.buffer().is_empty(), "client pipelined past STARTTLS");
                let plain = raw.try_clone()?;
                let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
                let tls = rustls::StreamOwned::new(conn, plain);
                io = BufReader::new(Box::new(tls));
                secure = true;
                stats.tls_sessions.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            "MAIL" => {
                if script.close_at_mail == Some(messages) {
                    raw.shutdown(Shutdown::Write)?;
                    // Read until the client closes, answering nothing.
                    let mut sink = Vec::new();
                    let _ = io.read_to_end(&mut sink);
                    return Ok(());
                }
                if script.reset_at_mail == Some(messages) {
                    return Ok(());
                }
                if script.reply_421_at_mail == Some(messages) {
                    io.get_mut()
                        .write_all(b"421 4.3.2 mock shutting down\r\n")?;
                    io.get_mut().flush()?;
                    raw.shutdown(Shutdown::Write)?;
                    let mut sink = Vec::new();
                    let _ = io.read_to_end(&mut sink);
                    return Ok(());
                }
                b"250 2.1.0 ok\r\n".to_vec()
            }
            "RCPT" => b"250 2.1.5 ok\r\n".to_vec(),
            "RSET" | "NOOP" => b"250 2.0.0 ok\r\n".to_vec(),
            "QUIT" => {
                io.get_mut().write_all(b"221 2.0.0 bye\r\n")?;
                io.get_mut().flush()?;
                return Ok(());
            }
            "DATA" => {
                io.get_mut().write_all(b"354 go ahead\r\n")?;
                io.get_mut().flush()?;
                let mut bytes = 0;
                let mut lines = 0usize;
                loop {
                    line.clear();
                    lines += 1;
                    if let Some(d) = script.slow_content.filter(|_| lines.is_multiple_of(1000)) {
                        std::thread::sleep(d);
                    }
                    if io.read_until(b'\n', &mut line)? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    bytes += line.len();
                }
                stats.content_bytes.fetch_add(bytes, Ordering::SeqCst);
                if script.close_after_content == Some(messages) {
                    raw.shutdown(Shutdown::Write)?;
                    let mut sink = Vec::new();
                    let _ = io.read_to_end(&mut sink);
                    return Ok(());
                }
                messages += 1;
                stats.accepted.fetch_add(1, Ordering::SeqCst);
                format!("250 2.0.0 queued as M{messages}\r\n").into_bytes()
            }
            "BDAT" if script.chunking => {
                let mut parts = text.split_whitespace().skip(1);
                let size: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let last = parts.next() == Some("LAST");
                let mut chunk = vec![0; size];
                io.read_exact(&mut chunk)?;
                stats.content_bytes.fetch_add(size, Ordering::SeqCst);
                if last {
                    messages += 1;
                    stats.accepted.fetch_add(1, Ordering::SeqCst);
                    format!("250 2.0.0 queued as M{messages}\r\n").into_bytes()
                } else {
                    b"250 2.0.0 chunk ok\r\n".to_vec()
                }
            }
            _ => b"500 5.5.1 unknown command\r\n".to_vec(),
        };
        io.get_mut().write_all(&reply)?;
        io.get_mut().flush()?;
    }
}

/// A rustls server configuration serving `cert` (mailwire-testkit's throw-away certificate).
pub fn server_config(cert: &mailwire_testkit::TestCert) -> Arc<rustls::ServerConfig> {
    let chain: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls::pki_types::CertificateDer::pem_file_iter(cert.cert_path())
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(cert.key_path()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}
