//! The shared [`ClientOptions`] mean here what they mean in `mailwire-blocking`: the same
//! `mailwire_testkit::connect_cases` (IPv6 only to aiosmtpd on `::1`, IPv4 only to
//! `localhost`, two bound local ends seen as the peer, LMTP over smtp-sink's Unix socket), and
//! the failures. A missing peer skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_testkit::connect_cases::{self, BODY};
use mailwire_testkit::{peer_or_skip, Aiosmtpd};
use mailwire_tokio::mailwire::ClientName;
use mailwire_tokio::{AddressFamily, Client, ClientOptions, Error};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// The shared cases where the message goes through.
#[test]
fn family_local_address_and_unix_socket_as_the_server_saw_them() {
    let rt = runtime();
    peer_or_skip!(connect_cases::run_delivered_cases(|o, to| {
        rt.block_on(async {
            let mut client = Client::connect(o).await.unwrap();
            let outcome = client
                .send_bytes(envelope("a@example.org", to), BODY)
                .await
                .unwrap();
            client.quit().await.unwrap();
            outcome
        })
    }));
}

/// IPv6 only to 127.0.0.1: no address, `Error::Connect` (NotFound) naming the family.
#[test]
fn family_without_addresses_fails_to_connect() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let mut o = options(server.port(), T);
    o.family = AddressFamily::V6;
    let e = runtime().block_on(Client::connect(o)).unwrap_err();
    let Error::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("has no IPv6 address"), "{e}");
}

/// A socket path where nothing listens: `Error::Connect` naming `unix:PATH`.
#[test]
fn unix_socket_nobody_listening_fails_to_connect() {
    let dir = mailwire_testkit::TempDir::new("no-socket").unwrap();
    let path = dir.path().join("absent.sock");
    let o = ClientOptions::unix(&path, ClientName::parse("client.test").unwrap());
    let e = runtime().block_on(Client::connect(o)).unwrap_err();
    let Error::Connect { server, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*server, format!("unix:{}", path.display()));
}
