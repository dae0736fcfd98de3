//! Test support: a transcript runner. A transcript is a text file, one item a line:
//!
//! - `# …` comment; blank lines ignored.
//! - `! key=value …` session configuration, before the first `S:` (see `apply_config`).
//! - `S: text` a server line (CRLF appended; `\r`, `\n`, `\t`, `\\`, `\xNN` escapes). Consecutive
//!   `S:` lines are fed together.
//! - `C: text` a line the client must have sent (CRLF appended). Consecutive `C:` lines are
//!   compared, as one block, with everything the client sent since the last check.
//! - `E: text` the next event (transcript events skipped) must contain `text` in its `Debug` form.
//! - `E~ text` skip events until one contains `text`.
//! - `E! text` no event left (or: `E! ` alone means the event queue must be empty).
//! - `L> text` / `L< text` skip transcript lines until one sent (`>`) or received (`<`) equals
//!   `text` (transcript events are not in the `E:` queue).
//! - `T+Ns` / `T+Nms` advance the virtual clock and call `handle_timeout`.
//! - `X: close` the server closes; `X: tls` the TLS handshake completed.
//! - `> action args` a command (see `run_action`).
//! - `U: text` the last action must have failed with a usage error containing `text`.
#![allow(dead_code)]

use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{
    AuthConfig, Client, ClientName, Config, Envelope, Event, Mailbox, MessageId, Protocol,
    Recipient, Secret, Timestamp, TlsPolicy,
};
use std::collections::VecDeque;
use std::time::Duration;

/// How server bytes are split when fed.
#[derive(Clone, Copy, Debug)]
pub enum Split {
    Whole,
    ByteByByte,
    /// Pseudo-random splits from this seed.
    Random(u64),
}

pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

pub fn base_config() -> Config {
    let mut c = Config::new(ClientName::parse("client.example").unwrap());
    c.tls = TlsPolicy::Never;
    c
}

pub fn apply_config(config: &mut Config, line: &str) {
    let mut user = None;
    let mut pass = None;
    let mut token = None;
    let mut mechs = Vec::new();
    let mut plaintext = false;
    for kv in line.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
        match k {
            "tls" => {
                config.tls = match v {
                    "never" => TlsPolicy::Never,
                    "opportunistic" => TlsPolicy::Opportunistic,
                    "required" => TlsPolicy::Required,
                    _ => panic!("tls={v}"),
                }
            }
            "name" => config.client_name = ClientName::parse(v).unwrap(),
            "implicit_tls" => config.implicit_tls = v == "true",
            "pipelining" => config.pipelining = v == "true",
            "chunking" => config.chunking = v == "true",
            "helo_fallback" => config.helo_fallback = v == "true",
            "helo_without_esmtp" => config.helo_without_esmtp_greeting = v == "true",
            "transcript" => config.transcript = v == "true",
            "transcript_content" => config.transcript_content = v == "true",
            "stop_after" => {
                config.stop_after = Some(match v {
                    "greeting" => mailwire::Milestone::Greeting,
                    "hello" => mailwire::Milestone::Hello,
                    "tls" => mailwire::Milestone::Tls,
                    "auth" => mailwire::Milestone::Auth,
                    _ => panic!("stop_after={v}"),
                })
            }
            "lmtp" => config.protocol = Protocol::Lmtp,
            "profile" => {
                config.limits.parser = match v {
                    "strict" => mailwire::ParserConfig::STRICT,
                    "lenient" => mailwire::ParserConfig::LENIENT,
                    _ => panic!("profile={v}"),
                }
            }
            "window" => config.limits.max_messages_in_flight = v.parse().unwrap(),
            "chunk" => config.limits.bdat_chunk_size = v.parse().unwrap(),
            "timeout" => {
                config.timeouts =
                    mailwire::Timeouts::uniform(Duration::from_secs(v.parse().unwrap()))
            }
            "user" => user = Some(v.to_string()),
            "pass" => pass = Some(v.to_string()),
            "token" => token = Some(v.to_string()),
            "mech" => mechs = v.split(',').map(Mechanism::parse).collect(),
            "plaintext" => plaintext = v == "true",
            // xclient=NAME:value,NAME:value (values unescaped: `\x20` is a space).
            "xclient" => {
                let mut x = config.xclient.take().unwrap_or_default();
                x.check_offered = true;
                for pair in v.split(',') {
                    let (name, value) = pair.split_once(':').expect("NAME:value");
                    let value = String::from_utf8(unescape(value)).unwrap();
                    x.push(mailwire::xclient::Attribute::new(name, &value).unwrap());
                }
                config.xclient = Some(x);
            }
            "xclient_if_offered" => {
                if let Some(x) = config.xclient.as_mut() {
                    x.if_offered = v == "true";
                }
            }
            "xclient_check" => {
                if let Some(x) = config.xclient.as_mut() {
                    x.check_offered = v == "true";
                }
            }
            _ => panic!("unknown config key {k}"),
        }
    }
    if let Some(user) = user {
        let credentials = match (pass, token) {
            (Some(p), _) => Credentials::Password {
                username: user,
                password: Secret::new(p),
            },
            (None, Some(t)) => Credentials::OAuth2 {
                username: user,
                token: Secret::new(t),
            },
            _ => panic!("user without pass or token"),
        };
        let mut auth = AuthConfig::new(credentials);
        auth.mechanisms = mechs;
        auth.allow_plaintext = plaintext;
        auth.nonce = b"0123456789abcdefghijklmn".to_vec();
        config.auth = Some(auth);
    }
}

