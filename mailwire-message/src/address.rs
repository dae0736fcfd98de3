//! [`Address`]: a mailbox with an optional display name, as in From, To, Cc, Bcc and Reply-To
//! (RFC 5322 3.4), and [`AddressInput`], what the builder's address methods take.

use crate::text::{no_line_break, TextError};
use core::fmt;
use mailwire::Mailbox;

/// A mailbox (validated by [`mailwire::Mailbox`], so it can go into MAIL FROM and RCPT TO as it
/// is) and an optional display name (any text without CR, LF or NUL; RFC 2047-encoded when it is
/// not ASCII, quoted when it holds specials such as `,`).
///
/// ```
/// use mailwire_message::Address;
///
/// let a: Address = "Doe, Jane <jane@example.org>".parse()?;
/// assert_eq!(a.name(), Some("Doe, Jane"));
/// assert_eq!(a.mailbox().as_str(), "jane@example.org");
/// assert_eq!(a.to_string(), "\"Doe, Jane\" <jane@example.org>");
/// # Ok::<(), mailwire_message::AddressError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    name: Option<String>,
    mailbox: Mailbox,
}

/// Why a text is not an [`Address`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// The mailbox is not valid (offsets are within the mailbox, between `<` and `>` when
    /// there are brackets).
    Mailbox(mailwire::AddressError),
    /// The display name holds a CR, LF or NUL (offsets are within the name).
    DisplayName(TextError),
    /// A display name opens a quote it does not close.
    UnterminatedQuote,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Mailbox(e) => write!(f, "invalid mailbox: {e}"),
            AddressError::DisplayName(e) => write!(f, "invalid display name: {e}"),
            AddressError::UnterminatedQuote => f.write_str("unterminated quote in display name"),
        }
    }
}

impl std::error::Error for AddressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AddressError::Mailbox(e) => Some(e),
            AddressError::DisplayName(e) => Some(e),
            AddressError::UnterminatedQuote => None,
        }
    }
}

impl Address {
    /// A mailbox without a display name.
    pub fn new(mailbox: Mailbox) -> Address {
        Address {
            name: None,
            mailbox,
        }
    }

    /// A mailbox with a display name (an empty name is no name).
    pub fn with_name(name: impl Into<String>, mailbox: Mailbox) -> Result<Address, AddressError> {
        let name = name.into();
        no_line_break(&name).map_err(AddressError::DisplayName)?;
        Ok(Address {
            name: (!name.is_empty()).then_some(name),
            mailbox,
        })
    }

    /// Parses `local@domain`, `Name <local@domain>` or `"Name" <local@domain>` (in a quoted
    /// name, `\` escapes the next character). Surrounding spaces and tabs are ignored. One address
    /// only: a list (`a@x, b@y`) is refused, as the mailbox it is not.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        // Spaces and tabs only: a CR or LF is refused, never trimmed away.
        let text = text.trim_matches(WSP);
        let Some(inner) = text.strip_suffix('>') else {
            return Ok(Address::new(
                Mailbox::parse(text).map_err(AddressError::Mailbox)?,
            ));
        };
        let Some(open) = inner.rfind('<') else {
            // `>` without `<`: not a mailbox either.
            return Err(AddressError::Mailbox(
                Mailbox::parse(text)
                    .err()
                    .unwrap_or(mailwire::AddressError::Empty),
            ));
        };
        let mailbox = Mailbox::parse(&inner[open + 1..]).map_err(AddressError::Mailbox)?;
        let name = inner[..open].trim_matches(WSP);
        let name = match name.strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => name.to_string(),
        };
        Address::with_name(name, mailbox)
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The mailbox.
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }
}

/// RFC 5234 WSP: what surrounds an address and its parts.
const WSP: [char; 2] = [' ', '\t'];

/// The inside of a quoted string, from after its opening quote: up to the closing quote, which
/// must end the name; `\` escapes.
fn unquote(quoted: &str) -> Result<String, AddressError> {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or(AddressError::UnterminatedQuote)?),
            '"' if chars.as_str().trim_matches(WSP).is_empty() => return Ok(out),
            '"' => return Err(AddressError::UnterminatedQuote),
            c => out.push(c),
        }
    }
    Err(AddressError::UnterminatedQuote)
}

