//! What a message is sent with: [`Envelope`], [`Recipient`], and the handles [`MessageId`] and
//! [`CommandId`] that tie events to what the caller asked for.

use crate::address::Mailbox;
use crate::command::{MailParams, Param, RcptParams};
use alloc::vec::Vec;
use core::fmt;

/// The handle of a message queued with [`crate::Client::send_message`]. Only a session makes
/// them (numbered from 1 in the order of queueing, shared with [`CommandId`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub(crate) u64);

/// The handle of a NOOP, VRFY, EXPN or HELP queued on a [`crate::Client`]. Only a session makes
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommandId(pub(crate) u64);

impl MessageId {
    /// The number (for logs and reports).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl CommandId {
    /// The number (for logs and reports).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message #{}", self.0)
    }
}

/// One RCPT TO: a forward-path and its parameters (NOTIFY, ORCPT).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recipient {
    /// The address.
    pub address: Mailbox,
    /// Its parameters.
    pub params: RcptParams,
}

impl Recipient {
    /// A recipient with parameters.
    pub fn new(address: Mailbox, params: RcptParams) -> Recipient {
        Recipient { address, params }
    }
}

impl From<Mailbox> for Recipient {
    fn from(address: Mailbox) -> Self {
        Recipient {
            address,
            params: RcptParams::default(),
        }
    }
}

/// The SMTP envelope of one message (RFC 5321 2.3.1): the reverse-path, one recipient per RCPT
/// (To, Cc and Bcc alike), and the MAIL parameters.
///
/// `params.size` is the size the caller declares: sent as `SIZE=` when the server offers SIZE,
/// and checked against the server's limit before anything is sent (RFC 1870 6.1). When the whole
/// content is in the session before MAIL goes out, the session counts the size itself and
/// declares that. `SMTPUTF8` is added by the session when an address or an extra parameter's
/// value needs it (RFC 6531 3.4, 3.3), `BODY=8BITMIME` when the content it has seen before MAIL
/// has an octet above 127 (RFC 6152).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Envelope {
    /// The reverse-path; `None` is the null path `<>` (bounces, RFC 5321 4.5.5).
    pub from: Option<Mailbox>,
    /// The recipients, in RCPT order.
    pub recipients: Vec<Recipient>,
    /// MAIL FROM parameters.
    pub params: MailParams,
    /// XFORWARD attributes (Postfix's `XFORWARD_README`): the client this message came from,
    /// for the server's logs (a content filter passing mail on keeps its origin). Sent before
    /// MAIL to a server that offers XFORWARD, only those it names; see
    /// [`crate::MessageOutcome::xforward`].
    pub xforward: Vec<crate::xclient::Attribute>,
}

impl Envelope {
    /// An envelope from `from` to `recipients`, no parameters.
    pub fn new(from: Option<Mailbox>, recipients: impl IntoIterator<Item = Mailbox>) -> Envelope {
        Envelope {
            from,
            recipients: recipients.into_iter().map(Recipient::from).collect(),
            params: MailParams::default(),
            xforward: Vec::new(),
        }
    }

    /// The envelope with these MAIL parameters.
    pub fn with_params(mut self, params: MailParams) -> Envelope {
        self.params = params;
        self
    }

    /// An envelope of recipients that carry parameters (NOTIFY, ORCPT).
    pub fn with_recipients(
        from: Option<Mailbox>,
        recipients: impl IntoIterator<Item = Recipient>,
    ) -> Envelope {
        Envelope {
            from,
            recipients: recipients.into_iter().collect(),
            params: MailParams::default(),
            xforward: Vec::new(),
        }
    }

    /// Whether any address, or any extra MAIL or RCPT parameter's value, needs SMTPUTF8
    /// (RFC 6531 3.3: UTF-8 in an esmtp-value only under SMTPUTF8, as in an address).
    pub fn needs_smtputf8(&self) -> bool {
        let utf8_value =
            |extra: &[Param]| extra.iter().any(|p| !p.value().unwrap_or("").is_ascii());
        self.from.as_ref().is_some_and(Mailbox::needs_smtputf8)
            || utf8_value(&self.params.extra)
            || self
                .recipients
                .iter()
                .any(|r| r.address.needs_smtputf8() || utf8_value(&r.params.extra))
    }
}
