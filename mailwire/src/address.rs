//! Validated addresses and names: [`Mailbox`] (RFC 5321 4.1.2, RFC 6531), [`Domain`],
//! [`ClientName`] (the EHLO/HELO argument). A value of these types cannot carry a CR, LF or NUL,
//! so nothing built from them can inject a command.
//!
//! # Grammar
//!
//! - Local part (RFC 5321 4.1.2): a dot-string of `atext` (RFC 5322 3.2.3) with no leading,
//!   trailing or doubled dot, or a quoted-string of `qtextSMTP` and `quoted-pairSMTP` (printable
//!   ASCII only after the backslash). RFC 6531 3.3 adds any non-ASCII UTF-8 character to both.
//! - Domain (RFC 5321 4.1.2, RFC 6531 3.3): dot-separated labels of letters, digits and hyphens,
//!   not starting or ending with a hyphen, at most 63 octets each; any non-ASCII character counts
//!   as a letter (a U-label). An empty label, and so a leading, doubled or trailing dot, is refused.
//! - Address literal (RFC 5321 4.1.3): `[a.b.c.d]` with four decimal octets 0..=255 (one to three
//!   digits each), `[IPv6:...]` (checked by [`core::net::Ipv6Addr`]'s parser; the tag is matched
//!   case-insensitively, as ABNF strings are), or `[tag:content]` with an Ldh-str tag and content of
//!   printable ASCII other than `[`, `\` and `]`.
//! - Lengths (RFC 5321 4.5.3.1): local part at most 64 octets, domain at most 255, and the whole
//!   mailbox at most 254 so the path with its angle brackets fits in 256.
//!
//! # Decisions
//!
//! - A control byte (0x00..=0x1F, 0x7F) is refused anywhere, even inside quotes or escaped, and it
//!   is reported first, before any structural problem, so an injection attempt always surfaces as
//!   [`AddressError::InvalidByte`] at the offending byte.
//! - Any byte that the grammar does not allow at its place is an [`AddressError::InvalidByte`];
//!   [`AddressError::InvalidLocalPart`] and [`AddressError::InvalidDomain`] are for structure
//!   (dots, hyphens, unterminated quotes, label length, literal syntax).
//! - The local part ends at its closing quote (quoted-string) or at its first `@` (a dot-string
//!   cannot contain `@`). This equals "the last `@` outside quotes" for every valid address, and
//!   also accepts a general address literal whose content holds an `@` (RFC 5321 4.1.3 `dcontent`).
//! - A U-label's 63-octet limit is counted on its UTF-8 form (no Punycode conversion here).
//! - Text is stored exactly as given (no case folding, no quote normalisation).

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
        match *self {
            AddressError::Empty => f.write_str("empty address"),
            AddressError::InvalidByte { byte, at } => {
                if byte.is_ascii_graphic() {
                    write!(
                        f,
                        "invalid byte '{}' (0x{byte:02X}) at offset {at}",
                        char::from(byte)
                    )
                } else {
                    write!(f, "invalid byte 0x{byte:02X} at offset {at}")
                }
            }
            AddressError::MissingAt => f.write_str("missing '@' between local part and domain"),
            AddressError::InvalidLocalPart { at } => {
                write!(f, "invalid local part at offset {at} (RFC 5321 4.1.2)")
            }
            AddressError::InvalidDomain { at } => {
                write!(
                    f,
                    "invalid domain or address literal at offset {at} (RFC 5321 4.1.2)"
                )
            }
            AddressError::LocalPartTooLong => {
                write!(
                    f,
                    "local part longer than {MAX_LOCAL_PART} octets (RFC 5321 4.5.3.1.1)"
                )
            }
            AddressError::DomainTooLong => {
                write!(
                    f,
                    "domain longer than {MAX_DOMAIN} octets (RFC 5321 4.5.3.1.2)"
                )
            }
            AddressError::PathTooLong => {
                write!(
                    f,
                    "address longer than {MAX_MAILBOX} octets (RFC 5321 4.5.3.1.3)"
                )
            }
        }
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
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        check_controls(input.as_bytes(), 0)?;
        validate_domain(input, 0)?;
        Ok(Domain(String::from(input)))
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
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        check_controls(input.as_bytes(), 0)?;
        // RFC 6531 3.7.1: the EHLO argument stays ASCII (an A-label, not a U-label).
        if let Some(at) = input.bytes().position(|b| !b.is_ascii()) {
            let byte = input.as_bytes().get(at).copied().unwrap_or(0);
            return Err(AddressError::InvalidByte { byte, at });
        }
        Ok(ClientName(Domain::parse(input)?))
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
        let bytes = input.as_bytes();
        if bytes.is_empty() {
            return Err(AddressError::Empty);
        }
        check_controls(bytes, 0)?;
        let at = if bytes.first() == Some(&b'"') {
            quoted_string_end(bytes)?
        } else {
            dot_string_end(bytes)?
        };
        match bytes.get(at) {
            Some(b'@') => {}
            None => return Err(AddressError::MissingAt),
            // Something after the closing quote other than `@`.
            Some(_) => return Err(AddressError::InvalidLocalPart { at }),
        }
        let domain = input.get(at + 1..).unwrap_or("");
        if domain.is_empty() {
            return Err(AddressError::InvalidDomain { at: at + 1 });
        }
        validate_domain(domain, at + 1)?;
        if at > MAX_LOCAL_PART {
            return Err(AddressError::LocalPartTooLong);
        }
        if bytes.len() > MAX_MAILBOX {
            return Err(AddressError::PathTooLong);
        }
        Ok(Mailbox {
            text: String::from(input),
            at,
        })
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

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Domain {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::parse(s)
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for ClientName {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientName::parse(s)
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

/// RFC 5321 4.5.3.1.1.
const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 4.5.3.1.2.
const MAX_DOMAIN: usize = 255;
/// RFC 1035 2.3.4, as RFC 5321 2.3.5 refers to it.
const MAX_LABEL: usize = 63;
/// RFC 5321 4.5.3.1.3: a path is at most 256 octets with its angle brackets.
const MAX_MAILBOX: usize = 254;

/// Refuses every control byte (0x00..=0x1F, 0x7F): none is valid anywhere in an address, and
/// CR, LF and NUL are how commands get injected. `base` is the offset of `bytes` in the input.
fn check_controls(bytes: &[u8], base: usize) -> Result<(), AddressError> {
    match bytes.iter().position(|&b| b < 0x20 || b == 0x7f) {
        Some(i) => Err(AddressError::InvalidByte {
            byte: bytes.get(i).copied().unwrap_or(0),
            at: base + i,
        }),
        None => Ok(()),
    }
}

/// `atext` of RFC 5322 3.2.3, ASCII part; RFC 6531 3.3 adds every non-ASCII UTF-8 byte.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// Checks a dot-string local part and returns the offset of the `@` that ends it (or the input
/// length if there is none).
fn dot_string_end(bytes: &[u8]) -> Result<usize, AddressError> {
    let mut prev_dot = true; // a dot at offset 0 is a leading dot
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'@' => {
                if i == 0 {
                    return Err(AddressError::InvalidLocalPart { at: 0 });
                }
                if prev_dot {
                    return Err(AddressError::InvalidLocalPart { at: i - 1 });
                }
                return Ok(i);
            }
            b'.' => {
                if prev_dot {
                    return Err(AddressError::InvalidLocalPart { at: i });
                }
                prev_dot = true;
            }
            _ if is_atext(b) => prev_dot = false,
            _ => return Err(AddressError::InvalidByte { byte: b, at: i }),
        }
    }
    Err(AddressError::MissingAt)
}

