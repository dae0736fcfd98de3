//! The shared [`ClientOptions`] mean here what they mean in `mailwire-blocking`: the same
//! `mailwire_testkit::connect_cases` (IPv6 only to aiosmtpd on `::1`, IPv4 only to
//! `localhost`, two bound local ends seen as the peer, LMTP over smtp-sink's Unix socket), and
//! the failures. A missing peer skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

mod support;

use mailwire_testkit::connect_cases::{self, BODY};
use mailwire_testkit::peer_or_skip;
use mailwire_tokio::Client;
use support::*;

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

/// The shared cases where connecting fails: no address of the family, an unbindable local
/// address, a socket nobody listens on, TCP's options with a socket.
#[test]
fn family_local_address_and_unix_socket_failures() {
    let rt = runtime();
    peer_or_skip!(connect_cases::run_failed_cases(|o| {
        match rt.block_on(Client::connect(o)) {
            Ok(_) => panic!("connecting must fail"),
            Err(e) => e,
        }
    }));
}

/// `ClientOptions::pipe` (a program instead of a server) is `mailwire-blocking`'s: here it is
/// refused as unsupported, naming where it is supported, and no program is started.
#[test]
fn a_program_to_pipe_to_is_refused() {
    let dir = mailwire_testkit::TempDir::new("tokio-pipe").unwrap();
    let marker = dir.path().join("started");
    let mut o = options(0, std::time::Duration::from_secs(5));
    o.pipe = Some(mailwire_tokio::PipeCommand::new(
        "touch",
        [marker.as_os_str()],
    ));
    let e = match runtime().block_on(Client::connect(o)) {
        Ok(_) => panic!("connecting must fail"),
        Err(e) => e,
    };
    assert!(
        matches!(&e, mailwire_tokio::Error::Connect { source, .. }
            if source.kind() == std::io::ErrorKind::Unsupported),
        "{e:?}"
    );
    assert!(e.to_string().contains("mailwire-blocking"), "{e}");
    assert!(!marker.exists());
}
