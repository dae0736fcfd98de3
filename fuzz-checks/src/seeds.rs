//! Seed corpora written from the session transcripts in `mailwire/testdata/transcripts/`
//! (real servers' replies: Postfix, Exim, Gmail, RFC 5321 Appendix D …): the `S:` and `SR:`
//! lines are server bytes, `!` lines the configuration, `>` lines what the caller did.
//!
//! `caller_api` has hand-written seeds ([`caller_seeds`]), among them the envelope that made the
//! old session panic (SIZE declared, a long extra parameter, a server without SIZE).
//!
//! `cargo run -p mailwire-fuzz-checks --bin write-seeds` writes them into `fuzz/corpus/<target>/`.

use crate::caller::{self, EnvelopeSpec, MailSpec, ParamSpec, RcptSpec, Text};
use crate::session::{Op, Setup};
use std::path::Path;

/// One transcript, reduced to what the seeds need.
#[derive(Debug, Default)]
pub struct Transcript {
    /// The file's stem.
    pub name: String,
    /// The session setup from the `!` lines.
    pub setup: Setup,
    /// The steps, in order.
    pub ops: Vec<Op>,
    /// Every server byte, in order.
    pub server: Vec<u8>,
    /// Body texts written by `> send … body=` and `> write`.
    pub bodies: Vec<Vec<u8>>,
    /// The lines the client must send (`C:`), CRLF-terminated.
    pub client: Vec<u8>,
}

/// `\r`, `\n`, `\t`, `\0`, `\\` and `\xNN` escapes, as in the transcripts.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hi = bytes.next().unwrap_or(b'0');
                let lo = bytes.next().unwrap_or(b'0');
                let hex = [hi, lo];
                let value = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(value.unwrap_or(b'?'));
            }
            Some(other) => out.extend_from_slice(&[b'\\', other]),
            None => out.push(b'\\'),
        }
    }
    out
}

fn apply_setup(setup: &mut Setup, line: &str) {
    for kv in line.split_whitespace() {
        let (key, value) = kv.split_once('=').unwrap_or((kv, "true"));
        let on = value == "true";
        match key {
            "tls" => {
                setup.session = setup.session & !3
                    | match value {
                        "opportunistic" => 1,
                        "required" => 2,
                        _ => 0,
                    }
            }
            "implicit_tls" if on => setup.session |= 3,
            "pipelining" if !on => setup.session |= 4,
            "chunking" if !on => setup.session |= 8,
            "transcript" if on => setup.session |= 16,
            "lmtp" => setup.session |= 32,
            "helo_without_esmtp" if on => setup.session |= 64,
            "helo_fallback" if !on => setup.session |= 128,
            "pass" => setup.auth = setup.auth & !3 | 1,
            "token" => setup.auth = setup.auth & !3 | 2,
            "plaintext" if on => setup.auth |= 4,
            "mech" => {
                const NAMES: [&str; 7] = [
                    "PLAIN",
                    "LOGIN",
                    "CRAM-MD5",
                    "SCRAM-SHA-1",
                    "SCRAM-SHA-256",
                    "XOAUTH2",
                    "OAUTHBEARER",
                ];
                let first = value
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if let Some(i) = NAMES.iter().position(|n| *n == first) {
                    setup.auth = setup.auth & !(7 << 3) | ((i as u8 + 1) << 3);
                }
            }
            "window" => {
                let w: u8 = match value.parse::<usize>() {
                    Ok(1) => 1,
                    Ok(2) => 2,
                    Ok(0) => 3,
                    _ => 0,
                };
                setup.limits = setup.limits & !(3 << 3) | w << 3;
            }
            "chunk" => {
                let size: usize = value.parse().unwrap_or(65536);
                let i = [65536, 1, 2, 7, 16, 100, 512, 4096]
                    .iter()
                    .position(|&c| c >= size)
                    .unwrap_or(0) as u8;
                setup.limits = setup.limits & !7 | i;
            }
            // XCLIENT (`session::Setup::config`, limits bits 5–6): the kind, not the values.
            "xclient" => setup.limits = setup.limits & !(3 << 5) | 1 << 5,
            "xclient_if_offered" if on => setup.limits = setup.limits & !(3 << 5) | 2 << 5,
            "xclient_check" if !on => setup.limits = setup.limits & !(3 << 5) | 3 << 5,
            "timeout" => setup.timeout = value.parse::<u8>().unwrap_or(0),
            // `ParserConfig::STRICT` and `ParserConfig::LENIENT` in `reply::parser_config` terms.
            "profile" if value == "strict" => setup.parser = [1 | 1 << 3, 0],
            "profile" if value == "lenient" => setup.parser = [2 | 4, 0],
            _ => {}
        }
    }
}

