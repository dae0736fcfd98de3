//! One table of hostile-server cases, driven through every adapter: each [`Case`] is a scripted
//! server ([`crate::mock`]), what the client does against it ([`Action`]), and what must come of
//! it ([`Expect`]: the core's [`Class`] and the shape of the error, how long it may take, what
//! the server must have seen). `mailwire-blocking` and `mailwire-tokio` each run the whole
//! table with [`run_table`] (their `tests/hostile_server.rs`), and the command-line tools run
//! the cases marked [`Case::cli`] and compare their exit statuses with
//! [`Case::exit_status`].
//!
//! What a real server does not do on purpose lives here: dripping replies, silence, 421 at
//! several stages, garbage, closing mid-reply, a stray reply, a server that stops reading,
//! BDAT without PIPELINING, a reply in the middle of the content.

use crate::mock::{Mock, Peer};
use mailwire::{Class, Error as CoreError, MessageOutcome, Reply, Stage};
use mailwire_transport::{Error, Transport};
use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

/// What the scripted server saw, for [`Case::saw`].
#[derive(Debug, Default)]
pub struct Seen {
    /// The message content it read (DATA's lines before the `.`, or BDAT chunks), or whatever
    /// it drained.
    pub content: Vec<u8>,
    /// BDAT chunks read.
    pub chunks: usize,
    /// Whether it read a DATA end of data (the `.` line).
    pub end_of_data: bool,
    /// Every command line it read.
    pub lines: Vec<String>,
}

/// What the client does against the server (after connecting, for all but [`Action::Connect`]),
/// as `a@example.org` to the recipients given.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// Only `Client::connect`: the case is about the session's start.
    Connect,
    /// `send_bytes` with this content.
    SendBytes {
        /// The recipients.
        to: &'static [&'static str],
        /// The content.
        body: &'static [u8],
    },
    /// `send` streaming this content from a reader that counts how much of it was read
    /// ([`Observed::body_read`]).
    Stream {
        /// The content.
        body: fn() -> Vec<u8>,
    },
    /// `send` from a reader that gives six bytes, then fails.
    FailingBody,
}

/// What the client's call must return.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// An outcome of this class.
    Outcome(Class),
    /// An error of this class and shape.
    Error {
        /// Its class ([`Error::class`]).
        class: Class,
        /// Whether it is the error expected (the variant, the stage, the cause).
        shape: fn(&Error) -> bool,
        /// The shape, for failure messages.
        describe: &'static str,
    },
}

/// One hostile server and what must come of meeting it.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// A name, for failure messages.
    pub name: &'static str,
    /// What it checks, and the RFC.
    pub about: &'static str,
    /// The server's script; `None`: nothing listens on the port.
    pub script: Option<fn(&mut Peer) -> Seen>,
    /// The client's timeouts (`Timeouts::uniform`, and the connect timeout).
    pub timeout: Duration,
    /// The client requires STARTTLS (`TlsPolicy::Required`, any certificate accepted: the
    /// cases are about what comes before or instead of a certificate).
    pub starttls: bool,
    /// What the client does.
    pub action: Action,
    /// What its call returns.
    pub expect: Expect,
    /// The call returns within this.
    pub within: Duration,
    /// After it, NOOP fails with the same session error (the session's error is sticky).
    pub sticky: bool,
    /// For [`Action::Stream`]: the reader may have been read this far at most when the call
    /// returned (memory bounded by back-pressure, not by the body's size).
    pub max_body_read: Option<usize>,
    /// What the server must have seen.
    pub saw: fn(&Seen) -> Result<(), String>,
    /// Whether the server's script is waited for (false for one that holds the connection
    /// open long after the client gave up; it ends by itself).
    pub join: bool,
    /// Whether the command-line tools run it (`--message-file` with the content of
    /// [`Action::SendBytes`], or any for [`Action::Connect`]).
    pub cli: bool,
}

