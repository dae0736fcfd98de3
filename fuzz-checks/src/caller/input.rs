//! The `caller_api` input: [`Setup`] (the configuration and the server), then [`Op`]s, with the
//! [`Text`]s and envelope specifications they carry, each with the encoding it is read from (so
//! seeds are written, and crash files read, by the same code), and the tables of good and
//! tricky values that picks choose from.

use crate::input::Bytes;
use mailwire::command::{
    BodyType, DeliverBy, MailParams, Notify, OriginalRecipient, Param, RcptParams, Ret,
};
use mailwire::sasl::{Credentials, Mechanism};
use mailwire::{
    AuthConfig, ClientName, Config, Envelope, Limits, Mailbox, Protocol, Recipient, Secret,
    Timeouts, TlsPolicy,
};
use std::time::Duration;

/// The longest text a [`Text::Repeat`] makes (bodies and values alike).
const MAX_TEXT: usize = 16 * 1024;
/// Answers one [`Op::Answer`] gives at most (a step may not run forever).
pub const MAX_ANSWERS: usize = 256;

/// A string, body or value from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    /// Entry `n` (modulo its length) of the table the context uses.
    Pick(u8),
    /// These bytes (lossy UTF-8 where a string is wanted).
    Bytes(Vec<u8>),
    /// `unit` repeated `count` times (at most `MAX_TEXT` bytes).
    Repeat(Vec<u8>, u16),
}

impl Default for Text {
    fn default() -> Text {
        Text::Pick(0)
    }
}

impl Text {
    /// Kind byte: `k & 3` 0 raw (a length byte, then the bytes), 1 repeat (a length byte, the
    /// unit, a little-endian `u16` count), else a pick of entry `k >> 2`.
    pub fn read(input: &mut Bytes<'_>) -> Text {
        let kind = input.u8();
        match kind & 3 {
            0 => Text::Bytes(input.short_slice().to_vec()),
            1 => {
                let unit = input.short_slice().to_vec();
                Text::Repeat(unit, input.u16())
            }
            _ => Text::Pick(kind >> 2),
        }
    }

    /// The encoding [`Text::read`] reads.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Text::Pick(n) => out.push((n & 63) << 2 | 2),
            Text::Bytes(b) => {
                out.extend_from_slice(&[0, b.len().min(255) as u8]);
                out.extend_from_slice(&b[..b.len().min(255)]);
            }
            Text::Repeat(unit, count) => {
                out.extend_from_slice(&[1, unit.len().min(255) as u8]);
                out.extend_from_slice(&unit[..unit.len().min(255)]);
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
    }

    /// The bytes, picks taken from `table`.
    pub fn bytes(&self, table: &[&[u8]]) -> Vec<u8> {
        match self {
            Text::Pick(n) => table[usize::from(*n) % table.len()].to_vec(),
            Text::Bytes(b) => b.clone(),
            Text::Repeat(unit, count) => {
                if unit.is_empty() {
                    return Vec::new();
                }
                let n = usize::from(*count).min(MAX_TEXT / unit.len());
                unit.repeat(n)
            }
        }
    }

    /// The text as a string (lossy UTF-8).
    pub fn string(&self, table: &[&[u8]]) -> String {
        String::from_utf8_lossy(&self.bytes(table)).into_owned()
    }
}

fn read_opt_text(input: &mut Bytes<'_>) -> Option<Text> {
    (input.u8() & 1 == 1).then(|| Text::read(input))
}

fn encode_opt_text(text: &Option<Text>, out: &mut Vec<u8>) {
    match text {
        Some(t) => {
            out.push(1);
            t.encode(out);
        }
        None => out.push(0),
    }
}

/// An extra `keyword[=value]` parameter. The keyword is prefixed with `X` unless picked, so it
/// never names a parameter the session models itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// The keyword.
    pub keyword: Text,
    /// The value, if any.
    pub value: Option<Text>,
}

