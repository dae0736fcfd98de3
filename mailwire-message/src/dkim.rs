//! DKIM signatures (RFC 6376), RSA-SHA256 or Ed25519-SHA256 (RFC 8463), for any message: one
//! built here ([`Email::to_signed_bytes`](crate::Email::to_signed_bytes)) or the raw bytes of
//! one written elsewhere ([`DkimSigner::sign`], or [`DkimSigner::start`] to stream it).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mailwire_message::dkim::{DkimKey, DkimSigner};
//! use std::time::SystemTime;
//!
//! // RFC 8032's first test seed; yours is a key file (`DkimKey::parse`).
//! let key = DkimKey::parse(b"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")?;
//! println!("publish at brisbane._domainkey.example.com: {}", key.dns_record());
//! let signer = DkimSigner::new("example.com", "brisbane", key)?;
//! let message = b"From: joe@example.com\r\nTo: suzie@example.net\r\nSubject: hi\r\n\r\nHi.\r\n";
//! let signed = signer.sign_message(message, SystemTime::now())?;
//! assert!(signed.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;"));
//! # Ok(()) }
//! ```
//!
//! # What is signed
//!
//! The message as the session sends it: line ends normalised to CRLF first (a bare LF or CR
//! becomes CRLF, as [`BdatEncoder`] and the DATA encoder do), so a file
//! with Unix line ends is signed as it arrives. Dot-stuffing is not part of it: the receiver
//! removes it before it verifies.
//!
//! - Canonicalisation `relaxed/relaxed` unless [`DkimSigner::canonicalization`] says
//!   otherwise; the body is hashed whole (no `l=`, which would let anyone append to it).
//! - The header fields of [`DEFAULT_HEADERS`] that the message has, each instance, chosen as
//!   RFC 6376 5.4.2 says; [`DkimSigner::headers`] sets another list (From is required).
//! - Oversigning: each name of [`OVERSIGNED`] in the list once more than the message has it,
//!   so that a field added in transit (a second From, a Cc) breaks the signature
//!   (RFC 6376 8.15). [`DkimSigner::oversign`] turns it off.
//! - `t=` is the signing time given; `x=` follows it by [`DkimSigner::expire_after`] if set.
//!
//! The signature is one header field, returned with its CRLF, to go before the message (any
//! field added above it later, a `Received`, leaves it valid). Its lines are folded under 78
//! octets.

mod canonical;
mod error;
mod fields;
mod key;

pub use canonical::Canonicalization;
pub use error::{DkimError, KeyError};
pub use key::{DkimAlgorithm, DkimKey};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use canonical::{header_field, BodyCanonicalizer};
use mailwire::BdatEncoder;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The header fields signed by default when the message has them: RFC 6376 5.4.1's list,
/// with Message-ID, Sender, the MIME fields and List-Unsubscribe-Post (which RFC 8058 3.1
/// requires signed) added.
pub const DEFAULT_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-id",
    "content-description",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-message-id",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
];

/// The fields signed once more than the message has them (when they are in the signer's
/// list), so that none can be added in transit without breaking the signature.
pub const OVERSIGNED: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// The longest header section [`DkimSigning`] holds while it waits for the body.
pub const HEADER_SECTION_LIMIT: usize = 1 << 20;

/// RFC 6376 3.5 `d=` and 3.1 `s=`: one or more labels of letters, digits and hyphens (an
/// internationalised name in its `xn--` form).
fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// RFC 6376 2.11 dkim-quoted-printable, for `i=`: `;`, `=`, white space, controls and octets
/// above 126 as `=XX`.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b';' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

/// Signs messages for one domain and selector with one key. Cheap to clone; share one for
/// all the messages of a run.
#[derive(Clone, Debug)]
pub struct DkimSigner {
    key: DkimKey,
    domain: String,
    selector: String,
    identity: Option<String>,
    header_canon: Canonicalization,
    body_canon: Canonicalization,
    headers: Vec<String>,
    oversign: bool,
    expire_after: Option<Duration>,
}

impl DkimSigner {
    /// A signer for `d=domain`, `s=selector` (the key's record is at
    /// `selector._domainkey.domain`). The domain is lowercased.
    pub fn new(domain: &str, selector: &str, key: DkimKey) -> Result<DkimSigner, DkimError> {
        if !is_domain(domain) {
            return Err(DkimError::InvalidDomain(domain.to_string()));
        }
        if !is_domain(selector) {
            return Err(DkimError::InvalidSelector(selector.to_string()));
        }
        Ok(DkimSigner {
            key,
            domain: domain.to_ascii_lowercase(),
            selector: selector.to_string(),
            identity: None,
            header_canon: Canonicalization::Relaxed,
            body_canon: Canonicalization::Relaxed,
            headers: DEFAULT_HEADERS.iter().map(|s| s.to_string()).collect(),
            oversign: true,
            expire_after: None,
        })
    }

    /// The canonicalisations of the header fields and of the body (`c=header/body`).
    pub fn canonicalization(mut self, header: Canonicalization, body: Canonicalization) -> Self {
        self.header_canon = header;
        self.body_canon = body;
        self
    }

