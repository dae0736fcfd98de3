//! The rules every adapter's pool shares: what an idle connection gets, and when a message may
//! be tried again (never when its outcome is unknown); and the `Ledger`'s mapping from the
//! core's events to a call's result.

use mailwire::{ClientName, Config, Envelope, Mailbox, Timestamp, TlsPolicy};
use mailwire_transport::{may_retry, Error, IdleAction, Ledger, PoolOptions};
use std::time::Duration;

/// Reused when recent, checked with NOOP past `idle_check_after`, dropped past `max_idle`.
#[test]
fn idle_action_by_idle_time() {
    let p = PoolOptions::default();
    assert_eq!(p.idle_action(Duration::from_secs(1)), IdleAction::Reuse);
    assert_eq!(p.idle_action(p.idle_check_after), IdleAction::Reuse);
    assert_eq!(
        p.idle_action(p.idle_check_after + Duration::from_millis(1)),
        IdleAction::Check
    );
    assert_eq!(
        p.idle_action(p.max_idle + Duration::from_secs(1)),
        IdleAction::Drop
    );
    let mut zero = PoolOptions::default();
    zero.max_connections = 0;
    assert_eq!(zero.limit(), 1);
}

/// A session that ends while a message's content is out (a 421 after the end of data): the
/// Ledger reports `content_sent`, and `may_retry` refuses; before the content (a 421 to MAIL),
/// it may be retried, but only after a reused connection.
#[test]
fn retry_only_when_the_content_never_went_out() {
    for (replies, content_sent) in [
        (&b"250 ok\r\n421 4.3.2 bye\r\n"[..], false),
        (
            &b"250 ok\r\n250 ok\r\n354 go\r\n421 4.3.0 lost\r\n"[..],
            true,
        ),
    ] {
        let mut config = Config::new(ClientName::parse("client.test").unwrap());
        config.tls = TlsPolicy::Never;
        let now = Timestamp::ZERO;
        let mut core = mailwire::Client::new(config, now).unwrap();
        let mut ledger = Ledger::new("test::transcript");
        let mut wire = Vec::new();
        core.handle_input(now, b"220 mock ESMTP\r\n");
        core.poll_transmit(now, &mut wire);
        core.handle_input(now, b"250-mock\r\n250 PIPELINING\r\n");
        let envelope = Envelope::new(
            Some(Mailbox::parse("a@example.org").unwrap()),
            [Mailbox::parse("b@example.net").unwrap()],
        );
        let id = core.send_message_with_body(envelope, b"x\r\n").unwrap();
        core.poll_transmit(now, &mut wire);
        // The replies arrive one at a time, each after what it answers went out.
        for line in replies.split_inclusive(|b| *b == b'\n') {
            core.handle_input(now, line);
            core.poll_transmit(now, &mut wire);
        }
        ledger.drain(&mut core);
        assert!(ledger.is_closed());
        let result = ledger.take_outcome(&core, id);
        assert!(
            matches!(&result, Err(Error::Session { content_sent: c, .. }) if *c == content_sent),
            "{result:?}"
        );
        assert_eq!(may_retry(&result, true), !content_sent);
        assert!(!may_retry(&result, false), "never after a fresh connection");
        assert!(matches!(ledger.usable(&core), Err(Error::Session { .. })));
    }
}

/// A cancelled call makes every later call `Cancelled`, whatever the session's state.
#[test]
fn cancelled_is_sticky() {
    let mut config = Config::new(ClientName::parse("client.test").unwrap());
    config.tls = TlsPolicy::Never;
    let core = mailwire::Client::new(config, Timestamp::ZERO).unwrap();
    let mut ledger = Ledger::new("test::transcript");
    assert!(ledger.usable(&core).is_ok());
    ledger.set_cancelled();
    assert!(matches!(ledger.usable(&core), Err(Error::Cancelled)));
}