pub struct Runner {
    pub client: Client,
    pub now: Timestamp,
    pub sent: Vec<u8>,
    pub events: VecDeque<Event>,
    pub all_events: Vec<Event>,
    pub ids: Vec<MessageId>,
    pub last_usage_error: Option<String>,
    split: Split,
    rng: u64,
    pub closed_seen: bool,
    /// How far `L>`/`L<` lines have read into the transcript events of `all_events`.
    pub transcript_cursor: usize,
}

impl Runner {
    pub fn new(config: Config, split: Split) -> Runner {
        let now = Timestamp::ZERO;
        let rng = match split {
            Split::Random(seed) => seed | 1,
            _ => 1,
        };
        Runner {
            client: Client::new(config, now).expect("configuration"),
            now,
            sent: Vec::new(),
            events: VecDeque::new(),
            all_events: Vec::new(),
            ids: Vec::new(),
            last_usage_error: None,
            split,
            rng,
            closed_seen: false,
            transcript_cursor: 0,
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Moves transmitted bytes and events out of the client, checking the invariant that
    /// nothing is sent after `Closed`.
    pub fn drain(&mut self) {
        let mut buf = Vec::new();
        self.client.poll_transmit(self.now, &mut buf);
        assert!(
            !self.closed_seen || buf.is_empty(),
            "client sent {:?} after Closed",
            String::from_utf8_lossy(&buf)
        );
        self.sent.extend_from_slice(&buf);
        while let Some(e) = self.client.poll_event() {
            if matches!(e, Event::Closed(_)) {
                self.closed_seen = true;
            }
            self.all_events.push(e.clone());
            if !matches!(e, Event::Transcript(_)) {
                self.events.push_back(e);
            }
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        match self.split {
            Split::Whole => self.client.handle_input(self.now, bytes),
            Split::ByteByByte => {
                for b in bytes {
                    self.client.handle_input(self.now, std::slice::from_ref(b));
                    self.drain();
                }
            }
            Split::Random(_) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = 1 + (self.next_rand() as usize % rest.len().min(16));
                    self.client.handle_input(self.now, &rest[..n]);
                    self.drain();
                    rest = &rest[n..];
                }
            }
        }
        self.drain();
    }

    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.saturating_add(d);
        self.client.handle_timeout(self.now);
        self.drain();
    }

    pub fn take_sent(&mut self) -> Vec<u8> {
        self.drain();
        std::mem::take(&mut self.sent)
    }

    fn id(&self, s: &str) -> MessageId {
        let n: usize = s.trim_start_matches('#').parse().expect("message number");
        self.ids[n - 1]
    }

