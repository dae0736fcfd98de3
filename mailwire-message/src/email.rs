//! [`EmailBuilder`] gathers the typed parts; [`Email`] is a checked message that yields its
//! envelope and its bytes. The MIME tree is written by mail-builder.

use crate::address::{Address, AddressInput};
use crate::attachment::Attachment;
use crate::error::{Error, Field};
use crate::header::{self, GENERATED};
use crate::text::{at_most, is_content_id, no_line_break, only};
use base64::Engine as _;
use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId as MbMessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;
use mailwire::{Envelope, Mailbox};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// A Content-ID's most octets (it must fit on a header line with room to spare).
const MAX_CONTENT_ID: usize = 250;

/// Gathers a message's parts; [`EmailBuilder::build`] checks them all and gives the [`Email`].
///
/// Every setter takes its input as it is and cannot fail: the first problem, in the order of
/// the fields (From, To, Cc, Bcc, Reply-To, Subject, headers, attachments, inline parts), is
/// what `build` returns. Setting a single-valued part again (From, Subject, text, HTML, Date)
/// replaces it; the others add.
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct EmailBuilder {
    from: Option<AddressInput>,
    to: Vec<AddressInput>,
    cc: Vec<AddressInput>,
    bcc: Vec<AddressInput>,
    reply_to: Vec<AddressInput>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Pending>,
    inline: Vec<(String, Attachment)>,
    headers: Vec<Extra>,
    date: Option<SystemTime>,
}

/// An attachment given, or a file to read when the message is built.
#[derive(Clone, Debug)]
enum Pending {
    Ready(Attachment),
    File(PathBuf),
}

/// An extra header field: its name, its value, and whether the value is written as given
/// (`raw`) or as RFC 2047 encoded words when it needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Extra {
    name: String,
    value: String,
    raw: bool,
}

impl EmailBuilder {
    /// An empty builder: [`Email::builder`].
    pub fn new() -> EmailBuilder {
        EmailBuilder::default()
    }

    /// The author: the From field, and the envelope's MAIL FROM. `"Name <local@domain>"`,
    /// `"local@domain"`, an [`Address`] or a [`Mailbox`].
    pub fn from(mut self, address: impl Into<AddressInput>) -> EmailBuilder {
        self.from = Some(address.into());
        self
    }

    /// Adds a primary recipient (To field and envelope).
    pub fn to(mut self, address: impl Into<AddressInput>) -> EmailBuilder {
        self.to.push(address.into());
        self
    }

    /// Adds a copy recipient (Cc field and envelope).
    pub fn cc(mut self, address: impl Into<AddressInput>) -> EmailBuilder {
        self.cc.push(address.into());
        self
    }

    /// Adds a blind copy recipient: in the envelope only, never in a header field.
    pub fn bcc(mut self, address: impl Into<AddressInput>) -> EmailBuilder {
        self.bcc.push(address.into());
        self
    }

    /// Adds a Reply-To address (a header field only; not a recipient).
    pub fn reply_to(mut self, address: impl Into<AddressInput>) -> EmailBuilder {
        self.reply_to.push(address.into());
        self
    }

    /// The subject (RFC 2047-encoded by mail-builder when it is not ASCII, folded when long).
    /// No CR, LF or NUL.
    ///
    /// ASCII text that itself looks like an encoded word (`=?utf-8?q?x?=`) is written as it is,
    /// and mail readers then show it decoded (`x`): mail-builder does not encode it.
    pub fn subject(mut self, subject: impl Into<String>) -> EmailBuilder {
        self.subject = Some(subject.into());
        self
    }

    /// The plain-text body. With [`EmailBuilder::html`] too, the two are the alternatives of
    /// one `multipart/alternative`, text first (RFC 2046 5.1.4).
    pub fn text(mut self, text: impl Into<String>) -> EmailBuilder {
        self.text = Some(text.into());
        self
    }

    /// The HTML body. Inline parts ([`EmailBuilder::inline`]) go with it in a
    /// `multipart/related` (RFC 2387), referenced from the HTML as `cid:` URLs (RFC 2392).
    pub fn html(mut self, html: impl Into<String>) -> EmailBuilder {
        self.html = Some(html.into());
        self
    }

    /// Adds an attachment.
    pub fn attachment(mut self, attachment: Attachment) -> EmailBuilder {
        self.attachments.push(Pending::Ready(attachment));
        self
    }

