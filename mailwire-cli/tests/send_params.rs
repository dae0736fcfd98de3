//! MAIL and RCPT parameters from the command line: what went on the wire (a `Tap` in front of
//! Exim, or a scripted server where no real one here offers the extension), what the server
//! took, and the refusals: a message asking for what the server lacks is never sent (69, no
//! MAIL on the wire).

mod support;

use mailwire_blocking::rustls;
use mailwire_testkit::{peer_or_skip, Exim, SmtpSink, Tap, TestCert};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

fn text(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// smtp-send to `target` from a@example.org to b@example.net with `extra` arguments.
fn send(target: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--server",
        target,
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
    ];
    args.extend_from_slice(extra);
    smtp_send(&args, &[], T * 2)
}

/// The lines the client sent on the tap's `i`th connection.
fn sent_lines(tap: &Tap, n: usize) -> Vec<Vec<String>> {
    tap.wait_closed(n, T)
        .unwrap()
        .iter()
        .map(|bytes| {
            String::from_utf8_lossy(bytes)
                .split("\r\n")
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// DSN (RFC 3461) to Exim offering it: RET and ENVID on MAIL, NOTIFY and ORCPT on every RCPT,
/// as typed (ENVID and ORCPT xtext-encoded, RFC 3461 4); Exim takes the message.
#[test]
fn dsn_parameters_to_exim() {
    let exim = peer_or_skip!(Exim::builder().dsn(true).start());
    let tap = Tap::start(exim.addr()).unwrap();
    let target = tap.addr().to_string();
    let out = send(
        &target,
        &[
            "--to",
            "c@example.net",
            "--dsn-ret",
            "hdrs",
            "--dsn-envid",
            "run+1=x",
            "--dsn-notify",
            "success,failure",
            "--dsn-orcpt",
            "orig@example.net",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = &sent_lines(&tap, 1)[0];
    let mail = lines.iter().find(|l| l.starts_with("MAIL")).unwrap();
    assert!(mail.contains(" RET=HDRS"), "{mail}");
    assert!(mail.contains(" ENVID=run+2B1+3Dx"), "{mail}");
    let rcpts: Vec<&String> = lines.iter().filter(|l| l.starts_with("RCPT")).collect();
    assert_eq!(rcpts.len(), 2);
    for r in rcpts {
        assert!(
            r.ends_with(" NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig@example.net"),
            "{r}"
        );
    }
    // Two: the message, and the success report NOTIFY=SUCCESS asked for (RFC 3464), sent to
    // a@example.org, quoting the ENVID and the ORCPT.
    let got = exim.wait_for_messages(2, T).unwrap();
    let report = got
        .iter()
        .find(|m| m.envelope_to == ["a@example.org"])
        .map(|m| String::from_utf8_lossy(&m.data).into_owned())
        .expect("a delivery report");
    assert!(
        report.contains("Original-Envelope-ID: run+2B1+3Dx")
            && report.contains("Original-Recipient: rfc822;orig@example.net")
            && report.contains("Action: delivered"),
        "{report}"
    );
}

/// What the server does not offer is refused before MAIL (RFC 3461 4, RFC 8689 4.1, RFC 2852
/// 4, RFC 6710 2, RFC 6531 3.4): 69, and no MAIL on the wire.
#[test]
fn parameters_the_server_lacks_are_refused_exit_69_no_mail() {
    let exim = peer_or_skip!(Exim::builder().start());
    let tap = Tap::start(exim.addr()).unwrap();
    let target = tap.addr().to_string();
    let cases: [&[&str]; 5] = [
        &["--dsn-ret", "full"],
        &["--dsn-notify", "never"],
        &["--requiretls"],
        &["--deliver-by", "120;R"],
        &["--mt-priority", "-3"],
    ];
    for extra in cases {
        let out = send(&target, extra);
        assert_eq!(out.status.code(), Some(69), "{extra:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not sent") || stderr.contains("needs"),
            "{stderr}"
        );
    }
    for (i, lines) in sent_lines(&tap, cases.len()).iter().enumerate() {
        assert!(
            !lines.iter().any(|l| l.starts_with("MAIL")),
            "{:?}: {lines:?}",
            cases[i]
        );
    }
    assert!(exim.messages().unwrap().is_empty());
}

/// --smtputf8 and --7bit to Exim (SMTPUTF8 and 8BITMIME offered): on MAIL as asked; --7bit
/// with an 8-bit message file is refused before connecting (64: BODY=7BIT would be untrue,
/// RFC 6152 3), so the server never sees a third session.
#[test]
fn body_type_and_smtputf8_forced() {
    let exim = peer_or_skip!(Exim::builder().start());
    let tap = Tap::start(exim.addr()).unwrap();
    let target = tap.addr().to_string();
    let out = send(&target, &["--smtputf8", "--7bit", "--body", "plain ascii"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = send(&target, &["--8bitmime", "--body", "plain ascii"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dir = std::env::temp_dir().join(format!("smtp-send-8bit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let eight_bit = dir.join("8bit.eml");
    std::fs::write(&eight_bit, b"Subject: x\n\nh\xc3\xa9llo\n").unwrap();
    let out = send(
        &target,
        &["--7bit", "--message-file", eight_bit.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has 8-bit octets"),
        "{}",
        text(&out)
    );
    let sent = sent_lines(&tap, 2);
    let mail = |i: usize| sent[i].iter().find(|l| l.starts_with("MAIL")).cloned();
    let first = mail(0).unwrap();
    assert!(
        first.contains(" BODY=7BIT") && first.contains(" SMTPUTF8"),
        "{first}"
    );
    assert!(mail(1).unwrap().contains(" BODY=8BITMIME"));
    assert_eq!(tap.connections(), 2, "the refused message never connected");
    assert_eq!(exim.wait_for_messages(2, T).unwrap().len(), 2);
}

/// smtp-sink without 8BITMIME (`-8`) and without SMTPUTF8: forcing either is refused (69).
#[test]
fn forced_body_type_or_smtputf8_to_a_server_without_them_exit_69() {
    let sink = peer_or_skip!(SmtpSink::builder().eightbitmime(false).start());
    let target = format!("127.0.0.1:{}", sink.port());
    for extra in [&["--8bitmime"][..], &["--smtputf8"]] {
        let out = send(&target, extra);
        assert_eq!(out.status.code(), Some(69), "{extra:?}: {}", text(&out));
    }
}

/// An ENVID that cannot be sent (a control character) is refused before connecting (65).
#[test]
fn bad_parameter_values_refused_before_connecting() {
    let trip = Tripwire::new();
    let target = format!("127.0.0.1:{}", trip.port);
    let out = send(&target, &["--dsn-envid", "a\tb"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
    for extra in [
        &["--deliver-by", "0;R"][..],
        &["--deliver-by", "12;X"],
        &["--mt-priority", "10"],
        &["--dsn-notify", "never,success"],
        &["--7bit", "--8bitmime"],
    ] {
        let out = send(&target, extra);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", text(&out));
    }
    assert!(!trip.was_connected(), "nothing may be sent");
}

/// REQUIRETLS (RFC 8689), DELIVERBY (RFC 2852) and MT-PRIORITY (RFC 6710), which no server
/// here offers: a scripted server over implicit TLS that does checks the MAIL line.
#[test]
fn requiretls_deliver_by_mt_priority_on_mail_over_tls() {
    let cert = TestCert::generate().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![
            cert.cert_der().to_vec().into(),
            cert.ca_der().to_vec().into(),
        ],
        rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_der().to_vec().into()),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = accept_bounded(&listener, MOCK_IO_LIMIT).expect("no client");
        tcp.set_read_timeout(Some(MOCK_IO_LIMIT)).unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut s = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let send = |s: &mut BufReader<_>, text: &str| {
            let w: &mut rustls::StreamOwned<_, _> = s.get_mut();
            w.write_all(text.as_bytes()).unwrap();
            w.flush().unwrap();
        };
        let line = |s: &mut BufReader<rustls::StreamOwned<_, _>>| {
            let mut l = String::new();
            s.read_line(&mut l).unwrap();
            l.trim_end().to_string()
        };
        send(&mut s, "220 tls.test ESMTP\r\n");
        assert!(line(&mut s).starts_with("EHLO"));
        send(
            &mut s,
            "250-tls.test\r\n250-REQUIRETLS\r\n250-DELIVERBY 60\r\n250 MT-PRIORITY MIXER\r\n",
        );
        let mail = line(&mut s);
        send(&mut s, "250 ok\r\n");
        let _rcpt = line(&mut s);
        send(&mut s, "250 ok\r\n");
        assert_eq!(line(&mut s), "DATA");
        send(&mut s, "354 go\r\n");
        while line(&mut s) != "." {}
        send(&mut s, "250 queued\r\n");
        assert_eq!(line(&mut s), "QUIT");
        send(&mut s, "221 bye\r\n");
        mail
    });
    let target = format!("127.0.0.1:{port}");
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--tls-on-connect",
            "--ca-file",
            cert.ca_path().to_str().unwrap(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--requiretls",
            "--deliver-by",
            "120;RT",
            "--mt-priority",
            "3",
        ],
        &[],
        T * 2,
    );
    let mail = server.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        mail,
        "MAIL FROM:<a@example.org> REQUIRETLS BY=120;RT MT-PRIORITY=3"
    );
}
