//! The message `smtp-send` is given: `--message-file -` streamed from standard input, and the
//! header rewriting of `--header` (replace) and `--add-header` (add), in a given and in a built
//! message, checked on what aiosmtpd received; header injection refused (65) for both.

mod support;

use mailwire_testkit::{peer_or_skip, Aiosmtpd};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

fn text(out: &std::process::Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `--message-file -` (swaks' `--data -`): the message comes from standard input, streamed (no
/// SIZE declared, since it is read once), its header section rewritten, the body untouched.
#[test]
fn message_from_stdin_with_headers_replaced_and_added() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    // Large enough to need several reads and the session's back-pressure.
    let body = "line of the body\n".repeat(20_000);
    let input = format!(
        "From: a@example.org\nSubject: old\n  folded old subject\nTo: b@example.net\n\n.dot\nSubject: in the body\n{body}"
    );
    let out = smtp_send_input(
        &[
            "--server",
            &target,
            "--starttls",
            "never",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--message-file",
            "-",
            "--header",
            "subject: new",
            "--header",
            "X-Absent: added",
            "--add-header",
            "X-Trace: 1",
            "--verbose",
        ],
        &[],
        input.as_bytes(),
        T * 2,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    let want = format!(
        "From: a@example.org\r\nsubject: new\r\nTo: b@example.net\r\nX-Absent: added\r\nX-Trace: 1\r\n\r\n.dot\r\nSubject: in the body\r\n{}",
        body.replace('\n', "\r\n")
    );
    assert!(
        m.data == want.as_bytes(),
        "got {:?}",
        String::from_utf8_lossy(&m.data[..m.data.len().min(300)])
    );
    assert!(
        !m.mail_options.iter().any(|o| o.starts_with("SIZE=")),
        "streamed once: no SIZE known before MAIL: {:?}",
        m.mail_options
    );
}

/// A message file: `--header` replaces every field of its name, where the first was; the
/// message is measured first (SIZE= is the rewritten message's size).
#[test]
fn message_file_headers_replaced_and_size_declared() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let dir = std::env::temp_dir().join(format!("smtp-send-headers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("msg.eml");
    std::fs::write(
        &path,
        "Received: one\r\nX-Tag: a\r\nReceived: two\r\n\tfolded\r\nSubject: s\r\n\r\nbody\r\n",
    )
    .unwrap();
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
            "--message-file",
            path.to_str().unwrap(),
            "--header",
            "RECEIVED: replaced",
        ],
        &[],
        T * 2,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    let want = "RECEIVED: replaced\r\nX-Tag: a\r\nSubject: s\r\n\r\nbody\r\n";
    assert_eq!(String::from_utf8_lossy(&m.data), want);
    assert!(
        m.mail_options.contains(&format!("SIZE={}", want.len())),
        "{:?}",
        m.mail_options
    );
}

/// A built message's header section is edited as a given one's: `--header` replaces the built
/// Subject and the generated Date where they are (swaks' sense), `--add-header` adds, and the
/// MIME body is untouched.
#[test]
fn built_message_headers_replaced_and_added() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let date = "Tue, 01 Dec 2026 10:00:00 +0000";
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
            "--subject",
            "built subject",
            "--body",
            "the body",
            "--header",
            "subject: replaced",
            "--header",
            &format!("Date: {date}"),
            "--add-header",
            "X-Trace: 1",
        ],
        &[],
        T * 2,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    let data = String::from_utf8_lossy(&m.data);
    let (head, body) = data.split_once("\r\n\r\n").expect("a header section");
    let fields: Vec<&str> = head.split("\r\n").collect();
    let named = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .copied()
            .filter(|f| {
                f.split_once(':')
                    .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .collect()
    };
    assert_eq!(named("Subject"), ["subject: replaced"], "{head}");
    assert_eq!(named("Date"), [format!("Date: {date}").as_str()], "{head}");
    assert_eq!(named("X-Trace"), ["X-Trace: 1"], "{head}");
    assert_eq!(named("From").len(), 1, "{head}");
    assert_eq!(fields.last(), Some(&"X-Trace: 1"), "added last: {head}");
    assert!(body.contains("the body"), "{body}");
}

/// `--add-header` and `--header` refuse CR and LF (65), before connecting (NUL cannot be in an
/// argument; the unit tests of `headers` refuse it).
#[test]
fn add_header_injection_refused_exit_65_nothing_sent() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    for (option, header) in [
        ("--add-header", "X-A: ok\r\nBcc: victim@example.net"),
        ("--add-header", "X-A: a\rb"),
        ("--add-header", "Bad Name: v"),
        ("--header", "X-A: ok\nRCPT TO:<x@y>"),
    ] {
        let out = smtp_send_input(
            &[
                "--server",
                &target,
                "--from",
                "a@example.org",
                "--to",
                "b@example.net",
                "--message-file",
                "-",
                option,
                header,
            ],
            &[],
            b"Subject: s\n\nbody\n",
            T,
        );
        assert_eq!(out.status.code(), Some(65), "{header:?}: {}", text(&out));
    }
    assert!(!trip.was_connected(), "nothing may be sent");
}

/// `--body-file -` (swaks' `--body -`): a built message's text body from standard input, its
/// line ends made CRLF, a dot line stuffed on the wire and unstuffed by the server; the two
/// bodies cannot both come from it (64).
#[test]
fn body_from_standard_input() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let base = [
        "--server",
        &target,
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--subject",
        "piped body",
    ];
    let mut args = base.to_vec();
    args.extend_from_slice(&["--body-file", "-"]);
    let out = smtp_send_input(&args, &[], b"first line\n.second, a dot line\n", T);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    let data = String::from_utf8_lossy(&m.data);
    assert!(
        data.ends_with("\r\n\r\nfirst line\r\n.second, a dot line\r\n"),
        "{data}"
    );
    let mut args = base.to_vec();
    args.extend_from_slice(&["--body-file", "-", "--body-html-file", "-"]);
    let out = smtp_send_input(&args, &[], b"x", T);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    let mut args = base.to_vec();
    args.extend_from_slice(&["--body-file", "-"]);
    let out = smtp_send_input(&args, &[], b"\xff not UTF-8", T);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input is not UTF-8"));
}
