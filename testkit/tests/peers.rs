//! Each peer starts and speaks SMTP: checked by hand over a plain TcpStream.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use mailwire_testkit::raw::{Conn, Reply};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, Exim, OpenSmtpd, SmtpSink, TestCert};

const WAIT: Duration = Duration::from_secs(10);

/// A body with a leading-dot line (dot-stuffed on the wire), an empty line
/// and 8-bit text.
const BODY: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n\
line one\r\n.leading dot\r\n..two dots\r\n\r\nlast line caf\xc3\xa9\r\n";

fn ehlo(conn: &mut Conn) -> Reply {
    let greeting = conn.read_reply().expect("greeting");
    assert_eq!(greeting.code, 220, "{greeting:?}");
    conn.expect("EHLO client.test", 250).expect("EHLO")
}

/// MAIL, RCPT..., DATA, body, QUIT.
fn send(conn: &mut Conn, from: &str, to: &[&str], body: &[u8]) {
    conn.expect(&format!("MAIL FROM:<{from}>"), 250).unwrap();
    for rcpt in to {
        conn.expect(&format!("RCPT TO:<{rcpt}>"), 250).unwrap();
    }
    conn.expect("DATA", 354).unwrap();
    let r = conn.send_data(body).unwrap();
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(conn.cmd("QUIT").unwrap().code, 221);
}

fn lf_only(crlf: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(crlf)
        .replace("\r\n", "\n")
        .into_bytes()
}

#[test]
fn smtp_sink_speaks_esmtp_and_dumps() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let mut c = Conn::connect(sink.addr()).unwrap();
    let caps = ehlo(&mut c);
    for kw in ["PIPELINING", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES"] {
        assert!(caps.has(kw), "{kw} missing: {caps:?}");
    }
    assert_eq!(caps.params("AUTH").unwrap(), ["PLAIN", "LOGIN"], "{caps:?}");
    assert!(!caps.has("CHUNKING") && !caps.has("SMTPUTF8"));
    assert_eq!(caps.lines.last().map(String::as_str), Some(""), "bare 250");
    send(
        &mut c,
        "a@example.org",
        &["b@example.org", "c@example.org"],
        BODY,
    );
    let msgs = sink.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].client_proto, "ESMTP");
    assert_eq!(msgs[0].helo.as_deref(), Some("client.test"));
    assert_eq!(msgs[0].mail_args, "<a@example.org>");
    assert_eq!(msgs[0].rcpt_args, ["<b@example.org>", "<c@example.org>"]);
    assert_eq!(msgs[0].data, lf_only(BODY));
}

