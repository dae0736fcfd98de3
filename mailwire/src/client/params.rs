//! A message's MAIL parameters for one server: what its extensions allow and its content needs
//! (RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 8689 REQUIRETLS,
//! RFC 2852 DELIVERBY, RFC 6710 MT-PRIORITY), and the check that the MAIL and RCPT lines encode
//! as they will really be sent. Pure functions: the state machine calls them.

use crate::capability::{Capabilities, Keyword, SizeLimit};
use crate::command::{BodyType, Command, MailParams};
use crate::config::{Config, Protocol};
use crate::envelope::Envelope;
use crate::error::Stage;
use crate::outcome::Unsendable;
use alloc::vec::Vec;

/// What the session knows of a message's content when its MAIL is built.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ContentFacts {
    /// The exact RFC 1870 size, when the whole content is already here.
    pub(super) size: Option<u64>,
    /// The size of what is here so far (a lower bound).
    pub(super) seen: u64,
    /// An octet above 127 is among what is here.
    pub(super) eight_bit: bool,
    /// All the content is here (or there is none to come, as for a probe).
    pub(super) complete: bool,
}

/// The server's fixed SIZE limit, if it announced one.
pub(super) fn size_limit(caps: &Capabilities) -> Option<u64> {
    match caps.size {
        Some(SizeLimit::Max(limit)) => Some(limit),
        _ => None,
    }
}

/// Whether content goes with BDAT: the server offers CHUNKING, the caller allows it, and the
/// protocol is SMTP (or BINARYMIME forces it).
pub(super) fn uses_bdat(caps: &Capabilities, config: &Config, params: &MailParams) -> bool {
    caps.chunking
        && config.protocol == Protocol::Smtp
        && (config.chunking || params.body == Some(BodyType::BinaryMime))
}

/// The MAIL parameters as they will be sent to a server with these capabilities, or why the
/// message cannot be sent to it.
pub(super) fn mail_params(
    envelope: &Envelope,
    caps: &Capabilities,
    config: &Config,
    secure: bool,
    facts: ContentFacts,
) -> Result<MailParams, Unsendable> {
    let mut p = envelope.params.clone();
    // RFC 6531 3.4: non-ASCII addresses need SMTPUTF8 on MAIL.
    if p.smtputf8 || envelope.needs_smtputf8() {
        if !caps.smtputf8 {
            return Err(Unsendable::ExtensionMissing(Keyword::SmtpUtf8));
        }
        p.smtputf8 = true;
    }
    // RFC 6152 3: 8-bit content is declared, and only to a server that offers 8BITMIME. When
    // the content is not all here yet, 8BITMIME is declared whenever offered (it allows 8-bit
    // octets, it does not require them), so that the rest cannot bring an undeclared one; the
    // caller who knows better declares BODY=7BIT.
    let unknown = !facts.complete;
    match p.body {
        None if caps.eight_bit_mime && (facts.eight_bit || unknown) => {
            p.body = Some(BodyType::EightBitMime);
        }
        None | Some(BodyType::SevenBit) if facts.eight_bit => {
            return Err(Unsendable::EightBitContent);
        }
        // BODY=7BIT is only sent to a server that knows BODY (RFC 6152 2); to one that does
        // not, 7-bit is what it expects anyway.
        Some(BodyType::SevenBit) if !caps.eight_bit_mime => p.body = None,
        _ => {}
    }
    match p.body {
        Some(BodyType::EightBitMime) if !caps.eight_bit_mime => {
            return Err(Unsendable::ExtensionMissing(Keyword::EightBitMime));
        }
        Some(BodyType::BinaryMime) if !(caps.binary_mime && uses_bdat(caps, config, &p)) => {
            return Err(Unsendable::ExtensionMissing(Keyword::BinaryMime));
        }
        _ => {}
    }
    // RFC 1870 6.1: refuse before MAIL what the server said it will not take; send SIZE= only
    // to a server that knows it. A size the session counted itself beats a declared one.
    let size = facts.size.or(p.size);
    if let Some(limit) = size_limit(caps) {
        let biggest = size.unwrap_or(0).max(facts.seen);
        if biggest > limit {
            return Err(Unsendable::TooLarge {
                size: biggest,
                limit,
            });
        }
    }
    p.size = if caps.size.is_some() { size } else { None };
    let dsn = p.ret.is_some()
        || p.envid.is_some()
        || envelope
            .recipients
            .iter()
            .any(|r| r.params.notify.is_some() || r.params.orcpt.is_some());
    if dsn && !caps.dsn {
        return Err(Unsendable::ExtensionMissing(Keyword::Dsn));
    }
    // RFC 8689 4.1: REQUIRETLS only over TLS, to a server that offers it.
    if p.requiretls {
        if !secure {
            return Err(Unsendable::TlsRequired);
        }
        if !caps.requiretls {
            return Err(Unsendable::ExtensionMissing(Keyword::RequireTls));
        }
    }
    if p.deliver_by.is_some() && caps.deliver_by.is_none() {
        return Err(Unsendable::ExtensionMissing(Keyword::DeliverBy));
    }
    if p.mt_priority.is_some() && caps.mt_priority.is_none() {
        return Err(Unsendable::ExtensionMissing(Keyword::MtPriority));
    }
    Ok(p)
}

/// Checks that MAIL (with exactly these parameters) and every RCPT encode: the line limits of
/// RFC 5321 4.5.3.1.4 (and the extra room of RFC 1870 and RFC 3461) hold for the lines as
/// they will be sent.
pub(super) fn check_lines(
    envelope: &Envelope,
    params: &MailParams,
    scratch: &mut Vec<u8>,
) -> Result<(), Unsendable> {
    scratch.clear();
    Command::Mail {
        from: envelope.from.as_ref(),
        params,
    }
    .encode(scratch)
    .map_err(|error| Unsendable::Command {
        stage: Stage::Mail,
        error,
    })?;
    for r in &envelope.recipients {
        scratch.clear();
        Command::Rcpt {
            to: &r.address,
            params: &r.params,
        }
        .encode(scratch)
        .map_err(|error| Unsendable::Command {
            stage: Stage::Rcpt,
            error,
        })?;
    }
    Ok(())
}
