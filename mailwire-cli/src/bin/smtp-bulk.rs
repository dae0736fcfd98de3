//! `smtp-bulk`: sends many messages over K parallel connections to one SMTP server.
//!
//! Messages come from a directory of `.eml` files (`--dir`: each read as it is sent, never all
//! in memory), are generated (`--messages N --size BYTES --recipients R`: one body, shared),
//! or are jobs read as JSON lines (`--jobs PATH|-`, each outcome a JSON line on
//! `--outcomes PATH|-`, stdout by default; `docs/BULK-JOBS.md`). With `--json`, one JSON line
//! per message outcome on stdout, then a summary line `{"messages":N,"accepted":A,
//! "rejected":R,"failed":F,"not_attempted":X,"seconds":S,"connections":C,
//! "peak_connections":P,"tls_resumed":T}` (connections opened, the most open at once, and how
//! many resumed a TLS session).
//! A progress bar is drawn on stderr when it is a terminal (`mailwire_cli::progress`).
//!
//! SIGINT or SIGTERM stops the run (`mailwire_cli::signals`): no new message starts, those in
//! flight finish, every job left gets a `not_attempted` line, and the exit status is 130 or
//! 143; a second signal ends the process at once.
//!
//! Each JSON line names the message's `class` and the `exit_status` `smtp-send` would give it
//! (the core's judgement, `mailwire::Class`: delivered 0, partial 79, temporary 75, permanent
//! 69, protocol 76, security 77).
//!
//! Exit status: 0 when every message was accepted, 1 when any was rejected, failed, invalid or
//! not attempted; 128 + the signal's number when a signal stopped the run; 74 when an outcome
//! line could not be written or the jobs not read; when the run could not start, smtp-send's
//! status for the same cause (64 bad options, 65 a bad address, 66 an unreadable file, 75 a
//! server name that does not resolve).

