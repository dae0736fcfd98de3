//! End-to-end benchmark on 127.0.0.1 against Postfix's `smtp-sink`.
//!
//! ```text
//! e2e drive  [--quick] [--out FILE.json] [--only a,b] [--workloads w1,w2]
//! e2e memory [--out FILE.json] [--dir DIR] [--mib N]
//! e2e sessions [--counts 1,10,100,1000] [--per-connection 20] [--window 4] [--out FILE.json]
//! e2e client KIND --port P --messages N --rcpts R --message-file F --conn one|each
//!            [--time-limit SECS] [--stream]
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
//! outside, to show where its time goes).
//! The Python smtplib client is `benches/py/smtplib_client.py`; `smtp-source` is Postfix's.
//! A client prints one JSON line: `{"ok": N, "failed": N, "secs": wall time}`.
//!
//! `memory` streams one large message from a file (made in a temporary directory, deleted
//! after) through the blocking adapter and reports the client's peak RSS next to a 1 KiB run.
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
use nodelay::set_nodelay_on_all_sockets;
#[path = "../sessions.rs"]
mod sessions;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("drive") => drive(&Args::parse(&args[1..])),
        Some("memory") => memory(&Args::parse(&args[1..])),
        Some("sessions") => sessions::drive(&Args::parse(&args[1..])),
        Some("sessions-client") => sessions::client(&Args::parse(&args[1..])),
        Some("client") if args.len() > 1 => client(&args[1], &Args::parse(&args[2..])),
        _ => Err("usage: e2e drive|memory|client KIND [--options] (see the source's docs)".into()),
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
        })
    }
}

