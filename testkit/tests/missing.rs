//! A peer that is not installed gives a typed error. This file is its own
//! test binary, with a single test, because it changes the environment,
//! which other tests would read concurrently.

use mailwire_testkit::{Aiosmtpd, Exim, SmtpSink};

#[test]
fn missing_peers_are_typed_errors() {
    std::env::set_var("SMTP_PEERS_DIR", "/nonexistent/smtp-peers");
    std::env::set_var("SMTP_EXIM", "/nonexistent/exim4");
    std::env::set_var("SMTP_PEERS_PYTHON", "");
    std::env::set_var("PATH", "/nonexistent");

    let err = SmtpSink::builder().start().unwrap_err();
    assert!(err.is_missing(), "{err}");
    assert!(err.to_string().contains("install-peers"), "{err}");

    let err = Exim::builder().start().unwrap_err();
    assert!(err.is_missing(), "{err}");

    let err = Aiosmtpd::builder().start().unwrap_err();
    assert!(err.is_missing(), "{err}");

    let err = mailwire_testkit::OpenSmtpd::builder().start().unwrap_err();
    assert!(err.is_missing(), "{err}");

    assert!(mailwire_testkit::smtp_source_path().is_none());
}