impl ParamSpec {
    fn read(input: &mut Bytes<'_>) -> ParamSpec {
        ParamSpec {
            keyword: Text::read(input),
            value: read_opt_text(input),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.keyword.encode(out);
        encode_opt_text(&self.value, out);
    }

    /// The parameter, if `Param::new` takes it (the `commands` target checks its refusals).
    fn build(&self) -> Option<Param> {
        let keyword = match &self.keyword {
            Text::Pick(_) => self.keyword.string(KEYWORDS),
            other => format!("X{}", other.string(KEYWORDS)),
        };
        let value = self.value.as_ref().map(|v| v.string(VALUES));
        Param::new(&keyword, value.as_deref()).ok()
    }
}

fn read_params(input: &mut Bytes<'_>, count: u8) -> Vec<ParamSpec> {
    (0..count).map(|_| ParamSpec::read(input)).collect()
}

/// One RCPT TO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RcptSpec {
    /// The address ([`ADDRESSES`]).
    pub address: Text,
    /// NOTIFY: bits 0–2 SUCCESS, FAILURE, DELAY (none: NEVER).
    pub notify: Option<u8>,
    /// ORCPT: addr-type ([`ORCPT_TYPES`]) and address ([`ADDRESSES`]).
    pub orcpt: Option<(Text, Text)>,
    /// Extra parameters (at most 3).
    pub extra: Vec<ParamSpec>,
}

impl RcptSpec {
    fn read(input: &mut Bytes<'_>) -> RcptSpec {
        let address = Text::read(input);
        let flags = input.u8();
        let notify = (flags & 1 != 0).then(|| input.u8());
        let orcpt = (flags & 2 != 0).then(|| (Text::read(input), Text::read(input)));
        let extra = read_params(input, flags >> 2 & 3);
        RcptSpec {
            address,
            notify,
            orcpt,
            extra,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.address.encode(out);
        let flags = u8::from(self.notify.is_some())
            | u8::from(self.orcpt.is_some()) << 1
            | (self.extra.len().min(3) as u8) << 2;
        out.push(flags);
        if let Some(n) = self.notify {
            out.push(n);
        }
        if let Some((t, a)) = &self.orcpt {
            t.encode(out);
            a.encode(out);
        }
        for p in self.extra.iter().take(3) {
            p.encode(out);
        }
    }
}

/// MAIL FROM's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailSpec {
    /// SIZE= ([`SIZES`]).
    pub size: Option<u8>,
    /// BODY=: 0 7BIT, 1 8BITMIME, 2 BINARYMIME (modulo 3).
    pub body: Option<u8>,
    /// SMTPUTF8.
    pub smtputf8: bool,
    /// RET=: FULL (`true`) or HDRS.
    pub ret: Option<bool>,
    /// ENVID= ([`ENVIDS`]).
    pub envid: Option<Text>,
    /// REQUIRETLS.
    pub requiretls: bool,
    /// BY=: seconds ([`BY_TIMES`]), and bit 0 R mode, bit 1 trace.
    pub deliver_by: Option<(u8, u8)>,
    /// MT-PRIORITY=.
    pub mt_priority: Option<i8>,
    /// Extra parameters (at most 7).
    pub extra: Vec<ParamSpec>,
    /// XFORWARD attributes (at most 7): names ([`XCLIENT_NAMES`]) and values
    /// ([`XCLIENT_VALUES`]); those `Attribute::new` refuses are left out.
    pub xforward: Vec<(Text, Text)>,
}

