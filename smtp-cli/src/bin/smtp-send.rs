//! `smtp-send`: send one message over SMTP from the command line.
//!
//! Run `smtp-send --demo` to see it work against an embedded server, with nothing installed.
//!
//! Defaults: port 25 (465 with `--tls-on-connect`); STARTTLS `required` on port 587 and
//! `opportunistic` on any other port; RFC 5321 timeouts unless `--timeout` is given; the EHLO
//! name is this host's name when it is a valid domain, else `localhost`.
//!
//! Exit status (sysexits.h where one fits):
//!
//! | code | meaning |
//! |------|---------|
//! | 0  | the final reply after the content was 2yz and every recipient was accepted |
//! | 64 | usage: bad or conflicting options, no password given for `--auth-user` |
//! | 65 | bad input data: an invalid address, `--helo` name or `--header`/`--subject` (CR, LF, NUL) |
//! | 66 | an input file (message, body, password, CA file) cannot be read |
//! | 69 | permanent refusal (5yz) of the session or the message, or the message cannot be sent to this server (SIZE, missing extension) |
//! | 70 | internal error (a bug) |
//! | 71 | the operating system failed (no randomness for the SCRAM nonce) |
//! | 74 | reading the message file failed while sending |
//! | 75 | temporary failure: any 4yz (421 included), a timeout, a failed connection, the connection lost before the final reply |
//! | 76 | protocol error: a malformed or unexpected reply, bytes injected after STARTTLS |
//! | 77 | authentication failed, or TLS required and not achieved (not offered, refused with 5yz, certificate not trusted) |
//! | 79 | partial delivery: the message was accepted, but some recipients were refused (each is named on stderr) |
//!
//! A 4yz always gives 75, even for AUTH or STARTTLS.

use clap::{Parser, ValueEnum};
use serde::Serialize;
use smtp_blocking::demo_server::{DemoServer, DEMO_PASSWORD, DEMO_USER};
use smtp_blocking::smtp_proto::sasl::{Credentials, Mechanism};
use smtp_blocking::smtp_proto::{
    self, AuthConfig, ClientName, Envelope, Mailbox, MessageOutcome, Rejection, Reply, Secret,
    Timeouts, TlsPolicy, UsageError, Verdict,
};
use smtp_blocking::{Client, ClientOptions, Error, TlsConfigError};
use smtp_cli::exit::{
    DATAERR as EX_DATAERR, IOERR as EX_IOERR, NOINPUT as EX_NOINPUT, OK as EX_OK,
    OSERR as EX_OSERR, SOFTWARE as EX_SOFTWARE, USAGE as EX_USAGE,
};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StartTls {
    Never,
    Opportunistic,
    Required,
}

/// Send one message over SMTP (try `smtp-send --demo`).
#[derive(Parser, Debug)]
#[command(name = "smtp-send", version, about, after_help = EXIT_HELP)]
struct Cli {
    /// The server, HOST or HOST:PORT ([IPv6]:PORT). Default port 25, or 465 with --tls-on-connect.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        required_unless_present = "demo",
        conflicts_with = "demo"
    )]
    server: Option<String>,
    /// The envelope sender (MAIL FROM) and, for a built message, the From header.
    #[arg(long, value_name = "ADDR", required_unless_present = "demo")]
    from: Option<String>,
    /// A recipient (To header and envelope). Repeatable.
    #[arg(long, value_name = "ADDR", required_unless_present = "demo")]
    to: Vec<String>,
    /// A copy recipient (Cc header and envelope). Repeatable.
    #[arg(long, value_name = "ADDR")]
    cc: Vec<String>,
    /// A blind copy recipient (envelope only). Repeatable.
    #[arg(long, value_name = "ADDR")]
    bcc: Vec<String>,
    /// A complete RFC 5322 message (any line ends), sent as is, streamed from the file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["subject", "body", "body_file"])]
    message_file: Option<PathBuf>,
    /// The Subject of a built message (RFC 2047-encoded when not ASCII).
    #[arg(long, value_name = "TEXT")]
    subject: Option<String>,
    /// The text body of a built message.
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    body: Option<String>,
    /// A file holding the text body (UTF-8) of a built message.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// An extra header field 'Name: value'. Repeatable. Prepended to --message-file.
    #[arg(long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// The EHLO name.
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,
    /// Bounds each connection attempt and the wait for each complete reply, in seconds.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: Option<u64>,
    /// STARTTLS policy. Default: required on port 587, opportunistic otherwise.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        conflicts_with = "tls_on_connect"
    )]
    starttls: Option<StartTls>,
    /// Implicit TLS from the first byte (RFC 8314; default port 465).
    #[arg(long)]
    tls_on_connect: bool,
    /// Trust only the CA certificates in this PEM file (instead of the web PKI roots).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Accept any certificate for any name: encrypted but NOT authenticated. Tests only.
    #[arg(long)]
    danger_accept_invalid_certs: bool,
    /// Authenticate as this user. The password comes from --auth-password-file or the
    /// SMTP_PASSWORD environment variable, never from the command line.
    #[arg(long, value_name = "USER")]
    auth_user: Option<String>,
    /// A file holding the password (one trailing LF or CRLF is removed).
    #[arg(long, value_name = "PATH", requires = "auth_user")]
    auth_password_file: Option<PathBuf>,
    /// Allow only these SASL mechanisms (repeatable); default: the strongest both sides offer.
    #[arg(long = "auth-mech", value_name = "MECH", requires = "auth_user")]
    auth_mechs: Vec<String>,
    /// Allow PLAIN and LOGIN on a connection without TLS (they send the password readably).
    #[arg(long, requires = "auth_user")]
    auth_plaintext_ok: bool,
    /// Print the conversation on stderr (-> sent, <- received; AUTH redacted).
    #[arg(long, short)]
    verbose: bool,
    /// Print one JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// Start an embedded demo server on 127.0.0.1 and send a message to it.
    #[arg(long)]
    demo: bool,
}

