//! `--quit-after` (probes: no message is sent) and `--vrfy` / `--expn` against real servers,
//! with a `Tap` in front to see what went on the wire; the exit status is 0 when the probe got
//! as far as asked, else the class of what stopped it.

mod support;

use mailwire_testkit::{peer_or_skip, Aiosmtpd, Exim, SmtpSink, Tap, TestCert};
use std::process::Output;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);
const USER: &str = "prober";
const PASSWORD: &str = "pr0be-Pa55";

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(target: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--server", target, "--timeout", "10"];
    args.extend_from_slice(extra);
    smtp_send(&args, &[("SMTP_PASSWORD", PASSWORD)], T * 2)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(out)))
}

/// The plaintext lines the client sent on each of the tap's first `n` connections.
fn sent_lines(tap: &Tap, n: usize) -> Vec<Vec<String>> {
    tap.wait_closed(n, T)
        .unwrap()
        .iter()
        .map(|b| {
            String::from_utf8_lossy(b)
                .split("\r\n")
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// connect: the TCP connection alone, nothing said; greeting: QUIT right after the banner;
/// ehlo: QUIT after the first EHLO (RFC 5321 4.1.1.1, 4.1.1.10). No --from or --to needed.
#[test]
fn quit_after_connect_greeting_ehlo_against_smtp_sink() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let tap = Tap::start(sink.addr()).unwrap();
    let target = tap.addr().to_string();
    let out = run(&target, &["--quit-after", "connect"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), format!("connected to {target}"));
    let out = run(&target, &["--quit-after", "greeting"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("greeting: 220 "), "{stdout}");
    assert!(!stdout.contains("capabilities"), "{stdout}");
    let out = run(&target, &["--quit-after", "ehlo", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "probed");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["greeting"]["code"], 220);
    let ext = v["capabilities"]["extensions"].as_array().unwrap();
    assert!(ext.iter().any(|e| e == "PIPELINING"), "{ext:?}");
    assert!(ext.iter().any(|e| e == "DSN"), "{ext:?}");
    assert_eq!(v["tls"], false);
    assert!(v["auth"].is_null());
    let sent = sent_lines(&tap, 3);
    assert!(sent[0].is_empty(), "connect says nothing: {:?}", sent[0]);
    assert_eq!(sent[1], ["QUIT"]);
    assert_eq!(sent[2].len(), 2, "{:?}", sent[2]);
    assert!(sent[2][0].starts_with("EHLO ") && sent[2][1] == "QUIT");
    assert!(sink.messages().unwrap().is_empty());
}

/// ehlo stops before STARTTLS (the first EHLO); tls and auth go through STARTTLS (RFC 3207)
/// and AUTH (RFC 4954) and stop there, saying what was had; no message is sent.
#[test]
fn quit_after_ehlo_tls_auth_against_aiosmtpd() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .auth_user(USER, PASSWORD)
        .start());
    let tap = Tap::start(server.addr()).unwrap();
    let target = tap.addr().to_string();
    let ca = cert.ca_path().to_str().unwrap().to_string();
    let common = ["--starttls", "required", "--ca-file", &ca, "--json"];
    let mut args = common.to_vec();
    args.extend(["--quit-after", "ehlo"]);
    let out = run(&target, &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["tls"], false);
    assert!(v["capabilities"]["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "STARTTLS"));

    let mut args = common.to_vec();
    args.extend(["--quit-after", "tls"]);
    let out = run(&target, &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["tls"], true);
    assert!(v["auth"].is_null());

    let mut args = common.to_vec();
    args.extend(["--quit-after", "auth", "--auth-user", USER]);
    let out = run(&target, &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(
        (v["tls"].clone(), v["auth"].clone()),
        (true.into(), "PLAIN".into())
    );

    // The wrong password: AUTH refused, 77.
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "required",
            "--ca-file",
            &ca,
            "--quit-after",
            "auth",
            "--auth-user",
            USER,
        ],
        &[("SMTP_PASSWORD", "wrong")],
        T * 2,
    );
    assert_eq!(out.status.code(), Some(77), "{:?}", text(&out));

    let sent = sent_lines(&tap, 4);
    assert!(
        sent[0][0].starts_with("EHLO ") && sent[0][1] == "QUIT",
        "{:?}",
        sent[0]
    );
    assert!(
        !sent[0].iter().any(|l| l == "STARTTLS"),
        "ehlo stops before STARTTLS: {:?}",
        sent[0]
    );
    assert_eq!(sent[1][1], "STARTTLS", "{:?}", sent[1]);
    assert!(server.messages().unwrap().is_empty());
}

/// mail: MAIL FROM and no RCPT; rcpt: every RCPT and no DATA (RFC 5321 3.3). Exit by the
/// replies, classed as a message's would be: all taken 0, some refused 79, refused 69, 4yz 75.
#[test]
fn quit_after_mail_and_rcpt_against_exim() {
    let exim = peer_or_skip!(Exim::builder().start());
    let tap = Tap::start(exim.addr()).unwrap();
    let target = tap.addr().to_string();
    let probe = |stop: &str, from: &str, to: &[&str]| {
        let mut args = vec!["--starttls", "never", "--quit-after", stop, "--from", from];
        for t in to {
            args.extend(["--to", t]);
        }
        run(&target, &args)
    };
    let out = probe("mail", "a@example.org", &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("mail: 250"), "{stdout}");
    let out = probe("mail", "reject@example.org", &[]);
    assert_eq!(out.status.code(), Some(69), "{:?}", text(&out));
    let out = probe(
        "rcpt",
        "a@example.org",
        &["b@example.net", "reject-me@example.net"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(79), "{stdout}\n{stderr}");
    assert!(stdout.contains("rcpt <b@example.net>: 250"), "{stdout}");
    assert!(
        stdout.contains("rcpt <reject-me@example.net>: 550"),
        "{stdout}"
    );
    let out = probe("rcpt", "a@example.org", &["tempfail@example.net"]);
    assert_eq!(out.status.code(), Some(75), "{:?}", text(&out));
    let out = run(
        &target,
        &[
            "--starttls",
            "never",
            "--quit-after",
            "rcpt",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["mail_reply"]["code"], 250);
    assert_eq!(v["recipients"][0]["reply"]["code"], 250);
    assert_eq!(v["class"], "delivered");

    let sent = sent_lines(&tap, 5);
    assert!(
        !sent[0].iter().any(|l| l.starts_with("RCPT")),
        "{:?}",
        sent[0]
    );
    for lines in &sent {
        assert!(
            !lines.iter().any(|l| l == "DATA" || l.starts_with("BDAT")),
            "{lines:?}"
        );
    }
    assert!(exim.messages().unwrap().is_empty());
}

/// A probe that cannot get as far as asked exits by what stopped it: TLS required and not
/// offered (77); and what a stop needs is asked for (64).
#[test]
fn quit_after_stopped_early_and_usage() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let target = format!("127.0.0.1:{}", sink.port());
    let out = run(&target, &["--quit-after", "tls", "--starttls", "required"]);
    assert_eq!(out.status.code(), Some(77), "{:?}", text(&out));
    let out = run(
        &target,
        &["--quit-after", "rcpt", "--from", "a@example.org"],
    );
    assert_eq!(out.status.code(), Some(64), "{:?}", text(&out));
    let out = run(&target, &["--quit-after", "mail"]);
    assert_eq!(out.status.code(), Some(64), "{:?}", text(&out));
    let out = run(&target, &["--quit-after", "banner"]);
    assert_eq!(out.status.code(), Some(0), "swaks' name: {:?}", text(&out));
}

/// VRFY (RFC 5321 3.5.1) to smtp-sink: the reply printed, its class the exit status (2yz 0,
/// 4yz 75, 5yz 69); no message.
#[test]
fn vrfy_exit_by_reply_class() {
    for (builder, want) in [
        (SmtpSink::builder(), 0),
        (SmtpSink::builder().soft_reject(&["VRFY"]), 75),
        (SmtpSink::builder().hard_reject(&["VRFY"]), 69),
    ] {
        let sink = peer_or_skip!(builder.start());
        let tap = Tap::start(sink.addr()).unwrap();
        let target = tap.addr().to_string();
        let out = run(&target, &["--vrfy", "someone@example.net"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(want), "{stdout}\n{stderr}");
        assert!(stdout.starts_with(['2', '4', '5']), "the reply: {stdout}");
        let sent = &sent_lines(&tap, 1)[0];
        assert!(
            sent.iter().any(|l| l == "VRFY someone@example.net"),
            "{sent:?}"
        );
        assert!(!sent.iter().any(|l| l.starts_with("MAIL")), "{sent:?}");
    }
}

/// EXPN (RFC 5321 3.5.2): a multi-line list printed line by line (and in --json); Exim's
/// refusal (no EXPN ACL) exits 69.
#[test]
fn expn_prints_every_line() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("EXPN staff");
        peer.send("250-Ann <ann@example.org>\r\n250 Bob <bob@example.org>\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = run(&target, &["--starttls", "never", "--expn", "staff"]);
    mock.join();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        "250-Ann <ann@example.org>\n250 Bob <bob@example.org>\n"
    );

    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("EXPN staff");
        peer.send("250-Ann <ann@example.org>\r\n250 Bob <bob@example.org>\r\n");
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = run(
        &target,
        &["--starttls", "never", "--expn", "staff", "--json"],
    );
    mock.join();
    let v = json(&out);
    assert_eq!(v["status"], "replied");
    assert_eq!(v["reply"]["lines"][1], "Bob <bob@example.org>");

    let exim = peer_or_skip!(Exim::builder().start());
    let target = exim.addr().to_string();
    let out = run(&target, &["--starttls", "never", "--expn", "staff"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(69), "{stdout}\n{stderr}");
    assert!(stdout.starts_with('5'), "{stdout}");
}

/// An argument with a control character is refused before connecting (65).
#[test]
fn vrfy_argument_injection_refused() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    for extra in [&["--vrfy", "a\r\nMAIL FROM:<x@y>"][..], &["--expn", "x\ty"]] {
        let out = run(&target, extra);
        assert_eq!(out.status.code(), Some(65), "{extra:?}: {:?}", text(&out));
    }
    assert!(!trip.was_connected());
}