impl MailSpec {
    fn read(input: &mut Bytes<'_>) -> MailSpec {
        let flags = input.u16();
        let mut m = MailSpec::default();
        if flags & 1 != 0 {
            m.size = Some(input.u8());
        }
        if flags & 2 != 0 {
            m.body = Some(input.u8());
        }
        m.smtputf8 = flags & 4 != 0;
        if flags & 8 != 0 {
            m.ret = Some(input.u8() & 1 == 1);
        }
        if flags & 16 != 0 {
            m.envid = Some(Text::read(input));
        }
        m.requiretls = flags & 32 != 0;
        if flags & 64 != 0 {
            m.deliver_by = Some((input.u8(), input.u8()));
        }
        if flags & 128 != 0 {
            m.mt_priority = Some(input.u8() as i8);
        }
        m.extra = read_params(input, (flags >> 8 & 7) as u8);
        for _ in 0..flags >> 11 & 7 {
            m.xforward.push((Text::read(input), Text::read(input)));
        }
        m
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let flags: u16 = u16::from(self.size.is_some())
            | u16::from(self.body.is_some()) << 1
            | u16::from(self.smtputf8) << 2
            | u16::from(self.ret.is_some()) << 3
            | u16::from(self.envid.is_some()) << 4
            | u16::from(self.requiretls) << 5
            | u16::from(self.deliver_by.is_some()) << 6
            | u16::from(self.mt_priority.is_some()) << 7
            | (self.extra.len().min(7) as u16) << 8
            | (self.xforward.len().min(7) as u16) << 11;
        out.extend_from_slice(&flags.to_le_bytes());
        if let Some(s) = self.size {
            out.push(s);
        }
        if let Some(b) = self.body {
            out.push(b);
        }
        if let Some(r) = self.ret {
            out.push(u8::from(r));
        }
        if let Some(e) = &self.envid {
            e.encode(out);
        }
        if let Some((s, f)) = self.deliver_by {
            out.extend_from_slice(&[s, f]);
        }
        if let Some(p) = self.mt_priority {
            out.push(p as u8);
        }
        for p in self.extra.iter().take(7) {
            p.encode(out);
        }
        for (name, value) in self.xforward.iter().take(7) {
            name.encode(out);
            value.encode(out);
        }
    }

    fn build(&self) -> MailParams {
        let mut p = MailParams::default();
        p.size = self.size.map(|s| SIZES[usize::from(s) % SIZES.len()]);
        p.body = self.body.map(|b| match b % 3 {
            0 => BodyType::SevenBit,
            1 => BodyType::EightBitMime,
            _ => BodyType::BinaryMime,
        });
        p.smtputf8 = self.smtputf8;
        p.ret = self
            .ret
            .map(|full| if full { Ret::Full } else { Ret::Headers });
        p.envid = self.envid.as_ref().map(|e| e.string(ENVIDS));
        p.requiretls = self.requiretls;
        p.deliver_by = self.deliver_by.map(|(s, f)| DeliverBy {
            seconds: BY_TIMES[usize::from(s) % BY_TIMES.len()],
            return_on_expiry: f & 1 != 0,
            trace: f & 2 != 0,
        });
        p.mt_priority = self.mt_priority;
        p.extra = self.extra.iter().filter_map(ParamSpec::build).collect();
        p
    }
}

/// An envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSpec {
    /// The reverse-path ([`ADDRESSES`]); `None` is `<>`.
    pub from: Option<Text>,
    /// The recipients (at most 7; an address that does not parse is left out).
    pub recipients: Vec<RcptSpec>,
    /// MAIL's parameters.
    pub mail: MailSpec,
}

