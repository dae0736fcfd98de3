//! `ClientOptions::proxy_header`: a PROXY protocol header (haproxy.org `proxy-protocol.txt`)
//! written first on the connection, before the greeting and before STARTTLS, to aiosmtpd
//! expecting one (`proxy_protocol_timeout`), which records what it parsed: version 1 and 2,
//! the connection's own ends or the ones given, IPv6 ones, and two families refused.

mod support;

use mailwire_blocking::mailwire::proxy::ProxyError;
use mailwire_blocking::mailwire::{ConfigError, TlsPolicy, UsageError};
use mailwire_blocking::{Client, ClientOptions, Error, ProxyHeader, ProxyVersion};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, TestCert};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

fn send(o: ClientOptions, to: &str) -> Result<(), Error> {
    let mut client = Client::connect(o)?;
    let outcome = client.send_bytes(
        envelope("a@example.org", &[to]),
        b"Subject: p\r\n\r\nhi\r\n",
    )?;
    assert!(outcome.is_accepted(), "{outcome:?}");
    client.quit()
}

#[test]
fn aiosmtpd_records_the_header_sent_before_the_greeting_and_starttls() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .proxy_protocol(true)
        .start());
    let server_addr: SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    let base = {
        let mut o = options(server.port(), T);
        o.config.tls = TlsPolicy::Required;
        o.tls.ca_file = Some(cert.ca_path().to_path_buf());
        o
    };
    let with = |header: ProxyHeader| {
        let mut o = base.clone();
        o.proxy_header = Some(header);
        o
    };
    let given: SocketAddr = "203.0.113.7:4242".parse().unwrap();
    let v6: (SocketAddr, SocketAddr) = (
        "[2001:db8::7]:1".parse().unwrap(),
        "[2001:db8::25]:25".parse().unwrap(),
    );
    let headers = [
        ProxyHeader {
            source: Some(given),
            ..ProxyHeader::new(ProxyVersion::V1)
        },
        ProxyHeader::new(ProxyVersion::V2),
        ProxyHeader {
            version: ProxyVersion::V2,
            source: Some(v6.0),
            destination: Some(v6.1),
        },
        ProxyHeader {
            version: ProxyVersion::V1,
            source: Some(v6.0),
            destination: Some(v6.1),
        },
    ];
    for (i, header) in headers.into_iter().enumerate() {
        send(with(header), &format!("r{i}@example.net")).unwrap();
    }
    let stored = server.wait_for_messages(4, T).unwrap();
    let of = |i: usize| {
        stored
            .iter()
            .find(|m| m.rcpt_to == [format!("r{i}@example.net")])
            .unwrap()
    };
    for i in 0..4 {
        assert!(of(i).tls, "message {i} went over STARTTLS after the header");
    }
    let p = of(0).proxy.clone().unwrap();
    assert_eq!(
        (p.version, p.source, p.destination),
        (1, Some(given), Some(server_addr))
    );
    // Version 2, nothing given: the connection's own ends, the ones aiosmtpd saw.
    let p = of(1).proxy.clone().unwrap();
    assert_eq!((p.version, p.command.as_deref()), (2, Some("PROXY")));
    assert_eq!(p.source, of(1).peer);
    assert_eq!(p.destination, Some(server_addr));
    for i in [2, 3] {
        let p = of(i).proxy.clone().unwrap();
        assert_eq!((p.source, p.destination), (Some(v6.0), Some(v6.1)), "{i}");
    }
}

#[test]
fn two_families_are_refused_and_nothing_is_sent() {
    let server = peer_or_skip!(Aiosmtpd::builder().proxy_protocol(true).start());
    let mut o = options(server.port(), T);
    let source: SocketAddr = "[2001:db8::7]:1".parse().unwrap();
    o.proxy_header = Some(ProxyHeader {
        source: Some(source),
        ..ProxyHeader::new(ProxyVersion::V2)
    });
    let e = send(o.clone(), "b@example.net").unwrap_err();
    let destination: SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    assert!(
        matches!(
            &e,
            Error::Usage(UsageError::Config(ConfigError::ProxyHeader(
                ProxyError::MixedFamilies { source: s, destination: d }
            ))) if *s == source && *d == destination
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), mailwire_blocking::mailwire::Class::Local);
    // The same options with an IPv4 source go through.
    o.proxy_header = Some(ProxyHeader {
        source: Some("192.0.2.9:9".parse().unwrap()),
        ..ProxyHeader::new(ProxyVersion::V2)
    });
    send(o, "c@example.net").unwrap();
    let stored = server.wait_for_messages(1, T).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rcpt_to, ["c@example.net"]);
}
