//! The adapter and `smtp-send` against real servers on 127.0.0.1, started by `mailwire-testkit`:
//! Postfix smtp-sink, aiosmtpd, Exim. A missing server skips its test, or fails it under
//! `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_blocking::mailwire::command::{BodyType, Notify, Ret};
use mailwire_blocking::mailwire::sasl::{Credentials, Mechanism};
use mailwire_blocking::mailwire::{
    AuthConfig, Error, Mailbox, MessageOutcome, Protocol, Rejection, Secret, TlsPolicy, Verdict,
};
use mailwire_blocking::{Client, ClientOptions, Error as BlockingError, Transport};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, Exim, SmtpSink, TestCert};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);
const USER: &str = "tester";
const PASSWORD: &str = "s3cret-Pa55";

fn auth(mechs: &[Mechanism], plaintext: bool) -> AuthConfig {
    let mut a = AuthConfig::new(Credentials::Password {
        username: USER.into(),
        password: Secret::new(PASSWORD.into()),
    });
    a.mechanisms = mechs.to_vec();
    a.allow_plaintext = plaintext;
    a
}

fn tls_options(port: u16, cert: &TestCert) -> ClientOptions {
    let mut o = options(port, T);
    o.config.tls = TlsPolicy::Required;
    o.tls.ca_file = Some(cert.ca_path().to_path_buf());
    o
}

// ----- Postfix smtp-sink -----

/// RFC 2920: three messages pipelined in one session, each arriving intact.
#[test]
fn sink_pipelining_send_many() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    assert!(client.capabilities().unwrap().pipelining);
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("Subject: {i}\r\n\r\n.body {i}\r\n").into_bytes())
        .collect();
    let reports = client.send_many(
        bodies
            .iter()
            .map(|b| (envelope("a@example.org", &["b@example.net"]), b.clone())),
    );
    assert!(
        reports
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{reports:?}"
    );
    client.quit().unwrap();
    let got = sink.wait_for_messages(3, T).unwrap();
    // smtp-sink's files are ordered by time, which may tie: match each body to some message.
    for b in &bodies {
        assert!(
            got.iter().any(|m| m.data.ends_with(&lf(b))),
            "{:?} not received",
            String::from_utf8_lossy(b)
        );
    }
}

/// RFC 5321 without RFC 2920: a server that does not offer PIPELINING (smtp-sink -p) gets one
/// command at a time, and several queued messages still all arrive intact.
#[test]
fn sink_without_pipelining_send_many() {
    let sink = peer_or_skip!(SmtpSink::builder().pipelining(false).dump(true).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    assert!(!client.capabilities().unwrap().pipelining);
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("Subject: np {i}\r\n\r\n.body {i}\r\n").into_bytes())
        .collect();
    let reports = client.send_many(bodies.iter().map(|b| {
        (
            envelope("a@example.org", &["b@example.net", "c@example.net"]),
            b.clone(),
        )
    }));
    assert!(
        reports
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{reports:?}"
    );
    client.quit().unwrap();
    let got = sink.wait_for_messages(3, T).unwrap();
    for b in &bodies {
        assert!(
            got.iter()
                .any(|m| m.data.ends_with(&lf(b)) && m.rcpt_args.len() == 2),
            "{:?} not received with both recipients",
            String::from_utf8_lossy(b)
        );
    }
}

/// RFC 3461 (DSN) and RFC 6152 (8BITMIME): parameters reach the server as sent.
#[test]
fn sink_dsn_and_8bitmime_parameters() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let mut env = envelope("a@example.org", &["b@example.net"]);
    env.params.ret = Some(Ret::Headers);
    env.params.envid = Some("QQ314159".into());
    env.params.body = Some(BodyType::EightBitMime);
    env.recipients[0].params.notify = Some(Notify {
        success: true,
        failure: true,
        delay: false,
    });
    let body = "Subject: 8bit\r\n\r\nGrüße aus Köln\r\n".as_bytes();
    client.send_bytes(env, body).unwrap();
    client.quit().unwrap();
    let m = &sink.wait_for_messages(1, T).unwrap()[0];
    assert!(
        m.mail_args.contains("RET=HDRS") && m.mail_args.contains("ENVID=QQ314159"),
        "{}",
        m.mail_args
    );
    assert!(m.mail_args.contains("BODY=8BITMIME"), "{}", m.mail_args);
    assert!(
        m.rcpt_args[0].contains("NOTIFY=SUCCESS,FAILURE"),
        "{:?}",
        m.rcpt_args
    );
    assert!(m.data.ends_with(&lf(body)));
}

/// smtp-sink stores lines with LF endings.
fn lf(crlf: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(crlf)
        .replace("\r\n", "\n")
        .into_bytes()
}