impl EnvelopeSpec {
    fn read(input: &mut Bytes<'_>) -> EnvelopeSpec {
        let flags = input.u8();
        let from = (flags & 1 != 0).then(|| Text::read(input));
        let recipients = (0..flags >> 1 & 7).map(|_| RcptSpec::read(input)).collect();
        EnvelopeSpec {
            from,
            recipients,
            mail: MailSpec::read(input),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.from.is_some()) | (self.recipients.len().min(7) as u8) << 1);
        if let Some(f) = &self.from {
            f.encode(out);
        }
        for r in self.recipients.iter().take(7) {
            r.encode(out);
        }
        self.mail.encode(out);
    }

    /// The envelope (addresses that do not parse, and parameters `Param::new` refuses, left
    /// out).
    pub fn build(&self) -> Envelope {
        let from = self
            .from
            .as_ref()
            .and_then(|f| Mailbox::parse(&f.string(ADDRESSES)).ok());
        let recipients = self.recipients.iter().filter_map(|r| {
            let address = Mailbox::parse(&r.address.string(ADDRESSES)).ok()?;
            let mut params = RcptParams::default();
            params.notify = r.notify.map(|n| Notify {
                success: n & 1 != 0,
                failure: n & 2 != 0,
                delay: n & 4 != 0,
            });
            params.orcpt = r.orcpt.as_ref().map(|(t, a)| OriginalRecipient {
                addr_type: t.string(ORCPT_TYPES),
                address: a.string(ADDRESSES),
            });
            params.extra = r.extra.iter().filter_map(ParamSpec::build).collect();
            Some(Recipient::new(address, params))
        });
        let mut envelope = Envelope::with_recipients(from, recipients.collect::<Vec<_>>())
            .with_params(self.mail.build());
        envelope.xforward = self
            .mail
            .xforward
            .iter()
            .filter_map(|(n, v)| {
                let name = n.string(XCLIENT_NAMES);
                mailwire::xclient::Attribute::new(&name, &v.string(XCLIENT_VALUES)).ok()
            })
            .collect();
        envelope
    }
}

/// How the session is configured, and the server it talks to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Setup {
    /// Bits 0–1: TLS (0 never, 1 opportunistic, 2 required, 3 implicit TLS); bit 2: pipelining
    /// off; bit 3: chunking off; bit 4: transcript; bit 5: LMTP; bit 6: HELO without an ESMTP
    /// greeting; bit 7: no HELO fallback.
    pub session: u8,
    /// Bits 0–1: credentials (0 none, 1 password, 2 OAuth token, 3 the two [`Setup::credentials`]
    /// texts as user and password); bit 2: allow plaintext mechanisms; bits 3–5: only this
    /// mechanism (0 any, then PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, and 7:
    /// the [`Setup::mechanism`] text); bits 6–7: SCRAM nonce (0 24 bytes, 1 none, 2 too short,
    /// 3 the [`Setup::nonce`] text).
    pub auth: u8,
    /// Bits 0–2: BDAT chunk size ([`CHUNKS`]); bits 3–4: messages in flight; bits 5–7: body
    /// buffer ([`BODY_BUFFERS`]).
    pub limits: u8,
    /// 0: RFC 5321 timeouts; else every stage this many seconds.
    pub timeout: u8,
    /// The client name ([`NAMES`]; one that does not parse gives `client.example`).
    pub name: Text,
    /// The server's EHLO: bit 0 PIPELINING, 1 CHUNKING, 2 8BITMIME, 3 SMTPUTF8, 4 DSN, 5
    /// STARTTLS, 6 SIZE, 7 BINARYMIME, 8 REQUIRETLS, 9 DELIVERBY, 10 MT-PRIORITY, 11
    /// ENHANCEDSTATUSCODES; 12 a greeting without "ESMTP"; 13 the TLS handshake fails; 14 it is
    /// left to [`Op::TlsDone`] and [`Op::TlsFailed`]; 15 STARTTLS offered again after TLS.
    pub server: u16,
    /// The SIZE limit the server announces ([`SERVER_SIZES`]).
    pub server_size: u8,
    /// AUTH mechanisms the server offers: bits PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER,
    /// SCRAM-SHA-1, SCRAM-SHA-256, X-UNKNOWN.
    pub server_auth: u8,
    /// With credentials kind 3: the user name and the password.
    pub credentials: Option<(Text, Text)>,
    /// With mechanism 7: its name.
    pub mechanism: Option<Text>,
    /// With nonce kind 3: the nonce.
    pub nonce: Option<Text>,
    /// XCLIENT: bits 0–1 0 none, 1 checked and required, 2 checked, if offered, 3 unchecked;
    /// bit 2 the server offers XCLIENT and XFORWARD, bit 3 XCLIENT naming only NAME and HELO
    /// (else every attribute Postfix knows); bit 4 it answers XCLIENT with 250 (else 220).
    /// Encoded with the number of attributes that follow in bits 5–7.
    pub xclient: u8,
    /// The XCLIENT attributes asked for: names ([`XCLIENT_NAMES`]) and values
    /// ([`XCLIENT_VALUES`]).
    pub xclient_attributes: Vec<(Text, Text)>,
}