    pub fn run_action(&mut self, line: &str) {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        self.last_usage_error = None;
        let arg = String::from_utf8(unescape(rest)).unwrap();
        let result: Result<(), String> = match verb {
            // > send from=a@b to=c@d[,e@f] [body=...] [nobody]  (with the body, whole, unless
            // `nobody`: then a given body is written and the message left open); `from=<>` is
            // the null path.
            "send" => {
                let mut from = None;
                let mut to = Vec::new();
                let mut body = None;
                let mut finish = true;
                let mut params = mailwire::command::MailParams::default();
                let mut xforward = Vec::new();
                for kv in split_args(rest) {
                    let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                    match k {
                        "from" if v == "<>" => from = None,
                        "from" => from = Some(Mailbox::parse(v).unwrap()),
                        "to" => to.extend(
                            v.split(',')
                                .map(|a| Recipient::from(Mailbox::parse(a).unwrap())),
                        ),
                        "body" => body = Some(unescape(v)),
                        "nobody" => finish = false,
                        "size" => params.size = Some(v.parse().unwrap()),
                        "8bit" => params.body = Some(mailwire::command::BodyType::EightBitMime),
                        "binary" => params.body = Some(mailwire::command::BodyType::BinaryMime),
                        "requiretls" => params.requiretls = true,
                        // extra=KEYWORD=VALUE, the value may be `v*N` for N copies of `v`.
                        "extra" => {
                            let (kw, value) = v.split_once('=').unwrap_or((v, ""));
                            let value = match value.split_once('*') {
                                Some((unit, n)) => unit.repeat(n.parse().unwrap()),
                                None => value.to_string(),
                            };
                            let value = (!value.is_empty()).then_some(value.as_str());
                            params
                                .extra
                                .push(mailwire::command::Param::new(kw, value).unwrap());
                        }
                        // xforward=NAME:value,NAME:value
                        "xforward" => {
                            for pair in v.split(',') {
                                let (name, value) = pair.split_once(':').expect("NAME:value");
                                let value = String::from_utf8(unescape(value)).unwrap();
                                xforward
                                    .push(mailwire::xclient::Attribute::new(name, &value).unwrap());
                            }
                        }
                        _ => panic!("send: unknown {k}"),
                    }
                }
                let mut envelope = Envelope::with_recipients(from, to).with_params(params);
                envelope.xforward = xforward;
                // A whole body goes in with the message (its size and 8-bit octets known before
                // MAIL, as adapters do for bytes in memory); `nobody` streams it later.
                let queued = match (&body, finish) {
                    (Some(body), true) => self.client.send_message_with_body(envelope, body),
                    (None, true) => self.client.send_message_with_body(envelope, b""),
                    (_, false) => self.client.send_message(envelope),
                };
                match queued {
                    Ok(id) => {
                        self.ids.push(id);
                        if let (Some(body), false) = (body, finish) {
                            let taken = self.client.write_body(id, &body).unwrap();
                            assert_eq!(taken, body.len(), "write_body took part of a small body");
                        }
                        Ok(())
                    }
                    Err(e) => Err(format!("{e:?}")),
                }
            }
            // > probe depth=mail|rcpt from=a@b to=c@d[,e@f]
            "probe" => {
                let mut from = None;
                let mut to = Vec::new();
                let mut depth = mailwire::ProbeDepth::Rcpt;
                for kv in split_args(rest) {
                    let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                    match k {
                        "from" if v == "<>" => from = None,
                        "from" => from = Some(Mailbox::parse(v).unwrap()),
                        "to" => to.extend(
                            v.split(',')
                                .map(|a| Recipient::from(Mailbox::parse(a).unwrap())),
                        ),
                        "depth" if v == "mail" => depth = mailwire::ProbeDepth::Mail,
                        "depth" => depth = mailwire::ProbeDepth::Rcpt,
                        _ => panic!("probe: unknown {k}"),
                    }
                }
                match self
                    .client
                    .probe(Envelope::with_recipients(from, to), depth)
                {
                    Ok(id) => {
                        self.ids.push(id);
                        Ok(())
                    }
                    Err(e) => Err(format!("{e:?}")),
                }
            }
            // > write #N text
            "write" => {
                let (n, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let id = self.id(n);
                self.client
                    .write_body(id, &unescape(text))
                    .map(drop)
                    .map_err(|e| format!("{e:?}"))
            }
            "finish" => {
                let id = self.id(rest.trim());
                self.client.finish_body(id).map_err(|e| format!("{e:?}"))
            }
            "noop" => self
                .client
                .noop(opt(&arg))
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "etrn" => self
                .client
                .etrn(&arg)
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "vrfy" => self
                .client
                .verify(&arg)
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "expn" => self
                .client
                .expand(&arg)
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "help" => self
                .client
                .help(opt(&arg))
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "quit" => self.client.quit().map_err(|e| format!("{e:?}")),
            "abort" => {
                self.client.abort(self.now);
                Ok(())
            }
            _ => panic!("unknown action {verb}"),
        };
        if let Err(e) = result {
            self.last_usage_error = Some(e);
        }
        self.drain();
    }
}

fn opt(s: &str) -> Option<&str> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Splits on spaces, keeping `"…"` quoted values together (quotes removed).
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// An event as transcripts name it: its `Debug` form, but a message's outcome as
/// `MessageDone #N <verdict>` (and `Failed { content_sent: B, error: E }`), so that a line
/// checks the verdict without spelling out the envelope.
pub fn render(event: &Event) -> String {
    match event {
        Event::MessageDone(o) => match &o.verdict {
            mailwire::Verdict::Failed {
                error,
                content_sent,
            } => format!(
                "MessageDone #{} Failed {{ content_sent: {content_sent}, error: {error:?} }}",
                o.message.get()
            ),
            verdict => format!("MessageDone #{} {verdict:?}", o.message.get()),
        },
        other => format!("{other:?}"),
    }
}

/// Runs a transcript text with the given split; panics with the line number on a mismatch.
pub fn run_transcript(name: &str, text: &str, split: Split) -> Runner {
    let mut config = base_config();
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("! ") {
            apply_config(&mut config, rest);
        }
    }
    let mut r = Runner::new(config, split);
    let mut server = Vec::new();
    let mut expect_c = Vec::new();
    let mut expect_c_line = 0;
    let flush = |r: &mut Runner, server: &mut Vec<u8>| {
        if !server.is_empty() {
            let bytes = std::mem::take(server);
            r.feed(&bytes);
        }
    };
    for (n, raw) in lines.iter().enumerate() {
        let lineno = n + 1;
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') || line.starts_with("! ") {
            continue;
        }
        let is_s = line.starts_with("S:");
        let is_c = line.starts_with("C:") || line.starts_with("CR:");
        if !is_s {
            flush(&mut r, &mut server);
        }
        if !is_c && !expect_c.is_empty() {
            let got = r.take_sent();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expect_c),
                "{name}:{expect_c_line} ({split:?}): client bytes differ"
            );
            expect_c.clear();
        }
        let body = line.get(3..).unwrap_or("");
        if is_s {
            server.extend(unescape(body));
            server.extend_from_slice(b"\r\n");
        } else if let Some(raw) = line.strip_prefix("SR:") {
            // Raw server bytes, no CRLF appended.
            server.extend(unescape(raw.trim_start()));
        } else if line.starts_with("C:") {
            if expect_c.is_empty() {
                expect_c_line = lineno;
            }
            expect_c.extend(unescape(body));
            expect_c.extend_from_slice(b"\r\n");
        } else if let Some(rest) = line.strip_prefix("CR:") {
            // Raw expected client bytes, no CRLF appended.
            if expect_c.is_empty() {
                expect_c_line = lineno;
            }
            expect_c.extend(unescape(rest.trim_start()));
        } else if line.starts_with("E:") {
            r.drain();
            let want = body;
            let got = r.events.pop_front();
            let dbg = got.as_ref().map_or_else(|| "None".to_string(), render);
            assert!(
                got.is_some() && dbg.contains(want),
                "{name}:{lineno} ({split:?}): expected event containing {want:?}, got {dbg}\nall events: {:#?}",
                r.events
            );
        } else if let Some(want) = line.strip_prefix("E~ ") {
            // Skip events until one contains `want` (for orders that depend on the split).
            r.drain();
            loop {
                let got = r.events.pop_front();
                assert!(
                    got.is_some(),
                    "{name}:{lineno} ({split:?}): no event containing {want:?}"
                );
                if got.as_ref().is_some_and(|e| render(e).contains(want)) {
                    break;
                }
            }
        } else if let Some(rest) = line.strip_prefix("L>").or_else(|| line.strip_prefix("L<")) {
            // `L>` alone is an empty line.
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            r.drain();
            let want_dir = if line.starts_with("L>") {
                mailwire::Direction::Sent
            } else {
                mailwire::Direction::Received
            };
            let want = unescape(rest);
            let found = r.all_events[r.transcript_cursor..].iter().position(
                |e| matches!(e, Event::Transcript(t) if t.direction == want_dir && t.line == want),
            );
            match found {
                Some(k) => r.transcript_cursor += k + 1,
                None => panic!(
                    "{name}:{lineno} ({split:?}): no transcript line {rest:?} after line {}",
                    r.transcript_cursor
                ),
            }
        } else if line.starts_with("E!") {
            r.drain();
            assert!(
                r.events.is_empty(),
                "{name}:{lineno} ({split:?}): events left: {:#?}",
                r.events
            );
        } else if let Some(rest) = line.strip_prefix("T+") {
            let d = if let Some(ms) = rest.strip_suffix("ms") {
                Duration::from_millis(ms.parse().unwrap())
            } else {
                Duration::from_secs(rest.trim_end_matches('s').parse().unwrap())
            };
            r.advance(d);
        } else if line == "X: close" {
            r.client.handle_closed(r.now);
            r.drain();
        } else if line == "X: tls-failed" {
            r.client.handle_tls_failed(r.now);
            r.drain();
        } else if line == "X: write-timeout" {
            r.client.handle_write_timeout(r.now);
            r.drain();
        } else if line == "X: tls" {
            r.client.handle_tls_established(r.now);
            r.drain();
        } else if let Some(action) = line.strip_prefix("> ") {
            r.run_action(action);
        } else if let Some(want) = line.strip_prefix("U: ") {
            let got = r.last_usage_error.clone();
            assert!(
                got.as_deref().is_some_and(|g| g.contains(want)),
                "{name}:{lineno}: expected usage error {want:?}, got {got:?}"
            );
        } else {
            panic!("{name}:{lineno}: cannot read line {line:?}");
        }
    }
    flush(&mut r, &mut server);
    if !expect_c.is_empty() {
        let got = r.take_sent();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expect_c),
            "{name}:{expect_c_line} ({split:?}): client bytes differ"
        );
    }
    r
}

