//! `e2e sessions`: many concurrent sessions on one `mailwire-mio` thread.
//!
//! ```text
//! e2e sessions [--counts 1,10,100,1000] [--per-connection 20] [--window 4]
//!              [--max-connecting 128] [--out FILE.json]
//! e2e sessions-client --port P --connections N --messages M --window W --message-file F
//!                     [--max-connecting C]
//! ```
//!
//! For each count N, a fresh sink (`thread_sink.rs`: `smtp-sink` greets at most 256 sessions
//! at once here) and one child process running
//! `mailwire_mio::bulk::run` with `connections = N` on its one thread, N × per-connection
//! messages of 1 KiB, a window of `W` messages per connection (small, so that every connection
//! has messages to send while the others do). The child's CPU time and peak RSS come from
//! `wait4`; RSS per connection is the slope between the smallest and the largest count.
//! Included by path from `e2e.rs` (it uses the driver's `run_bounded`, `Args` and `TempDir`).

use super::{run_bounded, Args, BoxError, TempDir};
use thread_sink::ThreadSink;

#[path = "thread_sink.rs"]
mod thread_sink;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The driver: one child per connection count.
pub fn drive(args: &Args) -> Result<(), BoxError> {
    let counts: Vec<usize> = args
        .get("counts")
        .unwrap_or("1,10,100,1000")
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?;
    let per_connection = args.num("per-connection", 20)?;
    let window = args.num("window", 4)?;
    let dir = TempDir::new("sessions")?;
    let file = dir.path().join("message-1024.eml");
    std::fs::write(&file, mailwire_benches::message(1024))?;

    let mut rows = Vec::new();
    for &n in &counts {
        let sink = ThreadSink::start()?;
        let messages = n as u64 * per_connection;
        let limit = Duration::from_secs(120);
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("sessions-client")
            .args(["--port", &sink.port.to_string()])
            .args(["--connections", &n.to_string()])
            .args(["--messages", &messages.to_string()])
            .args(["--window", &window.to_string()])
            .args([
                "--max-connecting",
                args.get("max-connecting").unwrap_or("128"),
            ])
            .arg("--message-file")
            .arg(&file);
        let f = run_bounded(cmd, limit)?;
        let (received, peak_sessions) = (sink.accepted(), sink.peak_sessions());
        drop(sink);
        let child: Value = f
            .stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        let ok = child["ok"].as_u64().unwrap_or(0);
        let secs = child["secs"].as_f64().unwrap_or(f.wall_secs);
        let row = json!({
            "connections": n,
            "messages": messages,
            "ok": ok,
            "failed": child["failed"],
            "opened": child["opened"],
            "exit": f.code,
            "timed_out": f.timed_out,
            "msgs_per_sec": if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            "cpu_us_per_msg": if ok > 0 { f.cpu_secs * 1e6 / ok as f64 } else { 0.0 },
            "client_cpu_s": f.cpu_secs,
            "received": received,
            "peak_sessions": peak_sessions,
            "peak_rss_kib": f.max_rss_kib,
            "stderr": f.stderr.lines().last().unwrap_or(""),
        });
        eprintln!("sessions: {row}");
        rows.push(row);
    }
    let slope = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) if rows.len() > 1 => {
            let dn =
                b["connections"].as_f64().unwrap_or(0.0) - a["connections"].as_f64().unwrap_or(0.0);
            let dr = b["peak_rss_kib"].as_f64().unwrap_or(0.0)
                - a["peak_rss_kib"].as_f64().unwrap_or(0.0);
            (dn > 0.0).then(|| dr / dn)
        }
        _ => None,
    };
    let out = json!({
        "per_connection": per_connection,
        "window": window,
        "rss_kib_per_connection": slope,
        "runs": rows,
    });
    match args.get("out") {
        Some(path) => std::fs::write(PathBuf::from(path), serde_json::to_string_pretty(&out)?)?,
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(())
}

/// The child: `bulk::run` with `--connections` sessions on this one thread.
pub fn client(args: &Args) -> Result<(), BoxError> {
    use mailwire::{ClientName, Config, TlsPolicy};
    use mailwire_mio::bulk::{run, BulkConfig, BulkMessage};

    let port = u16::try_from(args.num("port", 0)?)?;
    let connections = usize::try_from(args.num("connections", 1)?)?;
    let messages = usize::try_from(args.num("messages", 1)?)?;
    let window = usize::try_from(args.num("window", 4)?)?.max(1);
    let body: std::sync::Arc<[u8]> =
        std::fs::read(args.get("message-file").ok_or("--message-file")?)?.into();
    let envelope = mailwire::Envelope::new(
        Some(mailwire::Mailbox::parse(mailwire_benches::SENDER)?),
        vec![mailwire::Mailbox::parse(&mailwire_benches::recipient(0))?],
    );
    let message = BulkMessage::new(envelope, body);
    let mut session = Config::new(ClientName::parse("client.bench.example")?);
    session.tls = TlsPolicy::Never;
    let mut config = BulkConfig::new(([127, 0, 0, 1], port).into(), session);
    config.connections = connections;
    config.window = window;
    // As many connecting at once as the sink's listen backlog (std's 128) holds: the question
    // is N sessions at the same time, not how fast the first few drain the input (with the
    // default of 32, the first ~280 take every message). More than the backlog overflows the
    // accept queue: the kernel then drops the client's ACK, the client's socket is open, and
    // its session waits the greeting's five minutes (RFC 5321 4.5.3.2.1).
    let max_connecting = args.num("max-connecting", 128)?;
    config.max_connecting = usize::try_from(max_connecting)?.max(1);

    let start = Instant::now();
    let (mut ok, mut failed) = (0u64, 0u64);
    let summary = run(
        &config,
        std::iter::repeat_n(message, messages),
        |r| match r.is_accepted() {
            true => ok += 1,
            false => failed += 1,
        },
    )?;
    println!(
        "{}",
        json!({
            "ok": ok,
            "failed": failed,
            "secs": start.elapsed().as_secs_f64(),
            "opened": summary.connections,
        })
    );
    Ok(())
}
