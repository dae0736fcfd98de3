//! XCLIENT and XFORWARD: a trusted client (a proxy, a test tool, a content filter) tells the
//! server whom it speaks for. XCLIENT (Postfix's `XCLIENT_README`, the extension's only
//! specification) changes whom the server's access rules and logs see, for the session;
//! XFORWARD (`XFORWARD_README`) only what its logs say a message came from, for one message
//! ([`crate::Envelope::xforward`]). Both take the same `name=value` attributes ([`Attribute`]).
//!
//! What the specification says and this module does:
//! - The command is `XCLIENT 1*( SP attribute-name "=" attribute-value )`; the value is xtext
//!   (RFC 1891, now RFC 3461 4), which [`Attribute`] applies on the wire. A caller gives the
//!   value as it is (`relay.example`, `[UNAVAILABLE]`) and never encodes it.
//! - The EHLO keyword `XCLIENT` lists the attribute names the server takes. The session sends
//!   only those unless told not to check ([`Xclient::check_offered`]).
//! - No command may exceed 512 octets: attributes that do not fit one line go in several
//!   `XCLIENT` commands, in the caller's order ([`Xclient::lines`]). Postfix stops trusting the
//!   client once `ADDR` changed it, so give `ADDR` last when there are many.
//! - The server answers 220 and starts again from its greeting (Postfix 2.3 and later), or 250
//!   (older Postfix, `smtp-sink`). Either way the session says EHLO again, since what the server
//!   offers may now be different, and goes on (AUTH, then mail). A refusal ends the session.
//! - Postfix takes the EHLO after XCLIENT as the client's HELO name, so that EHLO gives the
//!   `HELO` attribute's value when it is a domain or an address literal (the document's example
//!   does the same), and the session's own name otherwise. The session always says EHLO, not
//!   HELO, whatever `PROTO` says.
//!
//! Decisions where the document leaves room:
//! - Attribute names are `ALPHA` and `_`, at most 32 of them, and go out in upper case; the
//!   names Postfix knows are the constants below, and any other is allowed, since servers add
//!   names (`DESTADDR` came in Postfix 3.5).
//! - A value may be empty (`LOGIN=` clears the login name). It is any UTF-8; its bytes outside
//!   `!`..`~`, `+` and `=` are escaped. One attribute must fit a line by itself.

use crate::command::{CommandError, MAX_COMMAND_LINE};
use crate::xtext;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

/// The client's host name, `[UNAVAILABLE]` or `[TEMPUNAVAIL]`.
pub const NAME: &str = "NAME";
/// The host name its address maps back to (Postfix 2.9).
pub const REVERSE_NAME: &str = "REVERSE_NAME";
/// Its address: IPv4, `IPV6:` and an IPv6 address, or `[UNAVAILABLE]`; no brackets.
pub const ADDR: &str = "ADDR";
/// Its port.
pub const PORT: &str = "PORT";
/// `SMTP` or `ESMTP`.
pub const PROTO: &str = "PROTO";
/// The name it gave in HELO or EHLO.
pub const HELO: &str = "HELO";
/// The SASL login name it authenticated with (empty: none).
pub const LOGIN: &str = "LOGIN";
/// The server address it connected to (Postfix 3.5).
pub const DESTADDR: &str = "DESTADDR";
/// The server port it connected to (Postfix 3.5).
pub const DESTPORT: &str = "DESTPORT";
/// The value for information that is not available.
pub const UNAVAILABLE: &str = "[UNAVAILABLE]";
/// The value for information whose lookup failed for now.
pub const TEMPUNAVAIL: &str = "[TEMPUNAVAIL]";

/// The longest attribute name taken.
const MAX_NAME: usize = 32;
/// The longer verb (`XFORWARD `) before the attributes, CRLF after: an attribute fits a line of
/// either command alone.
const OVERHEAD: usize = "XFORWARD ".len() + 2;

