//! `smtp-send` against real servers on 127.0.0.1, started by `mailwire-testkit`: Postfix
//! smtp-sink, aiosmtpd (STARTTLS, AUTH), Exim (CRAM-MD5). A missing server skips its test, or
//! fails it under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use base64::Engine as _;
use mailwire_testkit::{peer_or_skip, Aiosmtpd, Exim, SmtpSink, TestCert};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);
const USER: &str = "tester";
const PASSWORD: &str = "s3cret-Pa55";

/// smtp-send against smtp-sink: success, and 69 when every recipient is refused.
#[test]
fn sink_smtp_send_exit_codes() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let target = format!("127.0.0.1:{}", sink.port());
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
        T * 2,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sink = peer_or_skip!(SmtpSink::builder().hard_reject(&["RCPT"]).start());
    let target = format!("127.0.0.1:{}", sink.port());
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
        T * 2,
    );
    assert_eq!(
        out.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// smtp-send with STARTTLS, AUTH and a refused recipient: 79, the refused address named, and
/// no secret in any output (with --verbose and --json).
#[test]
fn aiosmtpd_smtp_send_partial_with_auth_over_tls() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .auth_user(USER, PASSWORD)
        .start());
    let target = format!("127.0.0.1:{}", server.port());
    let ca = cert.ca_path().to_str().unwrap().to_string();
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "required",
            "--ca-file",
            &ca,
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--to",
            "reject-me@example.net",
            "--auth-user",
            USER,
            "--verbose",
            "--json",
        ],
        &[("SMTP_PASSWORD", PASSWORD)],
        T * 2,
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(79), "{stdout}\n{stderr}");
    assert!(stderr.contains("reject-me@example.net"), "{stderr}");
    assert!(stderr.contains("STARTTLS"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["recipients"][1]["reply"]["code"], 550);
    assert_no_secret(&[&stdout, &stderr]);
    assert_eq!(
        server.wait_for_messages(1, T).unwrap()[0]
            .auth_login
            .as_deref(),
        Some(USER)
    );
}

/// smtp-send with CRAM-MD5 and --verbose: exit 0, and neither the password nor any base64 of
/// it in the output.
#[test]
fn exim_smtp_send_cram_md5_no_secret() {
    let exim = peer_or_skip!(Exim::builder().auth_user(USER, PASSWORD).start());
    let dir = std::env::temp_dir().join(format!("smtp-send-exim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let target = format!("127.0.0.1:{}", exim.port());
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
            "--auth-password-file",
            pw.to_str().unwrap(),
            "--verbose",
        ],
        &[],
        T * 2,
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("-> AUTH CRAM-MD5"), "{stderr}");
    assert_no_secret(&[&stdout, &stderr]);
}

/// `--starttls required` to a server whose certificate is not trusted (no `--ca-file`: the
/// web PKI roots do not know the test CA): 77, and nothing but EHLO and STARTTLS was said.
#[test]
fn aiosmtpd_smtp_send_untrusted_certificate_exit_77() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
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
        T * 2,
    );
    assert_eq!(
        out.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.messages().unwrap().is_empty());
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
