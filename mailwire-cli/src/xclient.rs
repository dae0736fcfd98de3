//! `--xclient*`: the XCLIENT attributes a session sends after EHLO and STARTTLS (swaks'
//! options of the same names; Postfix's `XCLIENT_README`), and `--xforward`: a message's
//! XFORWARD attributes (`XFORWARD_README`). Values are given as they are: the session writes
//! them in xtext.

use crate::connect::CliError;
use crate::exit;
use clap::Args;
use mailwire::xclient::{self, Attribute};
use mailwire::{Config, Xclient};

/// `--xclient`, `--xclient-addr` … `--xclient-optional`, `--xclient-no-verify`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "XCLIENT")]
pub struct XclientArgs {
    /// Send XCLIENT with these attributes, `NAME=VALUE` pairs separated by spaces (the value
    /// as it is, not xtext), before those the options below give. Repeatable; the pairs go in
    /// the order given.
    #[arg(long, value_name = "'NAME=VALUE …'")]
    pub xclient: Vec<String>,
    /// XCLIENT ADDR: the client's address (IPv4, `IPV6:` and an IPv6 address, or
    /// `[UNAVAILABLE]`). Sent last, since Postfix trusts the client no more once it changed.
    #[arg(long, value_name = "ADDR")]
    pub xclient_addr: Option<String>,
    /// XCLIENT NAME: the client's host name (or `[UNAVAILABLE]`, `[TEMPUNAVAIL]`).
    #[arg(long, value_name = "NAME")]
    pub xclient_name: Option<String>,
    /// XCLIENT REVERSE_NAME: the name its address maps back to.
    #[arg(long, value_name = "NAME")]
    pub xclient_reverse_name: Option<String>,
    /// XCLIENT PORT: the client's port.
    #[arg(long, value_name = "PORT")]
    pub xclient_port: Option<String>,
    /// XCLIENT PROTO: SMTP or ESMTP.
    #[arg(long, value_name = "PROTO")]
    pub xclient_proto: Option<String>,
    /// XCLIENT HELO: the name the client gave in HELO; the EHLO after XCLIENT gives it too
    /// when it is a name EHLO can carry.
    #[arg(long, value_name = "NAME")]
    pub xclient_helo: Option<String>,
    /// XCLIENT LOGIN: the SASL login name the client authenticated with ('' for none).
    #[arg(long, value_name = "USER")]
    pub xclient_login: Option<String>,
    /// XCLIENT DESTADDR: the server address the client connected to.
    #[arg(long, value_name = "ADDR")]
    pub xclient_destaddr: Option<String>,
    /// XCLIENT DESTPORT: the server port the client connected to.
    #[arg(long, value_name = "PORT")]
    pub xclient_destport: Option<String>,
    /// Go on without XCLIENT when the server does not offer it (default: exit 69).
    #[arg(long)]
    pub xclient_optional: bool,
    /// Send attributes the server's XCLIENT keyword does not name, and let it judge (default:
    /// exit 69 before sending one).
    #[arg(long)]
    pub xclient_no_verify: bool,
}

/// `--xforward 'NAME=VALUE …'`: XFORWARD attributes for the message (smtp-send; smtp-bulk takes
/// them per job).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "XCLIENT")]
pub struct XforwardArgs {
    /// Send XFORWARD (Postfix's) before MAIL with these attributes, `NAME=VALUE` pairs separated
    /// by spaces (the value as it is, not xtext): whom the server's logs name as the message's
    /// origin. Only to a server that offers XFORWARD, only the names it lists. Repeatable.
    #[arg(long, value_name = "'NAME=VALUE …'")]
    pub xforward: Vec<String>,
}

impl XforwardArgs {
    /// The attributes, in order; 64 for a pair without `=`, 65 for one that cannot be sent.
    pub fn attributes(&self) -> Result<Vec<Attribute>, CliError> {
        pairs("--xforward", &self.xforward)?
            .into_iter()
            .map(|(name, value)| attribute(&name, &value))
            .collect()
    }
}

