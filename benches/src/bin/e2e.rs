//! End-to-end benchmark on 127.0.0.1 against Postfix's `smtp-sink`.
//!
//! ```text
//! e2e drive  [--quick] [--out FILE.json] [--only a,b] [--workloads w1,w2]
//! e2e memory [--out FILE.json] [--dir DIR] [--mib N]
//! e2e tls    [--quick] [--out FILE.json] [--only a,b] [--workloads w1,w2]
//! e2e many   [--out FILE.json] [--k K1,K2,..]
//! e2e cpu    [--quick] [--out FILE.json] [--rounds R] [--messages N] [--server smtp-sink|fast]
//!            [--pin]
//! e2e client KIND --port P --messages N --rcpts R --message-file F --conn one|each
//!            [--time-limit SECS] [--stream] [--write-chunk BYTES]
//! ```
//!
//! `drive` runs every client on every workload, each client in its own process (so its CPU time
//! and peak RSS come from `wait4`'s rusage, not from guesses), each run against a fresh
//! `smtp-sink`, and each run bounded in time (the child is killed at its limit). Then, for round
//! trips, it runs each client again on a few messages through a counting relay and counts the
//! turns: how often the server spoke after the client did. Those probe runs are not timed.
//!
//! `client` is one client: `ours-blocking` (`send_bytes` one message at a time),
//! `ours-blocking-batch` (`send_many`, 100 at a time), `ours-mio` (`mailwire_mio::bulk::run`),
//! `lettre`, `lettre-nodelay` (our own variant: lettre with TCP_NODELAY set on its socket from
//! outside, to show where its time goes). The async rows (`ours-tokio`, `lettre-async`,
//! `lettre-async-nodelay`, `mail-send`, `mail-send-nodelay`) are `async_clients`, a sibling
//! binary, on one connection (`1k_one`) and through a pool (`1k_pool`: 16 tasks, 4 connections).
//! The Python smtplib client is `benches/py/smtplib_client.py`; `smtp-source` is Postfix's.
//! A client prints one JSON line: `{"ok": N, "failed": N, "secs": wall time}`.
//!
//! `tls` runs the same workloads over STARTTLS with AUTH PLAIN against aiosmtpd (our clients,
//! lettre with rustls, smtplib, swaks when installed). `many` runs many sessions on one
//! `mailwire-mio` thread through `smtp-bulk --connections K`. `reference` is the CPU floor: the
//! simplest pipelined client that only moves bytes; `reference-dir` (`--dir D`) is the same
//! client reading each pre-encoded body from its own file in `D`, the floor of `smtp-bulk --dir`.
//!
//! `cpu` is the CPU-per-1-MiB comparison with the reference, made robust to this VM's drift:
//! each client of ours that the comparison is about runs `R` rounds of `N` 1 MiB messages,
//! each run between two runs of the reference (the clients' order rotates each round), and
//! each ratio is taken against the mean of those two; the report gives the medians. It records
//! the kernel's TCP congestion control, which moves the figures (`scripts/bench.sh` runs it
//! under the machine's and, when that is not cubic and it may, again under cubic). `--pin` runs
//! every client on CPU 0 and the server on CPU 1 (it did not narrow the spread: see
//! `docs/PERFORMANCE.md`).
//!
//! `memory` streams one large message from a file (made in a temporary directory, deleted
//! after) through each adapter (blocking `send` of a `File`, mio `Content::file`, tokio `send`
//! of a `tokio::fs::File`) and reports the client's peak RSS next to a 1 KiB run.
//!
//! Nothing here talks to any address but 127.0.0.1.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// Shared with `async_clients` by path: it needs `unsafe` (setsockopt), which the library forbids.
#[path = "../nodelay.rs"]
mod nodelay;
// The server of `cpu --server fast`, run as `e2e fast-sink --port P` so that its CPU is its own
// process's.
#[path = "../fast_sink.rs"]
mod fast_sink;
use nodelay::set_nodelay_on_all_sockets;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("drive") => drive(&Args::parse(&args[1..])),
        Some("memory") => memory(&Args::parse(&args[1..])),
        Some("tls") => tls(&Args::parse(&args[1..])),
        Some("many") => many(&Args::parse(&args[1..])),
        Some("cpu") => cpu(&Args::parse(&args[1..])),
        Some("fast-sink") => Args::parse(&args[1..])
            .num("port", 0)
            .and_then(|port| Ok(fast_sink::serve(u16::try_from(port)?)?)),
        Some("client") if args.len() > 1 => client(&args[1], &Args::parse(&args[2..])),
        _ => Err(
            "usage: e2e drive|memory|tls|many|client KIND [--options] (see the source's docs)"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("e2e: {e}");
        std::process::exit(1);
    }
}

// ----------------------------------------------------------------------------------- arguments

/// `--key value` pairs and `--flag`s.
struct Args(Vec<(String, Option<String>)>);

