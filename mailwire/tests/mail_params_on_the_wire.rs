//! The other side of `unsendable_to_this_server.rs`: to a server that offers what the message
//! asks for, each parameter goes on the MAIL or RCPT line exactly as its RFC spells it, and
//! parameters a server would not know are left off when the RFC allows it (`SIZE=` to a server
//! without SIZE, `BODY=7BIT` to one without 8BITMIME).

mod support;

use mailwire::command::{
    BodyType, DeliverBy, MailParams, Notify, OriginalRecipient, RcptParams, Ret,
};
use mailwire::{Config, Envelope, Recipient, Timestamp, TlsPolicy};
use support::{base_config, events, mailbox, ready_session, sent};

fn mail(f: impl FnOnce(&mut MailParams)) -> MailParams {
    let mut p = MailParams::default();
    f(&mut p);
    p
}

fn to(address: &str, f: impl FnOnce(&mut RcptParams)) -> Recipient {
    let mut p = RcptParams::default();
    f(&mut p);
    Recipient::new(mailbox(address), p)
}

/// `a@example.org` to `b@example.net` with these MAIL parameters.
fn with(params: MailParams) -> Envelope {
    Envelope::with_recipients(
        Some(mailbox("a@example.org")),
        [to("b@example.net", |_| {})],
    )
    .with_params(params)
}

/// The MAIL and RCPT lines the session sends for `envelope` (its body not yet given, so the
/// content is unknown at MAIL) to a server answering EHLO with `ehlo` and PIPELINING (so that
/// every RCPT goes in the first flight).
fn lines(config: Config, ehlo: &[&str], envelope: Envelope) -> String {
    let mut ehlo = ehlo.to_vec();
    if !ehlo.contains(&"PIPELINING") {
        ehlo.push("PIPELINING");
    }
    let mut client = ready_session(config, &ehlo);
    client.send_message(envelope).expect("sendable");
    let wire = sent(&mut client);
    wire.split_inclusive("\r\n")
        .filter(|l| l.starts_with("MAIL ") || l.starts_with("RCPT "))
        .collect()
}

fn implicit_tls() -> Config {
    let mut config = base_config();
    config.implicit_tls = true;
    config
}

/// RFC 8689 4.1: over TLS, to a server offering REQUIRETLS, the MAIL line carries `REQUIRETLS`
/// (no value).
#[test]
fn requiretls_goes_over_tls_when_offered() {
    assert_eq!(
        lines(
            implicit_tls(),
            &["mx.example", "PIPELINING", "REQUIRETLS"],
            with(mail(|p| p.requiretls = true)),
        ),
        "MAIL FROM:<a@example.org> REQUIRETLS\r\nRCPT TO:<b@example.net>\r\n"
    );
}

/// RFC 8689 4.1 and RFC 3207 4.2: queued before the greeting, a REQUIRETLS message waits for
/// STARTTLS and is judged on the EHLO after TLS, which offers REQUIRETLS (the plaintext one
/// did not).
#[test]
fn requiretls_queued_before_starttls_goes_after_it() {
    let now = Timestamp::ZERO;
    let mut config = base_config();
    config.tls = TlsPolicy::Required;
    let mut client = mailwire::Client::new(config, now).unwrap();
    let id = client
        .send_message_with_body(with(mail(|p| p.requiretls = true)), b"x\n")
        .unwrap();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(now, b"250-mx.example\r\n250 STARTTLS\r\n");
    assert_eq!(sent(&mut client), "STARTTLS\r\n");
    client.handle_input(now, b"220 go ahead\r\n");
    client.handle_tls_established(now);
    assert_eq!(sent(&mut client), "EHLO client.example\r\n");
    client.handle_input(now, b"250-mx.example\r\n250 REQUIRETLS\r\n");
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org> REQUIRETLS\r\n"
    );
    assert!(support::outcome_of(&events(&mut client), id).is_none());
}

/// RFC 2852 4: `BY=<by-time>;<by-mode>[<by-trace>]`, the mode `R` or `N`, `T` for trace; a
/// negative by-time with `N`.
#[test]
fn deliver_by_goes_when_offered() {
    let ehlo: &[&str] = &["mx.example", "DELIVERBY 60"];
    for (by, want) in [
        ((3600, true, false), " BY=3600;R"),
        ((120, false, true), " BY=120;NT"),
        ((-60, false, false), " BY=-60;N"),
    ] {
        let by = DeliverBy {
            seconds: by.0,
            return_on_expiry: by.1,
            trace: by.2,
        };
        assert_eq!(
            lines(base_config(), ehlo, with(mail(|p| p.deliver_by = Some(by)))),
            format!("MAIL FROM:<a@example.org>{want}\r\nRCPT TO:<b@example.net>\r\n")
        );
    }
}

/// RFC 6710 3: `MT-PRIORITY=<priority>`, -9 to 9, to a server offering MT-PRIORITY (with or
/// without a policy name).
#[test]
fn mt_priority_goes_when_offered() {
    for (ehlo, priority, want) in [
        (["mx.example", "MT-PRIORITY"], 3, " MT-PRIORITY=3"),
        (["mx.example", "MT-PRIORITY MIXER"], -9, " MT-PRIORITY=-9"),
    ] {
        assert_eq!(
            lines(
                base_config(),
                &ehlo,
                with(mail(|p| p.mt_priority = Some(priority)))
            ),
            format!("MAIL FROM:<a@example.org>{want}\r\nRCPT TO:<b@example.net>\r\n")
        );
    }
}

