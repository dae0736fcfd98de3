//! Client commands and their encoder (RFC 5321 4.1.1, with the parameters of RFC 1870, 3030,
//! 3461, 6152, 6531, 8689, 2852, 6710, and AUTH from RFC 4954).
//!
//! Every byte [`Command::encode`] writes has been validated: addresses and names by their types
//! ([`Mailbox`], [`ClientName`]), free text by [`Argument`], extra parameters by [`Param`], and the
//! remaining raw fields (ENVID, ORCPT, DELIVERBY, MT-PRIORITY, the AUTH mechanism and responses)
//! by the encoder itself. No line it writes can hold a CR, LF or NUL before its final CRLF.
//!
//! # Wire form
//!
//! MAIL parameters are written in a fixed order: `SIZE`, `BODY`, `SMTPUTF8`, `RET`, `ENVID`,
//! `REQUIRETLS`, `BY`, `MT-PRIORITY`, then the extra parameters in the order given. RCPT: `NOTIFY`
//! (`NEVER`, or the true ones of `SUCCESS,FAILURE,DELAY` in that order), `ORCPT`, then the extras.
//! `BY` is written as RFC 2852 4 shows it: `BY=120;R`, `BY=-60;NT`.
//!
//! # Decisions
//!
//! - Line limits ([`Command::max_line_len`]): 512 octets with CRLF (RFC 5321 4.5.3.1.4), raised
//!   as the extensions allow: by 26 for a MAIL carrying SIZE (RFC 1870 4), by 100 for a MAIL
//!   carrying RET or ENVID and by 500 for a RCPT carrying NOTIFY or ORCPT (RFC 3461 4). `AUTH` itself stays within 512: RFC 4954 4 says a client MUST NOT send an
//!   initial response that would make the AUTH line longer, and must send it after an empty 334
//!   instead; so the error tells the caller to do that. Responses to challenges
//!   ([`Command::AuthResponse`]) may be 12288 octets of base64 plus CRLF ([`MAX_AUTH_RESPONSE`]).
//! - An AUTH initial response must be non-empty base64 (`=` stands for an empty one, RFC 4954 4);
//!   an [`Command::AuthResponse`] is base64 (possibly empty, the empty response to a challenge) or
//!   exactly `*` (cancel). Only the base64 alphabet `A-Za-z0-9+/=` is checked, not the padding.
//! - ENVID (RFC 3461 4.4): non-empty, printable ASCII (space included), and at most 100 characters
//!   after xtext encoding, which also bounds the raw value; the stricter reading of the RFC.
//! - DELIVERBY (RFC 2852 4): `by-time` is at most nine digits, and must be positive in R mode.
//! - ORCPT (RFC 3461 4.2): the addr-type is an RFC 822 atom; the address is non-empty and is
//!   xtext-encoded whatever its type.
//! - [`Argument`]: non-empty, and no control character at all: C0 (TAB included: no SMTP argument
//!   grammar has one), DEL, and the C1 controls U+0080..U+009F. Other UTF-8 is allowed (VRFY
//!   and EXPN with SMTPUTF8, RFC 6531 3.7.4.2). [`Param`] values refuse the C1 controls too.
//! - The AUTH mechanism name is checked against RFC 4422 3.1 (`1*20` of upper-case letters,
//!   digits, `-` and `_`), which matters for [`Mechanism::Other`].

use crate::address::{ClientName, Mailbox};
use crate::sasl::Mechanism;
use crate::xtext;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const MAX_COMMAND_LINE: usize = 512;

/// RFC 4954 4: a server accepts client responses of at least 12288 octets of base64; this is the
/// longest response line (CRLF excluded) that [`Command::AuthResponse`] will encode.
pub const MAX_AUTH_RESPONSE: usize = 12288;