impl Args {
    fn parse(args: &[String]) -> Args {
        let mut out = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let key = args[i].trim_start_matches("--").to_string();
            match args.get(i + 1) {
                Some(v) if !v.starts_with("--") => {
                    out.push((key, Some(v.clone())));
                    i += 2;
                }
                _ => {
                    out.push((key, None));
                    i += 1;
                }
            }
        }
        Args(out)
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
    fn flag(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
    fn num(&self, key: &str, default: u64) -> Result<u64, BoxError> {
        match self.get(key) {
            Some(v) => Ok(v
                .parse()
                .map_err(|_| format!("--{key}: not a number: {v}"))?),
            None => Ok(default),
        }
    }
}

// ------------------------------------------------------------------------------------- clients

/// What one client run reports on stdout.
fn report(ok: u64, failed: u64, secs: f64) {
    println!("{}", json!({"ok": ok, "failed": failed, "secs": secs}));
}

struct ClientArgs {
    port: u16,
    messages: u64,
    rcpts: usize,
    message_file: PathBuf,
    each: bool,
    time_limit: Duration,
    stream: bool,
    /// STARTTLS required, the server's certificate checked against this CA file.
    tls_ca: Option<PathBuf>,
    /// AUTH PLAIN (inside TLS) as `user:password`.
    auth: Option<(String, String)>,
    /// No TLS session resumption across connections: every handshake a full one.
    no_resumption: bool,
    /// `reference-dir`: a directory of pre-encoded bodies, one read per message.
    dir: Option<PathBuf>,
    /// `reference`: each flight written in pieces of this many bytes, not in one `write`
    /// (to measure what the write size alone costs the kernel; the comparison never sets it).
    write_chunk: Option<usize>,
}

impl ClientArgs {
    fn from(args: &Args) -> Result<ClientArgs, BoxError> {
        Ok(ClientArgs {
            port: args.num("port", 0)? as u16,
            messages: args.num("messages", 1)?,
            rcpts: args.num("rcpts", 1)? as usize,
            message_file: PathBuf::from(args.get("message-file").ok_or("--message-file")?),
            each: args.get("conn") == Some("each"),
            time_limit: Duration::from_secs(args.num("time-limit", 120)?),
            stream: args.flag("stream"),
            tls_ca: args.get("tls-ca").map(PathBuf::from),
            auth: args.get("auth").and_then(|a| {
                let (u, p) = a.split_once(':')?;
                Some((u.to_string(), p.to_string()))
            }),
            no_resumption: args.flag("no-resumption"),
            dir: args.get("dir").map(PathBuf::from),
            write_chunk: match args.num("write-chunk", 0)? {
                0 => None,
                n => Some(n as usize),
            },
        })
    }
}

fn client(kind: &str, args: &Args) -> Result<(), BoxError> {
    let a = ClientArgs::from(args)?;
    match kind {
        "ours-blocking" | "ours-blocking-full" => ours_blocking(&a, false),
        "ours-blocking-batch" => ours_blocking(&a, true),
        "ours-mio" | "ours-mio-full" => ours_mio(&a),
        "lettre" => lettre_client(&a, false),
        "lettre-nodelay" => lettre_client(&a, true),
        "reference" | "reference-dir" => reference_client(&a, false),
        "reference-dir-encode" => reference_client(&a, true),
        _ => Err(format!("unknown client {kind}").into()),
    }
}

/// The envelope of every message: [`mailwire_benches::SENDER`] to `rcpts` recipients.
fn our_envelope(rcpts: usize) -> Result<mailwire::Envelope, BoxError> {
    use mailwire::Mailbox;
    let to: Vec<Mailbox> = (0..rcpts)
        .map(|i| Mailbox::parse(&mailwire_benches::recipient(i)))
        .collect::<Result<_, _>>()?;
    Ok(mailwire::Envelope::new(
        Some(Mailbox::parse(mailwire_benches::SENDER)?),
        to,
    ))
}

/// Our blocking adapter. `batch`: `send_many` with 100 messages at a time (PIPELINING across
/// messages); else `send_bytes` one message at a time, each waiting for its outcome. With
/// `--stream`, the content is streamed from the file by `send` (never all in memory).
fn ours_blocking(a: &ClientArgs, batch: bool) -> Result<(), BoxError> {
    use mailwire::{ClientName, TlsPolicy};
    use mailwire_blocking::{Client, ClientOptions};

    let message = if a.stream {
        Vec::new()
    } else {
        std::fs::read(&a.message_file)?
    };
    let envelope = our_envelope(a.rcpts)?;
    let mut options = ClientOptions::new(
        "127.0.0.1",
        a.port,
        ClientName::parse("client.bench.example")?,
    );
    options.config.tls = TlsPolicy::Never;
    if let Some(ca) = &a.tls_ca {
        // STARTTLS with the test CA; clones of these options share one rustls configuration,
        // so a new connection resumes the last one's session unless resumption is off.
        options.config.tls = TlsPolicy::Required;
        options.tls.ca_file = Some(ca.clone());
        options.tls.resumption = !a.no_resumption;
    }
    if let Some((user, password)) = &a.auth {
        options.config.auth = Some(plain_auth(user, password));
    }
    let connect = || Client::connect(options.clone());

    let (mut ok, mut failed) = (0u64, 0u64);
    // Connections made, and those whose TLS handshake resumed an earlier one's session.
    let (mut connections, mut resumed) = (0u64, 0u64);
    let start = Instant::now();
    let mut sent = 0;
    let mut client = None;
    while sent < a.messages && start.elapsed() < a.time_limit {
        let c = match client.as_mut() {
            Some(c) => c,
            None => {
                let c = connect()?;
                connections += 1;
                if c.tls_handshake_kind() == Some(mailwire_blocking::rustls::HandshakeKind::Resumed)
                {
                    resumed += 1;
                }
                client.insert(c)
            }
        };
        if batch {
            let n = (a.messages - sent).min(100);
            let reports = c.send_many((0..n).map(|_| (envelope.clone(), &message[..])));
            for r in reports {
                match r {
                    Ok(o) if o.is_fully_accepted() => ok += 1,
                    _ => failed += 1,
                }
            }
            sent += n;
        } else {
            let result = if a.stream {
                c.send(envelope.clone(), std::fs::File::open(&a.message_file)?)
            } else {
                c.send_bytes(envelope.clone(), &message)
            };
            match result {
                Ok(r) if r.is_fully_accepted() => ok += 1,
                _ => failed += 1,
            }
            sent += 1;
        }
        if a.each {
            if let Some(c) = client.take() {
                c.quit()?;
            }
        }
    }
    if let Some(c) = client.take() {
        c.quit()?;
    }
    if a.tls_ca.is_some() {
        eprintln!("connections {connections} tls_resumed {resumed}");
    }
    report(ok, failed, start.elapsed().as_secs_f64());
    Ok(())
}

/// AUTH PLAIN with these credentials (the bench servers offer it inside TLS).
fn plain_auth(user: &str, password: &str) -> mailwire::AuthConfig {
    use mailwire::sasl::{Credentials, Mechanism};
    let mut auth = mailwire::AuthConfig::new(Credentials::Password {
        username: user.into(),
        password: mailwire::Secret::new(password.into()),
    });
    auth.mechanisms = vec![Mechanism::Plain];
    auth
}

/// Our mio adapter through its library API, `mailwire_mio::bulk::run`, with one connection and
/// its default windows (32 messages, 4 MiB queued ahead). For a connection per message,
/// `max_per_connection = 1` (each connection sends one message and says QUIT; the next opens
/// as it does). With `--stream`, the content is `Content::file` (read as it is sent).
fn ours_mio(a: &ClientArgs) -> Result<(), BoxError> {
    use mailwire::{ClientName, Config, TlsPolicy};
    use mailwire_mio::bulk::{run, BulkConfig, BulkMessage, Content};

    let content = if a.stream {
        Content::file(&a.message_file)
    } else {
        Content::shared(std::fs::read(&a.message_file)?)
    };
    let message = BulkMessage::new(our_envelope(a.rcpts)?, content);
    let mut session = Config::new(ClientName::parse("client.bench.example")?);
    session.tls = TlsPolicy::Never;
    if let Some((user, password)) = &a.auth {
        session.auth = Some(plain_auth(user, password));
    }
    let mut config = BulkConfig::new(([127, 0, 0, 1], a.port).into(), session);
    if let Some(ca) = &a.tls_ca {
        let mut options = mailwire_mio::TlsOptions::with_ca_file(ca);
        options.resumption = !a.no_resumption;
        config.session.tls = TlsPolicy::Required;
        config.tls = Some(mailwire_mio::TlsSetup::from_options(&options, "localhost")?);
    }
    if a.each {
        config.max_per_connection = Some(1);
    }

    let (mut ok, mut failed) = (0u64, 0u64);
    let start = Instant::now();
    let mut count = |r: &mailwire_mio::bulk::Report| match r.is_accepted() {
        true => ok += 1,
        false => failed += 1,
    };
    // The time limit is the driver's (it kills this process); the run itself is bounded by the
    // core's per-stage deadlines.
    let n = a.messages as usize;
    let summary = run(&config, std::iter::repeat_n(message, n), &mut count)?;
    if a.tls_ca.is_some() {
        eprintln!(
            "connections {} tls_resumed {}",
            summary.connections, summary.tls_resumed
        );
    }
    report(ok, failed, start.elapsed().as_secs_f64());
    Ok(())
}

/// lettre 0.11 as shipped: `SmtpConnection` (its public connection type, which `SmtpTransport`
/// uses) for one connection; `SmtpTransport` without the pool for a connection per message.
/// With `nodelay`, TCP_NODELAY is set on the connection's socket after connecting. With TLS
/// (lettre's rustls feature): `SmtpConnection` with `starttls` and `auth` (AUTH PLAIN), one
/// connection or a new one per message, all with one `TlsParameters` (one rustls
/// configuration, so a new connection may resume the last one's session).
fn lettre_client(a: &ClientArgs, nodelay: bool) -> Result<(), BoxError> {
    use lettre::address::{Address, Envelope};
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::{SmtpTransport, Transport};

    let message = std::fs::read(&a.message_file)?;
    let from: Address = mailwire_benches::SENDER.parse()?;
    let to: Vec<Address> = (0..a.rcpts)
        .map(|i| mailwire_benches::recipient(i).parse())
        .collect::<Result<_, _>>()?;
    let envelope = Envelope::new(Some(from), to)?;
    let hello = ClientId::Domain("client.bench.example".into());
    let timeout = Some(Duration::from_secs(30));
    let tls = match &a.tls_ca {
        Some(ca) => Some(
            TlsParameters::builder("localhost".into())
                .add_root_certificate(Certificate::from_pem(&std::fs::read(ca)?)?)
                .build_rustls()?,
        ),
        None => None,
    };
    let credentials = a
        .auth
        .as_ref()
        .map(|(u, p)| Credentials::new(u.clone(), p.clone()));
    let connect = || -> Result<SmtpConnection, BoxError> {
        let mut conn = SmtpConnection::connect(("127.0.0.1", a.port), timeout, &hello, None, None)?;
        if nodelay {
            set_nodelay_on_all_sockets();
        }
        if let Some(tls) = &tls {
            conn.starttls(tls, &hello)?;
        }
        if let Some(c) = &credentials {
            conn.auth(&[Mechanism::Plain], c)?;
        }
        Ok(conn)
    };

    let (mut ok, mut failed) = (0, 0);
    let start = Instant::now();
    let mut count = |r: bool| if r { ok += 1 } else { failed += 1 };
    if !a.each {
        let mut conn = connect()?;
        for _ in 0..a.messages {
            if start.elapsed() > a.time_limit {
                break;
            }
            count(conn.send(&envelope, &message).is_ok());
        }
        let _ = conn.quit();
    } else if nodelay || tls.is_some() {
        for _ in 0..a.messages {
            if start.elapsed() > a.time_limit {
                break;
            }
            let mut conn = connect()?;
            count(conn.send(&envelope, &message).is_ok());
            let _ = conn.quit();
        }
    } else {
        let transport = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(a.port)
            .hello_name(hello.clone())
            .timeout(timeout)
            .build();
        for _ in 0..a.messages {
            if start.elapsed() > a.time_limit {
                break;
            }
            count(transport.send_raw(&envelope, &message).is_ok());
        }
    }
    report(ok, failed, start.elapsed().as_secs_f64());
    Ok(())
}

/// The floor of the comparison, not a peer: the simplest pipelined client that does nothing but
/// move bytes. The body is dot-stuffed once at start (it is CRLF already); then for each message
/// one `write` carries the previous message's body and `.` and this message's MAIL, RCPT and
/// DATA (the first carries only the commands; the last body goes with QUIT), on a TCP_NODELAY
/// socket, with one read buffer and no reply parsing beyond finding each reply's last line
/// (`ddd ` at a line start). Replies it does not expect (not 2yz, or not 354 to DATA) count
/// the message failed. One connection only.
///
/// `reference-dir-encode` (`--dir D` of raw CRLF bodies, not dot-stuffed) is `reference-dir`
/// with our encoder and nothing else of ours: each file read 64 KiB at a time and put through
/// `mailwire::body::DataEncoder` into a 256 KiB buffer, written whenever it is full (what
/// `smtp-bulk --dir` does with the bytes, without the session, the feed or the mio loop).
fn reference_client(a: &ClientArgs, encode: bool) -> Result<(), BoxError> {
    let body = stuffed(&std::fs::read(&a.message_file)?);
    // `reference-dir`: each body read from its own file (pre-encoded) into the flight, as a
    // client sending a spool must read it: the floor for `smtp-bulk --dir`.
    let files: Vec<PathBuf> = match &a.dir {
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            files.sort();
            files
        }
        None => Vec::new(),
    };
    let mut commands = format!("MAIL FROM:<{}>\r\n", mailwire_benches::SENDER).into_bytes();
    for i in 0..a.rcpts {
        commands.extend_from_slice(
            format!("RCPT TO:<{}>\r\n", mailwire_benches::recipient(i)).as_bytes(),
        );
    }
    commands.extend_from_slice(b"DATA\r\n");