/// What an adapter's run of a case gave.
#[derive(Debug)]
pub struct Observed {
    /// The call's result (`None` for a successful [`Action::Connect`]).
    pub result: Result<Option<MessageOutcome>, Error>,
    /// How long the call took.
    pub elapsed: Duration,
    /// NOOP's result after the call, when [`Case::sticky`].
    pub after: Option<Result<Reply, Error>>,
    /// For [`Action::Stream`]: how many body bytes the client had read when the call returned.
    pub body_read: Option<usize>,
}

impl Case {
    /// The exit status a command gives for this case (`smtp-send`, the tokio adapter's
    /// example): the class's ([`Class::exit_status`]).
    pub fn exit_status(&self) -> u8 {
        match self.expect {
            Expect::Outcome(class) | Expect::Error { class, .. } => class.exit_status(),
        }
    }

    /// Checks what an adapter observed and what the server saw against the expectation.
    pub fn check(&self, observed: &Observed, seen: &Seen) -> Result<(), String> {
        match (&self.expect, &observed.result) {
            (Expect::Outcome(class), Ok(Some(outcome))) if outcome.class() == *class => {}
            (Expect::Outcome(class), Ok(None)) if matches!(self.action, Action::Connect) => {
                if *class != Class::Delivered {
                    return Err(format!("connected, expected {class:?}"));
                }
            }
            (Expect::Error { class, shape, .. }, Err(e)) if shape(e) && e.class() == *class => {}
            (expect, got) => return Err(format!("expected {expect:?}, got {got:?}")),
        }
        if observed.elapsed > self.within {
            return Err(format!(
                "took {:?}, more than {:?}",
                observed.elapsed, self.within
            ));
        }
        if self.sticky {
            let first = observed.result.as_ref().err().and_then(session);
            match &observed.after {
                Some(Err(e)) if first.is_some() && session(e) == first => {}
                after => return Err(format!("NOOP after the failure gave {after:?}")),
            }
        }
        if let (Some(max), Some(read)) = (self.max_body_read, observed.body_read) {
            if read > max {
                return Err(format!(
                    "the body reader was read {read} bytes ahead (at most {max})"
                ));
            }
        }
        (self.saw)(seen).map_err(|e| format!("the server saw: {e}"))
    }
}

/// Runs every case of [`cases`] through an adapter: `run` connects to `127.0.0.1:port` with the
/// case's timeouts (no TLS, or STARTTLS required with any certificate accepted when
/// [`Case::starttls`]), does the case's [`Action`] and reports what happened. Panics with
/// every failing case listed.
pub fn run_table(run: impl Fn(&Case, u16) -> Observed) {
    let mut failures = Vec::new();
    for case in cases() {
        let (port, mock) = match case.script {
            Some(script) => {
                let mock = Mock::start(move |peer| {
                    let mut seen = script(peer);
                    seen.lines = std::mem::take(&mut peer.lines);
                    seen
                });
                (mock.port, Some(mock))
            }
            None => (closed_port(), None),
        };
        let observed = run(&case, port);
        let seen = match mock {
            Some(mock) if case.join => mock.join(),
            _ => Seen::default(),
        };
        if let Err(why) = case.check(&observed, &seen) {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A port on 127.0.0.1 that nothing listens on (a moment ago).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    l.local_addr().expect("a bound address").port()
}

/// A reader that gives six bytes, then fails: [`Action::FailingBody`].
#[derive(Debug, Default)]
pub struct FailingBody(bool);

impl Read for FailingBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if std::mem::replace(&mut self.0, true) {
            Err(std::io::Error::other("disk on fire"))
        } else {
            buf[..6].copy_from_slice(b"part\r\n");
            Ok(6)
        }
    }
}

// ----- shapes -----

fn session(e: &Error) -> Option<&CoreError> {
    match e {
        Error::Session { error, .. } => Some(error),
        _ => None,
    }
}

fn io_cause(e: &Error) -> Option<std::io::ErrorKind> {
    match e {
        Error::Session {
            cause: Some(cause), ..
        } => match &**cause {
            Transport::Io(source) => Some(source.kind()),
            _ => None,
        },
        _ => None,
    }
}

fn nothing(_: &Seen) -> Result<(), String> {
    Ok(())
}