    /// Adds the file at `path` as an attachment, read when the message is built
    /// ([`Attachment::from_path`]: its file name, its type guessed from the name).
    pub fn attach_file(mut self, path: impl Into<PathBuf>) -> EmailBuilder {
        self.attachments.push(Pending::File(path.into()));
        self
    }

    /// Adds a part shown inside the HTML body (an image, typically), which refers to it as
    /// `<img src="cid:CONTENT_ID">`. `content_id` is written without angle brackets, of RFC
    /// 5322 `atext`, `.` and `@` (`logo@example.org`, or just `logo`).
    pub fn inline(mut self, content_id: impl Into<String>, part: Attachment) -> EmailBuilder {
        self.inline.push((content_id.into(), part));
        self
    }

    /// Adds a header field, its value written as given (folded at its whitespace when long):
    /// for structured fields such as `List-Unsubscribe: <https://example.org/u>`. A value that
    /// is not ASCII makes an 8-bit header (RFC 6532); use [`EmailBuilder::header_text`] for
    /// free text.
    ///
    /// The name is printable ASCII without `:`; the value has no CR, LF or NUL. The fields the
    /// message writes from its typed parts (From, To, Cc, Bcc, Reply-To, Subject, MIME-Version,
    /// Content-*) are refused; a Date or Message-ID replaces the generated one.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> EmailBuilder {
        self.headers.push(Extra {
            name: name.into(),
            value: value.into(),
            raw: true,
        });
        self
    }

    /// Adds an unstructured header field (RFC 5322 3.6.5, such as `Comments`), its value
    /// RFC 2047-encoded when it is not ASCII. Same rules as [`EmailBuilder::header`].
    pub fn header_text(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> EmailBuilder {
        self.headers.push(Extra {
            name: name.into(),
            value: value.into(),
            raw: false,
        });
        self
    }

    /// The Date, instead of the time `build` is called.
    pub fn date(mut self, date: SystemTime) -> EmailBuilder {
        self.date = Some(date);
        self
    }

    /// Checks every part, reads the files to attach, and generates the Date (now, unless
    /// given) and the Message-ID (`<unique@domain>`, the domain the From address's).
    pub fn build(self) -> Result<Email, Error> {
        let from = self.from.ok_or(Error::NoFrom)?;
        let from = resolve(Field::From, from)?;
        let to = resolve_all(Field::To, self.to)?;
        let cc = resolve_all(Field::Cc, self.cc)?;
        let bcc = resolve_all(Field::Bcc, self.bcc)?;
        let reply_to = resolve_all(Field::ReplyTo, self.reply_to)?;
        if to.is_empty() && cc.is_empty() && bcc.is_empty() {
            return Err(Error::NoRecipients);
        }
        if let Some(subject) = &self.subject {
            no_line_break(subject).map_err(Error::Subject)?;
        }

        let mut headers = Vec::with_capacity(self.headers.len());
        let mut given = [false; GENERATED.len()];
        for mut extra in self.headers {
            let refuse = |error| Error::Header {
                name: extra.name.clone(),
                error,
            };
            header::check(&extra.name, &extra.value, extra.raw).map_err(refuse)?;
            if let Some(i) = GENERATED
                .iter()
                .position(|g| g.eq_ignore_ascii_case(&extra.name))
            {
                if given[i] {
                    return Err(refuse(crate::HeaderError::Duplicate));
                }
                given[i] = true;
                // mail-builder recognises these by their exact spelling.
                extra.name = GENERATED[i].to_string();
            }
            headers.push(extra);
        }
        let [date_given, id_given] = given;

        let mut attachments = Vec::with_capacity(self.attachments.len());
        for pending in self.attachments {
            let attachment = match pending {
                Pending::Ready(a) => a,
                Pending::File(path) => Attachment::from_path(path)?,
            };
            let mime_type = attachment.check()?;
            attachments.push((attachment, mime_type));
        }

        let mut inline: Vec<(String, Attachment, String)> = Vec::with_capacity(self.inline.len());
        for (cid, part) in self.inline {
            only(&cid, is_content_id)
                .and_then(|()| at_most(&cid, MAX_CONTENT_ID))
                .map_err(|error| Error::ContentId {
                    cid: cid.clone(),
                    error,
                })?;
            if inline.iter().any(|(c, _, _)| *c == cid) {
                return Err(Error::DuplicateContentId { cid });
            }
            if self.html.is_none() {
                return Err(Error::InlineWithoutHtml { cid });
            }
            let mime_type = part.check()?;
            inline.push((cid, part, mime_type));
        }

        let date = (!date_given).then(|| unix_seconds(self.date.unwrap_or_else(SystemTime::now)));
        let message_id = (!id_given).then(|| {
            format!(
                "{}@{}",
                mail_builder::mime::make_boundary("."),
                from.mailbox().domain()
            )
        });
        Ok(Email {
            from,
            to,
            cc,
            bcc,
            reply_to,
            subject: self.subject,
            text: self.text,
            html: self.html,
            attachments,
            inline,
            headers,
            date,
            message_id,
        })
    }
}

