//! `smtp-send`: send one message over SMTP from the command line.
//!
//! Run `smtp-send --demo` to see it work against an embedded server, with nothing installed.
//!
//! `--quit-after` probes a server without sending a message, `--vrfy`, `--expn` and `--etrn`
//! ask it one command and print the reply; `mailwire-cli/README.md` has every option and the
//! `--json` fields, and
//! `docs/SWAKS.md` maps swaks' options to these.
//!
//! Defaults: port 25 (465 with `--tls-on-connect`, 24 with `--protocol lmtp`); implicit TLS on
//! port 465 unless `--starttls` is given, STARTTLS `required` on port 587 and `opportunistic` on
//! any other port; RFC 5321 timeouts unless `--timeout` is given; the EHLO
//! name is this host's name when it is a valid domain, else `localhost`.
//!
//! Exit status (sysexits.h where one fits):
//!
//! | code | meaning |
//! |------|---------|
//! | 0  | the final reply after the content was 2yz and every recipient was accepted; a probe that got as far as asked; a 2yz VRFY/EXPN/ETRN reply |
//! | 64 | usage: bad or conflicting options, no password given for `--auth-user`, an `--attach-type` no part follows, `--7bit` with 8-bit content (a message file or a built message: refused before connecting) |
//! | 65 | bad input data: an invalid address, `--helo` name, `--header`/`--add-header`/`--subject` (CR, LF, NUL, a bad field name), an attachment's file name (CR, LF, NUL), MIME type or Content-ID, envelope parameter or VRFY/EXPN/ETRN argument |
//! | 66 | an input file (message, body, attachment, password, CA file) cannot be read |
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

use clap::Parser;
use mailwire_blocking::demo_server::{DemoServer, DEMO_PASSWORD, DEMO_USER};
use mailwire_blocking::mailwire::capability::SizeLimit;
use mailwire_blocking::mailwire::command::BodyType;
use mailwire_blocking::mailwire::sasl::Credentials;
use mailwire_blocking::mailwire::sasl::Mechanism;
use mailwire_blocking::mailwire::{
    self, AuthConfig, Envelope, Mailbox, MessageOutcome, Protocol, Rejection, Reply, Secret,
    TlsPolicy, Verdict,
};
use mailwire_blocking::mailwire::{Capabilities, Class, Milestone, ProbeDepth};
use mailwire_blocking::{Client, ClientOptions, Error, ProbeReport, ProbeUntil, TlsInfo};
use mailwire_cli::connect::{ConnectArgs, RouteArgs};
use mailwire_cli::dkim::{sign_reader, DkimArgs};
use mailwire_cli::exit::{
    CANTCREAT as EX_CANTCREAT, DATAERR as EX_DATAERR, IOERR as EX_IOERR, NOINPUT as EX_NOINPUT,
    OK as EX_OK, SOFTWARE as EX_SOFTWARE, USAGE as EX_USAGE,
};
use mailwire_cli::headers::{HeaderEdits, HeaderField, RewriteHeaders};
use mailwire_cli::is_null_path;
use mailwire_cli::params::ParamArgs;
use mailwire_cli::xclient::{XclientArgs, XforwardArgs};
use mailwire_message::dkim::DkimSigner;
use serde::Serialize;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Send one message over SMTP (try `smtp-send --demo`).
#[derive(Parser, Debug)]
#[command(name = "smtp-send", version, after_help = EXIT_HELP)]
#[command(group(clap::ArgGroup::new("html").args(["body_html", "body_html_file"])))]
struct Cli {
    /// A complete RFC 5322 message (any line ends), streamed from the file as is but for
    /// --header and --add-header; `-` reads it from standard input.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with_all = [
            "subject", "body", "body_file", "body_html", "body_html_file", "attach",
            "attach_inline", "attach_type", "attach_name"
        ],
        help_heading = "Message"
    )]
    message_file: Option<PathBuf>,
    /// The Subject of a built message (RFC 2047-encoded when not ASCII).
    #[arg(long, value_name = "TEXT", help_heading = "Message")]
    subject: Option<String>,
    /// The text body of a built message.
    #[arg(
        long,
        value_name = "TEXT",
        conflicts_with = "body_file",
        help_heading = "Message"
    )]
    body: Option<String>,
    /// A file holding the text body (UTF-8) of a built message; `-`: standard input.
    #[arg(long, value_name = "PATH", help_heading = "Message")]
    body_file: Option<PathBuf>,
    /// The HTML body of a built message; with --body or --body-file too, the two are the
    /// alternatives of one multipart/alternative (text first).
    #[arg(
        long,
        value_name = "HTML",
        conflicts_with = "body_html_file",
        help_heading = "Message"
    )]
    body_html: Option<String>,
    /// A file holding the HTML body (UTF-8) of a built message (as --body-html); `-`: standard
    /// input (not for both bodies).
    #[arg(long, value_name = "PATH", help_heading = "Message")]
    body_html_file: Option<PathBuf>,
    /// Attach this file (base64 unless it is text that 7bit or quoted-printable keeps exact),
    /// under its own file name, its MIME type guessed from the name's extension
    /// (application/octet-stream when it says nothing). Repeatable.
    #[arg(long = "attach", value_name = "PATH", help_heading = "Message")]
    attach: Vec<PathBuf>,
    /// Show this file inside the HTML body (an image, typically): its Content-ID is its file
    /// name, so the HTML refers to `logo.png` as <img src="cid:logo.png">. Needs --body-html
    /// or --body-html-file. Repeatable.
    #[arg(
        long = "attach-inline",
        value_name = "PATH",
        requires = "html",
        help_heading = "Message"
    )]
    attach_inline: Vec<PathBuf>,
    /// The MIME type (type/subtype) of every --attach and --attach-inline that follows it on
    /// the command line, until the next --attach-type, instead of the guess from the file
    /// name; `auto` goes back to the guess. Repeatable.
    #[arg(
        long = "attach-type",
        value_name = "TYPE/SUBTYPE",
        help_heading = "Message"
    )]
    attach_type: Vec<String>,
    /// The file name the next --attach or --attach-inline is sent under (its Content-ID too,
    /// for an inline part) instead of its own; its type is then guessed from this name.
    #[arg(long, value_name = "NAME", help_heading = "Message")]
    attach_name: Vec<String>,
    /// --attach and --attach-inline in command-line order, each with its --attach-type
    /// (filled in from the parsed arguments' positions: [`ordered_parts`]).
    #[arg(skip)]
    parts: Vec<Part>,
    /// A header field 'Name: value' that replaces the message's field of that name (any case,
    /// folded lines included), or is added when it has none. Repeatable.
    #[arg(
        long = "header",
        value_name = "'Name: value'",
        help_heading = "Message"
    )]
    headers: Vec<String>,
    /// A header field 'Name: value' added at the end of the message's header section, whatever
    /// fields it has. Repeatable.
    #[arg(
        long = "add-header",
        value_name = "'Name: value'",
        help_heading = "Message"
    )]
    added_headers: Vec<String>,
    /// The envelope sender (MAIL FROM) and, for a built message, the From header: ADDR, or
    /// `Name <ADDR>` (the name in the header only, RFC 2047-encoded when not ASCII). `<>` (or
    /// '') is the null sender of bounces (RFC 5321 4.5.5); a built message then takes its From
    /// header from --header 'From: ADDR'.
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present_any = [
            "demo", "quit_after", "vrfy", "expn", "etrn", "dkim_print_record"
        ],
        help_heading = "Envelope"
    )]
    from: Option<String>,
    /// A recipient (To header and envelope): ADDR or `Name <ADDR>`. Repeatable.
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present_any = [
            "demo", "quit_after", "vrfy", "expn", "etrn", "dkim_print_record"
        ],
        help_heading = "Envelope"
    )]
    to: Vec<String>,
    /// A copy recipient (Cc header and envelope). Repeatable.
    #[arg(long, value_name = "ADDR", help_heading = "Envelope")]
    cc: Vec<String>,
    /// A blind copy recipient (envelope only). Repeatable.
    #[arg(long, value_name = "ADDR", help_heading = "Envelope")]
    bcc: Vec<String>,
    #[command(flatten)]
    params: ParamArgs,
    #[command(flatten)]
    dkim: DkimArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    route: RouteArgs,
    #[command(flatten)]
    xclient: XclientArgs,
    #[command(flatten)]
    xforward: XforwardArgs,
    /// Probe the server without sending a message: say QUIT after this point (connect: the
    /// connection alone, TCP or --socket, nothing said; greeting; ehlo: the first EHLO; tls:
    /// TLS and the EHLO after it, or where TLS would have been; auth; mail: MAIL FROM; rcpt:
    /// every RCPT).
    #[arg(long, value_enum, value_name = "STOP", help_heading = "Session")]
    quit_after: Option<QuitAfter>,
    /// Ask VRFY ADDR (RFC 5321 3.5.1) and print the reply; no message is sent. Exit 0 for 2yz,
    /// 75 for 4yz, 69 for 5yz.
    #[arg(
        long,
        value_name = "ADDR",
        conflicts_with_all = ["quit_after", "expn", "etrn"],
        help_heading = "Session"
    )]
    vrfy: Option<String>,
    /// Ask EXPN LIST (RFC 5321 3.5.2) and print the reply, every line; no message is sent.
    /// Exit as for --vrfy.
    #[arg(
        long,
        value_name = "LIST",
        conflicts_with_all = ["quit_after", "etrn"],
        help_heading = "Session"
    )]
    expn: Option<String>,
    /// Ask ETRN NODE (RFC 1985: start delivering what the server queued for example.org,
    /// @example.org with its subdomains, or #queue) and print the reply; no message is sent.
    /// Exit as for --vrfy.
    #[arg(
        long,
        value_name = "NODE",
        conflicts_with = "quit_after",
        help_heading = "Session"
    )]
    etrn: Option<String>,
    /// Start an embedded demo server on 127.0.0.1 and send a message to it (no --server).
    #[arg(long, conflicts_with_all = ["server", "socket"], help_heading = "Session")]
    demo: bool,
    /// Print the conversation on stderr (-> sent, <- received; AUTH redacted), the content
    /// summarised as `<N octets of content>`.
    #[arg(long, short, help_heading = "Output")]
    verbose: bool,
    /// Print every line of the session on stderr, the content's lines included (as sent:
    /// dot-stuffed); AUTH and credentials still redacted. Implies --verbose.
    #[arg(long, conflicts_with = "suppress_data", help_heading = "Output")]
    show_raw_text: bool,
    /// Put before each transcript line the seconds since the session began (a monotonic
    /// clock, milliseconds), to see which step a slow server spends its time on. Implies
    /// --verbose.
    #[arg(long, help_heading = "Output")]
    show_time_lapse: bool,
    /// Summarise the content in the transcript as `<N octets of content>` (the default).
    #[arg(long, help_heading = "Output")]
    suppress_data: bool,
    /// Print one JSON summary on stdout.
    #[arg(long, help_heading = "Output")]
    json: bool,
    /// Print the message as it would be sent (built or read, after --header, --add-header and
    /// the DKIM signature; before dot-stuffing) on stdout, and exit without connecting.
    #[arg(
        long,
        conflicts_with_all = [
            "quit_after", "vrfy", "expn", "etrn", "json", "demo", "tls_get_peer_cert"
        ],
        help_heading = "Output"
    )]
    dump_mail: bool,
    /// Write the certificates the server presented over TLS (its own first) to PATH as PEM;
    /// `-` or no PATH: standard output. Nothing is written without a TLS session.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "-",
        help_heading = "TLS"
    )]
    tls_get_peer_cert: Option<PathBuf>,
}

