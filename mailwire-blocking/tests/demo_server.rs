//! The library against the embedded demo server: a real (if small) SMTP server on 127.0.0.1.

mod support;

use mailwire_blocking::demo_server::{DemoServer, DEMO_PASSWORD, DEMO_USER};
use mailwire_blocking::mailwire::sasl::{Credentials, Mechanism};
use mailwire_blocking::mailwire::{
    AuthConfig, Error, MessageOutcome, Rejection, Secret, Unsendable, UsageError, Verdict,
};
use mailwire_blocking::{Client, Error as BlockingError};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(10);

fn auth(user: &str, pass: &str, mechs: &[Mechanism]) -> AuthConfig {
    let mut a = AuthConfig::new(Credentials::Password {
        username: user.into(),
        password: Secret::new(pass.into()),
    });
    a.mechanisms = mechs.to_vec();
    a.allow_plaintext = true;
    a
}

/// RFC 5321 4.5.2: content is dot-stuffed on the wire and unstuffed by the server; line ends
/// leave as CRLF (2.3.8). The server must store exactly the normalised content.
#[test]
fn content_arrives_byte_for_byte_after_dot_stuffing() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let body = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare LF\nbare CR\rlast line no EOL";
    let report = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), body)
        .unwrap();
    assert!(report.is_fully_accepted());
    assert_eq!(report.final_reply().unwrap().code().get(), 250);
    client.quit().unwrap();
    let got = server.wait_for(1, T);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, normalised(body));
    // RFC 1870 6: the declared size is the size of what the server stored.
    assert_eq!(
        got[0].mail_from,
        format!("<a@example.org> SIZE={}", normalised(body).len())
    );
    assert_eq!(got[0].rcpt_to, vec!["<b@example.net>".to_string()]);
}

/// The body is streamed from a reader in chunks: a multi-megabyte body with lines starting
/// with dots, in chunks that split CRLF pairs, arrives intact.
#[test]
fn large_body_streamed_from_reader() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..60_000 {
        body.extend_from_slice(
            format!(".line {i} with a leading dot and some padding text\r\n").as_bytes(),
        );
    }
    assert!(body.len() > 3_000_000);
    /// A reader that returns odd-sized pieces, like a pipe.
    struct Dribble<'a>(&'a [u8], usize);
    impl std::io::Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 += 1;
            let n = buf
                .len()
                .min(self.0.len())
                .min(1 + (self.1 * 7919) % 50_000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let report = client
        .send(
            envelope("a@example.org", &["b@example.net"]),
            Dribble(&body, 0),
        )
        .unwrap();
    assert!(report.is_accepted());
    client.quit().unwrap();
    let got = server.wait_for(1, T);
    assert_eq!(got[0].content.len(), body.len());
    assert!(got[0].content == body, "content differs");
}

/// RFC 5321 3.3: a refused RCPT does not stop the transaction; the message is accepted for
/// the others, and the report names the refused one with its reply.
#[test]
fn partial_recipients_reported() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let env = envelope(
        "a@example.org",
        &["ok@example.net", "reject-me@example.net", "ok2@example.net"],
    );
    let report = client.send_bytes(env, b"Subject: x\r\n\r\nhi\r\n").unwrap();
    assert!(report.is_accepted());
    assert!(!report.is_fully_accepted());
    let refused: Vec<_> = report.refused_recipients().collect();
    assert_eq!(refused.len(), 1);
    let (index, recipient) = refused[0];
    assert_eq!(
        report.envelope.recipients[index].address.as_str(),
        "reject-me@example.net"
    );
    assert_eq!(recipient.reply().unwrap().code().get(), 550);
    assert!(report.recipients[0].is_accepted());
    assert_eq!(server.wait_for(1, T)[0].rcpt_to.len(), 2);
}

/// RFC 5321 3.3 / RFC 2920 3.1: with every recipient refused, the message is refused as a
/// whole (no content is sent); a 4yz refusal is reported as transient.
#[test]
fn all_recipients_refused_is_rejected() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let outcome = client
        .send_bytes(envelope("a@example.org", &["reject@example.net"]), b"x\r\n")
        .unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::Rejected(Rejection::NoValidRecipients)
    );
    assert!(!outcome.is_transient());
    let outcome = client
        .send_bytes(envelope("a@example.org", &["defer@example.net"]), b"x\r\n")
        .unwrap();
    assert!(outcome.is_transient(), "{outcome:?}");
    // The session goes on after refused messages.
    let ok = client
        .send_bytes(envelope("a@example.org", &["c@example.net"]), b"x\r\n")
        .unwrap();
    assert!(ok.is_fully_accepted());
    assert_eq!(server.wait_for(1, T).len(), 1);
}

