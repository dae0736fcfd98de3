//! What `smtp-send` prints: `--show-raw-text` (every line, the content's too, credentials still
//! redacted), `--suppress-data` and `--verbose` (the content summarised), `--show-time-lapse`
//! (each line's seconds since the session began) and `--json`'s `elapsed_seconds`, and
//! `--help`'s headings.

mod support;

use base64::Engine as _;
use mailwire_testkit::{peer_or_skip, Aiosmtpd};
use std::process::Output;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);
const USER: &str = "shower";
const PASSWORD: &str = "Sh0w-n0thing-Pa55";

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn send_with(server: &Aiosmtpd, extra: &[&str]) -> Output {
    let target = format!("127.0.0.1:{}", server.port());
    let mut args = vec![
        "--server",
        &target,
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--auth-user",
        USER,
        "--auth-plaintext-ok",
        "--subject",
        "raw text",
        "--body",
        "first body line\n.leading dot\nlast body line\n",
    ];
    args.extend_from_slice(extra);
    smtp_send(&args, &[("SMTP_PASSWORD", PASSWORD)], T * 2)
}

/// `--show-raw-text`: every line of the session, the content's included as it went on the
/// wire (dot-stuffed), AUTH still redacted: neither the password nor any base64 form of it
/// appears. `--verbose` and `--suppress-data`: the content summarised.
#[test]
fn show_raw_text_has_the_content_never_the_password() {
    let server = peer_or_skip!(Aiosmtpd::builder().auth_user(USER, PASSWORD).start());
    let out = send_with(&server, &["--show-raw-text"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for line in [
        "-> AUTH PLAIN <redacted>",
        "-> Subject: raw text",
        "-> first body line",
        "-> ..leading dot",
        "-> last body line",
        "-> .",
        "<- 250 2.0.0 OK queued",
    ] {
        assert!(stderr.contains(line), "{line:?} missing:\n{stderr}");
    }
    assert!(!stderr.contains("octets of content"), "{stderr}");
    assert_no_secret(&[&stdout, &stderr]);

    for flags in [
        &["--verbose"][..],
        &["--verbose", "--suppress-data"],
        &["--suppress-data", "-v"],
    ] {
        let out = send_with(&server, flags);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {stdout}\n{stderr}");
        assert!(stderr.contains("octets of content>"), "{flags:?}: {stderr}");
        assert!(!stderr.contains("first body line"), "{flags:?}: {stderr}");
        assert_no_secret(&[&stdout, &stderr]);
    }
    assert_eq!(server.wait_for_messages(4, T).unwrap().len(), 4);

    let out = send_with(&server, &["--show-raw-text", "--suppress-data"]);
    assert_eq!(out.status.code(), Some(64), "{:?}", text(&out));
}

fn assert_no_secret(outputs: &[&str]) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let forbidden = [
        PASSWORD.to_string(),
        b64(PASSWORD.as_bytes()),
        b64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
    ];
    for out in outputs {
        for f in &forbidden {
            assert!(!out.contains(f.as_str()), "secret {f:?} in output:\n{out}");
        }
    }
}

/// `--help` groups the options under headings, in this order, each new option under its own.
#[test]
fn help_groups_options_under_headings() {
    let out = smtp_send(&["--help"], &[], T);
    let (help, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    let headings = [
        "Message:",
        "Envelope:",
        "Connection:",
        "TLS:",
        "Authentication:",
        "Session:",
        "Output:",
    ];
    let at: Vec<usize> = headings
        .iter()
        .map(|h| {
            help.lines()
                .position(|l| l == *h)
                .unwrap_or_else(|| panic!("no heading {h}:\n{help}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "order {at:?}:\n{help}");
    let under = |option: &str| -> &str {
        let line = help
            .lines()
            .position(|l| l.trim_start().starts_with(option))
            .unwrap_or_else(|| panic!("no {option}:\n{help}"));
        let i = at.iter().rposition(|&h| h < line).expect("under a heading");
        headings[i]
    };
    for (option, heading) in [
        ("--message-file", "Message:"),
        ("--add-header", "Message:"),
        ("--header", "Message:"),
        ("--from", "Envelope:"),
        ("--dsn-ret", "Envelope:"),
        ("--dsn-orcpt", "Envelope:"),
        ("--requiretls", "Envelope:"),
        ("--deliver-by", "Envelope:"),
        ("--mt-priority", "Envelope:"),
        ("--8bitmime", "Envelope:"),
        ("--7bit", "Envelope:"),
        ("--smtputf8", "Envelope:"),
        ("--server", "Connection:"),
        ("--protocol", "Connection:"),
        ("--no-pipelining", "Connection:"),
        ("--tls-cert", "TLS:"),
        ("--tls-key", "TLS:"),
        ("--tls-name", "TLS:"),
        ("--auth-oauth-token-file", "Authentication:"),
        ("--quit-after", "Session:"),
        ("--vrfy", "Session:"),
        ("--expn", "Session:"),
        ("--demo", "Session:"),
        ("--show-raw-text", "Output:"),
        ("--suppress-data", "Output:"),
        ("--json", "Output:"),
    ] {
        assert_eq!(under(option), heading, "{option}");
    }
    assert!(help.starts_with("Send one message over SMTP"), "{help}");
}

/// `--show-time-lapse` against a server that waits 400 ms before its greeting and 300 ms before
/// answering MAIL: every transcript line carries the seconds since the session began, in
/// order, the greeting's at least 0.4, MAIL's reply at least 0.7 (lower bounds only: the
/// machine may be slower, never faster); `elapsed_seconds` covers the whole session.
#[test]
fn show_time_lapse_stamps_each_line_with_the_seconds_since_the_start() {
    use std::thread::sleep;
    let mock = Mock::start(|peer| {
        sleep(Duration::from_millis(400));
        peer.send("220 slow.test ESMTP\r\n");
        peer.expect("EHLO");
        peer.send("250-slow.test\r\n250 PIPELINING\r\n");
        peer.expect("MAIL FROM:");
        sleep(Duration::from_millis(300));
        peer.send("250 2.1.0 ok\r\n");
        peer.expect("RCPT TO:");
        peer.send("250 2.1.5 ok\r\n");
        peer.expect("DATA");
        peer.send("354 go\r\n");
        peer.data();
        peer.send("250 2.0.0 queued\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "never",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--show-time-lapse",
            "--json",
        ],
        &[],
        T,
    );
    mock.join();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let stamped: Vec<(f64, &str)> = stderr
        .lines()
        .map(|l| {
            let (stamp, rest) = l
                .strip_prefix('[')
                .and_then(|l| l.split_once("] "))
                .unwrap_or_else(|| panic!("unstamped line {l:?}"));
            (stamp.trim().parse::<f64>().unwrap(), rest)
        })
        .collect();
    assert!(stamped.windows(2).all(|w| w[0].0 <= w[1].0), "{stderr}");
    let at = |prefix: &str| {
        stamped
            .iter()
            .find(|(_, l)| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {stderr}"))
            .0
    };
    assert!(at("<- 220 slow.test") >= 0.4, "{stderr}");
    assert!(at("-> EHLO") >= 0.4, "{stderr}");
    assert!(at("<- 250 2.1.0") >= 0.7, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let elapsed = v["elapsed_seconds"].as_f64().unwrap();
    assert!(elapsed >= at("<- 250 2.0.0"), "{elapsed} {stderr}");
}

/// `--dump-mail`: the message as it would be given to DATA (a built one with its --header
/// edit; a file with --add-header, its line ends as they are), on stdout, and no connection
/// made (a tripwire listens where --server points); without --server too; not with a probe.
#[test]
fn dump_mail_prints_the_message_and_connects_nowhere() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--subject",
            "dumped",
            "--body",
            ".a dot line",
            "--header",
            "Subject: replaced",
            "--dump-mail",
        ],
        &[],
        T,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("From: <a@example.org>\r\nTo: <b@example.net>\r\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\r\nSubject: replaced\r\n"), "{stdout}");
    assert!(!stdout.contains("dumped"), "{stdout}");
    // Before dot-stuffing: the line as written.
    assert!(stdout.contains("\r\n\r\n.a dot line"), "{stdout}");
    assert!(!trip.was_connected());

    let dir = mailwire_testkit::TempDir::new("dump-mail").unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, "Subject: s\n\nbody\n..two dots\n").unwrap();
    let out = smtp_send(
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--message-file",
            file.to_str().unwrap(),
            "--add-header",
            "X-Added: yes",
            "--dump-mail",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        out.stdout,
        b"Subject: s\nX-Added: yes\r\n\nbody\n..two dots\n".to_vec()
    );

    let out = smtp_send(
        &["--server", &target, "--quit-after", "ehlo", "--dump-mail"],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    assert!(!trip.was_connected());
}
