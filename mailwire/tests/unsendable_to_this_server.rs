//! A message that asks for what this server cannot give (an extension it does not offer, TLS
//! the connection lacks, more octets than its SIZE) is never sent to it, whichever way the
//! session learns that:
//!
//! - the capabilities are known when the message is given: `send_message` refuses it with
//!   `UsageError::Unsendable`, and nothing is queued or sent;
//! - the message was queued before EHLO was answered: its outcome is
//!   `Rejected(Unsendable(…))`, nothing of it is sent, and the next message still goes.
//!
//! Each test below runs both ways for one refusal (`refused_both_ways`).

mod support;

use mailwire::command::{
    BodyType, DeliverBy, MailParams, Notify, OriginalRecipient, RcptParams, Ret,
};
use mailwire::{
    Config, Envelope, Event, Keyword, MessageId, Recipient, Rejection, Timestamp, TlsPolicy,
    Unsendable, UsageError, Verdict,
};
use support::{base_config, events, mailbox, outcome_of, ready_session, sent};

/// One way a message cannot go to a server.
struct Case {
    /// The session's configuration (TLS, chunking).
    config: Config,
    /// The server's EHLO reply (domain first), lacking what the message needs.
    ehlo: &'static [&'static str],
    /// The message: to `bad@example.net`, so that any trace of it on the wire shows.
    envelope: Envelope,
    /// Why it cannot go.
    why: Unsendable,
}

/// A message from `from` to `bad@example.net` with these parameters.
fn bad_message(from: &str, params: MailParams, rcpt: RcptParams) -> Envelope {
    Envelope::with_recipients(
        Some(mailbox(from)),
        [Recipient::new(mailbox("bad@example.net"), rcpt)],
    )
    .with_params(params)
}

/// The message that follows, asking for nothing.
fn good_message() -> Envelope {
    Envelope::new(Some(mailbox("a@example.org")), [mailbox("b@example.net")])
}

/// Answers every command of the good message positively until its outcome is in (DATA or
/// BDAT), and returns its verdict.
fn deliver(client: &mut mailwire::Client, id: MessageId) -> Verdict {
    let now = Timestamp::ZERO;
    let mut seen = Vec::new();
    for _ in 0..8 {
        let wire = sent(client);
        assert!(
            !wire.contains("bad@"),
            "the refused message went out: {wire:?}"
        );
        let mut replies = String::new();
        for line in wire.split("\r\n") {
            let verb = line.split(' ').next().unwrap_or("");
            match verb {
                "MAIL" | "RCPT" | "BDAT" | "." => replies.push_str("250 ok\r\n"),
                "DATA" => replies.push_str("354 go\r\n"),
                _ => {}
            }
        }
        client.handle_input(now, replies.as_bytes());
        seen.extend(events(client));
        if let Some(outcome) = outcome_of(&seen, id) {
            return outcome.verdict;
        }
    }
    panic!("no outcome for the good message: {seen:#?}");
}

