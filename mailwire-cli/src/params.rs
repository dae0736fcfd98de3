//! The MAIL and RCPT parameters the core speaks, as command-line options ([`ParamArgs`]): DSN
//! (RFC 3461), REQUIRETLS (RFC 8689), DELIVERBY (RFC 2852), MT-PRIORITY (RFC 6710), and the
//! body type and SMTPUTF8 when the automatic choice is to be overridden (RFC 6152, RFC 6531).
//! A server that lacks what a message asks for gets nothing of it: the core refuses the message
//! before MAIL (`Unsendable`, exit 69).

use crate::connect::CliError;
use crate::exit;
use clap::{Args, ValueEnum};
use mailwire::command::{BodyType, Command, DeliverBy, Notify, OriginalRecipient, Ret};
use mailwire::Envelope;

/// `--dsn-ret`: what a bounce carries back (RFC 3461 4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DsnRet {
    /// The whole message (`RET=FULL`).
    Full,
    /// Its header section only (`RET=HDRS`).
    Hdrs,
}

/// MAIL and RCPT parameters (shown under the "Envelope" heading).
#[derive(Args, Debug, Clone, Default)]
pub struct ParamArgs {
    /// DSN: a bounce returns the whole message (full) or its headers (hdrs) (RFC 3461 RET).
    #[arg(long, value_enum, value_name = "full|hdrs", help_heading = "Envelope")]
    pub dsn_ret: Option<DsnRet>,
    /// DSN: an envelope identifier that delivery reports quote (RFC 3461 ENVID; printable
    /// ASCII).
    #[arg(long, value_name = "ID", help_heading = "Envelope")]
    pub dsn_envid: Option<String>,
    /// DSN: when to report, on every RCPT: never, or any of success,failure,delay (RFC 3461
    /// NOTIFY).
    #[arg(
        long,
        value_name = "never|success,failure,delay",
        value_parser = parse_notify,
        help_heading = "Envelope"
    )]
    pub dsn_notify: Option<Notify>,
    /// DSN: the original recipient, on every RCPT (RFC 3461 ORCPT, rfc822 type).
    #[arg(long, value_name = "ADDR", help_heading = "Envelope")]
    pub dsn_orcpt: Option<String>,
    /// Ask that the message travel only over verified TLS (RFC 8689 REQUIRETLS; needs TLS
    /// here too).
    #[arg(long, help_heading = "Envelope")]
    pub requiretls: bool,
    /// Deliver within SECS seconds, else return (R) or just notify (N, the default); T asks for
    /// a trace (RFC 2852 BY=).
    #[arg(
        long,
        value_name = "SECS[;R|N][T]",
        value_parser = parse_deliver_by,
        allow_hyphen_values = true,
        help_heading = "Envelope"
    )]
    pub deliver_by: Option<DeliverBy>,
    /// Priority from -9 to 9 (RFC 6710 MT-PRIORITY).
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i8).range(-9..=9),
        help_heading = "Envelope"
    )]
    pub mt_priority: Option<i8>,
    /// Declare BODY=8BITMIME whatever the content (RFC 6152) instead of choosing from it.
    #[arg(
        long = "8bitmime",
        conflicts_with = "seven_bit",
        help_heading = "Envelope"
    )]
    pub eight_bit_mime: bool,
    /// Declare BODY=7BIT (RFC 6152): content with an octet above 127 is then refused (69).
    #[arg(long = "7bit", help_heading = "Envelope")]
    pub seven_bit: bool,
    /// Send SMTPUTF8 on MAIL even for ASCII addresses (RFC 6531); it is sent by itself when an
    /// address needs it.
    #[arg(long, help_heading = "Envelope")]
    pub smtputf8: bool,
}

impl ParamArgs {
    /// Puts the parameters on `envelope` (MAIL's, and every RCPT's NOTIFY and ORCPT), and checks
    /// that the MAIL and RCPT lines encode with them (65 if not), before anything is sent.
    pub fn apply(&self, envelope: &mut Envelope) -> Result<(), CliError> {
        let p = &mut envelope.params;
        p.ret = self.dsn_ret.map(|r| match r {
            DsnRet::Full => Ret::Full,
            DsnRet::Hdrs => Ret::Headers,
        });
        p.envid = self.dsn_envid.clone();
        p.requiretls = self.requiretls;
        p.deliver_by = self.deliver_by;
        p.mt_priority = self.mt_priority;
        if self.eight_bit_mime {
            p.body = Some(BodyType::EightBitMime);
        }
        if self.seven_bit {
            p.body = Some(BodyType::SevenBit);
        }
        p.smtputf8 |= self.smtputf8;
        let orcpt = match &self.dsn_orcpt {
            Some(a) if a.is_empty() || !a.bytes().all(|b| (33..=126).contains(&b)) => {
                return Err(CliError::new(
                    exit::DATAERR,
                    format!("invalid --dsn-orcpt {a:?}: printable ASCII without spaces expected"),
                ));
            }
            Some(a) => Some(OriginalRecipient {
                addr_type: "rfc822".to_string(),
                address: a.clone(),
            }),
            None => None,
        };
        for r in &mut envelope.recipients {
            r.params.notify = self.dsn_notify;
            r.params.orcpt.clone_from(&orcpt);
        }
        check_encodes(envelope)
    }
}

