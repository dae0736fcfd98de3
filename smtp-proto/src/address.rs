//! Validated addresses and names: [`Mailbox`] (RFC 5321 4.1.2, RFC 6531), [`Domain`],
//! [`ClientName`] (the EHLO/HELO argument). A value of these types cannot carry a CR, LF or NUL,
//! so nothing built from them can inject a command.
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use alloc::string::String;
use core::fmt;

/// Why a string is not a valid address, domain or name. `at` is a byte offset into the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// The input is empty.
    Empty,
    /// A byte that may not appear here (CR, LF, NUL, other controls, space outside quotes, …).
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the input.
        at: usize,
    },
    /// No `@` between local part and domain.
    MissingAt,
    /// The local part is not a valid dot-string or quoted-string (RFC 5321 4.1.2).
    InvalidLocalPart {
        /// Offset of the problem.
        at: usize,
    },
    /// The domain is not a valid domain name or address literal.
    InvalidDomain {
        /// Offset of the problem within the input.
        at: usize,
    },
    /// The local part exceeds 64 octets (RFC 5321 4.5.3.1.1).
    LocalPartTooLong,
    /// The domain exceeds 255 octets (RFC 5321 4.5.3.1.2).
    DomainTooLong,
    /// The whole path exceeds 256 octets (RFC 5321 4.5.3.1.3).
    PathTooLong,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AddressError {}

/// A domain name or an address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), RFC 5321 4.1.2.
/// U-labels (UTF-8) are accepted; [`Domain::is_ascii`] tells whether SMTPUTF8 is needed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Domain(String);

impl Domain {
    /// Validates a domain or address literal.
    pub fn parse(input: &str) -> Result<Domain, AddressError> {
        let _ = input;
        todo!()
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// No UTF-8 beyond ASCII.
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }
}

/// The argument of EHLO/HELO/LHLO: the client's domain or an address literal (RFC 5321 4.1.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientName(Domain);

impl ClientName {
    /// Validates a client name (ASCII only: EHLO precedes any SMTPUTF8 negotiation).
    pub fn parse(input: &str) -> Result<ClientName, AddressError> {
        let _ = input;
        todo!()
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A mailbox `local-part@domain` (RFC 5321 4.1.2), with quoted local parts and address-literal
/// domains allowed. UTF-8 is accepted (RFC 6531); [`Mailbox::needs_smtputf8`] says whether the
/// session must use SMTPUTF8 to send it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    text: String,
    at: usize,
}

impl Mailbox {
    /// Validates `local@domain`. Surrounding angle brackets are not accepted here; the command
    /// encoder adds them.
    pub fn parse(input: &str) -> Result<Mailbox, AddressError> {
        let _ = input;
        todo!()
    }
    /// The address as text, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The local part (quotes kept).
    pub fn local_part(&self) -> &str {
        &self.text[..self.at]
    }
    /// The domain.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }
    /// Whether it contains non-ASCII (RFC 6531 3.3).
    pub fn needs_smtputf8(&self) -> bool {
        !self.text.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl core::str::FromStr for Mailbox {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mailbox::parse(s)
    }
}
