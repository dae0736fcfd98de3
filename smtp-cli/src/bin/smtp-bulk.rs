//! `smtp-bulk`: sends many messages over K parallel connections to one SMTP server.
//!
//! Messages come from a directory of `.eml` files (`--dir`) or are generated (`--messages N
//! --size BYTES --recipients R`). With `--json`, one JSON line per message outcome on stdout,
//! then a summary line `{"messages":N,"accepted":A,"rejected":R,"failed":F,"seconds":S}`.
//! A progress line is drawn on stderr when it is a terminal.
//!
//! Each JSON line names the message's `class` and the `exit_status` `smtp-send` would give it
//! (the core's judgement, `smtp_proto::Class`: delivered 0, partial 79, temporary 75, permanent
//! 69, protocol 76, security 77).
//!
//! Exit status: 0 when every message was accepted, 1 when any was rejected or failed, 2 when
//! the run could not start (bad arguments, unreadable files, no socket).

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use serde_json::json;
use smtp_mio::bulk::{self, BulkConfig, BulkMessage, Outcome, Report, Summary};
use smtp_mio::{TlsOptions, TlsSetup};
use smtp_proto::sasl::Credentials;
use smtp_proto::{
    AuthConfig, ClientName, Config, Envelope, Mailbox, Reply, Timeouts, TlsPolicy, Verdict,
};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "smtp-bulk",
    version,
    about = "Send many messages over parallel SMTP connections"
)]
struct Args {
    /// The server, HOST:PORT.
    #[arg(long)]
    server: String,
    /// Connections open at once.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Messages queued per connection ahead of their outcomes (pipelined by the core).
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Tries per message whose connection failed before its outcome was known.
    #[arg(long, default_value_t = 3)]
    attempts: u32,
    /// Connections opened and not yet greeted, at most (keeps a small listen backlog from
    /// overflowing).
    #[arg(long, default_value_t = 32)]
    max_connecting: usize,
    /// Send every `.eml` file in this directory (envelope from NAME.eml.json, else --from/--to).
    #[arg(long, conflicts_with_all = ["messages", "size", "recipients"])]
    dir: Option<PathBuf>,
    /// Generate this many messages.
    #[arg(long)]
    messages: Option<usize>,
    /// Size of each generated message in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Recipients per generated message, made from --to as local+1@domain, local+2@domain, …
    /// (with 1, the --to address itself).
    #[arg(long, default_value_t = 1)]
    recipients: usize,
    /// Envelope sender ("" for the null reverse-path).
    #[arg(long)]
    from: Option<String>,
    /// Envelope recipient.
    #[arg(long)]
    to: Option<String>,
    /// EHLO name.
    #[arg(long, default_value = "localhost")]
    helo: String,
    /// STARTTLS policy (RFC 3207), as in smtp-send. Default: required on port 587,
    /// opportunistic otherwise.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        conflicts_with = "tls_on_connect"
    )]
    starttls: Option<StartTls>,
    /// Implicit TLS from the first byte (RFC 8314, port 465).
    #[arg(long)]
    tls_on_connect: bool,
    /// Trust only the CA certificates in this PEM file (instead of the web PKI roots).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Name to verify the server certificate against (default: the host in --server).
    #[arg(long, value_name = "NAME")]
    tls_name: Option<String>,
    /// Authenticate as this user (RFC 4954).
    #[arg(long, value_name = "USER", requires = "auth_password_file")]
    auth_user: Option<String>,
    /// File holding the password (one trailing LF or CRLF is removed, as smtp-send does).
    #[arg(long, value_name = "PATH", requires = "auth_user")]
    auth_password_file: Option<PathBuf>,
    /// Allow PLAIN and LOGIN on a connection without TLS.
    #[arg(long, requires = "auth_user")]
    auth_plaintext_ok: bool,
    /// Every stage timeout, in seconds (default: RFC 5321's).
    #[arg(long)]
    timeout: Option<u64>,
    /// Do not pipeline even when the server offers PIPELINING.
    #[arg(long)]
    no_pipelining: bool,
    /// Do not use BDAT even when the server offers CHUNKING.
    #[arg(long)]
    no_chunking: bool,
    /// One JSON line per message, then a summary line.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StartTls {
    Never,
    Opportunistic,
    Required,
}