/// `--quit-after`: where a probe stops (swaks' names are accepted as aliases).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum QuitAfter {
    /// The connection alone (TCP, or the --socket).
    Connect,
    /// The greeting.
    #[value(alias = "banner")]
    Greeting,
    /// The first EHLO (before STARTTLS).
    #[value(
        alias = "first-ehlo",
        alias = "first-helo",
        alias = "helo",
        alias = "lhlo"
    )]
    Ehlo,
    /// TLS and the EHLO after it (or where TLS would have been).
    #[value(alias = "starttls")]
    Tls,
    /// AUTH (or where it would have been).
    Auth,
    /// MAIL FROM.
    #[value(alias = "from")]
    Mail,
    /// Every RCPT TO.
    #[value(alias = "to")]
    Rcpt,
}

const EXIT_HELP: &str = "Exit status: 0 sent to every recipient (a probe: got as far as asked; \
--vrfy/--expn/--etrn: a 2yz reply); 64 usage; 65 bad address/header; \
66 unreadable input file; 69 permanent refusal; 70 internal error; 74 message file read error; \
75 temporary failure (4yz, timeout, connection lost); 76 protocol error; 77 authentication or \
required TLS failed; 79 partial delivery (some recipients refused).";

/// A failure before anything is sent, with its exit status.
struct Exit(u8, String);

/// A file to attach (`--attach`) or to show inside the HTML (`--attach-inline`).
#[derive(Clone, Debug)]
// Read by the builder alone: without the `builder` feature only --message-file is sent.
#[cfg_attr(not(feature = "builder"), allow(dead_code))]
struct Part {
    inline: bool,
    path: PathBuf,
    /// The `--attach-type` before it, if any.
    mime_type: Option<String>,
    /// The `--attach-name` just before it, if any.
    name: Option<String>,
}

