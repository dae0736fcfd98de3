//! `smtp-send` as a subprocess: exit statuses, `--json`, `--demo`, injection refused before
//! anything is sent, and no secret in any output.

mod support;

use base64::Engine as _;
use mailwire_blocking::demo_server::{DemoServer, DEMO_PASSWORD, DEMO_USER};
use std::process::Output;
use std::thread;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(30);

fn code(out: &Output) -> i32 {
    out.status.code().expect("smtp-send died by a signal")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn password_file(dir: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("smtp-send-test-{}-{dir}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("password");
    std::fs::write(&path, content).unwrap();
    path
}

/// Runs smtp-send against a fresh demo server with the given extra arguments.
fn against_demo(extra: &[&str]) -> (Output, DemoServer) {
    let server = DemoServer::start().unwrap();
    let target = format!("127.0.0.1:{}", server.port());
    let mut args = vec![
        "--server",
        &target,
        "--starttls",
        "never",
        "--timeout",
        "10",
    ];
    args.extend_from_slice(extra);
    let out = smtp_send(&args, &[], LIMIT);
    (out, server)
}

#[test]
fn demo_works_with_no_other_flag() {
    let out = smtp_send(&["--demo"], &[], LIMIT);
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("-> AUTH PLAIN <redacted>"), "{stdout}");
    assert!(stdout.contains("<- 250 2.0.0 Ok: queued"), "{stdout}");
    assert!(stdout.contains("The demo server received"), "{stdout}");
    assert!(stdout.contains("| Subject: smtp-send demo"), "{stdout}");
    assert!(stdout.contains("| .A line starting with a dot"), "{stdout}");
    assert_no_secret(DEMO_USER, DEMO_PASSWORD, &[&stdout, &stderr]);
}

#[test]
fn success_exit_0_with_built_message() {
    let (out, server) = against_demo(&[
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.net",
        "--cc",
        "carol@example.net",
        "--bcc",
        "dave@example.net",
        "--subject",
        "Grüße",
        "--body",
        "héllo\n.dot\n",
        "--header",
        "X-Test: yes",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "stdout: {stdout}\nstderr: {stderr}");
    let got = server.wait_for(1, LIMIT);
    let m = &got[0];
    assert_eq!(
        m.rcpt_to,
        [
            "<bob@example.net>",
            "<carol@example.net>",
            "<dave@example.net>"
        ]
    );
    let content = String::from_utf8_lossy(&m.content);
    assert!(content.contains("\r\nX-Test: yes\r\n"), "{content}");
    assert!(content.contains("Cc: <carol@example.net>"), "{content}");
    assert!(
        !content.contains("dave"),
        "Bcc must not appear in the header: {content}"
    );
    assert!(
        content.contains("Subject: =?utf-8?"),
        "RFC 2047 subject: {content}"
    );
    assert!(content.contains("Message-ID: <"), "{content}");
    assert!(content.contains("Date: "), "{content}");
    assert!(content.contains("MIME-Version: 1.0"), "{content}");
    assert!(content.contains("charset"), "{content}");
}

#[test]
fn message_file_sent_as_is_with_added_header() {
    let dir = std::env::temp_dir().join(format!("smtp-send-msgfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("msg.eml");
    std::fs::write(
        &path,
        b"From: a@example.org\nSubject: file\n\n.dotted\nbody\n",
    )
    .unwrap();
    let (out, server) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--message-file",
        path.to_str().unwrap(),
        "--header",
        "X-Extra: 1",
    ]);
    assert_eq!(code(&out), 0, "{:?}", text(&out));
    let got = server.wait_for(1, LIMIT);
    assert_eq!(
        got[0].content,
        b"From: a@example.org\r\nSubject: file\r\nX-Extra: 1\r\n\r\n.dotted\r\nbody\r\n"
    );
}

#[test]
fn partial_delivery_exit_79_names_refused_recipient() {
    let (out, server) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--to",
        "reject@example.net",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 79, "{stderr}");
    assert!(
        stderr.contains("reject@example.net") && stderr.contains("550"),
        "{stderr}"
    );
    assert_eq!(server.wait_for(1, LIMIT).len(), 1);
}

#[test]
fn permanent_rejection_exit_69() {
    let (out, _s) = against_demo(&["--from", "a@example.org", "--to", "reject@example.net"]);
    assert_eq!(code(&out), 69, "{:?}", text(&out));
}

#[test]
fn temporary_rejection_exit_75() {
    let (out, _s) = against_demo(&["--from", "a@example.org", "--to", "defer@example.net"]);
    assert_eq!(code(&out), 75, "{:?}", text(&out));
}

#[test]
fn auth_with_password_file_and_env() {
    let path = password_file("auth-ok", &format!("{DEMO_PASSWORD}\r\n"));
    let (out, server) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--auth-user",
        DEMO_USER,
        "--auth-password-file",
        path.to_str().unwrap(),
        "--auth-plaintext-ok",
        "--verbose",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}{stderr}");
    assert_eq!(
        server.wait_for(1, LIMIT)[0].authenticated_as.as_deref(),
        Some(DEMO_USER)
    );
    assert!(stderr.contains("-> AUTH PLAIN <redacted>"), "{stderr}");
    assert_no_secret(DEMO_USER, DEMO_PASSWORD, &[&stdout, &stderr]);

    let server = DemoServer::start().unwrap();
    let target = format!("127.0.0.1:{}", server.port());
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
            "--auth-user",
            DEMO_USER,
            "--auth-mech",
            "LOGIN",
            "--auth-plaintext-ok",
            "--verbose",
            "--json",
        ],
        &[("SMTP_PASSWORD", DEMO_PASSWORD)],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(code(&out), 0, "{stdout}{stderr}");
    assert!(stderr.contains("-> AUTH LOGIN"), "{stderr}");
    assert_no_secret(DEMO_USER, DEMO_PASSWORD, &[&stdout, &stderr]);
}