/// Runs `case` both ways (see the module docs).
fn refused_both_ways(case: Case) {
    let Case {
        config,
        ehlo,
        envelope,
        why,
    } = case;

    // (a) The capabilities are known: refused when given, nothing queued, nothing sent.
    let mut client = ready_session(config.clone(), ehlo);
    assert_eq!(
        client.send_message(envelope.clone()),
        Err(UsageError::Unsendable(why.clone())),
        "send_message"
    );
    assert_eq!(
        client.send_message_with_body(envelope.clone(), b"hello\n"),
        Err(UsageError::Unsendable(why.clone())),
        "send_message_with_body"
    );
    assert_eq!(sent(&mut client), "");
    assert_eq!(events(&mut client), Vec::<Event>::new());
    assert_eq!(client.replies_pending(), 0);
    // Nothing was queued: the next message is the session's first.
    let id = client.send_message(good_message()).unwrap();
    assert_eq!(id.get(), 1);
    client.write_body(id, b"good\n").unwrap();
    client.finish_body(id).unwrap();
    assert!(matches!(deliver(&mut client, id), Verdict::Accepted { .. }));

    // (b) Queued before EHLO: the message's outcome says why, nothing of it goes, the next one
    // does.
    let now = Timestamp::ZERO;
    let mut client = mailwire::Client::new(config, now).unwrap();
    let bad = client.send_message(envelope).unwrap();
    let good = client.send_message(good_message()).unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    assert!(sent(&mut client).starts_with("EHLO "));
    let mut reply = String::new();
    for (i, line) in ehlo.iter().enumerate() {
        let sep = if i + 1 == ehlo.len() { ' ' } else { '-' };
        reply.push_str(&format!("250{sep}{line}\r\n"));
    }
    client.handle_input(now, reply.as_bytes());
    let ev = events(&mut client);
    let outcome = outcome_of(&ev, bad).expect("an outcome for the unsendable message");
    assert_eq!(
        outcome.verdict,
        Verdict::Rejected(Rejection::Unsendable(why))
    );
    assert!(outcome.recipients.iter().all(|r| r.rcpt.is_none()));
    assert!(outcome_of(&ev, good).is_none());
    // Its body is taken and dropped; the next message's body follows it.
    assert_eq!(client.write_body(bad, b"bad body\n"), Ok(9));
    client.finish_body(bad).unwrap();
    client.write_body(good, b"good\n").unwrap();
    client.finish_body(good).unwrap();
    assert!(matches!(
        deliver(&mut client, good),
        Verdict::Accepted { .. }
    ));
}

fn mail(f: impl FnOnce(&mut MailParams)) -> MailParams {
    let mut p = MailParams::default();
    f(&mut p);
    p
}

fn rcpt(f: impl FnOnce(&mut RcptParams)) -> RcptParams {
    let mut p = RcptParams::default();
    f(&mut p);
    p
}

fn implicit_tls() -> Config {
    let mut config = base_config();
    config.implicit_tls = true;
    config
}

/// RFC 8689 4.1: REQUIRETLS is only sent over TLS. Here the connection has none (TLS policy
/// `Never`), although the server offers REQUIRETLS.
#[test]
fn requiretls_without_tls_is_unsendable() {
    refused_both_ways(Case {
        config: base_config(),
        ehlo: &["mx.example", "PIPELINING", "REQUIRETLS"],
        envelope: bad_message("a@example.org", mail(|p| p.requiretls = true), rcpt(|_| {})),
        why: Unsendable::TlsRequired,
    });
}

/// RFC 8689 4.1 under the opportunistic policy: the server offers no STARTTLS, the session goes
/// on in plaintext, and a REQUIRETLS message queued before EHLO is not sent.
#[test]
fn requiretls_queued_then_tls_skipped_is_unsendable() {
    let now = Timestamp::ZERO;
    let mut config = base_config();
    config.tls = TlsPolicy::Opportunistic;
    let mut client = mailwire::Client::new(config, now).unwrap();
    let bad = client
        .send_message(bad_message(
            "a@example.org",
            mail(|p| p.requiretls = true),
            rcpt(|_| {}),
        ))
        .unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(now, b"250-mx.example\r\n250 REQUIRETLS\r\n");
    let ev = events(&mut client);
    assert!(ev.iter().any(|e| matches!(e, Event::TlsSkipped(None))));
    assert_eq!(
        outcome_of(&ev, bad).unwrap().verdict,
        Verdict::Rejected(Rejection::Unsendable(Unsendable::TlsRequired))
    );
    assert_eq!(sent(&mut client), "");
}

/// RFC 8689 4.1: over TLS (implicit, RFC 8314), to a server that does not offer REQUIRETLS.
#[test]
fn requiretls_over_tls_to_a_server_without_it_is_unsendable() {
    refused_both_ways(Case {
        config: implicit_tls(),
        ehlo: &["mx.example", "PIPELINING", "8BITMIME"],
        envelope: bad_message("a@example.org", mail(|p| p.requiretls = true), rcpt(|_| {})),
        why: Unsendable::ExtensionMissing(Keyword::RequireTls),
    });
}