    let start = Instant::now();
    let mut sock = TcpStream::connect(("127.0.0.1", a.port))?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut replies = Replies::default();
    replies.expect(&mut sock, 1)?; // greeting
    sock.write_all(b"EHLO client.bench.example\r\n")?;
    replies.expect(&mut sock, 1)?;
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut flight = Vec::with_capacity(body.len() + commands.len() + 8);
    let mut chunk = vec![0u8; if encode { 64 * 1024 } else { 0 }];
    let n = a.messages;
    for m in 0..=n {
        flight.clear();
        if m > 0 {
            match files.get((m - 1) as usize) {
                Some(path) if encode => {
                    encode_file(&mut sock, path, &mut chunk, &mut flight)?;
                }
                Some(path) => {
                    std::fs::File::open(path)?.read_to_end(&mut flight)?;
                }
                None if a.dir.is_some() => return Err("fewer files than messages".into()),
                None => flight.extend_from_slice(&body),
            }
            flight.extend_from_slice(b".\r\n");
        }
        let more = m < n && start.elapsed() < a.time_limit;
        if more {
            flight.extend_from_slice(&commands);
        } else {
            flight.extend_from_slice(b"QUIT\r\n");
        }
        match a.write_chunk {
            Some(chunk) => {
                for piece in flight.chunks(chunk) {
                    sock.write_all(piece)?;
                }
            }
            None => sock.write_all(&flight)?,
        }
        // The previous message's end-of-data reply, then this one's MAIL, RCPT(s) and DATA.
        if m > 0 {
            match replies.expect(&mut sock, 1)?.iter().all(|&c| c / 100 == 2) {
                true => ok += 1,
                false => failed += 1,
            }
        }
        if !more {
            break;
        }
        let codes = replies.expect(&mut sock, 2 + a.rcpts)?;
        if codes.last() != Some(&354) {
            return Err(format!("DATA not accepted: {codes:?}").into());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    report(ok, failed, secs);
    Ok(())
}

/// `reference-dir-encode`'s body: `path` read `chunk.len()` bytes at a time, encoded for DATA
/// into `flight`, which is written each time it holds 256 KiB; what is left of the body stays
/// in `flight` (its CRLF before the `.` included) to go with the `.` and the next commands.
fn encode_file(
    sock: &mut TcpStream,
    path: &Path,
    chunk: &mut [u8],
    flight: &mut Vec<u8>,
) -> Result<(), BoxError> {
    let mut file = std::fs::File::open(path)?;
    let mut encoder = mailwire::body::DataEncoder::new();
    loop {
        let n = file.read(chunk)?;
        let Some(read) = chunk.get(..n).filter(|r| !r.is_empty()) else {
            break;
        };
        encoder.encode(read, flight);
        if flight.len() >= 256 * 1024 {
            sock.write_all(flight)?;
            flight.clear();
        }
    }
    // The encoder's end is CRLF (if the body lacks one) then `.` CRLF; the caller adds the
    // `.` CRLF itself.
    encoder.finish(flight);
    flight.truncate(flight.len().saturating_sub(3));
    Ok(())
}

/// `raw` dot-stuffed (a dot doubled at the start of each line), as the reference sends it.
fn stuffed(raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(raw.len() + raw.len() / 32);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            body.push(b'.');
        }
        body.extend_from_slice(line);
    }
    body
}

/// The reference client's reply reader: one buffer, replies counted by their last line.
#[derive(Default)]
struct Replies {
    buf: Vec<u8>,
    codes: Vec<u16>,
}

