//! The adapter against the same real servers on 127.0.0.1 as `mailwire-blocking`, started by
//! `mailwire-testkit`: Postfix smtp-sink (1,000 pipelined messages), aiosmtpd (STARTTLS, implicit
//! TLS, AUTH PLAIN and SCRAM by Python's scramp, an untrusted certificate), Exim (CRAM-MD5,
//! CHUNKING, SMTPUTF8, SIZE), a whole Postfix (XCLIENT, ETRN). A missing server skips its test, or fails it under
//! `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_testkit::{peer_or_skip, Aiosmtpd, AiosmtpdMechanism, Exim, SmtpSink, TestCert};
use mailwire_tokio::mailwire::sasl::{Credentials, Mechanism};
use mailwire_tokio::mailwire::{
    AuthConfig, Class, Envelope, Mailbox, MessageOutcome, Secret, TlsPolicy, Unsendable,
    UsageError, Verdict,
};
use mailwire_tokio::{Client, ClientOptions, Error, TlsError, Transport};
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

/// smtp-sink stores lines with LF endings.
fn lf(crlf: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(crlf)
        .replace("\r\n", "\n")
        .into_bytes()
}

/// RFC 2920: 1,000 messages queued at once over one connection with PIPELINING: one outcome
/// each, in order, all accepted, and smtp-sink stores all 1,000, each intact.
#[test]
fn sink_send_many_1000_pipelined() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let bodies: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("Subject: {i}\r\n\r\n.body {i}\r\n").into_bytes())
        .collect();
    let outcomes = runtime().block_on(async {
        let mut client = Client::connect(options(sink.port(), T)).await.unwrap();
        assert!(client.capabilities().unwrap().pipelining);
        let outcomes = client
            .send_many(
                bodies
                    .iter()
                    .map(|b| (envelope("a@example.org", &["b@example.net"]), b.clone())),
            )
            .await;
        client.quit().await.unwrap();
        outcomes
    });
    assert_eq!(outcomes.len(), 1000);
    assert!(
        outcomes
            .iter()
            .all(|r| r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted)),
        "{:?}",
        outcomes
            .iter()
            .find(|r| !r.as_ref().is_ok_and(MessageOutcome::is_fully_accepted))
    );
    let got = sink.wait_for_messages(1000, T).unwrap();
    assert_eq!(got.len(), 1000);
    let mut stored: Vec<Vec<u8>> = got.into_iter().map(|m| m.data).collect();
    let mut sent: Vec<Vec<u8>> = bodies.iter().map(|b| lf(b)).collect();
    stored.sort();
    sent.sort();
    assert!(
        stored.iter().zip(&sent).all(|(s, b)| s.ends_with(b)),
        "contents differ"
    );
}

/// smtp-sink `-A`: 550 in the middle of a streamed content: the refusal is the message's
/// outcome, with the server's reply.
#[test]
fn sink_refuses_mid_content() {
    let sink = peer_or_skip!(SmtpSink::builder().abort_after_data(1).start());
    let outcome = runtime().block_on(async {
        let mut client = Client::connect(options(sink.port(), Duration::from_secs(3)))
            .await
            .unwrap();
        let body = vec![b'y'; 64 * 1024 * 1024];
        client
            .send(envelope("a@example.org", &["b@example.net"]), &body[..])
            .await
            .unwrap()
    });
    let Verdict::Rejected(rejection) = &outcome.verdict else {
        panic!("{outcome:?}")
    };
    assert_eq!(rejection.reply().map(|r| r.code().get()), Some(550));
    assert_eq!(outcome.class(), Class::Permanent);
}

/// RFC 3207: STARTTLS required, the certificate checked against the test CA; AUTH PLAIN inside
/// TLS; the message as received, byte for byte (line ends normalised to CRLF).
#[test]
fn aiosmtpd_starttls_then_auth_plain() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .require_starttls(true)
        .auth_user(USER, PASSWORD)
        .start());
    let body = b"Subject: tls\nX: y\n\nbare LF\n..two\n.\nend";
    runtime().block_on(async {
        let mut o = tls_options(server.port(), &cert);
        o.config.auth = Some(auth(&[], false));
        let mut client = Client::connect(o).await.unwrap();
        assert!(client.is_secure());
        assert_eq!(client.authenticated_mechanism(), Some(&Mechanism::Plain));
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), body)
            .await
            .unwrap();
        client.quit().await.unwrap();
    });
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.auth_login.as_deref(), Some(USER));
    assert_eq!(m.data, normalised(body));
}