/// A sidecar `NAME.eml.json`.
#[derive(Deserialize)]
struct Sidecar {
    from: Option<String>,
    to: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(summary) if summary.accepted == summary.messages => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("smtp-bulk: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Summary, String> {
    let (host, server) = resolve(&args.server)?;
    let config = bulk_config(args, &host, server)?;
    let (messages, names) = load_messages(args)?;
    let total = messages.len();

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut progress = Progress::new(total);
    let mut write_error = None;
    let summary = bulk::run(&config, messages, |report| {
        progress.record(report);
        if args.json {
            let name = names
                .as_ref()
                .and_then(|n| n.get(report.index))
                .map(String::as_str);
            let line = report_json(report, name);
            if let Err(e) = writeln!(out, "{line}") {
                write_error.get_or_insert(e);
            }
        }
    })
    .map_err(|e| format!("cannot run: {e}"))?;
    progress.finish();
    if args.json {
        let line = json!({
            "messages": summary.messages,
            "accepted": summary.accepted,
            "rejected": summary.rejected,
            "failed": summary.failed,
            "seconds": summary.elapsed.as_secs_f64(),
        });
        let _ = writeln!(out, "{line}");
    } else {
        let secs = summary.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            summary.messages as f64 / secs
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "{} messages: {} accepted, {} rejected, {} failed in {secs:.3} s ({rate:.0} msg/s, {} connections)",
            summary.messages, summary.accepted, summary.rejected, summary.failed, summary.connections
        );
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    if let Some(e) = write_error {
        return Err(format!("stdout: {e}"));
    }
    Ok(summary)
}

fn resolve(server: &str) -> Result<(String, SocketAddr), String> {
    let addr = server
        .to_socket_addrs()
        .map_err(|e| format!("--server {server}: {e}"))?
        .next()
        .ok_or_else(|| format!("--server {server}: no address"))?;
    let host = server.rsplit_once(':').map_or(server, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), addr))
}

fn bulk_config(args: &Args, host: &str, server: SocketAddr) -> Result<BulkConfig, String> {
    let name = ClientName::parse(&args.helo).map_err(|e| format!("--helo: {e}"))?;
    let mut session = Config::new(name);
    session.tls = match args.starttls {
        Some(StartTls::Never) => TlsPolicy::Never,
        Some(StartTls::Opportunistic) => TlsPolicy::Opportunistic,
        Some(StartTls::Required) => TlsPolicy::Required,
        None if server.port() == 587 => TlsPolicy::Required,
        None => TlsPolicy::Opportunistic,
    };
    session.implicit_tls = args.tls_on_connect;
    session.pipelining = !args.no_pipelining;
    session.chunking = !args.no_chunking;
    session.limits.max_messages_in_flight = args.window.max(1);
    if let Some(secs) = args.timeout {
        session.timeouts = Timeouts::uniform(Duration::from_secs(secs));
    }
    if let (Some(user), Some(file)) = (&args.auth_user, &args.auth_password_file) {
        // Read as smtp-send reads it: the file less one trailing line end.
        let password = smtp_cli::read_secret_file(file)
            .map_err(|e| format!("--auth-password-file {} {e}", file.display()))?;
        let credentials = Credentials::Password {
            username: user.clone(),
            password,
        };
        let mut auth = AuthConfig::new(credentials);
        auth.allow_plaintext = args.auth_plaintext_ok;
        session.auth = Some(auth);
    }
    let mut config = BulkConfig::new(server, session);
    config.connections = args.connections.max(1);
    config.window = args.window.max(1);
    config.attempts = args.attempts.max(1);
    config.max_connecting = args.max_connecting.max(1);
    if session_wants_tls(args) {
        let tls_name = args.tls_name.as_deref().unwrap_or(host);
        let mut options = TlsOptions::default();
        options.ca_file = args.ca_file.clone();
        let setup = TlsSetup::from_options(&options, tls_name).map_err(|e| e.to_string())?;
        config.tls = Some(setup);
    }
    Ok(config)
}

/// Whether TLS may start: implicit TLS, or a STARTTLS policy other than `never`.
fn session_wants_tls(args: &Args) -> bool {
    args.tls_on_connect || args.starttls != Some(StartTls::Never)
}

fn mailbox(text: &str, what: &str) -> Result<Mailbox, String> {
    Mailbox::parse(text).map_err(|e| format!("{what} {text:?}: {e}"))
}

fn sender(text: &str) -> Result<Option<Mailbox>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        mailbox(text, "sender").map(Some)
    }
}