impl Setup {
    /// Reads the setup.
    pub fn read(input: &mut Bytes<'_>) -> Setup {
        let mut s = Setup {
            session: input.u8(),
            auth: input.u8(),
            limits: input.u8(),
            timeout: input.u8(),
            name: Text::read(input),
            server: input.u16(),
            server_size: input.u8(),
            server_auth: input.u8(),
            ..Setup::default()
        };
        if s.auth & 3 == 3 {
            s.credentials = Some((Text::read(input), Text::read(input)));
        }
        if s.auth >> 3 & 7 == 7 {
            s.mechanism = Some(Text::read(input));
        }
        if s.auth >> 6 == 3 {
            s.nonce = Some(Text::read(input));
        }
        let xclient = input.u8();
        s.xclient = xclient & 31;
        for _ in 0..xclient >> 5 {
            s.xclient_attributes
                .push((Text::read(input), Text::read(input)));
        }
        s
    }

    /// The encoding [`Setup::read`] reads.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.session, self.auth, self.limits, self.timeout]);
        self.name.encode(out);
        out.extend_from_slice(&self.server.to_le_bytes());
        out.extend_from_slice(&[self.server_size, self.server_auth]);
        if self.auth & 3 == 3 {
            let (u, p) = self
                .credentials
                .clone()
                .unwrap_or((Text::Pick(0), Text::Pick(0)));
            u.encode(out);
            p.encode(out);
        }
        if self.auth >> 3 & 7 == 7 {
            self.mechanism.clone().unwrap_or(Text::Pick(0)).encode(out);
        }
        if self.auth >> 6 == 3 {
            self.nonce.clone().unwrap_or(Text::Pick(0)).encode(out);
        }
        let count = self.xclient_attributes.len().min(7) as u8;
        out.push(self.xclient & 31 | count << 5);
        for (name, value) in self.xclient_attributes.iter().take(7) {
            name.encode(out);
            value.encode(out);
        }
    }

    /// The XCLIENT configuration, when one is asked for: the attributes that
    /// [`Attribute::new`](mailwire::xclient::Attribute::new) takes (the others are refused
    /// calls, checked to be refused cleanly), and `None` when none is.
    pub fn xclient(&self) -> Option<mailwire::Xclient> {
        if self.xclient & 3 == 0 {
            return None;
        }
        let mut x = mailwire::Xclient::new();
        for (name, value) in &self.xclient_attributes {
            let name = name.string(XCLIENT_NAMES);
            let value = value.string(XCLIENT_VALUES);
            if let Ok(attribute) = mailwire::xclient::Attribute::new(&name, &value) {
                x.push(attribute);
            }
        }
        x.if_offered = self.xclient & 3 == 2;
        x.check_offered = self.xclient & 3 != 3;
        Some(x)
    }

    fn tls(&self) -> TlsPolicy {
        match self.session & 3 {
            0 | 3 => TlsPolicy::Never,
            1 => TlsPolicy::Opportunistic,
            _ => TlsPolicy::Required,
        }
    }

    /// The client configuration.
    pub fn config(&self) -> Config {
        let name = ClientName::parse(&self.name.string(NAMES))
            .unwrap_or_else(|_| ClientName::parse("client.example").expect("valid name"));
        let mut c = Config::new(name);
        c.tls = self.tls();
        c.implicit_tls = self.session & 3 == 3;
        c.pipelining = self.session & 4 == 0;
        c.chunking = self.session & 8 == 0;
        c.transcript = self.session & 16 != 0;
        if self.session & 32 != 0 {
            c.protocol = Protocol::Lmtp;
        }
        c.helo_without_esmtp_greeting = self.session & 64 != 0;
        c.helo_fallback = self.session & 128 == 0;
        if self.auth & 3 != 0 {
            let credentials = match (self.auth & 3, &self.credentials) {
                (2, _) => Credentials::OAuth2 {
                    username: "alice".into(),
                    token: Secret::new("tok3n-Yy8-s3cr3t".into()),
                },
                (3, Some((user, pass))) => Credentials::Password {
                    username: user.string(USERS),
                    password: Secret::new(pass.string(USERS)),
                },
                _ => Credentials::Password {
                    username: "alice".into(),
                    password: Secret::new("S3cr3t-pw-Zx9!".into()),
                },
            };
            let mut auth = AuthConfig::new(credentials);
            auth.allow_plaintext = self.auth & 4 != 0;
            const ONLY: [&str; 7] = [
                "",
                "PLAIN",
                "LOGIN",
                "CRAM-MD5",
                "SCRAM-SHA-1",
                "SCRAM-SHA-256",
                "XOAUTH2",
            ];
            match usize::from(self.auth >> 3 & 7) {
                0 => {}
                7 => {
                    let name = self
                        .mechanism
                        .as_ref()
                        .map_or(String::new(), |m| m.string(MECHANISMS));
                    auth.mechanisms.push(Mechanism::parse(&name));
                }
                i => auth.mechanisms.push(Mechanism::parse(ONLY[i])),
            }
            auth.nonce = match self.auth >> 6 {
                0 => b"0123456789abcdefghijklmn".to_vec(),
                1 => Vec::new(),
                2 => b"short".to_vec(),
                _ => self.nonce.as_ref().map_or(Vec::new(), |n| n.bytes(NONCES)),
            };
            c.auth = Some(auth);
        }
        let mut limits = Limits::default();
        limits.bdat_chunk_size = CHUNKS[usize::from(self.limits & 7)];
        limits.max_messages_in_flight = [64, 1, 2, 0][usize::from(self.limits >> 3 & 3)];
        limits.body_buffer = BODY_BUFFERS[usize::from(self.limits >> 5)];
        c.limits = limits;
        if self.timeout != 0 {
            c.timeouts = Timeouts::uniform(Duration::from_secs(u64::from(self.timeout)));
        }
        c.xclient = self.xclient();
        c
    }
}