/// RFC 2852 4: `BY=` only to a server that offers DELIVERBY.
#[test]
fn deliver_by_to_a_server_without_deliverby_is_unsendable() {
    let by = DeliverBy {
        seconds: 3600,
        return_on_expiry: true,
        trace: false,
    };
    refused_both_ways(Case {
        config: base_config(),
        ehlo: &["mx.example", "PIPELINING", "DSN"],
        envelope: bad_message(
            "a@example.org",
            mail(|p| p.deliver_by = Some(by)),
            rcpt(|_| {}),
        ),
        why: Unsendable::ExtensionMissing(Keyword::DeliverBy),
    });
}

/// RFC 6710 3: `MT-PRIORITY=` only to a server that offers MT-PRIORITY.
#[test]
fn mt_priority_to_a_server_without_it_is_unsendable() {
    refused_both_ways(Case {
        config: base_config(),
        ehlo: &["mx.example", "PIPELINING", "DELIVERBY"],
        envelope: bad_message(
            "a@example.org",
            mail(|p| p.mt_priority = Some(3)),
            rcpt(|_| {}),
        ),
        why: Unsendable::ExtensionMissing(Keyword::MtPriority),
    });
}

/// RFC 3461 4: each DSN parameter (RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT) only to a
/// server that offers DSN; one of them alone is enough to refuse.
#[test]
fn each_dsn_parameter_to_a_server_without_dsn_is_unsendable() {
    let orcpt = OriginalRecipient {
        addr_type: "rfc822".into(),
        address: "bad@example.net".into(),
    };
    let notify = Notify {
        success: true,
        failure: true,
        delay: false,
    };
    let cases = [
        ("RET", mail(|p| p.ret = Some(Ret::Headers)), rcpt(|_| {})),
        (
            "ENVID",
            mail(|p| p.envid = Some("QQ314159".into())),
            rcpt(|_| {}),
        ),
        ("NOTIFY", mail(|_| {}), rcpt(|r| r.notify = Some(notify))),
        (
            "NOTIFY=NEVER",
            mail(|_| {}),
            rcpt(|r| r.notify = Some(Notify::NEVER)),
        ),
        ("ORCPT", mail(|_| {}), rcpt(|r| r.orcpt = Some(orcpt))),
    ];
    for (name, params, rcpt_params) in cases {
        eprintln!("{name}");
        refused_both_ways(Case {
            config: base_config(),
            ehlo: &["mx.example", "PIPELINING", "8BITMIME", "SIZE 1000000"],
            envelope: bad_message("a@example.org", params, rcpt_params),
            why: Unsendable::ExtensionMissing(Keyword::Dsn),
        });
    }
}

/// RFC 6152 2: `BODY=8BITMIME` declared by the caller, to a server that does not offer 8BITMIME.
#[test]
fn declared_8bitmime_to_a_server_without_it_is_unsendable() {
    refused_both_ways(Case {
        config: base_config(),
        ehlo: &["mx.example", "PIPELINING", "SIZE 1000000"],
        envelope: bad_message(
            "a@example.org",
            mail(|p| p.body = Some(BodyType::EightBitMime)),
            rcpt(|_| {}),
        ),
        why: Unsendable::ExtensionMissing(Keyword::EightBitMime),
    });
}

/// RFC 3030 3: `BODY=BINARYMIME` needs both BINARYMIME and CHUNKING (BDAT); a server with one
/// of them only, or neither, does not get the message.
#[test]
fn binarymime_without_chunking_and_binarymime_is_unsendable() {
    let servers: [&'static [&'static str]; 3] = [
        &["mx.example", "PIPELINING", "8BITMIME"],
        &["mx.example", "PIPELINING", "8BITMIME", "CHUNKING"],
        &["mx.example", "PIPELINING", "8BITMIME", "BINARYMIME"],
    ];
    for ehlo in servers {
        eprintln!("{ehlo:?}");
        refused_both_ways(Case {
            config: base_config(),
            ehlo,
            envelope: bad_message(
                "a@example.org",
                mail(|p| p.body = Some(BodyType::BinaryMime)),
                rcpt(|_| {}),
            ),
            why: Unsendable::ExtensionMissing(Keyword::BinaryMime),
        });
    }
}

