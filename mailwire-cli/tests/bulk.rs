//! `smtp-bulk` as a subprocess against Postfix's `smtp-sink` and Exim (mailwire-testkit).

use mailwire_testkit::{peer_or_skip, Exim, SmtpSink, TestCert};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn smtp_bulk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smtp-bulk"))
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `--json`: one line per message, then the summary with the counts.
#[test]
fn json_summary_counts_generated_messages() {
    let sink = peer_or_skip!(SmtpSink::start());
    let out = smtp_bulk()
        .args([
            "--server",
            &sink.addr().to_string(),
            "--connections",
            "4",
            "--messages",
            "500",
        ])
        .args([
            "--size",
            "1024",
            "--recipients",
            "3",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ])
        .args(["--starttls", "never", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 501);
    let summary = &lines[500];
    assert_eq!(summary["messages"], 500);
    assert_eq!(summary["accepted"], 500);
    assert_eq!(summary["rejected"], 0);
    assert_eq!(summary["failed"], 0);
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);
    let mut indexes: Vec<u64> = lines[..500]
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..500).collect::<Vec<u64>>());
    assert!(lines[..500].iter().all(|l| {
        l["outcome"] == "accepted"
            && l["class"] == "delivered"
            && l["exit_status"] == 0
            && l["recipients"].as_array().is_some_and(|r| {
                r.len() == 3
                    && r.iter()
                        .all(|r| r["accepted"] == true && r["reply"]["code"] == 250)
            })
    }));
}

/// `--dir`: every `.eml` file, the envelope from its sidecar `NAME.eml.json` or from
/// `--from`/`--to`; the server sees exactly those envelopes.
#[test]
fn dir_with_sidecars() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let dir = std::env::temp_dir().join(format!("smtp-bulk-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.eml"), "Subject: a\n\nfirst\n").unwrap();
    std::fs::write(dir.join("b.eml"), "Subject: b\n\nsecond\n").unwrap();
    std::fs::write(
        dir.join("b.eml.json"),
        r#"{"from":"","to":["x@example.com","y@example.com"]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a message").unwrap();
    let out = smtp_bulk()
        .args([
            "--server",
            &sink.addr().to_string(),
            "--dir",
            dir.to_str().unwrap(),
        ])
        .args([
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--starttls",
            "never",
            "--json",
        ])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["accepted"], 2);
    let files: Vec<&str> = lines[..2]
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"a.eml") && files.contains(&"b.eml"));
    let mut dumped = sink.wait_for_messages(2, Duration::from_secs(5)).unwrap();
    dumped.sort_by(|x, y| x.data.cmp(&y.data));
    assert_eq!(
        dumped[0].mail_args.split_whitespace().next(),
        Some("<a@example.org>")
    );
    assert_eq!(dumped[0].rcpt_args, ["<b@example.net>"]);
    assert_eq!(dumped[1].mail_args.split_whitespace().next(), Some("<>"));
    assert_eq!(dumped[1].rcpt_args, ["<x@example.com>", "<y@example.com>"]);
}

