//! A scripted SMTP server on 127.0.0.1 for what no real server does (a stray reply, a refusal
//! mid-content, a server that stops reading), and a bounded subprocess runner. Every socket and
//! every child process gives up after a limit: no test can hang on them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Every socket in a mock server gives up after this long: no test can hang on it.
pub const MOCK_IO_LIMIT: Duration = Duration::from_secs(20);

/// The server side of one scripted connection.
pub struct Peer {
    /// Reads what the client sent.
    pub reader: BufReader<TcpStream>,
    /// Writes to the client.
    pub stream: TcpStream,
    /// Every line the client sent, in order (line ends removed).
    pub lines: Vec<String>,
}

impl Peer {
    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &str) {
        let _ = self.stream.write_all(bytes.as_bytes());
    }

    /// Reads one line (without CRLF); empty string at EOF.
    pub fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let _ = self.reader.read_until(b'\n', &mut buf);
        let s = String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        self.lines.push(s.clone());
        s
    }

    /// Reads a line and checks it starts with `prefix` (case-insensitively).
    pub fn expect(&mut self, prefix: &str) -> String {
        let l = self.line();
        assert!(
            l.to_ascii_uppercase()
                .starts_with(&prefix.to_ascii_uppercase()),
            "expected a line starting with {prefix:?}, got {l:?}"
        );
        l
    }

    /// Reads DATA content up to the `.` line; returns the wire bytes before it.
    pub fn data(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        loop {
            let mut line = Vec::new();
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return wire,
                Ok(_) => {}
            }
            if line == b".\r\n" {
                return wire;
            }
            wire.extend_from_slice(&line);
        }
    }

    /// Reads DATA content up to the `.` line: the wire bytes before it, or `None` when the
    /// connection ended first (no end of data: a server takes nothing).
    pub fn data_ended(&mut self) -> Option<Vec<u8>> {
        let mut wire = Vec::new();
        loop {
            let mut line = Vec::new();
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if line == b".\r\n" {
                return Some(wire);
            }
            wire.extend_from_slice(&line);
        }
    }

    /// Greeting and a plain EHLO answer with the given extension lines.
    pub fn hello(&mut self, extensions: &[&str]) {
        self.send("220 mock.test ESMTP\r\n");
        self.expect("EHLO");
        let mut reply = String::from("250");
        if extensions.is_empty() {
            reply.push_str(" mock.test\r\n");
        } else {
            reply.push_str("-mock.test\r\n");
            for (i, e) in extensions.iter().enumerate() {
                let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
                reply.push_str(&format!("250{sep}{e}\r\n"));
            }
        }
        self.send(&reply);
    }

    /// Greeting and a plain EHLO, then MAIL, one RCPT and DATA answered (250, 250, 354): the
    /// client's content comes next.
    pub fn to_354(&mut self) {
        self.hello(&[]);
        self.expect("MAIL");
        self.send("250 ok\r\n");
        self.expect("RCPT");
        self.send("250 ok\r\n");
        self.expect("DATA");
        self.send("354 go on\r\n");
    }

    /// Reads until the client closes (or the I/O limit), returning what it sent.
    pub fn drain(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        rest
    }
}

/// A mock server accepting one connection and running `script` on it.
pub struct Mock<T> {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    handle: JoinHandle<T>,
}

impl<T: Send + 'static> Mock<T> {
    /// Listens on a free port and runs `script` on the first connection.
    pub fn start(script: impl FnOnce(&mut Peer) -> T + Send + 'static) -> Mock<T> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (stream, _) =
                accept_bounded(&listener, MOCK_IO_LIMIT).expect("the client never connected");
            stream.set_read_timeout(Some(MOCK_IO_LIMIT)).unwrap();
            stream.set_write_timeout(Some(MOCK_IO_LIMIT)).unwrap();
            let mut peer = Peer {
                reader: BufReader::new(stream.try_clone().unwrap()),
                stream,
                lines: Vec::new(),
            };
            script(&mut peer)
        });
        Mock { port, handle }
    }

    /// The script's result (panics, failing the test, if the script panicked).
    pub fn join(self) -> T {
        self.handle.join().expect("mock server script failed")
    }
}

/// `accept` with a deadline, so a test whose client never connects fails instead of hanging.
pub fn accept_bounded(
    listener: &TcpListener,
    limit: Duration,
) -> Option<(TcpStream, std::net::SocketAddr)> {
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(false).ok()?;
                return Some((s, a));
            }
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
}

/// A listener that records whether anyone connected: proof that nothing was sent.
pub struct Tripwire {
    /// The listener (non-blocking).
    pub listener: TcpListener,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Default for Tripwire {
    fn default() -> Self {
        Tripwire::new()
    }
}

impl Tripwire {
    /// A listener on a free port.
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        Tripwire { listener, port }
    }

