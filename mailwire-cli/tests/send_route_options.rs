//! Where `smtp-send` connects: `-4` / `-6` (one address family of the server's name),
//! `--local-interface` (the local end, seen by the server as the peer), `--socket` (a
//! Unix-domain socket, with LMTP as Dovecot and Cyrus speak it there). Checked by what the
//! servers saw: aiosmtpd records the peer address on 127.0.0.1 and on `::1`, and the PROXY
//! header of `--proxy-version` (from both commands); smtp-sink listens on a Unix socket.
//! `smtp-bulk` (on mailwire-mio, TCP to one address) refuses the others (64).

mod support;

use mailwire_testkit::connect_cases::{self, only_peer, LMTP_RECIPIENTS};
use mailwire_testkit::{peer_or_skip, Aiosmtpd};
use std::net::{IpAddr, Ipv6Addr};
use std::process::Output;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// `smtp-send` with a message to one recipient and `extra` options.
fn send(extra: &[&str]) -> Output {
    let mut args = vec![
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--subject",
        "route",
        "--body",
        "hello",
        "--starttls",
        "never",
    ];
    args.extend_from_slice(extra);
    smtp_send(&args, &[], T)
}

/// `-6` to a server on `::1`: sent over IPv6, the server's peer is `::1` (on a machine that has
/// `::1`).
#[test]
fn ipv6_only_to_a_server_on_v6_loopback() {
    if !connect_cases::has_ipv6_loopback() {
        return;
    }
    let server = peer_or_skip!(Aiosmtpd::builder()
        .host(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .start());
    let target = format!("[::1]:{}", server.port());
    let out = send(&["--server", &target, "-6"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(only_peer(&server).ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
}

/// `-4` with a name: `localhost` lands on 127.0.0.1 (whatever else it resolves to here).
#[test]
fn ipv4_only_by_name_lands_on_127_0_0_1() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("localhost:{}", server.port());
    let out = send(&["--server", &target, "-4"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        only_peer(&server).ip(),
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
}

/// `-6` to a server listening on 127.0.0.1 only: the connection fails (75, as any failed
/// connection), by name (no IPv6 address, or `::1` refusing) and by IPv4 literal (no IPv6
/// address: said on stderr), and the server receives nothing.
#[test]
fn ipv6_only_to_an_ipv4_only_server_fails_to_connect() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    for host in ["localhost", "127.0.0.1"] {
        let target = format!("{host}:{}", server.port());
        let out = send(&["--server", &target, "-6", "--json"]);
        assert_eq!(out.status.code(), Some(75), "{host}: {}", describe(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["error"]["stage"], "greeting", "{json}");
    }
    let out = send(&["--server", &format!("127.0.0.1:{}", server.port()), "-6"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1 has no IPv6 address"),
        "{}",
        describe(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().unwrap().is_empty());
}

/// `--local-interface 127.0.0.2` is the peer the server sees; `127.0.0.1:PORT` its port too.
#[test]
fn local_interface_is_the_peer_the_server_sees() {
    for local in connect_cases::local_addresses() {
        let server = peer_or_skip!(Aiosmtpd::builder().start());
        let target = format!("127.0.0.1:{}", server.port());
        let given = match local.port() {
            0 => local.ip().to_string(),
            _ => local.to_string(),
        };
        let out = send(&["--server", &target, "--local-interface", &given]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        connect_cases::assert_peer_is(local, only_peer(&server));
    }
}

/// A malformed `--local-interface` (a name, an injection attempt) is a usage error (64),
/// nothing is connected; an address not of this host fails to bind (75, said on stderr).
#[test]
fn bad_local_interface() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    for bad in ["localhost", "127.0.0.1:notaport", "127.0.0.1\r\nQUIT"] {
        let out = send(&["--server", &target, "--local-interface", bad]);
        assert_eq!(out.status.code(), Some(64), "{bad:?}: {}", describe(&out));
    }
    let out = send(&["--server", &target, "--local-interface", "192.0.2.1"]);
    assert_eq!(out.status.code(), Some(75), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot bind the local address 192.0.2.1"),
        "{}",
        describe(&out)
    );
    assert!(server.messages().unwrap().is_empty());
}

/// `smtp-send --socket PATH --protocol lmtp` from a@example.org to the LMTP case's
/// recipients, with `extra` options.
fn send_lmtp(path: &str, extra: &[&str]) -> Output {
    let [to, cc] = LMTP_RECIPIENTS;
    let mut args = vec!["--socket", path, "--protocol", "lmtp"];
    args.extend_from_slice(&["--from", "a@example.org", "--to", to, "--cc", cc]);
    args.extend_from_slice(extra);
    smtp_send(&args, &[], T)
}

/// `--socket` with LMTP (RFC 2033) to smtp-sink's Unix socket: no --server, no TLS name, one
/// result line per recipient, the message delivered; `--json` names the socket.
#[test]
fn lmtp_over_a_unix_socket() {
    let sink = peer_or_skip!(connect_cases::lmtp_socket_sink());
    let path = sink.socket_path().unwrap().to_str().unwrap().to_string();
    let out = send_lmtp(&path, &["--subject", "over a socket", "--body", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "<b@example.net>: delivered: 250 2.2.0 Ok",
            "<c@example.net>: delivered: 250 2.2.0 Ok"
        ],
        "{}",
        describe(&out)
    );
    let m = &sink.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.client_proto, "LMTP");
    assert_eq!(m.rcpt_args, LMTP_RECIPIENTS.map(|r| format!("<{r}>")));
    let data = String::from_utf8_lossy(&m.data);
    assert!(data.contains("Subject: over a socket\n"), "{data:?}");
    assert!(data.contains("Cc: <c@example.net>\n"), "{data:?}");

    let out = send_lmtp(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["server"], format!("unix:{path}"));
    assert_eq!(json["tls"], false);
    assert_eq!(json["recipients"][1]["delivery"]["code"], 250);
}

/// `--quit-after` over `--socket` (the probe connects through the same route): `connect` opens
/// the socket alone (`connected to unix:PATH`, no greeting read), `ehlo` stops after LHLO with
/// the greeting and the capabilities printed; nothing is delivered.
#[test]
fn probe_over_a_unix_socket() {
    let sink = peer_or_skip!(connect_cases::lmtp_socket_sink());
    let path = sink.socket_path().unwrap().to_str().unwrap().to_string();
    for stop in ["connect", "ehlo"] {
        let args = [
            "--socket",
            &path,
            "--protocol",
            "lmtp",
            "--quit-after",
            stop,
        ];
        let out = smtp_send(&args, &[], T);
        assert_eq!(out.status.code(), Some(0), "{stop}: {}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with(&format!("connected to unix:{path}\n")),
            "{stop}: {}",
            describe(&out)
        );
        for learnt in ["greeting: 220", "capabilities: "] {
            assert_eq!(
                stdout.contains(learnt),
                stop == "ehlo",
                "{stop}: {}",
                describe(&out)
            );
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.messages().unwrap().is_empty());
}

/// `--socket` rules: TLS over it needs `--tls-name` (64); it conflicts with `--server`, `-4`,
/// `-6`, `--local-interface` and `--demo` (64); a socket nobody listens on is a failed
/// connection (75).
#[test]
fn socket_usage_rules() {
    let dir = mailwire_testkit::TempDir::new("no-socket").unwrap();
    let path = dir.path().join("absent.sock");
    let path = path.to_str().unwrap();
    let base = [
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--socket",
        path,
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        smtp_send(&args, &[], T)
    };
    for (extra, code) in [
        (&["--starttls", "required"][..], 64),
        (&["--tls-on-connect"], 64),
        (&["--server", "127.0.0.1:25"], 64),
        (&["-4"], 64),
        (&["-6"], 64),
        (&["--local-interface", "127.0.0.1"], 64),
        (&["--demo"], 64),
        (&[], 75),
        (
            &["--starttls", "required", "--tls-name", "lmtp.example"],
            75,
        ),
    ] {
        let out = run(extra);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{extra:?}: {}",
            describe(&out)
        );
    }
    let out = run(&["--starttls", "opportunistic"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --tls-name"),
        "{}",
        describe(&out)
    );
}

/// smtp-bulk does not have these flags (mailwire-mio connects over TCP to one address): each
/// is refused as a usage error (64), never silently ignored.
#[test]
fn smtp_bulk_refuses_route_options() {
    for extra in [
        &["-4"][..],
        &["-6"],
        &["--local-interface", "127.0.0.1"],
        &["--socket", "/nonexistent.sock"],
    ] {
        let mut args = vec![
            "--server",
            "127.0.0.1:1",
            "--connections",
            "1",
            "--messages",
            "1",
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
        ];
        args.extend_from_slice(extra);
        let out = smtp_bulk(&args, &[], T);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", describe(&out));
    }
}

/// `--proxy-version 1|2` with `--proxy-source`/`--proxy-dest`: aiosmtpd, behind which a proxy
/// would be, records the header sent before the greeting; `--verbose` shows it; addresses that
/// cannot be sent are refused before connecting (64).
#[test]
fn proxy_header_announces_the_given_client() {
    let server = peer_or_skip!(Aiosmtpd::builder().proxy_protocol(true).start());
    let target = format!("127.0.0.1:{}", server.port());
    let out = send(&[
        "--server",
        &target,
        "--proxy-version",
        "1",
        "--proxy-source",
        "203.0.113.9:5555",
        "--verbose",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "*** PROXY header sent (PROXY TCP4 203.0.113.9 127.0.0.1 5555 {})",
            server.port()
        )),
        "{stderr}"
    );
    let out = send(&[
        "--server",
        &target,
        "--proxy-version",
        "2",
        "--proxy-source",
        "[2001:db8::9]:5555",
        "--proxy-dest",
        "[2001:db8::25]:25",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stored = server.wait_for_messages(2, T).unwrap();
    let p: Vec<_> = stored.iter().map(|m| m.proxy.clone().unwrap()).collect();
    assert_eq!(p[0].version, 1);
    assert_eq!(p[0].source, Some("203.0.113.9:5555".parse().unwrap()));
    assert_eq!((p[1].version, p[1].command.as_deref()), (2, Some("PROXY")));
    assert_eq!(p[1].destination, Some("[2001:db8::25]:25".parse().unwrap()));

    // Refused before connecting: nothing listens on this port.
    let nowhere = format!("127.0.0.1:{}", mailwire_testkit::free_port());
    for (extra, why) in [
        (&["--proxy-source", "not-an-address"][..], "--proxy-source"),
        (
            &[
                "--proxy-source",
                "[2001:db8::9]:1",
                "--proxy-dest",
                "192.0.2.1:25",
            ],
            "one address family",
        ),
        (&["--proxy-dest", "192.0.2.1"], "--proxy-dest"),
    ] {
        let mut args = vec!["--server", &nowhere, "--proxy-version", "2"];
        args.extend_from_slice(extra);
        let out = send(&args);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{stderr}");
    }
    // An IPv6 source to the IPv4 server, its destination taken from the connection: the
    // adapter's refusal, also 64, and the server got no message.
    let out = send(&[
        "--server",
        &target,
        "--proxy-version",
        "1",
        "--proxy-source",
        "[2001:db8::9]:1",
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    assert_eq!(server.messages().unwrap().len(), 2);
}

/// `--pipe COMMAND` (swaks' `--pipe`): the session with `exim -bs` run by the shell, no
/// listener anywhere; Exim delivers the message; `--json`'s `server` names the command; a
/// command that is no MTA fails as a session would (75), and the route's other options and
/// TLS without --tls-name are 64.
#[test]
fn pipe_speaks_smtp_with_exim_bs() {
    let config = peer_or_skip!(mailwire_testkit::Exim::builder().prepare());
    let command = format!(
        "exec '{}' -C '{}' -odi -bs",
        config.binary().display(),
        config.config_path().display()
    );
    let out = send(&["--pipe", &command, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["server"], format!("pipe:/bin/sh -c {command}"));
    assert_eq!(v["tls"], false);
    let delivered = config.wait_for_messages(1, T).unwrap();
    assert_eq!(delivered[0].envelope_to, ["b@example.net"]);
    assert!(String::from_utf8_lossy(&delivered[0].data).contains("hello"));

    let out = send(&["--pipe", "echo 554 no SMTP here; exit 0"]);
    assert_eq!(out.status.code(), Some(69), "{}", describe(&out));
    let out = send(&["--pipe", "exit 0"]);
    assert_eq!(out.status.code(), Some(75), "{}", describe(&out));
    for extra in [
        &["--server", "127.0.0.1:25"][..],
        &["--socket", "/tmp/x.sock"],
        &["--proxy-version", "1"],
        &["-4"],
        &["--tls-on-connect"],
    ] {
        let mut args = vec!["--pipe", "true"];
        args.extend_from_slice(extra);
        let out = send(&args);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", describe(&out));
    }
}

/// `smtp-bulk --proxy-version 2 --proxy-source`: every connection announces the given client
/// (aiosmtpd records it with each message); two families: 64 before connecting.
#[test]
fn smtp_bulk_sends_the_proxy_header_on_every_connection() {
    let server = peer_or_skip!(Aiosmtpd::builder().proxy_protocol(true).start());
    let target = format!("127.0.0.1:{}", server.port());
    let base = [
        "--server",
        target.as_str(),
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--messages",
        "4",
        "--size",
        "500",
        "--connections",
        "2",
        "--quiet",
        "--proxy-version",
        "2",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        smtp_bulk(&args, &[], T)
    };
    let out = run(&["--proxy-source", "198.51.100.7:7"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stored = server.wait_for_messages(4, T).unwrap();
    for m in &stored {
        let p = m.proxy.clone().unwrap();
        assert_eq!(p.version, 2);
        assert_eq!(p.source, Some("198.51.100.7:7".parse().unwrap()));
        assert_eq!(p.destination, Some(target.parse().unwrap()));
    }
    let out = run(&[
        "--proxy-source",
        "[2001:db8::7]:7",
        "--proxy-dest",
        "192.0.2.1:25",
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    assert_eq!(server.messages().unwrap().len(), 4);
}
