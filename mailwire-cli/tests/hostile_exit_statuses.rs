//! `smtp-send` against the hostile-server table's command-line cases
//! (`mailwire_testkit::hostile::run_exit_statuses`): each exit status is the case's class's.
//! `mailwire-tokio`'s `send` example is held to the same table, so the two agree.

/// Each case's exit status is the class's `exit_status()`.
#[test]
fn smtp_send_exit_statuses_on_hostile_servers() {
    mailwire_testkit::hostile::run_exit_statuses(std::path::Path::new(env!(
        "CARGO_BIN_EXE_smtp-send"
    )));
}