impl From<Mailbox> for Address {
    fn from(mailbox: Mailbox) -> Self {
        Address::new(mailbox)
    }
}

impl core::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

/// `"Name" <local@domain>` (the name quoted, `"` and `\` escaped: [`Address::parse`] reads it
/// back), or `local@domain`. For display; the message's headers are written by mail-builder.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(self.mailbox.as_str()),
            Some(name) => {
                f.write_str("\"")?;
                for c in name.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                write!(f, "\" <{}>", self.mailbox)
            }
        }
    }
}

/// What the builder's address methods take: text parsed by [`Address::parse`] when the message
/// is built (`&str`, `String`), or an [`Address`] or [`mailwire::Mailbox`] already valid.
#[derive(Clone, Debug)]
pub struct AddressInput(pub(crate) Input);

#[derive(Clone, Debug)]
pub(crate) enum Input {
    Text(String),
    Address(Address),
}

impl AddressInput {
    /// The address, or the input text and why it is not one.
    pub(crate) fn resolve(self) -> Result<Address, (String, AddressError)> {
        match self.0 {
            Input::Address(a) => Ok(a),
            Input::Text(t) => Address::parse(&t).map_err(|e| (t, e)),
        }
    }
}

impl From<&str> for AddressInput {
    fn from(text: &str) -> Self {
        AddressInput(Input::Text(text.to_string()))
    }
}

impl From<String> for AddressInput {
    fn from(text: String) -> Self {
        AddressInput(Input::Text(text))
    }
}

impl From<&String> for AddressInput {
    fn from(text: &String) -> Self {
        AddressInput(Input::Text(text.clone()))
    }
}

impl From<Address> for AddressInput {
    fn from(address: Address) -> Self {
        AddressInput(Input::Address(address))
    }
}

impl From<&Address> for AddressInput {
    fn from(address: &Address) -> Self {
        AddressInput(Input::Address(address.clone()))
    }
}

impl From<Mailbox> for AddressInput {
    fn from(mailbox: Mailbox) -> Self {
        AddressInput(Input::Address(Address::new(mailbox)))
    }
}

impl From<&Mailbox> for AddressInput {
    fn from(mailbox: &Mailbox) -> Self {
        AddressInput(Input::Address(Address::new(mailbox.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = Address::parse("  bob@example.net ").unwrap();
        assert_eq!((a.name(), a.mailbox().as_str()), (None, "bob@example.net"));
        let a = Address::parse("Bob Smith <bob@example.net>").unwrap();
        assert_eq!(a.name(), Some("Bob Smith"));
        let a = Address::parse(r#""Smith, \"Bob\"" <bob@example.net>"#).unwrap();
        assert_eq!(a.name(), Some(r#"Smith, "Bob""#));
        assert_eq!(Address::parse(&a.to_string()).unwrap(), a);
        let a = Address::parse("<bob@example.net>").unwrap();
        assert_eq!(a.name(), None);
        let a = Address::parse("Jürgen Größ <jürgen@exämple.de>").unwrap();
        assert_eq!(a.name(), Some("Jürgen Größ"));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            Address::parse("a@x, b@y"),
            Err(AddressError::Mailbox(_))
        ));
        assert!(matches!(
            Address::parse("Bob <bob@example.net"),
            Err(AddressError::Mailbox(_))
        ));
        assert!(matches!(
            Address::parse("bob@example.net>"),
            Err(AddressError::Mailbox(_))
        ));
        assert_eq!(
            Address::parse("\"Bob <bob@example.net>"),
            Err(AddressError::UnterminatedQuote)
        );
        assert_eq!(
            Address::parse("\"Bob\" x <bob@example.net>"),
            Err(AddressError::UnterminatedQuote)
        );
        assert_eq!(
            Address::parse("Bob\r\nBcc: eve@example.net <bob@example.net>"),
            Err(AddressError::DisplayName(TextError::InvalidByte {
                byte: b'\r',
                at: 3
            }))
        );
        assert!(matches!(
            Address::parse("Bob <bob@example.net\r\nRCPT TO:<eve@x>>"),
            Err(AddressError::Mailbox(_))
        ));
        assert!(matches!(Address::parse(""), Err(AddressError::Mailbox(_))));
    }
}