#[test]
fn wrong_password_exit_77_and_no_secret_shown() {
    let secret = "not-the-password";
    let path = password_file("auth-bad", secret);
    for mech in ["PLAIN", "LOGIN"] {
        let (out, _s) = against_demo(&[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--auth-user",
            DEMO_USER,
            "--auth-password-file",
            path.to_str().unwrap(),
            "--auth-plaintext-ok",
            "--auth-mech",
            mech,
            "--verbose",
            "--json",
        ]);
        let (stdout, stderr) = text(&out);
        assert_eq!(code(&out), 77, "{stdout}{stderr}");
        assert!(stderr.contains("535"), "{stderr}");
        assert_no_secret(DEMO_USER, secret, &[&stdout, &stderr]);
    }
}

/// A server whose 535 repeats what it was sent: the PLAIN payload and the password itself. Not
/// one form of the secret reaches any output, with `--verbose`, with `--json`, or with
/// neither (where the refusal is printed from the final error). It used to be printed back.
#[test]
fn server_echoing_the_password_never_gets_it_printed() {
    let secret = "echo-Me-Back-42";
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{secret}"));
    for flags in [&[][..], &["--verbose"][..], &["--json"][..]] {
        let echo = plain.clone();
        let mock = Mock::start(move |peer| {
            peer.hello(&["AUTH PLAIN LOGIN"]);
            let line = peer.expect("AUTH PLAIN");
            peer.send(&format!(
                "535-5.7.8 bad credentials: {}\r\n535 5.7.8 the password was {secret}\r\n",
                line.rsplit(' ').next().unwrap_or_default()
            ));
            let _ = peer.drain();
            echo
        });
        let server = format!("127.0.0.1:{}", mock.port);
        let mut args = vec![
            "--server",
            &server,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--auth-user",
            "alice",
            "--auth-plaintext-ok",
            "--auth-mech",
            "PLAIN",
            "--timeout",
            "10",
        ];
        args.extend_from_slice(flags);
        let out = smtp_send(&args, &[("SMTP_PASSWORD", secret)], LIMIT);
        let (stdout, stderr) = text(&out);
        assert_eq!(code(&out), 77, "{stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("<redacted>"),
            "{flags:?}: {stdout}{stderr}"
        );
        assert_no_secret("alice", secret, &[&stdout, &stderr]);
        assert!(!stdout.contains(&plain) && !stderr.contains(&plain));
        mock.join();
    }
}

#[test]
fn plaintext_auth_without_opt_in_exit_77() {
    let path = password_file("auth-noplain", DEMO_PASSWORD);
    let (out, server) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--auth-user",
        DEMO_USER,
        "--auth-password-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 77, "{:?}", text(&out));
    assert!(server.received().is_empty());
}

#[test]
fn starttls_required_not_offered_exit_77() {
    let server = DemoServer::start().unwrap();
    let target = format!("127.0.0.1:{}", server.port());
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "required",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 77, "{:?}", text(&out));
    assert!(server.received().is_empty());
}

#[test]
fn json_summary_shape() {
    let (out, _s) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--to",
        "reject@example.net",
        "--json",
    ]);
    assert_eq!(code(&out), 79);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["status"], "partial");
    assert_eq!(v["class"], "partial");
    assert_eq!(v["exit_code"], 79);
    let r = v["recipients"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["address"], "b@example.net");
    assert_eq!(r[0]["accepted"], true);
    assert_eq!(r[0]["reply"]["code"], 250);
    assert_eq!(r[0]["reply"]["enhanced_code"], "2.1.5");
    assert_eq!(r[1]["accepted"], false);
    assert_eq!(r[1]["reply"]["code"], 550);
    assert_eq!(r[1]["reply"]["enhanced_code"], "5.1.1");
    assert!(r[1]["reply"]["text"]
        .as_str()
        .unwrap()
        .contains("No such user"));
    assert_eq!(v["final_reply"]["code"], 250);
    assert!(v["error"].is_null());

    let (out, _s) = against_demo(&[
        "--from",
        "a@example.org",
        "--to",
        "reject@example.net",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "rejected");
    assert_eq!(v["class"], "permanent");
    assert_eq!(v["error"]["stage"], "RCPT TO");
    assert_eq!(v["error"]["reply"]["code"], 550);
    assert_eq!(v["error"]["transient"], false);
}