/// One `name=value` of an XCLIENT or XFORWARD command: the name checked and in upper case, the value as
/// given (escaped only as it is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    name: String,
    value: String,
}

impl Attribute {
    /// Checks a name and a value. The name is `ALPHA` and `_` (at most 32); the value is any
    /// text whose encoding, with the name, fits one command line (of XFORWARD, the longer verb).
    pub fn new(name: &str, value: &str) -> Result<Attribute, CommandError> {
        if name.is_empty() {
            return Err(CommandError::Empty {
                what: "attribute name",
            });
        }
        if let Some((at, byte)) = name
            .bytes()
            .enumerate()
            .find(|&(_, b)| !(b.is_ascii_alphabetic() || b == b'_'))
        {
            return Err(CommandError::InvalidByte {
                what: "attribute name",
                byte,
                at,
            });
        }
        if name.len() > MAX_NAME {
            return Err(CommandError::OutOfRange {
                what: "attribute name",
            });
        }
        let attribute = Attribute {
            name: name.to_ascii_uppercase(),
            value: String::from(value),
        };
        let len = OVERHEAD + attribute.wire_len();
        if len > MAX_COMMAND_LINE {
            return Err(CommandError::LineTooLong { len });
        }
        Ok(attribute)
    }

    /// The name, in upper case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `NAME=value` as written, the value in xtext.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut encoded = String::new();
        xtext::encode(self.value.as_bytes(), &mut encoded);
        out.extend_from_slice(self.name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(encoded.as_bytes());
    }

    /// The length of `NAME=value` as written.
    fn wire_len(&self) -> usize {
        self.name.len() + 1 + xtext::encoded_len(self.value.as_bytes())
    }
}

/// What the session sends with XCLIENT after EHLO (and after STARTTLS), before AUTH:
/// [`crate::Config::xclient`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Xclient {
    attributes: Vec<Attribute>,
    /// Go on without XCLIENT when the server does not offer it (default: the session ends
    /// with [`crate::Error::XclientNotOffered`]). A server that offers it and refuses it
    /// still ends the session.
    pub if_offered: bool,
    /// Send only attributes the server names after its XCLIENT keyword (default true; the
    /// session ends with [`crate::Error::XclientAttributeNotOffered`] before sending one it
    /// does not). False sends them all and lets the server judge.
    pub check_offered: bool,
}

impl Xclient {
    /// No attributes yet; checked against the server's list, required.
    pub fn new() -> Xclient {
        Xclient {
            attributes: Vec::new(),
            if_offered: false,
            check_offered: true,
        }
    }

    /// Adds `name=value` (see [`Attribute::new`]), after those added before.
    pub fn attribute(mut self, name: &str, value: &str) -> Result<Xclient, CommandError> {
        self.push(Attribute::new(name, value)?);
        Ok(self)
    }

    /// Adds an attribute, after those added before.
    pub fn push(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }

    /// The attributes, in the order they go.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The attributes grouped into commands: each range of [`Xclient::attributes`] is one
    /// `XCLIENT` line of at most 512 octets, in order, as many to a line as fit.
    pub fn lines(&self) -> Vec<Range<usize>> {
        lines(&self.attributes, XCLIENT_VERB)
    }
}

/// `XCLIENT`.
pub(crate) const XCLIENT_VERB: &str = "XCLIENT";
/// `XFORWARD`.
pub(crate) const XFORWARD_VERB: &str = "XFORWARD";

/// `attributes` grouped into `verb` lines of at most 512 octets, in order.
pub fn lines(attributes: &[Attribute], verb: &str) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < attributes.len() {
        let end = next_line(attributes, start, verb);
        lines.push(start..end);
        start = end;
    }
    lines
}

impl Default for Xclient {
    fn default() -> Xclient {
        Xclient::new()
    }
}