const EXIT_HELP: &str = "Exit status: 0 sent to every recipient; 64 usage; 65 bad address/header; \
66 unreadable input file; 69 permanent refusal; 70 internal error; 74 message file read error; \
75 temporary failure (4yz, timeout, connection lost); 76 protocol error; 77 authentication or \
required TLS failed; 79 partial delivery (some recipients refused).";

/// A failure before anything is sent, with its exit status.
struct Exit(u8, String);

fn main() -> ExitCode {
    // Never die by a panic: report it as an internal error.
    let code = std::panic::catch_unwind(run).unwrap_or_else(|_| {
        eprintln_safe("smtp-send: internal error (a bug): please report it");
        EX_SOFTWARE
    });
    ExitCode::from(code)
}

fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EX_OK
                }
                _ => EX_USAGE,
            };
        }
    };
    let sink = if cli.demo && !cli.json {
        Sink::Stdout
    } else {
        Sink::Stderr
    };
    Logger::install(cli.verbose || cli.demo, sink);
    let demo = if cli.demo {
        match DemoServer::start() {
            Ok(server) => Some(server),
            Err(e) => {
                eprintln_safe(&format!("smtp-send: cannot start the demo server: {e}"));
                return EX_SOFTWARE;
            }
        }
    } else {
        None
    };
    let plan = match Plan::from_cli(&cli, demo.as_ref()) {
        Ok(plan) => plan,
        Err(Exit(code, message)) => {
            eprintln_safe(&format!("smtp-send: {message}"));
            if cli.json {
                print_json(&Summary::usage(code, &message));
            }
            return code;
        }
    };
    if let Some(server) = &demo {
        say(
            sink,
            &format!(
                "=== Demo SMTP server listening on {} (user {DEMO_USER:?})",
                server.addr()
            ),
        );
    }
    let result = plan.send();
    let code = exit_code(&result);
    report(&cli, &plan, &result, code);
    if let Some(server) = &demo {
        show_received(sink, server);
    }
    code
}

/// Everything needed to send, validated before connecting.
struct Plan {
    server: String,
    options: ClientOptions,
    envelope: Envelope,
    /// Recipient kinds, parallel to the envelope's recipients.
    kinds: Vec<&'static str>,
    content: Content,
}

enum Content {
    Built(Vec<u8>),
    File { header: Vec<u8>, path: PathBuf },
}

