//! `Config::xclient` (Postfix's `XCLIENT_README`), `Envelope::xforward` (`XFORWARD_README`) and
//! `Client::etrn` (RFC 1985) against the servers that speak them: a whole Postfix (answers
//! XCLIENT with 220 and starts over; every message it takes is held, and `postcat` shows whom it
//! believed it came from and whom its logs name) and smtp-sink (answers XCLIENT with 250, takes
//! only NAME and HELO).

mod support;

use mailwire_blocking::mailwire::{Error as CoreError, Stage, Xclient};
use mailwire_blocking::{Client, ClientOptions, Error};
use mailwire_testkit::{peer_or_skip, Postfix, SmtpSink, Tap};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);

fn with_xclient(port: u16, x: Xclient) -> ClientOptions {
    let mut o = options(port, T);
    o.config.xclient = Some(x);
    o
}

fn send(o: ClientOptions, to: &str) -> Result<Client, Error> {
    let mut client = Client::connect(o)?;
    let outcome = client.send_bytes(
        envelope("a@example.org", &[to]),
        b"Subject: x\r\n\r\nhi\r\n",
    )?;
    assert!(outcome.is_accepted(), "{outcome:?}");
    Ok(client)
}

fn session_error(e: Error) -> CoreError {
    match e {
        Error::Session { error, .. } => error,
        other => panic!("expected a session error, got {other:?}"),
    }
}

#[test]
fn postfix_takes_the_message_as_from_the_client_xclient_names() {
    let postfix = peer_or_skip!(Postfix::builder().start());
    let x = Xclient::new()
        .attribute("HELO", "orig.example")
        .unwrap()
        .attribute("PORT", "4567")
        .unwrap()
        .attribute("LOGIN", "alice")
        .unwrap()
        .attribute("NAME", "relay.example")
        .unwrap()
        .attribute("ADDR", "10.1.2.3")
        .unwrap();
    let client = send(with_xclient(postfix.port(), x), "b@example.net").unwrap();
    // Postfix offers XCLIENT to 127.0.0.1 only: the EHLO after it, as 10.1.2.3, has none.
    let caps = client.capabilities().expect("EHLO answered");
    assert!(!caps.has("XCLIENT"), "{caps:?}");
    client.quit().unwrap();
    let held = postfix.wait_for_held(1, T).unwrap();
    let m = &held[0];
    assert_eq!(m.recipients, ["b@example.net"]);
    assert_eq!(m.attribute("client_address"), Some("10.1.2.3"));
    assert_eq!(m.attribute("client_name"), Some("relay.example"));
    assert_eq!(m.attribute("client_port"), Some("4567"));
    assert_eq!(m.attribute("sasl_username"), Some("alice"));
    assert_eq!(m.attribute("sasl_method"), Some("XCLIENT"));
    // The EHLO after XCLIENT gave the HELO attribute, so Postfix kept it.
    assert_eq!(m.attribute("helo_name"), Some("orig.example"));
    assert!(
        m.content
            .starts_with("Received: from orig.example (relay.example [10.1.2.3])"),
        "{}",
        m.content
    );
}

#[test]
fn postfix_xclient_in_two_commands_when_one_line_cannot_hold_them() {
    let postfix = peer_or_skip!(Postfix::builder().start());
    let tap = Tap::start(postfix.addr()).unwrap();
    // A HELO and a NAME of 255 octets each do not fit one 512-octet line; ADDR goes last,
    // since Postfix stops trusting the client once its address changed.
    let long = |c: &str| [c.repeat(63).as_str(); 4].join(".");
    let (helo, name) = (long("h"), long("n"));
    let x = Xclient::new()
        .attribute("HELO", &helo)
        .unwrap()
        .attribute("NAME", &name)
        .unwrap()
        .attribute("ADDR", "10.1.2.4")
        .unwrap();
    assert_eq!(x.lines(), [0..1, 1..3]);
    send(with_xclient(tap.addr().port(), x), "c@example.net")
        .unwrap()
        .quit()
        .unwrap();
    let wire = String::from_utf8(tap.wait_closed(1, T).unwrap().remove(0)).unwrap();
    let lines: Vec<&str> = wire.lines().filter(|l| l.starts_with("XCLIENT")).collect();
    assert_eq!(
        lines,
        [
            format!("XCLIENT HELO={helo}"),
            format!("XCLIENT NAME={name} ADDR=10.1.2.4")
        ]
    );
    assert!(lines.iter().all(|l| l.len() + 2 <= 512));
    let held = postfix.wait_for_held(1, T).unwrap();
    assert_eq!(held[0].attribute("client_address"), Some("10.1.2.4"));
    assert_eq!(held[0].attribute("client_name"), Some(name.as_str()));
    assert_eq!(held[0].attribute("helo_name"), Some(helo.as_str()));
}

#[test]
fn postfix_that_trusts_no_one_with_xclient_does_not_offer_it() {
    let postfix = peer_or_skip!(Postfix::builder()
        .main_config("smtpd_authorized_xclient_hosts =")
        .start());
    let x = Xclient::new().attribute("ADDR", "10.1.2.3").unwrap();
    // Required: the session ends before any mail, with a typed error.
    let e = send(with_xclient(postfix.port(), x.clone()), "d@example.net").unwrap_err();
    let e = session_error(e);
    assert_eq!(e, CoreError::XclientNotOffered);
    assert_eq!(e.stage(), Some(Stage::Xclient));
    // If offered: the message goes, as from 127.0.0.1.
    let mut x = x;
    x.if_offered = true;
    send(with_xclient(postfix.port(), x), "e@example.net")
        .unwrap()
        .quit()
        .unwrap();
    let held = postfix.wait_for_held(1, T).unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].recipients, ["e@example.net"]);
    assert_eq!(held[0].attribute("client_address"), Some("127.0.0.1"));
}

