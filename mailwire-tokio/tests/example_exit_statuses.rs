//! The `send` example (built by `cargo test` next to this test's binary, in
//! `target/<profile>/examples/`) exits with `smtp-send`'s status for every hostile-server case
//! both run (`mailwire_testkit::hostile::run_exit_statuses`: `mailwire-cli`'s
//! `tests/hostile_exit_statuses.rs` holds `smtp-send` to the same table).

use std::path::PathBuf;

fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<this test> -> target/<profile>/examples/send
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile
        .join("examples")
        .join(format!("send{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        // `cargo test` builds the examples; `cargo test --test example_exit_statuses` does not.
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "mailwire-tokio", "--example", "send"])
            .status()
            .unwrap();
        assert!(
            built.success() && path.exists(),
            "{} was not built",
            path.display()
        );
    }
    path
}

/// Each case's exit status is the class's `exit_status()`, as `smtp-send`'s is.
#[test]
fn example_exits_as_smtp_send_does() {
    mailwire_testkit::hostile::run_exit_statuses(&example());
}

/// The example's route flags (`mailwire_cli::connect::RouteArgs`, smtp-send's) reach the tokio
/// adapter: `--local-interface 127.0.0.2` is the peer aiosmtpd records, and `--socket` with
/// `--protocol lmtp` delivers over smtp-sink's Unix socket, a reply per recipient.
#[test]
fn example_honours_local_interface_and_socket() {
    use mailwire_testkit::connect_cases::{self, LMTP_RECIPIENTS};
    use mailwire_testkit::mock::run_bounded;
    use mailwire_testkit::{peer_or_skip, Aiosmtpd, TempDir};
    use std::time::Duration;
    const T: Duration = Duration::from_secs(20);

    let dir = TempDir::new("example-route").unwrap();
    let message = dir.path().join("m.eml");
    std::fs::write(&message, connect_cases::BODY).unwrap();
    let message = message.to_str().unwrap();
    let describe = |out: &std::process::Output| {
        format!(
            "status {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let args = [
        "--server",
        &target,
        "--starttls",
        "never",
        "--local-interface",
        "127.0.0.2",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--message-file",
        message,
    ];
    let out = run_bounded(&example(), &args, &[], T);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let peer = connect_cases::only_peer(&server);
    assert_eq!(peer.ip(), std::net::Ipv4Addr::new(127, 0, 0, 2), "{peer}");

    let sink = peer_or_skip!(connect_cases::lmtp_socket_sink());
    let path = sink.socket_path().unwrap().to_str().unwrap();
    let [to, cc] = LMTP_RECIPIENTS;
    let args = [
        "--socket",
        path,
        "--protocol",
        "lmtp",
        "--from",
        "a@example.org",
        "--to",
        to,
        "--to",
        cc,
        "--message-file",
        message,
    ];
    let out = run_bounded(&example(), &args, &[], T);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let m = &sink.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.client_proto, "LMTP");
    assert_eq!(m.rcpt_args, LMTP_RECIPIENTS.map(|r| format!("<{r}>")));
}
