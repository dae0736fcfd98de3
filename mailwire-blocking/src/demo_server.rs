//! A small receiving SMTP server on 127.0.0.1, for `smtp-send --demo`, examples and tests: so a
//! newcomer sees the client work with nothing installed.
//!
//! It offers PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES and AUTH PLAIN LOGIN (checked
//! against [`DEMO_USER`] / [`DEMO_PASSWORD`]), and takes MAIL, RCPT, DATA, RSET, NOOP, VRFY and
//! QUIT. Content is decoded with [`mailwire::body::unstuff`]. For tests, a recipient whose
//! local part starts with `reject` is refused with 550, one starting with `defer` with 450.
//!
//! It is a test peer, not a mail server: it keeps messages in memory and delivers nothing.

use base64::Engine as _;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The demo server's user name.
pub const DEMO_USER: &str = "demo";
/// The demo server's password.
pub const DEMO_PASSWORD: &str = "demo-password";

/// Largest message taken (advertised with SIZE).
const MAX_SIZE: usize = 10 * 1024 * 1024;
/// Longest command line read (RFC 5321 4.5.3.1.4 says 512; be lenient, but bounded).
const MAX_LINE: u64 = 4096;
/// A connection idle this long is dropped, so a broken client cannot pin a thread forever.
const IDLE: Duration = Duration::from_secs(30);

/// A message as the demo server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The EHLO/HELO argument.
    pub helo: String,
    /// The user that authenticated on the connection, if any.
    pub authenticated_as: Option<String>,
    /// The MAIL FROM argument as sent (`<addr> PARAMS`).
    pub mail_from: String,
    /// Each accepted RCPT TO argument as sent.
    pub rcpt_to: Vec<String>,
    /// The content, unstuffed, end mark removed.
    pub content: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<ReceivedMessage>>,
    arrived: Condvar,
}