fn lines_of_text(size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 32);
    while body.len() < size {
        body.extend_from_slice(format!("line {}\r\n", body.len()).as_bytes());
    }
    body
}

// ----- scripts -----

fn drip_greeting(peer: &mut Peer) -> Seen {
    for b in "220-mock.test a very long greeting that never ends\r\n"
        .bytes()
        .cycle()
        .take(200)
    {
        // Stops once the client has gone (the write fails).
        if peer.stream.write_all(&[b]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    Seen::default()
}

fn silent_after_mail(peer: &mut Peer) -> Seen {
    peer.hello(&[]);
    peer.expect("MAIL FROM");
    thread::sleep(Duration::from_secs(3));
    Seen::default()
}

fn closing_after_content(peer: &mut Peer) -> Seen {
    peer.hello(&["PIPELINING"]);
    peer.expect("MAIL FROM");
    peer.expect("RCPT TO");
    peer.expect("DATA");
    peer.send("250 ok\r\n250 ok\r\n354 go\r\n");
    let content = peer.data();
    peer.send("421 4.3.0 shutting down\r\n");
    Seen {
        content,
        end_of_data: true,
        ..Seen::default()
    }
}

fn closing_at_data(peer: &mut Peer) -> Seen {
    peer.hello(&[]);
    peer.expect("MAIL FROM");
    peer.send("250 ok\r\n");
    peer.expect("RCPT TO");
    peer.send("250 ok\r\n");
    peer.expect("DATA");
    peer.send("421 4.4.5 too busy\r\n");
    Seen::default()
}

fn garbage_greeting(peer: &mut Peer) -> Seen {
    peer.send("HTTP/1.1 400 Bad Request\r\n\r\n");
    thread::sleep(Duration::from_millis(200));
    Seen::default()
}

fn stray_reply_after_greeting(peer: &mut Peer) -> Seen {
    // RFC 5321 4.2: a reply comes only for a command sent; this 250 answers nothing.
    peer.send("220 mock.test ESMTP\r\n250 stray\r\n");
    thread::sleep(Duration::from_millis(200));
    Seen::default()
}

fn close_mid_ehlo_reply(peer: &mut Peer) -> Seen {
    peer.send("220 mock.test ESMTP\r\n");
    peer.expect("EHLO");
    peer.send("250-mock.test\r\n250-PIPE");
    Seen::default()
}

fn pipelined_partial(peer: &mut Peer) -> Seen {
    peer.hello(&["PIPELINING"]);
    // All four commands must be readable without answering any of them.
    peer.expect("MAIL FROM:<a@example.org>");
    peer.expect("RCPT TO:<b@example.net>");
    peer.expect("RCPT TO:<c@example.net>");
    peer.expect("DATA");
    peer.send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n");
    let content = peer.data();
    peer.send("250 2.0.0 queued\r\n");
    Seen {
        content,
        end_of_data: true,
        ..Seen::default()
    }
}

fn bdat_last(peer: &mut Peer) -> Seen {
    peer.hello(&["PIPELINING", "CHUNKING"]);
    peer.expect("MAIL FROM");
    peer.expect("RCPT TO");
    let bdat = peer.expect("BDAT");
    let mut words = bdat.split_whitespace().skip(1);
    let size: usize = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut content = vec![0u8; size];
    let _ = peer.reader.read_exact(&mut content);
    peer.send("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
    Seen {
        content,
        chunks: usize::from(words.next() == Some("LAST")),
        ..Seen::default()
    }
}

fn drain_after_hello(peer: &mut Peer) -> Seen {
    peer.hello(&[]);
    // Whatever came after EHLO, until the client closed.
    let content = peer.drain();
    Seen {
        end_of_data: content.windows(5).any(|w| w == b"\r\n.\r\n"),
        content,
        ..Seen::default()
    }
}

fn stops_reading_after_354(peer: &mut Peer) -> Seen {
    peer.to_354();
    // Read nothing more; hold the connection open well past the client's give-up time.
    thread::sleep(Duration::from_secs(8));
    Seen::default()
}

fn bdat_one_at_a_time(peer: &mut Peer) -> Seen {
    peer.hello(&["CHUNKING"]);
    peer.expect("MAIL");
    peer.send("250 ok\r\n");
    peer.expect("RCPT");
    peer.send("250 ok\r\n");
    let mut seen = Seen::default();
    loop {
        let bdat = peer.expect("BDAT");
        let mut words = bdat.split_whitespace().skip(1);
        let size: usize = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let last = words.next() == Some("LAST");
        let mut chunk = vec![0u8; size];
        if peer.reader.read_exact(&mut chunk).is_err() {
            return seen;
        }
        seen.content.extend_from_slice(&chunk);
        seen.chunks += 1;
        if last {
            peer.send("250 2.0.0 queued\r\n");
            return seen;
        }
        peer.send("250 2.0.0 chunk ok\r\n");
    }
}

fn closing_mid_content(peer: &mut Peer) -> Seen {
    peer.to_354();
    let mut some = vec![0u8; 100_000];
    let _ = peer.reader.read_exact(&mut some);
    peer.send("421 4.4.2 mock.test timeout, closing\r\n");
    let _ = peer.stream.shutdown(std::net::Shutdown::Both);
    Seen::default()
}

fn starttls_injection(peer: &mut Peer) -> Seen {
    peer.hello(&["STARTTLS"]);
    peer.expect("STARTTLS");
    // CVE-2011-0411: a reply smuggled in after the 220, before TLS.
    peer.send("220 2.0.0 ready\r\n250 injected\r\n");
    thread::sleep(Duration::from_millis(300));
    Seen::default()
}

fn close_in_handshake(peer: &mut Peer) -> Seen {
    peer.hello(&["STARTTLS"]);
    peer.expect("STARTTLS");
    peer.send("220 2.0.0 ready\r\n");
    // Read the ClientHello's first bytes, then hang up.
    let mut hello = [0u8; 5];
    let _ = peer.reader.read_exact(&mut hello);
    let _ = peer.stream.shutdown(std::net::Shutdown::Both);
    Seen::default()
}

fn garbage_in_handshake(peer: &mut Peer) -> Seen {
    peer.hello(&["STARTTLS"]);
    peer.expect("STARTTLS");
    peer.send("220 2.0.0 ready\r\n");
    // Once the ClientHello is under way, answer with something that is not TLS.
    let mut hello = [0u8; 5];
    let _ = peer.reader.read_exact(&mut hello);
    peer.send("HTTP/1.1 400 Bad Request\r\n\r\n");
    thread::sleep(Duration::from_millis(300));
    Seen::default()
}

// ----- the table -----

/// The cases, each run by every adapter.
pub fn cases() -> Vec<Case> {
    const SHORT: Duration = Duration::from_secs(1);
    const FIVE: Duration = Duration::from_secs(5);
    let base = Case {
        name: "",
        about: "",
        script: None,
        timeout: FIVE,
        starttls: false,
        action: Action::Connect,
        expect: Expect::Outcome(Class::Delivered),
        within: Duration::from_secs(10),
        sticky: false,
        max_body_read: None,
        saw: nothing,
        join: true,
        cli: false,
    };
    vec![
        Case {
            name: "slow_drip_greeting_times_out_per_reply",
            about: "RFC 5321 4.5.3.2: the deadline runs per complete reply, not per read: a \
                    server sending a byte every 200 ms still times out at the greeting",
            script: Some(drip_greeting),
            timeout: SHORT,
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| {
                    matches!(
                        session(e),
                        Some(CoreError::Timeout {
                            stage: Stage::Greeting
                        })
                    )
                },
                describe: "Session(Timeout { stage: Greeting })",
            },
            within: Duration::from_secs(3),
            join: false,
            cli: true,
            ..base
        },
        Case {
            name: "silence_after_mail_names_the_stage",
            about: "RFC 5321 4.5.3.2: a server silent after MAIL: the timeout names MAIL",
            script: Some(silent_after_mail),
            timeout: SHORT,
            action: Action::SendBytes {
                to: &["b@example.net"],
                body: b"x\r\n",
            },
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| matches!(session(e), Some(CoreError::Timeout { stage: Stage::Mail })),
                describe: "Session(Timeout { stage: Mail })",
            },
            within: Duration::from_secs(3),
            cli: true,
            ..base
        },
        Case {
            name: "service_closing_after_content",
            about: "RFC 5321 3.8: 421 after the content ends the session: the message's fate is \
                    unknown (content sent), transient, and later calls get the same error",
            script: Some(closing_after_content),
            action: Action::SendBytes {
                to: &["b@example.net"],
                body: b"hello\r\n",
            },
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| matches!(e, Error::Session { error: CoreError::ServiceClosing { stage: Stage::DataEnd, reply }, content_sent: true, .. } if reply.code().get() == 421),
                describe: "Session(ServiceClosing { stage: DataEnd, 421 }, content_sent)",
            },
            sticky: true,
            saw: |seen| {
                if seen.content == b"hello\r\n" && seen.end_of_data {
                    Ok(())
                } else {
                    Err(format!("{:?}", String::from_utf8_lossy(&seen.content)))
                }
            },
            cli: true,
            ..base
        },
        Case {
            name: "service_closing_at_data",
            about: "RFC 5321 3.8: 421 in answer to DATA",
            script: Some(closing_at_data),
            action: Action::SendBytes {
                to: &["b@example.net"],
                body: b"x\r\n",
            },
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| {
                    matches!(
                        e,
                        Error::Session {
                            error: CoreError::ServiceClosing {
                                stage: Stage::Data,
                                ..
                            },
                            content_sent: false,
                            ..
                        }
                    )
                },
                describe: "Session(ServiceClosing { stage: Data }, content not sent)",
            },
            cli: true,
            ..base
        },
        Case {
            name: "garbage_greeting_is_a_protocol_error",
            about: "RFC 5321 4.2: bytes that are not a reply end the session, a protocol error",
            script: Some(garbage_greeting),
            expect: Expect::Error {
                class: Class::Protocol,
                shape: |e| {
                    matches!(
                        session(e),
                        Some(CoreError::ReplySyntax {
                            stage: Stage::Greeting,
                            ..
                        })
                    )
                },
                describe: "Session(ReplySyntax { stage: Greeting })",
            },
            cli: true,
            ..base
        },
        Case {
            name: "stray_reply_is_unsolicited",
            about: "RFC 5321 4.2: a 250 after the greeting, before EHLO was sent, answers \
                    nothing: a protocol error, never taken as EHLO's reply",
            script: Some(stray_reply_after_greeting),
            expect: Expect::Error {
                class: Class::Protocol,
                shape: |e| matches!(session(e), Some(CoreError::UnsolicitedReply(_))),
                describe: "Session(UnsolicitedReply)",
            },
            cli: true,
            ..base
        },
        Case {
            name: "close_mid_reply",
            about: "the server closes in the middle of a multi-line EHLO reply",
            script: Some(close_mid_ehlo_reply),
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| {
                    matches!(
                        session(e),
                        Some(CoreError::ConnectionClosed {
                            stage: Stage::Hello
                        })
                    )
                },
                describe: "Session(ConnectionClosed { stage: Hello })",
            },
            cli: true,
            ..base
        },
        Case {
            name: "connection_refused",
            about: "nothing listening: a connect error, promptly, transient",
            script: None,
            timeout: Duration::from_secs(2),
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| matches!(e, Error::Connect { .. }),
                describe: "Connect",
            },
            within: Duration::from_secs(3),
            cli: true,
            ..base
        },
        Case {
            name: "starttls_response_injection",
            about: "RFC 3207 5, CVE-2011-0411: bytes after STARTTLS's 220 in the same read are \
                    never taken as replies; the session ends before TLS, a protocol error",
            script: Some(starttls_injection),
            starttls: true,
            expect: Expect::Error {
                class: Class::Protocol,
                shape: |e| matches!(session(e), Some(CoreError::BytesAfterStartTls)),
                describe: "Session(BytesAfterStartTls)",
            },
            cli: true,
            ..base
        },
        Case {
            name: "connection_closed_during_the_tls_handshake",
            about: "RFC 3207: the server hangs up in the handshake: a lost connection \
                    (handle_closed, transient), not a TLS refusal",
            script: Some(close_in_handshake),
            starttls: true,
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| {
                    matches!(
                        session(e),
                        Some(CoreError::ConnectionClosed {
                            stage: Stage::StartTls
                        })
                    ) && matches!(e, Error::Session { cause: Some(c), .. } if matches!(&**c, Transport::Tls(_)))
                },
                describe: "Session(ConnectionClosed { stage: StartTls }) with a TLS cause",
            },
            cli: true,
            ..base
        },
        Case {
            name: "not_tls_in_the_handshake",
            about: "RFC 3207: the server answers the ClientHello with plaintext: rustls refuses \
                    (handle_tls_failed): the TLS the policy requires was not had",
            script: Some(garbage_in_handshake),
            starttls: true,
            expect: Expect::Error {
                class: Class::Security,
                shape: |e| {
                    matches!(session(e), Some(CoreError::TlsHandshakeFailed))
                        && matches!(e, Error::Session { cause: Some(c), .. } if matches!(&**c, Transport::Tls(mailwire_transport::TlsError::Rustls(_))))
                },
                describe: "Session(TlsHandshakeFailed) with a rustls cause",
            },
            cli: true,
            ..base
        },
        Case {
            name: "pipelined_flight_and_content_with_end_mark",
            about: "RFC 2920: MAIL, both RCPTs and DATA in one flight; the content, dot-stuffed \
                    with CRLF line ends, and its end mark in the next; one recipient refused",
            script: Some(pipelined_partial),
            action: Action::SendBytes {
                to: &["b@example.net", "c@example.net"],
                body: b".dot\nline\n",
            },
            expect: Expect::Outcome(Class::Partial),
            cli: true,
            saw: |seen| {
                if seen.content == b"..dot\r\nline\r\n" && seen.end_of_data {
                    Ok(())
                } else {
                    Err(format!("{:?}", String::from_utf8_lossy(&seen.content)))
                }
            },
            ..base
        },
        Case {
            name: "chunking_sends_bdat",
            about: "RFC 3030: with CHUNKING the content goes as BDAT LAST, not dot-stuffed",
            script: Some(bdat_last),
            action: Action::SendBytes {
                to: &["b@example.net"],
                body: b".dot\nx\n",
            },
            expect: Expect::Outcome(Class::Delivered),
            cli: true,
            saw: |seen| {
                if seen.content == b".dot\r\nx\r\n" && seen.chunks == 1 {
                    Ok(())
                } else {
                    Err(format!("{seen:?}"))
                }
            },
            ..base
        },
        Case {
            name: "failing_body_reader_abandons_the_message",
            about: "a body reader that fails: the connection is closed without an end mark (no \
                    truncated message is taken), and the error says it was the body",
            script: Some(drain_after_hello),
            action: Action::FailingBody,
            expect: Expect::Error {
                class: Class::Local,
                shape: |e| matches!(e, Error::Body(_)),
                describe: "Body",
            },
            saw: |seen| {
                if seen.end_of_data {
                    Err(format!(
                        "an end mark: {:?}",
                        String::from_utf8_lossy(&seen.content)
                    ))
                } else {
                    Ok(())
                }
            },
            ..base
        },
        Case {
            name: "server_that_stops_reading_times_out_the_write",
            about: "RFC 5321 4.5.3.2.5: a server that stops reading after 354 fills the socket \
                    buffers; the write times out (WriteTimeout, the I/O cause TimedOut) instead \
                    of hanging, and the body reader was read only as far as the socket took \
                    (memory stays bounded)",
            script: Some(stops_reading_after_354),
            timeout: SHORT,
            action: Action::Stream {
                body: || vec![b'x'; 64 * 1024 * 1024],
            },
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| {
                    matches!(session(e), Some(CoreError::WriteTimeout { .. }))
                        && matches!(
                            io_cause(e),
                            Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
                        )
                },
                describe: "Session(WriteTimeout) with an I/O cause WouldBlock or TimedOut",
            },
            within: Duration::from_secs(10),
            max_body_read: Some(MAX_READ_AHEAD),
            join: false,
            ..base
        },
        Case {
            name: "chunking_without_pipelining_multi_chunk",
            about: "RFC 3030 without PIPELINING: each BDAT chunk waits for its reply; a body of \
                    several chunks streams through in order",
            script: Some(bdat_one_at_a_time),
            action: Action::Stream {
                body: || lines_of_text(300 * 1024),
            },
            expect: Expect::Outcome(Class::Delivered),
            saw: |seen| {
                if seen.chunks >= 4 && seen.content == lines_of_text(300 * 1024) {
                    Ok(())
                } else {
                    Err(format!(
                        "{} chunks, {} bytes",
                        seen.chunks,
                        seen.content.len()
                    ))
                }
            },
            ..base
        },
        Case {
            name: "service_closing_mid_content",
            about: "RFC 5321 3.8: a 421 in the middle of the content, then the server hangs up: \
                    the error is the 421 (transient), not a broken pipe",
            script: Some(closing_mid_content),
            action: Action::Stream {
                body: || vec![b'x'; 32 * 1024 * 1024],
            },
            expect: Expect::Error {
                class: Class::Temporary,
                shape: |e| matches!(session(e), Some(CoreError::ServiceClosing { .. })),
                describe: "Session(ServiceClosing)",
            },
            ..base
        },
    ]
}