/// The messages, and for `--dir` each one's file name.
#[allow(clippy::type_complexity)]
fn load_messages(args: &Args) -> Result<(Vec<BulkMessage>, Option<Vec<String>>), String> {
    if let Some(dir) = &args.dir {
        return load_dir(args, dir).map(|(m, n)| (m, Some(n)));
    }
    let Some(count) = args.messages else {
        return Err("give --dir PATH or --messages N".into());
    };
    let from = sender(args.from.as_deref().ok_or("--messages needs --from")?)?;
    let to = args.to.as_deref().ok_or("--messages needs --to")?;
    let base = mailbox(to, "recipient")?;
    let recipients = if args.recipients <= 1 {
        vec![base.clone()]
    } else {
        (1..=args.recipients)
            .map(|i| {
                mailbox(
                    &format!("{}+{i}@{}", base.local_part(), base.domain()),
                    "recipient",
                )
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let body: Arc<[u8]> =
        generated_body(from.as_ref().map_or("", Mailbox::as_str), to, args.size).into();
    let envelope = Envelope::new(from, recipients);
    let messages = (0..count)
        .map(|_| BulkMessage::new(envelope.clone(), Arc::clone(&body)))
        .collect();
    Ok((messages, None))
}

fn load_dir(args: &Args, dir: &Path) -> Result<(Vec<BulkMessage>, Vec<String>), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("--dir {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml") && p.is_file())
        .collect();
    paths.sort();
    let mut messages = Vec::with_capacity(paths.len());
    let mut names = Vec::with_capacity(paths.len());
    for path in paths {
        let body = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut sidecar = path.clone().into_os_string();
        sidecar.push(".json");
        let sidecar = PathBuf::from(sidecar);
        let envelope = if sidecar.is_file() {
            let text = std::fs::read_to_string(&sidecar)
                .map_err(|e| format!("{}: {e}", sidecar.display()))?;
            let s: Sidecar =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", sidecar.display()))?;
            let from = sender(s.from.as_deref().unwrap_or(""))?;
            let to =
                s.to.iter()
                    .map(|t| mailbox(t, "recipient"))
                    .collect::<Result<Vec<_>, _>>()?;
            Envelope::new(from, to)
        } else {
            let from = args
                .from
                .as_deref()
                .ok_or_else(|| format!("{}: no sidecar and no --from", path.display()))?;
            let to = args
                .to
                .as_deref()
                .ok_or_else(|| format!("{}: no sidecar and no --to", path.display()))?;
            Envelope::new(sender(from)?, [mailbox(to, "recipient")?])
        };
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        messages.push(BulkMessage::new(envelope, body));
    }
    Ok((messages, names))
}

/// A message of exactly `size` bytes (or just its header when that is longer): a header, then
/// lines of filler.
fn generated_body(from: &str, to: &str, size: usize) -> Vec<u8> {
    let mut body = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: smtp-bulk test message\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .into_bytes();
    const LINE: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopq";
    while body.len() < size {
        let left = size - body.len();
        if left <= 2 {
            body.extend(std::iter::repeat_n(b'.', left).take(left));
            break;
        }
        let n = (left - 2).min(LINE.len());
        body.extend_from_slice(&LINE[..n]);
        body.extend_from_slice(b"\r\n");
    }
    body
}

fn reply_json(reply: &Reply) -> serde_json::Value {
    json!({
        "code": reply.code().get(),
        "enhanced_code": reply.enhanced_code().map(|e| e.to_string()),
        "text": reply.text_lossy(),
    })
}

/// One JSON line per message. `class` and `exit_status` are the core's judgement
/// (`smtp_proto::Class`), the same `smtp-send` exits with for the same outcome.
fn report_json(report: &Report, name: Option<&str>) -> serde_json::Value {
    let mut line = match &report.outcome {
        Outcome::Done(o) => {
            let recipients: Vec<serde_json::Value> = o
                .envelope
                .recipients
                .iter()
                .zip(&o.recipients)
                .map(|(r, out)| {
                    json!({
                        "address": r.address.to_string(),
                        "accepted": out.rcpt.as_ref().map(Reply::is_positive_completion),
                        "reply": out.rcpt.as_ref().map(reply_json),
                        "delivery": out.delivery.as_ref().map(reply_json),
                    })
                })
                .collect();
            let outcome = match &o.verdict {
                Verdict::Accepted { .. } => "accepted",
                Verdict::PartiallyAccepted { .. } => "partial",
                _ => "rejected",
            };
            let mut line = json!({
                "outcome": outcome,
                "transient": o.is_transient(),
                "recipients": recipients,
            });
            if let Some(reply) = o.final_reply() {
                line["reply"] = reply_json(reply);
            }
            if let Verdict::Rejected(rejection) = &o.verdict {
                line["reason"] = json!(rejection.to_string());
            }
            line
        }
        Outcome::Refused(e) => json!({
            "outcome": "rejected",
            "transient": false,
            "reason": e.to_string(),
        }),
        Outcome::Failed(failure) => json!({
            "outcome": "failed",
            "transient": failure.class() == smtp_proto::Class::Temporary,
            "content_sent": failure.content_sent,
            "error": failure.to_string(),
        }),
        _ => json!({ "outcome": "unknown" }),
    };
    let class = report.class();
    line["class"] = json!(class.name());
    line["exit_status"] = json!(class.exit_status());
    line["index"] = json!(report.index);
    line["attempts"] = json!(report.attempts);
    if let Some(name) = name {
        line["file"] = json!(name);
    }
    line
}

/// The progress line on stderr, drawn only when stderr is a terminal.
struct Progress {
    enabled: bool,
    total: usize,
    done: usize,
    rejected: usize,
    failed: usize,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let now = Instant::now();
        Progress {
            enabled: io::stderr().is_terminal(),
            total,
            done: 0,
            rejected: 0,
            failed: 0,
            start: now,
            last: now,
        }
    }

    fn record(&mut self, report: &Report) {
        self.done += 1;
        match &report.outcome {
            Outcome::Failed(_) => self.failed += 1,
            _ if report.is_accepted() => {}
            _ => self.rejected += 1,
        }
        if self.enabled && self.last.elapsed() >= Duration::from_millis(200) {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        };
        eprint!(
            "\r{}/{} sent, {rate:.0} msg/s, {} rejected, {} failed ",
            self.done, self.total, self.rejected, self.failed
        );
    }

    fn finish(&self) {
        if self.enabled {
            self.draw();
            eprintln!();
        }
    }
}