fn client(kind: &str, args: &Args) -> Result<(), BoxError> {
    let a = ClientArgs::from(args)?;
    match kind {
        "ours-blocking" => ours_blocking(&a, false),
        "ours-blocking-batch" => ours_blocking(&a, true),
        "ours-mio" => ours_mio(&a),
        "lettre" => lettre_client(&a, false),
        "lettre-nodelay" => lettre_client(&a, true),
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
    let connect = || Client::connect(options.clone());

    let (mut ok, mut failed) = (0u64, 0u64);
    let start = Instant::now();
    let mut sent = 0;
    let mut client = None;
    while sent < a.messages && start.elapsed() < a.time_limit {
        let c = match client.as_mut() {
            Some(c) => c,
            None => client.insert(connect()?),
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
    report(ok, failed, start.elapsed().as_secs_f64());
    Ok(())
}

/// Our mio adapter through its library API, `mailwire_mio::bulk::run`, with one connection and
/// its default window (32 messages queued ahead). For a connection per message, one `run` per
/// message (each opens a connection, sends, says QUIT).
fn ours_mio(a: &ClientArgs) -> Result<(), BoxError> {
    use mailwire::{ClientName, Config, TlsPolicy};
    use mailwire_mio::bulk::{run, BulkConfig, BulkMessage};

    let body: std::sync::Arc<[u8]> = std::fs::read(&a.message_file)?.into();
    let message = BulkMessage::new(our_envelope(a.rcpts)?, body);
    let mut session = Config::new(ClientName::parse("client.bench.example")?);
    session.tls = TlsPolicy::Never;
    let config = BulkConfig::new(([127, 0, 0, 1], a.port).into(), session);

    let (mut ok, mut failed) = (0u64, 0u64);
    let start = Instant::now();
    let mut count = |r: &mailwire_mio::bulk::Report| match r.is_accepted() {
        true => ok += 1,
        false => failed += 1,
    };
    if a.each {
        for _ in 0..a.messages {
            if start.elapsed() > a.time_limit {
                break;
            }
            run(&config, [message.clone()], &mut count)?;
        }
    } else {
        // The time limit is the driver's (it kills this process); the run itself is bounded
        // by the core's per-stage deadlines.
        let n = a.messages as usize;
        run(&config, std::iter::repeat_n(message, n), &mut count)?;
    }
    report(ok, failed, start.elapsed().as_secs_f64());
    Ok(())
}

/// lettre 0.11 as shipped: `SmtpConnection` (its public connection type, which `SmtpTransport`
/// uses) for one connection; `SmtpTransport` without the pool for a connection per message.
/// With `nodelay`, TCP_NODELAY is set on the connection's socket after connecting.
fn lettre_client(a: &ClientArgs, nodelay: bool) -> Result<(), BoxError> {
    use lettre::address::{Address, Envelope};
    use lettre::transport::smtp::client::SmtpConnection;
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
    let connect = || -> Result<SmtpConnection, BoxError> {
        let conn = SmtpConnection::connect(("127.0.0.1", a.port), timeout, &hello, None, None)?;
        if nodelay {
            set_nodelay_on_all_sockets();
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
    } else if nodelay {
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

/// A running `smtp-sink` on 127.0.0.1; killed on drop.
struct Sink {
    child: std::process::Child,
    port: u16,
}

impl Sink {
    fn start() -> Result<Sink, BoxError> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let mut cmd = postfix_command("smtp-sink");
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                cmd.args(["-u", "nobody"]);
            }
            cmd.arg(format!("127.0.0.1:{port}"))
                .arg("256")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
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
        Err("smtp-sink did not start (is ci/install-peers.sh done?)".into())
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
    ]
}

/// Files for one message size: CRLF for our clients, lettre and smtplib; LF for smtp-source
/// (`-F` appends CRLF to each line and dot-stuffs, giving the same wire bytes).
struct MessageFiles {
    crlf: PathBuf,
    lf: PathBuf,
}

fn message_files(dir: &Path, size: usize) -> Result<MessageFiles, BoxError> {
    let crlf = mailwire_benches::message(size);
    let lf: Vec<u8> = crlf.iter().copied().filter(|&b| b != b'\r').collect();
    let files = MessageFiles {
        crlf: dir.join(format!("message-{size}.eml")),
        lf: dir.join(format!("message-{size}-lf.eml")),
    };
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
) -> Result<Command, BoxError> {
    let conn = if w.conn == Conn::One { "one" } else { "each" };
    let common = |cmd: &mut Command, file: &Path| {
        cmd.args(["--port", &port.to_string()])
            .args(["--messages", &messages.to_string()])
            .args(["--rcpts", &w.rcpts.to_string()])
            .arg("--message-file")
            .arg(file)
            .args(["--conn", conn])
            .args(["--time-limit", &limit.as_secs().to_string()]);
    };
    Ok(match kind {
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
        _ => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["client", kind]);
            common(&mut cmd, &files.crlf);
            cmd
        }
    })
}

/// `benches/py`, found from the source tree this binary was built from.
fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py")
}

/// Runs one client once against a fresh sink; `relay` puts the turn counter in between.
fn run_once(
    kind: &str,
    w: &Workload,
    messages: u64,
    files: &MessageFiles,
    relay: bool,
) -> Result<(Finished, Option<u64>, f64), BoxError> {
    let sink = Sink::start()?;
    let relay = if relay {
        Some(Relay::start(sink.port)?)
    } else {
        None
    };
    let port = relay.as_ref().map_or(sink.port, |r| r.port);
    let limit = Duration::from_secs(120);
    let cmd = client_command(kind, w, messages, port, files, limit)?;
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
        eprintln!("== {} ({} messages)", w.title, w.messages);
        for k in client_kinds() {
            if only.as_ref().is_some_and(|o| !o.contains(&k.name)) {
                continue;
            }
            // Batching is across messages of one connection.
            if k.name.ends_with("-batch") && w.conn == Conn::Each {
                continue;
            }
            let messages = k.cap.map_or(w.messages, |c| c.min(w.messages));
            let (f, _, server_cpu) = run_once(k.name, &w, messages, &files, false)?;
            let client: Value = f
                .stdout
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .unwrap_or(Value::Null);
            // smtp-source does not time itself: the process's wall time is used.
            let ok = client["ok"]
                .as_u64()
                .unwrap_or(if f.code == 0 && k.name == "smtp-source" {
                    messages
                } else {
                    0
                });
            let secs = client["secs"].as_f64().unwrap_or(f.wall_secs);
            let (probe, turns, _) = run_once(k.name, &w, w.probe.min(messages), &files, true)?;
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
                "ok": ok,
                "failed": client["failed"].as_u64().unwrap_or(0),
                "secs": secs,
                "wall_secs": f.wall_secs,
                "msgs_per_sec": ok as f64 / secs,
                "mb_per_sec": ok as f64 * w.size as f64 / secs / 1e6,
                "cpu_us_per_msg": if ok > 0 { f.cpu_secs / ok as f64 * 1e6 } else { 0.0 },
                "user_secs": f.user_secs,
                "sys_secs": f.sys_secs,
                "server_cpu_secs": server_cpu,
                "max_rss_kib": f.max_rss_kib,
                "exit": f.code,
                "timed_out": f.timed_out,
                "round_trips_per_msg": rtt,
                "probe_messages": w.probe.min(messages),
                "stderr": f.stderr.chars().take(500).collect::<String>(),
            });
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

fn write_out(args: &Args, out: &Value) -> Result<(), BoxError> {
    let text = serde_json::to_string_pretty(out)?;
    match args.get("out") {
        Some(path) => std::fs::write(path, text)?,
        None => println!("{text}"),
    }
    Ok(())
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
        let client: Value = f
            .stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
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
        if mib == big_mib {
            // The big file is not needed any more: free the disk space now.
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
