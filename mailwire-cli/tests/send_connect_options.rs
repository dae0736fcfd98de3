//! Connection options shared by both commands (`ConnectArgs`), through `smtp-send`: a client
//! certificate (aiosmtpd requiring one), implicit TLS by default on port 465, an OAuth 2.0
//! token (XOAUTH2, OAUTHBEARER: checked on the AUTH line, never printed), and LMTP (smtp-sink
//! `-L`, and a scripted server for per-recipient delivery replies).

mod support;

use base64::Engine as _;
use mailwire_testkit::{peer_or_skip, Aiosmtpd, SmtpSink, TestCert, CLIENT_COMMON_NAME};
use std::process::Output;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `--tls-cert` / `--tls-key` (swaks' options of the same names): the client certificate is
/// presented in the STARTTLS handshake to a server that requires one; without it no message
/// gets through.
#[test]
fn client_certificate_presented_to_a_server_that_requires_one() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .require_client_certificate(cert.ca_path())
        .start());
    let target = format!("127.0.0.1:{}", server.port());
    let base = [
        "--server",
        &target,
        "--starttls",
        "required",
        "--ca-file",
        cert.ca_path().to_str().unwrap(),
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--tls-cert",
        cert.client_cert_path().to_str().unwrap(),
        "--tls-key",
        cert.client_key_path().to_str().unwrap(),
    ]);
    let out = smtp_send(&args, &[], T * 2);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.tls_client_cn.as_deref(), Some(CLIENT_COMMON_NAME));

    let out = smtp_send(&base, &[], T * 2);
    let code = out.status.code();
    assert!(
        matches!(code, Some(75 | 77)),
        "no certificate: the handshake (or the session right after it) fails: {code:?} {:?}",
        text(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.messages().unwrap().len(),
        1,
        "nothing more delivered"
    );
}

/// RFC 8314 3.3: on port 465 TLS starts with the connection, without --tls-on-connect.
#[test]
fn port_465_is_implicit_tls_by_default() {
    let cert = TestCert::generate().unwrap();
    let server = match Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .implicit_tls(true)
        .port(465)
        .start()
    {
        Err(mailwire_testkit::PeerError::Startup { log, .. })
            if log.contains("in use") || log.contains("ermission") =>
        {
            eprintln!("port 465 cannot be had here; skipped: {log}");
            return;
        }
        other => peer_or_skip!(other),
    };
    let out = smtp_send(
        &[
            "--server",
            "127.0.0.1:465",
            "--ca-file",
            cert.ca_path().to_str().unwrap(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--verbose",
        ],
        &[],
        T * 2,
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("TLS established"), "{stderr}");
    assert!(!stderr.contains("STARTTLS"), "{stderr}");
    assert_eq!(server.wait_for_messages(1, T).unwrap().len(), 1);
}

const TOKEN: &str = "ya29.token-Secret_42";
const USER: &str = "user@example.org";

/// `--auth-oauth-token-file`: XOAUTH2 carries `user=` and `auth=Bearer <token>`; the server
/// refuses it with a 535 that echoes the token and its base64: exit 77, and nothing of the
/// token in any output (--verbose, --show-raw-text, --json).
#[test]
fn oauth_token_xoauth2_and_oauthbearer_never_printed() {
    let dir = std::env::temp_dir().join(format!("smtp-send-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    for (mechanism, want) in [
        (
            "XOAUTH2",
            format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"),
        ),
        (
            "OAUTHBEARER",
            format!("n,a={USER},\x01auth=Bearer {TOKEN}\x01\x01"),
        ),
    ] {
        let mock = Mock::start(move |peer| {
            peer.hello(&[&format!("AUTH {mechanism}")]);
            let line = peer.expect(&format!("AUTH {mechanism} "));
            let payload = line.rsplit(' ').next().unwrap().to_string();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(&payload)
                .unwrap();
            peer.send(&format!(
                "535 5.7.8 token {TOKEN} ({payload}) not accepted\r\n"
            ));
            peer.drain();
            String::from_utf8(decoded).unwrap()
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
                "--auth-user",
                USER,
                "--auth-oauth-token-file",
                token_file.to_str().unwrap(),
                "--auth-plaintext-ok",
                "--show-raw-text",
                "--json",
            ],
            &[],
            T,
        );
        let sent = mock.join();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(77),
            "{mechanism}: {stdout}\n{stderr}"
        );
        assert_eq!(sent, want, "{mechanism}: the SASL payload");
        assert!(
            stderr.contains(&format!("-> AUTH {mechanism} <redacted>")),
            "{stderr}"
        );
        for secret in [TOKEN.to_string(), b64(want.as_bytes())] {
            assert!(
                !stdout.contains(&secret) && !stderr.contains(&secret),
                "{mechanism}: {secret:?} printed:\n{stdout}\n{stderr}"
            );
        }
    }
}

/// `--protocol lmtp` (RFC 2033): LHLO, and one line of result per recipient on stdout; with
/// --json each recipient's delivery reply.
#[test]
fn lmtp_to_smtp_sink_one_result_per_recipient() {
    let sink = peer_or_skip!(SmtpSink::builder().lmtp(true).dump(true).start());
    let target = format!("127.0.0.1:{}", sink.port());
    let args = [
        "--server",
        &target,
        "--protocol",
        "lmtp",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--to",
        "c@example.net",
    ];
    let out = smtp_send(&args, &[], T * 2);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("<b@example.net>: delivered: 250"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("<c@example.net>: delivered: 250"),
        "{stdout}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = smtp_send(&json_args, &[], T * 2);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for r in v["recipients"].as_array().unwrap() {
        assert_eq!(r["delivery"]["code"], 250, "{stdout}");
        assert_eq!(r["accepted"], true);
    }
    let got = sink.messages().unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.client_proto == "LMTP"), "{got:?}");
}

/// LMTP with one delivery refused after the content: partial (79), the refused one named.
#[test]
fn lmtp_partial_delivery_exit_79() {
    let mock = Mock::start(|peer| {
        peer.send("220 lmtp.test LMTP\r\n");
        peer.expect("LHLO");
        peer.send("250-lmtp.test\r\n250 PIPELINING\r\n");
        peer.expect("MAIL FROM:<a@example.org>");
        peer.expect("RCPT TO:<b@example.net>");
        peer.expect("RCPT TO:<c@example.net>");
        peer.expect("DATA");
        peer.send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
        peer.data();
        peer.send(
            "250 2.0.0 <b@example.net> delivered\r\n452 4.2.2 <c@example.net> mailbox full\r\n",
        );
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let target = format!("127.0.0.1:{}", mock.port);
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--protocol",
            "lmtp",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--to",
            "c@example.net",
        ],
        &[],
        T,
    );
    mock.join();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(79), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("<b@example.net>: delivered: 250"),
        "{stdout}"
    );
    assert!(stdout.contains("<c@example.net>: refused: 452"), "{stdout}");
    assert!(
        stderr.contains("c@example.net") && stderr.contains("452"),
        "{stderr}"
    );
}