/// The MAIL and every RCPT line encode with these parameters (RFC 5321 4.1.2, the extensions'
/// syntax): else 65, before connecting.
fn check_encodes(envelope: &Envelope) -> Result<(), CliError> {
    let mut line = Vec::new();
    let bad = |e: mailwire::command::CommandError| {
        CliError::new(exit::DATAERR, format!("invalid envelope parameter: {e}"))
    };
    Command::Mail {
        from: envelope.from.as_ref(),
        params: &envelope.params,
    }
    .encode(&mut line)
    .map_err(bad)?;
    for r in &envelope.recipients {
        line.clear();
        Command::Rcpt {
            to: &r.address,
            params: &r.params,
        }
        .encode(&mut line)
        .map_err(bad)?;
    }
    Ok(())
}

/// `never`, or a comma-separated set of `success`, `failure`, `delay` (any case; RFC 3461 4.1:
/// NEVER stands alone).
pub fn parse_notify(text: &str) -> Result<Notify, String> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(Notify::NEVER);
    }
    let mut notify = Notify::NEVER;
    for word in text.split(',') {
        let flag = match word.trim().to_ascii_lowercase().as_str() {
            "success" => &mut notify.success,
            "failure" => &mut notify.failure,
            "delay" => &mut notify.delay,
            "never" => return Err("never stands alone".to_string()),
            other => return Err(format!("{other:?} is not success, failure or delay")),
        };
        *flag = true;
    }
    Ok(notify)
}

/// RFC 2852 4's `by-value` as typed: `SECS`, `SECS;R`, `SECS;N`, with `T` after the mode for
/// a trace (`120;RT`); SECS has at most nine digits and may be negative with `N`. The mode
/// defaults to `N` (notify, never return).
pub fn parse_deliver_by(text: &str) -> Result<DeliverBy, String> {
    let (secs, mode) = match text.split_once(';') {
        Some((s, m)) => (s, m),
        None => (text, "N"),
    };
    let digits = secs.strip_prefix(['-', '+']).unwrap_or(secs);
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{secs:?}: at most nine digits expected"));
    }
    let seconds: i64 = secs.parse().map_err(|e| format!("{secs:?}: {e}"))?;
    let upper = mode.to_ascii_uppercase();
    let (return_on_expiry, trace) = match upper.as_str() {
        "R" => (true, false),
        "RT" => (true, true),
        "N" => (false, false),
        "NT" => (false, true),
        _ => return Err(format!("{mode:?}: the mode is R or N, then T for a trace")),
    };
    if return_on_expiry && seconds <= 0 {
        return Err("with R the time must be positive (RFC 2852 4)".to_string());
    }
    Ok(DeliverBy {
        seconds,
        return_on_expiry,
        trace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_forms() {
        assert_eq!(parse_notify("NEVER"), Ok(Notify::NEVER));
        let n = parse_notify("success,Delay").unwrap();
        assert!(n.success && n.delay && !n.failure);
        assert!(parse_notify("never,success").is_err());
        assert!(parse_notify("sometimes").is_err());
        assert!(parse_notify("").is_err());
    }

    #[test]
    fn deliver_by_forms() {
        let by = |s| parse_deliver_by(s);
        assert_eq!(
            by("120"),
            Ok(DeliverBy {
                seconds: 120,
                return_on_expiry: false,
                trace: false
            })
        );
        assert_eq!(
            by("3600;rt"),
            Ok(DeliverBy {
                seconds: 3600,
                return_on_expiry: true,
                trace: true
            })
        );
        assert_eq!(by("-60;NT").map(|b| (b.seconds, b.trace)), Ok((-60, true)));
        assert!(by("0;R").is_err(), "R needs a positive time");
        assert!(by("1234567890").is_err(), "ten digits");
        assert!(by("12;X").is_err());
        assert!(by(";R").is_err());
        assert!(by("12T").is_err(), "T comes after the mode");
    }

    #[test]
    fn apply_sets_every_rcpt_and_checks_the_lines() {
        use mailwire::Mailbox;
        let mut envelope = Envelope::new(
            Some(Mailbox::parse("a@example.org").unwrap()),
            [
                Mailbox::parse("b@example.net").unwrap(),
                Mailbox::parse("c@example.net").unwrap(),
            ],
        );
        let args = ParamArgs {
            dsn_ret: Some(DsnRet::Hdrs),
            dsn_envid: Some("id+1".into()),
            dsn_notify: Some(Notify::NEVER),
            dsn_orcpt: Some("orig@example.net".into()),
            seven_bit: true,
            ..ParamArgs::default()
        };
        args.apply(&mut envelope).unwrap();
        assert_eq!(envelope.params.ret, Some(Ret::Headers));
        assert_eq!(envelope.params.body, Some(BodyType::SevenBit));
        for r in &envelope.recipients {
            assert_eq!(r.params.notify, Some(Notify::NEVER));
            assert_eq!(r.params.orcpt.as_ref().unwrap().address, "orig@example.net");
        }
        let bad = ParamArgs {
            dsn_envid: Some("tab\there".into()),
            ..ParamArgs::default()
        };
        assert_eq!(bad.apply(&mut envelope).unwrap_err().code, exit::DATAERR);
        let bad = ParamArgs {
            dsn_orcpt: Some("has space@x".into()),
            ..ParamArgs::default()
        };
        assert_eq!(bad.apply(&mut envelope).unwrap_err().code, exit::DATAERR);
    }
}