/// One step: a call of the caller's, or the server or the network doing something. An opcode
/// byte (modulo 13), then the operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// 0, length, bytes: the server answers the next `bytes[0]` commands awaiting a reply (0 or
    /// no bytes: every one awaited, also those sent meanwhile, up to [`MAX_ANSWERS`]), one reply
    /// per read, in the styles `bytes[1..]`, cycled (none: positive; see `Server::reply`).
    Answer(Vec<u8>),
    /// 1, envelope: `send_message`.
    Send(EnvelopeSpec),
    /// 2, envelope, body: `send_message_with_body`.
    SendWithBody(EnvelopeSpec, Text),
    /// 3, target, body ([`BODIES`]): `write_body` to the oldest open message (target 0) or to the
    /// `target`-th message queued, whatever its state.
    Write(u8, Text),
    /// 4, target: `finish_body`, targets as for `Write`.
    Finish(u8),
    /// 5, which (NOOP, VRFY, EXPN, HELP, ETRN), argument ([`ARGUMENTS`]).
    Side(u8, Option<Text>),
    /// 6: `quit`.
    Quit,
    /// 7: `abort`.
    Abort,
    /// 8, t: time passes: 0 up to the deadline, else `t` seconds (minutes above 127); then
    /// `handle_timeout`.
    Wait(u8),
    /// 9: the server closes the connection.
    Close,
    /// 10: the TLS handshake completed (when the setup leaves it to the steps).
    TlsDone,
    /// 11: the TLS handshake failed.
    TlsFailed,
    /// 12: a write stalled.
    WriteTimeout,
}

