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
