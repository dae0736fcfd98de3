//! RFC 3030 2 and 4.2: BDAT chunks are pipelined, so a server's refusal of an early chunk may
//! arrive after `BDAT … LAST` is out. The message is then refused with that reply, its content
//! counted as sent, and RSET precedes the next MAIL, as for a refusal before LAST. (Found by the
//! `caller_api` fuzz target: the session moved the finished message from `Done` to `Abandoned`,
//! a transition not in `STEP_TABLE`, and debug builds panicked.)

mod support;

use mailwire::{Rejection, Verdict};
use support::{base_config, envelope_to, events, outcome_of, ready_session, sent};

#[test]
fn bdat_chunk_refused_after_last_was_sent() {
    let mut config = base_config();
    config.limits.bdat_chunk_size = 2;
    let mut client = ready_session(config, &["mx.example", "PIPELINING", "CHUNKING"]);
    let id = client
        .send_message_with_body(envelope_to(&["b@example.net"]), b"abcd\r\n")
        .unwrap();
    assert_eq!(
        sent(&mut client),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\
         BDAT 2\r\nabBDAT 2\r\ncdBDAT 2 LAST\r\n\r\n"
    );
    let now = mailwire::Timestamp::ZERO;
    client.handle_input(now, b"250 ok\r\n250 ok\r\n451 4.3.0 try later\r\n");
    // The LAST chunk's reply is still awaited: no outcome yet.
    assert!(outcome_of(&events(&mut client), id).is_none());
    client.handle_input(
        now,
        b"503 5.5.1 no transaction\r\n554 5.5.1 no transaction\r\n",
    );
    let outcome = outcome_of(&events(&mut client), id).expect("an outcome");
    match &outcome.verdict {
        Verdict::Rejected(Rejection::Data(reply)) => assert_eq!(reply.code().get(), 451),
        other => panic!("{other:?}"),
    }
    assert!(outcome.is_transient());
    assert!(!client.is_closed());
    // The server may keep the transaction: RSET before the next MAIL.
    client
        .send_message_with_body(envelope_to(&["c@example.net"]), b"x\r\n")
        .unwrap();
    assert!(
        sent(&mut client).starts_with("RSET\r\nMAIL FROM:<a@example.org>\r\n"),
        "no RSET first"
    );
}