/// RFC 1870 4 (5): the MAIL line may be 26 octets longer when it carries SIZE.
const SIZE_MAIL_EXTRA: usize = 26;
/// RFC 3461 4: the MAIL line may be 100 octets longer when it carries RET or ENVID.
const DSN_MAIL_EXTRA: usize = 100;
/// RFC 3461 4: the RCPT line may be 500 octets longer when it carries NOTIFY or ORCPT.
const DSN_RCPT_EXTRA: usize = 500;
/// RFC 3461 4.4: at most 100 characters of ENVID.
const MAX_ENVID: usize = 100;
/// RFC 2852 4: `by-time = ["-" / "+"]1*9digit`.
const MAX_BY_TIME: i64 = 999_999_999;
/// RFC 4422 3.1: `sasl-mech = 1*20mech-char`.
const MAX_MECHANISM: usize = 20;

/// The BODY parameter of MAIL (RFC 6152, RFC 3030).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030); needs BDAT.
    BinaryMime,
}

/// The RET parameter of MAIL (RFC 3461 4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `RET=FULL`.
    Full,
    /// `RET=HDRS`.
    Headers,
}

/// The DELIVERBY parameter of MAIL (RFC 2852 4): `BY=<seconds>;<R|N>[T]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliverBy {
    /// The by-time in seconds (may be negative for `N` mode, RFC 2852 4).
    pub seconds: i64,
    /// `R` (return the message if not delivered in time) instead of `N` (notify).
    pub return_on_expiry: bool,
    /// `T`: trace (request a DSN on delivery).
    pub trace: bool,
}

/// The NOTIFY parameter of RCPT (RFC 3461 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`: all three false.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
}

/// The ORCPT parameter of RCPT (RFC 3461 4.2): `ORCPT=<addr-type>;<xtext address>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalRecipient {
    /// `rfc822` or `utf-8` (RFC 6533).
    pub addr_type: String,
    /// The address, raw (xtext-encoded by the encoder).
    pub address: String,
}

/// An extra `keyword[=value]` parameter (RFC 5321 4.1.2 esmtp-param), for extensions not
/// modelled here. Validated when built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    keyword: String,
    value: Option<String>,
}

impl Param {
    /// Validates an esmtp-keyword (`ALPHA/DIGIT` then `ALPHA/DIGIT/-`) and esmtp-value (bytes
    /// 33–126 except `=`; with SMTPUTF8 also UTF-8, RFC 6531 3.3).
    pub fn new(keyword: &str, value: Option<&str>) -> Result<Param, CommandError> {
        let kw = keyword.as_bytes();
        if kw.is_empty() {
            return Err(CommandError::Empty { what: "keyword" });
        }
        for (at, &byte) in kw.iter().enumerate() {
            // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
            if !(byte.is_ascii_alphanumeric() || (byte == b'-' && at > 0)) {
                return Err(CommandError::InvalidByte {
                    what: "keyword",
                    byte,
                    at,
                });
            }
        }
        if let Some(value) = value {
            if value.is_empty() {
                return Err(CommandError::Empty { what: "value" });
            }
            for (at, c) in value.char_indices() {
                // esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 3.3 adds UTF8-non-ascii.
                let ok = if c.is_ascii() {
                    c != '=' && c.is_ascii_graphic()
                } else {
                    !c.is_control()
                };
                if !ok {
                    return Err(CommandError::InvalidByte {
                        what: "value",
                        byte: first_byte(value, at),
                        at,
                    });
                }
            }
        }
        Ok(Param {
            keyword: String::from(keyword),
            value: value.map(String::from),
        })
    }
    /// The keyword.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }
    /// The value.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// Parameters of MAIL FROM.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MailParams {
    /// `SIZE=n` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, 3030).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` raw (xtext-encoded by the encoder; RFC 3461 4.4), printable ASCII, at most 100 chars.
    pub envid: Option<String>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// `BY=` (RFC 2852).
    pub deliver_by: Option<DeliverBy>,
    /// `MT-PRIORITY=` −9..=9 (RFC 6710).
    pub mt_priority: Option<i8>,
    /// Anything else.
    pub extra: Vec<Param>,
}

/// Parameters of RCPT TO.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<OriginalRecipient>,
    /// Anything else.
    pub extra: Vec<Param>,
}

/// A free-text argument of VRFY, EXPN, HELP or NOOP: non-empty printable ASCII and spaces (no
/// CR, LF, NUL or other control; no UTF-8, which would need SMTPUTF8, RFC 6531 3.7.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument(String);