impl Op {
    /// Reads one step.
    pub fn read(input: &mut Bytes<'_>) -> Op {
        match input.u8() % 13 {
            0 => Op::Answer(input.short_slice().to_vec()),
            1 => Op::Send(EnvelopeSpec::read(input)),
            2 => {
                let envelope = EnvelopeSpec::read(input);
                Op::SendWithBody(envelope, Text::read(input))
            }
            3 => {
                let target = input.u8();
                Op::Write(target, Text::read(input))
            }
            4 => Op::Finish(input.u8()),
            5 => {
                let which = input.u8();
                Op::Side(which, read_opt_text(input))
            }
            6 => Op::Quit,
            7 => Op::Abort,
            8 => Op::Wait(input.u8()),
            9 => Op::Close,
            10 => Op::TlsDone,
            11 => Op::TlsFailed,
            _ => Op::WriteTimeout,
        }
    }

    /// The encoding [`Op::read`] reads.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::Answer(styles) => {
                out.extend_from_slice(&[0, styles.len().min(255) as u8]);
                out.extend_from_slice(&styles[..styles.len().min(255)]);
            }
            Op::Send(e) => {
                out.push(1);
                e.encode(out);
            }
            Op::SendWithBody(e, b) => {
                out.push(2);
                e.encode(out);
                b.encode(out);
            }
            Op::Write(t, b) => {
                out.extend_from_slice(&[3, *t]);
                b.encode(out);
            }
            Op::Finish(t) => out.extend_from_slice(&[4, *t]),
            Op::Side(w, a) => {
                out.extend_from_slice(&[5, *w]);
                encode_opt_text(a, out);
            }
            Op::Quit => out.push(6),
            Op::Abort => out.push(7),
            Op::Wait(t) => out.extend_from_slice(&[8, *t]),
            Op::Close => out.push(9),
            Op::TlsDone => out.push(10),
            Op::TlsFailed => out.push(11),
            Op::WriteTimeout => out.push(12),
        }
    }
}

/// A whole input: the setup and the steps.
pub fn encode(setup: &Setup, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    setup.encode(&mut out);
    for op in ops {
        op.encode(&mut out);
    }
    out
}

/// Addresses: ASCII, UTF-8 (RFC 6531), quoted (with `>` inside), literals, and the longest
/// RFC 5321 4.5.3.1 allows (64-octet local part, 254-octet mailbox).
pub const ADDRESSES: &[&[u8]] = &[
    b"a@example.org",
    b"b@example.net",
    b"c@example.net",
    b"d@[192.0.2.1]",
    b"\"e f\"@example.net",
    "jörg@exämple.net".as_bytes(),
    b"postmaster@[IPv6:2001:db8::1]",
    b"\"a>b\\\\\"@example.org",
    b"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.com",
    b"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.com",
    "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü@ääääääääääääääääääääääääääääääää.example".as_bytes(),
    b"x@[test:some-content]",
    b"user+tag@sub.example.co.uk",
    b"a@b\r\nRCPT TO:<evil@example.org>",
];

/// Client names.
pub const NAMES: &[&[u8]] = &[
    b"client.example",
    b"[192.0.2.1]",
    b"[IPv6:2001:db8::1]",
    b"xn--bcher-kva.example",
    "bücher.example".as_bytes(),
    b"c\r\nMAIL FROM:<x@y>",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
];

/// Extra parameter keywords (the session models none of them).
pub const KEYWORDS: &[&[u8]] = &[b"XLONG", b"XTRACE", b"X-A", b"XVERP", b"X1", b"XCLIENT"];

/// Extra parameter values: short, UTF-8 (RFC 6531 3.3 allows it only with SMTPUTF8), and
/// bytes the grammar refuses.
pub const VALUES: &[&[u8]] = &[b"v", b"1", b"on", "é".as_bytes(), b"a+b/c", b"a=b", b"x y"];