#[test]
fn smtp_sink_options_map_to_flags() {
    let sink = peer_or_skip!(SmtpSink::builder()
        .pipelining(false)
        .auth(false)
        .dsn(false)
        .hostname("sink.test")
        .start());
    let mut c = Conn::connect(sink.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert_eq!(caps.lines[0], "sink.test");
    assert!(!caps.has("PIPELINING") && !caps.has("AUTH") && !caps.has("DSN"));
    assert!(caps.has("8BITMIME"));
}

#[test]
fn smtp_sink_rejects_chosen_commands() {
    let sink = peer_or_skip!(SmtpSink::builder()
        .hard_reject(&["RCPT"])
        .hard_reply("554 5.7.1 no thanks")
        .soft_reject(&["MAIL"])
        .start());
    let mut c = Conn::connect(sink.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert!(!caps.has("PIPELINING"), "-f/-r imply -p: {caps:?}");
    let r = c.cmd("MAIL FROM:<a@b>").unwrap();
    assert_eq!(r.code, 450, "{r:?}");
    assert_eq!(r.lines, ["4.3.0 Error: command failed"]);
    let r = c.cmd("RCPT TO:<c@d>").unwrap();
    assert_eq!(r.code, 554, "{r:?}");
    assert_eq!(r.lines, ["5.7.1 no thanks"]);
}

#[test]
fn smtp_sink_421_and_disconnect() {
    let sink = peer_or_skip!(SmtpSink::builder()
        .reply_421_after(&["RCPT"])
        .disconnect_after(&["DATA"])
        .start());
    let mut c = Conn::connect(sink.addr()).unwrap();
    ehlo(&mut c);
    c.expect("MAIL FROM:<a@b>", 250).unwrap();
    assert_eq!(c.cmd("RCPT TO:<c@d>").unwrap().code, 421);
    assert!(c.read_reply().is_err(), "connection should be closed");

    let mut c = Conn::connect(sink.addr()).unwrap();
    ehlo(&mut c);
    assert!(c.cmd("DATA").is_err(), "closed without a reply");
}

#[test]
fn smtp_sink_speaks_lmtp() {
    let sink = peer_or_skip!(SmtpSink::builder().lmtp(true).dump(true).start());
    let mut c = Conn::connect(sink.addr()).unwrap();
    assert_eq!(c.read_reply().unwrap().code, 220);
    c.expect("LHLO client.test", 250).unwrap();
    c.expect("MAIL FROM:<a@b>", 250).unwrap();
    c.expect("RCPT TO:<c@d>", 250).unwrap();
    c.expect("RCPT TO:<e@f>", 250).unwrap();
    c.expect("DATA", 354).unwrap();
    // LMTP: one reply per accepted recipient after the dot.
    assert_eq!(c.send_data(b"Subject: x\r\n\r\nhi\r\n").unwrap().code, 250);
    assert_eq!(c.read_reply().unwrap().code, 250);
    c.expect("QUIT", 221).unwrap();
    let msgs = sink.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(msgs[0].client_proto, "LMTP");
}

#[test]
fn exim_delivers_byte_exact() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut c = Conn::connect(exim.addr()).unwrap();
    let caps = ehlo(&mut c);
    for kw in ["SIZE", "8BITMIME", "PIPELINING", "CHUNKING", "SMTPUTF8"] {
        assert!(caps.has(kw), "{kw} missing: {caps:?}");
    }
    assert!(!caps.has("STARTTLS") && !caps.has("AUTH"), "{caps:?}");
    send(
        &mut c,
        "a@example.org",
        &["b@example.org", "c@other.test"],
        BODY,
    );
    let msgs = exim.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(msgs.len(), 1, "{}", exim.log());
    assert_eq!(msgs[0].return_path, "a@example.org");
    assert_eq!(msgs[0].envelope_to, ["b@example.org", "c@other.test"]);
    assert_eq!(msgs[0].data, BODY);
}

#[test]
fn exim_chunking_delivers() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut c = Conn::connect(exim.addr()).unwrap();
    ehlo(&mut c);
    c.expect("MAIL FROM:<a@example.org>", 250).unwrap();
    c.expect("RCPT TO:<b@example.org>", 250).unwrap();
    let (one, two) = BODY.split_at(20);
    c.send_raw(format!("BDAT {}\r\n", one.len()).as_bytes())
        .unwrap();
    c.send_raw(one).unwrap();
    assert_eq!(c.read_reply().unwrap().code, 250);
    c.send_raw(format!("BDAT {} LAST\r\n", two.len()).as_bytes())
        .unwrap();
    c.send_raw(two).unwrap();
    assert_eq!(c.read_reply().unwrap().code, 250);
    c.expect("QUIT", 221).unwrap();
    let msgs = exim.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(msgs[0].data, BODY);
}

