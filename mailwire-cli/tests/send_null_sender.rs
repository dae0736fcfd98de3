//! The null sender (`MAIL FROM:<>`, RFC 5321 4.5.5), which bounces and other notifications
//! must use: `smtp-send --from '<>'` (or `''`) with a message file and with a built message
//! whose From header comes from `--header`, and `smtp-bulk --from '<>'`, all to Exim, which
//! records the envelope sender it was given; a built message with nothing to put in its From
//! header is refused before connecting.

mod support;

use mailwire_testkit::{peer_or_skip, Exim, Tap, TempDir};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

#[test]
fn null_sender_from_both_commands_reaches_exim_as_the_null_path() {
    let exim = peer_or_skip!(Exim::builder().start());
    let tap = Tap::start(exim.addr()).unwrap();
    let target = tap.addr().to_string();
    let dir = TempDir::new("null-sender").unwrap();
    let file = dir.path().join("bounce.eml");
    std::fs::write(
        &file,
        "From: MAILER-DAEMON@example.org\nTo: b@example.net\nSubject: undeliverable\n\nbody\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let base = ["--server", &target, "--starttls", "never", "--to"];
    let runs: [&[&str]; 2] = [
        &["b@example.net", "--from", "<>", "--message-file", &file],
        &[
            "c@example.net",
            "--from",
            "",
            "--header",
            "From: Mail Delivery System <mailer-daemon@example.org>",
            "--subject",
            "built bounce",
            "--body",
            "a built notification",
        ],
    ];
    for extra in runs {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = smtp_send(&args, &[], T);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
    }
    let out = smtp_bulk(
        &[
            "--server",
            &target,
            "--starttls",
            "never",
            "--from",
            "<>",
            "--to",
            "d@example.net",
            "--messages",
            "2",
            "--size",
            "2000",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let delivered = exim.wait_for_messages(4, T).unwrap();
    assert_eq!(delivered.len(), 4);
    for m in &delivered {
        assert_eq!(m.return_path, "", "{:?}", m.envelope_to);
    }
    let data = |to: &str| {
        let m = delivered
            .iter()
            .find(|m| m.envelope_to.iter().any(|t| t == to))
            .unwrap_or_else(|| panic!("nothing for {to}"));
        String::from_utf8_lossy(&m.data).into_owned()
    };
    assert!(data("b@example.net").starts_with("From: MAILER-DAEMON@example.org\r\n"));
    let built = data("c@example.net");
    assert!(
        built.contains("\r\nFrom: Mail Delivery System <mailer-daemon@example.org>\r\n")
            || built.starts_with("From: Mail Delivery System <mailer-daemon@example.org>\r\n"),
        "{built}"
    );
    assert_eq!(
        built.matches("\nFrom:").count() + built.starts_with("From:") as usize,
        1
    );
    assert!(built.contains("built bounce"), "{built}");

    // On the wire: the null path itself, on every connection's MAIL.
    let sessions = tap.wait_closed(3, T).unwrap();
    for bytes in &sessions {
        let text = String::from_utf8_lossy(bytes);
        let mails: Vec<&str> = text
            .split("\r\n")
            .filter(|l| l.starts_with("MAIL "))
            .collect();
        assert!(!mails.is_empty(), "{text}");
        for mail in mails {
            assert!(mail.starts_with("MAIL FROM:<>"), "{mail}");
        }
    }
}

#[test]
fn null_sender_built_message_without_a_from_header_is_refused_before_connecting() {
    // A port nothing listens on: the refusal must come first.
    let target = format!("127.0.0.1:{}", mailwire_testkit::free_port());
    let cases: [&[&str]; 3] = [
        &["--from", "<>", "--subject", "x"],
        &["--from", "", "--body", "x"],
        // An added header is not the From the builder needs; --header is.
        &["--from", "<>", "--add-header", "From: a@example.org"],
    ];
    for extra in cases {
        let mut args = vec!["--server", &target, "--to", "b@example.net"];
        args.extend_from_slice(extra);
        let out = smtp_send(&args, &[], T);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", describe(&out));
        assert!(stderr.contains("--header 'From: ADDR'"), "{stderr}");
    }
    // A From header that is no address: the builder's refusal, bad data.
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--to",
            "b@example.net",
            "--from",
            "<>",
            "--header",
            "From: not an address",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(65), "{}", describe(&out));
}
