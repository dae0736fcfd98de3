//! The async clients of the end-to-end benchmark: one client per run, driven by `e2e drive`
//! exactly as its blocking clients are (same arguments, same JSON line on stdout).
//!
//! ```text
//! async_clients KIND --port P --messages N --rcpts R --message-file F --conn one|pool
//!               [--time-limit SECS] [--tasks T] [--connections C] [--stream]
//! ```
//!
//! Kinds:
//! - `ours-tokio`: `mailwire_tokio::Client` on one connection, `send_many` 100 messages at a
//!   time (pipelined across messages); with `--conn pool`, `mailwire_tokio::Pool` of `C`
//!   connections (default 4) shared by `T` tasks (default 16), each calling `send_bytes`. With
//!   `--stream` (one connection), each message is `send` from the file opened anew (a
//!   `tokio::fs::File`, read as it is sent: the memory runs).
//! - `lettre-async`: lettre 0.11's tokio transport as shipped: `AsyncSmtpConnection` one message
//!   after another on one connection; with `--conn pool`, `AsyncSmtpTransport` with its pool of
//!   `C` connections shared by `T` tasks (`send_raw`).
//! - `lettre-async-nodelay`: the same one connection with TCP_NODELAY set on its socket from
//!   outside (it does not expose it), to show where its time goes. One connection only.
//! - `mail-send`: Stalwart's mail-send 0.5 `SmtpClient` as shipped, one message after another
//!   on one connection (it has no pool). `mail-send-nodelay`: with TCP_NODELAY on its stream.
//!
//! One-connection runs use tokio's current-thread runtime (one core, as the blocking clients
//! use); pool runs use the multi-thread runtime with two workers (this machine's two cores).
//! A client prints `{"ok": N, "failed": N, "secs": wall time}`. Only 127.0.0.1 is contacted.

use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// Shared with `e2e` by path: it needs `unsafe` (setsockopt), which the library forbids.
#[path = "../nodelay.rs"]
mod nodelay;

/// The hello name every client says.
const HELLO: &str = "client.bench.example";

struct Args {
    kind: String,
    port: u16,
    messages: u64,
    rcpts: usize,
    message_file: PathBuf,
    pool: bool,
    time_limit: Duration,
    tasks: u64,
    connections: usize,
    stream: bool,
}

impl Args {
    fn parse(argv: &[String]) -> Result<Args, BoxError> {
        let kind = argv.first().ok_or("a client kind")?.clone();
        let value = |key: &str| -> Option<&str> {
            argv.iter()
                .position(|a| a == &format!("--{key}"))
                .and_then(|i| argv.get(i + 1))
                .map(String::as_str)
        };
        let num = |key: &str, default: u64| -> Result<u64, BoxError> {
            match value(key) {
                Some(v) => Ok(v.parse().map_err(|_| format!("--{key}: not a number"))?),
                None => Ok(default),
            }
        };
        let pool = match value("conn").unwrap_or("one") {
            "one" => false,
            "pool" => true,
            other => return Err(format!("--conn {other}: one or pool").into()),
        };
        Ok(Args {
            kind,
            port: u16::try_from(num("port", 0)?)?,
            messages: num("messages", 1)?,
            rcpts: usize::try_from(num("rcpts", 1)?)?,
            message_file: PathBuf::from(value("message-file").ok_or("--message-file")?),
            pool,
            time_limit: Duration::from_secs(num("time-limit", 120)?),
            tasks: num("tasks", 16)?.max(1),
            connections: usize::try_from(num("connections", 4)?)?.max(1),
            stream: argv.iter().any(|a| a == "--stream"),
        })
    }
}

/// Counts of one run.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
}

