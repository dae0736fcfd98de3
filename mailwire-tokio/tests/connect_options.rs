//! The shared [`ClientOptions`] mean here what they mean in `mailwire-blocking`: the same
//! `mailwire_testkit::connect_cases` (IPv6 only to aiosmtpd on `::1`, IPv4 only to
//! `localhost`, two bound local ends seen as the peer, LMTP over smtp-sink's Unix socket), and
//! the failures; `pipe` to Exim `-bs`. A missing peer skips, or fails under
//! `SMTP_REQUIRE_PEERS=1` (CI).

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

/// `ClientOptions::pipe`: SMTP with a program instead of a server, as in mailwire-blocking:
/// Exim's `-bs` takes pipelined messages and delivers them; a program that cannot start or
/// that never speaks is a typed error, and the program is reaped.
#[test]
fn a_program_to_pipe_to_exim_bs() {
    use mailwire_tokio::mailwire::TlsPolicy;
    use mailwire_tokio::PipeCommand;
    use std::time::Duration;
    let config = peer_or_skip!(mailwire_testkit::Exim::builder().prepare());
    let conf = config.config_path().to_str().unwrap().to_string();
    let mut o = options(0, Duration::from_secs(15));
    o.config.tls = TlsPolicy::Never;
    o.pipe = Some(PipeCommand::new(
        config.binary(),
        ["-C", conf.as_str(), "-odi", "-bs"],
    ));
    let rt = runtime();
    let outcomes = rt.block_on(async {
        let mut client = Client::connect(o).await.unwrap();
        let messages: Vec<_> = (0..3)
            .map(|i| {
                (
                    envelope("a@example.org", &[&format!("r{i}@example.net")]),
                    format!("Subject: {i}\r\n\r\n.dot {i}\r\n").into_bytes(),
                )
            })
            .collect();
        let outcomes = client
            .send_many(messages.iter().map(|(e, b)| (e.clone(), b.as_slice())))
            .await;
        client.quit().await.unwrap();
        outcomes
    });
    for o in &outcomes {
        assert!(o.as_ref().unwrap().is_accepted(), "{o:?}");
    }
    let delivered = config
        .wait_for_messages(3, Duration::from_secs(15))
        .unwrap();
    assert_eq!(delivered.len(), 3);
    assert!(delivered
        .iter()
        .all(|m| m.return_path == "a@example.org" && m.envelope_to.len() == 1));

    let failing = |program: &str, args: &[&str], timeout: Duration| {
        let mut o = options(0, timeout);
        o.config.tls = TlsPolicy::Never;
        let mut pipe = PipeCommand::new(program, args.iter().copied());
        pipe.exit_wait = Duration::from_millis(50);
        o.pipe = Some(pipe);
        match rt.block_on(Client::connect(o)) {
            Ok(_) => panic!("connecting must fail"),
            Err(e) => e,
        }
    };
    let e = failing("/nonexistent/mta", &[], Duration::from_secs(5));
    assert!(matches!(e, mailwire_tokio::Error::Connect { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot start /nonexistent/mta"),
        "{e}"
    );
    let e = failing("sleep", &["30"], Duration::from_millis(300));
    assert!(e.to_string().contains("timed out"), "{e}");
}