/// The `NAME=VALUE` pairs of `lists`, each list split on spaces.
fn pairs(option: &str, lists: &[String]) -> Result<Vec<(String, String)>, CliError> {
    let mut pairs = Vec::new();
    for list in lists {
        for pair in list.split_whitespace() {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(CliError::new(
                    exit::USAGE,
                    format!("{option} {pair:?}: not NAME=VALUE"),
                ));
            };
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    Ok(pairs)
}

fn attribute(name: &str, value: &str) -> Result<Attribute, CliError> {
    Attribute::new(name, value)
        .map_err(|e| CliError::new(exit::DATAERR, format!("attribute {name:?}: {e}")))
}

impl XclientArgs {
    /// The attributes asked for, or `None`; a usage error (64) for a pair without `=` and a
    /// data error (65) for a name or value that cannot be sent.
    pub fn xclient(&self) -> Result<Option<Xclient>, CliError> {
        let mut pairs = pairs("--xclient", &self.xclient)?;
        // ADDR last, NAME just before it: Postfix stops trusting the client once ADDR changed
        // it, so a second XCLIENT line after it would be refused (XCLIENT_README, Note 1).
        let named = [
            (xclient::HELO, &self.xclient_helo),
            (xclient::PROTO, &self.xclient_proto),
            (xclient::LOGIN, &self.xclient_login),
            (xclient::REVERSE_NAME, &self.xclient_reverse_name),
            (xclient::PORT, &self.xclient_port),
            (xclient::DESTADDR, &self.xclient_destaddr),
            (xclient::DESTPORT, &self.xclient_destport),
            (xclient::NAME, &self.xclient_name),
            (xclient::ADDR, &self.xclient_addr),
        ];
        for (name, value) in named {
            if let Some(value) = value {
                pairs.push((name.into(), value.clone()));
            }
        }
        if pairs.is_empty() {
            if self.xclient_optional || self.xclient_no_verify {
                return Err(CliError::new(
                    exit::USAGE,
                    "--xclient-optional and --xclient-no-verify need XCLIENT attributes",
                ));
            }
            return Ok(None);
        }
        let mut x = Xclient::new();
        for (name, value) in pairs {
            x.push(attribute(&name, &value)?);
        }
        x.if_offered = self.xclient_optional;
        x.check_offered = !self.xclient_no_verify;
        Ok(Some(x))
    }

    /// Sets [`Config::xclient`] from these options.
    pub fn apply(&self, config: &mut Config) -> Result<(), CliError> {
        config.xclient = self.xclient()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_first_then_the_named_options_with_addr_last() {
        let args = XclientArgs {
            xclient: vec!["PORT=25 login=".into(), "DESTPORT=587".into()],
            xclient_addr: Some("10.1.2.3".into()),
            xclient_name: Some("relay.example".into()),
            xclient_helo: Some("orig.example".into()),
            ..XclientArgs::default()
        };
        let x = args.xclient().unwrap().unwrap();
        let names: Vec<&str> = x.attributes().iter().map(|a| a.name()).collect();
        assert_eq!(names, ["PORT", "LOGIN", "DESTPORT", "HELO", "NAME", "ADDR"]);
        assert_eq!(x.attributes()[1].value(), "");
        assert!(x.check_offered && !x.if_offered);
    }

    #[test]
    fn nothing_asked_is_none_and_bad_input_is_a_typed_exit() {
        assert_eq!(XclientArgs::default().xclient().unwrap(), None);
        let bad = |args: XclientArgs| args.xclient().unwrap_err().code;
        let pairs = |s: &str| XclientArgs {
            xclient: vec![s.into()],
            ..XclientArgs::default()
        };
        assert_eq!(bad(pairs("ADDR")), exit::USAGE);
        assert_eq!(bad(pairs("AD-DR=1")), exit::DATAERR);
        let long = XclientArgs {
            xclient_name: Some("n".repeat(600)),
            ..XclientArgs::default()
        };
        assert_eq!(bad(long), exit::DATAERR);
        let lonely = XclientArgs {
            xclient_optional: true,
            ..XclientArgs::default()
        };
        assert_eq!(bad(lonely), exit::USAGE);
    }
}