    /// The header fields to sign, instead of [`DEFAULT_HEADERS`]: each instance the message
    /// has of each, oversigned as [`DkimSigner::oversign`] says. Names are matched without
    /// regard to case; From must be among them.
    pub fn headers<I, S>(mut self, names: I) -> Result<Self, DkimError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<String> = Vec::new();
        for name in names {
            let name = name.as_ref();
            if !fields::is_field_name(name.as_bytes()) {
                return Err(DkimError::InvalidHeaderName(name.to_string()));
            }
            let name = name.to_ascii_lowercase();
            if !list.contains(&name) {
                list.push(name);
            }
        }
        if !list.iter().any(|n| n == "from") {
            return Err(DkimError::FromNotSigned);
        }
        self.headers = list;
        Ok(self)
    }

    /// Whether the names of [`OVERSIGNED`] are signed once more than the message has them
    /// (on by default).
    pub fn oversign(mut self, on: bool) -> Self {
        self.oversign = on;
        self
    }

    /// Adds `x=`: the signature expires this long after its `t=`.
    pub fn expire_after(mut self, after: Duration) -> Self {
        self.expire_after = Some(after);
        self
    }

    /// Adds `i=`, the agent or user the signature is for: `[local-part]@domain`, the domain
    /// being the signing domain or a subdomain of it (RFC 6376 3.5).
    pub fn identity(mut self, identity: &str) -> Result<Self, DkimError> {
        let bad = || DkimError::InvalidIdentity(identity.to_string());
        let (local, domain) = identity.rsplit_once('@').ok_or_else(bad)?;
        let domain = domain.to_ascii_lowercase();
        let within = domain == self.domain || domain.ends_with(&format!(".{}", self.domain));
        if !is_domain(&domain) || !within || local.contains(['\r', '\n']) {
            return Err(bad());
        }
        self.identity = Some(format!("{}@{domain}", quoted_printable(local)));
        Ok(self)
    }

    /// The key.
    pub fn key(&self) -> &DkimKey {
        &self.key
    }

    /// The signing domain (`d=`), lowercased.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Starts signing a message given in pieces, for content too large to hold: feed it with
    /// [`DkimSigning::update`], then [`DkimSigning::finish`] gives the signature field. Only
    /// the header section is held (up to [`HEADER_SECTION_LIMIT`]); the body is hashed as it
    /// comes.
    pub fn start(&self) -> DkimSigning<'_> {
        DkimSigning {
            signer: self,
            normaliser: BdatEncoder::new(false),
            wire: Vec::new(),
            canonical: Vec::new(),
            header: Vec::new(),
            in_body: false,
            body: BodyCanonicalizer::new(self.body_canon),
            hash: ring::digest::Context::new(&ring::digest::SHA256),
            failed: None,
        }
    }

    /// The `DKIM-Signature` field for `message` (any line ends), signed at `time`, with its
    /// CRLF: put it before the message.
    pub fn sign(&self, message: &[u8], time: SystemTime) -> Result<String, DkimError> {
        let mut signing = self.start();
        signing.update(message)?;
        signing.finish(time)
    }

    /// `message` with its `DKIM-Signature` field before it.
    pub fn sign_message(&self, message: &[u8], time: SystemTime) -> Result<Vec<u8>, DkimError> {
        let field = self.sign(message, time)?;
        let mut out = Vec::with_capacity(field.len() + message.len());
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(message);
        Ok(out)
    }

    /// The `h=` names for a message with these fields: each listed name as many times as the
    /// message has it, plus one if it is oversigned.
    fn signed_names(&self, fields: &[fields::Field<'_>]) -> Vec<String> {
        let mut names = Vec::new();
        for name in &self.headers {
            let count = fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
                .count();
            let extra = usize::from(self.oversign && OVERSIGNED.contains(&name.as_str()));
            names.extend(std::iter::repeat_n(name.clone(), count + extra));
        }
        names
    }
}

/// A message being signed in pieces: see [`DkimSigner::start`]. The first error is kept and
/// returned again by every later call.
pub struct DkimSigning<'a> {
    signer: &'a DkimSigner,
    normaliser: BdatEncoder,
    /// The piece being fed, its line ends normalised.
    wire: Vec<u8>,
    /// The canonical form of the body bytes being hashed.
    canonical: Vec<u8>,
    /// The header section, until the empty line after it arrives.
    header: Vec<u8>,
    in_body: bool,
    body: BodyCanonicalizer,
    hash: ring::digest::Context,
    failed: Option<DkimError>,
}