#[test]
fn header_injection_refused_exit_65_nothing_sent() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    for header in [
        "X-A: ok\r\nBcc: victim@example.net",
        "X-A: ok\nRCPT TO:<x@y>",
        "X-A: a\rb",
        "no colon",
    ] {
        let out = smtp_send(
            &[
                "--server",
                &target,
                "--from",
                "a@example.org",
                "--to",
                "b@example.net",
                "--header",
                header,
            ],
            &[],
            LIMIT,
        );
        assert_eq!(code(&out), 65, "{header:?}: {:?}", text(&out));
    }
    assert!(!trip.was_connected(), "nothing may be sent");
}

#[test]
fn address_and_helo_injection_refused_exit_65_nothing_sent() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    let cases: [&[&str]; 5] = [
        &[
            "--from",
            "a@example.org\r\nRCPT TO:<evil@example.net>",
            "--to",
            "b@example.net",
        ],
        &["--from", "a@example.org", "--to", "b@example.net>\r\nDATA"],
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--cc",
            "not an address",
        ],
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--helo",
            "x\r\nMAIL FROM:<e@x>",
        ],
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--subject",
            "hi\r\nBcc: e@x",
        ],
    ];
    for case in cases {
        let mut args = vec!["--server", &target];
        args.extend_from_slice(case);
        let out = smtp_send(&args, &[], LIMIT);
        assert_eq!(code(&out), 65, "{case:?}: {:?}", text(&out));
    }
    assert!(!trip.was_connected(), "nothing may be sent");
}

#[test]
fn usage_errors_exit_64() {
    let cases: [&[&str]; 5] = [
        &["--from", "a@example.org", "--to", "b@example.net"],
        &["--server", "127.0.0.1:1", "--to", "b@example.net"],
        &[
            "--server",
            "127.0.0.1:1",
            "--from",
            "a@example.org",
            "--to",
            "b@x",
            "--bogus",
        ],
        &[
            "--server",
            "127.0.0.1:1",
            "--from",
            "a@example.org",
            "--to",
            "b@x",
            "--auth-user",
            "u",
        ],
        &[
            "--server",
            "127.0.0.1:99999",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
    ];
    for case in cases {
        let out = smtp_send(case, &[], LIMIT);
        assert_eq!(code(&out), 64, "{case:?}: {:?}", text(&out));
    }
    let out = smtp_send(&["--help"], &[], LIMIT);
    assert_eq!(code(&out), 0);
}

#[test]
fn unreadable_message_file_exit_66() {
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
            "--message-file",
            "/nonexistent/x",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 66, "{:?}", text(&out));
    assert!(!trip.was_connected());
}

#[test]
fn connection_refused_exit_75() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--json",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 75, "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["error"]["transient"], true);
}

#[test]
fn silent_server_times_out_exit_75_naming_stage() {
    let mock = Mock::start(|peer| {
        peer.send("220 mock.test ESMTP\r\n");
        peer.expect("EHLO");
        thread::sleep(Duration::from_secs(3));
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--timeout",
            "1",
            "--json",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 75, "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["stage"], "EHLO/HELO");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("timed out"));
    mock.join();
}

#[test]
fn garbage_reply_exit_76() {
    let mock = Mock::start(|peer| {
        peer.send("220 mock.test ESMTP\r\n");
        peer.expect("EHLO");
        peer.send("2x0 what\r\n");
        thread::sleep(Duration::from_millis(300));
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 76, "{:?}", text(&out));
    mock.join();
}

#[test]
fn service_closing_421_exit_75() {
    let mock = Mock::start(|peer| {
        peer.hello(&["PIPELINING"]);
        peer.expect("MAIL");
        peer.expect("RCPT");
        peer.expect("DATA");
        peer.send("250 ok\r\n250 ok\r\n354 go\r\n");
        peer.data();
        peer.send("421 4.3.2 going down\r\n");
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
        &[],
        LIMIT,
    );
    let (_, stderr) = text(&out);
    assert_eq!(code(&out), 75, "{stderr}");
    assert!(stderr.contains("421"), "{stderr}");
    mock.join();
}

#[test]
fn greeting_554_exit_69() {
    let mock = Mock::start(|peer| {
        peer.send("554 5.7.1 go away\r\n");
        peer.drain();
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(code(&out), 69, "{:?}", text(&out));
    mock.join();
}

/// The password, its base64, and the base64 of the PLAIN and LOGIN payloads must appear in no
/// output.
fn assert_no_secret(user: &str, password: &str, outputs: &[&str]) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let forbidden = [
        password.to_string(),
        b64(password.as_bytes()),
        b64(format!("\0{user}\0{password}").as_bytes()),
        b64(format!("{user}\0{user}\0{password}").as_bytes()),
    ];
    for out in outputs {
        for f in &forbidden {
            assert!(
                !out.contains(f.as_str()),
                "secret {f:?} appears in output:\n{out}"
            );
        }
    }
}