/// How far a body reader may be read ahead of a server that stopped reading: the socket
/// buffers on loopback (a few MiB each way) plus the session's body buffer and one read.
pub const MAX_READ_AHEAD: usize = 32 * 1024 * 1024;

/// Runs a command-line sender (`smtp-send`, `mailwire-tokio`'s `send` example) against every
/// case marked [`Case::cli`], as `PROGRAM --server 127.0.0.1:PORT --from a@example.org --to …
/// --message-file FILE --timeout SECS --starttls never`, and checks that each exit status is
/// [`Case::exit_status`]. Two programs that pass give the same status for every case. Panics
/// with every disagreement listed.
pub fn run_exit_statuses(program: &std::path::Path) {
    let dir = std::env::temp_dir().join(format!(
        "mailwire-hostile-cli-{}-{}",
        std::process::id(),
        program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut failures = Vec::new();
    for case in cases().into_iter().filter(|c| c.cli) {
        let (to, body): (&[&str], &[u8]) = match case.action {
            Action::SendBytes { to, body } => (to, body),
            _ => (&["b@example.net"], b"Subject: x\r\n\r\nx\r\n"),
        };
        let file = dir.join(format!("{}.eml", case.name));
        std::fs::write(&file, body).expect("the message file");
        let (port, mock) = match case.script {
            Some(script) => {
                let mock = Mock::start(script);
                (mock.port, Some(mock))
            }
            None => (closed_port(), None),
        };
        let server = format!("127.0.0.1:{port}");
        let secs = case.timeout.as_secs().max(1).to_string();
        let mut args = vec![
            "--server",
            &server,
            "--from",
            "a@example.org",
            "--message-file",
            file.to_str().expect("a UTF-8 temporary path"),
            "--timeout",
            &secs,
        ];
        if case.starttls {
            args.extend(["--starttls", "required", "--danger-accept-invalid-certs"]);
        } else {
            args.extend(["--starttls", "never"]);
        }
        for r in to {
            args.extend(["--to", r]);
        }
        let output = crate::mock::run_bounded(program, &args, &[], Duration::from_secs(30));
        if case.join {
            if let Some(mock) = mock {
                // A script's own assertions are the adapters' business; here only the status.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mock.join()));
            }
        }
        let status = output.status.code();
        if status != Some(i32::from(case.exit_status())) {
            failures.push(format!(
                "{}: exit {status:?}, expected {} ({:?})\nstderr: {}",
                case.name,
                case.exit_status(),
                case.expect,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
