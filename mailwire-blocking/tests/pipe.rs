//! `ClientOptions::pipe`: SMTP with a program instead of a server, as `swaks --pipe` does:
//! Exim's `-bs` mode (SMTP on its standard input and output) takes pipelined messages and
//! delivers them; a program that cannot be started, that exits at once, or that never speaks
//! is a typed error; the program is always reaped; the route's other options are refused.

mod support;

use mailwire_blocking::mailwire::{Class, TlsPolicy};
use mailwire_blocking::{Client, ClientOptions, Error, PipeCommand};
use mailwire_testkit::{peer_or_skip, Exim};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

fn piped(program: &str, args: &[&str], timeout: Duration) -> ClientOptions {
    let mut o = options(0, timeout);
    o.config.tls = TlsPolicy::Never;
    o.pipe = Some(PipeCommand::new(program, args.iter().copied()));
    o
}

#[test]
fn exim_bs_takes_pipelined_messages() {
    let config = peer_or_skip!(Exim::builder().prepare());
    let program = config.binary().to_str().unwrap().to_string();
    let conf = config.config_path().to_str().unwrap().to_string();
    let o = piped(&program, &["-C", &conf, "-odi", "-bs"], T);
    assert_eq!(o.server(), format!("pipe:{program} -C {conf} -odi -bs"));
    let mut client = Client::connect(o).unwrap();
    assert!(client.capabilities().unwrap().pipelining);
    let messages: Vec<_> = (0..3)
        .map(|i| {
            (
                envelope("a@example.org", &[&format!("r{i}@example.net")]),
                format!("Subject: {i}\r\n\r\n.dot {i}\r\n").into_bytes(),
            )
        })
        .collect();
    let outcomes = client.send_many(messages.iter().map(|(e, b)| (e.clone(), b.as_slice())));
    for o in &outcomes {
        assert!(o.as_ref().unwrap().is_accepted(), "{o:?}");
    }
    client.quit().unwrap();
    let delivered = config.wait_for_messages(3, T).unwrap();
    assert_eq!(delivered.len(), 3);
    for i in 0..3 {
        let m = delivered
            .iter()
            .find(|m| m.envelope_to == [format!("r{i}@example.net")])
            .unwrap();
        assert_eq!(m.return_path, "a@example.org");
        assert!(String::from_utf8_lossy(&m.data).contains(&format!("\r\n.dot {i}\r\n")));
    }
}

#[test]
fn programs_that_cannot_speak_smtp_are_typed_errors() {
    // No such program: a connect error naming it.
    let e = Client::connect(piped("/nonexistent/mta", &[], T))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot start /nonexistent/mta"),
        "{e}"
    );
    assert_eq!(e.class(), Class::Temporary);

    // Exits at once: the session ends before a greeting.
    let e = Client::connect(piped("true", &[], T)).err().unwrap();
    assert!(matches!(e, Error::Session { .. }), "{e:?}");

    // Never speaks: the greeting times out, and the program is killed and reaped.
    let mut o = piped("sleep", &["30"], Duration::from_millis(300));
    o.pipe.as_mut().unwrap().exit_wait = Duration::from_millis(50);
    let e = Client::connect(o).err().unwrap();
    assert!(e.to_string().contains("timed out"), "{e}");

    // A program takes no other route.
    let mut o = piped("true", &[], T);
    o.unix_socket = Some("/tmp/x.sock".into());
    let e = Client::connect(o).err().unwrap();
    assert!(
        matches!(&e, Error::Connect { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput),
        "{e:?}"
    );
}
