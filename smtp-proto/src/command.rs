//! Client commands and their encoder (RFC 5321 4.1.1, with the parameters of RFC 1870, 3030,
//! 3461, 6152, 6531, 8689, 2852, 6710, and AUTH from RFC 4954).
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use crate::address::{ClientName, Mailbox};
use crate::sasl::Mechanism;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const MAX_COMMAND_LINE: usize = 512;

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
    pub const NEVER: Notify = Notify { success: false, failure: false, delay: false };
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
        let _ = (keyword, value);
        todo!()
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
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<OriginalRecipient>,
    /// Anything else.
    pub extra: Vec<Param>,
}

/// A free-text argument of VRFY, EXPN, HELP or NOOP: non-empty, no CR, LF, NUL or other control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument(String);

impl Argument {
    /// Validates an argument.
    pub fn new(text: &str) -> Result<Argument, CommandError> {
        let _ = text;
        todo!()
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
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CommandError {}

impl Command<'_> {
    /// Appends the command line, CRLF included, to `out`. On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let _ = out;
        todo!()
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
            Command::Auth { .. } => "AUTH",
            Command::AuthResponse(_) => "AUTH response",
        }
    }
}