/// RFC 5321 3.3: every RCPT refused (5yz): the message is refused, no content is sent.
#[test]
fn sink_rejects_every_recipient() {
    let sink = peer_or_skip!(SmtpSink::builder()
        .hard_reject(&["RCPT"])
        .hard_reply("550 5.1.1 no such user")
        .start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let outcome = client
        .send_bytes(
            envelope("a@example.org", &["b@example.net", "c@example.net"]),
            b"x\r\n",
        )
        .unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::Rejected(Rejection::NoValidRecipients)
    );
    assert_eq!(outcome.refused_recipients().count(), 2);
    assert!(!outcome.is_transient());
}

/// A 4yz to MAIL is a transient refusal.
#[test]
fn sink_soft_rejects_mail() {
    let sink = peer_or_skip!(SmtpSink::builder().soft_reject(&["MAIL"]).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let outcome = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap();
    assert!(matches!(
        outcome.verdict,
        Verdict::Rejected(Rejection::Mail(_))
    ));
    assert!(outcome.is_transient());
}

/// The content refused after the final dot.
#[test]
fn sink_rejects_content() {
    let sink = peer_or_skip!(SmtpSink::builder().hard_reject(&["."]).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let outcome = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap();
    assert!(matches!(
        outcome.verdict,
        Verdict::Rejected(Rejection::Content(_))
    ));
    assert_eq!(outcome.final_reply().unwrap().code().get() / 100, 5);
}

/// RFC 5321 3.8: 421 after DATA ends the session, transiently.
#[test]
fn sink_421_after_data() {
    let sink = peer_or_skip!(SmtpSink::builder().reply_421_after(&["DATA"]).start());
    let mut client = Client::connect(options(sink.port(), T)).unwrap();
    let err = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::ServiceClosing { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
}

/// RFC 2033: LMTP, one reply per recipient after the content.
#[test]
fn sink_lmtp_per_recipient_replies() {
    let sink = peer_or_skip!(SmtpSink::builder().lmtp(true).start());
    let mut o = options(sink.port(), T);
    o.config.protocol = Protocol::Lmtp;
    let mut client = Client::connect(o).unwrap();
    let report = client
        .send_bytes(
            envelope("a@example.org", &["b@example.net", "c@example.net"]),
            b"x\r\n",
        )
        .unwrap();
    assert!(report
        .recipients
        .iter()
        .all(|r| r.delivery.as_ref().is_some_and(|d| d.code().get() == 250)));
}

// ----- aiosmtpd -----

/// RFC 4954 with PLAIN and LOGIN (allowed without TLS here), the message checked byte for byte.
#[test]
fn aiosmtpd_auth_plain_and_login() {
    for mech in [Mechanism::Plain, Mechanism::Login] {
        let server = peer_or_skip!(Aiosmtpd::builder()
            .auth_user(USER, PASSWORD)
            .require_auth(true)
            .start());
        let mut o = options(server.port(), T);
        o.config.auth = Some(auth(std::slice::from_ref(&mech), true));
        let mut client = Client::connect(o).unwrap();
        assert_eq!(client.authenticated_mechanism(), Some(&mech));
        let body = b"Subject: auth\r\n\r\n.dot\r\nline\r\n";
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), body)
            .unwrap();
        client.quit().unwrap();
        let m = &server.wait_for_messages(1, T).unwrap()[0];
        assert_eq!(m.auth_login.as_deref(), Some(USER));
        assert_eq!(m.data, body);
    }
}

/// RFC 3207: STARTTLS required, the server's certificate checked against the test CA; AUTH
/// PLAIN inside TLS; the message as received, byte for byte (line ends normalised to CRLF).
#[test]
fn aiosmtpd_starttls_with_test_ca() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .require_starttls(true)
        .auth_user(USER, PASSWORD)
        .start());
    let mut o = tls_options(server.port(), &cert);
    o.config.auth = Some(auth(&[], false));
    let mut client = Client::connect(o).unwrap();
    assert!(client.is_secure());
    assert_eq!(client.authenticated_mechanism(), Some(&Mechanism::Plain));
    let body = b"Subject: tls\nX: y\n\nbare LF\n..two\n.\nend";
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), body)
        .unwrap();
    client.quit().unwrap();
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.data, normalised(body));
}