impl Plan {
    fn from_cli(cli: &Cli, demo: Option<&DemoServer>) -> Result<Plan, Exit> {
        let (host, port) = match (&cli.server, demo) {
            (_, Some(server)) => ("127.0.0.1".to_string(), server.port()),
            (Some(s), None) => parse_server(s, cli.tls_on_connect)?,
            (None, None) => return Err(Exit(EX_USAGE, "--server is required".into())),
        };
        let demo_on = demo.is_some();
        let from = cli
            .from
            .clone()
            .unwrap_or_else(|| "alice@demo.localhost".into());
        let mut to = cli.to.clone();
        if to.is_empty() && demo_on {
            to.push("bob@demo.localhost".into());
        }
        let sender = mailbox(&from)?;
        let mut recipients = Vec::new();
        let mut kinds = Vec::new();
        for (kind, list) in [("to", &to), ("cc", &cli.cc), ("bcc", &cli.bcc)] {
            for a in list {
                let m = mailbox(a)?;
                if !recipients.contains(&m) {
                    recipients.push(m);
                    kinds.push(kind);
                }
            }
        }
        let helo = match &cli.helo {
            Some(name) => ClientName::parse(name)
                .map_err(|e| Exit(EX_DATAERR, format!("invalid --helo name {name:?}: {e}")))?,
            None => default_client_name(),
        };
        let mut headers = Vec::new();
        for h in &cli.headers {
            headers.push(parse_header(h)?);
        }
        if let Some(subject) = &cli.subject {
            if has_line_break(subject) {
                return Err(Exit(
                    EX_DATAERR,
                    "--subject must not contain CR, LF or NUL".into(),
                ));
            }
        }

        let mut options = ClientOptions::new(host.clone(), port, helo);
        let config = &mut options.config;
        config.transcript = cli.verbose || demo_on;
        if let Some(secs) = cli.timeout {
            config.timeouts = Timeouts::uniform(Duration::from_secs(secs));
            options.connect_timeout = Duration::from_secs(secs);
        }
        config.implicit_tls = cli.tls_on_connect;
        config.tls = match (cli.starttls, demo_on) {
            (_, true) => TlsPolicy::Never,
            (Some(StartTls::Never), _) => TlsPolicy::Never,
            (Some(StartTls::Opportunistic), _) => TlsPolicy::Opportunistic,
            (Some(StartTls::Required), _) => TlsPolicy::Required,
            (None, _) if port == 587 => TlsPolicy::Required,
            (None, _) => TlsPolicy::Opportunistic,
        };
        options.tls.ca_file = cli.ca_file.clone();
        options.tls.danger_accept_invalid_certs = cli.danger_accept_invalid_certs;
        if let Some(path) = &cli.ca_file {
            // Fail before connecting (66) rather than at STARTTLS.
            File::open(path).map_err(|e| {
                Exit(
                    EX_NOINPUT,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?;
        }
        let auth = match (&cli.auth_user, demo_on) {
            (Some(user), _) => Some((user.clone(), password(cli)?)),
            (None, true) => Some((
                DEMO_USER.to_string(),
                Secret::new(DEMO_PASSWORD.to_string()),
            )),
            (None, false) => None,
        };
        if let Some((username, password)) = auth {
            let mut auth = AuthConfig::new(Credentials::Password { username, password });
            auth.mechanisms = cli.auth_mechs.iter().map(|m| Mechanism::parse(m)).collect();
            // The demo server is on 127.0.0.1 and speaks no TLS.
            auth.allow_plaintext = cli.auth_plaintext_ok || demo_on;
            config.auth = Some(auth);
        }

        let content = match &cli.message_file {
            Some(path) => {
                File::open(path).map_err(|e| {
                    Exit(EX_NOINPUT, format!("cannot read {}: {e}", path.display()))
                })?;
                let mut header = Vec::new();
                for (name, value) in &headers {
                    header.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                Content::File {
                    header,
                    path: path.clone(),
                }
            }
            None => {
                let body = match (&cli.body, &cli.body_file) {
                    (Some(b), _) => b.clone(),
                    (None, Some(path)) => {
                        let bytes = std::fs::read(path)
                            .map_err(|e| Exit(EX_NOINPUT, format!("cannot read {}: {e}", path.display())))?;
                        String::from_utf8(bytes)
                            .map_err(|_| Exit(EX_DATAERR, format!("{} is not UTF-8 text", path.display())))?
                    }
                    (None, None) if demo_on => "Hello from smtp-send --demo!\n\nThis message went through EHLO, \
                        AUTH and a pipelined MAIL/RCPT/DATA.\n.A line starting with a dot survives dot-stuffing.\n"
                        .to_string(),
                    (None, None) => String::new(),
                };
                let subject = cli
                    .subject
                    .clone()
                    .or_else(|| demo_on.then(|| "smtp-send demo".to_string()));
                Content::Built(build_message(&from, &to, &cli.cc, subject, body, &headers)?)
            }
        };
        let envelope = Envelope::new(Some(sender), recipients);
        Ok(Plan {
            server: format!("{host}:{port}"),
            options,
            envelope,
            kinds,
            content,
        })
    }

    fn send(&self) -> Result<MessageOutcome, Error> {
        let mut client = Client::connect(self.options.clone())?;
        let outcome = match &self.content {
            Content::Built(bytes) => client.send_bytes(self.envelope.clone(), bytes),
            Content::File { header, path } => {
                // Measured first (RFC 1870 SIZE, RFC 6152 8-bit), so that a message too large
                // for the server never has its MAIL sent; then streamed.
                let open = || {
                    File::open(path)
                        .map(|file| io::Cursor::new(header).chain(file))
                        .map_err(|e| Error::Body(std::sync::Arc::new(e)))
                };
                let mut envelope = self.envelope.clone();
                open()
                    .and_then(|content| {
                        smtp_blocking::declare_content(&mut envelope, content)
                            .map_err(|e| Error::Body(std::sync::Arc::new(e)))
                    })
                    .and_then(|()| client.send(envelope, open()?))
            }
        };
        // The outcome is known; a failing QUIT changes nothing about it.
        if outcome.is_ok() {
            if let Err(e) = client.quit() {
                log::info!("QUIT failed: {e}");
            }
        }
        outcome
    }
}

fn mailbox(text: &str) -> Result<Mailbox, Exit> {
    Mailbox::parse(text).map_err(|e| Exit(EX_DATAERR, format!("invalid address {text:?}: {e}")))
}

fn has_line_break(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// `Name: value`: a field name of printable ASCII without `:` (RFC 5322 2.2), and a value
/// without CR, LF or NUL (no header injection).
fn parse_header(h: &str) -> Result<(String, String), Exit> {
    let bad = |why: &str| Exit(EX_DATAERR, format!("invalid --header {h:?}: {why}"));
    if has_line_break(h) {
        return Err(bad("it contains CR, LF or NUL"));
    }
    let (name, value) = h
        .split_once(':')
        .ok_or_else(|| bad("expected 'Name: value'"))?;
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(bad("the field name must be printable ASCII without spaces"));
    }
    Ok((name.to_string(), value.trim_start().to_string()))
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn parse_server(s: &str, implicit_tls: bool) -> Result<(String, u16), Exit> {
    let default_port = if implicit_tls { 465 } else { 25 };
    let bad = || {
        Exit(
            EX_USAGE,
            format!("invalid --server {s:?}: expected HOST[:PORT]"),
        )
    };
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad()),
        }
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || has_line_break(host) {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

fn default_client_name() -> ClientName {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    ClientName::parse(&host)
        .ok()
        .filter(|_| host.contains('.'))
        .or_else(|| ClientName::parse("localhost").ok())
        .unwrap_or_else(|| ClientName::parse("[127.0.0.1]").expect("a valid address literal"))
}

/// The password: the file's content less one trailing LF or CRLF (as `smtp-bulk` reads it),
/// or `SMTP_PASSWORD`.
fn password(cli: &Cli) -> Result<Secret<String>, Exit> {
    if let Some(path) = &cli.auth_password_file {
        return smtp_cli::read_secret_file(path).map_err(|e| {
            let code = match e {
                smtp_cli::SecretFileError::NotUtf8 => EX_DATAERR,
                _ => EX_NOINPUT,
            };
            Exit(code, format!("the password file {} {e}", path.display()))
        });
    }
    match std::env::var("SMTP_PASSWORD") {
        Ok(p) => Ok(Secret::new(p)),
        Err(_) => Err(Exit(
            EX_USAGE,
            "--auth-user needs --auth-password-file or SMTP_PASSWORD".into(),
        )),
    }
}

fn build_message(
    from: &str,
    to: &[String],
    cc: &[String],
    subject: Option<String>,
    body: String,
    headers: &[(String, String)],
) -> Result<Vec<u8>, Exit> {
    use mail_builder::headers::raw::Raw;
    let mut builder = mail_builder::MessageBuilder::new().from(from.to_string());
    if !to.is_empty() {
        builder = builder.to(to.to_vec());
    }
    if !cc.is_empty() {
        builder = builder.cc(cc.to_vec());
    }
    if let Some(subject) = subject {
        builder = builder.subject(subject);
    }
    for (name, value) in headers {
        builder = builder.header(name.clone(), Raw::new(value.clone()));
    }
    builder
        .text_body(body)
        .write_to_vec()
        .map_err(|e| Exit(EX_SOFTWARE, format!("cannot build the message: {e}")))
}

// ----- outcome -----

/// The exit status: the core's class of the outcome, or of the error that ended the session
/// ([`smtp_proto::Class::exit_status`], the mapping `smtp-bulk` reports too); the command line's
/// own statuses for what failed around it.
fn exit_code(result: &Result<MessageOutcome, Error>) -> u8 {
    match result {
        Ok(outcome) => outcome.class().exit_status(),
        Err(e) => error_code(e),
    }
}

fn error_code(e: &Error) -> u8 {
    match e {
        Error::TlsConfig(TlsConfigError::InvalidServerName { .. }) => EX_USAGE,
        Error::TlsConfig(TlsConfigError::Rustls(_)) => EX_SOFTWARE,
        // A CA (or client certificate) file unreadable, not PEM, or without a certificate.
        Error::TlsConfig(_) => EX_NOINPUT,
        Error::Usage(UsageError::InvalidAddress(_) | UsageError::InvalidCommand(_)) => EX_DATAERR,
        Error::Usage(UsageError::Config(_)) => EX_USAGE,
        Error::Usage(UsageError::Unsendable(_)) => smtp_proto::Class::Permanent.exit_status(),
        Error::Usage(_) => EX_SOFTWARE,
        Error::Body(_) => EX_IOERR,
        Error::Nonce(_) => EX_OSERR,
        Error::Stalled => EX_SOFTWARE,
        // Connect, Session: the core's judgement.
        other => other.class().exit_status(),
    }
}

#[derive(Serialize)]
struct JsonReply {
    code: u16,
    enhanced_code: Option<String>,
    text: String,
}

impl From<&Reply> for JsonReply {
    fn from(r: &Reply) -> Self {
        JsonReply {
            code: r.code().get(),
            enhanced_code: r.enhanced_code().map(|e| e.to_string()),
            text: r.text_lossy(),
        }
    }
}

#[derive(Serialize)]
struct JsonRecipient {
    address: String,
    kind: &'static str,
    /// `null` when the RCPT was not answered.
    accepted: Option<bool>,
    reply: Option<JsonReply>,
}

#[derive(Serialize)]
struct JsonError {
    stage: Option<String>,
    message: String,
    reply: Option<JsonReply>,
    transient: bool,
}

#[derive(Serialize)]
struct Summary {
    /// `sent`, `partial`, `rejected`, `failed` or `usage`.
    status: &'static str,
    /// The core's class of the outcome (`delivered`, `partial`, `temporary`, `permanent`,
    /// `protocol`, `security`, `local`), as `smtp-bulk` reports it.
    class: &'static str,
    exit_code: u8,
    server: Option<String>,
    recipients: Vec<JsonRecipient>,
    final_reply: Option<JsonReply>,
    error: Option<JsonError>,
}

impl Summary {
    fn usage(code: u8, message: &str) -> Summary {
        Summary {
            status: "usage",
            class: "local",
            exit_code: code,
            server: None,
            recipients: Vec::new(),
            final_reply: None,
            error: Some(JsonError {
                stage: None,
                message: message.to_string(),
                reply: None,
                transient: false,
            }),
        }
    }
}

fn recipients_json(plan: &Plan, outcome: Option<&MessageOutcome>) -> Vec<JsonRecipient> {
    plan.envelope
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rcpt = outcome
                .and_then(|o| o.recipients.get(i))
                .and_then(|r| r.rcpt.as_ref());
            JsonRecipient {
                address: r.address.to_string(),
                kind: plan.kinds.get(i).copied().unwrap_or("to"),
                accepted: rcpt.map(Reply::is_positive_completion),
                reply: rcpt.map(JsonReply::from),
            }
        })
        .collect()
}

fn report(cli: &Cli, plan: &Plan, result: &Result<MessageOutcome, Error>, code: u8) {
    let outcome = result.as_ref().ok();
    for (i, r) in outcome.iter().flat_map(|o| o.refused_recipients()) {
        if let (Some(reply), Some(rcpt)) = (r.reply(), plan.envelope.recipients.get(i)) {
            eprintln_safe(&format!(
                "smtp-send: recipient <{}> refused: {reply}",
                rcpt.address
            ));
        }
    }
    match result {
        Ok(o) if o.is_accepted() => {
            if !cli.json {
                if let Some(reply) = o.final_reply() {
                    let n = o.recipients.iter().filter(|x| x.is_accepted()).count();
                    println_safe(&format!(
                        "sent to {n} of {} recipient(s): {reply}",
                        o.recipients.len()
                    ));
                }
            }
        }
        Ok(o) => {
            if let Verdict::Rejected(rejection) = &o.verdict {
                eprintln_safe(&format!("smtp-send: message {rejection}"));
            }
        }
        Err(e) => {
            let stage = e.stage().map(|s| format!(" at {s}")).unwrap_or_default();
            eprintln_safe(&format!("smtp-send: failed{stage}: {e}"));
        }
    }
    if cli.json {
        let final_reply = outcome
            .and_then(MessageOutcome::final_reply)
            .map(JsonReply::from);
        let error = match result {
            Err(e) => Some(JsonError {
                stage: e.stage().map(|s| s.to_string()),
                message: e.to_string(),
                reply: e.reply().map(JsonReply::from),
                transient: e.is_transient(),
            }),
            Ok(
                o @ MessageOutcome {
                    verdict: Verdict::Rejected(rejection),
                    ..
                },
            ) => Some(JsonError {
                stage: rejection.stage().map(|s| s.to_string()),
                message: rejection.to_string(),
                // With no valid recipient, the last refusal says why (each is in `recipients`).
                reply: rejection
                    .reply()
                    .or_else(|| o.refused_recipients().last().and_then(|(_, r)| r.reply()))
                    .map(JsonReply::from),
                transient: o.is_transient(),
            }),
            Ok(_) => None,
        };
        let status = match result {
            Ok(o) if o.is_fully_accepted() => "sent",
            Ok(o) if o.is_accepted() => "partial",
            Ok(_) => "rejected",
            Err(_) => "failed",
        };
        print_json(&Summary {
            status,
            class: match result {
                Ok(o) => o.class().name(),
                Err(e) => e.class().name(),
            },
            exit_code: code,
            server: Some(plan.server.clone()),
            recipients: recipients_json(plan, outcome),
            final_reply,
            error,
        });
    }
    if let Ok(MessageOutcome {
        verdict: Verdict::Rejected(Rejection::Unsendable(e)),
        ..
    }) = result
    {
        log::debug!("not sent: {e}");
    }
}

fn show_received(sink: Sink, server: &DemoServer) {
    for m in server.wait_for(1, Duration::from_secs(2)) {
        say(sink, "=== The demo server received:");
        say(sink, &format!("    EHLO {}", m.helo));
        say(
            sink,
            &format!(
                "    authenticated as {}",
                m.authenticated_as.as_deref().unwrap_or("(nobody)")
            ),
        );
        say(sink, &format!("    MAIL FROM:{}", m.mail_from));
        for r in &m.rcpt_to {
            say(sink, &format!("    RCPT TO:{r}"));
        }
        say(sink, "    content:");
        for line in String::from_utf8_lossy(&m.content).lines() {
            say(sink, &format!("    | {line}"));
        }
    }
}

fn print_json(summary: &Summary) {
    match serde_json::to_string_pretty(summary) {
        Ok(text) => println_safe(&text),
        Err(e) => eprintln_safe(&format!("smtp-send: cannot encode JSON: {e}")),
    }
}

// ----- output that never panics (a closed stdout is EPIPE, not a crash) -----

fn println_safe(s: &str) {
    let _ = writeln!(io::stdout().lock(), "{s}");
}

fn eprintln_safe(s: &str) {
    let _ = writeln!(io::stderr().lock(), "{s}");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    Stdout,
    Stderr,
}

fn say(sink: Sink, s: &str) {
    match sink {
        Sink::Stdout => println_safe(s),
        Sink::Stderr => eprintln_safe(s),
    }
}

/// Prints the transcript (swaks-style `-> ` / `<- `) and the library's notes when verbose.
struct Logger {
    verbose: bool,
    sink: Sink,
}

impl Logger {
    fn install(verbose: bool, sink: Sink) {
        let logger = Box::leak(Box::new(Logger { verbose, sink }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(if verbose {
                log::LevelFilter::Debug
            } else {
                log::LevelFilter::Warn
            });
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if metadata.target() == smtp_blocking::TRANSCRIPT_TARGET {
            return self.verbose;
        }
        metadata.target().starts_with("smtp_blocking")
            && (metadata.level() <= log::Level::Warn
                || (self.verbose && metadata.level() <= log::Level::Info))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if record.target() == smtp_blocking::TRANSCRIPT_TARGET {
            say(self.sink, &format!("{}", record.args()));
        } else {
            say(self.sink, &format!("*** {}", record.args()));
        }
    }

    fn flush(&self) {}
}