/// `--attach` and `--attach-inline` in command-line order, each with the MIME type of the
/// latest `--attach-type` before it. An `--attach-type` that no part follows is a usage error.
fn ordered_parts(matches: &clap::ArgMatches) -> Result<Vec<Part>, Exit> {
    /// What an option of the parts says.
    #[derive(Clone, Copy)]
    enum Given {
        Part { inline: bool },
        Type,
        Name,
    }
    // (position on the command line, what it is, the value as given: a path need not be UTF-8)
    let mut given: Vec<(usize, Given, std::ffi::OsString)> = Vec::new();
    for (id, kind) in [
        ("attach", Given::Part { inline: false }),
        ("attach_inline", Given::Part { inline: true }),
        ("attach_type", Given::Type),
        ("attach_name", Given::Name),
    ] {
        let (Some(at), Some(values)) = (matches.indices_of(id), matches.get_raw(id)) else {
            continue;
        };
        for (i, value) in at.zip(values) {
            given.push((i, kind, value.to_os_string()));
        }
    }
    given.sort_by_key(|(i, _, _)| *i);
    let mut parts = Vec::new();
    let mut mime_type: Option<String> = None;
    let mut type_used = true;
    let mut name: Option<String> = None;
    for (_, kind, value) in given {
        // Not UTF-8: the replacement character makes the builder refuse it (65).
        let text = || value.to_string_lossy().into_owned();
        match kind {
            Given::Type => {
                let value = text();
                mime_type = (value != "auto").then_some(value);
                type_used = false;
            }
            Given::Name if name.is_some() => {
                return Err(Exit(
                    EX_USAGE,
                    "two --attach-name with no --attach or --attach-inline between them".into(),
                ));
            }
            Given::Name => name = Some(text()),
            Given::Part { inline } => {
                parts.push(Part {
                    inline,
                    path: PathBuf::from(&value),
                    mime_type: mime_type.clone(),
                    name: name.take(),
                });
                type_used = true;
            }
        }
    }
    if !type_used {
        return Err(Exit(
            EX_USAGE,
            "the last --attach-type has no --attach or --attach-inline after it".into(),
        ));
    }
    if name.is_some() {
        return Err(Exit(
            EX_USAGE,
            "the last --attach-name has no --attach or --attach-inline after it".into(),
        ));
    }
    Ok(parts)
}

fn main() -> ExitCode {
    // Never die by a panic: report it as an internal error.
    let code = std::panic::catch_unwind(run).unwrap_or_else(|_| {
        eprintln_safe("smtp-send: internal error (a bug): please report it");
        EX_SOFTWARE
    });
    ExitCode::from(code)
}

fn run() -> u8 {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
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
    match ordered_parts(&matches) {
        Ok(parts) => cli.parts = parts,
        Err(Exit(code, message)) => {
            eprintln_safe(&format!("smtp-send: {message}"));
            if cli.json {
                print_json(&Summary::usage(code, &message));
            }
            return code;
        }
    }
    if cli.dkim.dkim_print_record {
        return match cli.dkim.signer(header_from(&cli).as_deref()) {
            Ok(Some(signer)) => {
                if cli.json {
                    println!("{}", mailwire_cli::dkim::record_json(&signer));
                } else {
                    println!("{}", mailwire_cli::dkim::zone_record(&signer));
                }
                EX_OK
            }
            Ok(None) => EX_USAGE,
            Err(e) => {
                eprintln_safe(&format!("smtp-send: {}", e.message));
                e.code
            }
        };
    }
    let sink = if cli.demo && !cli.json {
        Sink::Stdout
    } else {
        Sink::Stderr
    };
    Logger::install(
        cli.verbose || cli.show_raw_text || cli.show_time_lapse || cli.demo,
        sink,
        cli.show_time_lapse,
    );
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
    if cli.dump_mail {
        return match &plan.action {
            Action::Send(content) => match content.dump(&mut io::stdout().lock()) {
                Ok(()) => EX_OK,
                Err(e) => {
                    eprintln_safe(&format!("smtp-send: --dump-mail: {e}"));
                    EX_IOERR
                }
            },
            _ => EX_USAGE,
        };
    }
    let began = Instant::now();
    let _ = SESSION_BEGAN.set(began);
    let (run, mut facts) = plan.run();
    facts.elapsed = Some(began.elapsed());
    let mut code = exit_code(&run);
    // A file is written before the report, whose status says whether that worked; standard
    // output gets the certificates after the result line.
    let mut pem_out = None;
    if let Some(path) = &cli.tls_get_peer_cert {
        match write_peer_certificates(path, &facts) {
            Ok(pem) => pem_out = pem,
            Err(Exit(failed, message)) => {
                eprintln_safe(&format!("smtp-send: {message}"));
                code = failed;
            }
        }
    }
    match &run {
        Run::Sent(result) => report(&cli, &plan, result, &facts, code),
        Run::Probed(result) => report_probe(&cli, &plan, result, &facts, code),
        Run::Replied(result) => report_reply(&cli, &plan, result, &facts, code),
    }
    if let Some(pem) = pem_out {
        print!("{pem}");
        if let Err(e) = io::stdout().flush() {
            eprintln_safe(&format!("smtp-send: cannot write the certificates: {e}"));
            code = EX_IOERR;
        }
    }
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
    action: Action,
}

/// What the session is for.
enum Action {
    /// Send the message.
    Send(Content),
    /// Probe the server (`--quit-after`), with `envelope` for MAIL and RCPT.
    Probe(QuitAfter),
    /// VRFY, EXPN or ETRN (`--vrfy`, `--expn`, `--etrn`) with its argument.
    Ask(Ask, String),
}

/// The commands `smtp-send` asks alone, printing the reply.
#[derive(Clone, Copy)]
enum Ask {
    Vrfy,
    Expn,
    Etrn,
}

enum Content {
    Built(Vec<u8>),
    /// A message file, its header section rewritten as it streams.
    File {
        path: PathBuf,
        edits: HeaderEdits,
        /// The DKIM-Signature field that goes before it (empty: none).
        signature: Vec<u8>,
    },
    /// The message on standard input (`--message-file -`), streamed once: neither its size nor
    /// its 8-bit octets are known before MAIL.
    Stdin {
        edits: HeaderEdits,
    },
}

impl Content {
    /// `--dump-mail`: the bytes the session would be given, written to `out`.
    fn dump(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Content::Built(bytes) => out.write_all(bytes)?,
            Content::File {
                path,
                edits,
                signature,
            } => {
                let file = File::open(path)?;
                io::copy(
                    &mut signature
                        .as_slice()
                        .chain(RewriteHeaders::new(file, edits.clone())),
                    out,
                )?;
            }
            Content::Stdin { edits } => {
                io::copy(
                    &mut RewriteHeaders::new(io::stdin().lock(), edits.clone()),
                    out,
                )?;
            }
        }
        out.flush()
    }

    /// `--7bit` declares BODY=7BIT (RFC 6152 3), which content with an octet above 127 would
    /// make untrue: such a message (built, or a file with its header edits) is refused here,
    /// before connecting, as a usage error (64). Standard input is read once, as it is sent:
    /// there the session refuses the message at its first 8-bit octet (69).
    fn check_seven_bit(&self) -> Result<(), Exit> {
        let mut measured = Envelope::new(None, Vec::<Mailbox>::new());
        let read = match self {
            Content::Built(bytes) => {
                mailwire_blocking::declare_content(&mut measured, bytes.as_slice())
            }
            Content::File {
                path,
                edits,
                signature,
            } => File::open(path).and_then(|file| {
                mailwire_blocking::declare_content(
                    &mut measured,
                    signature
                        .as_slice()
                        .chain(RewriteHeaders::new(file, edits.clone())),
                )
            }),
            Content::Stdin { .. } => return Ok(()),
        };
        let what = match self {
            Content::File { path, .. } => path.display().to_string(),
            _ => "the built message".to_string(),
        };
        read.map_err(|e| Exit(EX_NOINPUT, format!("cannot read {what}: {e}")))?;
        if measured.params.body == Some(BodyType::EightBitMime) {
            return Err(Exit(
                EX_USAGE,
                format!(
                    "--7bit, but {what} has 8-bit octets (above 127): BODY=7BIT would be \
                     untrue (RFC 6152); leave --7bit out to declare the body type from the \
                     content"
                ),
            ));
        }
        Ok(())
    }
}