impl Counts {
    fn count(&self, accepted: bool) {
        let counter = if accepted { &self.ok } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = Args::parse(&argv).and_then(|a| {
        let runtime = if a.pool {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        };
        runtime.block_on(run(a))
    });
    if let Err(e) = result {
        eprintln!("async_clients: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Result<(), BoxError> {
    // Streamed runs read the file as they send it, never whole.
    let message: Arc<[u8]> = if a.stream {
        Arc::from(Vec::new())
    } else {
        std::fs::read(&a.message_file)?.into()
    };
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    match (a.kind.as_str(), a.pool) {
        ("ours-tokio", false) => ours_one(&a, &message, &counts, start).await?,
        ("ours-tokio", true) => ours_pool(&a, &message, &counts, start).await?,
        ("lettre-async", false) => lettre_one(&a, &message, &counts, start, false).await?,
        ("lettre-async-nodelay", false) => lettre_one(&a, &message, &counts, start, true).await?,
        ("lettre-async", true) => lettre_pool(&a, &message, &counts, start).await?,
        ("mail-send", false) => mail_send_one(&a, &message, &counts, start, false).await?,
        ("mail-send-nodelay", false) => mail_send_one(&a, &message, &counts, start, true).await?,
        (kind, pool) => {
            let conn = if pool { "pool" } else { "one" };
            return Err(format!("no client {kind} for --conn {conn}").into());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let (ok, failed) = (
        counts.ok.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
    );
    println!("{}", json!({"ok": ok, "failed": failed, "secs": secs}));
    Ok(())
}

/// The share of `messages` that task `task` of `tasks` sends.
fn share(messages: u64, tasks: u64, task: u64) -> u64 {
    messages / tasks + u64::from(task < messages % tasks)
}

// --------------------------------------------------------------------------------------- ours

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

fn our_options(port: u16) -> Result<mailwire_tokio::ClientOptions, BoxError> {
    let mut options =
        mailwire_tokio::ClientOptions::new("127.0.0.1", port, mailwire::ClientName::parse(HELLO)?);
    options.config.tls = mailwire::TlsPolicy::Never;
    Ok(options)
}

async fn ours_one(
    a: &Args,
    message: &[u8],
    counts: &Counts,
    start: Instant,
) -> Result<(), BoxError> {
    let envelope = our_envelope(a.rcpts)?;
    let mut client = mailwire_tokio::Client::connect(our_options(a.port)?).await?;
    let mut sent = 0;
    while a.stream && sent < a.messages && start.elapsed() < a.time_limit {
        let file = tokio::fs::File::open(&a.message_file).await?;
        let outcome = client.send(envelope.clone(), file).await;
        counts.count(matches!(outcome, Ok(o) if o.is_fully_accepted()));
        sent += 1;
    }
    while sent < a.messages && start.elapsed() < a.time_limit {
        let n = (a.messages - sent).min(100);
        let outcomes = client
            .send_many((0..n).map(|_| (envelope.clone(), message)))
            .await;
        for outcome in outcomes {
            counts.count(matches!(outcome, Ok(o) if o.is_fully_accepted()));
        }
        sent += n;
    }
    client.quit().await?;
    Ok(())
}

async fn ours_pool(
    a: &Args,
    message: &Arc<[u8]>,
    counts: &Arc<Counts>,
    start: Instant,
) -> Result<(), BoxError> {
    let mut policy = mailwire_tokio::PoolOptions::default();
    policy.max_connections = a.connections;
    let pool = Arc::new(mailwire_tokio::Pool::new(our_options(a.port)?, policy)?);
    let envelope = our_envelope(a.rcpts)?;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..a.tasks {
        let (pool, message, counts, envelope) = (
            pool.clone(),
            message.clone(),
            counts.clone(),
            envelope.clone(),
        );
        let (n, limit) = (share(a.messages, a.tasks, task), a.time_limit);
        tasks.spawn(async move {
            for _ in 0..n {
                if start.elapsed() > limit {
                    break;
                }
                let outcome = pool.send_bytes(envelope.clone(), &message).await;
                counts.count(matches!(outcome, Ok(o) if o.is_fully_accepted()));
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    pool.close_idle().await;
    Ok(())
}

// ------------------------------------------------------------------------------------- lettre

fn lettre_envelope(rcpts: usize) -> Result<lettre::address::Envelope, BoxError> {
    use lettre::Address;
    let from: Address = mailwire_benches::SENDER.parse()?;
    let to: Vec<Address> = (0..rcpts)
        .map(|i| mailwire_benches::recipient(i).parse())
        .collect::<Result<_, _>>()?;
    Ok(lettre::address::Envelope::new(Some(from), to)?)
}

async fn lettre_one(
    a: &Args,
    message: &[u8],
    counts: &Counts,
    start: Instant,
    nodelay: bool,
) -> Result<(), BoxError> {
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;

    let envelope = lettre_envelope(a.rcpts)?;
    let hello = ClientId::Domain(HELLO.into());
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        ("127.0.0.1", a.port),
        Some(Duration::from_secs(30)),
        &hello,
        None,
        None,
    )
    .await?;
    if nodelay {
        nodelay::set_nodelay_on_all_sockets();
    }
    for _ in 0..a.messages {
        if start.elapsed() > a.time_limit {
            break;
        }
        counts.count(conn.send(&envelope, message).await.is_ok());
    }
    let _ = conn.quit().await;
    Ok(())
}

async fn lettre_pool(
    a: &Args,
    message: &Arc<[u8]>,
    counts: &Arc<Counts>,
    start: Instant,
) -> Result<(), BoxError> {
    use lettre::transport::smtp::extension::ClientId;
    use lettre::transport::smtp::PoolConfig;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(a.port)
        .hello_name(ClientId::Domain(HELLO.into()))
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(u32::try_from(a.connections)?))
        .build();
    let envelope = lettre_envelope(a.rcpts)?;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..a.tasks {
        let (transport, message, counts, envelope) = (
            transport.clone(),
            message.clone(),
            counts.clone(),
            envelope.clone(),
        );
        let (n, limit) = (share(a.messages, a.tasks, task), a.time_limit);
        tasks.spawn(async move {
            for _ in 0..n {
                if start.elapsed() > limit {
                    break;
                }
                counts.count(transport.send_raw(&envelope, &message).await.is_ok());
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- mail-send

async fn mail_send_one(
    a: &Args,
    message: &[u8],
    counts: &Counts,
    start: Instant,
    nodelay: bool,
) -> Result<(), BoxError> {
    use mail_send::smtp::message::Message;
    use mail_send::SmtpClientBuilder;

    let mut client = SmtpClientBuilder::new("127.0.0.1", a.port)
        .implicit_tls(false)
        .helo_host(HELLO)
        .timeout(Duration::from_secs(30))
        .connect_plain()
        .await?;
    if nodelay {
        client.stream.set_nodelay(true)?;
    }
    let to: Vec<String> = (0..a.rcpts).map(mailwire_benches::recipient).collect();
    for _ in 0..a.messages {
        if start.elapsed() > a.time_limit {
            break;
        }
        let m = Message::new(
            mailwire_benches::SENDER,
            to.iter().map(String::as_str),
            message,
        );
        counts.count(client.send(m).await.is_ok());
    }
    let _ = client.quit().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_add_up_to_the_messages() {
        for (messages, tasks) in [(10_000, 16), (7, 16), (100, 3), (0, 4)] {
            let total: u64 = (0..tasks).map(|t| share(messages, tasks, t)).sum();
            assert_eq!(total, messages, "{messages} over {tasks}");
        }
    }
}
