//! What a probe learnt stays readable after it closed: the greeting, the capabilities, whether
//! TLS was had (`Config::stop_after`, RFC 5321 3.1, 4.1.1.1).

use mailwire::{Client, ClientName, Config, Event, Milestone, Timestamp, TlsPolicy};

#[test]
fn probe_keeps_greeting_and_capabilities_after_quit() {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.stop_after = Some(Milestone::Hello);
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    assert!(client.greeting().is_none());
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP ready\r\n");
    assert_eq!(
        client.greeting().map(|r| r.code().get()),
        Some(220),
        "the greeting is kept as soon as it came"
    );
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"EHLO client.example\r\n");
    wire.clear();
    client.handle_input(now, b"250-mx.example\r\n250 PIPELINING\r\n");
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"QUIT\r\n");
    client.handle_input(now, b"221 bye\r\n");
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(matches!(events.last(), Some(Event::Closed(Ok(())))));
    assert!(client.is_closed());
    let greeting = client.greeting().unwrap();
    assert_eq!(greeting.text_lossy(), "mx.example ESMTP ready");
    assert!(client.capabilities().unwrap().pipelining);
    assert!(!client.is_secure());
}

#[test]
fn refused_greeting_is_not_kept_as_the_greeting() {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    client.handle_input(now, b"554 go away\r\n");
    assert!(client.is_closed());
    assert!(client.greeting().is_none());
    assert!(matches!(
        client.error(),
        Some(mailwire::Error::GreetingRejected(_))
    ));
}

/// A probe of MAIL alone needs no recipient (RFC 5321 3.3: MAIL starts the transaction); one of
/// RCPT does.
#[test]
fn mail_probe_needs_no_recipient() {
    use mailwire::{Envelope, Mailbox, ProbeDepth, UsageError, Verdict};
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250 mx.example\r\n");
    assert!(client.is_ready());
    wire.clear();
    let envelope = Envelope::new(Some(Mailbox::parse("a@example.org").unwrap()), []);
    assert_eq!(
        client.probe(envelope.clone(), ProbeDepth::Rcpt),
        Err(UsageError::NoRecipients)
    );
    let id = client.probe(envelope, ProbeDepth::Mail).unwrap();
    client.poll_transmit(now, &mut wire);
    assert_eq!(wire, b"MAIL FROM:<a@example.org>\r\n");
    client.handle_input(now, b"250 ok\r\n");
    let outcome = std::iter::from_fn(|| client.poll_event())
        .find_map(|e| match e {
            Event::MessageDone(o) if o.message == id => Some(o),
            _ => None,
        })
        .unwrap();
    assert!(matches!(outcome.verdict, Verdict::Probed { .. }));
    assert!(outcome.recipients.is_empty());
    assert_eq!(outcome.class(), mailwire::Class::Delivered);
}

/// A probe queued before the server's extensions are known, that this server cannot take
/// (a UTF-8 sender without SMTPUTF8, RFC 6531 3.4), is refused as unsendable without MAIL on
/// the wire, as a message would be, not reported `Probed` with an empty reply.
#[test]
fn probe_unsendable_to_this_server_is_rejected_not_probed() {
    use mailwire::{Envelope, Mailbox, ProbeDepth, Rejection, Unsendable, Verdict};
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).unwrap();
    let envelope = Envelope::new(
        Some(Mailbox::parse("jörg@example.org").unwrap()),
        [Mailbox::parse("b@example.net").unwrap()],
    );
    let id = client.probe(envelope, ProbeDepth::Rcpt).unwrap();
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    client.handle_input(now, b"250-mx.example\r\n250 PIPELINING\r\n");
    wire.clear();
    client.poll_transmit(now, &mut wire);
    assert!(
        !wire.starts_with(b"MAIL"),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
    let outcome = std::iter::from_fn(|| client.poll_event())
        .find_map(|e| match e {
            Event::MessageDone(o) if o.message == id => Some(o),
            _ => None,
        })
        .expect("the probe's outcome");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Rejected(Rejection::Unsendable(Unsendable::ExtensionMissing(_)))
        ),
        "{:?}",
        outcome.verdict
    );
    assert_eq!(outcome.class(), mailwire::Class::Permanent);
}