/// RFC 8446 2.2: connections made from clones of one set of options share one rustls
/// configuration, so a reconnect resumes the TLS session of the connection before it.
/// `tls_info` says so, with the negotiated version and suite and the chain aiosmtpd presents
/// (its certificate, then the CA's: the file it was given) byte for byte; the probe reports
/// the same; a plaintext session has none.
#[test]
fn aiosmtpd_reconnect_resumes_tls_and_tls_info_gives_the_chain() {
    use mailwire_blocking::rustls::{HandshakeKind, ProtocolVersion};
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let o = tls_options(server.port(), &cert);
    let mut infos = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(o.clone()).unwrap();
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
            .unwrap();
        infos.push(client.tls_info().expect("a TLS session"));
        client.quit().unwrap();
    }
    for info in &infos {
        assert_eq!(info.protocol_version, ProtocolVersion::TLSv1_3);
        assert_eq!(info.version_name(), "TLSv1.3");
        assert!(info.cipher_suite_name().starts_with("TLS_"), "{info:?}");
    }
    assert_eq!(infos[0].handshake_kind, HandshakeKind::Full);
    assert_eq!(infos[1].handshake_kind, HandshakeKind::Resumed);
    let chain: Vec<&[u8]> = infos[0]
        .peer_certificates
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(chain, [cert.cert_der(), cert.ca_der()]);

    let report = mailwire_blocking::probe(
        o.clone(),
        mailwire_blocking::ProbeUntil::Milestone(mailwire_blocking::mailwire::Milestone::Tls),
    )
    .unwrap();
    let probed = report.tls_info.expect("the probe's TLS session");
    assert_eq!(probed.peer_certificates, infos[0].peer_certificates);

    let mut plain = o;
    plain.config.tls = TlsPolicy::Never;
    let client = Client::connect(plain).unwrap();
    assert!(client.tls_info().is_none());
    client.quit().unwrap();
}

/// `send_mail`: one call connects, sends, says QUIT; the outcome as the server decided it
/// (a refused recipient is an outcome, not an error); nothing listening is a connect error.
#[test]
fn aiosmtpd_send_mail_in_one_call() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let mut o = options(server.port(), T);
    o.config.tls = TlsPolicy::Never;
    let outcome = mailwire_blocking::send_mail(
        o.clone(),
        envelope("a@example.org", &["b@example.net", "reject-me@example.net"]),
        b"Subject: once\r\n\r\n.one call\r\n",
    )
    .unwrap();
    assert!(outcome.is_accepted());
    let accepted: Vec<bool> = outcome.recipients.iter().map(|r| r.is_accepted()).collect();
    assert_eq!(accepted, [true, false]);
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.rcpt_to, ["b@example.net"]);
    assert_eq!(m.data, b"Subject: once\r\n\r\n.one call\r\n");
    assert!(
        m.mail_options.iter().any(|p| p.starts_with("SIZE=")),
        "{:?}",
        m.mail_options
    );
    let mut nowhere = o;
    nowhere.port = mailwire_testkit::free_port();
    let e =
        mailwire_blocking::send_mail(nowhere, envelope("a@example.org", &["b@example.net"]), b"x")
            .unwrap_err();
    assert!(matches!(e, BlockingError::Connect { .. }), "{e:?}");
}

/// RFC 8314: implicit TLS to aiosmtpd, by host name `localhost`.
#[test]
fn aiosmtpd_implicit_tls() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .implicit_tls(true)
        .start());
    let mut o = tls_options(server.port(), &cert);
    o.host = "localhost".into();
    o.config.implicit_tls = true;
    let mut client = Client::connect(o).unwrap();
    assert!(client.is_secure());
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
        .unwrap();
    client.quit().unwrap();
    // (aiosmtpd records `tls` only for STARTTLS sessions, so it is not checked here.)
    assert_eq!(server.wait_for_messages(1, T).unwrap()[0].data, b"hi\r\n");
}

/// The wrong CA: the handshake fails on the certificate, nothing is sent.
#[test]
fn aiosmtpd_untrusted_certificate() {
    let cert = TestCert::generate().unwrap();
    let other = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let err = Client::connect(tls_options(server.port(), &other)).unwrap_err();
    assert!(
        matches!(
            &err,
            BlockingError::Session { cause: Some(cause), .. }
                if matches!(&**cause, Transport::Tls(mailwire_blocking::TlsError::Rustls(_)))
        ),
        "{err:?}"
    );
}

// ----- Exim -----

/// RFC 2195: with no TLS and plaintext mechanisms not allowed, CRAM-MD5 is the strongest
/// usable mechanism.
#[test]
fn exim_auth_cram_md5() {
    let exim = peer_or_skip!(Exim::builder()
        .auth_user(USER, PASSWORD)
        .require_auth(true)
        .start());
    let mut o = options(exim.port(), T);
    o.config.auth = Some(auth(&[], false));
    let mut client = Client::connect(o).unwrap();
    assert_eq!(client.authenticated_mechanism(), Some(&Mechanism::CramMd5));
    client
        .send_bytes(
            envelope("a@example.org", &["b@example.net"]),
            b"Subject: cram\r\n\r\nok\r\n",
        )
        .unwrap();
    client.quit().unwrap();
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(b"\r\n\r\nok\r\n"));
}

