//! `Pool` from many tasks: at most N connections, every message exactly one outcome, idle
//! connections checked or replaced, a 421 discarding its connection, never a message sent twice
//! when its outcome is unknown, and a cancelled send freeing its place. (`mailwire-blocking`'s
//! `tests/pool.rs` is the same for threads.)

mod support;

use mailwire_testkit::{peer_or_skip, SmtpSink, Tap};
use mailwire_tokio::mailwire::{Class, Envelope, MessageOutcome};
use mailwire_tokio::{Error, Pool, PoolOptions};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::io::AsyncWriteExt;

const T: Duration = Duration::from_secs(15);

fn policy(max: usize, check_after: Duration) -> PoolOptions {
    let mut p = PoolOptions::default();
    p.max_connections = max;
    p.idle_check_after = check_after;
    p
}

fn env() -> Envelope {
    envelope("a@example.org", &["b@example.net"])
}

/// 16 tasks × 100 messages over at most 4 connections to smtp-sink (counted by a relay in
/// front of it): every message one outcome, all accepted, each stored exactly once.
#[test]
fn sixteen_tasks_share_four_connections() {
    let sink = peer_or_skip!(SmtpSink::builder().dump(true).start());
    let tap = Tap::start(sink.addr()).unwrap();
    let pool = Arc::new(Pool::new(options(tap.addr().port(), T), policy(4, T)).unwrap());
    let outcomes = runtime().block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    for j in 0..100 {
                        let body = format!("Subject: {i}/{j}\r\n\r\nsender {i} message {j}\r\n");
                        let outcome = pool.send_bytes(env(), body.as_bytes()).await;
                        outcomes.push((body, outcome));
                    }
                    outcomes
                })
            })
            .collect();
        let mut all: Vec<(String, Result<MessageOutcome, Error>)> = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        pool.close_idle().await;
        all
    });
    assert_eq!(outcomes.len(), 1600);
    for (body, outcome) in &outcomes {
        assert!(
            outcome
                .as_ref()
                .is_ok_and(MessageOutcome::is_fully_accepted),
            "{body:?}: {outcome:?}"
        );
    }
    let stats = pool.stats();
    assert!(stats.opened <= 4, "{stats:?}");
    assert!(tap.connections() <= 4, "{} connections", tap.connections());
    let stored = sink.wait_for_messages(1600, T).unwrap();
    assert_eq!(stored.len(), 1600);
    let bodies: BTreeSet<String> = stored
        .iter()
        .map(|m| {
            String::from_utf8_lossy(&m.data)
                .lines()
                .last()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(bodies.len(), 1600, "a message stored twice or lost");
}

/// A server that closes connections idle for 1 s; no idle check configured: the send on the
/// stale connection fails before its content went out, so it is tried once more on a fresh
/// connection and succeeds; the server took each message once.
#[test]
fn a_connection_closed_while_idle_is_replaced_without_a_duplicate() {
    let server =
        MockServer::start(|peer, _| smtp_session(peer, Some(Duration::from_secs(1)), |_, _| None));
    let pool = Pool::new(options(server.port, T), policy(2, Duration::from_secs(60))).unwrap();
    runtime().block_on(async {
        assert!(pool
            .send_bytes(env(), b"first\r\n")
            .await
            .unwrap()
            .is_accepted());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(pool
            .send_bytes(env(), b"second\r\n")
            .await
            .unwrap()
            .is_accepted());
        pool.close_idle().await;
    });
    let stats = pool.stats();
    assert_eq!((stats.opened, stats.retried), (2, 1), "{stats:?}");
    assert_eq!(server.connections(), 2);
    let took = server.wait_for_messages(2, T);
    assert_eq!(took, [b"first\r\n".to_vec(), b"second\r\n".to_vec()]);
}

/// With an idle check after 300 ms: a connection idle longer is checked with NOOP first; the
/// check finds it closed, so a fresh one is used (no retry needed); one used again at once is
/// reused without a NOOP.
#[test]
fn an_idle_connection_is_checked_with_noop_only_after_the_threshold() {
    let server =
        MockServer::start(|peer, _| smtp_session(peer, Some(Duration::from_secs(1)), |_, _| None));
    let pool = Pool::new(
        options(server.port, T),
        policy(1, Duration::from_millis(300)),
    )
    .unwrap();
    runtime().block_on(async {
        pool.send_bytes(env(), b"one\r\n").await.unwrap();
        pool.send_bytes(env(), b"two\r\n").await.unwrap();
        assert_eq!(pool.stats().checked, 0, "no NOOP right after a send");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        pool.send_bytes(env(), b"three\r\n").await.unwrap();
        pool.close_idle().await;
    });
    let stats = pool.stats();
    assert_eq!(
        (stats.checked, stats.retried, stats.opened),
        (1, 0, 2),
        "{stats:?}"
    );
    assert_eq!(server.wait_for_messages(3, T).len(), 3);
}

/// RFC 5321 3.8: a 421 to MAIL on a reused connection: the connection is discarded, and the
/// message (its content never sent) goes on a fresh one.
#[test]
fn a_421_discards_the_connection() {
    let server = MockServer::start(|peer, conn| {
        smtp_session(peer, None, move |verb, n| {
            (conn == 0 && verb == "MAIL" && n == 1).then(|| "421 4.3.2 going down".to_string())
        })
    });
    let pool = Pool::new(options(server.port, T), policy(1, T)).unwrap();
    runtime().block_on(async {
        pool.send_bytes(env(), b"one\r\n").await.unwrap();
        assert!(pool
            .send_bytes(env(), b"two\r\n")
            .await
            .unwrap()
            .is_accepted());
        pool.close_idle().await;
    });
    let stats = pool.stats();
    assert_eq!(
        (stats.opened, stats.discarded, stats.retried),
        (2, 1, 1),
        "{stats:?}"
    );
    assert_eq!(server.wait_for_messages(2, T).len(), 2);
}

/// A 421 after the whole content went out: the outcome is unknown (the server may have taken
/// it), so the pool reports the failure and never sends the message again.
#[test]
fn a_message_whose_outcome_is_unknown_is_never_resent() {
    let server = MockServer::start(|peer, _| {
        smtp_session(peer, None, |verb, n| {
            (verb == "." && n == 1).then(|| "421 4.3.0 lost it".to_string())
        })
    });
    let pool = Pool::new(options(server.port, T), policy(1, T)).unwrap();
    let err = runtime().block_on(async {
        pool.send_bytes(env(), b"one\r\n").await.unwrap();
        pool.send_bytes(env(), b"two\r\n").await.unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::Session {
                content_sent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Temporary);
    assert_eq!(pool.stats().retried, 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 1, "no second connection, no resend");
}

/// A send cancelled mid-message (its body stalls; a timeout drops it): its connection is
/// discarded and its place freed, so the next send gets a fresh connection from a pool of one.
#[test]
fn a_cancelled_send_frees_its_place() {
    let server = MockServer::start(|peer, _| smtp_session(peer, None, |_, _| None));
    let pool = Pool::new(options(server.port, T), policy(1, T)).unwrap();
    runtime().block_on(async {
        let (mut writer, reader) = tokio::io::duplex(1024);
        writer
            .write_all(b"Subject: never finished\r\n\r\n")
            .await
            .unwrap();
        let cut = tokio::time::timeout(Duration::from_millis(300), pool.send(env(), reader)).await;
        assert!(cut.is_err());
        let sent = tokio::time::timeout(T, pool.send_bytes(env(), b"after\r\n")).await;
        assert!(sent.unwrap().unwrap().is_accepted());
        pool.close_idle().await;
        drop(writer);
    });
    let stats = pool.stats();
    assert_eq!((stats.opened, stats.discarded), (2, 1), "{stats:?}");
    assert_eq!(server.wait_for_messages(1, T), [b"after\r\n".to_vec()]);
}

/// With every connection in use, a send waits at most `PoolOptions::wait_timeout`, then gives
/// up with `Error::PoolTimeout` (temporary, nothing sent, no second connection), while the send
/// holding the connection completes.
#[test]
fn a_send_gives_up_after_the_wait_timeout_when_every_connection_is_busy() {
    let (holding_tx, holding) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let server = Mock::start(move |peer| held_message(peer, holding_tx, release_rx));
    let mut p = policy(1, T);
    p.wait_timeout = Some(Duration::from_millis(100));
    let pool = Arc::new(Pool::new(options(server.port, T), p).unwrap());
    runtime().block_on(async {
        let first = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.send_bytes(env(), b"first\r\n").await }
        });
        tokio::task::spawn_blocking(move || holding.recv_timeout(T))
            .await
            .unwrap()
            .expect("the first message's content arrived");
        let err = pool.send_bytes(env(), b"second\r\n").await.unwrap_err();
        assert!(
            matches!(err, Error::PoolTimeout { waited } if waited >= Duration::from_millis(100)),
            "{err:?}"
        );
        assert_eq!(err.class(), Class::Temporary);
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap().is_fully_accepted());
        pool.close_idle().await;
    });
    assert_eq!(pool.stats().opened, 1, "the waiting send opened nothing");
    server.join();
}