impl core::fmt::Debug for DkimSigning<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DkimSigning")
            .field("signer", &self.signer)
            .field("in_body", &self.in_body)
            .field("header_len", &self.header.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

fn hash_body(
    body: &mut BodyCanonicalizer,
    canonical: &mut Vec<u8>,
    hash: &mut ring::digest::Context,
    bytes: &[u8],
) {
    canonical.clear();
    body.update(bytes, canonical);
    hash.update(canonical);
}

impl DkimSigning<'_> {
    /// Feeds the next piece of the message (header section first, any line ends).
    pub fn update(&mut self, piece: &[u8]) -> Result<(), DkimError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.wire.clear();
        self.normaliser.encode(piece, &mut self.wire);
        self.take_wire()
    }

    fn take_wire(&mut self) -> Result<(), DkimError> {
        if self.in_body {
            hash_body(
                &mut self.body,
                &mut self.canonical,
                &mut self.hash,
                &self.wire,
            );
            return Ok(());
        }
        // The empty line that ends the header section may straddle two pieces.
        let from = self.header.len().saturating_sub(3);
        self.header.extend_from_slice(&self.wire);
        let end = if self.header.starts_with(b"\r\n") {
            // No header fields at all: the message starts with the empty line.
            Some(0)
        } else {
            self.header[from..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| from + i + 2)
        };
        match end {
            Some(end) => {
                self.in_body = true;
                hash_body(
                    &mut self.body,
                    &mut self.canonical,
                    &mut self.hash,
                    &self.header[end + 2..],
                );
                self.header.truncate(end);
                Ok(())
            }
            None if self.header.len() > HEADER_SECTION_LIMIT => {
                let e = DkimError::HeaderSectionTooLong {
                    limit: HEADER_SECTION_LIMIT,
                };
                self.failed = Some(e.clone());
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Ends the message and returns its `DKIM-Signature` field, signed at `time`, with its
    /// CRLF.
    pub fn finish(mut self, time: SystemTime) -> Result<String, DkimError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.wire.clear();
        self.normaliser.finish(&mut self.wire);
        self.take_wire()?;
        // A message without an empty line is all header section (its finish gave it a CRLF).
        self.canonical.clear();
        self.body.finish(&mut self.canonical);
        self.hash.update(&self.canonical);
        let body_hash = STANDARD.encode(self.hash.finish());

        let signer = self.signer;
        let fields = fields::split(&self.header)?;
        if !fields.iter().any(|f| f.name.eq_ignore_ascii_case(b"from")) {
            return Err(DkimError::NoFrom);
        }
        let names = signer.signed_names(&fields);
        let t = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| DkimError::TimeBeforeEpoch)?
            .as_secs();

        let mut field = Folder::new("DKIM-Signature:");
        field.word("v=1;");
        field.word(&format!("a={};", signer.key.algorithm().name()));
        field.word(&format!(
            "c={}/{};",
            signer.header_canon.name(),
            signer.body_canon.name()
        ));
        field.word(&format!("d={};", signer.domain));
        field.word(&format!("s={};", signer.selector));
        if let Some(identity) = &signer.identity {
            field.word(&format!("i={identity};"));
        }
        field.word(&format!("t={t};"));
        if let Some(after) = signer.expire_after {
            field.word(&format!("x={};", t.saturating_add(after.as_secs())));
        }
        for (i, name) in names.iter().enumerate() {
            let last = if i + 1 == names.len() { ";" } else { "" };
            if i == 0 {
                field.word(&format!("h={name}{last}"));
            } else {
                field.piece(&format!(":{name}{last}"));
            }
        }
        field.word(&format!("bh={body_hash};"));
        field.word("b=");

        // RFC 6376 3.7: the selected fields, each canonicalised with its CRLF, then this
        // field with an empty b= and no CRLF.
        let mut data = Vec::new();
        for f in fields::select(&fields, &names) {
            header_field(signer.header_canon, f.raw, &mut data);
            data.extend_from_slice(b"\r\n");
        }
        header_field(signer.header_canon, field.text.as_bytes(), &mut data);
        let signature = signer.key.sign(&data).ok_or(DkimError::SigningFailed)?;
        let signature = STANDARD.encode(signature);
        for chunk in signature.as_bytes().chunks(64) {
            // Base64 is ASCII, so every chunk is text.
            field.piece(core::str::from_utf8(chunk).unwrap_or_default());
        }
        field.text.push_str("\r\n");
        Ok(field.text)
    }
}

/// Writes a header field folded to lines of at most 78 octets (RFC 5322 2.1.1): a word goes
/// after a space, or on a continuation line if it does not fit; a piece goes on without a
/// space (FWS is allowed around the colons of `h=` and inside `b=`).
struct Folder {
    text: String,
    column: usize,
}

impl Folder {
    const WIDTH: usize = 78;

    fn new(start: &str) -> Folder {
        Folder {
            text: start.to_string(),
            column: start.len(),
        }
    }

    fn word(&mut self, word: &str) {
        if self.column + 1 + word.len() > Folder::WIDTH {
            self.fold();
        } else {
            self.text.push(' ');
            self.column += 1;
        }
        self.text.push_str(word);
        self.column += word.len();
    }

    fn piece(&mut self, piece: &str) {
        if self.column + piece.len() > Folder::WIDTH {
            self.fold();
        }
        self.text.push_str(piece);
        self.column += piece.len();
    }

    fn fold(&mut self) {
        self.text.push_str("\r\n\t");
        self.column = 1;
    }
}

#[cfg(test)]
mod tests;