impl Replies {
    /// Reads until `n` more complete replies are in; their codes.
    fn expect(&mut self, sock: &mut TcpStream, n: usize) -> Result<Vec<u16>, BoxError> {
        let mut chunk = [0u8; 4096];
        loop {
            while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                if line.len() >= 4 && line[3] == b' ' {
                    let code = std::str::from_utf8(&line[..3])?.parse()?;
                    self.codes.push(code);
                }
            }
            if self.codes.len() >= n {
                return Ok(self.codes.drain(..n).collect());
            }
            let got = sock.read(&mut chunk)?;
            if got == 0 {
                return Err("server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
    }
}

// ---------------------------------------------------------------------------------- processes

/// What `wait4` says about a finished child.
struct Finished {
    /// Exit code, or -signal.
    code: i32,
    cpu_secs: f64,
    user_secs: f64,
    sys_secs: f64,
    max_rss_kib: i64,
    wall_secs: f64,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to completion, killing it at `limit`; collects rusage with `wait4`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Finished, BoxError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // A watchdog kills the child at the limit. The child is only reaped (wait4) after the
    // watchdog has stopped, so its pid cannot have been reused when it is killed.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let timed_out = timed_out.clone();
        std::thread::spawn(move || {
            if done_rx.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                timed_out.store(true, Ordering::SeqCst);
                // SAFETY: plain kill(2) of our own unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        })
    };
    // Wait for the exit without reaping (WNOWAIT), stop the watchdog, then reap with rusage.
    loop {
        // SAFETY: siginfo_t is plain data; waitid writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child with a valid siginfo pointer.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err("waitid failed".into());
        }
    }
    let wall_secs = start.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own exited child with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err("wait4 failed".into());
    }
    // The child is reaped: keep std from trying again.
    std::mem::forget(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Ok(Finished {
        code,
        cpu_secs: tv(usage.ru_utime) + tv(usage.ru_stime),
        user_secs: tv(usage.ru_utime),
        sys_secs: tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        wall_secs,
        timed_out: timed_out.load(Ordering::SeqCst),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Where Postfix's test programs are.
fn peers_dir() -> PathBuf {
    PathBuf::from(std::env::var("SMTP_PEERS_DIR").unwrap_or_else(|_| "/opt/smtp-peers".into()))
        .join("postfix")
}

fn postfix_command(program: &str) -> Command {
    let dir = peers_dir();
    let mut cmd = Command::new(dir.join("usr/sbin").join(program));
    cmd.env("LD_LIBRARY_PATH", dir.join("usr/lib/postfix"));
    cmd
}

/// `e2e cpu --pin`: every client on CPU 0, the server on CPU 1, so that neither migrates
/// between the two cores nor shares one with the other.
static PIN: AtomicBool = AtomicBool::new(false);

/// Runs `cmd`'s process on CPU `cpu` only, when `--pin` asked for it.
fn pin_if_asked(cmd: &mut Command, cpu: usize) {
    use std::os::unix::process::CommandExt;
    if !PIN.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: cpu_set_t is plain data, all zeroes is the empty set; CPU_SET writes within it.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set
    };
    // SAFETY: between fork and exec the closure only calls sched_setaffinity (async-signal
    // safe) on the set built above; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// A running `smtp-sink` on 127.0.0.1; killed on drop.
struct Sink {
    child: std::process::Child,
    port: u16,
}

/// Which server a run sends to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// Postfix's `smtp-sink`, the server of every table.
    SmtpSink,
    /// This binary's `fast-sink` ([`fast_sink`]): cheap enough that the client's CPU and the
    /// server's can be added up.
    Fast,
}

impl Sink {
    fn start() -> Result<Sink, BoxError> {
        Sink::start_server(Server::SmtpSink)
    }

    fn start_server(server: Server) -> Result<Sink, BoxError> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let mut cmd = match server {
                Server::SmtpSink => {
                    let mut cmd = postfix_command("smtp-sink");
                    // SAFETY: geteuid has no preconditions.
                    if unsafe { libc::geteuid() } == 0 {
                        cmd.args(["-u", "nobody"]);
                    }
                    cmd.arg(format!("127.0.0.1:{port}")).arg("256");
                    cmd
                }
                Server::Fast => {
                    let mut cmd = Command::new(std::env::current_exe()?);
                    cmd.args(["fast-sink", "--port", &port.to_string()]);
                    cmd
                }
            };
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            pin_if_asked(&mut cmd, 1);
            let mut child = cmd.spawn()?;
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    break;
                }
                if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                    drop(s);
                    return Ok(Sink { child, port });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(
            format!("{server:?} did not start (for smtp-sink: is ci/install-peers.sh done?)")
                .into(),
        )
    }
}

impl Sink {
    /// Stops the sink and returns the CPU seconds it used (from `wait4`), to show when the
    /// server, not the client, is the bottleneck.
    fn stop(mut self) -> f64 {
        let pid = self.child.id() as libc::pid_t;
        let _ = self.child.kill();
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own killed child with valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        // Reaped: `Drop` must not kill or wait again.
        self.port = 0;
        if r == pid {
            tv(usage.ru_utime) + tv(usage.ru_stime)
        } else {
            0.0
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// --------------------------------------------------------------------------------------- relay

/// A loopback relay in front of the sink that counts turns: each time the server sends after
/// the client sent. A client that waits for a reply before sending again makes one turn per
/// wait, so turns ÷ messages is the round trips per message.
struct Relay {
    port: u16,
    turns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

const CLIENT_SPOKE: u8 = 0;
const SERVER_SPOKE: u8 = 1;

impl Relay {
    fn start(upstream: u16) -> Result<Relay, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let turns = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (turns, stop) = (turns.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut pipes = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let _ = client.set_nonblocking(false);
                            if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                                pipes.extend(Relay::pipe(client, server, turns.clone()));
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
                for p in pipes {
                    let _ = p.join();
                }
            })
        };
        Ok(Relay {
            port,
            turns,
            stop,
            accept: Some(accept),
        })
    }

    /// Two copying threads; the greeting counts as a turn (the client waits for it).
    fn pipe(
        client: TcpStream,
        server: TcpStream,
        turns: Arc<AtomicU64>,
    ) -> Vec<std::thread::JoinHandle<()>> {
        let last = Arc::new(AtomicU8::new(CLIENT_SPOKE));
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let copy = move |mut from: TcpStream, mut to: TcpStream, me: u8, last: Arc<AtomicU8>| {
            let turns = turns.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let _ = from.set_read_timeout(Some(Duration::from_secs(60)));
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    // Mark before forwarding, so the answer cannot be seen first.
                    let before = last.swap(me, Ordering::SeqCst);
                    if me == SERVER_SPOKE && before == CLIENT_SPOKE {
                        turns.fetch_add(1, Ordering::SeqCst);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            })
        };
        let (c2, s2) = match (client.try_clone(), server.try_clone()) {
            (Ok(c), Ok(s)) => (c, s),
            _ => return Vec::new(),
        };
        vec![
            copy(client, server, CLIENT_SPOKE, last.clone()),
            copy(s2, c2, SERVER_SPOKE, last),
        ]
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        self.turns.load(Ordering::SeqCst)
    }
}

// ------------------------------------------------------------------------------------- driving

#[derive(Clone, Copy, PartialEq)]
enum Conn {
    One,
    Each,
    /// A pool of connections shared by many tasks (the async rows: `async_clients --conn pool`).
    Pool,
}

impl Conn {
    fn as_str(self) -> &'static str {
        match self {
            Conn::One => "one",
            Conn::Each => "each",
            Conn::Pool => "pool",
        }
    }
}

struct Workload {
    id: &'static str,
    title: &'static str,
    messages: u64,
    rcpts: usize,
    size: usize,
    conn: Conn,
    /// Messages of the untimed round-trip probe.
    probe: u64,
}

fn workloads(quick: bool) -> Vec<Workload> {
    let scale = if quick { 10 } else { 1 };
    vec![
        Workload {
            id: "1k_one",
            title: "1 KiB, 1 recipient, one connection",
            messages: 10_000 / scale,
            rcpts: 1,
            size: 1024,
            conn: Conn::One,
            probe: 50,
        },
        Workload {
            id: "1k_each",
            title: "1 KiB, 1 recipient, a new connection each",
            messages: 2_000 / scale,
            rcpts: 1,
            size: 1024,
            conn: Conn::Each,
            probe: 20,
        },
        Workload {
            id: "rcpt50",
            title: "1 KiB, 50 recipients, one connection",
            messages: 1_000 / scale,
            rcpts: 50,
            size: 1024,
            conn: Conn::One,
            probe: 20,
        },
        Workload {
            id: "1m_one",
            title: "1 MiB, 1 recipient, one connection",
            messages: 200 / scale,
            rcpts: 1,
            size: 1024 * 1024,
            conn: Conn::One,
            probe: 10,
        },
        Workload {
            id: "1k_pool",
            title: "1 KiB, 1 recipient, 16 tasks through a pool of 4 connections",
            messages: 10_000 / scale,
            rcpts: 1,
            size: 1024,
            conn: Conn::Pool,
            probe: 50,
        },
    ]
}

/// A client under test: its name in the tables, and a cap on its message count (lettre as
/// shipped runs at ~25 messages/s on loopback).
struct ClientKind {
    name: &'static str,
    cap: Option<u64>,
}

fn client_kinds() -> Vec<ClientKind> {
    vec![
        ClientKind {
            name: "ours-blocking",
            cap: None,
        },
        ClientKind {
            name: "ours-blocking-batch",
            cap: None,
        },
        ClientKind {
            name: "ours-mio",
            cap: None,
        },
        ClientKind {
            name: "lettre",
            cap: Some(200),
        },
        ClientKind {
            name: "lettre-nodelay",
            cap: None,
        },
        ClientKind {
            name: "smtplib",
            cap: None,
        },
        ClientKind {
            name: "smtp-source",
            cap: None,
        },
        ClientKind {
            name: "reference",
            cap: None,
        },
        ClientKind {
            name: "smtp-bulk-dir",
            cap: None,
        },
        ClientKind {
            name: "smtp-bulk-gen",
            cap: None,
        },
        // The async rows (`async_clients`): one connection (1k_one) and through a pool
        // (1k_pool) only. lettre's and mail-send's one connection, as shipped, wait on delayed
        // ACKs (~20 messages/s); lettre's pool reaches a few hundred.
        ClientKind {
            name: "ours-tokio",
            cap: None,
        },
        ClientKind {
            name: "lettre-async",
            cap: Some(200),
        },
        ClientKind {
            name: "lettre-async-nodelay",
            cap: None,
        },
        ClientKind {
            name: "mail-send",
            cap: Some(200),
        },
        ClientKind {
            name: "mail-send-nodelay",
            cap: None,
        },
    ]
}

/// The clients run by `async_clients`, not by this binary.
const ASYNC_CLIENTS: [&str; 5] = [
    "ours-tokio",
    "lettre-async",
    "lettre-async-nodelay",
    "mail-send",
    "mail-send-nodelay",
];

/// Whether client `k` runs workload `w` of the plain drive, and with how many messages.
fn plan(k: &ClientKind, w: &Workload) -> Option<u64> {
    let is_async = ASYNC_CLIENTS.contains(&k.name);
    let runs = match w.conn {
        // Batching is across messages of one connection; the reference floor writes one
        // connection only; the async rows are one connection and a pool.
        Conn::Each => !(k.name.ends_with("-batch") || k.name == "reference" || is_async),
        // The pool rows: our tokio Pool and lettre's (mail-send has none, and the NODELAY
        // variants set it on the one socket there is).
        Conn::Pool => matches!(k.name, "ours-tokio" | "lettre-async"),
        Conn::One => !is_async || w.id == "1k_one",
    };
    // The smtp-bulk binary (the mio rows' library in a command) runs the 1 MiB workload,
    // where its memory and CPU per MiB are the question.
    if !runs || (k.name.starts_with("smtp-bulk") && w.id != "1m_one") {
        return None;
    }
    let cap = match (k.name, w.conn) {
        // lettre's pool does not wait on delayed ACKs as its one connection does.
        ("lettre-async", Conn::Pool) => Some(2_000),
        _ => k.cap,
    };
    Some(cap.map_or(w.messages, |c| c.min(w.messages)))
}

/// Files for one message size: CRLF for our clients, lettre and smtplib; LF for smtp-source
/// (`-F` appends CRLF to each line and dot-stuffs, giving the same wire bytes).
struct MessageFiles {
    crlf: PathBuf,
    lf: PathBuf,
    /// The CRLF message dot-stuffed: what `reference-dir` reads, the wire form of the body.
    stuffed: PathBuf,
}

impl MessageFiles {
    /// A directory of `n` hard links to the CRLF message (for `smtp-bulk --dir`: the same bytes
    /// as every other client sends, each "file" read as it is sent).
    fn links(&self, n: u64) -> Result<PathBuf, BoxError> {
        links_to(&self.crlf, n)
    }
}

/// A directory of `n` hard links to `file`, made once.
fn links_to(file: &Path, n: u64) -> Result<PathBuf, BoxError> {
    let dir = file.with_file_name(format!(
        "links-{}-{n}",
        file.file_stem().and_then(|s| s.to_str()).unwrap_or("m")
    ));
    if !dir.exists() {
        std::fs::create_dir_all(&dir)?;
        for i in 0..n {
            std::fs::hard_link(file, dir.join(format!("{i:06}.eml")))?;
        }
    }
    Ok(dir)
}

fn message_files(dir: &Path, size: usize) -> Result<MessageFiles, BoxError> {
    let crlf = mailwire_benches::message(size);
    let lf: Vec<u8> = crlf.iter().copied().filter(|&b| b != b'\r').collect();
    let files = MessageFiles {
        crlf: dir.join(format!("message-{size}.eml")),
        lf: dir.join(format!("message-{size}-lf.eml")),
        stuffed: dir.join(format!("message-{size}-stuffed.eml")),
    };
    std::fs::write(&files.stuffed, stuffed(&crlf))?;
    std::fs::write(&files.crlf, crlf)?;
    std::fs::write(&files.lf, lf)?;
    Ok(files)
}

/// The command that runs `kind` for `messages` messages of workload `w` against `port`.
fn client_command(
    kind: &str,
    w: &Workload,
    messages: u64,
    port: u16,
    files: &MessageFiles,
    limit: Duration,
    tls: Option<&TlsRun>,
) -> Result<Command, BoxError> {
    let conn = w.conn.as_str();
    let common = |cmd: &mut Command, file: &Path| {
        cmd.args(["--port", &port.to_string()])
            .args(["--messages", &messages.to_string()])
            .args(["--rcpts", &w.rcpts.to_string()])
            .arg("--message-file")
            .arg(file)
            .args(["--conn", conn])
            .args(["--time-limit", &limit.as_secs().to_string()]);
        if let Some(t) = tls {
            cmd.arg("--tls-ca")
                .arg(&t.ca)
                .args(["--auth", &format!("{}:{}", t.user, t.password)]);
        }
        if kind.ends_with("-full") {
            cmd.arg("--no-resumption");
        }
    };
    Ok(match kind {
        "smtp-bulk-dir" | "smtp-bulk-gen" => {
            let mut cmd = Command::new(sibling_binary("smtp-bulk")?);
            cmd.args(["--server", &format!("127.0.0.1:{port}")])
                .args(["--from", mailwire_benches::SENDER])
                .args(["--to", &mailwire_benches::recipient(0)])
                .args(["--helo", "client.bench.example", "--json"]);
            if matches!(w.conn, Conn::Each) {
                // What `ours-mio` sets as `BulkConfig::max_per_connection`: one message a
                // connection, each connection after the first resuming the TLS session.
                cmd.args(["--max-per-connection", "1"]);
            }
            if kind == "smtp-bulk-dir" {
                cmd.arg("--dir").arg(files.links(messages)?);
            } else {
                cmd.args(["--messages", &messages.to_string()])
                    .args(["--size", &w.size.to_string()]);
            }
            match tls {
                Some(t) => {
                    cmd.args(["--starttls", "required", "--tls-name", "localhost"])
                        .arg("--ca-file")
                        .arg(&t.ca)
                        .args(["--auth-user", &t.user])
                        .arg("--auth-password-file")
                        .arg(&t.password_file);
                }
                None => {
                    cmd.args(["--starttls", "never"]);
                }
            }
            cmd
        }
        "swaks" => {
            // One process per connection (swaks sends one message a run), in a shell loop; the
            // loop's rusage includes the swaks processes it waited for.
            let t = tls.ok_or("swaks runs only with TLS here")?;
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(format!(
                "i=0; while [ $i -lt {messages} ]; do swaks --server 127.0.0.1 --port {port} \
                 --tls --tls-verify --tls-ca-path '{}' --auth PLAIN --auth-user '{}' \
                 --auth-password '{}' --helo client.bench.example --from {} --to {} \
                 --data @'{}' --silent 2 || exit 1; i=$((i+1)); done",
                t.ca.display(),
                t.user,
                t.password,
                mailwire_benches::SENDER,
                mailwire_benches::recipient(0),
                files.crlf.display()
            ));
            cmd
        }
        "smtplib" => {
            let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or("python3".into()));
            cmd.arg(script_dir().join("smtplib_client.py"));
            common(&mut cmd, &files.crlf);
            cmd
        }
        "smtp-source" => {
            let mut cmd = postfix_command("smtp-source");
            if w.conn == Conn::One {
                cmd.arg("-d");
            }
            cmd.args(["-m", &messages.to_string()])
                .args(["-r", &w.rcpts.to_string()])
                .args(["-M", "client.bench.example"])
                .args(["-f", mailwire_benches::SENDER])
                .args(["-t", &mailwire_benches::recipient(0)])
                .arg("-F")
                .arg(&files.lf)
                .arg(format!("127.0.0.1:{port}"));
            cmd
        }
        "reference-dir" => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["client", kind]);
            common(&mut cmd, &files.crlf);
            cmd.arg("--dir").arg(links_to(&files.stuffed, messages)?);
            cmd
        }
        "reference-dir-encode" => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["client", kind]);
            common(&mut cmd, &files.crlf);
            // The raw bodies `smtp-bulk --dir` reads.
            cmd.arg("--dir").arg(files.links(messages)?);
            cmd
        }
        _ if ASYNC_CLIENTS.contains(&kind) => {
            let mut cmd = Command::new(sibling_binary("async_clients")?);
            cmd.arg(kind);
            common(&mut cmd, &files.crlf);
            cmd
        }
        _ => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["client", kind]);
            common(&mut cmd, &files.crlf);
            cmd
        }
    })
}