/// RFC 7677 and RFC 5802: SCRAM-SHA-256 and SCRAM-SHA-1 against aiosmtpd with scramp, over
/// plain TCP (the password never crosses the wire; the server's signature is verified).
#[test]
fn aiosmtpd_scram() {
    for want in [Mechanism::ScramSha256, Mechanism::ScramSha1] {
        let server = peer_or_skip!(Aiosmtpd::builder()
            .auth_user(USER, PASSWORD)
            .auth_mechanisms(&[
                AiosmtpdMechanism::Plain,
                AiosmtpdMechanism::ScramSha1,
                AiosmtpdMechanism::ScramSha256,
            ])
            .require_auth(true)
            .start());
        let body = format!("Subject: {want}\r\n\r\nsent after {want}\r\n");
        runtime().block_on(async {
            let mut o = options(server.port(), T);
            o.config.auth = Some(auth(std::slice::from_ref(&want), false));
            let mut client = Client::connect(o).await.unwrap();
            assert_eq!(client.authenticated_mechanism(), Some(&want));
            client
                .send_bytes(
                    envelope("a@example.org", &["b@example.net"]),
                    body.as_bytes(),
                )
                .await
                .unwrap();
            client.quit().await.unwrap();
        });
        let m = &server.wait_for_messages(1, T).unwrap()[0];
        assert_eq!(m.auth_login.as_deref(), Some(USER));
        assert_eq!(m.data, body.as_bytes());
    }
}

/// `tls_info`: version, suite, full then resumed, and the chain aiosmtpd presents, byte for
/// byte, as the blocking adapter gives them; the probe reports the same.
#[test]
fn aiosmtpd_tls_info_gives_the_session_and_the_chain() {
    use mailwire_tokio::rustls::{HandshakeKind, ProtocolVersion};
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let o = tls_options(server.port(), &cert);
    let (infos, probed) = runtime().block_on(async {
        let mut infos = Vec::new();
        for _ in 0..2 {
            let mut client = Client::connect(o.clone()).await.unwrap();
            client
                .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
                .await
                .unwrap();
            infos.push(client.tls_info().expect("a TLS session"));
            client.quit().await.unwrap();
        }
        let report = mailwire_tokio::probe(
            o.clone(),
            mailwire_tokio::ProbeUntil::Milestone(mailwire_tokio::mailwire::Milestone::Tls),
        )
        .await
        .unwrap();
        (infos, report.tls_info)
    });
    assert_eq!(infos[0].protocol_version, ProtocolVersion::TLSv1_3);
    assert_eq!(infos[0].handshake_kind, HandshakeKind::Full);
    assert_eq!(infos[1].handshake_kind, HandshakeKind::Resumed);
    let chain: Vec<&[u8]> = infos[0]
        .peer_certificates
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(chain, [cert.cert_der(), cert.ca_der()]);
    assert_eq!(
        probed.unwrap().peer_certificates,
        infos[0].peer_certificates
    );
}

/// `ClientOptions::proxy_header`: the PROXY header goes first, before the greeting and
/// STARTTLS, and aiosmtpd (expecting one) records what it announced: the given source, the
/// server's own address as destination; version 2 with the connection's own ends.
#[test]
fn aiosmtpd_proxy_header_before_the_greeting_and_starttls() {
    use mailwire_tokio::{ProxyHeader, ProxyVersion};
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .proxy_protocol(true)
        .start());
    let given: std::net::SocketAddr = "198.51.100.20:2020".parse().unwrap();
    let server_addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    runtime().block_on(async {
        for (i, header) in [
            ProxyHeader {
                source: Some(given),
                ..ProxyHeader::new(ProxyVersion::V1)
            },
            ProxyHeader::new(ProxyVersion::V2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut o = tls_options(server.port(), &cert);
            o.proxy_header = Some(header);
            let mut client = Client::connect(o).await.unwrap();
            let to = format!("r{i}@example.net");
            let outcome = client
                .send_bytes(envelope("a@example.org", &[&to]), b"hi\r\n")
                .await
                .unwrap();
            assert!(outcome.is_accepted(), "{outcome:?}");
            client.quit().await.unwrap();
        }
    });
    let stored = server.wait_for_messages(2, T).unwrap();
    let of = |i: usize| {
        stored
            .iter()
            .find(|m| m.rcpt_to == [format!("r{i}@example.net")])
            .unwrap()
    };
    let p = of(0).proxy.clone().unwrap();
    assert!(of(0).tls);
    assert_eq!(
        (p.version, p.source, p.destination),
        (1, Some(given), Some(server_addr))
    );
    let p = of(1).proxy.clone().unwrap();
    assert_eq!(
        (p.version, p.source, p.destination),
        (2, of(1).peer, Some(server_addr))
    );
}

