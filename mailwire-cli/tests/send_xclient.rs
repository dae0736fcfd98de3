//! `--xclient*` (swaks' options) in smtp-send and smtp-bulk, and `smtp-send --etrn`, against a
//! whole Postfix, which holds every message it takes: `postcat` shows the client name,
//! address and login it believed, the ones XCLIENT gave.

mod support;

use mailwire_testkit::{peer_or_skip, Postfix};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn smtp_send_and_smtp_bulk_speak_for_the_client_xclient_names() {
    let postfix = peer_or_skip!(Postfix::builder().start());
    let server = postfix.addr().to_string();
    let base = ["--server", server.as_str(), "--starttls", "never"];
    let mut send = base.to_vec();
    send.extend([
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--body",
        "hi",
        "--xclient-addr",
        "10.1.2.3",
        "--xclient-name",
        "relay.example",
        "--xclient-helo",
        "orig.example",
        "--xclient",
        "LOGIN=alice PORT=4567",
        "-v",
    ]);
    let out = smtp_send(&send, &[], T);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "XCLIENT LOGIN=alice PORT=4567 HELO=orig.example NAME=relay.example ADDR=10.1.2.3"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("EHLO orig.example"), "{stderr}");

    let mut bulk = base.to_vec();
    bulk.extend([
        "--from",
        "a@example.org",
        "--to",
        "c@example.net",
        "--messages",
        "3",
        "--size",
        "500",
        "--xclient-name",
        "bulk.example",
        "--xclient-addr",
        "IPV6:2001:db8::7",
    ]);
    let out = smtp_bulk(&bulk, &[], T);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let held = postfix.wait_for_held(4, T).unwrap();
    let sent = held
        .iter()
        .find(|m| m.recipients == ["b@example.net"])
        .expect("smtp-send's message");
    assert_eq!(sent.attribute("client_address"), Some("10.1.2.3"));
    assert_eq!(sent.attribute("client_name"), Some("relay.example"));
    assert_eq!(sent.attribute("client_port"), Some("4567"));
    assert_eq!(sent.attribute("sasl_username"), Some("alice"));
    assert_eq!(sent.attribute("helo_name"), Some("orig.example"));
    let bulk: Vec<_> = held
        .iter()
        .filter(|m| m.recipients == ["c@example.net"])
        .collect();
    assert_eq!(bulk.len(), 3, "{held:?}");
    for m in bulk {
        assert_eq!(m.attribute("client_name"), Some("bulk.example"));
        assert_eq!(m.attribute("client_address"), Some("2001:db8::7"));
    }
}

#[test]
fn xclient_not_offered_is_69_unless_optional_and_bad_attributes_are_65() {
    let postfix = peer_or_skip!(Postfix::builder()
        .main_config("smtpd_authorized_xclient_hosts =")
        .start());
    let server = postfix.addr().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--server",
            server.as_str(),
            "--starttls",
            "never",
            "--from",
            "a@example.org",
            "--to",
            "d@example.net",
            "--body",
            "hi",
        ];
        args.extend_from_slice(extra);
        smtp_send(&args, &[], T)
    };
    let out = run(&["--xclient-addr", "10.1.2.3"]);
    assert_eq!(out.status.code(), Some(69), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("XCLIENT"),
        "{}",
        describe(&out)
    );
    let out = run(&["--xclient-addr", "10.1.2.3", "--xclient-optional"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let held = postfix.wait_for_held(1, T).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].attribute("client_address"), Some("127.0.0.1"));
    // smtp-bulk: a session refused for good is not tried again on a new connection.
    let out = smtp_bulk(
        &[
            "--server",
            server.as_str(),
            "--starttls",
            "never",
            "--from",
            "a@example.org",
            "--to",
            "d@example.net",
            "--messages",
            "3",
            "--size",
            "300",
            "--xclient-addr",
            "10.1.2.3",
            "--json",
        ],
        &[],
        T,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{}", describe(&out));
    for line in &lines[..3] {
        assert_eq!(line["outcome"], "failed", "{line}");
        assert_eq!(line["class"], "permanent", "{line}");
        assert_eq!(line["attempts"], 1, "{line}");
    }
    assert_eq!(lines[3]["failed"], 3, "{}", lines[3]);
    // Refused before connecting: a name XCLIENT cannot carry, a pair without `=`.
    for (extra, code) in [
        (&["--xclient", "AD-DR=1"][..], 65),
        (&["--xclient", "ADDR"][..], 64),
        (&["--xclient-optional"][..], 64),
    ] {
        let out = run(extra);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{extra:?}: {}",
            describe(&out)
        );
    }
}

#[test]
fn etrn_prints_postfixs_reply_and_exits_by_its_class() {
    let postfix = peer_or_skip!(Postfix::builder()
        // ETRN passes the client restrictions, where HOLD cannot apply.
        .main_config("smtpd_client_restrictions =")
        .main_config("fast_flush_domains = example.org")
        .start());
    let server = postfix.addr().to_string();
    let etrn = |node: &str| {
        smtp_send(
            &["--server", &server, "--starttls", "never", "--etrn", node],
            &[],
            T,
        )
    };
    // The reply on stdout, and the exit status of its class.
    for (node, code, reply) in [("example.org", 0, "250 "), ("example.net", 75, "459 ")] {
        let out = etrn(node);
        assert_eq!(out.status.code(), Some(code), "{node}: {}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(reply), "{node}: {}", describe(&out));
    }
    let out = etrn("example.org\r\nRSET");
    assert_eq!(out.status.code(), Some(65), "{}", describe(&out));
}

#[test]
fn smtp_send_xforward_names_the_origin_postfix_logs() {
    let postfix = peer_or_skip!(Postfix::builder().start());
    let server = postfix.addr().to_string();
    let base = [
        "--server",
        server.as_str(),
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "x@example.net",
        "--body",
        "hi",
    ];
    let run = |extra: &[&str]| smtp_send(&[&base[..], extra].concat(), &[], T);
    let out = run(&[
        "--xforward",
        "NAME=up.example ADDR=192.0.2.9",
        "--xforward",
        "IDENT=q-7",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("XFORWARD NAME=up.example ADDR=192.0.2.9 IDENT=q-7"),
        "{stderr}"
    );
    let held = postfix.wait_for_held(1, T).unwrap();
    assert_eq!(held[0].attribute("log_client_name"), Some("up.example"));
    assert_eq!(held[0].attribute("log_client_address"), Some("192.0.2.9"));
    assert_eq!(held[0].attribute("log_ident"), Some("q-7"));
    assert_eq!(held[0].attribute("client_address"), Some("127.0.0.1"));
    let bad = run(&["--xforward", "NAME"]);
    assert_eq!(bad.status.code(), Some(64), "{}", describe(&bad));
}
