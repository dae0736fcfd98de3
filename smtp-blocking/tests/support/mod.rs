//! Test support: a scripted mock server on 127.0.0.1 (for what no real server does), a
//! bounded subprocess runner, and small helpers.
#![allow(dead_code)]

use smtp_blocking::smtp_proto::{ClientName, Envelope, Mailbox, TlsPolicy};
use smtp_blocking::ClientOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Every socket in a mock server gives up after this long: no test can hang on it.
pub const MOCK_IO_LIMIT: Duration = Duration::from_secs(20);

/// The server side of one scripted connection.
pub struct Peer {
    pub reader: BufReader<TcpStream>,
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

    /// Reads until the client closes (or the I/O limit), returning what it sent.
    pub fn drain(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        rest
    }
}

/// A mock server accepting one connection and running `script` on it.
pub struct Mock<T> {
    pub port: u16,
    handle: JoinHandle<T>,
}

impl<T: Send + 'static> Mock<T> {
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
    pub listener: TcpListener,
    pub port: u16,
}

impl Tripwire {
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        Tripwire { listener, port }
    }

    pub fn was_connected(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// Client options for a plaintext local server, with a short uniform timeout.
pub fn options(port: u16, timeout: Duration) -> ClientOptions {
    let mut o = ClientOptions::new("127.0.0.1", port, ClientName::parse("client.test").unwrap());
    o.config.tls = TlsPolicy::Never;
    o.config.timeouts = smtp_blocking::smtp_proto::Timeouts::uniform(timeout);
    o.connect_timeout = timeout;
    o
}

pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope::new(
        Some(Mailbox::parse(from).unwrap()),
        to.iter().map(|a| Mailbox::parse(a).unwrap()),
    )
}

/// What a server stores for `content` sent as DATA: line ends as CRLF, and a final CRLF added
/// when missing.
pub fn normalised(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 2);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs `smtp-send` with `args`, killing it after `limit`; returns its output.
pub fn smtp_send(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtp-send"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.env_remove("SMTP_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn smtp-send");
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
                "smtp-send {args:?} did not finish within {limit:?}\nstdout: {}\nstderr: {}",
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