/// `send_mail`: one call connects, sends, says QUIT, as the blocking one does.
#[test]
fn aiosmtpd_send_mail_in_one_call() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let mut o = options(server.port(), T);
    o.config.tls = TlsPolicy::Never;
    let (outcome, refused) = runtime().block_on(async {
        let outcome = mailwire_tokio::send_mail(
            o.clone(),
            envelope("a@example.org", &["b@example.net", "reject-me@example.net"]),
            b"Subject: once\r\n\r\n.one call\r\n",
        )
        .await
        .unwrap();
        let mut nowhere = o;
        nowhere.port = mailwire_testkit::free_port();
        let refused =
            mailwire_tokio::send_mail(nowhere, envelope("a@example.org", &["b@example.net"]), b"x")
                .await;
        (outcome, refused)
    });
    let accepted: Vec<bool> = outcome.recipients.iter().map(|r| r.is_accepted()).collect();
    assert_eq!(accepted, [true, false]);
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.data, b"Subject: once\r\n\r\n.one call\r\n");
    assert!(matches!(refused, Err(Error::Connect { .. })), "{refused:?}");
}

/// RFC 8314: implicit TLS to aiosmtpd, by host name `localhost`.
#[test]
fn aiosmtpd_implicit_tls() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .implicit_tls(true)
        .start());
    runtime().block_on(async {
        let mut o = tls_options(server.port(), &cert);
        o.host = "localhost".into();
        o.config.implicit_tls = true;
        let mut client = Client::connect(o).await.unwrap();
        assert!(client.is_secure());
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
            .await
            .unwrap();
        client.quit().await.unwrap();
    });
    assert_eq!(server.wait_for_messages(1, T).unwrap()[0].data, b"hi\r\n");
}

/// The wrong CA: rustls refuses the handshake (`handle_tls_failed`: a security failure), and
/// nothing is sent.
#[test]
fn aiosmtpd_untrusted_certificate() {
    let cert = TestCert::generate().unwrap();
    let other = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .start());
    let err = runtime()
        .block_on(Client::connect(tls_options(server.port(), &other)))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Session { cause: Some(cause), .. }
                if matches!(&**cause, Transport::Tls(TlsError::Rustls(_)))
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Security);
}

/// RFC 2195: with no TLS and plaintext mechanisms not allowed, CRAM-MD5 is the strongest usable
/// mechanism Exim offers.
#[test]
fn exim_auth_cram_md5() {
    let exim = peer_or_skip!(Exim::builder()
        .auth_user(USER, PASSWORD)
        .require_auth(true)
        .start());
    runtime().block_on(async {
        let mut o = options(exim.port(), T);
        o.config.auth = Some(auth(&[], false));
        let mut client = Client::connect(o).await.unwrap();
        assert_eq!(client.authenticated_mechanism(), Some(&Mechanism::CramMd5));
        client
            .send_bytes(
                envelope("a@example.org", &["b@example.net"]),
                b"Subject: cram\r\n\r\nok\r\n",
            )
            .await
            .unwrap();
        client.quit().await.unwrap();
    });
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(b"\r\n\r\nok\r\n"));
}

/// RFC 3030: Exim offers CHUNKING, so a streamed content over several chunks goes as BDAT and
/// arrives intact (BDAT never dot-stuffs).
#[test]
fn exim_chunking_streamed_body() {
    let exim = peer_or_skip!(Exim::builder().start());
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..5000 {
        body.extend_from_slice(
            format!(".{i} a line of text that starts with a dot\r\n").as_bytes(),
        );
    }
    runtime().block_on(async {
        let mut client = Client::connect(options(exim.port(), T)).await.unwrap();
        assert!(client.capabilities().unwrap().chunking);
        client
            .send(envelope("a@example.org", &["b@example.net"]), &body[..])
            .await
            .unwrap();
        client.quit().await.unwrap();
    });
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(&body[16..]), "content differs");
}