/// Checks a quoted-string local part starting at offset 0 and returns the offset just past its
/// closing quote (RFC 5321 4.1.2 `Quoted-string`, RFC 6531 3.3 `qtextSMTP`).
fn quoted_string_end(bytes: &[u8]) -> Result<usize, AddressError> {
    let mut i = 1;
    loop {
        match bytes.get(i) {
            None => return Err(AddressError::InvalidLocalPart { at: bytes.len() }),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match bytes.get(i + 1) {
                // quoted-pairSMTP = %d92 %d32-126
                Some(&next) if (32..=126).contains(&next) => i += 2,
                Some(&next) => {
                    return Err(AddressError::InvalidByte {
                        byte: next,
                        at: i + 1,
                    })
                }
                None => return Err(AddressError::InvalidLocalPart { at: bytes.len() }),
            },
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
            Some(&b) if (32..=126).contains(&b) || b >= 0x80 => i += 1,
            Some(&b) => return Err(AddressError::InvalidByte { byte: b, at: i }),
        }
    }
}

/// Validates a non-empty domain or address literal; `base` is its offset in the input, for
/// error positions. Control bytes have already been refused.
fn validate_domain(domain: &str, base: usize) -> Result<(), AddressError> {
    let bytes = domain.as_bytes();
    if bytes.first() == Some(&b'[') {
        validate_literal(domain, base)?;
    } else {
        validate_name(bytes, base)?;
    }
    if bytes.len() > MAX_DOMAIN {
        return Err(AddressError::DomainTooLong);
    }
    Ok(())
}

