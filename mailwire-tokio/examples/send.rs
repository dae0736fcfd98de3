//! `send`: one message from a file, over the tokio adapter, with the core of `smtp-send`'s
//! flags and the same exit statuses (both use `mailwire_cli`'s connection options and its one
//! mapping of results to statuses).
//!
//! ```sh
//! cargo run -p mailwire-tokio --example send -- --server mail.example.org:587 \
//!     --auth-user alice --auth-password-file ~/.smtp-pass \
//!     --from alice@example.org --to bob@example.net --message-file message.eml --verbose
//! ```
//!
//! Connection flags (`--server`, `--helo`, `--timeout`, `--starttls`, `--tls-on-connect`,
//! `--ca-file`, `--auth-user`, `--auth-password-file`, …) are `smtp-send`'s own
//! (`mailwire_cli::connect::ConnectArgs`), and so are `-4`, `-6`, `--local-interface` and
//! `--socket` (`RouteArgs`: the tokio adapter honours them as the blocking one does);
//! `--header 'Name: value'` is prepended to the message; `--verbose` prints the transcript
//! (AUTH redacted). Exit statuses: 0 sent, 64 usage, 65 bad address or header, 66 unreadable
//! file, 69 permanent refusal, 74 message unreadable while sending, 75 temporary failure, 76
//! protocol error, 77 authentication or required TLS failed, 79 partial delivery.

use clap::Parser;
use mailwire_cli::connect::{ConnectArgs, RouteArgs};
use mailwire_cli::exit;
use mailwire_tokio::mailwire::{Envelope, Mailbox};
use mailwire_tokio::{Client, ClientOptions, Error};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Send one message from a file over SMTP (mailwire-tokio).
#[derive(Parser, Debug)]
#[command(name = "send")]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    route: RouteArgs,
    /// The envelope sender (MAIL FROM).
    #[arg(long, value_name = "ADDR")]
    from: String,
    /// A recipient. Repeatable.
    #[arg(long, value_name = "ADDR", required = true)]
    to: Vec<String>,
    /// A complete RFC 5322 message (any line ends), measured, then streamed.
    #[arg(long, value_name = "PATH")]
    message_file: PathBuf,
    /// An extra header field 'Name: value', prepended to the message. Repeatable.
    #[arg(long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// Print the conversation on stderr (-> sent, <- received; AUTH redacted).
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            });
        }
    };
    if cli.verbose {
        Transcript::install();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(exit::OSERR, &format!("cannot start the runtime: {e}")),
    };
    let (options, envelope, header) = match plan(&cli) {
        Ok(plan) => plan,
        Err((code, message)) => return fail(code, &message),
    };
    let result = runtime.block_on(send(options, envelope, header, cli.message_file.clone()));
    let code = mailwire_cli::exit_status(&result);
    match &result {
        Ok(outcome) => {
            for (i, r) in outcome.refused_recipients() {
                if let Some(reply) = r.reply() {
                    let to = &outcome.envelope.recipients[i].address;
                    eprintln_safe(&format!("send: recipient <{to}> refused: {reply}"));
                }
            }
            match outcome.final_reply() {
                Some(reply) if outcome.is_accepted() => println_safe(&format!("sent: {reply}")),
                _ => eprintln_safe(&format!("send: not accepted: {:?}", outcome.verdict)),
            }
        }
        Err(e) => {
            let stage = e.stage().map(|s| format!(" at {s}")).unwrap_or_default();
            eprintln_safe(&format!("send: failed{stage}: {e}"));
        }
    }
    ExitCode::from(code)
}

type Plan = (ClientOptions, Envelope, Vec<u8>);

/// Everything checked before connecting, with `smtp-send`'s statuses for what is wrong.
fn plan(cli: &Cli) -> Result<Plan, (u8, String)> {
    let mailbox = |text: &str| {
        Mailbox::parse(text).map_err(|e| (exit::DATAERR, format!("invalid address {text:?}: {e}")))
    };
    let sender = mailbox(&cli.from)?;
    let recipients = cli
        .to
        .iter()
        .map(|a| mailbox(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut header = Vec::new();
    for h in &cli.headers {
        let field = mailwire_cli::headers::HeaderField::parse(h)
            .map_err(|why| (exit::DATAERR, format!("invalid --header {h:?}: {why}")))?;
        header.extend_from_slice(format!("{}: {}\r\n", field.name(), field.value()).as_bytes());
    }
    std::fs::File::open(&cli.message_file).map_err(|e| {
        let path = cli.message_file.display();
        (exit::NOINPUT, format!("cannot read {path}: {e}"))
    })?;
    let connection = cli
        .route
        .connection(&cli.connect, None)
        .map_err(|e| (e.code, e.message))?;
    let mut options = connection.into_client_options();
    options.config.transcript = cli.verbose;
    Ok((options, Envelope::new(Some(sender), recipients), header))
}

/// Connects, measures the content (headers and file: SIZE=, BODY=), streams it, and QUITs.
async fn send(
    options: ClientOptions,
    mut envelope: Envelope,
    header: Vec<u8>,
    path: PathBuf,
) -> Result<mailwire_tokio::MessageOutcome, Error> {
    let open = || async {
        let file = tokio::fs::File::open(&path).await;
        file.map(|f| std::io::Cursor::new(header.clone()).chain(f))
            .map_err(|e| Error::Body(Arc::new(e)))
    };
    let content = open().await?;
    mailwire_tokio::declare_content(&mut envelope, content)
        .await
        .map_err(|e| Error::Body(Arc::new(e)))?;
    let mut client = Client::connect(options).await?;
    let outcome = client.send(envelope, open().await?).await;
    if outcome.is_ok() {
        // The outcome is known; a failing QUIT changes nothing about it.
        let _ = client.quit().await;
    }
    outcome
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln_safe(&format!("send: {message}"));
    ExitCode::from(code)
}

fn println_safe(s: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{s}");
}

fn eprintln_safe(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// Prints the transcript lines on stderr.
struct Transcript;

impl Transcript {
    fn install() {
        if log::set_logger(&Transcript).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    }
}

impl log::Log for Transcript {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == mailwire_tokio::TRANSCRIPT_TARGET
            || (metadata.target().starts_with("mailwire") && metadata.level() <= log::Level::Info)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if record.target() == mailwire_tokio::TRANSCRIPT_TARGET {
            eprintln_safe(&format!("{}", record.args()));
        } else {
            eprintln_safe(&format!("*** {}", record.args()));
        }
    }

    fn flush(&self) {}
}