impl Plan {
    fn from_cli(cli: &Cli, demo: Option<&DemoServer>) -> Result<Plan, Exit> {
        let demo_on = demo.is_some();
        let side = cli.vrfy.is_some() || cli.expn.is_some() || cli.etrn.is_some();
        if cli.json && cli.tls_get_peer_cert.as_deref() == Some(Path::new("-")) {
            return Err(Exit(
                EX_USAGE,
                "--tls-get-peer-cert to standard output and --json would share it: give a PATH"
                    .into(),
            ));
        }
        let from = cli
            .from
            .clone()
            .or_else(|| demo_on.then(|| "alice@demo.localhost".into()));
        let mut to = cli.to.clone();
        if to.is_empty() && demo_on {
            to.push("bob@demo.localhost".into());
        }
        // What each stop needs: MAIL a sender, RCPT recipients too.
        let (needs_from, needs_to) = match cli.quit_after {
            _ if side => (false, false),
            None | Some(QuitAfter::Rcpt) => (true, true),
            Some(QuitAfter::Mail) => (true, false),
            Some(_) => (false, false),
        };
        if needs_from && from.is_none() {
            return Err(Exit(EX_USAGE, "--from is required here".into()));
        }
        if needs_to && to.is_empty() {
            return Err(Exit(EX_USAGE, "--to is required here".into()));
        }
        let sender = match from.as_deref() {
            Some(f) if is_null_path(f) => None,
            other => other.map(mailbox).transpose()?,
        };
        for argument in [&cli.vrfy, &cli.expn, &cli.etrn].into_iter().flatten() {
            mailwire::command::Argument::new(argument).map_err(|e| {
                Exit(
                    EX_DATAERR,
                    format!("invalid VRFY/EXPN/ETRN argument {argument:?}: {e}"),
                )
            })?;
        }
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
        let dash = |p: &Option<PathBuf>| p.as_deref() == Some(Path::new("-"));
        if dash(&cli.body_file) && dash(&cli.body_html_file) {
            return Err(Exit(
                EX_USAGE,
                "--body-file - and --body-html-file - would both read standard input".into(),
            ));
        }
        let mut edits = HeaderEdits::default();
        for h in &cli.headers {
            edits.replace.push(parse_header("--header", h)?);
        }
        for h in &cli.added_headers {
            edits.add.push(parse_header("--add-header", h)?);
        }
        if let Some(subject) = &cli.subject {
            if has_line_break(subject) {
                return Err(Exit(
                    EX_DATAERR,
                    "--subject must not contain CR, LF or NUL".into(),
                ));
            }
        }

        let server = demo
            .map(|d| ("127.0.0.1".to_string(), d.port()))
            .or_else(|| {
                // --dump-mail connects nowhere: where it would go does not matter.
                (cli.dump_mail && cli.connect.server.is_none() && cli.route.socket.is_none())
                    .then(|| ("localhost".to_string(), 25))
            });
        let connection = cli
            .route
            .connection(&cli.connect, server)
            .map_err(|e| Exit(e.code, e.message))?;
        let mut options: ClientOptions = connection.into_client_options();
        cli.xclient
            .apply(&mut options.config)
            .map_err(|e| Exit(e.code, e.message))?;
        options.config.transcript =
            cli.verbose || cli.show_raw_text || cli.show_time_lapse || demo_on;
        options.config.transcript_content = cli.show_raw_text;
        if demo_on {
            // The demo server is on 127.0.0.1, speaks no TLS, and knows one user.
            options.config.tls = TlsPolicy::Never;
            if options.config.auth.is_none() {
                let mut auth = AuthConfig::new(Credentials::Password {
                    username: DEMO_USER.to_string(),
                    password: Secret::new(DEMO_PASSWORD.to_string()),
                });
                auth.allow_plaintext = true;
                options.config.auth = Some(auth);
            }
        }

        let asked = [
            (Ask::Vrfy, &cli.vrfy),
            (Ask::Expn, &cli.expn),
            (Ask::Etrn, &cli.etrn),
        ]
        .into_iter()
        .find_map(|(ask, argument)| Some((ask, argument.clone()?)));
        let action = match (asked, cli.quit_after) {
            (Some((ask, argument)), _) => Action::Ask(ask, argument),
            (None, Some(stop)) => Action::Probe(stop),
            (None, None) => {
                let author = match from.as_deref() {
                    Some(f) if is_null_path(f) => header_from(cli),
                    other => other.map(str::to_string),
                };
                let content = Self::content(cli, author.as_deref(), &to, edits, demo_on)?;
                let signer = cli
                    .dkim
                    .signer(author.as_deref())
                    .map_err(|e| Exit(e.code, e.message))?;
                Action::Send(match signer {
                    Some(signer) => Self::sign(content, &signer)?,
                    None => content,
                })
            }
        };
        let mut envelope = Envelope::new(sender, recipients);
        cli.params
            .apply(&mut envelope)
            .map_err(|e| Exit(e.code, e.message))?;
        envelope.xforward = cli
            .xforward
            .attributes()
            .map_err(|e| Exit(e.code, e.message))?;
        if cli.params.seven_bit {
            if let Action::Send(content) = &action {
                content.check_seven_bit()?;
            }
        }
        Ok(Plan {
            server: options.server(),
            options,
            envelope,
            kinds,
            action,
        })
    }

    /// The message to send: a file, standard input, or built from the options.
    fn content(
        cli: &Cli,
        author: Option<&str>,
        to: &[String],
        edits: HeaderEdits,
        demo_on: bool,
    ) -> Result<Content, Exit> {
        Ok(match &cli.message_file {
            Some(path) if path.as_os_str() == "-" => Content::Stdin { edits },
            Some(path) => {
                File::open(path).map_err(|e| {
                    Exit(EX_NOINPUT, format!("cannot read {}: {e}", path.display()))
                })?;
                Content::File {
                    path: path.clone(),
                    edits,
                    signature: Vec::new(),
                }
            }
            None => {
                let text = match (&cli.body, &cli.body_file) {
                    (Some(b), _) => Some(b.clone()),
                    (None, Some(path)) => Some(read_text(path)?),
                    (None, None) => None,
                };
                let html = match (&cli.body_html, &cli.body_html_file) {
                    (Some(h), _) => Some(h.clone()),
                    (None, Some(path)) => Some(read_text(path)?),
                    (None, None) => None,
                };
                // No body given: an empty text one (the demo's own text with --demo).
                let text = match (text, &html) {
                    (None, None) if demo_on => Some("Hello from smtp-send --demo!\n\nThis message went through EHLO, \
                        AUTH and a pipelined MAIL/RCPT/DATA.\n.A line starting with a dot survives dot-stuffing.\n"
                        .to_string()),
                    (None, None) => Some(String::new()),
                    (text, _) => text,
                };
                let subject = cli
                    .subject
                    .clone()
                    .or_else(|| demo_on.then(|| "smtp-send demo".to_string()));
                // The From header: --from's address, or with the null sender --header's.
                let from = author.ok_or_else(|| {
                    Exit(
                        EX_USAGE,
                        "--from '<>' (the null sender) leaves a built message without a From \
                         header: give one with --header 'From: ADDR', or send a --message-file"
                            .into(),
                    )
                })?;
                let built = build_message(&Built {
                    from,
                    recipients: [to, &cli.cc, &cli.bcc],
                    subject,
                    text,
                    html,
                    parts: &cli.parts,
                })?;
                // Then --header and --add-header edit the built message's header section as
                // they edit a given one (swaks' sense): `--header 'Subject: x'` replaces the
                // built Subject, a Date or Message-ID the generated one.
                Content::Built(edit_built(built, &edits)?)
            }
        })
    }

