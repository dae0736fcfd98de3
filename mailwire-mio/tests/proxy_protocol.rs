//! `BulkConfig::proxy_header` / `Driver::connect_proxied`: a PROXY protocol header first on
//! every connection, before the greeting and before STARTTLS, to aiosmtpd expecting one (its
//! `proxy_protocol_timeout`), which records what it parsed; two families refused, every message
//! failed with that configuration error, nothing sent.

use mailwire::{
    ClientName, Config, ConfigError, Envelope, Mailbox, Timeouts, TlsPolicy, UsageError,
};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Outcome};
use mailwire_mio::{ProxyHeader, ProxyVersion, TlsOptions, TlsSetup, TransportError};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, TestCert};
use std::net::SocketAddr;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

fn messages(n: usize) -> impl Iterator<Item = BulkMessage> {
    (0..n).map(|i| {
        BulkMessage::new(
            Envelope::new(
                Some(Mailbox::parse("a@example.org").unwrap()),
                [Mailbox::parse(&format!("r{i}@example.net")).unwrap()],
            ),
            format!("Subject: {i}\r\n\r\nproxied {i}\r\n").into_bytes(),
        )
    })
}

#[test]
fn every_connection_announces_the_given_client_before_starttls() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .proxy_protocol(true)
        .start());
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    let mut session = Config::new(ClientName::parse("client.test").unwrap());
    session.tls = TlsPolicy::Required;
    session.timeouts = Timeouts::uniform(T);
    let mut config = BulkConfig::new(addr, session);
    config.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap(),
    );
    config.connections = 2;
    config.max_per_connection = Some(2);
    let given: SocketAddr = "192.0.2.44:4444".parse().unwrap();
    config.proxy_header = Some(ProxyHeader {
        source: Some(given),
        ..ProxyHeader::new(ProxyVersion::V2)
    });
    let summary = bulk::run(&config, messages(6), |r| assert!(r.is_accepted(), "{r:?}")).unwrap();
    assert_eq!(summary.accepted, 6);
    assert!(summary.connections >= 3, "{summary:?}");
    let stored = server.wait_for_messages(6, T).unwrap();
    for m in &stored {
        assert!(m.tls, "STARTTLS came after the header");
        let p = m.proxy.clone().expect("a PROXY header");
        assert_eq!(
            (p.version, p.command.as_deref(), p.source, p.destination),
            (2, Some("PROXY"), Some(given), Some(addr))
        );
    }
}

#[test]
fn two_families_fail_every_message_with_the_configuration_error() {
    let server = peer_or_skip!(Aiosmtpd::builder().proxy_protocol(true).start());
    let addr: SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    let mut session = Config::new(ClientName::parse("client.test").unwrap());
    session.tls = TlsPolicy::Never;
    session.timeouts = Timeouts::uniform(T);
    let mut config = BulkConfig::new(addr, session);
    config.proxy_header = Some(ProxyHeader {
        source: Some("[2001:db8::1]:1".parse().unwrap()),
        ..ProxyHeader::new(ProxyVersion::V1)
    });
    let mut failed = 0;
    let summary = bulk::run(&config, messages(3), |r| match &r.outcome {
        Outcome::Failed(f) => {
            let t = f.transport.as_deref();
            assert!(
                matches!(
                    t,
                    Some(TransportError::Config(UsageError::Config(
                        ConfigError::ProxyHeader(_)
                    )))
                ),
                "{r:?}"
            );
            failed += 1;
        }
        other => panic!("{other:?}"),
    })
    .unwrap();
    assert_eq!((failed, summary.accepted), (3, 0));
    assert!(server.messages().unwrap().is_empty());
}