/// A running demo server. Dropping it stops accepting connections.
pub struct DemoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl DemoServer {
    /// Starts listening on 127.0.0.1 on a free port; each connection is served in a thread.
    pub fn start() -> io::Result<DemoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (shared2, stop2) = (shared.clone(), stop.clone());
        thread::Builder::new()
            .name("demo-smtp-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = shared2.clone();
                    let _ = thread::Builder::new()
                        .name("demo-smtp-session".into())
                        .spawn(move || {
                            let _ = Session::new(shared).serve(conn);
                        });
                }
            })?;
        Ok(DemoServer { addr, shared, stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<ReceivedMessage> {
        self.shared
            .received
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `n` messages have arrived, or `timeout` passes; returns those there.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + timeout;
        let Ok(mut guard) = self.shared.received.lock() else {
            return Vec::new();
        };
        while guard.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.shared.arrived.wait_timeout(guard, left) {
                Ok((g, _)) => guard = g,
                Err(_) => return Vec::new(),
            }
        }
        guard.clone()
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

struct Session {
    shared: Arc<Shared>,
    helo: Option<String>,
    user: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

impl Session {
    fn new(shared: Arc<Shared>) -> Session {
        Session {
            shared,
            helo: None,
            user: None,
            mail_from: None,
            rcpt_to: Vec::new(),
        }
    }

    fn serve(mut self, conn: TcpStream) -> io::Result<()> {
        conn.set_read_timeout(Some(IDLE))?;
        conn.set_write_timeout(Some(IDLE))?;
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut w = BufWriter::new(conn);
        w.write_all(b"220 demo.localhost ESMTP mailwire-blocking demo server\r\n")?;
        w.flush()?;
        loop {
            let Some(line) = read_line(&mut reader)? else {
                return Ok(());
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            let (verb, arg) = match text.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
                None => (text.trim().to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" | "HELO" if arg.is_empty() => {
                    reply(&mut w, "501 5.5.4 Syntax: EHLO hostname")?
                }
                "EHLO" => {
                    self.reset();
                    self.helo = Some(arg);
                    w.write_all(
                        format!(
                            "250-demo.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE {MAX_SIZE}\r\n\
                             250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n"
                        )
                        .as_bytes(),
                    )?;
                }
                "HELO" => {
                    self.reset();
                    self.helo = Some(arg);
                    reply(&mut w, "250 demo.localhost")?;
                }
                "AUTH" => self.auth(&arg, &mut reader, &mut w)?,
                "MAIL" if self.helo.is_none() => reply(&mut w, "503 5.5.1 EHLO first")?,
                "MAIL" if self.mail_from.is_some() => {
                    reply(&mut w, "503 5.5.1 Nested MAIL command")?
                }
                "MAIL" => match strip_prefix_ci(&arg, "FROM:") {
                    Some(from) => {
                        self.mail_from = Some(from.trim().to_string());
                        reply(&mut w, "250 2.1.0 Sender OK")?;
                    }
                    None => reply(&mut w, "501 5.5.4 Syntax: MAIL FROM:<address>")?,
                },
                "RCPT" if self.mail_from.is_none() => reply(&mut w, "503 5.5.1 MAIL first")?,
                "RCPT" => match strip_prefix_ci(&arg, "TO:") {
                    Some(to) => {
                        let to = to.trim().to_string();
                        let local = to.trim_start_matches('<').to_ascii_lowercase();
                        if local.starts_with("reject") {
                            reply(&mut w, "550 5.1.1 No such user here")?;
                        } else if local.starts_with("defer") {
                            reply(&mut w, "450 4.2.1 Mailbox busy, try again later")?;
                        } else {
                            self.rcpt_to.push(to);
                            reply(&mut w, "250 2.1.5 Recipient OK")?;
                        }
                    }
                    None => reply(&mut w, "501 5.5.4 Syntax: RCPT TO:<address>")?,
                },
                "DATA" if self.rcpt_to.is_empty() => {
                    reply(&mut w, "554 5.5.1 No valid recipients")?
                }
                "DATA" => {
                    reply(&mut w, "354 End data with <CR><LF>.<CR><LF>")?;
                    w.flush()?;
                    let wire = read_data(&mut reader)?;
                    match wire.as_deref().map(mailwire::body::unstuff) {
                        None => reply(&mut w, "552 5.3.4 Message too big")?,
                        Some(Ok(content)) => {
                            let message = ReceivedMessage {
                                helo: self.helo.clone().unwrap_or_default(),
                                authenticated_as: self.user.clone(),
                                mail_from: self.mail_from.take().unwrap_or_default(),
                                rcpt_to: std::mem::take(&mut self.rcpt_to),
                                content,
                            };
                            if let Ok(mut v) = self.shared.received.lock() {
                                v.push(message);
                            }
                            self.shared.arrived.notify_all();
                            reply(&mut w, "250 2.0.0 Ok: queued")?;
                        }
                        Some(Err(_)) => {
                            reply(&mut w, "554 5.6.0 Malformed content (bare CR or LF)")?
                        }
                    }
                    self.reset();
                }
                "RSET" => {
                    self.reset();
                    reply(&mut w, "250 2.0.0 Ok")?;
                }
                "NOOP" => reply(&mut w, "250 2.0.0 Ok")?,
                "VRFY" => reply(
                    &mut w,
                    "252 2.1.5 Cannot VRFY user, but will accept message",
                )?,
                "QUIT" => {
                    reply(&mut w, "221 2.0.0 Bye")?;
                    return w.flush();
                }
                _ => reply(&mut w, "502 5.5.2 Command not implemented")?,
            }
            // Answer a pipelined group in one write: flush only when no more input is buffered.
            if reader.buffer().is_empty() {
                w.flush()?;
            }
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    fn auth(
        &mut self,
        arg: &str,
        reader: &mut impl BufRead,
        w: &mut BufWriter<TcpStream>,
    ) -> io::Result<()> {
        if self.user.is_some() {
            return reply(w, "503 5.5.1 Already authenticated");
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => match challenge(reader, w, "")? {
                        Some(r) => r,
                        None => return reply(w, "501 5.7.0 Authentication cancelled"),
                    },
                };
                let decoded = decode(&response).unwrap_or_default();
                let mut parts = decoded.split(|&b| b == 0);
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(_authz), Some(user), Some(pass), None) => {
                        Some((user.to_vec(), pass.to_vec()))
                    }
                    _ => None,
                }
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => Some(u),
                    None => challenge(reader, w, "VXNlcm5hbWU6")?,
                };
                let pass = match user {
                    Some(_) => challenge(reader, w, "UGFzc3dvcmQ6")?,
                    None => None,
                };
                match (user, pass) {
                    (Some(u), Some(p)) => Some((
                        decode(&u).unwrap_or_default(),
                        decode(&p).unwrap_or_default(),
                    )),
                    _ => return reply(w, "501 5.7.0 Authentication cancelled"),
                }
            }
            _ => return reply(w, "504 5.5.4 Unrecognized authentication type"),
        };
        match credentials {
            Some((user, pass))
                if user == DEMO_USER.as_bytes() && pass == DEMO_PASSWORD.as_bytes() =>
            {
                self.user = Some(DEMO_USER.to_string());
                reply(w, "235 2.7.0 Authentication successful")
            }
            _ => reply(w, "535 5.7.8 Authentication credentials invalid"),
        }
    }
}

fn reply(w: &mut impl Write, line: &str) -> io::Result<()> {
    w.write_all(line.as_bytes())?;
    w.write_all(b"\r\n")
}

/// Sends a 334 challenge and reads the answer; `None` when the client cancels with `*`.
fn challenge(
    reader: &mut impl BufRead,
    w: &mut impl Write,
    text: &str,
) -> io::Result<Option<String>> {
    reply(w, &format!("334 {text}"))?;
    w.flush()?;
    let Some(line) = read_line(reader)? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed during AUTH",
        ));
    };
    let line = String::from_utf8_lossy(&line).trim().to_string();
    Ok(if line == "*" { None } else { Some(line) })
}

fn decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One command line without its line end; `None` at end of input.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "command line too long",
        ));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// DATA wire bytes up to and including the `.` CRLF line; `None` when over [`MAX_SIZE`] (the
/// rest is read and dropped).
fn read_data(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut wire = Vec::new();
    let mut too_big = false;
    loop {
        let start = wire.len();
        let n = reader
            .by_ref()
            .take(MAX_SIZE as u64 + 5)
            .read_until(b'\n', &mut wire)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during DATA",
            ));
        }
        let done = &wire[start..] == b".\r\n";
        if wire.len() > MAX_SIZE {
            too_big = true;
            wire.clear();
        }
        if done {
            return Ok(if too_big { None } else { Some(wire) });
        }
    }
}