/// A binary built next to this one (`target/release/smtp-bulk`).
fn sibling_binary(name: &str) -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    if !path.exists() {
        return Err(format!(
            "{} missing: cargo build --release -p mailwire-cli",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// What the TLS runs need: the test CA, and the AUTH PLAIN user.
struct TlsRun {
    ca: PathBuf,
    user: String,
    password: String,
    password_file: PathBuf,
}

/// `benches/py`, found from the source tree this binary was built from.
fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py")
}

/// Runs one client once against a fresh `server`; `relay` puts the turn counter in between.
fn run_once(
    server: Server,
    kind: &str,
    w: &Workload,
    messages: u64,
    files: &MessageFiles,
    relay: bool,
) -> Result<(Finished, Option<u64>, f64), BoxError> {
    let sink = Sink::start_server(server)?;
    let relay = if relay {
        Some(Relay::start(sink.port)?)
    } else {
        None
    };
    let port = relay.as_ref().map_or(sink.port, |r| r.port);
    let limit = Duration::from_secs(120);
    let mut cmd = client_command(kind, w, messages, port, files, limit, None)?;
    pin_if_asked(&mut cmd, 0);
    let finished = run_bounded(cmd, limit + Duration::from_secs(10))?;
    // Let the relay see the last bytes and the close.
    let turns = relay.map(|r| {
        std::thread::sleep(Duration::from_millis(50));
        r.finish()
    });
    let server_cpu = sink.stop();
    Ok((finished, turns, server_cpu))
}

fn drive(args: &Args) -> Result<(), BoxError> {
    let quick = args.flag("quick");
    let only: Option<Vec<&str>> = args.get("only").map(|s| s.split(',').collect());
    let wanted_w: Option<Vec<&str>> = args.get("workloads").map(|s| s.split(',').collect());
    let dir = TempDir::new("e2e")?;
    let mut results = Vec::new();
    for w in workloads(quick) {
        if wanted_w.as_ref().is_some_and(|o| !o.contains(&w.id)) {
            continue;
        }
        let files = message_files(dir.path(), w.size)?;
        let floor = rss_floor()?;
        eprintln!(
            "== {} ({} messages; a child's RSS floor here {floor} KiB)",
            w.title, w.messages
        );
        for k in client_kinds() {
            if only.as_ref().is_some_and(|o| !o.contains(&k.name)) {
                continue;
            }
            let Some(messages) = plan(&k, &w) else {
                continue;
            };
            let (f, _, server_cpu) =
                run_once(Server::SmtpSink, k.name, &w, messages, &files, false)?;
            let (ok, failed, secs) = client_result(&f, k.name, messages);
            let (probe, turns, _) = run_once(
                Server::SmtpSink,
                k.name,
                &w,
                w.probe.min(messages),
                &files,
                true,
            )?;
            let probe_ok = probe.code == 0 && !probe.timed_out;
            let rtt = turns
                .filter(|_| probe_ok)
                .map(|t| t as f64 / w.probe.min(messages) as f64);
            let row = json!({
                "workload": w.id,
                "title": w.title,
                "client": k.name,
                "messages": messages,
                "capped": messages < w.messages,
                "rcpts": w.rcpts,
                "size": w.size,
                "round_trips_per_msg": rtt,
                "probe_messages": w.probe.min(messages),
            });
            let mut row = with_measures(row, &f, (ok, failed, secs), w.size, server_cpu);
            row["rss_floor_kib"] = json!(floor);
            eprintln!(
                "   {:<16} {:>6} ok in {:>7.3}s: {:>9.1} msg/s {:>8.2} MB/s {:>8.1} µs CPU/msg {:>7} KiB RSS, {} RT/msg{}",
                k.name,
                ok,
                secs,
                ok as f64 / secs,
                ok as f64 * w.size as f64 / secs / 1e6,
                row["cpu_us_per_msg"].as_f64().unwrap_or(0.0),
                f.max_rss_kib,
                rtt.map_or("?".to_string(), |r| format!("{r:.2}")),
                if f.code != 0 || f.timed_out {
                    format!(" [exit {} timed_out {}] {}", f.code, f.timed_out, f.stderr.trim())
                } else {
                    String::new()
                }
            );
            results.push(row);
        }
    }
    let out = json!({ "quick": quick, "runs": results });
    write_out(args, &out)
}

/// The clients of the interleaved CPU comparison: the floor first, then ours.
/// `reference-dir` is the floor of `smtp-bulk-dir`'s work (each body read from its own file):
/// set beside the reference it shows what reading the files costs by itself.
/// `reference-dir-encode` adds our encoder to it (raw files, `DataEncoder`, nothing else of
/// ours): against it `smtp-bulk-dir` shows what the session, the feed and the loop cost.
const CPU_CLIENTS: [&str; 8] = [
    "reference",
    "ours-blocking",
    "ours-blocking-batch",
    "ours-mio",
    "smtp-bulk-gen",
    "smtp-bulk-dir",
    "reference-dir",
    "reference-dir-encode",
];

/// CPU per 1 MiB message, `rounds` rounds of every client in [`CPU_CLIENTS`], interleaved: a
/// single run per client (as `drive` makes) lands each client in a different minute of a VM
/// whose speed drifts by tens of percent over minutes, so a ratio of two single runs says as
/// much about the minute as about the clients. Here each round runs the reference, then each
/// client of ours followed by the reference again (the clients' order rotated by one each
/// round), and each client's ratio is against the mean of the two reference runs around it,
/// each a few seconds away.
fn cpu(args: &Args) -> Result<(), BoxError> {
    let quick = args.flag("quick");
    let rounds: usize = match args.get("rounds") {
        Some(r) => r.parse()?,
        None if quick => 3,
        // With one reference run per round, 5 rounds gave one client's ratios 1.14-1.50, and
        // 11 rounds 1.02-1.63: a client and the reference ran up to five runs apart.
        None => 7,
    };
    let messages: u64 = match args.get("messages") {
        Some(m) => m.parse()?,
        // As many as `drive`'s 1 MiB rows, so that the start of a process weighs the same.
        None if quick => 40,
        None => 200,
    };
    let w = workloads(false)
        .into_iter()
        .find(|w| w.id == "1m_one")
        .ok_or("no 1m_one workload")?;
    let dir = TempDir::new("e2e-cpu")?;
    let files = message_files(dir.path(), w.size)?;
    // Which congestion control the kernel gives the connections decides how much of the
    // kernel's transmit work lands on the client (see "Where the CPU goes"), so it is part of
    // the result.
    let congestion = congestion_control();
    eprintln!(
        "== CPU per 1 MiB message: {rounds} rounds of {messages} messages, interleaved \
         (TCP congestion control: {})",
        congestion.as_deref().unwrap_or("unknown")
    );
    let pinned = args.flag("pin");
    PIN.store(pinned, Ordering::Relaxed);
    let server = match args.get("server") {
        None | Some("smtp-sink") => Server::SmtpSink,
        Some("fast") => Server::Fast,
        Some(other) => return Err(format!("cpu: --server {other}: smtp-sink or fast").into()),
    };
    // Each run's CPU per message: the client's, and the server's.
    let run = |kind: &str, round: usize| -> Result<(f64, f64), BoxError> {
        let (f, _, server_cpu) = run_once(server, kind, &w, messages, &files, false)?;
        let (ok, failed, _) = client_result(&f, kind, messages);
        if f.code != 0 || f.timed_out || ok != messages || failed != 0 {
            return Err(format!(
                "cpu: {kind} round {round}: {ok} ok, {failed} failed, exit {} timed out {}: {}",
                f.code,
                f.timed_out,
                f.stderr.trim()
            )
            .into());
        }
        let us = f.cpu_secs / ok as f64 * 1e6;
        let server = server_cpu / ok as f64 * 1e6;
        eprintln!("   round {round} {kind:<20} {us:>8.1} µs CPU/msg (server {server:.1})");
        Ok((us, server))
    };
    let ours = &CPU_CLIENTS[1..];
    // Per client: its CPU per message in each round, the server's, and the ratios to the
    // reference around it: of the client's CPU, and of the client's and the server's together
    // (the kernel's loopback work is billed to one side or the other, but it is in the sum).
    let mut cpu_us: Vec<Vec<f64>> = vec![Vec::new(); CPU_CLIENTS.len()];
    let mut server_us: Vec<Vec<f64>> = vec![Vec::new(); CPU_CLIENTS.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); CPU_CLIENTS.len()];
    let mut total_ratios: Vec<Vec<f64>> = vec![Vec::new(); CPU_CLIENTS.len()];
    for round in 0..rounds {
        let mut before = run(CPU_CLIENTS[0], round)?;
        cpu_us[0].push(before.0);
        server_us[0].push(before.1);
        for k in 0..ours.len() {
            let i = 1 + (k + round) % ours.len();
            let (us, server) = run(CPU_CLIENTS[i], round)?;
            let after = run(CPU_CLIENTS[0], round)?;
            cpu_us[0].push(after.0);
            server_us[0].push(after.1);
            cpu_us[i].push(us);
            server_us[i].push(server);
            ratios[i].push(us / ((before.0 + after.0) / 2.0));
            let sum = |(c, s): (f64, f64)| c + s;
            total_ratios[i].push((us + server) / ((sum(before) + sum(after)) / 2.0));
            before = after;
        }
    }
    ratios[0] = vec![1.0; cpu_us[0].len()];
    total_ratios[0] = vec![1.0; cpu_us[0].len()];
    let totals: Vec<Vec<f64>> = cpu_us
        .iter()
        .zip(&server_us)
        .map(|(c, s)| c.iter().zip(s).map(|(c, s)| c + s).collect())
        .collect();
    // `smtp-bulk --dir` against its own floor, round by round (both ran in every round).
    let pos = |name: &str| CPU_CLIENTS.iter().position(|&c| c == name);
    let against = |floor: &str| match (pos("smtp-bulk-dir"), pos(floor)) {
        (Some(d), Some(f)) => {
            let r: Vec<f64> = cpu_us[d]
                .iter()
                .zip(&cpu_us[f])
                .map(|(d, f)| d / f)
                .collect();
            json!({
                "client": "smtp-bulk-dir",
                "floor": floor,
                "ratios": r,
                "median_ratio": median(&r),
            })
        }
        _ => Value::Null,
    };
    let like_for_like = against("reference-dir");
    let like_for_like_encode = against("reference-dir-encode");
    let rows: Vec<Value> = CPU_CLIENTS
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            json!({
                "client": kind,
                "cpu_us_per_msg": cpu_us[i],
                "median_us": median(&cpu_us[i]),
                "ratios": ratios[i],
                "median_ratio": median(&ratios[i]),
                "server_us_per_msg": server_us[i],
                "median_server_us": median(&server_us[i]),
                "total_ratios": total_ratios[i],
                "median_total_ratio": median(&total_ratios[i]),
                "median_total_us": median(&totals[i]),
            })
        })
        .collect();
    let after = congestion_control();
    let out = json!({
        "rounds": rounds,
        "messages": messages,
        "size": w.size,
        "method": "neighbours",
        "pinned": pinned,
        "server": match server {
            Server::SmtpSink => "smtp-sink",
            Server::Fast => "fast-sink",
        },
        // Null when it could not be read, or when it changed during the run.
        "congestion_control": if after == congestion { congestion } else { None },
        "clients": rows,
        "like_for_like": like_for_like,
        "like_for_like_encode": like_for_like_encode,
    });
    write_out(args, &out)
}