fn resolve(field: Field, input: AddressInput) -> Result<Address, Error> {
    input.resolve().map_err(|(input, error)| Error::Address {
        field,
        input,
        error,
    })
}

fn resolve_all(field: Field, inputs: Vec<AddressInput>) -> Result<Vec<Address>, Error> {
    inputs.into_iter().map(|a| resolve(field, a)).collect()
}

/// Seconds since the Unix epoch (negative before it), saturating.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// A checked message: its envelope ([`Email::envelope`]) and its RFC 5322 bytes
/// ([`Email::to_bytes`], [`Email::write_to`]), which go together to an adapter's `send_bytes`.
///
/// Its Date and Message-ID were fixed by [`EmailBuilder::build`], so sending the same `Email`
/// again (a retry) sends the same message; only the MIME boundaries differ between writes.
#[derive(Clone, Debug)]
pub struct Email {
    from: Address,
    to: Vec<Address>,
    cc: Vec<Address>,
    bcc: Vec<Address>,
    reply_to: Vec<Address>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<(Attachment, String)>,
    inline: Vec<(String, Attachment, String)>,
    headers: Vec<Extra>,
    /// Seconds since the epoch; `None` when an extra header gave the Date.
    date: Option<i64>,
    /// Without angle brackets; `None` when an extra header gave the Message-ID.
    message_id: Option<String>,
}

impl Email {
    /// A builder.
    pub fn builder() -> EmailBuilder {
        EmailBuilder::new()
    }

    /// The SMTP envelope: the From mailbox as MAIL FROM, and To, Cc and Bcc, in that order and
    /// each mailbox once, as the RCPTs. Change it as you need (a bounce address other than
    /// From, DSN parameters) before sending.
    pub fn envelope(&self) -> Envelope {
        let mut recipients: Vec<Mailbox> = Vec::new();
        for a in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !recipients.contains(a.mailbox()) {
                recipients.push(a.mailbox().clone());
            }
        }
        Envelope::new(Some(self.from.mailbox().clone()), recipients)
    }

    /// The message, header and body, CRLF line ends, as it goes after DATA (or in BDAT).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.message().serialize(&mut out);
        out
    }

    /// [`Email::to_bytes`] with a DKIM signature before it, signed now (feature `dkim`; see
    /// [`crate::dkim`]). A message always has a From field, so this fails only as
    /// [`DkimSigner::sign`](crate::dkim::DkimSigner::sign) can for a clock set before 1970.
    #[cfg(feature = "dkim")]
    pub fn to_signed_bytes(
        &self,
        signer: &crate::dkim::DkimSigner,
    ) -> Result<Vec<u8>, crate::dkim::DkimError> {
        signer.sign_message(&self.to_bytes(), std::time::SystemTime::now())
    }

    /// Writes [`Email::to_bytes`] to `output`.
    pub fn write_to(&self, output: impl Write) -> io::Result<()> {
        self.message().write_to(output)
    }

    /// The author.
    pub fn from_address(&self) -> &Address {
        &self.from
    }

    /// The generated Message-ID, without its angle brackets (`None` when an extra header gave
    /// it).
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The message as mail-builder's builder, borrowing every part.
    fn message(&self) -> MessageBuilder<'_> {
        let mut m = MessageBuilder::new().from(mb_address(&self.from));
        for (name, list) in [
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Reply-To", &self.reply_to),
        ] {
            if !list.is_empty() {
                m = m.header(
                    name,
                    MbAddress::new_list(list.iter().map(mb_address).collect()),
                );
            }
        }
        if let Some(subject) = &self.subject {
            m = m.subject(Text::new(subject.as_str()));
        }
        if let Some(date) = self.date {
            m = m.date(Date::new(date));
        }
        if let Some(id) = &self.message_id {
            m = m.message_id(MbMessageId::new(id.as_str()));
        }
        for h in &self.headers {
            m = if h.raw {
                m.header(h.name.as_str(), Raw::new(h.value.as_str()))
            } else {
                m.header(h.name.as_str(), Text::new(h.value.as_str()))
            };
        }
        m.body(self.mime())
    }

    /// The body's MIME tree: `multipart/mixed` [ body, attachments… ] when there are
    /// attachments; the body is the text, the HTML, or `multipart/alternative` [ text, HTML ];
    /// an HTML with inline parts is `multipart/related` [ HTML, inline parts… ].
    fn mime(&self) -> MimePart<'_> {
        let text = self.text.as_deref().map(|t| text_part("text/plain", t));
        let html = self.html.as_deref().map(|h| {
            let html = text_part("text/html", h);
            if self.inline.is_empty() {
                return html;
            }
            let mut parts = vec![html];
            for (cid, part, mime_type) in &self.inline {
                parts.push(
                    leaf(ContentType::new(mime_type.as_str()), &part.data)
                        .header(
                            "Content-Disposition",
                            ContentType::new("inline").attribute("filename", part.filename()),
                        )
                        .cid(cid.as_str()),
                );
            }
            MimePart::new(
                ContentType::new("multipart/related").attribute("type", "text/html"),
                parts,
            )
        });
        let body = match (text, html) {
            (Some(text), Some(html)) => {
                Some(MimePart::new("multipart/alternative", vec![text, html]))
            }
            (text, html) => text.or(html),
        };
        if self.attachments.is_empty() {
            return body.unwrap_or_else(|| text_part("text/plain", ""));
        }
        let mut parts: Vec<MimePart<'_>> = body.into_iter().collect();
        for (attachment, mime_type) in &self.attachments {
            parts.push(
                leaf(ContentType::new(mime_type.as_str()), &attachment.data)
                    .attachment(attachment.filename()),
            );
        }
        MimePart::new("multipart/mixed", parts)
    }
}

