//! `smtp-bulk --jobs`/`--outcomes` as a pipeline stage (docs/BULK-JOBS.md), against Postfix's
//! `smtp-sink` (mailwire-testkit): one outcome line per job, checked against
//! `docs/schema/bulk-outcome.schema.json`, what the server received, connections cut on
//! purpose (`mailwire_testkit::Tap::cutting`), SIGTERM and SIGINT, and stderr.

mod support;

use mailwire_testkit::{peer_or_skip, SinkMessage, SmtpSink, Tap};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use support::run_bounded_input;

/// Every run of the command is killed after this long (none needs more than a few seconds).
const LIMIT: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_smtp-bulk"))
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schema")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Each outcome line parsed, and checked against the documented schema.
fn outcome_lines(stdout: &[u8]) -> Vec<Value> {
    let outcome = schema("bulk-outcome.schema.json");
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let errors: Vec<String> = outcome.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{l}: {errors:?}");
            v
        })
        .collect()
}

fn server_args(addr: &str) -> Vec<String> {
    ["--server", addr, "--starttls", "never"]
        .map(String::from)
        .to_vec()
}

fn run_jobs(server: &str, extra: &[&str], jobs: &str) -> Output {
    let mut args = server_args(server);
    args.extend(["--jobs", "-"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_bounded_input(bin(), &args, &[], Some(jobs.as_bytes()), LIMIT)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A job line carrying `X-Job: ID` in its content, so the server's copy names its job.
fn job(id: &str) -> String {
    serde_json::json!({
        "id": id,
        "from": "sender@example.org",
        "to": ["rcpt@example.net"],
        "content": format!("X-Job: {id}\r\nSubject: job {id}\r\n\r\nbody of {id}\r\n"),
    })
    .to_string()
}

/// How many times the server received each job (by its `X-Job` header).
fn received(messages: &[SinkMessage]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in messages {
        let text = String::from_utf8_lossy(&m.data);
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("X-Job: "))
            .map(str::to_owned)
        {
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    seen
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailwire-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every kind of line: valid ones in every content form (text, base64, a file), with DSN
/// parameters, and invalid ones (not JSON, no id, a bad address, no content, an unreadable
/// file); each gets exactly one outcome line matching the schema, the server gets exactly
/// the valid ones, and the schema of job lines refuses no line the command sent.
#[test]
fn every_job_line_gets_one_outcome_line_matching_the_schema() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let dir = temp_dir("jobs-kinds");
    let file = dir.join("m.eml");
    std::fs::write(&file, b"X-Job: from-file\r\n\r\nfile body\r\n").unwrap();
    let missing = dir.join("missing.eml");
    let lines = [
        job("text"),
        String::new(),
        r#"{"id":"b64","from":"","to":["r@example.net"],"content_base64":"WC1Kb2I6IGI2NA0KDQq/AAE="}"#
            .into(),
        serde_json::json!({"id": "from-file", "from": "s@example.org", "to": ["r@example.net"], "path": file}).to_string(),
        r#"{"id":"dsn","from":"s@example.org","to":["r@example.net","q@example.net"],"content":"X-Job: dsn\n\nhi\n","ret":"hdrs","envid":"ENV1","notify":["success","failure"],"orcpt":"r@example.net"}"#.into(),
        "this is not JSON".into(),
        r#"{"from":"s@example.org","to":["r@example.net"],"content":"x"}"#.into(),
        r#"{"id":"bad-to","from":"s@example.org","to":["no at sign"],"content":"x"}"#.into(),
        r#"{"id":"no-content","from":"s@example.org","to":["r@example.net"]}"#.into(),
        serde_json::json!({"id": "gone", "from": "", "to": ["r@example.net"], "path": missing}).to_string(),
        job("text"),
    ];
    let input = lines.join("\n") + "\n";
    let out = run_jobs(&sink.addr().to_string(), &["--quiet"], &input);
    // Invalid lines: not every job was accepted.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "--quiet writes nothing on stderr");
    let outcomes = outcome_lines(&out.stdout);
    let non_blank = lines.iter().filter(|l| !l.is_empty()).count();
    assert_eq!(outcomes.len(), non_blank);
    let by_line: HashMap<u64, &Value> = outcomes
        .iter()
        .map(|o| (o["line"].as_u64().unwrap(), o))
        .collect();
    assert_eq!(by_line.len(), non_blank, "one line per job line");
    let expect = [
        (1, Some("text"), "accepted", 0),
        (3, Some("b64"), "accepted", 0),
        (4, Some("from-file"), "accepted", 0),
        (5, Some("dsn"), "accepted", 0),
        (6, None, "invalid", 65),
        (7, None, "invalid", 65),
        (8, Some("bad-to"), "invalid", 65),
        (9, Some("no-content"), "invalid", 65),
        (10, Some("gone"), "invalid", 66),
        (11, Some("text"), "accepted", 0),
    ];
    for (line, id, outcome, status) in expect {
        let o = by_line[&line];
        assert_eq!(o["id"].as_str(), id, "{o}");
        assert_eq!(o["outcome"], outcome, "{o}");
        assert_eq!(o["exit_status"], status, "{o}");
        if outcome == "invalid" {
            assert!(o["reason"].as_str().is_some_and(|r| !r.is_empty()), "{o}");
        } else {
            assert_eq!(o["attempts"], 1, "{o}");
            assert_eq!(o["reply"]["code"], 250, "{o}");
        }
    }
    assert_eq!(by_line[&5]["recipients"].as_array().unwrap().len(), 2);
    assert!(by_line[&6]["reason"]
        .as_str()
        .unwrap()
        .contains("not a JSON object"));

    // The server has exactly the accepted ones, content as given.
    let messages = sink.wait_for_messages(5, Duration::from_secs(10)).unwrap();
    assert_eq!(messages.len(), 5);
    let seen = received(&messages);
    assert_eq!(seen["text"], 2);
    for id in ["b64", "from-file", "dsn"] {
        assert_eq!(seen[id], 1, "{id}");
    }
    let b64 = messages
        .iter()
        .find(|m| m.data.starts_with(b"X-Job: b64"))
        .unwrap();
    assert_eq!(b64.data, b"X-Job: b64\n\n\xbf\x00\x01\n");
    let dsn = messages
        .iter()
        .find(|m| m.data.starts_with(b"X-Job: dsn"))
        .unwrap();
    assert!(dsn.mail_args.contains("RET=HDRS"), "{}", dsn.mail_args);
    assert!(dsn.mail_args.contains("ENVID=ENV1"), "{}", dsn.mail_args);
    assert!(
        dsn.rcpt_args[0].contains("NOTIFY=SUCCESS,FAILURE"),
        "{:?}",
        dsn.rcpt_args
    );

    // The job schema: every line the command sent matches it; the lines it refused as
    // malformed JSON or fields do not (an address or a file is checked by the command only).
    let job_schema = schema("bulk-job.schema.json");
    for (i, text) in lines.iter().enumerate() {
        let Some(o) = by_line.get(&(i as u64 + 1)) else {
            continue;
        };
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let valid = job_schema.is_valid(&v);
        match o["outcome"].as_str().unwrap() {
            "accepted" => assert!(valid, "{text}"),
            _ if [6, 7, 9].contains(&(i + 1)) => assert!(!valid, "{text}"),
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--outcomes PATH`: the lines go to the file, nothing to stdout, and exit 0 when every job
/// was accepted; an outcomes file that cannot be created is 73, a jobs file that cannot be
/// opened 66, the jobs file given as the outcomes file 64 (and left whole), each before
/// anything is sent.
#[test]
fn outcomes_to_a_file() {
    let sink = peer_or_skip!(SmtpSink::start());
    let dir = temp_dir("jobs-outcomes");
    let jobs = dir.join("jobs.jsonl");
    std::fs::write(
        &jobs,
        (0..20)
            .map(|i| job(&format!("f{i}")) + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let outcomes = dir.join("outcomes.jsonl");
    let mut args = server_args(&sink.addr().to_string());
    args.extend(
        [
            "--jobs",
            jobs.to_str().unwrap(),
            "--outcomes",
            outcomes.to_str().unwrap(),
        ]
        .map(String::from),
    );
    args.extend(["--connections", "3"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_bounded_input(bin(), &argv, &[], None, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let lines = outcome_lines(&std::fs::read(&outcomes).unwrap());
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    want.sort();
    assert_eq!(ids, want);
    assert!(lines.iter().all(|l| l["outcome"] == "accepted"));

    let cannot = dir.join("no-such-dir/outcomes.jsonl");
    let last = argv.len() - 3;
    let mut argv = argv.clone();
    let cannot = cannot.to_str().unwrap().to_owned();
    argv[last] = &cannot;
    let out = run_bounded_input(bin(), &argv, &[], None, LIMIT);
    assert_eq!(out.status.code(), Some(73), "{}", stderr(&out));

    let no_jobs = dir.join("no-such-jobs.jsonl");
    let no_jobs = no_jobs.to_str().unwrap().to_owned();
    let mut argv = argv.clone();
    argv[last - 2] = &no_jobs;
    argv[last] = outcomes.to_str().unwrap();
    let out = run_bounded_input(bin(), &argv, &[], None, LIMIT);
    assert_eq!(out.status.code(), Some(66), "{}", stderr(&out));

    // The jobs file as the outcomes file: refused (64), the jobs left as they were.
    let before = std::fs::read(&jobs).unwrap();
    let mut argv = argv.clone();
    argv[last - 2] = jobs.to_str().unwrap();
    argv[last] = jobs.to_str().unwrap();
    let out = run_bounded_input(bin(), &argv, &[], None, LIMIT);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert_eq!(std::fs::read(&jobs).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 10,000 jobs over 4 connections through a relay that cuts every connection at its 40th end
/// of data (half of them just after relaying it, half just before): every job gets exactly
/// one outcome line, every accepted job was received by the server exactly once, none was
/// received twice, and none whose content never went out whole was received at all.
#[test]
fn ten_thousand_jobs_through_cut_connections_lose_none() {
    const JOBS: usize = 10_000;
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let tap = Tap::cutting(sink.addr(), 40).unwrap();
    let input: String = (0..JOBS).map(|i| job(&format!("j{i}")) + "\n").collect();
    let out = run_jobs(
        &tap.addr().to_string(),
        &["--connections", "4", "--quiet"],
        &input,
    );
    let lines = outcome_lines(&out.stdout);
    assert_eq!(lines.len(), JOBS, "{}", stderr(&out));
    let mut by_id: HashMap<String, &Value> = HashMap::new();
    for l in &lines {
        let id = l["id"].as_str().unwrap().to_owned();
        assert!(by_id.insert(id, l).is_none(), "two lines for {l}");
    }
    assert!((0..JOBS).all(|i| by_id.contains_key(&format!("j{i}"))));
    assert!(
        tap.cuts() >= 100,
        "the relay cut {} connections",
        tap.cuts()
    );

    let accepted: Vec<&String> = by_id
        .iter()
        .filter(|(_, l)| l["outcome"] == "accepted")
        .map(|(id, _)| id)
        .collect();
    let messages = sink
        .wait_for_messages(accepted.len(), Duration::from_secs(30))
        .unwrap();
    let seen = received(&messages);
    for id in &accepted {
        assert_eq!(seen.get(*id), Some(&1), "accepted {id}");
    }
    for (id, n) in &seen {
        assert_eq!(*n, 1, "{id} received {n} times");
    }
    let mut unknown = 0;
    for (id, l) in &by_id {
        match l["outcome"].as_str().unwrap() {
            "accepted" => {}
            "failed" if l["content_sent"] == true => {
                // The server may have it; it was not sent again.
                unknown += 1;
                assert!(
                    l["reason"].as_str().unwrap().starts_with("outcome unknown"),
                    "{l}"
                );
            }
            "failed" => assert_eq!(seen.get(id), None, "{l}"),
            other => panic!("{id}: {other}: {l}"),
        }
    }
    let retried = lines
        .iter()
        .filter(|l| l["attempts"].as_u64() > Some(1))
        .count();
    eprintln!(
        "{} cuts, {} accepted, {unknown} unknown, {retried} tried again",
        tap.cuts(),
        accepted.len()
    );
    // Cuts just after an end of data leave outcomes unknown; cuts just before it are retried.
    assert!(unknown > 0, "no cut left an outcome unknown");
    assert!(retried > 0, "no job was tried again");
    // Not every job was accepted: 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// SIGTERM (143) and SIGINT (130) mid-run: no new job starts, those in flight finish, every
/// job left gets a `not_attempted` line, and the server has exactly the accepted ones.
#[test]
fn a_signal_stops_the_run_and_every_job_still_gets_a_line() {
    for (signal, status) in [("TERM", 143), ("INT", 130)] {
        let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
        let dir = temp_dir(&format!("jobs-signal-{signal}"));
        let jobs = dir.join("jobs.jsonl");
        const JOBS: usize = 1000;
        std::fs::write(
            &jobs,
            (0..JOBS)
                .map(|i| job(&format!("s{i}")) + "\n")
                .collect::<String>(),
        )
        .unwrap();
        // 20 a second: the whole input would take 50 s; the signal comes after a few lines.
        let mut args = server_args(&sink.addr().to_string());
        args.extend(["--jobs", jobs.to_str().unwrap(), "--rate", "20"].map(String::from));
        args.extend(["--connections", "2", "--quiet"].map(String::from));
        let (code, text) = signal_after_lines(&args, signal, 5);
        assert_eq!(code, Some(status), "SIG{signal}");
        let lines = outcome_lines(text.as_bytes());
        assert_eq!(lines.len(), JOBS, "SIG{signal}");
        let mut ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), JOBS, "one line per job");
        let count = |what: &str| lines.iter().filter(|l| l["outcome"] == what).count();
        let accepted = count("accepted");
        assert!(accepted >= 5, "SIG{signal}: {accepted} accepted");
        assert!(count("not_attempted") > 0, "SIG{signal}");
        assert_eq!(accepted + count("not_attempted"), JOBS, "SIG{signal}");
        let messages = sink
            .wait_for_messages(accepted, Duration::from_secs(10))
            .unwrap();
        assert_eq!(messages.len(), accepted, "SIG{signal}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A producer in lock step with the command (it writes the next job only once it has read
/// the last one's outcome line): each outcome line comes while the input is still open, so the
/// pipeline never deadlocks; then the end of the input ends the run, exit 0.
#[test]
fn outcome_lines_come_while_the_input_is_still_open() {
    use std::io::Write;
    let sink = peer_or_skip!(SmtpSink::start());
    let (mut run, mut stdin) = jobs_on_stdin(&sink, &["--connections", "2"]);
    let mut lines = Vec::new();
    for i in 0..3 {
        writeln!(stdin, "{}", job(&format!("lock{i}"))).unwrap();
        stdin.flush().unwrap();
        lines.push(run.next_line(&format!("the outcome of job {i}, the input open")));
    }
    drop(stdin);
    let code = run.wait("the end of its input").code();
    assert!(run.rest().is_empty(), "no line after the three");
    assert_eq!(code, Some(0));
    let lines = outcome_lines(lines.join("\n").as_bytes());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["id"], format!("lock{i}"));
        assert_eq!(l["line"], i + 1);
        assert_eq!(l["outcome"], "accepted");
    }
}

/// Runs smtp-bulk with `args`, sends it SIG`signal` once it has written `lines` lines on
/// stdout, and returns its exit status and all it wrote on stdout.
fn signal_after_lines(args: &[String], signal: &str, lines: usize) -> (Option<i32>, String) {
    let mut run = Running::start(args, Stdio::null());
    let mut seen: Vec<String> = (0..lines)
        .map(|_| run.next_line("an outcome line"))
        .collect();
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let code = run.wait(&format!("the end after SIG{signal}")).code();
    seen.extend(run.rest());
    (code, seen.join("\n"))
}

/// smtp-bulk sending to `sink` the jobs written on its standard input, `--quiet`, and that
/// input.
fn jobs_on_stdin(sink: &SmtpSink, extra: &[&str]) -> (Running, std::process::ChildStdin) {
    let mut args = server_args(&sink.addr().to_string());
    args.extend(["--jobs", "-", "--quiet"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut run = Running::start(&args, Stdio::piped());
    let stdin = run.child.stdin.take().unwrap();
    (run, stdin)
}

/// smtp-bulk running, its stdout read line by line on a thread; every wait bounded.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[String], stdin: Stdio) -> Running {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The next line on stdout, within 20 s (else the process is killed and the test fails).
    fn next_line(&mut self, what: &str) -> String {
        match self.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = self.child.kill();
                panic!("no line within 20 s: {what}");
            }
        }
    }

    /// Its exit status, within [`LIMIT`]; every line it wrote has been read then (the reader
    /// thread ends at the pipe's end, which comes once the process has exited).
    fn wait(&mut self, what: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("smtp-bulk did not end: {what}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        status
    }

    /// Every line left, once the reader has hung up (within 20 s).
    fn rest(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return rest,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        panic!("stdout not closed within 20 s");
    }
}

/// A second SIGTERM ends the process at once, by the signal, even while it waits for the end
/// of an input that stays open to write its `not_attempted` lines.
#[test]
fn a_second_signal_ends_the_process_at_once() {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    let sink = peer_or_skip!(SmtpSink::start());
    let (mut run, mut stdin) = jobs_on_stdin(&sink, &["--rate", "5"]);
    for i in 0..20 {
        writeln!(stdin, "{}", job(&format!("twice{i}"))).unwrap();
    }
    stdin.flush().unwrap();
    let term = |run: &Running| {
        let kill = Command::new("kill")
            .args(["-TERM", &run.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    };
    let first = run.next_line("the first outcome");
    assert!(first.contains("\"accepted\""), "{first}");
    term(&run);
    // The first signal was handled: the jobs left are being written not attempted.
    loop {
        let line = run.next_line("a not_attempted line after the first SIGTERM");
        if line.contains("\"not_attempted\"") {
            break;
        }
    }
    term(&run);
    let status = run.wait("the end after the second SIGTERM");
    drop(stdin);
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

/// `--messages N --json` stopped by SIGTERM: a line for every message, those never taken
/// `not_attempted`, and the summary counts them.
#[test]
fn a_signal_stops_generated_messages_and_each_gets_a_line() {
    let sink = peer_or_skip!(SmtpSink::start());
    let mut args = server_args(&sink.addr().to_string());
    args.extend(
        [
            "--messages",
            "1000",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--rate",
            "20",
            "--json",
        ]
        .map(String::from),
    );
    let (code, text) = signal_after_lines(&args, "TERM", 5);
    assert_eq!(code, Some(143));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1001);
    let mut indexes: Vec<u64> = lines[..1000]
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..1000).collect::<Vec<u64>>());
    let count = |what: &str| {
        lines[..1000]
            .iter()
            .filter(|l| l["outcome"] == what)
            .count()
    };
    let summary = &lines[1000];
    assert_eq!(summary["messages"], 1000);
    assert_eq!(summary["accepted"], count("accepted"));
    assert_eq!(summary["not_attempted"], count("not_attempted"));
    assert!(count("accepted") >= 5);
    assert_eq!(count("accepted") + count("not_attempted"), 1000);
}

/// stderr not a terminal: no progress bar, only the summary line (and nothing with
/// `--quiet`, which the first test checks), in every mode.
#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let sink = peer_or_skip!(SmtpSink::start());
    let addr = sink.addr().to_string();
    let input: String = (0..50).map(|i| job(&format!("p{i}")) + "\n").collect();
    let jobs = run_jobs(&addr, &[], &input);
    assert_eq!(jobs.status.code(), Some(0), "{}", stderr(&jobs));
    let messages = run_bounded_input(
        bin(),
        &[
            "--server",
            &addr,
            "--starttls",
            "never",
            "--messages",
            "50",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
        &[],
        None,
        LIMIT,
    );
    assert_eq!(messages.status.code(), Some(0), "{}", stderr(&messages));
    for (out, summary_on_stderr) in [(&jobs, true), (&messages, false)] {
        let err = stderr(out);
        assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
        let summary = if summary_on_stderr {
            err.strip_prefix("smtp-bulk: ")
                .unwrap_or_default()
                .to_owned()
        } else {
            assert_eq!(err, "");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert!(
            summary.starts_with("50 messages: 50 accepted, 0 rejected, 0 failed in "),
            "{summary:?}"
        );
        assert_eq!(summary.lines().count(), 1, "{summary:?}");
    }
}

/// On a terminal (a pseudo-terminal from util-linux `script`): the progress bar is drawn on
/// stderr, its last state showing every message sent; with `--json` it is not drawn at all.
#[test]
fn a_progress_bar_on_a_terminal_and_none_with_json() {
    let sink = peer_or_skip!(SmtpSink::start());
    let command = |extra: &str| {
        format!(
            "'{}' --server {} --starttls never --messages 200 --from a@example.org \
             --to b@example.net --rate 400 {extra}",
            bin().display(),
            sink.addr()
        )
    };
    let on_terminal = |extra: &str| {
        let out = run_bounded_input(
            Path::new("script"),
            &["-qec", &command(extra), "/dev/null"],
            &[],
            None,
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let drawn = on_terminal("");
    assert!(
        drawn.contains("200/200 sent, 0 refused, 0 failed, "),
        "{drawn:?}"
    );
    assert!(drawn.contains("200 messages: 200 accepted"), "{drawn:?}");
    let json = on_terminal("--json");
    assert!(!json.contains(" sent, "), "{json:?}");
    assert_eq!(
        json.matches("\"outcome\":\"accepted\"").count(),
        200,
        "{json:?}"
    );
}

/// The schemas are not vacuous: a real outcome line passes, and each thing the docs rule out
/// makes it fail (a missing key, an unknown one, an outcome or class not listed, `accepted`
/// with a class other than `delivered`, `failed` without its error, `invalid` with attempts);
/// a job with two content fields or none, or an unknown field, fails the job schema.
#[test]
fn the_schemas_refuse_what_the_docs_rule_out() {
    let outcome = schema("bulk-outcome.schema.json");
    let good = serde_json::json!({
        "id": "a", "line": 1, "outcome": "accepted", "class": "delivered", "exit_status": 0,
        "transient": false, "attempts": 1,
        "recipients": [{"address": "b@example.net", "accepted": true,
            "reply": {"code": 250, "enhanced_code": "2.1.5", "text": "ok"}, "delivery": null}],
        "reply": {"code": 250, "enhanced_code": "2.0.0", "text": "queued"},
        "reason": null, "error": null, "content_sent": null,
    });
    assert!(outcome.is_valid(&good));
    let bad: [(&str, Value); 7] = [
        ("id", Value::Null),
        ("extra", Value::Bool(true)),
        ("outcome", Value::from("delivered")),
        ("class", Value::from("temporary")),
        ("exit_status", Value::from(1)),
        ("line", Value::from(0)),
        ("error", Value::from("accepted has no error")),
    ];
    for (key, value) in bad {
        let mut line = good.clone();
        if key == "id" {
            line.as_object_mut().unwrap().remove("id");
        } else {
            line[key] = value;
        }
        assert!(!outcome.is_valid(&line), "{key}: {line}");
    }
    let mut failed = good.clone();
    failed["outcome"] = "failed".into();
    failed["class"] = "temporary".into();
    failed["exit_status"] = 75.into();
    assert!(
        !outcome.is_valid(&failed),
        "failed without error and content_sent"
    );
    failed["error"] = "connection lost".into();
    failed["content_sent"] = true.into();
    assert!(outcome.is_valid(&failed));
    let mut invalid = good.clone();
    invalid["outcome"] = "invalid".into();
    invalid["class"] = "local".into();
    invalid["exit_status"] = 65.into();
    invalid["recipients"] = serde_json::json!([]);
    invalid["reason"] = "bad".into();
    assert!(!outcome.is_valid(&invalid), "invalid with attempts");
    invalid["attempts"] = 0.into();
    assert!(outcome.is_valid(&invalid));

    let job_schema = schema("bulk-job.schema.json");
    let job = |v: Value| job_schema.is_valid(&v);
    assert!(job(
        serde_json::json!({"id": "a", "from": "", "to": ["b@c.d"], "content": "x"})
    ));
    assert!(!job(
        serde_json::json!({"id": "a", "from": "", "to": ["b@c.d"]})
    ));
    assert!(!job(
        serde_json::json!({"id": "a", "from": "", "to": ["b@c.d"], "content": "x", "path": "/p"})
    ));
    assert!(!job(
        serde_json::json!({"id": "a", "from": "", "to": ["b@c.d"], "content": "x", "contents": "y"})
    ));
    assert!(!job(
        serde_json::json!({"id": "", "from": "", "to": ["b@c.d"], "content": "x"})
    ));
    assert!(!job(
        serde_json::json!({"id": "a", "from": "", "to": [], "content": "x"})
    ));
}

/// `--rate` must be a positive, finite number of messages per second: else 64, nothing sent.
#[test]
fn a_bad_rate_is_a_usage_error() {
    for rate in ["0", "-3", "nan", "inf", "many"] {
        let out = run_bounded_input(
            bin(),
            &["--server", "127.0.0.1:9", "--jobs", "-", "--rate", rate],
            &[],
            Some(job("r").as_bytes()),
            LIMIT,
        );
        assert_eq!(
            out.status.code(),
            Some(64),
            "--rate {rate}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "--rate {rate}");
    }
}

/// A job's `path` is read as it is sent, never held whole: a 96 MiB file (more than the 64 MiB
/// a job could name when files were read whole) is accepted, and smtp-bulk's peak RSS stays
/// within 4 MiB of a run with one small text job (the core's buffers and one read buffer).
#[test]
fn a_job_file_is_streamed_not_held() {
    use mailwire_testkit::run_with_rss;
    let sink = peer_or_skip!(SmtpSink::start());
    let server = sink.addr().to_string();
    let dir = temp_dir("jobs-big-file");
    let run = |jobs: &Path| {
        let mut cmd = Command::new(bin());
        cmd.args(server_args(&server))
            .arg("--jobs")
            .arg(jobs)
            .args(["--outcomes", "-", "--quiet"]);
        run_with_rss(cmd, LIMIT * 2).unwrap()
    };
    let small = dir.join("small.jsonl");
    std::fs::write(&small, job("small") + "\n").unwrap();
    let base = run(&small);
    assert_eq!(base.code, 0, "{}", String::from_utf8_lossy(&base.stderr));

    let big = dir.join("big.eml");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(b"X-Job: big\r\nSubject: big\r\n\r\n").unwrap();
        let line = b"a line of text, 70 bytes long, to fill a large message: 0123456789\r\n";
        for _ in 0..(96 << 20) / line.len() {
            f.write_all(line).unwrap();
        }
    }
    let jobs = dir.join("big.jsonl");
    let line = serde_json::json!({"id": "big", "from": "", "to": ["r@example.net"], "path": big});
    std::fs::write(&jobs, format!("{line}\n")).unwrap();
    let run = run(&jobs);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    let outcomes = outcome_lines(&run.stdout);
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0]["outcome"], "accepted", "{}", outcomes[0]);
    assert!(
        run.max_rss_kib <= base.max_rss_kib + 4 * 1024,
        "96 MiB file: {} KiB, one small job: {} KiB",
        run.max_rss_kib,
        base.max_rss_kib
    );
}

/// A job's `xforward` (Postfix's XFORWARD_README) goes before its own MAIL: Postfix holds each
/// message with the origin its job named in its log attributes, and the one without as from the
/// connection itself; a name XFORWARD cannot carry makes the job invalid (65), and the schema
/// says the same of it.
#[test]
fn xforward_of_each_job_reaches_postfix() {
    let postfix = peer_or_skip!(mailwire_testkit::Postfix::builder().start());
    let line = |id: &str, xforward: Value| {
        let mut j: Value = serde_json::from_str(&job(id)).unwrap();
        j["to"] = serde_json::json!([format!("{id}@example.net")]);
        if !xforward.is_null() {
            j["xforward"] = xforward;
        }
        j.to_string()
    };
    let jobs = [
        line(
            "x1",
            serde_json::json!({"NAME": "up1.example", "ADDR": "192.0.2.1", "PROTO": "ESMTP"}),
        ),
        line(
            "x2",
            serde_json::json!({"name": "up2.example", "ADDR": "192.0.2.2"}),
        ),
        line("x3", Value::Null),
        line("bad", serde_json::json!({"AD DR": "1"})),
    ];
    let out = run_jobs(
        &postfix.addr().to_string(),
        &["--connections", "1"],
        &(jobs.join("\n") + "\n"),
    );
    let outcomes = outcome_lines(&out.stdout);
    assert_eq!(outcomes.len(), 4, "{}", stderr(&out));
    let of = |id: &str| outcomes.iter().find(|o| o["id"] == id).unwrap();
    for id in ["x1", "x2", "x3"] {
        assert_eq!(of(id)["outcome"], "accepted", "{}", of(id));
    }
    assert_eq!(of("bad")["outcome"], "invalid", "{}", of("bad"));
    assert_eq!(of("bad")["exit_status"], 65);
    let job_schema = schema("bulk-job.schema.json");
    let parse = |l: &str| serde_json::from_str::<Value>(l).unwrap();
    assert!(job_schema.is_valid(&parse(&jobs[0])));
    assert!(!job_schema.is_valid(&parse(&jobs[3])));

    let held = postfix.wait_for_held(3, LIMIT).unwrap();
    let of = |id: &str| {
        held.iter()
            .find(|m| m.recipients == [format!("{id}@example.net")])
            .unwrap_or_else(|| panic!("{id}: {held:?}"))
    };
    assert_eq!(of("x1").attribute("log_client_name"), Some("up1.example"));
    assert_eq!(of("x1").attribute("log_client_address"), Some("192.0.2.1"));
    assert_eq!(of("x2").attribute("log_client_name"), Some("up2.example"));
    assert_eq!(of("x2").attribute("log_client_address"), Some("192.0.2.2"));
    assert_eq!(of("x3").attribute("log_client_address"), Some("127.0.0.1"));
    for id in ["x1", "x2", "x3"] {
        assert_eq!(of(id).attribute("client_address"), Some("127.0.0.1"));
    }
}
