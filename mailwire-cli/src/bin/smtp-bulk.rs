//! `smtp-bulk`: sends many messages over K parallel connections to one SMTP server.
//!
//! Messages come from a directory of `.eml` files (`--dir`: each read as it is sent, never all
//! in memory) or are generated (`--messages N --size BYTES --recipients R`: one body, shared). With `--json`, one JSON line per message outcome on stdout,
//! then a summary line `{"messages":N,"accepted":A,"rejected":R,"failed":F,"seconds":S,
//! "connections":C,"peak_connections":P,"tls_resumed":T}` (connections opened, the most open at
//! once, and how many resumed a TLS session).
//! A progress line is drawn on stderr when it is a terminal.
//!
//! Each JSON line names the message's `class` and the `exit_status` `smtp-send` would give it
//! (the core's judgement, `mailwire::Class`: delivered 0, partial 79, temporary 75, permanent
//! 69, protocol 76, security 77).
//!
//! Exit status: 0 when every message was accepted, 1 when any was rejected or failed; when the
//! run could not start, smtp-send's status for the same cause (64 bad options, 65 a bad address,
//! 66 an unreadable file, 75 a server name that does not resolve).

use clap::Parser;
use mailwire::{Envelope, Mailbox, Reply, Verdict};
use mailwire_cli::connect::{CliError, ConnectArgs};
use mailwire_cli::exit;
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Content, Outcome, Report, Summary};
use mailwire_mio::{TlsConfigError, TlsSetup};
use serde::Deserialize;
use serde_json::json;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::ToSocketAddrs;
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
    #[command(flatten)]
    connect: ConnectArgs,
    /// Connections open at once.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Messages queued per connection ahead of their outcomes (pipelined by the core).
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Content bytes of the messages queued per connection ahead of their outcomes, at most
    /// (a connection always takes one message). What a connection holds at once is bounded by
    /// the session's body buffer whatever this is.
    #[arg(long, default_value_t = 4 << 20)]
    window_bytes: u64,
    /// Messages per connection: after N, the connection says QUIT and a new one takes over
    /// (with TLS it resumes the session unless --no-tls-resumption). Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_per_connection: Option<u64>,
    /// Do not resume TLS sessions across connections (every connection makes a full
    /// handshake).
    #[arg(long)]
    no_tls_resumption: bool,
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
    /// One JSON line per message, then a summary line.
    #[arg(long)]
    json: bool,
}

/// A sidecar `NAME.eml.json`.
#[derive(Deserialize)]
struct Sidecar {
    from: Option<String>,
    to: Vec<String>,
}