/// Dot-separated labels (RFC 5321 4.1.2 `sub-domain`, RFC 6531 3.3 `U-label`).
fn validate_name(bytes: &[u8], base: usize) -> Result<(), AddressError> {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'.' => {
                check_label(bytes, start, i, base)?;
                start = i + 1;
            }
            _ if b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80 => {}
            _ => {
                return Err(AddressError::InvalidByte {
                    byte: b,
                    at: base + i,
                })
            }
        }
    }
    check_label(bytes, start, bytes.len(), base)
}

/// One label `bytes[start..end]`: non-empty, at most 63 octets, no hyphen at either end.
fn check_label(bytes: &[u8], start: usize, end: usize, base: usize) -> Result<(), AddressError> {
    let label = bytes.get(start..end).unwrap_or(&[]);
    if label.is_empty() {
        // Point at the dot that makes the label empty (leading, doubled or trailing).
        let dot = if start < bytes.len() {
            start
        } else {
            start.saturating_sub(1)
        };
        return Err(AddressError::InvalidDomain { at: base + dot });
    }
    if label.len() > MAX_LABEL || label.first() == Some(&b'-') {
        return Err(AddressError::InvalidDomain { at: base + start });
    }
    if label.last() == Some(&b'-') {
        return Err(AddressError::InvalidDomain { at: base + end - 1 });
    }
    Ok(())
}

/// An address literal `[...]` (RFC 5321 4.1.3).
fn validate_literal(domain: &str, base: usize) -> Result<(), AddressError> {
    let bytes = domain.as_bytes();
    if let Some(i) = bytes.iter().position(|b| !b.is_ascii()) {
        return Err(AddressError::InvalidByte {
            byte: bytes.get(i).copied().unwrap_or(0),
            at: base + i,
        });
    }
    // All ASCII from here on, so every byte offset is a char boundary.
    let inner = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(inner) if !inner.is_empty() => inner,
        _ => {
            return Err(AddressError::InvalidDomain {
                at: base + bytes.len().saturating_sub(1),
            })
        }
    };
    let inner_base = base + 1;
    let is_ipv6_tag = inner
        .get(..5)
        .is_some_and(|tag| tag.eq_ignore_ascii_case("IPv6:"));
    if is_ipv6_tag {
        let addr = inner.get(5..).unwrap_or("");
        return match addr.parse::<core::net::Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err(AddressError::InvalidDomain { at: inner_base + 5 }),
        };
    }
    match inner.find(':') {
        Some(colon) => validate_general_literal(inner, colon, inner_base),
        None => validate_ipv4(inner.as_bytes(), inner_base),
    }
}

/// `IPv4-address-literal = Snum 3("." Snum)`, `Snum = 1*3DIGIT` with a value 0..=255.
fn validate_ipv4(bytes: &[u8], base: usize) -> Result<(), AddressError> {
    let mut parts = 0;
    let mut start = 0;
    for end in 0..=bytes.len() {
        match bytes.get(end) {
            Some(b) if b.is_ascii_digit() => continue,
            Some(b'.') | None => {}
            Some(&b) => {
                return Err(AddressError::InvalidByte {
                    byte: b,
                    at: base + end,
                })
            }
        }
        let digits = bytes.get(start..end).unwrap_or(&[]);
        if digits.is_empty() || digits.len() > 3 || parts == 4 {
            return Err(AddressError::InvalidDomain { at: base + start });
        }
        // At most three digits, so this cannot overflow.
        let value = digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        if value > 255 {
            return Err(AddressError::InvalidDomain { at: base + start });
        }
        parts += 1;
        start = end + 1;
    }
    if parts != 4 {
        return Err(AddressError::InvalidDomain { at: base });
    }
    Ok(())
}

/// `General-address-literal = Standardized-tag ":" 1*dcontent`; the tag is an Ldh-str and
/// `dcontent` is printable ASCII other than `[`, `\` and `]`.
fn validate_general_literal(inner: &str, colon: usize, base: usize) -> Result<(), AddressError> {
    let bytes = inner.as_bytes();
    let tag = bytes.get(..colon).unwrap_or(&[]);
    for (i, &b) in tag.iter().enumerate() {
        if !(b.is_ascii_alphanumeric() || b == b'-') {
            return Err(AddressError::InvalidByte {
                byte: b,
                at: base + i,
            });
        }
    }
    if tag.is_empty() || tag.first() == Some(&b'-') || tag.last() == Some(&b'-') {
        return Err(AddressError::InvalidDomain { at: base });
    }
    let content = bytes.get(colon + 1..).unwrap_or(&[]);
    if content.is_empty() {
        return Err(AddressError::InvalidDomain { at: base + colon });
    }
    for (i, &b) in content.iter().enumerate() {
        if !(33..=126).contains(&b) || b == b'[' || b == b'\\' || b == b']' {
            return Err(AddressError::InvalidByte {
                byte: b,
                at: base + colon + 1 + i,
            });
        }
    }
    Ok(())
}