#[test]
fn exim_rejects_and_tempfails() {
    let exim = peer_or_skip!(Exim::builder().blackhole().size_limit(1000).start());
    let mut c = Conn::connect(exim.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert_eq!(caps.params("SIZE").unwrap(), ["1000"]);
    assert_eq!(c.cmd("MAIL FROM:<reject@x.test>").unwrap().code, 550);
    assert_eq!(c.cmd("MAIL FROM:<tempfail@x.test>").unwrap().code, 451);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test> SIZE=5000").unwrap().code, 552);
    c.expect("MAIL FROM:<a@x.test>", 250).unwrap();
    let r = c.cmd("RCPT TO:<reject-me@x.test>").unwrap();
    assert_eq!(r.code, 550, "{r:?}");
    assert!(r.lines[0].starts_with("5.1.1 "), "{r:?}");
    assert_eq!(c.cmd("RCPT TO:<tempfail@x.test>").unwrap().code, 451);
    c.expect("RCPT TO:<ok@x.test>", 250).unwrap();
    c.expect("DATA", 354).unwrap();
    let r = c
        .send_data(b"X-Testkit-Reject: yes\r\nSubject: x\r\n\r\nhi\r\n")
        .unwrap();
    assert_eq!(r.code, 550, "{r:?}");
    c.expect("MAIL FROM:<a@x.test>", 250).unwrap();
    c.expect("RCPT TO:<ok@x.test>", 250).unwrap();
    c.expect("DATA", 354).unwrap();
    let r = c
        .send_data(b"X-Testkit-Tempfail: yes\r\nSubject: x\r\n\r\nhi\r\n")
        .unwrap();
    assert_eq!(r.code, 451, "{r:?}");
    c.expect("QUIT", 221).unwrap();
}

#[test]
fn exim_auth_and_starttls_are_advertised() {
    let cert = TestCert::generate().unwrap();
    let exim = peer_or_skip!(Exim::builder()
        .auth_user("user", "pa$$ {word}")
        .require_auth(true)
        .tls(cert.cert_path(), cert.key_path())
        .start());
    let mut c = Conn::connect(exim.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert!(caps.has("STARTTLS"), "{caps:?}");
    let mut auth = caps.params("AUTH").unwrap();
    auth.sort();
    assert_eq!(auth, ["CRAM-MD5", "LOGIN", "PLAIN"]);
    assert_eq!(c.cmd("MAIL FROM:<a@b.test>").unwrap().code, 530);
    // AUTH PLAIN with a wrong password, then the right one.
    let bad = b64(b"\0user\0wrong");
    assert_eq!(c.cmd(&format!("AUTH PLAIN {bad}")).unwrap().code, 535);
    let good = b64(b"\0user\0pa$$ {word}");
    assert_eq!(c.cmd(&format!("AUTH PLAIN {good}")).unwrap().code, 235);
    c.expect("MAIL FROM:<a@b.test>", 250).unwrap();
    c.expect("QUIT", 221).unwrap();
    // STARTTLS is answered (the handshake itself is left to TLS clients).
    let mut c = Conn::connect(exim.addr()).unwrap();
    ehlo(&mut c);
    c.expect("STARTTLS", 220).unwrap();
}

#[test]
fn exim_bs_speaks_smtp_on_stdio() {
    let config = peer_or_skip!(Exim::builder().prepare());
    let mut child = config
        .bs_command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n\
Message-ID: <1@b.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@b.test\r\n\r\n\
hi\r\n.\r\nQUIT\r\n",
        )
        .unwrap();
    drop(stdin);
    let out = BufReader::new(child.stdout.take().unwrap());
    let codes: Vec<String> = out
        .lines()
        .map(|l| l.unwrap())
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| l[..3].to_owned())
        .collect();
    assert!(child.wait().unwrap().success());
    assert_eq!(codes, ["220", "250", "250", "250", "354", "250", "221"]);
    let msgs = config.wait_for_messages(1, WAIT).unwrap();
    assert!(msgs[0].data.ends_with(b"\r\n\r\nhi\r\n"), "{:?}", msgs[0]);
}

