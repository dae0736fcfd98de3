//! `commands`: arbitrary addresses, names, parameters, arguments and credentials. Every
//! constructor and [`Command::encode`] either returns a typed error (and writes nothing) or the
//! value is clean and the encoder writes exactly one line: no CR, LF or NUL inside, CRLF at the
//! end, no longer than [`Command::max_line_len`] (RFC 5321 4.1.1, 4.5.3.1.4; the command
//! injection class). SASL responses to arbitrary challenges encode the same way (RFC 4954 4), and
//! xtext round-trips (RFC 3461 4).
//!
//! Input layout: whatever [`arbitrary`] makes of the bytes as a [`CommandsInput`].

use arbitrary::{Arbitrary, Unstructured};
use mailwire::command::{
    Argument, BodyType, DeliverBy, MailParams, Notify, OriginalRecipient, Param, RcptParams, Ret,
};
use mailwire::sasl::{decode_challenge, encode_response, Authenticator, Credentials, Mechanism};
use mailwire::{xtext, ClientName, Command, Domain, Mailbox, Secret};

/// The structured input.
#[derive(Arbitrary, Debug)]
pub struct CommandsInput {
    name: String,
    from: Option<String>,
    to: String,
    mail: MailInput,
    rcpt: RcptInput,
    argument: String,
    bdat: (u64, bool),
    mechanism: String,
    initial_response: Option<Vec<u8>>,
    response: Vec<u8>,
    sasl: SaslInput,
    xtext: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct MailInput {
    size: Option<u64>,
    body: Option<u8>,
    smtputf8: bool,
    ret: Option<bool>,
    envid: Option<String>,
    requiretls: bool,
    deliver_by: Option<(i64, bool, bool)>,
    mt_priority: Option<i8>,
    extra: Vec<(String, Option<String>)>,
}

#[derive(Arbitrary, Debug)]
struct RcptInput {
    notify: Option<(bool, bool, bool)>,
    orcpt: Option<(String, String)>,
    extra: Vec<(String, Option<String>)>,
}

#[derive(Arbitrary, Debug)]
struct SaslInput {
    mechanism: u8,
    user: String,
    secret: String,
    oauth: bool,
    nonce: Vec<u8>,
    challenges: Vec<Vec<u8>>,
}

/// The target.
pub fn commands(data: &[u8]) {
    let Ok(input) = CommandsInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check(&input);
}

/// Runs every check on one structured input.
pub fn check(input: &CommandsInput) {
    let name = ClientName::parse(&input.name).ok();
    if let Some(name) = &name {
        clean(name.as_str().as_bytes(), false, "client name");
        assert!(name.as_str().is_ascii(), "non-ASCII client name {name:?}");
        for command in [
            Command::Ehlo(name),
            Command::Helo(name),
            Command::Lhlo(name),
        ] {
            one_line(&command);
        }
    }
    if let Ok(domain) = Domain::parse(&input.name) {
        clean(domain.as_str().as_bytes(), false, "domain");
        assert!(
            domain.as_str().len() <= 255,
            "domain of {} octets",
            domain.as_str().len()
        );
    }
    let from = input.from.as_deref().and_then(mailbox);
    let to = mailbox(&input.to).unwrap_or_else(|| Mailbox::parse("b@example.net").expect("valid"));

    let mail = mail_params(&input.mail);
    one_line(&Command::Mail {
        from: from.as_ref(),
        params: &mail,
    });
    one_line(&Command::Mail {
        from: None,
        params: &MailParams::default(),
    });
    let rcpt = rcpt_params(&input.rcpt);
    one_line(&Command::Rcpt {
        to: &to,
        params: &rcpt,
    });

    match Argument::new(&input.argument) {
        Ok(arg) => {
            clean(arg.as_str().as_bytes(), true, "argument");
            assert!(arg.as_str().is_ascii(), "non-ASCII argument {arg:?}");
            for command in [
                Command::Noop(Some(&arg)),
                Command::Help(Some(&arg)),
                Command::Vrfy(&arg),
                Command::Expn(&arg),
            ] {
                one_line(&command);
            }
        }
        Err(_) => assert!(
            // ASCII only: a UTF-8 argument would need SMTPUTF8 (RFC 6531 3.7.4).
            input.argument.is_empty()
                || input
                    .argument
                    .chars()
                    .any(|c| c.is_control() || !c.is_ascii()),
            "argument {:?} refused",
            input.argument
        ),
    }
    for command in [
        Command::Noop(None),
        Command::Help(None),
        Command::Data,
        Command::Rset,
        Command::Quit,
        Command::StartTls,
    ] {
        assert!(one_line(&command), "{} refused", command.verb());
    }
    let (size, last) = input.bdat;
    assert!(
        one_line(&Command::Bdat { size, last }),
        "BDAT {size} refused"
    );

    let mechanism = Mechanism::parse(&input.mechanism);
    one_line(&Command::Auth {
        mechanism: &mechanism,
        initial_response: input.initial_response.as_deref(),
    });
    one_line(&Command::Auth {
        mechanism: &mechanism,
        initial_response: None,
    });
    one_line(&Command::AuthResponse(&input.response));

    sasl(&input.sasl);

    let mut encoded = String::new();
    xtext::encode(&input.xtext, &mut encoded);
    assert!(
        encoded
            .bytes()
            .all(|b| (33..=126).contains(&b) && b != b'='),
        "xtext {encoded:?} has a byte outside xchar"
    );
    assert_eq!(
        xtext::encoded_len(&input.xtext),
        encoded.len(),
        "encoded_len is wrong"
    );
    assert_eq!(
        xtext::decode(&encoded).as_deref(),
        Ok(&input.xtext[..]),
        "xtext does not round-trip"
    );
}

/// A mailbox from `text` if valid, checked.
fn mailbox(text: &str) -> Option<Mailbox> {
    let m = Mailbox::parse(text).ok()?;
    let s = m.as_str();
    clean(s.as_bytes(), true, "mailbox");
    assert_eq!(
        format!("{}@{}", m.local_part(), m.domain()),
        s,
        "parts do not make the mailbox"
    );
    assert!(s.len() <= 254, "mailbox of {} octets", s.len());
    assert!(
        m.local_part().len() <= 64,
        "local part of {} octets",
        m.local_part().len()
    );
    assert_eq!(m.needs_smtputf8(), !s.is_ascii());
    Some(m)
}

/// No control byte (C0, DEL) in a validated value; no space unless `space` (quoted local parts,
/// free-text arguments).
fn clean(bytes: &[u8], space: bool, what: &str) {
    for (at, &b) in bytes.iter().enumerate() {
        assert!(
            b >= 0x20 && b != 0x7f,
            "{what} {bytes:?} has control byte {b:#04x} at {at}"
        );
        assert!(space || b != b' ', "{what} {bytes:?} has a space at {at}");
    }
}

fn params(extra: &[(String, Option<String>)]) -> Vec<Param> {
    extra
        .iter()
        .filter_map(|(k, v)| Param::new(k, v.as_deref()).ok())
        .inspect(|p| {
            clean(p.keyword().as_bytes(), false, "keyword");
            assert!(!p.keyword().contains('='), "= in keyword");
            if let Some(v) = p.value() {
                clean(v.as_bytes(), false, "value");
                assert!(!v.contains('='), "= in value");
            }
        })
        .collect()
}

fn mail_params(m: &MailInput) -> MailParams {
    {
        let mut p = MailParams::default();
        p.size = m.size;
        p.body = m.body.map(|b| match b % 3 {
            0 => BodyType::SevenBit,
            1 => BodyType::EightBitMime,
            _ => BodyType::BinaryMime,
        });
        p.smtputf8 = m.smtputf8;
        p.ret = m
            .ret
            .map(|full| if full { Ret::Full } else { Ret::Headers });
        p.envid = m.envid.clone();
        p.requiretls = m.requiretls;
        p.deliver_by = m
            .deliver_by
            .map(|(seconds, return_on_expiry, trace)| DeliverBy {
                seconds,
                return_on_expiry,
                trace,
            });
        p.mt_priority = m.mt_priority;
        p.extra = params(&m.extra);
        p
    }
}

fn rcpt_params(r: &RcptInput) -> RcptParams {
    {
        let mut p = RcptParams::default();
        p.notify = r.notify.map(|(success, failure, delay)| Notify {
            success,
            failure,
            delay,
        });
        p.orcpt = r
            .orcpt
            .clone()
            .map(|(addr_type, address)| OriginalRecipient { addr_type, address });
        p.extra = params(&r.extra);
        p
    }
}

/// Encodes `command` after some bytes already in the buffer: on error nothing is added; on
/// success exactly one clean line is. True when it encoded.
fn one_line(command: &Command<'_>) -> bool {
    const PREFIX: &[u8] = b"previous\r\n";
    let mut out = PREFIX.to_vec();
    match command.encode(&mut out) {
        Err(_) => {
            assert_eq!(out, PREFIX, "{} wrote bytes and failed", command.verb());
            false
        }
        Ok(()) => {
            let line = &out[PREFIX.len()..];
            let body = line
                .strip_suffix(b"\r\n")
                .unwrap_or_else(|| panic!("{} line {line:?} does not end in CRLF", command.verb()));
            for (at, &b) in body.iter().enumerate() {
                assert!(
                    b != b'\r' && b != b'\n' && b != 0,
                    "{} line {:?} has byte {b:#04x} at {at}",
                    command.verb(),
                    String::from_utf8_lossy(line)
                );
            }
            assert!(
                line.len() <= command.max_line_len(),
                "{} line of {} octets, limit {}",
                command.verb(),
                line.len(),
                command.max_line_len()
            );
            if !matches!(command, Command::AuthResponse(_)) {
                assert!(
                    line.starts_with(command.verb().as_bytes()),
                    "line {line:?} for {}",
                    command.verb()
                );
            }
            true
        }
    }
}

/// The largest SCRAM iteration count this target lets the client compute (PBKDF2 with the
/// crate's own limit of a million rounds would make each such input take most of a second).
const MAX_FUZZ_ITERATIONS: u64 = 10_000;

fn too_many_iterations(challenge: &[u8]) -> bool {
    challenge.split(|&b| b == b',').any(|field| {
        field.strip_prefix(b"i=").is_some_and(|digits| {
            let digits: Vec<u8> = digits
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            digits.len() > 5
                || std::str::from_utf8(&digits)
                    .ok()
                    .and_then(|d| d.parse::<u64>().ok())
                    .unwrap_or(0)
                    > MAX_FUZZ_ITERATIONS
        })
    })
}

/// Runs an exchange of the chosen mechanism with arbitrary credentials against arbitrary
/// challenges: every response the client would send encodes as one clean line.
fn sasl(s: &SaslInput) {
    const MECHANISMS: [&str; 8] = [
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "XOAUTH2",
        "OAUTHBEARER",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "X-OTHER",
    ];
    let mechanism = Mechanism::parse(MECHANISMS[usize::from(s.mechanism) % MECHANISMS.len()]);
    let credentials = if s.oauth {
        Credentials::OAuth2 {
            username: s.user.clone(),
            token: Secret::new(s.secret.clone()),
        }
    } else {
        Credentials::Password {
            username: s.user.clone(),
            password: Secret::new(s.secret.clone()),
        }
    };
    let Ok(mut authenticator) = Authenticator::new(mechanism.clone(), &credentials, &s.nonce)
    else {
        return;
    };
    if let Some(initial) = authenticator.initial_response() {
        let wire = if initial.expose().is_empty() {
            Secret::new(b"=".to_vec())
        } else {
            encode_response(initial.expose())
        };
        // Either on the AUTH line, or (too long for it) as the answer to the first 334.
        if !one_line(&Command::Auth {
            mechanism: &mechanism,
            initial_response: Some(wire.expose()),
        }) {
            assert!(
                one_line(&Command::AuthResponse(wire.expose())) || wire.expose().len() > 12288,
                "initial response refused"
            );
        }
    }
    for challenge in &s.challenges {
        let Ok(decoded) = decode_challenge(challenge) else {
            continue;
        };
        if too_many_iterations(&decoded) {
            return;
        }
        match authenticator.step(&decoded) {
            Ok(response) => {
                let wire = encode_response(response.expose());
                assert!(
                    one_line(&Command::AuthResponse(wire.expose())) || wire.expose().len() > 12288,
                    "response refused"
                );
            }
            Err(e) => {
                // Sticky.
                assert_eq!(
                    authenticator.step(b""),
                    Err(e.clone()),
                    "SASL error not sticky"
                );
                break;
            }
        }
    }
    let _ = authenticator.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_filter() {
        assert!(too_many_iterations(b"r=abc,s=c2FsdA==,i=1000000"));
        assert!(!too_many_iterations(b"r=abc,s=c2FsdA==,i=4096"));
    }

    #[test]
    fn empty_and_arbitrary_inputs_pass() {
        commands(b"");
        commands(&[0xff; 64]);
        commands(b"client.example\0a@b.example\0x");
    }
}