/// RFC 3030: Exim offers CHUNKING, so the content goes as BDAT; a body over one chunk (64 KiB)
/// arrives intact, dots unstuffed-free (BDAT never stuffs).
#[test]
fn exim_chunking_large_body() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut client = Client::connect(options(exim.port(), T)).unwrap();
    assert!(
        client.capabilities().unwrap().chunking,
        "Exim should offer CHUNKING"
    );
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..5000 {
        body.extend_from_slice(
            format!(".{i} a line of text that starts with a dot\r\n").as_bytes(),
        );
    }
    client
        .send(envelope("a@example.org", &["b@example.net"]), &body[..])
        .unwrap();
    client.quit().unwrap();
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(&body[16..]), "content differs");
}

/// RFC 6531: a UTF-8 address makes the session send SMTPUTF8; Exim takes it.
#[test]
fn exim_smtputf8_address() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut client = Client::connect(options(exim.port(), T)).unwrap();
    assert!(
        client.capabilities().unwrap().smtputf8,
        "Exim should offer SMTPUTF8"
    );
    let env = mailwire_blocking::mailwire::Envelope::new(
        Some(Mailbox::parse("jösé@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    );
    client
        .send_bytes(env, "Subject: utf8\r\n\r\nü\r\n".as_bytes())
        .unwrap();
    client.quit().unwrap();
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.return_path, "jösé@example.org");
}

/// RFC 3207 with Exim's STARTTLS and the test CA, then AUTH PLAIN under TLS.
#[test]
fn exim_starttls_then_auth() {
    let cert = TestCert::generate().unwrap();
    let exim = peer_or_skip!(Exim::builder()
        .tls(cert.cert_path(), cert.key_path())
        .auth_user(USER, PASSWORD)
        .start());
    let mut o = tls_options(exim.port(), &cert);
    o.config.auth = Some(auth(&[Mechanism::Plain], false));
    let mut client = Client::connect(o).unwrap();
    assert!(client.is_secure());
    assert_eq!(client.authenticated_mechanism(), Some(&Mechanism::Plain));
    let body = b"Subject: exim tls\r\n\r\n..x\r\n";
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), body)
        .unwrap();
    client.quit().unwrap();
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(b"\r\n\r\n..x\r\n"));
}

/// Exim's policy: a refused recipient, a temporarily refused sender, refused content; across
/// several messages in one session (BDAT with RSET between refused transactions).
#[test]
fn exim_refusals_across_messages() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut client = Client::connect(options(exim.port(), T)).unwrap();
    let reports = client.send_many([
        (
            envelope("a@example.org", &["ok@example.net", "reject@example.net"]),
            b"Subject: 1\r\n\r\n1\r\n".to_vec(),
        ),
        (
            envelope("tempfail@example.org", &["ok@example.net"]),
            b"Subject: 2\r\n\r\n2\r\n".to_vec(),
        ),
        (
            envelope("a@example.org", &["ok@example.net"]),
            b"X-Testkit-Reject: yes\r\n\r\n3\r\n".to_vec(),
        ),
        (
            envelope("a@example.org", &["ok@example.net"]),
            b"Subject: 4\r\n\r\n4\r\n".to_vec(),
        ),
    ]);
    let reports: Vec<MessageOutcome> = reports.into_iter().map(Result::unwrap).collect();
    assert!(
        reports[0].is_accepted() && !reports[0].is_fully_accepted(),
        "{:?}",
        reports[0]
    );
    assert!(
        matches!(&reports[1].verdict, Verdict::Rejected(Rejection::Mail(r)) if r.is_transient()),
        "{:?}",
        reports[1]
    );
    assert!(
        matches!(&reports[2].verdict, Verdict::Rejected(Rejection::Content(r)) if r.is_permanent()),
        "{:?}",
        reports[2]
    );
    assert!(reports[3].is_fully_accepted(), "{:?}", reports[3]);
    client.quit().unwrap();
    assert_eq!(exim.wait_for_messages(2, T).unwrap().len(), 2);
}

/// smtp-sink `-A`: 550 in the middle of the content. That refusal is the message's outcome
/// (with the server's reply), not a broken write or a connection failure.
#[test]
fn sink_refuses_mid_content() {
    let sink = peer_or_skip!(SmtpSink::builder().abort_after_data(1).start());
    let mut client = Client::connect(options(sink.port(), Duration::from_secs(3))).unwrap();
    let body = vec![b'y'; 64 * 1024 * 1024];
    let outcome = client
        .send(envelope("a@example.org", &["b@example.net"]), &body[..])
        .unwrap();
    let Verdict::Rejected(rejection) = &outcome.verdict else {
        panic!("{outcome:?}")
    };
    assert_eq!(rejection.reply().map(|r| r.code().get()), Some(550));
    assert!(!outcome.is_transient());
}