use clap::Parser;
use mailwire::{Envelope, Mailbox};
use mailwire_cli::connect::{CliError, ConnectArgs, ProxyArgs};
use mailwire_cli::dkim::{record_json, sign_reader, zone_record, DkimArgs};
use mailwire_cli::exit;
use mailwire_cli::jobs::Feed;
use mailwire_cli::outcomes::{not_attempted_fields, outcome_fields, run_status, Counts, Outcomes};
use mailwire_cli::progress::Progress;
use mailwire_cli::signals::StopSignals;
use mailwire_cli::xclient::XclientArgs;
use mailwire_message::dkim::DkimSigner;
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Content, Rate};
use mailwire_mio::{TlsConfigError, TlsSetup};
use serde::Deserialize;
use serde_json::json;
use std::cell::RefCell;
use std::io::{self, BufRead, BufWriter, Write};
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

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
    /// Send the jobs of this file of JSON lines ("-": standard input), read as a stream; one
    /// outcome line per job (docs/BULK-JOBS.md).
    #[arg(
        long,
        value_name = "PATH|-",
        conflicts_with_all = ["dir", "messages", "size", "recipients", "from", "to", "json"]
    )]
    jobs: Option<PathBuf>,
    /// Where the jobs' outcome lines go ("-": standard output, the default).
    #[arg(long, value_name = "PATH|-", requires = "jobs")]
    outcomes: Option<PathBuf>,
    /// Messages started per second at most, across all connections (fractions allowed).
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    quiet: bool,
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
    /// Envelope sender ("" or "<>" for the null reverse-path).
    #[arg(long)]
    from: Option<String>,
    /// Envelope recipient.
    #[arg(long)]
    to: Option<String>,
    /// One JSON line per message, then a summary line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    dkim: DkimArgs,
    #[command(flatten)]
    proxy: ProxyArgs,
    #[command(flatten)]
    xclient: XclientArgs,
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
    let signals = match StopSignals::install() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("smtp-bulk: cannot handle signals: {e}");
            return ExitCode::from(exit::OSERR);
        }
    };
    let result = match &args.jobs {
        _ if args.dkim.dkim_print_record => print_record(&args),
        Some(path) => run_jobs(&args, path, &signals),
        None => run(&args, &signals),
    };
    match result {
        // A signal's stop has its own status, whatever the outcomes were.
        Ok(status) => ExitCode::from(signals.exit_status().unwrap_or(status)),
        Err(e) => {
            eprintln!("smtp-bulk: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// `--messages` or `--dir`: the exit status.
/// `--dkim-print-record`: the key's TXT record, and nothing sent.
fn print_record(args: &Args) -> Result<u8, CliError> {
    if let Some(signer) = args.dkim.signer(signing_from(args))? {
        if args.json {
            println!("{}", record_json(&signer));
        } else {
            println!("{}", zone_record(&signer));
        }
    }
    Ok(exit::OK)
}

fn run(args: &Args, signals: &StopSignals) -> Result<u8, CliError> {
    let config = bulk_config(args, signals)?;
    let (messages, names) = load_messages(args)?;
    let total = messages.total;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut progress =
        Progress::wanted(args.quiet || args.json, false).then(|| Progress::new(Some(total as u64)));
    let mut counts = Counts::default();
    let mut write_error = None;
    let summary = bulk::run(&config, messages.iter, |report| {
        counts.record(report);
        if let Some(p) = &mut progress {
            p.update(&counts);
        }
        if args.json {
            let mut line = outcome_fields(report);
            line.insert("index".into(), json!(report.index));
            if let Some(name) = names.as_ref().and_then(|n| n.get(report.index)) {
                line.insert("file".into(), json!(name));
            }
            if let Err(e) = writeln!(out, "{}", serde_json::Value::Object(line)) {
                write_error.get_or_insert(e);
            }
        }
    })
    .map_err(|e| CliError::new(exit::OSERR, format!("cannot run: {e}")))?;
    // Stopped: the messages the run never took are not attempted, each said so.
    for index in summary.messages..total {
        counts.not_attempted += 1;
        if args.json {
            let mut line = not_attempted_fields(0);
            line.insert("index".into(), json!(index));
            if let Some(name) = names.as_ref().and_then(|n| n.get(index)) {
                line.insert("file".into(), json!(name));
            }
            if let Err(e) = writeln!(out, "{}", serde_json::Value::Object(line)) {
                write_error.get_or_insert(e);
            }
        }
    }
    if let Some(p) = progress {
        p.finish(&counts);
    }
    if args.json {
        let line = json!({
            "messages": counts.total(),
            "accepted": counts.accepted,
            "rejected": counts.rejected,
            "failed": counts.failed,
            "not_attempted": counts.not_attempted,
            "seconds": summary.elapsed.as_secs_f64(),
            "connections": summary.connections,
            "peak_connections": summary.peak_connections,
            "tls_resumed": summary.tls_resumed,
        });
        let _ = writeln!(out, "{line}");
    } else if !args.quiet {
        let _ = writeln!(out, "{}", summary_text(&summary, &counts));
    }
    out.flush()
        .map_err(|e| CliError::new(exit::IOERR, format!("stdout: {e}")))?;
    if let Some(e) = write_error {
        return Err(CliError::new(exit::IOERR, format!("stdout: {e}")));
    }
    Ok(run_status(&counts))
}

/// The summary line without `--json`: the counts of every outcome (invalid and not attempted
/// ones included), the time and rate of the messages the run took, the connections opened.
fn summary_text(summary: &bulk::Summary, counts: &Counts) -> String {
    let secs = summary.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        summary.messages as f64 / secs
    } else {
        0.0
    };
    let mut text = format!(
        "{} messages: {} accepted, {} rejected, {} failed",
        counts.total(),
        counts.accepted,
        counts.rejected,
        counts.failed
    );
    if counts.invalid > 0 {
        text.push_str(&format!(", {} invalid", counts.invalid));
    }
    if counts.not_attempted > 0 {
        text.push_str(&format!(", {} not attempted", counts.not_attempted));
    }
    text.push_str(&format!(
        " in {secs:.3} s ({rate:.0} msg/s, {} connections)",
        summary.connections
    ));
    text
}

/// `--jobs`: every job's outcome line as it is known; after a stop, a `not_attempted` line
/// for each job left in the input, read to its end. The exit status.
fn run_jobs(args: &Args, path: &Path, signals: &StopSignals) -> Result<u8, CliError> {
    let config = bulk_config(args, signals)?;
    let unreadable =
        |e: io::Error| CliError::new(exit::NOINPUT, format!("--jobs {}: {e}", path.display()));
    let input: Box<dyn BufRead + Send> = if path == Path::new("-") {
        Box::new(io::BufReader::new(io::stdin()))
    } else {
        Box::new(io::BufReader::new(
            std::fs::File::open(path).map_err(unreadable)?,
        ))
    };
    let to_stdout = args.outcomes.as_deref().is_none_or(|p| p == Path::new("-"));
    let out: Box<dyn Write> = if to_stdout {
        Box::new(io::stdout().lock())
    } else {
        let p = args.outcomes.as_deref().unwrap_or(Path::new("-"));
        // Creating the outcomes file would empty the jobs before they are read.
        if same_file(path, p) {
            return Err(usage(format!(
                "--outcomes {}: the --jobs file itself",
                p.display()
            )));
        }
        let file = std::fs::File::create(p).map_err(|e| {
            CliError::new(exit::CANTCREAT, format!("--outcomes {}: {e}", p.display()))
        })?;
        Box::new(BufWriter::new(file))
    };
    let progress = Progress::wanted(args.quiet, to_stdout).then(|| Progress::new(None));
    let outcomes = Rc::new(RefCell::new(Outcomes::new(
        out,
        Arc::clone(&signals.stop),
        progress,
    )));
    // No --from with --jobs: the signing domain is --dkim-domain.
    let signer = args.dkim.signer(None)?;
    let mut feed = Feed::start(input, Rc::clone(&outcomes), signer);
    let summary = bulk::run_pulled(
        &config,
        || feed.pull(),
        |report| {
            outcomes.borrow_mut().report(report);
        },
    )
    .map_err(|e| CliError::new(exit::OSERR, format!("cannot run: {e}")))?;
    if signals.received().is_some() {
        feed.drain_not_attempted();
    }
    let read_error = feed.take_error();
    let mut outcomes = outcomes.borrow_mut();
    let counts = outcomes.counts();
    let (write_error, progress) = outcomes.finish();
    if let Some(p) = progress {
        p.finish(&counts);
    }
    if !args.quiet {
        eprintln!("smtp-bulk: {}", summary_text(&summary, &counts));
    }
    if let Some(e) = write_error {
        return Err(CliError::new(exit::IOERR, format!("outcomes: {e}")));
    }
    if let Some(e) = read_error {
        return Err(CliError::new(
            exit::IOERR,
            format!("--jobs {}: {e}", path.display()),
        ));
    }
    Ok(run_status(&counts))
}

/// Whether two paths name one existing file (one inode, on Unix; the same canonical path
/// elsewhere).
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

fn bulk_config(args: &Args, signals: &StopSignals) -> Result<BulkConfig, CliError> {
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
    args.xclient.apply(&mut session)?;
    let mut config = BulkConfig::new(server, session);
    config.connections = args.connections.max(1);
    config.window = args.window.max(1);
    config.window_bytes = args.window_bytes.max(1);
    config.max_per_connection = args
        .max_per_connection
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    config.attempts = args.attempts.max(1);
    config.max_connecting = args.max_connecting.max(1);
    config.proxy_header = args.proxy.header(false)?;
    // A message whose content was sent is never sent again: its line says the outcome is
    // unknown (docs/BULK-JOBS.md).
    config.retry_after_content = false;
    config.stop = Some(Arc::clone(&signals.stop));
    if let Some(n) = args.rate {
        config.rate = Some(Rate::per_second(n).map_err(|e| usage(format!("--rate: {e}")))?);
    }
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
    if mailwire_cli::is_null_path(text) {
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

/// `--from`, whose domain a signature is for when --dkim-domain is not given; the null sender
/// has none.
fn signing_from(args: &Args) -> Option<&str> {
    args.from
        .as_deref()
        .filter(|f| !mailwire_cli::is_null_path(f))
}

/// The messages, and for `--dir` each one's file name.
#[allow(clippy::type_complexity)]
fn load_messages(args: &Args) -> Result<(Messages, Option<Vec<String>>), CliError> {
    let signer = args.dkim.signer(signing_from(args))?;
    if let Some(dir) = &args.dir {
        return load_dir(args, dir, signer.as_ref()).map(|(m, n)| {
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
    let mut body = generated_body(from.as_ref().map_or("", Mailbox::as_str), to, args.size);
    if let Some(signer) = &signer {
        // Every generated message is the same: one signature serves them all.
        let mut signed = sign_reader(signer, body.as_slice())?.into_bytes();
        signed.extend_from_slice(&body);
        body = signed;
    }
    let body: Arc<[u8]> = body.into();
    let envelope = Envelope::new(from, recipients);
    // Made as they are taken: one shared body, an envelope each.
    let messages = (0..count).map(move |_| BulkMessage::new(envelope.clone(), Arc::clone(&body)));
    Ok((Messages::new(count, messages), None))
}

/// The `.eml` files of `dir`, each with its envelope; with a `signer`, each file is read once
/// now to sign it (a file that cannot be signed stops the run before anything is sent), and
/// sent as the signature, then the file.
fn load_dir(
    args: &Args,
    dir: &Path,
    signer: Option<&DkimSigner>,
) -> Result<(Vec<BulkMessage>, Vec<String>), CliError> {
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
        let content = match signer {
            Some(signer) => {
                let file = std::fs::File::open(&path).map_err(|e| unreadable(&path, e))?;
                let field = sign_reader(signer, file).map_err(|e| {
                    CliError::new(e.code, format!("{}: {}", path.display(), e.message))
                })?;
                Content::file_with_prefix(field.into_bytes(), &path)
            }
            None => Content::file(&path),
        };
        messages.push(BulkMessage::new(envelope, content));
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