/// The kernel's TCP congestion control for new connections (`net.ipv4.tcp_congestion_control`),
/// if it can be read.
fn congestion_control() -> Option<String> {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The peak RSS `wait4` reports for `true` run from this process now. Linux records the
/// parent's high-water mark in a child's `ru_maxrss` when the child execs (the child shares or
/// copies the parent's memory until then), so no child of this driver reports less: every RSS
/// below is at least this floor, which grows with what the driver itself has held.
fn rss_floor() -> Result<i64, BoxError> {
    Ok(run_bounded(Command::new("true"), Duration::from_secs(10))?.max_rss_kib)
}

/// `row` (a JSON object) with one timed run's measures added: the client's own `(ok, failed,
/// secs)`, rates for messages of `size` bytes, and what `wait4` said about its process.
fn with_measures(
    mut row: Value,
    f: &Finished,
    (ok, failed, secs): (u64, u64, f64),
    size: usize,
    server_cpu: f64,
) -> Value {
    let measures = json!({
        "ok": ok,
        "failed": failed,
        "secs": secs,
        "wall_secs": f.wall_secs,
        "msgs_per_sec": ok as f64 / secs,
        "mb_per_sec": ok as f64 * size as f64 / secs / 1e6,
        "cpu_us_per_msg": if ok > 0 { f.cpu_secs / ok as f64 * 1e6 } else { 0.0 },
        "user_secs": f.user_secs,
        "sys_secs": f.sys_secs,
        "server_cpu_secs": server_cpu,
        "max_rss_kib": f.max_rss_kib,
        "exit": f.code,
        "timed_out": f.timed_out,
        "stderr": f.stderr.chars().take(500).collect::<String>(),
    });
    if let (Some(row), Value::Object(measures)) = (row.as_object_mut(), measures) {
        row.extend(measures);
    }
    row
}

/// The last line of `stdout` that parses as JSON (a client's report, smtp-bulk's summary), or
/// null.
fn last_json(stdout: &str) -> Value {
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null)
}