/// A session with `config` past the greeting and the EHLO reply `ehlo` (lines without CRLF,
/// the last one without `250 `'s dash; e.g. `["mx.example", "PIPELINING", "8BITMIME"]`), with
/// the EHLO taken from the transmit buffer and the events so far dropped.
pub fn ready_session(config: Config, ehlo: &[&str]) -> Client {
    let now = Timestamp::ZERO;
    let mut client = Client::new(config, now).expect("configuration");
    let mut wire = Vec::new();
    client.handle_input(now, b"220 mx.example ESMTP\r\n");
    client.poll_transmit(now, &mut wire);
    let mut reply = String::new();
    for (i, line) in ehlo.iter().enumerate() {
        let sep = if i + 1 == ehlo.len() { ' ' } else { '-' };
        reply.push_str(&format!("250{sep}{line}\r\n"));
    }
    client.handle_input(now, reply.as_bytes());
    while client.poll_event().is_some() {}
    client
}

/// Everything the client has to send, as text.
pub fn sent(client: &mut Client) -> String {
    let mut wire = Vec::new();
    client.poll_transmit(Timestamp::ZERO, &mut wire);
    String::from_utf8_lossy(&wire).into_owned()
}

/// The events queued, in order.
pub fn events(client: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

/// The outcome among `events` of message `id`.
pub fn outcome_of(events: &[Event], id: MessageId) -> Option<mailwire::MessageOutcome> {
    events.iter().find_map(|e| match e {
        Event::MessageDone(o) if o.message == id => Some(o.clone()),
        _ => None,
    })
}

pub fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse(s).unwrap()
}

/// `a@example.org` to each of `to`.
pub fn envelope_to(to: &[&str]) -> Envelope {
    Envelope::new(
        Some(mailbox("a@example.org")),
        to.iter().map(|t| mailbox(t)),
    )
}