    /// `content` with a DKIM signature before it. A file is read once here to sign it and
    /// again as it is sent; standard input, which can be read only once, is held whole.
    fn sign(content: Content, signer: &DkimSigner) -> Result<Content, Exit> {
        let exit = |e: mailwire_cli::connect::CliError| Exit(e.code, e.message);
        Ok(match content {
            Content::Built(bytes) => {
                let field = sign_reader(signer, bytes.as_slice()).map_err(exit)?;
                let mut signed = field.into_bytes();
                signed.extend_from_slice(&bytes);
                Content::Built(signed)
            }
            Content::File { path, edits, .. } => {
                let file = File::open(&path).map_err(|e| {
                    Exit(EX_NOINPUT, format!("cannot read {}: {e}", path.display()))
                })?;
                let field =
                    sign_reader(signer, RewriteHeaders::new(file, edits.clone())).map_err(exit)?;
                Content::File {
                    path,
                    edits,
                    signature: field.into_bytes(),
                }
            }
            Content::Stdin { edits } => {
                let mut bytes = Vec::new();
                RewriteHeaders::new(io::stdin().lock(), edits)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Exit(EX_NOINPUT, format!("cannot read standard input: {e}")))?;
                Self::sign(Content::Built(bytes), signer)?
            }
        })
    }

    /// Runs the session the plan is for.
    fn run(&self) -> (Run, Facts) {
        let mut facts = Facts::default();
        let run = match &self.action {
            Action::Send(content) => Run::Sent(self.send(content, &mut facts)),
            Action::Probe(stop) => {
                let until = match stop {
                    QuitAfter::Connect => ProbeUntil::Connect,
                    QuitAfter::Greeting => ProbeUntil::Milestone(Milestone::Greeting),
                    QuitAfter::Ehlo => ProbeUntil::Milestone(Milestone::Hello),
                    QuitAfter::Tls => ProbeUntil::Milestone(Milestone::Tls),
                    QuitAfter::Auth => ProbeUntil::Milestone(Milestone::Auth),
                    QuitAfter::Mail | QuitAfter::Rcpt => ProbeUntil::Transaction {
                        envelope: self.envelope.clone(),
                        depth: if *stop == QuitAfter::Mail {
                            ProbeDepth::Mail
                        } else {
                            ProbeDepth::Rcpt
                        },
                    },
                };
                let result = mailwire_blocking::probe(self.options.clone(), until).map(Box::new);
                if let Ok(report) = &result {
                    facts = Facts {
                        greeting: report.greeting.clone(),
                        capabilities: report.capabilities.clone(),
                        tls: (*stop != QuitAfter::Connect).then_some(report.tls),
                        tls_info: report.tls_info.clone(),
                        auth: report.authenticated.clone(),
                        elapsed: None,
                    };
                }
                Run::Probed(result)
            }
            Action::Ask(ask, argument) => {
                Run::Replied(self.side_command(*ask, argument, &mut facts))
            }
        };
        (run, facts)
    }

    /// VRFY, EXPN or ETRN, then QUIT.
    fn side_command(&self, ask: Ask, argument: &str, facts: &mut Facts) -> Result<Reply, Error> {
        let mut client = Client::connect(self.options.clone())?;
        let reply = match ask {
            Ask::Vrfy => client.verify(argument),
            Ask::Expn => client.expand(argument),
            Ask::Etrn => client.etrn(argument),
        };
        *facts = Facts::of(&client);
        if reply.is_ok() {
            if let Err(e) = client.quit() {
                log::info!("QUIT failed: {e}");
            }
        }
        reply
    }

    fn send(&self, content: &Content, facts: &mut Facts) -> Result<MessageOutcome, Error> {
        let mut client = Client::connect(self.options.clone())?;
        let outcome = match content {
            Content::Built(bytes) => client.send_bytes(self.envelope.clone(), bytes),
            Content::Stdin { edits } => {
                let stdin = RewriteHeaders::new(io::stdin().lock(), edits.clone());
                client.send(self.envelope.clone(), stdin)
            }
            Content::File {
                path,
                edits,
                signature,
            } => {
                // Measured first (RFC 1870 SIZE, RFC 6152 8-bit), so that a message too large
                // for the server never has its MAIL sent; then streamed.
                let open = || {
                    File::open(path)
                        .map(|file| {
                            signature
                                .as_slice()
                                .chain(RewriteHeaders::new(file, edits.clone()))
                        })
                        .map_err(|e| Error::Body(std::sync::Arc::new(e)))
                };
                let mut envelope = self.envelope.clone();
                open()
                    .and_then(|content| {
                        mailwire_blocking::declare_content(&mut envelope, content)
                            .map_err(|e| Error::Body(std::sync::Arc::new(e)))
                    })
                    .and_then(|()| client.send(envelope, open()?))
            }
        };
        *facts = Facts::of(&client);
        // The outcome is known; a failing QUIT changes nothing about it.
        if outcome.is_ok() {
            if let Err(e) = client.quit() {
                log::info!("QUIT failed: {e}");
            }
        }
        outcome
    }
}

/// An address for the envelope: `local@domain`, or (with the `builder` feature, whose message
/// puts the name in its header) `Name <local@domain>`, the mailbox taken from it.
fn mailbox(text: &str) -> Result<Mailbox, Exit> {
    #[cfg(feature = "builder")]
    let parsed = mailwire_blocking::message::Address::parse(text)
        .map(|a| a.mailbox().clone())
        .map_err(|e| e.to_string());
    #[cfg(not(feature = "builder"))]
    let parsed = Mailbox::parse(text).map_err(|e| e.to_string());
    parsed.map_err(|e| Exit(EX_DATAERR, format!("invalid address {text:?}: {e}")))
}

/// The message's author when the envelope cannot say it: with `--from '<>'`, the value of the
/// first `--header 'From: …'`; otherwise `--from`.
fn header_from(cli: &Cli) -> Option<String> {
    match cli.from.as_deref() {
        Some(f) if !is_null_path(f) => Some(f.to_string()),
        _ => cli
            .headers
            .iter()
            .filter_map(|h| HeaderField::parse(h).ok())
            .find(|h| h.name().eq_ignore_ascii_case("from"))
            .map(|h| h.value().to_string()),
    }
}