/// A client's own report: its last JSON line, `{"ok", "failed", "secs"}` (smtp-bulk's summary
/// says `accepted` and `seconds`). smtp-source and the swaks loop do not time themselves: their
/// process's wall time is used, and their exit status says whether all went.
fn client_result(f: &Finished, kind: &str, messages: u64) -> (u64, u64, f64) {
    let client = last_json(&f.stdout);
    let untimed = matches!(kind, "smtp-source" | "swaks");
    let ok = client["ok"]
        .as_u64()
        .or(client["accepted"].as_u64())
        .unwrap_or(if f.code == 0 && untimed { messages } else { 0 });
    let failed = client["failed"].as_u64().unwrap_or(0) + client["rejected"].as_u64().unwrap_or(0);
    let secs = client["secs"]
        .as_f64()
        .or(client["seconds"].as_f64())
        .unwrap_or(f.wall_secs);
    (ok, failed, secs)
}

fn write_out(args: &Args, out: &Value) -> Result<(), BoxError> {
    let text = serde_json::to_string_pretty(out)?;
    match args.get("out") {
        Some(path) => std::fs::write(path, text)?,
        None => println!("{text}"),
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------- TLS

/// aiosmtpd (`testkit/peers/aiosmtpd_server.py`) on 127.0.0.1 with STARTTLS required and AUTH
/// PLAIN required, the test certificate; messages are not stored (one line each on a pipe this
/// process drains). Killed on drop.
struct TlsServer {
    /// The child and its port, killed and reaped as a sink is.
    process: Sink,
    _stdin: Option<std::process::ChildStdin>,
}

impl TlsServer {
    fn start(cert: &mailwire_testkit::TestCert, t: &TlsRun) -> Result<TlsServer, BoxError> {
        use std::io::BufRead;
        let python = mailwire_testkit::Aiosmtpd::python()
            .ok_or("no Python with aiosmtpd (ci/install-peers.sh)")?;
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testkit/peers/aiosmtpd_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(["--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"])
            .arg("--tls-cert")
            .arg(cert.cert_path())
            .arg("--tls-key")
            .arg(cert.key_path())
            .args(["--starttls", "--require-starttls", "--auth-required"])
            .args(["--auth-user", &t.user, "--auth-password", &t.password])
            .args(["--auth-mechanisms", "PLAIN"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let port = loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err("aiosmtpd exited before READY".into());
            }
            if let Some(p) = line.trim().strip_prefix("READY ") {
                break p.parse::<u16>()?;
            }
        };
        // Drain the per-message lines so that the server never blocks on its stdout.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Ok(TlsServer {
            process: Sink { child, port },
            _stdin: stdin,
        })
    }

    /// Stops the server; the CPU seconds it used.
    fn stop(self) -> f64 {
        self.process.stop()
    }
}

/// The TLS workloads: the same bytes as the plain ones, over STARTTLS with AUTH PLAIN.
fn tls_workloads(quick: bool) -> Vec<(Workload, Vec<ClientKind>)> {
    let scale = if quick { 10 } else { 1 };
    let kind = |name, cap| ClientKind { name, cap };
    vec![
        (
            Workload {
                id: "tls_1k_one",
                title: "TLS: 1 KiB, one connection (STARTTLS, AUTH PLAIN)",
                messages: 10_000 / scale,
                rcpts: 1,
                size: 1024,
                conn: Conn::One,
                probe: 0,
            },
            vec![
                kind("ours-blocking", None),
                kind("ours-blocking-batch", None),
                kind("ours-mio", None),
                kind("lettre", Some(200)),
                kind("lettre-nodelay", None),
                kind("smtplib", None),
            ],
        ),
        (
            Workload {
                id: "tls_1k_each",
                title: "TLS: 1 KiB, a new connection each (TCP, greeting, EHLO, STARTTLS, handshake, EHLO, AUTH PLAIN, message, QUIT)",
                messages: 1_000 / scale,
                rcpts: 1,
                size: 1024,
                conn: Conn::Each,
                probe: 0,
            },
            vec![
                kind("ours-blocking", None),
                kind("ours-blocking-full", None),
                kind("ours-mio", None),
                kind("ours-mio-full", None),
                kind("smtp-bulk-gen", None),
                kind("lettre", Some(100)),
                kind("lettre-nodelay", None),
                kind("smtplib", None),
                kind("swaks", Some(100)),
            ],
        ),
        (
            Workload {
                id: "tls_1m_one",
                title: "TLS: 1 MiB, one connection (STARTTLS, AUTH PLAIN)",
                messages: 200 / scale,
                rcpts: 1,
                size: 1024 * 1024,
                conn: Conn::One,
                probe: 0,
            },
            vec![
                kind("ours-blocking", None),
                kind("ours-blocking-batch", None),
                kind("ours-mio", None),
                kind("smtp-bulk-dir", None),
                kind("lettre", Some(50)),
                kind("lettre-nodelay", None),
                kind("smtplib", None),
            ],
        ),
    ]
}

/// Every TLS workload, each client in its own process against a fresh aiosmtpd.
fn tls(args: &Args) -> Result<(), BoxError> {
    let quick = args.flag("quick");
    let only: Option<Vec<&str>> = args.get("only").map(|s| s.split(',').collect());
    let wanted_w: Option<Vec<&str>> = args.get("workloads").map(|s| s.split(',').collect());
    let dir = TempDir::new("tls")?;
    let cert = mailwire_testkit::TestCert::generate()?;
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "bench-password")?;
    let t = TlsRun {
        ca: cert.ca_path().to_path_buf(),
        user: "bench".into(),
        password: "bench-password".into(),
        password_file,
    };
    let mut results = Vec::new();
    for (w, kinds) in tls_workloads(quick) {
        if wanted_w.as_ref().is_some_and(|o| !o.contains(&w.id)) {
            continue;
        }
        let files = message_files(dir.path(), w.size)?;
        let floor = rss_floor()?;
        eprintln!(
            "== {} ({} messages; a child's RSS floor here {floor} KiB)",
            w.title, w.messages
        );
        for k in kinds {
            if only.as_ref().is_some_and(|o| !o.contains(&k.name)) {
                continue;
            }
            if k.name == "swaks" && Command::new("swaks").arg("--version").output().is_err() {
                eprintln!("   swaks not installed: skipped");
                continue;
            }
            let messages = k.cap.map_or(w.messages, |c| c.min(w.messages));
            let server = TlsServer::start(&cert, &t)?;
            let limit = Duration::from_secs(180);
            let cmd = client_command(
                k.name,
                &w,
                messages,
                server.process.port,
                &files,
                limit,
                Some(&t),
            )?;
            let f = run_bounded(cmd, limit + Duration::from_secs(10))?;
            let server_cpu = server.stop();
            let (ok, failed, secs) = client_result(&f, k.name, messages);
            // Our clients say how many of their connections resumed a TLS session (`ours-*` on
            // stderr, smtp-bulk in its JSON summary).
            let resumed = f
                .stderr
                .split_whitespace()
                .skip_while(|w| *w != "tls_resumed")
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .or_else(|| last_json(&f.stdout)["tls_resumed"].as_u64());
            let row = json!({
                "workload": w.id,
                "title": w.title,
                "client": k.name,
                "messages": messages,
                "capped": messages < w.messages,
                "size": w.size,
                "conn": w.conn.as_str(),
                "tls_resumed": resumed,
            });
            let mut row = with_measures(row, &f, (ok, failed, secs), w.size, server_cpu);
            row["rss_floor_kib"] = json!(floor);
            eprintln!(
                "   {:<20} {:>6} ok in {:>7.3}s: {:>8.1} msg/s {:>8.1} µs CPU/msg {:>7} KiB RSS, server CPU {:.2}s{}{}",
                k.name,
                ok,
                secs,
                ok as f64 / secs,
                row["cpu_us_per_msg"].as_f64().unwrap_or(0.0),
                f.max_rss_kib,
                server_cpu,
                resumed.map_or(String::new(), |r| format!(", {r} resumed")),
                if f.code != 0 || f.timed_out {
                    format!(" [exit {} timed_out {}] {}", f.code, f.timed_out, f.stderr.trim())
                } else {
                    String::new()
                }
            );
            results.push(row);
        }
    }
    write_out(args, &json!({ "quick": quick, "runs": results }))
}