impl Argument {
    /// Validates an argument.
    pub fn new(text: &str) -> Result<Argument, CommandError> {
        if text.is_empty() {
            return Err(CommandError::Empty { what: "argument" });
        }
        // ASCII only: a UTF-8 argument needs the SMTPUTF8 forms of RFC 6531 3.7.4, which are
        // not modelled, and no server without SMTPUTF8 may be sent one.
        if let Some((at, _)) = text
            .char_indices()
            .find(|(_, c)| c.is_control() || !c.is_ascii())
        {
            return Err(CommandError::InvalidByte {
                what: "argument",
                byte: first_byte(text, at),
                at,
            });
        }
        Ok(Argument(String::from(text)))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client command, borrowing its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `EHLO name`.
    Ehlo(&'a ClientName),
    /// `HELO name`.
    Helo(&'a ClientName),
    /// `LHLO name` (RFC 2033).
    Lhlo(&'a ClientName),
    /// `MAIL FROM:<path> params`; `None` is the null reverse-path `<>`.
    Mail {
        /// The reverse-path.
        from: Option<&'a Mailbox>,
        /// Its parameters.
        params: &'a MailParams,
    },
    /// `RCPT TO:<path> params`.
    Rcpt {
        /// The forward-path.
        to: &'a Mailbox,
        /// Its parameters.
        params: &'a RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Chunk size in octets.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [arg]`.
    Noop(Option<&'a Argument>),
    /// `VRFY arg`.
    Vrfy(&'a Argument),
    /// `EXPN arg`.
    Expn(&'a Argument),
    /// `HELP [arg]`.
    Help(Option<&'a Argument>),
    /// `QUIT`.
    Quit,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 4). The initial response is already base64
    /// (`=` for an empty one).
    Auth {
        /// The mechanism.
        mechanism: &'a Mechanism,
        /// Base64 initial response.
        initial_response: Option<&'a [u8]>,
    },
    /// A base64 response line to a 334 challenge, or `*` to cancel (RFC 4954 4).
    AuthResponse(&'a [u8]),
    /// `XCLIENT name=value …` (Postfix's `XCLIENT_README`); the values go out in xtext.
    Xclient(&'a [crate::xclient::Attribute]),
    /// `XFORWARD name=value …` (Postfix's `XFORWARD_README`); the values go out in xtext.
    Xforward(&'a [crate::xclient::Attribute]),
    /// `ETRN node` (RFC 1985): ask the server to start delivering what it queued for a node
    /// (`example.org`, `@example.org`, `#queue`).
    Etrn(&'a Argument),
}

/// Why a command cannot be encoded. Nothing is written when encoding fails.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The line would exceed 512 octets (RFC 5321 4.5.3.1.4).
    LineTooLong {
        /// Its length, CRLF included.
        len: usize,
    },
    /// A byte that may not appear in this argument (CR, LF, NUL, a control, a space, `=` …).
    InvalidByte {
        /// Which argument (`"keyword"`, `"value"`, `"argument"`, `"envid"`, `"auth response"` …).
        what: &'static str,
        /// The byte.
        byte: u8,
        /// Its offset in the argument.
        at: usize,
    },
    /// An argument that must not be empty was empty.
    Empty {
        /// Which argument.
        what: &'static str,
    },
    /// A value out of range (MT-PRIORITY outside −9..=9, ENVID over 100 chars, …).
    OutOfRange {
        /// Which parameter.
        what: &'static str,
    },
    /// An extra parameter names a keyword the command already carries (a modelled one such as
    /// `SIZE`, or an earlier extra): RFC 5321 4.1.2 gives each at most once.
    DuplicateParameter {
        /// Its index in the extra parameters.
        index: usize,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CommandError::LineTooLong { len } => write!(
                f,
                "command line too long: {len} octets with CRLF (RFC 5321 4.5.3.1.4, RFC 4954 4)"
            ),
            CommandError::InvalidByte { what, byte, at } => {
                if byte.is_ascii_graphic() {
                    write!(
                        f,
                        "invalid byte '{}' (0x{byte:02X}) in {what} at offset {at}",
                        char::from(byte)
                    )
                } else {
                    write!(f, "invalid byte 0x{byte:02X} in {what} at offset {at}")
                }
            }
            CommandError::Empty { what } => write!(f, "empty {what}"),
            CommandError::OutOfRange { what } => write!(f, "{what} out of range"),
            CommandError::DuplicateParameter { index } => write!(
                f,
                "extra parameter {index} names a keyword the command already carries"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CommandError {}

impl Command<'_> {
    /// Appends the command line, CRLF included, to `out`. On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let start = out.len();
        let result = self.write_line(out).and_then(|()| {
            let len = out.len() - start;
            if len > self.max_line_len() {
                Err(CommandError::LineTooLong { len })
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The longest line, CRLF included, that [`Command::encode`] writes for this command (see
    /// the module docs: 512, more for DSN parameters and AUTH responses).
    pub fn max_line_len(&self) -> usize {
        match self {
            Command::Mail { params, .. } => {
                let mut limit = MAX_COMMAND_LINE;
                if params.size.is_some() {
                    limit += SIZE_MAIL_EXTRA;
                }
                if params.ret.is_some() || params.envid.is_some() {
                    limit += DSN_MAIL_EXTRA;
                }
                limit
            }
            Command::Rcpt { params, .. } if params.notify.is_some() || params.orcpt.is_some() => {
                MAX_COMMAND_LINE + DSN_RCPT_EXTRA
            }
            Command::AuthResponse(_) => MAX_AUTH_RESPONSE + 2,
            _ => MAX_COMMAND_LINE,
        }
    }

    /// Writes the line with validation but without the length check; the caller truncates on
    /// error.
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        match *self {
            Command::Ehlo(name) | Command::Helo(name) | Command::Lhlo(name) => {
                out.extend_from_slice(self.verb().as_bytes());
                out.push(b' ');
                out.extend_from_slice(name.as_str().as_bytes());
            }
            Command::Mail { from, params } => {
                out.extend_from_slice(b"MAIL FROM:<");
                if let Some(from) = from {
                    out.extend_from_slice(from.as_str().as_bytes());
                }
                out.push(b'>');
                write_mail_params(params, out)?;
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b"RCPT TO:<");
                out.extend_from_slice(to.as_str().as_bytes());
                out.push(b'>');
                write_rcpt_params(params, out)?;
            }
            Command::Bdat { size, last } => {
                out.extend_from_slice(b"BDAT ");
                push_u64(out, size);
                if last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Noop(arg) | Command::Help(arg) => {
                out.extend_from_slice(self.verb().as_bytes());
                if let Some(arg) = arg {
                    out.push(b' ');
                    out.extend_from_slice(arg.as_str().as_bytes());
                }
            }
            Command::Xclient(attributes) | Command::Xforward(attributes) => {
                if attributes.is_empty() {
                    return Err(CommandError::Empty { what: "attributes" });
                }
                out.extend_from_slice(self.verb().as_bytes());
                for attribute in attributes {
                    out.push(b' ');
                    attribute.write(out);
                }
            }
            Command::Vrfy(arg) | Command::Expn(arg) | Command::Etrn(arg) => {
                out.extend_from_slice(self.verb().as_bytes());
                out.push(b' ');
                out.extend_from_slice(arg.as_str().as_bytes());
            }
            Command::Data | Command::Rset | Command::Quit | Command::StartTls => {
                out.extend_from_slice(self.verb().as_bytes());
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                let name = mechanism_name(mechanism)?;
                out.extend_from_slice(b"AUTH ");
                out.extend_from_slice(name.as_bytes());
                if let Some(initial) = initial_response {
                    if initial.is_empty() {
                        // RFC 4954 4: an empty initial response is sent as `=`.
                        return Err(CommandError::Empty {
                            what: "auth response",
                        });
                    }
                    check_base64(initial)?;
                    // Refuse a huge response before copying it.
                    let len = b"AUTH ".len() + name.len() + 1 + initial.len() + 2;
                    if len > MAX_COMMAND_LINE {
                        return Err(CommandError::LineTooLong { len });
                    }
                    out.push(b' ');
                    out.extend_from_slice(initial);
                }
            }
            Command::AuthResponse(response) => {
                // RFC 4954 4: a lone `*` cancels the exchange.
                if response != b"*" {
                    check_base64(response)?;
                }
                let len = response.len() + 2;
                if len > MAX_AUTH_RESPONSE + 2 {
                    return Err(CommandError::LineTooLong { len });
                }
                out.extend_from_slice(response);
            }
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// The verb (`"MAIL"`, `"RCPT"`, …).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Lhlo(_) => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop(_) => "NOOP",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Xclient(_) => "XCLIENT",
            Command::Xforward(_) => "XFORWARD",
            Command::Etrn(_) => "ETRN",
            Command::Auth { .. } => "AUTH",
            Command::AuthResponse(_) => "AUTH response",
        }
    }
}

/// The first byte of the character at `at` in `text` (for error reports).
fn first_byte(text: &str, at: usize) -> u8 {
    text.as_bytes().get(at).copied().unwrap_or(0)
}

/// Appends the decimal form of `n`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or(&[]));
}

/// Appends the decimal form of `n`, with a `-` if negative.
fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// The AUTH mechanism name, checked against RFC 4422 3.1 `sasl-mech`.
fn mechanism_name(mechanism: &Mechanism) -> Result<&str, CommandError> {
    let name = mechanism.name();
    if name.is_empty() {
        return Err(CommandError::Empty { what: "mechanism" });
    }
    for (at, byte) in name.bytes().enumerate() {
        if !(byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_') {
            return Err(CommandError::InvalidByte {
                what: "mechanism",
                byte,
                at,
            });
        }
    }
    if name.len() > MAX_MECHANISM {
        return Err(CommandError::OutOfRange { what: "mechanism" });
    }
    Ok(name)
}

/// Every byte is in the base64 alphabet (RFC 4648 4) or `=`.
fn check_base64(bytes: &[u8]) -> Result<(), CommandError> {
    match bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
    {
        Some(at) => Err(CommandError::InvalidByte {
            what: "auth response",
            byte: bytes.get(at).copied().unwrap_or(0),
            at,
        }),
        None => Ok(()),
    }
}

/// Appends ` KEYWORD[=value]` for each extra parameter (validated when built).
/// The keywords this crate models, per command: an extra parameter may not name one (it would
/// be sent twice, or contradict the modelled value).
const MAIL_KEYWORDS: [&str; 8] = [
    "SIZE",
    "BODY",
    "SMTPUTF8",
    "RET",
    "ENVID",
    "REQUIRETLS",
    "BY",
    "MT-PRIORITY",
];
const RCPT_KEYWORDS: [&str; 2] = ["NOTIFY", "ORCPT"];

/// RFC 5321 4.1.2 gives each keyword at most once per command: an extra parameter naming a
/// modelled one, or another extra, is refused.
fn check_extra(extra: &[Param], modelled: &[&str]) -> Result<(), CommandError> {
    for (index, param) in extra.iter().enumerate() {
        let kw = param.keyword.as_str();
        let twice = modelled.iter().any(|m| m.eq_ignore_ascii_case(kw))
            || extra
                .iter()
                .take(index)
                .any(|other| other.keyword.eq_ignore_ascii_case(kw));
        if twice {
            return Err(CommandError::DuplicateParameter { index });
        }
    }
    Ok(())
}

fn write_extra(extra: &[Param], out: &mut Vec<u8>) {
    for param in extra {
        out.push(b' ');
        out.extend_from_slice(param.keyword.as_bytes());
        if let Some(value) = &param.value {
            out.push(b'=');
            out.extend_from_slice(value.as_bytes());
        }
    }
}

/// MAIL parameters, in the order given in the module docs.
fn write_mail_params(params: &MailParams, out: &mut Vec<u8>) -> Result<(), CommandError> {
    check_extra(&params.extra, &MAIL_KEYWORDS)?;
    if let Some(size) = params.size {
        out.extend_from_slice(b" SIZE=");
        push_u64(out, size);
    }
    if let Some(body) = params.body {
        out.extend_from_slice(match body {
            BodyType::SevenBit => b" BODY=7BIT".as_slice(),
            BodyType::EightBitMime => b" BODY=8BITMIME",
            BodyType::BinaryMime => b" BODY=BINARYMIME",
        });
    }
    if params.smtputf8 {
        out.extend_from_slice(b" SMTPUTF8");
    }
    if let Some(ret) = params.ret {
        out.extend_from_slice(match ret {
            Ret::Full => b" RET=FULL".as_slice(),
            Ret::Headers => b" RET=HDRS",
        });
    }
    if let Some(envid) = &params.envid {
        let raw = envid.as_bytes();
        if raw.is_empty() {
            return Err(CommandError::Empty { what: "envid" });
        }
        if let Some(at) = raw.iter().position(|b| !(32..=126).contains(b)) {
            let byte = raw.get(at).copied().unwrap_or(0);
            return Err(CommandError::InvalidByte {
                what: "envid",
                byte,
                at,
            });
        }
        if xtext::encoded_len(raw) > MAX_ENVID {
            return Err(CommandError::OutOfRange { what: "envid" });
        }
        out.extend_from_slice(b" ENVID=");
        let mut encoded = String::new();
        xtext::encode(raw, &mut encoded);
        out.extend_from_slice(encoded.as_bytes());
    }
    if params.requiretls {
        out.extend_from_slice(b" REQUIRETLS");
    }
    if let Some(by) = params.deliver_by {
        // RFC 2852 4: at most nine digits; a by-time of zero or less is not allowed with R.
        if !(-MAX_BY_TIME..=MAX_BY_TIME).contains(&by.seconds)
            || (by.return_on_expiry && by.seconds <= 0)
        {
            return Err(CommandError::OutOfRange { what: "BY" });
        }
        out.extend_from_slice(b" BY=");
        push_i64(out, by.seconds);
        out.extend_from_slice(if by.return_on_expiry { b";R" } else { b";N" });
        if by.trace {
            out.push(b'T');
        }
    }
    if let Some(priority) = params.mt_priority {
        // RFC 6710 2: priorities run from -9 to 9.
        if !(-9..=9).contains(&priority) {
            return Err(CommandError::OutOfRange {
                what: "MT-PRIORITY",
            });
        }
        out.extend_from_slice(b" MT-PRIORITY=");
        push_i64(out, i64::from(priority));
    }
    write_extra(&params.extra, out);
    Ok(())
}

/// RCPT parameters, in the order given in the module docs.
fn write_rcpt_params(params: &RcptParams, out: &mut Vec<u8>) -> Result<(), CommandError> {
    check_extra(&params.extra, &RCPT_KEYWORDS)?;
    if let Some(notify) = params.notify {
        out.extend_from_slice(b" NOTIFY=");
        if notify == Notify::NEVER {
            out.extend_from_slice(b"NEVER");
        } else {
            let mut first = true;
            for (on, name) in [
                (notify.success, b"SUCCESS".as_slice()),
                (notify.failure, b"FAILURE"),
                (notify.delay, b"DELAY"),
            ] {
                if on {
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(name);
                    first = false;
                }
            }
        }
    }
    if let Some(orcpt) = &params.orcpt {
        let addr_type = orcpt.addr_type.as_bytes();
        if addr_type.is_empty() {
            return Err(CommandError::Empty {
                what: "orcpt addr-type",
            });
        }
        // RFC 3461 4.2: addr-type = atom (RFC 822 3.3: no specials, space or controls).
        if let Some(at) = addr_type
            .iter()
            .position(|&b| !(33..=126).contains(&b) || b"()<>@,;:\\\".[]".contains(&b))
        {
            let byte = addr_type.get(at).copied().unwrap_or(0);
            return Err(CommandError::InvalidByte {
                what: "orcpt addr-type",
                byte,
                at,
            });
        }
        if orcpt.address.is_empty() {
            return Err(CommandError::Empty {
                what: "orcpt address",
            });
        }
        out.extend_from_slice(b" ORCPT=");
        out.extend_from_slice(addr_type);
        out.push(b';');
        let mut encoded = String::new();
        xtext::encode(orcpt.address.as_bytes(), &mut encoded);
        out.extend_from_slice(encoded.as_bytes());
    }
    write_extra(&params.extra, out);
    Ok(())
}