/// ENVID values: good, with a space, with xtext specials, at and over RFC 3461's 100 characters,
/// non-ASCII, and with CRLF.
pub const ENVIDS: &[&[u8]] = &[
    b"QQ314159",
    b"id with space",
    b"a+b=c",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "é".as_bytes(),
    b"id\r\nRSET",
];

/// ORCPT address types.
pub const ORCPT_TYPES: &[&[u8]] = &[b"rfc822", b"utf-8", b"x-bad;type", b""];

/// SIZE= values the caller declares.
pub const SIZES: &[u64] = &[
    1,
    0,
    100,
    1000,
    20_000,
    10_000_000,
    u32::MAX as u64,
    u64::MAX,
];

/// BY= times.
pub const BY_TIMES: &[i64] = &[
    120,
    -60,
    0,
    1,
    999_999_999,
    1_000_000_000,
    -999_999_999,
    i64::MIN,
];

/// Side command arguments.
pub const ARGUMENTS: &[&[u8]] = &[
    b"alice",
    b"postmaster",
    "jörg".as_bytes(),
    b"a b c",
    b"MAIL",
    b"x\r\nQUIT",
    b"",
];

/// XCLIENT attribute names: known ones, lower case, unknown, and names the syntax refuses.
pub const XCLIENT_NAMES: &[&[u8]] = &[
    b"ADDR",
    b"NAME",
    b"HELO",
    b"login",
    b"PORT",
    b"X_UNKNOWN",
    b"AD DR",
    b"N\r\nRSET",
    b"",
];

/// XCLIENT values: plain, special, xtext specials, UTF-8, CR LF, 255 octets.
pub const XCLIENT_VALUES: &[&[u8]] = &[
    b"10.1.2.3",
    b"relay.example",
    b"[UNAVAILABLE]",
    b"a+b=c d",
    "jörg".as_bytes(),
    b"x\r\nRCPT TO:<evil@example.org>",
    b"",
    b"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh.hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh.hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh.hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh",
];

/// User names and passwords (kind 3 credentials).
pub const USERS: &[&[u8]] = &[b"alice", b"", b"a\0b", "jörg".as_bytes(), b"pw\r\n", b"="];

/// Mechanism names (mechanism 7).
pub const MECHANISMS: &[&[u8]] = &[
    b"PLAIN",
    b"X-UNKNOWN",
    b"plain",
    b"",
    b"A\r\nB",
    b"TOOLONGMECHANISMNAME-X",
];

/// SCRAM nonces (nonce kind 3).
pub const NONCES: &[&[u8]] = &[
    b"0123456789abcdef",
    b"x",
    b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\r\n",
];

/// Body pieces: every line end, dots at line starts, end-of-data look-alikes and a smuggling
/// attempt, 8-bit and binary octets, a long line.
pub const BODIES: &[&[u8]] = &[
    b"Subject: hi\r\n\r\nhello\r\n",
    b"\r\n.\r\n",
    b"\n.\n",
    b".\r\n",
    b"line\r\n.",
    b"\r.\r",
    b"x\r",
    b"\n",
    b"..\r\n.\n",
    b"a\r\n.\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n",
    "caf\u{e9}\r\n".as_bytes(),
    b"\x00\xff\x80\r\n",
    b"",
    b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n",
];

/// BDAT chunk sizes.
pub const CHUNKS: [usize; 8] = [64 * 1024, 1, 2, 7, 16, 100, 512, 4096];

/// Body buffers (the core keeps at least two chunks' worth).
pub const BODY_BUFFERS: [usize; 8] = [256 * 1024, 0, 1, 7, 64, 1000, 4096, 65536];

/// SIZE limits the server announces: none, then small and large ones, and one too big for
/// `u64` (read as no limit).
pub const SERVER_SIZES: &[&str] = &[
    "",
    " 0",
    " 10",
    " 100",
    " 1000",
    " 20000",
    " 10000000",
    " 99999999999999999999",
];