fn mb_address(a: &Address) -> MbAddress<'_> {
    MbAddress::new_address(a.name(), a.mailbox().as_str())
}

/// A text body: mail-builder picks 7bit (line ends made CRLF), quoted-printable or base64.
fn text_part<'a>(mime_type: &'a str, text: &'a str) -> MimePart<'a> {
    if needs_base64(text.as_bytes()) {
        return base64_part(
            ContentType::new(mime_type).attribute("charset", "utf-8"),
            text.as_bytes(),
        );
    }
    MimePart::new(mime_type, text)
}

/// A part of bytes: mail-builder base64-encodes it, or for `text/*` picks the cheapest
/// encoding that keeps the bytes.
fn leaf<'a>(content_type: ContentType<'a>, data: &'a [u8]) -> MimePart<'a> {
    if needs_base64(data) {
        return base64_part(content_type, data);
    }
    MimePart::new(content_type, data)
}

/// Whether 7bit could change these bytes though mail-builder would choose it for a text
/// part: it looks for 8-bit octets, long lines and bare LFs, but not for NUL or a CR alone,
/// which SMTP would then not carry as they are (RFC 2045 2.7: neither is 7bit data).
fn needs_base64(data: &[u8]) -> bool {
    data.iter()
        .enumerate()
        .any(|(i, &b)| b == 0 || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
}

/// A part whose body is base64 already (76-character lines, RFC 2045 6.8), which mail-builder
/// then writes as it is.
fn base64_part<'a>(content_type: ContentType<'a>, data: &[u8]) -> MimePart<'a> {
    let mut encoded = String::with_capacity(data.len().div_ceil(57) * 78);
    for (i, line) in data.chunks(57).enumerate() {
        if i > 0 {
            encoded.push_str("\r\n");
        }
        base64::engine::general_purpose::STANDARD.encode_string(line, &mut encoded);
    }
    MimePart::new(content_type, BodyPart::Binary(encoded.into_bytes().into()))
        .transfer_encoding("base64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_saturate() {
        assert_eq!(unix_seconds(UNIX_EPOCH), 0);
        assert_eq!(
            unix_seconds(UNIX_EPOCH - std::time::Duration::from_secs(86_400)),
            -86_400
        );
    }

    #[test]
    fn base64_only_for_nul_or_lone_cr() {
        assert!(!needs_base64(b"a\r\nb\nc\xff"));
        assert!(needs_base64(b"a\rb"));
        assert!(needs_base64(b"a\r"));
        assert!(needs_base64(b"a\0b"));
    }
}