fn has_line_break(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// `Name: value` ([`HeaderField::parse`]: no CR, LF or NUL, a valid field name), else 65.
fn parse_header(option: &str, h: &str) -> Result<HeaderField, Exit> {
    HeaderField::parse(h).map_err(|why| Exit(EX_DATAERR, format!("invalid {option} {h:?}: {why}")))
}

/// A UTF-8 text file (`--body-file`, `--body-html-file`; `-`: standard input, read to its
/// end): 66 when unreadable, 65 when not UTF-8.
fn read_text(path: &std::path::Path) -> Result<String, Exit> {
    let (bytes, name) = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map(|_| (bytes, "standard input".to_string()))
    } else {
        std::fs::read(path).map(|b| (b, path.display().to_string()))
    }
    .map_err(|e| Exit(EX_NOINPUT, format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| Exit(EX_DATAERR, format!("{name} is not UTF-8 text")))
}

/// What a built message is made of.
#[cfg_attr(not(feature = "builder"), allow(dead_code))]
struct Built<'a> {
    from: &'a str,
    /// To, Cc, Bcc.
    recipients: [&'a [String]; 3],
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    parts: &'a [Part],
}

/// `edits` applied to the header section of a built message, as to a given one.
fn edit_built(built: Vec<u8>, edits: &HeaderEdits) -> Result<Vec<u8>, Exit> {
    if edits.is_empty() {
        return Ok(built);
    }
    let mut edited = Vec::with_capacity(built.len() + 256);
    RewriteHeaders::new(built.as_slice(), edits.clone())
        .read_to_end(&mut edited)
        .map_err(|e| Exit(EX_SOFTWARE, format!("cannot edit the built message: {e}")))?;
    Ok(edited)
}

/// The message of `--subject`, `--body`, `--body-html`, `--attach` and `--attach-inline`, built
/// by `mailwire-message` (From, To, Cc, Subject, Date, Message-ID,
/// MIME-Version, the MIME tree; Bcc only in the envelope; non-ASCII subjects and names as RFC
/// 2047 encoded words, non-ASCII file names as RFC 2231 parameters). A file that cannot be read
/// is 66; anything the builder refuses (CR or LF in a value, a bad MIME type or Content-ID) 65.
#[cfg(feature = "builder")]
fn build_message(built: &Built<'_>) -> Result<Vec<u8>, Exit> {
    use mailwire_blocking::message::{Attachment, Email, Error as BuildError};
    let refused = |e: BuildError| {
        let code = match e {
            BuildError::ReadFile { .. } | BuildError::NoFileName { .. } => EX_NOINPUT,
            _ => EX_DATAERR,
        };
        Exit(code, format!("cannot build the message: {e}"))
    };
    let [to, cc, bcc] = built.recipients;
    let mut builder = Email::builder().from(built.from);
    for a in to {
        builder = builder.to(a);
    }
    for a in cc {
        builder = builder.cc(a);
    }
    for a in bcc {
        builder = builder.bcc(a);
    }
    if let Some(subject) = &built.subject {
        builder = builder.subject(subject);
    }
    if let Some(text) = &built.text {
        builder = builder.text(text);
    }
    if let Some(html) = &built.html {
        builder = builder.html(html);
    }
    for part in built.parts {
        let mut file = Attachment::from_path(&part.path).map_err(refused)?;
        if let Some(name) = &part.name {
            file = file.renamed(name);
        }
        if let Some(mime_type) = &part.mime_type {
            file = file.content_type(mime_type);
        }
        builder = if part.inline {
            let cid = file.filename().to_string();
            builder.inline(cid, file)
        } else {
            builder.attachment(file)
        };
    }
    Ok(builder.build().map_err(refused)?.to_bytes())
}

/// Without the `builder` feature only `--message-file` can be sent.
#[cfg(not(feature = "builder"))]
fn build_message(_built: &Built<'_>) -> Result<Vec<u8>, Exit> {
    Err(Exit(
        EX_USAGE,
        "this smtp-send was built without the `builder` feature: give --message-file".into(),
    ))
}

// ----- outcome -----

/// How the session went. (One per run: its size does not matter.)
#[allow(clippy::large_enum_variant)]
enum Run {
    /// The message's outcome.
    Sent(Result<MessageOutcome, Error>),
    /// What a probe learnt (boxed: it is the largest by far).
    Probed(Result<Box<ProbeReport>, Error>),
    /// The reply to VRFY or EXPN.
    Replied(Result<Reply, Error>),
}

/// What the session learnt about the server, for the report.
#[derive(Default)]
struct Facts {
    greeting: Option<Reply>,
    capabilities: Option<Capabilities>,
    /// `None` when no session was had (the connection alone, or none).
    tls: Option<bool>,
    /// The TLS session, when there was one.
    tls_info: Option<TlsInfo>,
    auth: Option<Mechanism>,
    /// From just before connecting to the end of the session (QUIT, or the failure).
    elapsed: Option<Duration>,
}

impl Facts {
    fn of(client: &Client) -> Facts {
        Facts {
            greeting: client.session().greeting().cloned(),
            capabilities: client.capabilities().cloned(),
            tls: Some(client.is_secure()),
            tls_info: client.tls_info(),
            auth: client.authenticated_mechanism().cloned(),
            elapsed: None,
        }
    }
}

/// `--tls-get-peer-cert`: the server's certificates as PEM, written to `path`, or given back
/// for standard output when `path` is `-`. Without a TLS session there is nothing to write: a
/// note, and the run's own status. A file that cannot be written is 73.
fn write_peer_certificates(path: &Path, facts: &Facts) -> Result<Option<String>, Exit> {
    let Some(info) = &facts.tls_info else {
        eprintln_safe("smtp-send: --tls-get-peer-cert: no TLS session, so no certificate");
        return Ok(None);
    };
    let pem = mailwire_cli::certificates::pem_chain(&info.peer_certificates);
    if path.as_os_str() == "-" {
        return Ok(Some(pem));
    }
    std::fs::write(path, pem).map(|()| None).map_err(|e| {
        Exit(
            EX_CANTCREAT,
            format!("--tls-get-peer-cert {}: {e}", path.display()),
        )
    })
}

/// The exit status: the core's class of the outcome, or of the error that ended the session
/// ([`mailwire::Class::exit_status`], the mapping `smtp-bulk` reports too); the command line's
/// own statuses for what failed around it. A probe that got as far as asked is 0, or the class
/// of its MAIL and RCPT replies; a VRFY or EXPN reply gives its own class.
fn exit_code(run: &Run) -> u8 {
    match run {
        Run::Sent(Ok(outcome)) => outcome.class().exit_status(),
        Run::Probed(Ok(report)) => report.class().exit_status(),
        Run::Replied(Ok(reply)) => reply_class(reply).exit_status(),
        Run::Sent(Err(e)) | Run::Probed(Err(e)) | Run::Replied(Err(e)) => error_code(e),
    }
}

/// A reply's class as an outcome's would be: 2yz delivered, 4yz temporary, 5yz permanent,
/// anything else a protocol error.
fn reply_class(reply: &Reply) -> Class {
    if reply.is_positive_completion() {
        Class::Delivered
    } else if reply.is_transient() {
        Class::Temporary
    } else if reply.is_permanent() {
        Class::Permanent
    } else {
        Class::Protocol
    }
}

/// The command line's statuses for what failed around the session: the one mapping every
/// command shares ([`mailwire_cli::error_status`]).
fn error_code(e: &Error) -> u8 {
    mailwire_cli::error_status(e)
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
    /// `null` when the RCPT was not answered; with LMTP, the delivery reply counts too.
    accepted: Option<bool>,
    /// The reply to its RCPT.
    reply: Option<JsonReply>,
    /// LMTP: its own reply after the content (RFC 2033 4.2); `null` with SMTP.
    delivery: Option<JsonReply>,
}

#[derive(Serialize)]
struct JsonError {
    stage: Option<String>,
    message: String,
    reply: Option<JsonReply>,
    transient: bool,
}

/// The capabilities of the latest EHLO, one string per extension (`SIZE 10240000`,
/// `AUTH PLAIN LOGIN`, unknown ones with their parameters).
#[derive(Serialize)]
struct JsonCapabilities {
    domain: String,
    extensions: Vec<String>,
}

impl From<&Capabilities> for JsonCapabilities {
    fn from(c: &Capabilities) -> Self {
        let mut ext: Vec<String> = Vec::new();
        let with = |name: &str, param: Option<String>| match param {
            Some(p) => format!("{name} {p}"),
            None => name.to_string(),
        };
        if let Some(size) = c.size {
            ext.push(with(
                "SIZE",
                match size {
                    SizeLimit::Max(n) => Some(n.to_string()),
                    _ => None,
                },
            ));
        }
        for (on, name) in [
            (c.pipelining, "PIPELINING"),
            (c.eight_bit_mime, "8BITMIME"),
            (c.binary_mime, "BINARYMIME"),
            (c.chunking, "CHUNKING"),
            (c.smtputf8, "SMTPUTF8"),
            (c.dsn, "DSN"),
            (c.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (c.starttls, "STARTTLS"),
            (c.requiretls, "REQUIRETLS"),
        ] {
            if on {
                ext.push(name.to_string());
            }
        }
        if let Some(by) = c.deliver_by {
            ext.push(with("DELIVERBY", by.map(|n| n.to_string())));
        }
        if let Some(profile) = &c.mt_priority {
            ext.push(with("MT-PRIORITY", profile.clone()));
        }
        if !c.auth.is_empty() {
            let names: Vec<&str> = c.auth.iter().map(Mechanism::name).collect();
            ext.push(format!("AUTH {}", names.join(" ")));
        }
        for u in &c.unknown {
            let params = (!u.params.is_empty()).then(|| u.params.join(" "));
            ext.push(with(&u.keyword, params));
        }
        JsonCapabilities {
            domain: c.server_domain.clone(),
            extensions: ext,
        }
    }
}

/// A VRFY or EXPN reply, every line kept.
#[derive(Serialize)]
struct JsonLinesReply {
    code: u16,
    enhanced_code: Option<String>,
    text: String,
    lines: Vec<String>,
}

impl From<&Reply> for JsonLinesReply {
    fn from(r: &Reply) -> Self {
        JsonLinesReply {
            code: r.code().get(),
            enhanced_code: r.enhanced_code().map(|e| e.to_string()),
            text: r.text_lossy(),
            lines: r
                .lines()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect(),
        }
    }
}

/// `tls_session` in the JSON summary.
#[derive(Serialize)]
struct JsonTlsSession {
    /// `TLSv1.3` or `TLSv1.2`.
    version: String,
    /// The IANA name: `TLS_AES_256_GCM_SHA384`.
    cipher_suite: String,
    /// Whether the handshake resumed an earlier session.
    resumed: bool,
    /// The server's certificates, its own first.
    peer_certificates: Vec<JsonCertificate>,
}

#[derive(Serialize)]
struct JsonCertificate {
    /// The SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` writes it (`AB:CD:…`).
    sha256: String,
}

impl From<&TlsInfo> for JsonTlsSession {
    fn from(info: &TlsInfo) -> Self {
        JsonTlsSession {
            version: info.version_name(),
            cipher_suite: info.cipher_suite_name(),
            resumed: info.handshake_kind == mailwire_blocking::rustls::HandshakeKind::Resumed,
            peer_certificates: info
                .peer_certificates
                .iter()
                .map(|der| JsonCertificate {
                    sha256: mailwire_cli::certificates::sha256_fingerprint(der),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct Summary {
    /// `sent`, `partial`, `rejected`, `probed`, `replied`, `failed` or `usage`.
    status: &'static str,
    /// The core's class of the outcome (`delivered`, `partial`, `temporary`, `permanent`,
    /// `protocol`, `security`, `local`), as `smtp-bulk` reports it.
    class: &'static str,
    exit_code: u8,
    server: Option<String>,
    /// The server's 220 greeting.
    greeting: Option<JsonReply>,
    /// The capabilities of its latest EHLO.
    capabilities: Option<JsonCapabilities>,
    /// Whether the session was encrypted; `null` when no session was had.
    tls: Option<bool>,
    /// The TLS session: version, cipher suite, resumption, the server's certificates.
    tls_session: Option<JsonTlsSession>,
    /// The SASL mechanism it authenticated with.
    auth: Option<String>,
    /// Seconds from just before connecting to the end of the session; `null` when none began.
    elapsed_seconds: Option<f64>,
    recipients: Vec<JsonRecipient>,
    /// `--quit-after mail|rcpt`: the reply to MAIL FROM.
    mail_reply: Option<JsonReply>,
    /// `--vrfy`, `--expn`, `--etrn`: the reply.
    reply: Option<JsonLinesReply>,
    final_reply: Option<JsonReply>,
    error: Option<JsonError>,
}

impl Summary {
    fn new(status: &'static str, class: Class, exit_code: u8, facts: &Facts) -> Summary {
        Summary {
            status,
            class: class.name(),
            exit_code,
            server: None,
            greeting: facts.greeting.as_ref().map(JsonReply::from),
            capabilities: facts.capabilities.as_ref().map(JsonCapabilities::from),
            tls: facts.tls,
            tls_session: facts.tls_info.as_ref().map(JsonTlsSession::from),
            auth: facts.auth.as_ref().map(|m| m.name().to_string()),
            elapsed_seconds: facts
                .elapsed
                .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
            recipients: Vec::new(),
            mail_reply: None,
            reply: None,
            final_reply: None,
            error: None,
        }
    }

    fn usage(code: u8, message: &str) -> Summary {
        let mut summary = Summary::new("usage", Class::Local, code, &Facts::default());
        summary.error = Some(JsonError {
            stage: None,
            message: message.to_string(),
            reply: None,
            transient: false,
        });
        summary
    }
}

impl JsonError {
    fn of(e: &Error) -> JsonError {
        JsonError {
            stage: e.stage().map(|s| s.to_string()),
            message: e.to_string(),
            reply: e.reply().map(JsonReply::from),
            transient: e.is_transient(),
        }
    }
}

fn report_failure(e: &Error) {
    let stage = e.stage().map(|s| format!(" at {s}")).unwrap_or_default();
    eprintln_safe(&format!("smtp-send: failed{stage}: {e}"));
}

/// `--quit-after`: what was learnt, one line each on stdout (or the JSON summary).
fn report_probe(
    cli: &Cli,
    plan: &Plan,
    result: &Result<Box<ProbeReport>, Error>,
    facts: &Facts,
    code: u8,
) {
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            report_failure(e);
            if cli.json {
                let mut summary = Summary::new("failed", e.class(), code, facts);
                summary.server = Some(plan.server.clone());
                summary.error = Some(JsonError::of(e));
                print_json(&summary);
            }
            return;
        }
    };
    let outcome = report.outcome.as_ref();
    let mail = outcome.and_then(|o| match &o.verdict {
        Verdict::Probed { mail } => Some(mail),
        _ => None,
    });
    if cli.json {
        let mut summary = Summary::new("probed", report.class(), code, facts);
        summary.server = Some(plan.server.clone());
        if outcome.is_some() {
            summary.recipients = recipients_json(plan, outcome);
        }
        summary.mail_reply = mail.map(JsonReply::from);
        if let Some(Verdict::Rejected(rejection)) = outcome.map(|o| &o.verdict) {
            summary.error = Some(JsonError {
                stage: rejection.stage().map(|s| s.to_string()),
                message: rejection.to_string(),
                reply: rejection.reply().map(JsonReply::from),
                transient: outcome.is_some_and(MessageOutcome::is_transient),
            });
        }
        print_json(&summary);
        return;
    }
    println_safe(&format!("connected to {}", plan.server));
    if let Some(g) = &facts.greeting {
        println_safe(&format!("greeting: {g}"));
    }
    if let Some(c) = &facts.capabilities {
        let c = JsonCapabilities::from(c);
        println_safe(&format!("capabilities: {}", c.extensions.join(", ")));
    }
    if let Some(tls) = facts.tls.filter(|_| facts.greeting.is_some()) {
        match &facts.tls_info {
            Some(info) if tls => println_safe(&format!(
                "tls: yes ({}, {}{})",
                info.version_name(),
                info.cipher_suite_name(),
                if info.handshake_kind == mailwire_blocking::rustls::HandshakeKind::Resumed {
                    ", resumed"
                } else {
                    ""
                }
            )),
            _ => println_safe(&format!("tls: {}", if tls { "yes" } else { "no" })),
        }
    }
    if let Some(m) = &facts.auth {
        println_safe(&format!("auth: {}", m.name()));
    }
    if let Some(o) = outcome {
        match (&o.verdict, mail) {
            (_, Some(mail)) => println_safe(&format!("mail: {mail}")),
            (Verdict::Rejected(rejection), None) => {
                eprintln_safe(&format!("smtp-send: probe {rejection}"));
            }
            _ => {}
        }
        for (r, rcpt) in o.recipients.iter().zip(&plan.envelope.recipients) {
            if let Some(reply) = &r.rcpt {
                println_safe(&format!("rcpt <{}>: {reply}", rcpt.address));
            }
        }
    }
}

/// `--vrfy`, `--expn`, `--etrn`: the reply, every line, on stdout (or the JSON summary).
fn report_reply(cli: &Cli, plan: &Plan, result: &Result<Reply, Error>, facts: &Facts, code: u8) {
    match result {
        Ok(reply) if cli.json => {
            let mut summary = Summary::new("replied", reply_class(reply), code, facts);
            summary.server = Some(plan.server.clone());
            summary.reply = Some(JsonLinesReply::from(reply));
            print_json(&summary);
        }
        Ok(reply) => {
            let count = reply.line_count();
            for (i, line) in reply.lines().enumerate() {
                let sep = if i + 1 == count { ' ' } else { '-' };
                println_safe(&format!(
                    "{}{sep}{}",
                    reply.code(),
                    String::from_utf8_lossy(line)
                ));
            }
        }
        Err(e) => {
            report_failure(e);
            if cli.json {
                let mut summary = Summary::new("failed", e.class(), code, facts);
                summary.server = Some(plan.server.clone());
                summary.error = Some(JsonError::of(e));
                print_json(&summary);
            }
        }
    }
}

fn recipients_json(plan: &Plan, outcome: Option<&MessageOutcome>) -> Vec<JsonRecipient> {
    plan.envelope
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let result = outcome.and_then(|o| o.recipients.get(i));
            let rcpt = result.and_then(|r| r.rcpt.as_ref());
            JsonRecipient {
                address: r.address.to_string(),
                kind: plan.kinds.get(i).copied().unwrap_or("to"),
                accepted: result.filter(|r| r.rcpt.is_some()).map(|r| r.is_accepted()),
                reply: rcpt.map(JsonReply::from),
                delivery: result
                    .and_then(|r| r.delivery.as_ref())
                    .map(JsonReply::from),
            }
        })
        .collect()
}

fn report(cli: &Cli, plan: &Plan, result: &Result<MessageOutcome, Error>, facts: &Facts, code: u8) {
    let outcome = result.as_ref().ok();
    for (i, r) in outcome.iter().flat_map(|o| o.refused_recipients()) {
        if let (Some(reply), Some(rcpt)) = (r.reply(), plan.envelope.recipients.get(i)) {
            eprintln_safe(&format!(
                "smtp-send: recipient <{}> refused: {reply}",
                rcpt.address
            ));
        }
    }
    if let (Ok(o), false, Protocol::Lmtp) = (result, cli.json, plan.options.config.protocol) {
        // LMTP: each recipient has its own result (RFC 2033 4.2), one line each.
        for (r, rcpt) in o.recipients.iter().zip(&plan.envelope.recipients) {
            let line = match (r.is_accepted(), r.reply()) {
                (_, None) => "not answered".to_string(),
                (true, Some(reply)) => format!("delivered: {reply}"),
                (false, Some(reply)) => format!("refused: {reply}"),
            };
            println_safe(&format!("<{}>: {line}", rcpt.address));
        }
    }
    match result {
        Ok(o) if o.is_accepted() => {
            if !cli.json && plan.options.config.protocol != Protocol::Lmtp {
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
        Err(e) => report_failure(e),
    }
    if cli.json {
        let final_reply = outcome
            .and_then(MessageOutcome::final_reply)
            .map(JsonReply::from);
        let error = match result {
            Err(e) => Some(JsonError::of(e)),
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
        let class = match result {
            Ok(o) => o.class(),
            Err(e) => e.class(),
        };
        let mut summary = Summary::new(status, class, code, facts);
        summary.server = Some(plan.server.clone());
        summary.recipients = recipients_json(plan, outcome);
        summary.final_reply = final_reply;
        summary.error = error;
        print_json(&summary);
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

/// When the session began, for `--show-time-lapse` (set once, just before connecting).
static SESSION_BEGAN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Prints the transcript (swaks-style `-> ` / `<- `) and the library's notes when verbose.
struct Logger {
    verbose: bool,
    sink: Sink,
    /// `--show-time-lapse`: each line after `[  S.mmm] `, the seconds since [`SESSION_BEGAN`].
    time_lapse: bool,
}

impl Logger {
    fn install(verbose: bool, sink: Sink, time_lapse: bool) {
        let logger = Box::leak(Box::new(Logger {
            verbose,
            sink,
            time_lapse,
        }));
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
        if metadata.target() == mailwire_blocking::TRANSCRIPT_TARGET {
            return self.verbose;
        }
        metadata.target().starts_with("mailwire_blocking")
            && (metadata.level() <= log::Level::Warn
                || (self.verbose && metadata.level() <= log::Level::Info))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let stamp = match SESSION_BEGAN.get().filter(|_| self.time_lapse) {
            Some(began) => format!("[{:8.3}] ", began.elapsed().as_secs_f64()),
            None => String::new(),
        };
        if record.target() == mailwire_blocking::TRANSCRIPT_TARGET {
            say(self.sink, &format!("{stamp}{}", record.args()));
        } else {
            say(self.sink, &format!("{stamp}*** {}", record.args()));
        }
    }

    fn flush(&self) {}
}
