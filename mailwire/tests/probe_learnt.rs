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