/// RFC 3461 4.1–4.4: `RET=` and `ENVID=` (xtext) on MAIL, `NOTIFY=` and `ORCPT=` (xtext) on
/// RCPT, to a server offering DSN.
#[test]
fn dsn_parameters_go_when_offered() {
    let envelope = Envelope::with_recipients(
        Some(mailbox("a@example.org")),
        [
            to("b@example.net", |r| {
                r.notify = Some(Notify {
                    success: true,
                    failure: true,
                    delay: false,
                });
                r.orcpt = Some(OriginalRecipient {
                    addr_type: "rfc822".into(),
                    address: "Bob+1=x@Example.COM".into(),
                });
            }),
            to("c@example.net", |r| r.notify = Some(Notify::NEVER)),
        ],
    )
    .with_params(mail(|p| {
        p.ret = Some(Ret::Headers);
        p.envid = Some("QQ314159 a+b".into());
    }));
    assert_eq!(
        lines(
            base_config(),
            &["mx.example", "PIPELINING", "DSN"],
            envelope
        ),
        "MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ314159+20a+2Bb\r\n\
         RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2B1+3Dx@Example.COM\r\n\
         RCPT TO:<c@example.net> NOTIFY=NEVER\r\n"
    );
    let full = with(mail(|p| p.ret = Some(Ret::Full)));
    assert!(lines(base_config(), &["mx.example", "DSN"], full)
        .starts_with("MAIL FROM:<a@example.org> RET=FULL\r\n"));
}

/// RFC 6152 2: `BODY=8BITMIME` declared by the caller, to a server offering 8BITMIME.
#[test]
fn declared_8bitmime_goes_when_offered() {
    assert_eq!(
        lines(
            base_config(),
            &["mx.example", "8BITMIME"],
            with(mail(|p| p.body = Some(BodyType::EightBitMime)))
        ),
        "MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n"
    );
}

/// RFC 6152 2, RFC 1652: `BODY=7BIT` is sent to a server that knows BODY (8BITMIME); to one
/// that does not, nothing is sent (7-bit is what it expects anyway).
#[test]
fn body_7bit_only_to_a_server_with_8bitmime() {
    let seven = || with(mail(|p| p.body = Some(BodyType::SevenBit)));
    assert_eq!(
        lines(base_config(), &["mx.example", "8BITMIME"], seven()),
        "MAIL FROM:<a@example.org> BODY=7BIT\r\nRCPT TO:<b@example.net>\r\n"
    );
    assert_eq!(
        lines(base_config(), &["mx.example", "PIPELINING"], seven()),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
    );
}

/// RFC 3030 3: `BODY=BINARYMIME` to a server offering BINARYMIME and CHUNKING, and the content
/// goes by BDAT (even with `chunking` off in the configuration: BINARYMIME cannot go by DATA).
#[test]
fn binarymime_goes_by_bdat_when_offered() {
    let mut config = base_config();
    config.chunking = false;
    let mut client = ready_session(
        config,
        &["mx.example", "PIPELINING", "CHUNKING", "BINARYMIME"],
    );
    let binary = with(mail(|p| p.body = Some(BodyType::BinaryMime)));
    client
        .send_message_with_body(binary, b"\x00\xff\r\n.\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\n\
         BDAT 6 LAST\r\n\x00\u{ff}\r\n.\n"
            .replace('\u{ff}', "\u{fffd}")
    );
}

/// RFC 6531 3.4: a non-ASCII address makes MAIL carry `SMTPUTF8` to a server offering it; the
/// caller need not ask.
#[test]
fn smtputf8_added_for_a_non_ascii_address() {
    let envelope = Envelope::new(
        Some(mailbox("δοκιμή@example.org")),
        [mailbox("b@παράδειγμα.δοκιμή")],
    );
    assert_eq!(
        lines(base_config(), &["mx.example", "SMTPUTF8"], envelope),
        "MAIL FROM:<δοκιμή@example.org> SMTPUTF8\r\nRCPT TO:<b@παράδειγμα.δοκιμή>\r\n"
    );
}

/// RFC 1870 6: `SIZE=` goes only to a server offering SIZE (with a limit or without one), and
/// a declared size at the limit is not refused.
#[test]
fn size_only_to_a_server_offering_size() {
    let sized = || with(mail(|p| p.size = Some(1000)));
    for (ehlo, want) in [
        (["mx.example", "SIZE 1000"], " SIZE=1000"),
        (["mx.example", "SIZE"], " SIZE=1000"),
        (["mx.example", "SIZE 0"], " SIZE=1000"),
        (["mx.example", "PIPELINING"], ""),
    ] {
        assert_eq!(
            lines(base_config(), &ehlo, sized()),
            format!("MAIL FROM:<a@example.org>{want}\r\nRCPT TO:<b@example.net>\r\n"),
            "{ehlo:?}"
        );
    }
    // Counted from a body given whole: also only to a server offering SIZE.
    let mut client = ready_session(base_config(), &["mx.example", "PIPELINING"]);
    client.send_message_with_body(sized(), b"x\n").unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org>\r\n"));
    let mut client = ready_session(base_config(), &["mx.example", "SIZE"]);
    client.send_message_with_body(sized(), b"x\n").unwrap();
    assert!(sent(&mut client).starts_with("MAIL FROM:<a@example.org> SIZE=3\r\n"));
}