/// RFC 6531: a UTF-8 address makes the session send SMTPUTF8; Exim takes it.
#[test]
fn exim_smtputf8_address() {
    let exim = peer_or_skip!(Exim::builder().start());
    runtime().block_on(async {
        let mut client = Client::connect(options(exim.port(), T)).await.unwrap();
        assert!(client.capabilities().unwrap().smtputf8);
        let env = Envelope::new(
            Some(Mailbox::parse("jösé@example.org").unwrap()),
            [Mailbox::parse("b@example.net").unwrap()],
        );
        client
            .send_bytes(env, "Subject: utf8\r\n\r\nü\r\n".as_bytes())
            .await
            .unwrap();
        client.quit().await.unwrap();
    });
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.return_path, "jösé@example.org");
}

/// RFC 1870: `send_file` measures the file first, so a file over Exim's SIZE is refused before
/// its MAIL goes (`Unsendable`: its RFC 1870 size counts CRLF line ends), and one under it is
/// sent with `SIZE=` declared.
#[test]
fn exim_send_file_declares_size() {
    let exim = peer_or_skip!(Exim::builder().size_limit(2000).start());
    let dir = std::env::temp_dir().join(format!("mailwire-tokio-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (small, large) = (dir.join("small.eml"), dir.join("large.eml"));
    std::fs::write(&small, b"Subject: small\r\n\r\nok\r\n").unwrap();
    std::fs::write(&large, vec![b'z'; 3000]).unwrap();
    runtime().block_on(async {
        let mut client = Client::connect(options(exim.port(), T)).await.unwrap();
        // The capabilities are known, so the call itself is refused (nothing sent).
        let refused = client
            .send_file(envelope("a@example.org", &["b@example.net"]), &large)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                Error::Usage(UsageError::Unsendable(Unsendable::TooLarge {
                    size: 3002,
                    limit: 2000
                }))
            ),
            "{refused:?}"
        );
        assert_eq!(refused.class(), Class::Permanent);
        let sent = client
            .send_file(envelope("a@example.org", &["b@example.net"]), &small)
            .await
            .unwrap();
        assert!(sent.is_fully_accepted(), "{sent:?}");
        client.quit().await.unwrap();
    });
    let m = &exim.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.ends_with(b"\r\n\r\nok\r\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// XCLIENT (Postfix's `XCLIENT_README`) and ETRN (RFC 1985) to a whole Postfix: it answers
/// XCLIENT with 220 and starts over, and the message it holds carries the client XCLIENT named;
/// ETRN for a domain it flushes says 250, for another 459.
#[test]
fn postfix_xclient_and_etrn() {
    use mailwire_testkit::Postfix;
    use mailwire_tokio::mailwire::Xclient;
    let postfix = peer_or_skip!(Postfix::builder()
        .main_config("fast_flush_domains = example.org")
        .start());
    let flusher = peer_or_skip!(Postfix::builder()
        .main_config("smtpd_client_restrictions =")
        .main_config("fast_flush_domains = example.org")
        .start());
    runtime().block_on(async {
        let mut o = options(postfix.port(), T);
        o.config.xclient = Some(
            Xclient::new()
                .attribute("NAME", "relay.example")
                .unwrap()
                .attribute("ADDR", "10.1.2.3")
                .unwrap(),
        );
        let mut client = Client::connect(o).await.unwrap();
        let outcome = client
            .send_bytes(
                envelope("a@example.org", &["b@example.net"]),
                b"Subject: x\r\n\r\nhi\r\n",
            )
            .await
            .unwrap();
        assert!(outcome.is_accepted(), "{outcome:?}");
        client.quit().await.unwrap();

        let mut client = Client::connect(options(flusher.port(), T)).await.unwrap();
        assert_eq!(client.etrn("example.org").await.unwrap().code().get(), 250);
        assert_eq!(client.etrn("example.net").await.unwrap().code().get(), 459);
        client.quit().await.unwrap();
    });
    let held = postfix.wait_for_held(1, T).unwrap();
    assert_eq!(held[0].attribute("client_address"), Some("10.1.2.3"));
    assert_eq!(held[0].attribute("client_name"), Some("relay.example"));
}