/// RFC 2920: several messages queued at once, each with its own report, in order.
#[test]
fn send_many_reports_each_message() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let reports = client.send_many([
        (
            envelope("a@example.org", &["one@example.net"]),
            b"Subject: 1\r\n\r\none\r\n".to_vec(),
        ),
        (
            envelope("a@example.org", &["reject@example.net"]),
            b"Subject: 2\r\n\r\ntwo\r\n".to_vec(),
        ),
        (
            envelope(
                "a@example.org",
                &["three@example.net", "reject2@example.net"],
            ),
            b"Subject: 3\r\n\r\n.3\r\n".to_vec(),
        ),
    ]);
    assert_eq!(reports.len(), 3);
    let reports: Vec<MessageOutcome> = reports.into_iter().map(Result::unwrap).collect();
    assert!(reports[0].is_fully_accepted());
    assert!(matches!(reports[1].verdict, Verdict::Rejected(_)));
    assert!(reports[2].is_accepted() && !reports[2].is_fully_accepted());
    client.quit().unwrap();
    let got = server.wait_for(2, T);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].content, b"Subject: 1\r\n\r\none\r\n");
    assert_eq!(got[1].content, b"Subject: 3\r\n\r\n.3\r\n");
}

/// RFC 4954 / RFC 4616: AUTH PLAIN, and LOGIN when restricted to it.
#[test]
fn auth_plain_and_login() {
    for mech in [Mechanism::Plain, Mechanism::Login] {
        let server = DemoServer::start().unwrap();
        let mut o = options(server.port(), T);
        o.config.auth = Some(auth(DEMO_USER, DEMO_PASSWORD, std::slice::from_ref(&mech)));
        let mut client = Client::connect(o).unwrap();
        client
            .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
            .unwrap();
        client.quit().unwrap();
        assert_eq!(
            server.wait_for(1, T)[0].authenticated_as.as_deref(),
            Some(DEMO_USER),
            "{mech:?}"
        );
    }
}

/// RFC 4954 6: 535 ends the session with an authentication error naming the reply.
#[test]
fn wrong_password_fails_connect() {
    let server = DemoServer::start().unwrap();
    let mut o = options(server.port(), T);
    o.config.auth = Some(auth(DEMO_USER, "wrong", &[]));
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(&err, BlockingError::Session { error: Error::AuthFailed(r), .. } if r.code().get() == 535),
        "{err:?}"
    );
}

/// Plaintext mechanisms are refused on a connection without TLS unless allowed.
#[test]
fn plaintext_auth_refused_without_tls() {
    let server = DemoServer::start().unwrap();
    let mut o = options(server.port(), T);
    let mut a = auth(DEMO_USER, DEMO_PASSWORD, &[]);
    a.allow_plaintext = false;
    o.config.auth = Some(a);
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::NoUsableMechanism,
                ..
            }
        ),
        "{err:?}"
    );
}

/// RFC 3207 4: with STARTTLS required and not offered, nothing is sent past EHLO.
#[test]
fn starttls_required_but_not_offered() {
    let server = DemoServer::start().unwrap();
    let mut o = options(server.port(), T);
    o.config.tls = mailwire_blocking::mailwire::TlsPolicy::Required;
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::TlsNotOffered,
                ..
            }
        ),
        "{err:?}"
    );
    // Opportunistic goes on in plaintext.
    let mut o = options(server.port(), T);
    o.config.tls = mailwire_blocking::mailwire::TlsPolicy::Opportunistic;
    let client = Client::connect(o).unwrap();
    assert!(!client.is_secure());
}

/// NOOP and VRFY return the server's reply as is.
#[test]
fn noop_and_verify() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    assert_eq!(client.noop().unwrap().code().get(), 250);
    assert_eq!(client.verify("someone").unwrap().code().get(), 252);
    assert!(client.capabilities().unwrap().pipelining);
    client.quit().unwrap();
}

/// A message over the server's SIZE is refused before anything is sent (RFC 1870 6.1).
#[test]
fn declared_size_over_limit_is_refused_locally() {
    let server = DemoServer::start().unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let mut env = envelope("a@example.org", &["b@example.net"]);
    env.params.size = Some(50 * 1024 * 1024);
    let err = client.send_bytes(env, b"x\r\n").unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Usage(UsageError::Unsendable(Unsendable::TooLarge { .. }))
        ),
        "{err:?}"
    );
    // The session is still usable.
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap();
}