// ------------------------------------------------------------------------------ many sessions

/// Many sessions on one `mailwire-mio` thread: `smtp-bulk --connections K` (1 KiB messages, 20
/// per connection, 4 queued per connection so that every connection has work while the last
/// ones open) against one smtp-sink that takes them all (`-m` and the listen backlog above K).
/// K = 1 is the baseline for RSS per connection.
fn many(args: &Args) -> Result<(), BoxError> {
    let ks: Vec<u64> = args
        .get("k")
        .unwrap_or("1,1000")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let per = args.num("per", 20)?;
    let mut runs = Vec::new();
    for k in ks {
        let messages = per * k;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut cmd = postfix_command("smtp-sink");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "nobody"]);
        }
        let sink_child = cmd
            .args(["-m", &(2 * k + 16).to_string()])
            .arg(format!("127.0.0.1:{port}"))
            .arg("4096")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let sink = Sink {
            child: sink_child,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut bulk = Command::new(sibling_binary("smtp-bulk")?);
        bulk.args(["--server", &format!("127.0.0.1:{port}")])
            .args(["--connections", &k.to_string()])
            .args(["--window", "4", "--max-connecting", "1024"])
            .args(["--messages", &messages.to_string(), "--size", "1024"])
            .args(["--from", mailwire_benches::SENDER])
            .args(["--to", &mailwire_benches::recipient(0)])
            .args(["--helo", "client.bench.example", "--starttls", "never"])
            .args(["--timeout", "60", "--json"]);
        let f = run_bounded(bulk, Duration::from_secs(300))?;
        let server_cpu = sink.stop();
        let summary = last_json(&f.stdout);
        let ok = summary["accepted"].as_u64().unwrap_or(0);
        let secs = summary["seconds"].as_f64().unwrap_or(f.wall_secs);
        eprintln!(
            "   K={k:<5} {ok} ok in {secs:.2}s: {:.0} msg/s, {:.1} µs CPU/msg, {} KiB RSS, peak {} open, sink CPU {server_cpu:.2}s",
            ok as f64 / secs,
            f.cpu_secs / ok.max(1) as f64 * 1e6,
            f.max_rss_kib,
            summary["peak_connections"],
        );
        runs.push(json!({
            "k": k,
            "messages": messages,
            "ok": ok,
            "secs": secs,
            "msgs_per_sec": ok as f64 / secs,
            "cpu_us_per_msg": f.cpu_secs / ok.max(1) as f64 * 1e6,
            "max_rss_kib": f.max_rss_kib,
            "peak_connections": summary["peak_connections"],
            "connections": summary["connections"],
            "server_cpu_secs": server_cpu,
            "exit": f.code,
            "timed_out": f.timed_out,
        }));
    }
    write_out(args, &json!({ "runs": runs }))
}

// -------------------------------------------------------------------------------------- memory

/// Writes a message of `mib` MiB (header, then whole 70-byte CRLF lines) to `path` in 1 MiB
/// blocks, so the generator itself stays small.
fn write_big_message(path: &Path, mib: usize) -> Result<u64, BoxError> {
    let header = mailwire_benches::message(1024);
    let header = &header[..header
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(0)
        + 4];
    let mut block = mailwire_benches::text_body(1 << 20, mailwire_benches::LineEnd::Crlf);
    let whole = block.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    block.truncate(whole);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(header)?;
    let mut written = header.len() as u64;
    while written < (mib as u64) << 20 {
        file.write_all(&block)?;
        written += block.len() as u64;
    }
    file.flush()?;
    Ok(written)
}

/// Peak RSS of our blocking client streaming one message of each size from a file; lettre as
/// shipped and smtplib (which take the message in memory) for comparison at 100 MiB.
fn memory(args: &Args) -> Result<(), BoxError> {
    let big_mib = args.num("mib", 1024)? as usize;
    let dir = match args.get("dir") {
        Some(d) => {
            let path = PathBuf::from(d).join(format!("smtp-bench-memory-{}", std::process::id()));
            std::fs::create_dir_all(&path)?;
            TempDir(path)
        }
        None => TempDir::new("memory")?,
    };
    let mut runs = Vec::new();
    let cases: Vec<(&str, usize, bool)> = vec![
        ("ours-blocking", 0, true),
        ("ours-blocking", 100, true),
        ("ours-blocking", big_mib, true),
        ("ours-mio", big_mib, true),
        ("ours-tokio", big_mib, true),
        ("lettre", 100, false),
        ("smtplib", 100, false),
    ];
    for (kind, mib, stream) in cases {
        let path = dir.path().join(format!("big-{mib}.eml"));
        let bytes = if mib == 0 {
            std::fs::write(&path, mailwire_benches::message(1024))?;
            1024
        } else if path.exists() {
            std::fs::metadata(&path)?.len()
        } else {
            write_big_message(&path, mib)?
        };
        let sink = Sink::start()?;
        let limit = Duration::from_secs(300);
        let mut cmd = if kind == "smtplib" {
            let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or("python3".into()));
            cmd.arg(script_dir().join("smtplib_client.py"));
            cmd
        } else if ASYNC_CLIENTS.contains(&kind) {
            let mut cmd = Command::new(sibling_binary("async_clients")?);
            cmd.arg(kind);
            cmd
        } else {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["client", kind]);
            cmd
        };
        cmd.args([
            "--port",
            &sink.port.to_string(),
            "--messages",
            "1",
            "--rcpts",
            "1",
        ])
        .arg("--message-file")
        .arg(&path)
        .args(["--time-limit", &limit.as_secs().to_string()]);
        if stream {
            cmd.arg("--stream");
        }
        let f = run_bounded(cmd, limit + Duration::from_secs(10))?;
        let server_cpu = sink.stop();
        let client = last_json(&f.stdout);
        let ok = client["ok"].as_u64().unwrap_or(0);
        let secs = client["secs"].as_f64().unwrap_or(f.wall_secs);
        eprintln!(
            "   {kind:<16} {:>11} bytes {}: ok {ok} in {secs:.2}s ({:.1} MB/s), peak RSS {} KiB, CPU {:.2}s, server CPU {server_cpu:.2}s{}",
            bytes,
            if stream { "streamed" } else { "in memory" },
            bytes as f64 / secs / 1e6,
            f.max_rss_kib,
            f.cpu_secs,
            if f.code != 0 || f.timed_out { format!(" [exit {}] {}", f.code, f.stderr.trim()) } else { String::new() },
        );
        runs.push(json!({
            "client": kind,
            "bytes": bytes,
            "streamed": stream,
            "ok": ok,
            "secs": secs,
            "mb_per_sec": bytes as f64 / secs / 1e6,
            "max_rss_kib": f.max_rss_kib,
            "cpu_secs": f.cpu_secs,
            "server_cpu_secs": server_cpu,
            "exit": f.code,
            "timed_out": f.timed_out,
        }));
        if mib == big_mib && kind == "ours-tokio" {
            // The last run of the big file: free the disk space now.
            let _ = std::fs::remove_file(&path);
        }
    }
    write_out(args, &json!({ "runs": runs }))
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<TempDir, BoxError> {
        let base = std::env::temp_dir();
        let path = base.join(format!("smtp-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