#[test]
fn postfix_refuses_an_attribute_it_does_not_know_when_unchecked() {
    let postfix = peer_or_skip!(Postfix::builder().start());
    let mut x = Xclient::new().attribute("COLOUR", "blue").unwrap();
    // Checked (the default): not sent, since Postfix does not name it.
    let e = send(with_xclient(postfix.port(), x.clone()), "f@example.net").unwrap_err();
    assert_eq!(
        session_error(e),
        CoreError::XclientAttributeNotOffered("COLOUR".into())
    );
    // Unchecked: sent, and Postfix's refusal ends the session.
    x.check_offered = false;
    let e = session_error(send(with_xclient(postfix.port(), x), "f@example.net").unwrap_err());
    match e {
        CoreError::Rejected { stage, reply } => {
            assert_eq!(stage, Stage::Xclient);
            assert_eq!(reply.code().get(), 501, "{reply:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(postfix.held().unwrap().is_empty());
}

#[test]
fn smtp_sink_answers_250_and_the_session_says_ehlo_again_with_the_helo_attribute() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let x = Xclient::new()
        .attribute("NAME", "relay.example")
        .unwrap()
        .attribute("HELO", "orig.example")
        .unwrap();
    send(with_xclient(sink.port(), x), "g@example.net")
        .unwrap()
        .quit()
        .unwrap();
    let m = sink.wait_for_messages(1, T).unwrap();
    assert_eq!(m[0].helo.as_deref(), Some("orig.example"));
    // smtp-sink names NAME and HELO only: ADDR is not sent to it.
    let x = Xclient::new().attribute("ADDR", "10.1.2.3").unwrap();
    let e = send(with_xclient(sink.port(), x), "h@example.net").unwrap_err();
    assert_eq!(
        session_error(e),
        CoreError::XclientAttributeNotOffered("ADDR".into())
    );
}

#[test]
fn postfix_etrn_starts_a_flush_for_a_domain_it_serves_and_refuses_others() {
    let postfix = peer_or_skip!(Postfix::builder()
        // ETRN goes through the client restrictions, where HOLD cannot apply.
        .main_config("smtpd_client_restrictions =")
        .main_config("fast_flush_domains = example.org")
        .start());
    let mut client = Client::connect(options(postfix.port(), T)).unwrap();
    assert!(client.capabilities().unwrap().has("ETRN"));
    let started = client.etrn("example.org").unwrap();
    assert_eq!(started.code().get(), 250, "{started:?}");
    let refused = client.etrn("example.net").unwrap();
    assert_eq!(refused.code().get(), 459, "{refused:?}");
    // A line break cannot make it a second command.
    assert!(client.etrn("example.org\r\nRSET").is_err());
    client.quit().unwrap();
}

#[test]
fn postfix_logs_each_message_as_from_the_client_its_xforward_names() {
    use mailwire_blocking::mailwire::xclient::Attribute;
    let postfix = peer_or_skip!(Postfix::builder().start());
    let mut client = Client::connect(options(postfix.port(), T)).unwrap();
    let origins = [
        Some(("up1.example", "192.0.2.1")),
        Some(("up2.example", "192.0.2.2")),
        None,
    ];
    for (i, origin) in origins.iter().enumerate() {
        let mut e = envelope("a@example.org", &[&format!("r{i}@example.net")]);
        if let Some((name, addr)) = origin {
            e.xforward = vec![
                Attribute::new("NAME", name).unwrap(),
                Attribute::new("ADDR", addr).unwrap(),
                // Postfix names IDENT; a name it does not know is not sent.
                Attribute::new("IDENT", &format!("queue-{i}")).unwrap(),
                Attribute::new("X_UNKNOWN", "dropped").unwrap(),
            ];
        }
        let outcome = client
            .send_bytes(e, format!("Subject: {i}\r\n\r\nhi\r\n").as_bytes())
            .unwrap();
        assert!(outcome.is_accepted(), "{outcome:?}");
        match origin {
            Some(_) => assert_eq!(outcome.xforward.map(|r| r.code().get()), Some(250)),
            None => assert_eq!(outcome.xforward, None),
        }
    }
    client.quit().unwrap();
    let held = postfix.wait_for_held(3, T).unwrap();
    for (i, origin) in origins.iter().enumerate() {
        let m = held
            .iter()
            .find(|m| m.recipients == [format!("r{i}@example.net")])
            .unwrap();
        // The session's own client is what Postfix believed; XFORWARD changes only its logs.
        assert_eq!(m.attribute("client_address"), Some("127.0.0.1"), "{m:?}");
        match origin {
            Some((name, addr)) => {
                assert_eq!(m.attribute("log_client_name"), Some(*name), "{m:?}");
                assert_eq!(m.attribute("log_client_address"), Some(*addr), "{m:?}");
                assert_eq!(
                    m.attribute("log_ident"),
                    Some(format!("queue-{i}").as_str()),
                    "{m:?}"
                );
            }
            // Postfix forgets XFORWARD at the end of each transaction: the third message is
            // logged as from the connection's own client, not from the second's.
            None => {
                assert_eq!(m.attribute("log_client_name"), Some("localhost"), "{m:?}");
                assert_eq!(
                    m.attribute("log_client_address"),
                    Some("127.0.0.1"),
                    "{m:?}"
                );
            }
        }
    }
}
