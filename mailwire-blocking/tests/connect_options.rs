//! Where the connection goes and from where ([`ClientOptions::family`],
//! [`ClientOptions::local_address`], [`ClientOptions::unix_socket`]), checked by what the server
//! saw: `mailwire_testkit::connect_cases` (shared with `mailwire-tokio` and `smtp-send`) runs
//! IPv6 only to aiosmtpd on `::1`, IPv4 only to `localhost`, two bound local ends seen as the
//! peer, and LMTP (RFC 2033) over smtp-sink's Unix socket, and the failures. A missing peer
//! skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_blocking::Client;
use mailwire_testkit::connect_cases::{self, BODY};
use mailwire_testkit::peer_or_skip;
use support::*;

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

/// The shared cases where connecting fails: no address of the family, an unbindable local
/// address, a socket nobody listens on, TCP's options with a socket.
#[test]
fn family_local_address_and_unix_socket_failures() {
    peer_or_skip!(connect_cases::run_failed_cases(|o| {
        match Client::connect(o) {
            Ok(_) => panic!("connecting must fail"),
            Err(e) => e,
        }
    }));
}