/// Seconds of a `T+…` line as a [`Op::Wait`] operand (0 and 1 are reserved).
fn wait_operand(line: &str) -> u8 {
    let spec = line.trim_start_matches("T+");
    let secs = if let Some(ms) = spec.strip_suffix("ms") {
        ms.parse::<u64>().unwrap_or(0).div_ceil(1000)
    } else {
        spec.trim_end_matches('s').parse::<u64>().unwrap_or(0)
    };
    match secs {
        0..=2 => 2,
        3..=127 => secs as u8,
        _ => (127 + secs.div_ceil(60)).min(255) as u8,
    }
}

/// Reads one transcript.
pub fn parse(name: &str, text: &str) -> Transcript {
    let mut t = Transcript {
        name: name.into(),
        ..Transcript::default()
    };
    let mut pending = Vec::new();
    let flush = |t: &mut Transcript, pending: &mut Vec<u8>| {
        if !pending.is_empty() {
            t.ops.push(Op::Input {
                split: 0,
                bytes: std::mem::take(pending),
            });
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("S: ").or_else(|| line.strip_prefix("S:")) {
            let mut bytes = unescape(rest);
            bytes.extend_from_slice(b"\r\n");
            t.server.extend_from_slice(&bytes);
            pending.extend_from_slice(&bytes);
            continue;
        }
        if let Some(rest) = line.strip_prefix("SR: ") {
            let bytes = unescape(rest);
            t.server.extend_from_slice(&bytes);
            pending.extend_from_slice(&bytes);
            continue;
        }
        flush(&mut t, &mut pending);
        if let Some(rest) = line.strip_prefix("C: ") {
            t.client.extend_from_slice(&unescape(rest));
            t.client.extend_from_slice(b"\r\n");
        } else if let Some(rest) = line.strip_prefix("! ") {
            apply_setup(&mut t.setup, rest);
        } else if line.starts_with("T+") {
            t.ops.push(Op::Wait(wait_operand(line)));
        } else if line.starts_with("X: close") {
            t.ops.push(Op::Close);
        } else if line.starts_with("X: tls") {
            t.ops.push(Op::Tls);
        } else if let Some(action) = line.strip_prefix("> ") {
            let (verb, rest) = action.split_once(' ').unwrap_or((action, ""));
            match verb {
                "send" => {
                    let mut flags = 0u8;
                    let mut finish = true;
                    let mut body = false;
                    for arg in rest.split_whitespace() {
                        let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
                        match key {
                            "to" => flags |= (value.split(',').count().clamp(1, 4) - 1) as u8,
                            "from" if value == "<>" => flags |= 16,
                            "size" => flags |= 32,
                            "8bit" => flags |= 128,
                            "nobody" => finish = false,
                            "body" => {
                                body = true;
                                t.bodies.push(unescape(value.trim_matches('"')));
                            }
                            _ => {}
                        }
                    }
                    // As the transcript runner does: a finished message goes in whole with its
                    // body (`send_message_with_body`); `nobody` queues it open, with its body
                    // written if one is given.
                    flags |= match (finish, body) {
                        (true, _) => 3 << 2,
                        (false, true) => 2 << 2,
                        (false, false) => 0,
                    };
                    t.ops.push(Op::Send(flags));
                }
                "write" => {
                    let text = rest
                        .split_once(' ')
                        .map(|(_, text)| text)
                        .unwrap_or_default();
                    t.bodies.push(unescape(text));
                    t.ops.push(Op::Write(t.bodies.len() as u8));
                }
                "finish" => t.ops.push(Op::Finish),
                "noop" => t.ops.push(Op::Side(if rest.is_empty() { 0 } else { 1 })),
                "vrfy" => t.ops.push(Op::Side(2)),
                "expn" => t.ops.push(Op::Side(3)),
                "help" => t.ops.push(Op::Side(if rest.is_empty() { 4 } else { 5 })),
                "quit" => t.ops.push(Op::Quit),
                "abort" => t.ops.push(Op::Abort),
                _ => {}
            }
        }
    }
    flush(&mut t, &mut pending);
    t
}

/// The `reply_parser` seed: the transcript's parser configuration, one chunk, the server's
/// bytes.
pub fn reply_seed(t: &Transcript) -> Vec<u8> {
    let mut seed = vec![t.setup.parser[0], t.setup.parser[1], 0];
    seed.extend_from_slice(&t.server);
    seed
}

/// The `client_session` seed: the setup and every step.
pub fn session_seed(t: &Transcript) -> Vec<u8> {
    let mut seed = Vec::new();
    t.setup.encode(&mut seed);
    for op in &t.ops {
        op.encode(&mut seed);
    }
    seed
}

/// A `body_encoder` seed: `mode`, the chunk sizes, the output buffer sizes, the body.
pub fn body_seed(mode: u8, sizes: &[u8], buffers: &[u8], body: &[u8]) -> Vec<u8> {
    let mut seed = vec![mode, sizes.len() as u8];
    seed.extend_from_slice(sizes);
    seed.push(buffers.len() as u8);
    seed.extend_from_slice(buffers);
    seed.extend_from_slice(body);
    seed
}

fn envelope(from: u8, to: &[u8], mail: MailSpec) -> EnvelopeSpec {
    EnvelopeSpec {
        from: Some(Text::Pick(from)),
        recipients: to
            .iter()
            .map(|&r| RcptSpec {
                address: Text::Pick(r),
                notify: None,
                orcpt: None,
                extra: Vec::new(),
            })
            .collect(),
        mail,
    }
}

/// The `caller_api` seeds, by name: sessions that reach every kind of call, parameter and
/// content path, and refusals of every kind.
pub fn caller_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use caller::Op as C;
    // Server capability bits (see `caller::Setup::server`).
    const PIPELINING: u16 = 1;
    const CHUNKING: u16 = 2;
    const EIGHT_BIT: u16 = 4;
    const SMTPUTF8: u16 = 8;
    const DSN: u16 = 16;
    const STARTTLS: u16 = 32;
    const SIZE: u16 = 64;
    const BINARYMIME: u16 = 128;
    const ALL: u16 = 0x7ff;
    let all = |n: u8| C::Answer(vec![n]);
    let plain = caller::Setup::default();
    let mut seeds = Vec::new();

    // RFC 5321 4.5.3.1.4 and RFC 1870: queued before EHLO with SIZE=1 and a 485-octet extra
    // parameter, MAIL fits the 538 octets SIZE allows; the server offers no SIZE, so SIZE= is
    // dropped and the 519-octet line does not fit 512. The old session panicked here; now the
    // message is Unsendable and the next one goes.
    let xlong = MailSpec {
        size: Some(0),
        extra: vec![ParamSpec {
            keyword: Text::Pick(0),
            value: Some(Text::Repeat(b"v".to_vec(), 485)),
        }],
        ..MailSpec::default()
    };
    let setup = caller::Setup {
        server: PIPELINING,
        ..plain.clone()
    };
    seeds.push((
        "xlong-size-dropped-line-too-long",
        caller::encode(
            &setup,
            &[
                C::SendWithBody(
                    envelope(0, &[1], xlong.clone()),
                    Text::Bytes(
                        b"hi
"
                        .to_vec(),
                    ),
                ),
                all(0),
                C::SendWithBody(envelope(0, &[1], MailSpec::default()), Text::Pick(0)),
                all(0),
                C::SendWithBody(envelope(0, &[1], xlong), Text::Pick(0)),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // Every MAIL and RCPT parameter to a server that offers them all, DSN on every recipient.
    let mut everything = envelope(
        0,
        &[1, 2, 5],
        MailSpec {
            size: Some(3),
            body: Some(1),
            smtputf8: true,
            ret: Some(true),
            envid: Some(Text::Pick(0)),
            requiretls: true,
            deliver_by: Some((0, 1)),
            mt_priority: Some(3),
            extra: vec![ParamSpec {
                keyword: Text::Pick(1),
                value: None,
            }],
            // XFORWARD, to a server that offers it when the setup's XCLIENT bits say so.
            xforward: vec![
                (Text::Pick(0), Text::Pick(0)),
                (Text::Pick(3), Text::Pick(4)),
            ],
        },
    );
    for r in &mut everything.recipients {
        r.notify = Some(3);
        r.orcpt = Some((Text::Pick(0), Text::Pick(1)));
    }
    seeds.push((
        "every-parameter-implicit-tls",
        caller::encode(
            &caller::Setup {
                session: 3,
                server: ALL,
                server_size: 6,
                xclient: 4,
                ..plain.clone()
            },
            &[
                all(0),
                C::Send(everything.clone()),
                C::Write(0, Text::Pick(0)),
                C::Write(0, Text::Pick(10)),
                C::Finish(0),
                all(0),
                C::Side(1, Some(Text::Pick(2))),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // XCLIENT (Postfix's XCLIENT_README): attributes in two lines (a 255-octet HELO), one name
    // the syntax refuses and a CR LF value (both refused calls); the server answers 220 and the
    // session says EHLO again; then an ETRN and a message.
    seeds.push((
        "xclient-two-lines-then-etrn",
        caller::encode(
            &caller::Setup {
                server: PIPELINING,
                xclient: 1 | 4,
                xclient_attributes: vec![
                    (Text::Pick(2), Text::Pick(7)),
                    (Text::Pick(1), Text::Pick(7)),
                    (Text::Pick(6), Text::Pick(0)),
                    (Text::Pick(0), Text::Pick(5)),
                    (Text::Pick(0), Text::Pick(0)),
                ],
                ..plain.clone()
            },
            &[
                all(0),
                C::Side(4, Some(Text::Pick(1))),
                C::SendWithBody(envelope(0, &[1], MailSpec::default()), Text::Pick(0)),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // BDAT in one-octet chunks through a one-octet body buffer: back-pressure, BodyWanted, and
    // a body offered in pieces.
    seeds.push((
        "bdat-tiny-chunks-back-pressure",
        caller::encode(
            &caller::Setup {
                limits: 1 | 2 << 5,
                server: PIPELINING | CHUNKING | EIGHT_BIT,
                ..plain.clone()
            },
            &[
                all(0),
                C::Send(envelope(0, &[1, 2], MailSpec::default())),
                C::Write(
                    0,
                    Text::Repeat(
                        b"line
."
                        .to_vec(),
                        40,
                    ),
                ),
                all(0),
                C::Write(0, Text::Pick(9)),
                C::Finish(0),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // DATA without PIPELINING: dot lines, end-of-data look-alikes and a smuggling attempt in
    // the body; a recipient refused, then DATA refused for the next message.
    seeds.push((
        "data-smuggling-bodies-one-at-a-time",
        caller::encode(
            &caller::Setup {
                session: 4,
                server: EIGHT_BIT,
                ..plain.clone()
            },
            &[
                all(0),
                C::Send(envelope(0, &[1, 2], MailSpec::default())),
                C::Write(0, Text::Pick(9)),
                C::Write(0, Text::Pick(1)),
                C::Write(0, Text::Pick(5)),
                C::Finish(0),
                C::Answer(vec![2, 0]),
                C::Answer(vec![1, 9]),
                all(0),
                C::SendWithBody(envelope(0, &[1], MailSpec::default()), Text::Pick(2)),
                C::Answer(vec![3, 0, 0, 9]),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // LMTP: one reply per accepted recipient after the content.
    seeds.push((
        "lmtp-three-recipients-one-refused",
        caller::encode(
            &caller::Setup {
                session: 32,
                server: PIPELINING | EIGHT_BIT,
                ..plain.clone()
            },
            &[
                all(0),
                C::SendWithBody(envelope(0, &[1, 2, 3], MailSpec::default()), Text::Pick(0)),
                C::Answer(vec![5, 0, 0, 8, 0, 0]),
                C::Answer(vec![0, 0, 9]),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // STARTTLS required, then AUTH PLAIN and LOGIN challenges over TLS.
    seeds.push((
        "starttls-then-auth-login",
        caller::encode(
            &caller::Setup {
                session: 2,
                auth: 1 | 2 << 3,
                server: PIPELINING | STARTTLS | EIGHT_BIT,
                server_auth: 3,
                ..plain.clone()
            },
            &[
                C::Send(envelope(0, &[1], MailSpec::default())),
                C::Answer(vec![3, 0, 0, 0]),
                C::Answer(vec![3, 0, 1 << 4, 2 << 4]),
                all(0),
                C::Write(0, Text::Pick(0)),
                C::Finish(0),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // SMTPUTF8 addresses to a server with and without SMTPUTF8 (the second is Unsendable).
    seeds.push((
        "smtputf8-addresses",
        caller::encode(
            &caller::Setup {
                server: PIPELINING | SMTPUTF8 | EIGHT_BIT | SIZE,
                server_size: 4,
                ..plain.clone()
            },
            &[
                C::SendWithBody(envelope(5, &[10, 5], MailSpec::default()), Text::Pick(10)),
                all(0),
                C::SendWithBody(
                    envelope(0, &[1], MailSpec::default()),
                    Text::Repeat(b"x".to_vec(), 2000),
                ),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));

    // Refusals: no recipient, an invalid ENVID and VRFY argument, a body out of order, a body
    // for a finished message, a second QUIT, calls on a closed session.
    let bad_envid = MailSpec {
        envid: Some(Text::Pick(6)),
        ..MailSpec::default()
    };
    seeds.push((
        "refused-calls",
        caller::encode(
            &caller::Setup {
                server: PIPELINING | DSN | BINARYMIME | CHUNKING,
                ..plain.clone()
            },
            &[
                C::Send(envelope(0, &[], MailSpec::default())),
                C::Send(envelope(0, &[1], bad_envid)),
                C::Side(1, Some(Text::Pick(5))),
                C::Send(envelope(0, &[1], MailSpec::default())),
                C::Send(envelope(0, &[2], MailSpec::default())),
                C::Write(2, Text::Pick(0)),
                C::SendWithBody(envelope(0, &[1], MailSpec::default()), Text::Pick(0)),
                C::Finish(0),
                C::Finish(1),
                C::Write(1, Text::Pick(0)),
                all(0),
                C::Quit,
                C::Quit,
                C::Send(envelope(0, &[1], MailSpec::default())),
                all(0),
                C::Side(0, None),
                C::Write(0, Text::Pick(0)),
            ],
        ),
    ));

    // The longest addresses and a long ORCPT: RCPT lines near 1012 octets.
    let mut long = envelope(9, &[9, 8], MailSpec::default());
    for r in &mut long.recipients {
        r.notify = Some(0);
        r.orcpt = Some((Text::Pick(1), Text::Repeat("ü".as_bytes().to_vec(), 120)));
    }
    seeds.push((
        "long-paths-and-orcpt",
        caller::encode(
            &caller::Setup {
                server: PIPELINING | DSN | EIGHT_BIT,
                ..plain
            },
            &[
                all(0),
                C::SendWithBody(long, Text::Pick(0)),
                all(0),
                C::Quit,
                all(0),
            ],
        ),
    ));
    seeds
}

/// Bodies that stress line ends, dots and end-of-data look-alikes (CVE-2023-51764 class).
pub const TRICKY_BODIES: &[&[u8]] = &[
    b"",
    b".",
    b"\r\n.\r\n",
    b"a\n.\nb",
    b"a\r.\rb",
    b"a\r\n.\nb\n.\r\nc",
    b"..\r\n...\n.x\r\n",
    b"Subject: hi\r\n\r\nHello\r\n",
    b"no line end",
    b"\r\r\n\n\r",
    b"\x00\xff\r\n.\x00",
];

/// Messages for `dkim_sign`: folded and repeated fields, white space where the two
/// canonicalisations differ, every kind of line end, no body, no end.
const DKIM_MESSAGES: &[&[u8]] = &[
    b"From: Joe SixPack <joe@football.example.com>\r\nTo: Suzie Q <suzie@shopping.example.net>\r\nSubject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\nMessage-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\nHi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n",
    b"From: a@example.org\nSubject: one\n  two\t\n\nbody  \n\t x \n\n\n",
    b"from :  a@example.org \r\nFROM: b@example.org\r\nCc: c\r\n\r\n.\r\n..\r\n",
    b"From: a@example.org\r\n",
    b"From: a@example.org",
    b"From: a@example.org\r\r\rbody\rmore\r",
    b"Subject: no from\r\n\r\nbody\r\n",
    b"From: a@example.org\r\nnot a field\r\n\r\n",
    b"\r\nFrom: in the body\r\n",
    b"From: na\xc3\xafve \xff\r\n\r\n\xff\xfe \t\r\n",
];

/// Writes every seed under `corpus/<target>/`; returns how many files. Existing files of the
/// same names are overwritten; others are left alone.
pub fn write_all(transcripts: &Path, corpus: &Path) -> std::io::Result<usize> {
    let mut paths: Vec<_> = std::fs::read_dir(transcripts)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let mut written = 0;
    let mut write = |target: &str, name: &str, data: &[u8]| -> std::io::Result<()> {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data)?;
        written += 1;
        Ok(())
    };
    let mut bodies: Vec<Vec<u8>> = TRICKY_BODIES.iter().map(|b| b.to_vec()).collect();
    for path in &paths {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("transcript");
        let t = parse(name, &std::fs::read_to_string(path)?);
        write("reply_parser", &format!("seed-{name}"), &reply_seed(&t))?;
        write("client_session", &format!("seed-{name}"), &session_seed(&t))?;
        // `commands` reads its input through `arbitrary`: real command lines give it real
        // addresses, parameters and base64 to start from.
        write("commands", &format!("seed-{name}"), &t.client)?;
        bodies.extend(t.bodies.iter().cloned());
    }
    bodies.sort();
    bodies.dedup();
    for (i, body) in bodies.iter().enumerate() {
        let mode = (i % 4) as u8;
        let sizes: &[u8] = match i % 3 {
            0 => &[],
            1 => &[1],
            _ => &[3, 0, 7],
        };
        write(
            "body_encoder",
            &format!("seed-body-{i:02}"),
            &body_seed(mode, sizes, &[1, 5, 2], body),
        )?;
    }
    for (name, seed) in caller_seeds() {
        write("caller_api", &format!("seed-{name}"), &seed)?;
    }
    for (i, message) in DKIM_MESSAGES.iter().enumerate() {
        let mode = (i % 8) as u8;
        let sizes: &[u8] = if i % 2 == 0 { &[] } else { &[2, 9, 1] };
        let mut seed = vec![mode, sizes.len() as u8];
        seed.extend_from_slice(sizes);
        seed.extend_from_slice(message);
        write("dkim_sign", &format!("seed-dkim-{i:02}"), &seed)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_map_to_the_parser_presets() {
        let strict = parse("s", "! profile=strict\n").setup.parser;
        assert_eq!(
            crate::reply::parser_config(strict[0], strict[1]),
            mailwire::ParserConfig::STRICT
        );
        let lenient = parse("l", "! profile=lenient\n").setup.parser;
        assert_eq!(
            crate::reply::parser_config(lenient[0], lenient[1]),
            mailwire::ParserConfig::LENIENT
        );
    }

    #[test]
    fn transcript_lines_become_steps() {
        let t = parse(
            "x",
            "! tls=required user=a pass=b\nS: 220 hi\nS: 250 ok\\x21\nC: EHLO x\n> send from=a@b to=c@d,e@f nobody\n> write #1 hi\\n\nX: tls\nT+119s\nT+600s\n",
        );
        assert_eq!(t.setup.session & 3, 2);
        assert_eq!(t.setup.auth & 3, 1);
        assert_eq!(t.server, b"220 hi\r\n250 ok!\r\n");
        assert_eq!(
            t.ops,
            vec![
                Op::Input {
                    split: 0,
                    bytes: b"220 hi\r\n250 ok!\r\n".to_vec()
                },
                Op::Send(1),
                Op::Write(1),
                Op::Tls,
                Op::Wait(119),
                Op::Wait(137),
            ]
        );
    }
}
