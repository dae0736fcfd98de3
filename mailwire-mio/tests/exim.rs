//! The bulk sender against Exim (mailwire-testkit): a full MTA offering PIPELINING, CHUNKING and
//! STARTTLS, so messages go out whole with BDAT over TLS. Skipped when Exim is not installed,
//! unless `SMTP_REQUIRE_PEERS=1`.

use mailwire::{ClientName, Config, Envelope, Mailbox, Timeouts, TlsPolicy};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage};
use mailwire_mio::{TlsOptions, TlsSetup};
use mailwire_testkit::{peer_or_skip, Exim, TestCert};
use std::time::Duration;

/// RFC 3207 then RFC 3030 and RFC 2920: STARTTLS required, then BDAT messages pipelined over
/// several connections; every message delivered, each once.
#[test]
fn starttls_chunking_bulk_to_exim() {
    let cert = TestCert::generate().unwrap();
    let exim = peer_or_skip!(Exim::builder()
        .tls(cert.cert_path(), cert.key_path())
        .start());
    let mut session = Config::new(ClientName::parse("client.test").unwrap());
    session.tls = TlsPolicy::Required;
    session.timeouts = Timeouts::uniform(Duration::from_secs(20));
    let mut config = BulkConfig::new(exim.addr(), session);
    config.tls = Some(
        TlsSetup::from_options(&TlsOptions::with_ca_file(cert.ca_path()), "localhost").unwrap(),
    );
    config.connections = 3;
    config.window = 8;
    const N: usize = 30;
    let envelope = Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    );
    let messages = (0..N).map(|i| {
        BulkMessage::new(
            envelope.clone(),
            format!("Subject: bulk {i}\r\n\r\nmessage {i}\r\n.dot line\r\n").into_bytes(),
        )
    });
    let mut seen = [0u8; N];
    let summary = bulk::run(&config, messages, |r| {
        seen[r.index] += 1;
        assert!(r.is_accepted(), "{r:?}");
    })
    .unwrap();
    assert_eq!(summary.accepted, N, "{summary:?}");
    assert!(seen.iter().all(|&c| c == 1));
    let delivered = exim.wait_for_messages(N, Duration::from_secs(20)).unwrap();
    assert_eq!(delivered.len(), N);
    let mut bodies: Vec<String> = delivered
        .iter()
        .map(|m| String::from_utf8_lossy(&m.data).into_owned())
        .collect();
    bodies.sort();
    for i in 0..N {
        assert_eq!(
            bodies
                .iter()
                .filter(|b| b.contains(&format!("\nmessage {i}\r\n.dot line")))
                .count(),
            1,
            "message {i} delivered once: {:?}",
            bodies.first()
        );
    }
    // Exim's main log: `X=` names the TLS cipher, `K` marks a message received with CHUNKING.
    let log = exim.log();
    let arrivals: Vec<&str> = log.lines().filter(|l| l.contains(" <= ")).collect();
    assert_eq!(arrivals.len(), N, "{log}");
    assert!(
        arrivals
            .iter()
            .all(|l| l.contains(" X=TLS") && l.contains(" K ")),
        "{log}"
    );
}