/// A server that refuses every message: the outcomes say rejected, the exit status is 1.
#[test]
fn rejections_are_reported_and_exit_1() {
    let sink = peer_or_skip!(SmtpSink::builder().hard_reject(&["RCPT"]).start());
    let out = smtp_bulk()
        .args(["--server", &sink.addr().to_string(), "--messages", "5"])
        .args([
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--starttls",
            "never",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 6);
    assert!(lines[..5]
        .iter()
        .all(|l| l["outcome"] == "rejected" && l["transient"] == false));
    assert_eq!(lines[5]["rejected"], 5);
}

/// `smtp-bulk` with smtp-send's TLS and AUTH options against Exim: STARTTLS required, the test
/// CA, AUTH with the password from a file (RFC 4954), `--json` counts.
#[test]
fn cli_starttls_auth_to_exim() {
    let cert = TestCert::generate().unwrap();
    let exim = peer_or_skip!(Exim::builder()
        .tls(cert.cert_path(), cert.key_path())
        .auth_user("bulk", "s3cret pass")
        .require_auth(true)
        .start());
    let password = cert.dir().join("password");
    std::fs::write(&password, "s3cret pass\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smtp-bulk"))
        .args([
            "--server",
            &exim.addr().to_string(),
            "--connections",
            "2",
            "--messages",
            "10",
        ])
        .args([
            "--from",
            "sender@example.org",
            "--to",
            "rcpt@example.net",
            "--recipients",
            "2",
        ])
        .args([
            "--starttls",
            "required",
            "--ca-file",
            cert.ca_path().to_str().unwrap(),
        ])
        .args([
            "--auth-user",
            "bulk",
            "--auth-password-file",
            password.to_str().unwrap(),
        ])
        .args(["--timeout", "20", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["accepted"], 10);
    let delivered = exim.wait_for_messages(10, Duration::from_secs(20)).unwrap();
    assert_eq!(delivered.len(), 10);
    let log = exim.log();
    let arrivals: Vec<&str> = log.lines().filter(|l| l.contains(" <= ")).collect();
    assert!(
        arrivals
            .iter()
            .all(|l| l.contains(" X=TLS") && l.contains(" A=")),
        "{log}"
    );
}

/// Memory is bounded per connection, not per message: 100 generated messages of 1 MiB with 32
/// queued at a time, and a directory of 1 MiB files read as they are sent, each peak at
/// 16 MiB of RSS or less (smtp-bulk used to hold every file, and each queued message's wire
/// form: 40 MiB for 200 × 1 MiB with the window of 32). One 64 MiB file peaks at most 2 MiB
/// above one 1 KiB message (about 1 MiB above it here: the core's buffers and one read
/// buffer). The test binary is a debug build, larger than a release build, so the benchmark's
/// release figures are lower: `docs/PERFORMANCE.md`.
#[test]
fn memory_is_bounded_whatever_the_window_and_the_size() {
    use mailwire_testkit::run_with_rss;
    let sink = peer_or_skip!(SmtpSink::start());
    let server = sink.addr().to_string();
    let common = [
        "--server",
        server.as_str(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--starttls",
        "never",
    ];
    let limit = Duration::from_secs(120);
    let mut cmd = smtp_bulk();
    cmd.args(common).args(["--messages", "1"]);
    let base = run_with_rss(cmd, limit).unwrap();
    assert_eq!(base.code, 0, "{}", String::from_utf8_lossy(&base.stderr));
    eprintln!("one 1 KiB message: {} KiB", base.max_rss_kib);
    let mut cmd = smtp_bulk();
    cmd.args(common).args([
        "--messages",
        "100",
        "--size",
        "1048576",
        "--window",
        "32",
        "--window-bytes",
        "1000000000",
    ]);
    let run = run_with_rss(cmd, limit).unwrap();
    assert_eq!(run.code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    eprintln!("generated: {} KiB", run.max_rss_kib);
    assert!(
        run.max_rss_kib <= 16 * 1024,
        "generated: {} KiB",
        run.max_rss_kib
    );

    let dir = std::env::temp_dir().join(format!("smtp-bulk-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut body = b"Subject: memory\r\n\r\n".to_vec();
    while body.len() < 1 << 20 {
        body.extend_from_slice(
            b".a line of text, 70 bytes long, with a dot in front of it: ok.\r\n",
        );
    }
    for i in 0..20 {
        std::fs::write(dir.join(format!("{i:02}.eml")), &body).unwrap();
    }
    let mut cmd = smtp_bulk();
    cmd.args(common)
        .arg("--dir")
        .arg(&dir)
        .args(["--window-bytes", "1000000000"]);
    let run = run_with_rss(cmd, limit).unwrap();
    assert_eq!(run.code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    eprintln!("dir: {} KiB", run.max_rss_kib);
    assert!(run.max_rss_kib <= 16 * 1024, "dir: {} KiB", run.max_rss_kib);

    let big = dir.join("big");
    std::fs::create_dir_all(&big).unwrap();
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(big.join("big.eml")).unwrap());
        for _ in 0..64 {
            f.write_all(&body).unwrap();
        }
    }
    let mut cmd = smtp_bulk();
    cmd.args(common).arg("--dir").arg(&big);
    let run = run_with_rss(cmd, limit).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    eprintln!("64 MiB file: {} KiB", run.max_rss_kib);
    assert!(
        run.max_rss_kib <= base.max_rss_kib + 2 * 1024,
        "64 MiB file: {} KiB, one 1 KiB message: {} KiB",
        run.max_rss_kib,
        base.max_rss_kib
    );
}