/// RFC 6531 3.4: a non-ASCII address (reverse- or forward-path), or SMTPUTF8 asked for, only
/// to a server that offers SMTPUTF8.
#[test]
fn smtputf8_to_a_server_without_it_is_unsendable() {
    let ehlo: &[&str] = &["mx.example", "PIPELINING", "8BITMIME"];
    let why = Unsendable::ExtensionMissing(Keyword::SmtpUtf8);
    refused_both_ways(Case {
        config: base_config(),
        ehlo,
        envelope: bad_message("δοκιμή@example.org", mail(|_| {}), rcpt(|_| {})),
        why: why.clone(),
    });
    refused_both_ways(Case {
        config: base_config(),
        ehlo,
        envelope: Envelope::new(
            Some(mailbox("a@example.org")),
            [mailbox("bad@example.net"), mailbox("bad@παράδειγμα.δοκιμή")],
        ),
        why: why.clone(),
    });
    refused_both_ways(Case {
        config: base_config(),
        ehlo,
        envelope: bad_message("a@example.org", mail(|p| p.smtputf8 = true), rcpt(|_| {})),
        why,
    });
}

/// RFC 1870 6.1: a message declared larger than the server's fixed SIZE limit.
#[test]
fn declared_size_over_the_limit_is_unsendable() {
    refused_both_ways(Case {
        config: base_config(),
        ehlo: &["mx.example", "PIPELINING", "SIZE 1000"],
        envelope: bad_message("a@example.org", mail(|p| p.size = Some(1001)), rcpt(|_| {})),
        why: Unsendable::TooLarge {
            size: 1001,
            limit: 1000,
        },
    });
}

/// RFC 3207 4.2: what the server said before TLS is forgotten, and RFC 8689 4.1 asks only that
/// REQUIRETLS goes over TLS. A message given while STARTTLS is under way (its 220 awaited, or
/// the handshake running) must therefore be judged on the EHLO after TLS, as one given before
/// the greeting is; the plaintext EHLO here offers neither SMTPUTF8 nor REQUIRETLS, the one
/// after TLS offers both. (It used to be refused at once, on the plaintext capabilities and
/// `is_secure() == false`, with `TlsRequired` and `ExtensionMissing(SmtpUtf8)`.)
#[test]
fn message_given_during_starttls_is_judged_after_tls() {
    let now = Timestamp::ZERO;
    let mut config = base_config();
    config.tls = TlsPolicy::Required;
    let mut client = mailwire::Client::new(config, now).unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(now, b"250-mx.example\r\n250 STARTTLS\r\n");
    assert_eq!(sent(&mut client), "STARTTLS\r\n");
    let requiretls = client.send_message(bad_message(
        "a@example.org",
        mail(|p| p.requiretls = true),
        rcpt(|_| {}),
    ));
    client.handle_input(now, b"220 go ahead\r\n");
    let utf8 = client.send_message(bad_message(
        "δοκιμή@example.org",
        mail(|_| {}),
        rcpt(|_| {}),
    ));
    let (Ok(requiretls), Ok(utf8)) = (requiretls.clone(), utf8.clone()) else {
        panic!("refused on the plaintext EHLO: {requiretls:?} {utf8:?}");
    };
    client.handle_tls_established(now);
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(
        now,
        b"250-mx.example\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n250 REQUIRETLS\r\n",
    );
    let ev = events(&mut client);
    assert!(outcome_of(&ev, requiretls).is_none());
    assert!(outcome_of(&ev, utf8).is_none());
    assert!(sent(&mut client).starts_with(
        "MAIL FROM:<a@example.org> REQUIRETLS\r\nRCPT TO:<bad@example.net>\r\nDATA\r\n"
    ));
}