fn main() -> ExitCode {
    // Bad options are a usage error (64), as for smtp-send; help and version are not errors.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit::USAGE),
            };
        }
    };
    match run(&args) {
        Ok(summary) if summary.accepted == summary.messages => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("smtp-bulk: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

fn run(args: &Args) -> Result<Summary, CliError> {
    let config = bulk_config(args)?;
    let (messages, names) = load_messages(args)?;
    let total = messages.total;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut progress = Progress::new(total);
    let mut write_error = None;
    let summary = bulk::run(&config, messages.iter, |report| {
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
    .map_err(|e| CliError::new(exit::OSERR, format!("cannot run: {e}")))?;
    progress.finish();
    if args.json {
        let line = json!({
            "messages": summary.messages,
            "accepted": summary.accepted,
            "rejected": summary.rejected,
            "failed": summary.failed,
            "seconds": summary.elapsed.as_secs_f64(),
            "connections": summary.connections,
            "peak_connections": summary.peak_connections,
            "tls_resumed": summary.tls_resumed,
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
    out.flush()
        .map_err(|e| CliError::new(exit::IOERR, format!("stdout: {e}")))?;
    if let Some(e) = write_error {
        return Err(CliError::new(exit::IOERR, format!("stdout: {e}")));
    }
    Ok(summary)
}

fn bulk_config(args: &Args) -> Result<BulkConfig, CliError> {
    let connection = args.connect.connection(None)?;
    // A name that does not resolve is a failed connection, as smtp-send counts it: temporary.
    let unresolved = |why: String| {
        CliError::new(
            mailwire::Class::Temporary.exit_status(),
            format!("--server {}: {why}", connection.host),
        )
    };
    let server = (connection.host.as_str(), connection.port)
        .to_socket_addrs()
        .map_err(|e| unresolved(e.to_string()))?
        .next()
        .ok_or_else(|| unresolved("no address".into()))?;
    let mut session = connection.config;
    session.limits.max_messages_in_flight = args.window.max(1);
    let mut config = BulkConfig::new(server, session);
    config.connections = args.connections.max(1);
    config.window = args.window.max(1);
    config.window_bytes = args.window_bytes.max(1);
    config.max_per_connection = args
        .max_per_connection
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    config.attempts = args.attempts.max(1);
    config.max_connecting = args.max_connecting.max(1);
    let tls_wanted =
        config.session.implicit_tls || config.session.tls != mailwire::TlsPolicy::Never;
    if tls_wanted {
        let mut tls = connection.tls.clone();
        tls.resumption = !args.no_tls_resumption;
        config.tls = Some(
            TlsSetup::from_options(&tls, &connection.tls_name).map_err(|e| {
                let code = match e {
                    TlsConfigError::InvalidServerName { .. } => exit::USAGE,
                    TlsConfigError::Rustls(_) => exit::SOFTWARE,
                    _ => exit::NOINPUT,
                };
                CliError::new(code, format!("TLS configuration: {e}"))
            })?,
        );
    }
    Ok(config)
}

fn mailbox(text: &str, what: &str) -> Result<Mailbox, CliError> {
    Mailbox::parse(text).map_err(|e| CliError::new(exit::DATAERR, format!("{what} {text:?}: {e}")))
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::new(exit::USAGE, message)
}

fn sender(text: &str) -> Result<Option<Mailbox>, CliError> {
    if text.is_empty() {
        Ok(None)
    } else {
        mailbox(text, "sender").map(Some)
    }
}

/// The messages to send, taken one at a time, and how many.
struct Messages {
    total: usize,
    iter: Box<dyn Iterator<Item = BulkMessage>>,
}

impl Messages {
    fn new(total: usize, messages: impl IntoIterator<Item = BulkMessage> + 'static) -> Messages {
        Messages {
            total,
            iter: Box::new(messages.into_iter()),
        }
    }
}

/// The messages, and for `--dir` each one's file name.
#[allow(clippy::type_complexity)]
fn load_messages(args: &Args) -> Result<(Messages, Option<Vec<String>>), CliError> {
    if let Some(dir) = &args.dir {
        return load_dir(args, dir).map(|(m, n)| {
            let total = m.len();
            (Messages::new(total, m), Some(n))
        });
    }
    let Some(count) = args.messages else {
        return Err(usage("give --dir PATH or --messages N"));
    };
    let from = sender(
        args.from
            .as_deref()
            .ok_or_else(|| usage("--messages needs --from"))?,
    )?;
    let to = args
        .to
        .as_deref()
        .ok_or_else(|| usage("--messages needs --to"))?;
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
    // Made as they are taken: one shared body, an envelope each.
    let messages = (0..count).map(move |_| BulkMessage::new(envelope.clone(), Arc::clone(&body)));
    Ok((Messages::new(count, messages), None))
}

fn load_dir(args: &Args, dir: &Path) -> Result<(Vec<BulkMessage>, Vec<String>), CliError> {
    let unreadable = |path: &Path, e: io::Error| {
        CliError::new(exit::NOINPUT, format!("{}: {e}", path.display()))
    };
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml") && p.is_file())
        .collect();
    paths.sort();
    let mut messages = Vec::with_capacity(paths.len());
    let mut names = Vec::with_capacity(paths.len());
    for path in paths {
        // Read as it is sent; only checked for readability now, so that a file that cannot be
        // opened stops the run before anything is sent.
        std::fs::File::open(&path).map_err(|e| unreadable(&path, e))?;
        let mut sidecar = path.clone().into_os_string();
        sidecar.push(".json");
        let sidecar = PathBuf::from(sidecar);
        let envelope = if sidecar.is_file() {
            let text = std::fs::read_to_string(&sidecar).map_err(|e| unreadable(&sidecar, e))?;
            let s: Sidecar = serde_json::from_str(&text)
                .map_err(|e| CliError::new(exit::DATAERR, format!("{}: {e}", sidecar.display())))?;
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
                .ok_or_else(|| usage(format!("{}: no sidecar and no --from", path.display())))?;
            let to = args
                .to
                .as_deref()
                .ok_or_else(|| usage(format!("{}: no sidecar and no --to", path.display())))?;
            Envelope::new(sender(from)?, [mailbox(to, "recipient")?])
        };
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        messages.push(BulkMessage::new(envelope, Content::file(&path)));
    }
    Ok((messages, names))
}

/// A message of exactly `size` bytes (or just its header when that is longer): a header, then
/// lines of filler.
fn generated_body(from: &str, to: &str, size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 256);
    body.extend_from_slice(format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: smtp-bulk test message\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).as_bytes());
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
/// (`mailwire::Class`), the same `smtp-send` exits with for the same outcome.
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
            "transient": failure.class() == mailwire::Class::Temporary,
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