/// The end of the line that starts at attribute `start`: as many as fit in 512 octets, and
/// at least one (each fits alone, [`Attribute::new`] saw to it).
pub(crate) fn next_line(attributes: &[Attribute], start: usize, verb: &str) -> usize {
    let mut len = verb.len() + 2;
    let mut end = start;
    for attribute in attributes.get(start..).unwrap_or_default() {
        let more = 1 + attribute.wire_len();
        if end > start && len + more > MAX_COMMAND_LINE {
            break;
        }
        len += more;
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;

    fn line(attributes: &[Attribute]) -> Vec<u8> {
        let mut out = Vec::new();
        Command::Xclient(attributes).encode(&mut out).unwrap();
        out
    }

    #[test]
    fn values_go_out_in_xtext_and_names_in_upper_case() {
        let x = Xclient::new()
            .attribute("addr", "10.1.2.3")
            .unwrap()
            .attribute("Name", "[UNAVAILABLE]")
            .unwrap()
            .attribute("LOGIN", "j+s=x y\u{e9}")
            .unwrap()
            .attribute("login", "")
            .unwrap();
        assert_eq!(
            line(x.attributes()),
            b"XCLIENT ADDR=10.1.2.3 NAME=[UNAVAILABLE] LOGIN=j+2Bs+3Dx+20y+C3+A9 LOGIN=\r\n"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(matches!(
            Attribute::new("", "x"),
            Err(CommandError::Empty { .. })
        ));
        for bad in ["AD DR", "ADDR\r\nRCPT", "A=B", "N1", "-"] {
            assert!(
                matches!(
                    Attribute::new(bad, "x"),
                    Err(CommandError::InvalidByte { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(Attribute::new(&"A".repeat(33), "x").is_err());
        assert!(Attribute::new("REVERSE_NAME", "x").is_ok());
    }

    #[test]
    fn a_value_cannot_inject_a_command() {
        let a = Attribute::new("HELO", "x\r\nRCPT TO:<victim@example>").unwrap();
        let wire = line(core::slice::from_ref(&a));
        assert_eq!(wire, b"XCLIENT HELO=x+0D+0ARCPT+20TO:<victim@example>\r\n");
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn an_attribute_too_long_for_a_line_is_refused() {
        // "XFORWARD " 9 + "NAME=" 5 + 496 + 2 = 512 fits; one more does not.
        assert!(Attribute::new("NAME", &"a".repeat(496)).is_ok());
        assert!(matches!(
            Attribute::new("NAME", &"a".repeat(497)),
            Err(CommandError::LineTooLong { len: 513 })
        ));
        // Escapes count three each.
        assert!(Attribute::new("NAME", &" ".repeat(166)).is_err());
    }

    #[test]
    fn attributes_are_packed_into_lines_of_at_most_512_octets_in_order() {
        let mut x = Xclient::new();
        for (name, n) in [("HELO", 255), ("PROTO", 5), ("NAME", 255), ("ADDR", 8)] {
            x.push(Attribute::new(name, &"h".repeat(n)).unwrap());
        }
        let lines = x.lines();
        assert_eq!(lines, [0..2, 2..4]);
        for range in lines {
            let wire = line(&x.attributes()[range]);
            assert!(wire.len() <= 512, "{}", wire.len());
        }
        // Exactly 512 stays one line.
        let mut x = Xclient::new();
        x.push(Attribute::new("NAME", &"a".repeat(248)).unwrap());
        x.push(Attribute::new("HELO", &"b".repeat(243)).unwrap());
        assert_eq!(line(x.attributes()).len(), 512);
        assert_eq!(x.lines().first(), Some(&(0..2)));
        assert_eq!(x.lines().len(), 1);
        assert!(Xclient::new().lines().is_empty());
    }

    #[test]
    fn an_empty_list_is_not_a_command() {
        assert!(matches!(
            Command::Xclient(&[]).encode(&mut Vec::new()),
            Err(CommandError::Empty { .. })
        ));
    }
}