#[test]
fn aiosmtpd_records_envelope_and_bytes() {
    let srv = peer_or_skip!(Aiosmtpd::builder()
        .auth_user("user", "secret")
        .smtputf8(true)
        .start());
    let mut c = Conn::connect(srv.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert!(caps.has("SMTPUTF8") && caps.has("8BITMIME"), "{caps:?}");
    let mut auth = caps.params("AUTH").unwrap();
    auth.sort();
    assert_eq!(auth, ["LOGIN", "PLAIN"]);
    let r = c
        .cmd(&format!("AUTH PLAIN {}", b64(b"\0user\0secret")))
        .unwrap();
    assert_eq!(r.code, 235, "{r:?}");
    c.expect("MAIL FROM:<a@example.org> BODY=8BITMIME", 250)
        .unwrap();
    assert_eq!(c.cmd("RCPT TO:<reject@example.org>").unwrap().code, 550);
    assert_eq!(c.cmd("RCPT TO:<tempfail@example.org>").unwrap().code, 451);
    c.expect("RCPT TO:<b@example.org>", 250).unwrap();
    c.expect("DATA", 354).unwrap();
    assert_eq!(c.send_data(BODY).unwrap().code, 250);
    c.expect("QUIT", 221).unwrap();
    let msgs = srv.wait_for_messages(1, WAIT).unwrap();
    let m = &msgs[0];
    assert_eq!(m.mail_from, "a@example.org");
    assert_eq!(m.mail_options, ["BODY=8BITMIME"]);
    assert_eq!(m.rcpt_to, ["b@example.org"]);
    assert_eq!(m.auth_login.as_deref(), Some("user"));
    assert_eq!(m.auth_mechanism.as_deref(), Some("PLAIN"));
    assert!(!m.tls);
    assert_eq!(m.data, BODY);
}

/// RFC 4954 6: a wrong password gets 535 (the peer once sent no reply at all).
#[test]
fn aiosmtpd_wrong_password_gets_535() {
    let srv = peer_or_skip!(Aiosmtpd::builder().auth_user("user", "secret").start());
    let mut c = Conn::connect(srv.addr()).unwrap();
    ehlo(&mut c);
    let r = c
        .cmd(&format!("AUTH PLAIN {}", b64(b"\0user\0wrong")))
        .unwrap();
    assert_eq!(r.code, 535, "{r:?}");
    c.expect("QUIT", 221).unwrap();
}

/// `auth_mechanisms` offers exactly what it names: SCRAM instead of, or
/// beside, PLAIN and LOGIN, on a plaintext connection.
#[test]
fn aiosmtpd_offers_chosen_mechanisms() {
    use mailwire_testkit::AiosmtpdMechanism as M;
    for (chosen, want) in [
        (
            &[M::ScramSha256, M::ScramSha1][..],
            &["SCRAM-SHA-1", "SCRAM-SHA-256"][..],
        ),
        (&[M::Plain, M::ScramSha256], &["PLAIN", "SCRAM-SHA-256"]),
    ] {
        let srv = peer_or_skip!(Aiosmtpd::builder()
            .auth_user("user", "pencil")
            .auth_mechanisms(chosen)
            .start());
        let mut c = Conn::connect(srv.addr()).unwrap();
        let mut auth = ehlo(&mut c).params("AUTH").unwrap();
        auth.sort();
        assert_eq!(auth, want);
        c.expect("QUIT", 221).unwrap();
    }
}

/// RFC 5802 3 framed as RFC 4954 4 (334 server-first, 334 server-final, an
/// empty line, 235), driven by hand with mailwire's SCRAM against scramp;
/// the record names the mechanism.
#[test]
fn aiosmtpd_scram_exchange_by_hand() {
    use mailwire::sasl::Mechanism;
    use mailwire::sasl::{decode_challenge, encode_response, Authenticator, Credentials};
    use mailwire::Secret;
    let srv = peer_or_skip!(Aiosmtpd::builder()
        .auth_user("user", "pencil")
        .auth_mechanisms(&[mailwire_testkit::AiosmtpdMechanism::ScramSha256])
        .start());
    let creds = Credentials::Password {
        username: "user".into(),
        password: Secret::new("pencil".into()),
    };
    let mut auth = Authenticator::new(Mechanism::ScramSha256, &creds, &[7; 24]).unwrap();
    let mut c = Conn::connect(srv.addr()).unwrap();
    ehlo(&mut c);
    let first = auth.initial_response().unwrap();
    let line = String::from_utf8(encode_response(first.expose()).expose().clone()).unwrap();
    let mut reply = c.cmd(&format!("AUTH SCRAM-SHA-256 {line}")).unwrap();
    let mut steps = 0;
    while reply.code == 334 {
        let challenge = decode_challenge(reply.lines[0].as_bytes()).unwrap();
        let answer = auth.step(&challenge).unwrap();
        let line = String::from_utf8(encode_response(answer.expose()).expose().clone()).unwrap();
        reply = c.cmd(&line).unwrap();
        steps += 1;
    }
    assert_eq!((reply.code, steps), (235, 2), "{reply:?}");
    auth.finish().unwrap();
    send(&mut c, "a@example.org", &["b@example.org"], BODY);
    let m = &srv.wait_for_messages(1, WAIT).unwrap()[0];
    assert_eq!(m.auth_login.as_deref(), Some("user"));
    assert_eq!(m.auth_mechanism.as_deref(), Some("SCRAM-SHA-256"));
}

#[test]
fn aiosmtpd_offers_starttls() {
    let cert = TestCert::generate().unwrap();
    let srv = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let mut c = Conn::connect(srv.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert!(caps.has("STARTTLS"), "{caps:?}");
    assert!(!caps.has("AUTH"));
    c.expect("STARTTLS", 220).unwrap();
}

/// Standard base64, enough for AUTH PLAIN in these tests.
fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Runs a Python snippet (with the peers' Python) and returns its stdout.
fn python(code: &str, args: &[&str]) -> String {
    let py = Aiosmtpd::python().expect("python");
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// TLS handshakes with the test CA: aiosmtpd implicit TLS (checked as
/// "localhost") and Exim STARTTLS (checked as 127.0.0.1), from Python's ssl.
#[test]
fn tls_handshakes_verify_against_test_ca() {
    let cert = TestCert::generate().unwrap();
    let srv = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .implicit_tls(true)
        .start());
    let exim = peer_or_skip!(Exim::builder()
        .tls(cert.cert_path(), cert.key_path())
        .start());
    let code = r#"
import smtplib, ssl, sys
ca, port, mode, host = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
if mode == "implicit":
    s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=5)
else:
    s = smtplib.SMTP(host, port, timeout=5)
    s.starttls(context=ctx)
code, _ = s.ehlo("client.test")
print(code, s.sock.version())
s.quit()
"#;
    let ca = cert.ca_path().to_str().unwrap();
    let out = python(
        code,
        &[ca, &srv.port().to_string(), "implicit", "localhost"],
    );
    assert!(out.starts_with("250 TLS"), "{out}");
    let out = python(
        code,
        &[ca, &exim.port().to_string(), "starttls", "127.0.0.1"],
    );
    assert!(out.starts_with("250 TLS"), "{out}");
}

#[test]
fn opensmtpd_delivers_and_refuses_pipelining() {
    let srv = peer_or_skip!(OpenSmtpd::builder().size_limit(100_000).start());
    let mut c = Conn::connect(srv.addr()).unwrap();
    let caps = ehlo(&mut c);
    assert_eq!(caps.params("SIZE").unwrap(), ["100000"]);
    for kw in ["8BITMIME", "ENHANCEDSTATUSCODES", "DSN"] {
        assert!(caps.has(kw), "{kw} missing: {caps:?}");
    }
    assert!(!caps.has("PIPELINING") && !caps.has("STARTTLS"), "{caps:?}");
    c.expect("MAIL FROM:<a@example.org>", 250).unwrap();
    assert_eq!(c.cmd("RCPT TO:<reject@example.org>").unwrap().code, 550);
    c.expect("RCPT TO:<b@example.org>", 250).unwrap();
    c.expect("DATA", 354).unwrap();
    assert_eq!(c.send_data(BODY).unwrap().code, 250);
    c.expect("QUIT", 221).unwrap();
    let msgs = srv.wait_for_messages(1, WAIT).unwrap();
    assert_eq!(msgs[0].return_path, "a@example.org");
    assert_eq!(msgs[0].delivered_to, "b@example.org");
    // BODY has From/To/Subject but no Date/Message-ID: OpenSMTPD adds them
    // at the end of the header. Lines are stored with LF.
    let got = String::from_utf8_lossy(&msgs[0].data).into_owned();
    let want = String::from_utf8_lossy(&lf_only(BODY)).into_owned();
    let (want_head, want_body) = want.split_once("\n\n").unwrap();
    let (got_head, got_body) = got.split_once("\n\n").unwrap();
    assert!(got_head.starts_with(want_head), "{got}");
    assert!(got_head.contains("\nMessage-ID: "), "{got}");
    assert_eq!(got_body, want_body);

    // Pipelined commands are refused.
    let mut c = Conn::connect(srv.addr()).unwrap();
    ehlo(&mut c);
    c.send_raw(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n")
        .unwrap();
    let r = c.read_reply().unwrap();
    assert_eq!(r.code, 500, "{r:?}");
}

#[test]
fn smtp_source_loads_smtp_sink() {
    let sink = peer_or_skip!(SmtpSink::builder().counters(true).start());
    let Some(mut cmd) = mailwire_testkit::smtp_source_command() else {
        panic!("smtp-sink is installed but smtp-source is not");
    };
    let st = cmd
        .args(["-s", "2", "-m", "50", "-l", "200", "-d"])
        .arg(sink.addr().to_string())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}
