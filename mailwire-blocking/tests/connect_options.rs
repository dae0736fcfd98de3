//! Where the connection goes and from where ([`ClientOptions::family`],
//! [`ClientOptions::local_address`], [`ClientOptions::unix_socket`]), checked by what the server
//! saw: `mailwire_testkit::connect_cases` (shared with `mailwire-tokio` and `smtp-send`) runs
//! IPv6 only to aiosmtpd on `::1`, IPv4 only to `localhost`, two bound local ends seen as the
//! peer, and LMTP (RFC 2033) over smtp-sink's Unix socket; the failures are here. A missing
//! peer skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_blocking::mailwire::ClientName;
use mailwire_blocking::{AddressFamily, Client, ClientOptions, Error};
use mailwire_testkit::connect_cases::{self, BODY};
use mailwire_testkit::{peer_or_skip, Aiosmtpd};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// The shared cases where the message goes through.
#[test]
fn family_local_address_and_unix_socket_as_the_server_saw_them() {
    peer_or_skip!(connect_cases::run_delivered_cases(|o, to| {
        let mut client = Client::connect(o).unwrap();
        let outcome = client
            .send_bytes(envelope("a@example.org", to), BODY)
            .unwrap();
        client.quit().unwrap();
        outcome
    }));
}

/// A family the name has no address of: `Error::Connect` (NotFound, naming the family),
/// before any connection is tried; the server receives nothing.
#[test]
fn family_without_addresses_fails_to_connect() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let mut o = options(server.port(), T);
    o.family = AddressFamily::V6; // host is 127.0.0.1
    let e = Client::connect(o).unwrap_err();
    let Error::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("has no IPv6 address"), "{e}");
    assert!(e.is_transient());
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().unwrap().is_empty());
}

/// A local address that is not this host's: the bind fails, and so does the connect, saying
/// so (192.0.2.1 is TEST-NET-1, never assigned; nothing is sent anywhere).
#[test]
fn unbindable_local_address_fails_to_connect() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let mut o = options(server.port(), T);
    o.local_address = Some("192.0.2.1:0".parse().unwrap());
    let e = Client::connect(o).unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("cannot bind the local address 192.0.2.1:0"),
        "{e}"
    );
}

/// A socket path where nothing listens: `Error::Connect` naming `unix:PATH`, transient.
#[test]
fn unix_socket_nobody_listening_fails_to_connect() {
    let dir = mailwire_testkit::TempDir::new("no-socket").unwrap();
    let path = dir.path().join("absent.sock");
    let o = ClientOptions::unix(&path, ClientName::parse("client.test").unwrap());
    let e = Client::connect(o).unwrap_err();
    let Error::Connect { server, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*server, format!("unix:{}", path.display()));
    assert!(e.is_transient());
}

/// TCP's options with a Unix socket are refused (InvalidInput), not ignored.
#[test]
fn tcp_options_with_a_unix_socket_are_refused() {
    let mut o = ClientOptions::unix("/nonexistent.sock", ClientName::parse("c.test").unwrap());
    o.family = AddressFamily::V4;
    let e = Client::connect(o).unwrap_err();
    let Error::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput, "{e}");
}