    /// Whether a connection came.
    pub fn was_connected(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// Runs `program` with `args` (stdin empty, `SMTP_PASSWORD` cleared, then `env` set), killing
/// it after `limit`; returns its output. Both pipes are read in threads, so a chatty child
/// never blocks on a full pipe.
pub fn run_bounded(program: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    run_bounded_input(program, args, env, None, limit)
}

/// [`run_bounded`] with `input` on the child's standard input (written from a thread, then
/// closed); `None` is an empty standard input.
pub fn run_bounded_input(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    input: Option<&[u8]>,
    limit: Duration,
) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.env_remove("SMTP_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the program");
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        let input = input.to_vec();
        // A child that stops reading gets EPIPE here, which is no failure of the test's.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    // Read both pipes in threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (out_t.join().unwrap(), err_t.join().unwrap());
            panic!(
                "{} {args:?} did not finish within {limit:?}\nstdout: {}\nstderr: {}",
                program.display(),
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&e)
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// A scripted server accepting any number of connections until dropped, each served by the
/// same script in a thread of its own, given the connection's index (0 first). What each
/// script returns (the messages it took) is collected. For pools: it counts the connections.
pub struct MockServer {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    shared: std::sync::Arc<MockShared>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct MockShared {
    stop: std::sync::atomic::AtomicBool,
    accepted: std::sync::atomic::AtomicUsize,
    messages: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl MockServer {
    /// Listens on a free port; `script` serves each connection and returns the message
    /// contents it took.
    pub fn start(
        script: impl Fn(&mut Peer, usize) -> Vec<Vec<u8>> + Send + Sync + 'static,
    ) -> MockServer {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().unwrap().port();
        let shared = std::sync::Arc::new(MockShared::default());
        let script = std::sync::Arc::new(script);
        let acceptor = {
            let shared = std::sync::Arc::clone(&shared);
            thread::spawn(move || {
                while !shared.stop.load(Ordering::SeqCst) {
                    let Ok((stream, _)) = listener.accept() else {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let index = shared.accepted.fetch_add(1, Ordering::SeqCst);
                    let (shared, script) = (
                        std::sync::Arc::clone(&shared),
                        std::sync::Arc::clone(&script),
                    );
                    thread::spawn(move || {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(MOCK_IO_LIMIT));
                        let _ = stream.set_write_timeout(Some(MOCK_IO_LIMIT));
                        let Ok(reader) = stream.try_clone() else {
                            return;
                        };
                        let mut peer = Peer {
                            reader: BufReader::new(reader),
                            stream,
                            lines: Vec::new(),
                        };
                        let took = script(&mut peer, index);
                        shared
                            .messages
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(took);
                    });
                }
            })
        };
        MockServer {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The messages the finished connections' scripts took.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits (at most `limit`) until the scripts have taken `n` messages; returns them.
    pub fn wait_for_messages(&self, n: usize, limit: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + limit;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() >= deadline {
                return messages;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A small SMTP server for a [`MockServer`] connection: greeting, EHLO offering PIPELINING, then
/// MAIL, RCPT, RSET and NOOP answered 250, DATA 354 then the content then 250, QUIT 221.
/// `reply(verb, n)` may answer instead (`n` counts that verb on this connection from 0; the
/// verb is `MAIL`, `RCPT`, `DATA`, `.` for the end of data, `NOOP`, `RSET`); a reply starting
/// with `421` closes the connection after it. With `idle_close`, the connection is closed after
/// that long without a command. Returns the contents of the messages taken (250 after the
/// end of data).
pub fn smtp_session(
    peer: &mut Peer,
    idle_close: Option<Duration>,
    reply: impl Fn(&str, usize) -> Option<String>,
) -> Vec<Vec<u8>> {
    let mut took = Vec::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut count = |verb: &str| {
        let n = counts.entry(verb.to_string()).or_insert(0);
        *n += 1;
        *n - 1
    };
    peer.hello(&["PIPELINING"]);
    if let Some(idle) = idle_close {
        let _ = peer.stream.set_read_timeout(Some(idle));
    }
    loop {
        let line = peer.line();
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let n = count(&verb);
        let answer = |default: &str| reply(&verb, n).unwrap_or_else(|| default.to_string());
        let text = match verb.as_str() {
            // EOF, an error or the idle limit: close.
            "" => break,
            "QUIT" => {
                peer.send("221 bye\r\n");
                break;
            }
            "DATA" => {
                let go = answer("354 go");
                peer.send(&format!("{go}\r\n"));
                if !go.starts_with("354") {
                    if go.starts_with("421") {
                        break;
                    }
                    continue;
                }
                let Some(content) = peer.data_ended() else {
                    // The connection ended without the end of data: nothing was taken.
                    break;
                };
                let n = count(".");
                let end = reply(".", n).unwrap_or_else(|| "250 2.0.0 queued".to_string());
                if end.starts_with('2') {
                    took.push(content);
                }
                end
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => answer("250 ok"),
            _ => answer("502 5.5.2 not implemented"),
        };
        peer.send(&format!("{text}\r\n"));
        if text.starts_with("421") {
            break;
        }
    }
    let _ = peer.stream.shutdown(std::net::Shutdown::Both);
    took
}

/// A one-message session that holds its final reply: greeting and a plain EHLO, MAIL, RCPT,
/// DATA and the content answered, then `holding` is signalled and the 250 to the content waits
/// for `release` (for a test that needs a connection busy for as long as it likes). Then QUIT.
pub fn held_message(
    peer: &mut Peer,
    holding: std::sync::mpsc::Sender<()>,
    release: std::sync::mpsc::Receiver<()>,
) {
    peer.to_354();
    peer.data();
    let _ = holding.send(());
    let _ = release.recv_timeout(MOCK_IO_LIMIT);
    peer.send("250 taken\r\n");
    peer.expect("QUIT");
    peer.send("221 bye\r\n");
}
