//! EHLO/LHLO capabilities, typed (RFC 5321 4.1.1.1 and the extension RFCs).
//!
//! [`Capabilities::from_ehlo_reply`] never fails: a server's EHLO reply is advice, and a line we
//! cannot read must not cost the session. Decisions where the RFCs leave room:
//!
//! * The first line is the greeting; its first word (split on space or tab, lossy UTF-8) is
//!   `server_domain`, and the rest is ignored.
//! * Every later line is `keyword *(SP param)` (RFC 5321 4.1.1.1). Words are split on runs of
//!   spaces or tabs (servers pad with extra spaces). The keyword is matched case-insensitively
//!   and must be `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`; a line whose keyword is not (an empty
//!   line such as smtp-sink's closing `250 `, free text, non-ASCII bytes) is ignored.
//! * The pre-RFC 4954 form `AUTH=LOGIN PLAIN` (sent by old Outlook-era servers next to, or
//!   instead of, `AUTH LOGIN PLAIN`) counts as AUTH with the text after `=` as the first
//!   mechanism. Mechanisms from every AUTH line are merged without duplicates, in the order
//!   first advertised. `has("AUTH")` is true when at least one mechanism was advertised.
//! * `SIZE` alone, `SIZE 0` and `SIZE` with a parameter that is not a number that fits in `u64`
//!   all mean [`SizeLimit::NoLimit`] (RFC 1870 4: 0 means no fixed maximum; a garbled limit must
//!   not make us refuse mail the server would take).
//! * `DELIVERBY` with a parameter that is not a number gives `Some(None)`.
//! * A modelled keyword advertised twice: the later line wins for SIZE, DELIVERBY and
//!   MT-PRIORITY. Parameters of flag keywords (`8BITMIME foo`) are ignored.
//! * Unmodelled keywords go to `unknown`, upper-cased, parameters kept as sent (lossy UTF-8); a
//!   keyword sent twice is kept twice.
//! * AUTH mechanism names are mapped by a private function of this module with the same
//!   case-insensitive mapping as [`Mechanism::parse`] (unknown names become `Other`, upper-cased),
//!   so that this module and its tests do not depend on the SASL module.

use crate::reply::Reply;
use crate::sasl::Mechanism;
use alloc::string::String;
use alloc::vec::Vec;

/// What the SIZE keyword said (RFC 1870 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeLimit {
    /// `SIZE` alone or `SIZE 0`: the server takes SIZE parameters but announces no fixed limit.
    NoLimit,
    /// `SIZE n`: the largest message the server accepts, in octets.
    Max(u64),
}

/// A service extension a message may need, named in
/// [`crate::outcome::Unsendable::ExtensionMissing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keyword {
    /// SMTPUTF8 (RFC 6531): a non-ASCII address, or the parameter asked for.
    SmtpUtf8,
    /// 8BITMIME (RFC 6152): `BODY=8BITMIME` declared.
    EightBitMime,
    /// BINARYMIME (RFC 3030 3), which also needs CHUNKING.
    BinaryMime,
    /// DSN (RFC 3461): RET, ENVID, NOTIFY or ORCPT.
    Dsn,
    /// REQUIRETLS (RFC 8689).
    RequireTls,
    /// DELIVERBY (RFC 2852).
    DeliverBy,
    /// MT-PRIORITY (RFC 6710).
    MtPriority,
}

impl Keyword {
    /// The EHLO keyword.
    pub fn name(self) -> &'static str {
        match self {
            Keyword::SmtpUtf8 => "SMTPUTF8",
            Keyword::EightBitMime => "8BITMIME",
            Keyword::BinaryMime => "BINARYMIME",
            Keyword::Dsn => "DSN",
            Keyword::RequireTls => "REQUIRETLS",
            Keyword::DeliverBy => "DELIVERBY",
            Keyword::MtPriority => "MT-PRIORITY",
        }
    }
}

/// An extension keyword that this crate does not model, kept with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The keyword, upper-cased.
    pub keyword: String,
    /// The parameters, as sent (split on spaces).
    pub params: Vec<String>,
}

/// The capability set a server advertised in its EHLO (or LHLO) reply. Keywords are matched
/// case-insensitively. After STARTTLS the set is discarded and rebuilt from the new EHLO
/// (RFC 3207 4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The domain (first word of the first line) the server named itself.
    pub server_domain: String,
    /// SIZE (RFC 1870).
    pub size: Option<SizeLimit>,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// BINARYMIME (RFC 3030).
    pub binary_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// REQUIRETLS (RFC 8689).
    pub requiretls: bool,
    /// DELIVERBY (RFC 2852), with the minimum by-time in seconds if given.
    pub deliver_by: Option<Option<u64>>,
    /// MT-PRIORITY (RFC 6710), with the priority profile name if given.
    pub mt_priority: Option<Option<String>>,
    /// AUTH mechanisms (RFC 4954), from `AUTH a b c` and the old `AUTH=a b c` form, deduplicated,
    /// in the order advertised.
    pub auth: Vec<Mechanism>,
    /// Every other keyword with its parameters.
    pub unknown: Vec<Extension>,
}

impl Capabilities {
    /// Parses an EHLO or LHLO reply (a 250 reply; the code is not checked here). The first line
    /// is the greeting (`domain [text]`); each later line is `keyword [params]`. Never fails:
    /// lines that are not valid keywords (RFC 5321 4.1.1.1: `ALPHA / DIGIT` then `ALPHA / DIGIT /
    /// "-"`) are ignored.
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut lines = reply.lines();
        if let Some(first) = lines.next() {
            if let Some(domain) = words(first).next() {
                caps.server_domain = lossy(domain);
            }
        }
        for line in lines {
            caps.add_line(line);
        }
        caps
    }

    /// Whether `keyword` (any case) was advertised, modelled or not.
    pub fn has(&self, keyword: &str) -> bool {
        let modelled = [
            ("SIZE", self.size.is_some()),
            ("8BITMIME", self.eight_bit_mime),
            ("BINARYMIME", self.binary_mime),
            ("SMTPUTF8", self.smtputf8),
            ("PIPELINING", self.pipelining),
            ("CHUNKING", self.chunking),
            ("DSN", self.dsn),
            ("ENHANCEDSTATUSCODES", self.enhanced_status_codes),
            ("STARTTLS", self.starttls),
            ("REQUIRETLS", self.requiretls),
            ("DELIVERBY", self.deliver_by.is_some()),
            ("MT-PRIORITY", self.mt_priority.is_some()),
            ("AUTH", !self.auth.is_empty()),
        ];
        match modelled
            .iter()
            .find(|(name, _)| keyword.eq_ignore_ascii_case(name))
        {
            Some(&(_, advertised)) => advertised,
            None => self
                .unknown
                .iter()
                .any(|ext| ext.keyword.eq_ignore_ascii_case(keyword)),
        }
    }

    /// Reads one `keyword *(SP param)` line (RFC 5321 4.1.1.1).
    fn add_line(&mut self, line: &[u8]) {
        let mut words = words(line);
        let Some(mut keyword) = words.next() else {
            return;
        };
        // The old `AUTH=LOGIN PLAIN` form: the first mechanism is glued to the keyword.
        let mut glued: Option<&[u8]> = None;
        if let Some(eq) = keyword.iter().position(|&b| b == b'=') {
            if keyword[..eq].eq_ignore_ascii_case(b"AUTH") {
                glued = Some(&keyword[eq + 1..]);
                keyword = &keyword[..eq];
            }
        }
        if !is_keyword(keyword) {
            return;
        }
        // Keywords are case-insensitive (RFC 5321 2.4); `is_keyword` made this one ASCII.
        let upper = keyword.to_ascii_uppercase();
        match &upper[..] {
            b"SIZE" => {
                self.size = Some(match words.next().and_then(parse_u64) {
                    Some(0) | None => SizeLimit::NoLimit,
                    Some(n) => SizeLimit::Max(n),
                });
            }
            b"8BITMIME" => self.eight_bit_mime = true,
            b"BINARYMIME" => self.binary_mime = true,
            b"SMTPUTF8" => self.smtputf8 = true,
            b"PIPELINING" => self.pipelining = true,
            b"CHUNKING" => self.chunking = true,
            b"DSN" => self.dsn = true,
            b"ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            b"STARTTLS" => self.starttls = true,
            b"REQUIRETLS" => self.requiretls = true,
            b"DELIVERBY" => self.deliver_by = Some(words.next().and_then(parse_u64)),
            b"MT-PRIORITY" => {
                self.mt_priority = Some(words.next().map(lossy));
            }
            b"AUTH" => {
                for name in glued.into_iter().chain(words) {
                    if name.is_empty() {
                        continue;
                    }
                    let mechanism = mechanism(&lossy(name));
                    if !self.auth.contains(&mechanism) {
                        self.auth.push(mechanism);
                    }
                }
            }
            _ => {
                self.unknown.push(Extension {
                    keyword: lossy(&upper),
                    params: words.map(lossy).collect(),
                });
            }
        }
    }

    /// The SIZE limit in octets, if the server announced one.
    pub fn max_size(&self) -> Option<u64> {
        match self.size {
            Some(SizeLimit::Max(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether the server offers this AUTH mechanism.
    pub fn offers_auth(&self, mechanism: &Mechanism) -> bool {
        self.auth.contains(mechanism)
    }
}

/// Words of a line: runs of bytes between spaces or tabs.
fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    line.split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty())
}

/// Bytes as text, invalid UTF-8 replaced.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// RFC 5321 4.1.1.1: `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
fn is_keyword(word: &[u8]) -> bool {
    match word.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        None => false,
    }
}

/// A decimal number (digits only) that fits in `u64`.
fn parse_u64(word: &[u8]) -> Option<u64> {
    if word.is_empty() {
        return None;
    }
    word.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Maps an advertised SASL mechanism name (RFC 4422 3.1), case-insensitively. Same mapping as
/// [`Mechanism::parse`], kept here so that this module does not depend on the SASL module's
/// progress; either may be used.
fn mechanism(name: &str) -> Mechanism {
    let is = |known: &str| name.eq_ignore_ascii_case(known);
    match () {
        _ if is("PLAIN") => Mechanism::Plain,
        _ if is("LOGIN") => Mechanism::Login,
        _ if is("CRAM-MD5") => Mechanism::CramMd5,
        _ if is("XOAUTH2") => Mechanism::XOAuth2,
        _ if is("OAUTHBEARER") => Mechanism::OAuthBearer,
        _ if is("SCRAM-SHA-1") => Mechanism::ScramSha1,
        _ if is("SCRAM-SHA-256") => Mechanism::ScramSha256,
        _ => {
            let mut upper = String::from(name);
            upper.make_ascii_uppercase();
            Mechanism::Other(upper)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4422 3.1 / RFC 4954 3: mechanism names are case-insensitive; unknown ones are kept
    /// upper-cased.
    #[test]
    fn mechanism_names_map_case_insensitively() {
        let cases = [
            ("PLAIN", Mechanism::Plain),
            ("login", Mechanism::Login),
            ("Cram-Md5", Mechanism::CramMd5),
            ("xoauth2", Mechanism::XOAuth2),
            ("OAUTHBEARER", Mechanism::OAuthBearer),
            ("scram-sha-1", Mechanism::ScramSha1),
            ("SCRAM-SHA-256", Mechanism::ScramSha256),
            (
                "scram-sha-256-plus",
                Mechanism::Other("SCRAM-SHA-256-PLUS".into()),
            ),
            ("gssapi", Mechanism::Other("GSSAPI".into())),
        ];
        for (name, want) in cases {
            assert_eq!(mechanism(name), want, "{name}");
        }
    }

    /// RFC 5321 4.1.1.1: `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
    #[test]
    fn keyword_grammar() {
        for ok in [
            &b"SIZE"[..],
            b"8BITMIME",
            b"X-EXPS",
            b"MT-PRIORITY",
            b"a",
            b"X-",
        ] {
            assert!(is_keyword(ok), "{ok:?}");
        }
        for bad in [
            &b""[..],
            b"-X",
            b"PIPE_CONNECT",
            b"AUTH=LOGIN",
            b"S\xffZE",
            b"\xc3\x84",
        ] {
            assert!(!is_keyword(bad), "{bad:?}");
        }
    }

    /// RFC 1870 4: the SIZE parameter is a decimal number; anything else (or an overflow) is not.
    #[test]
    fn decimal_numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"35882577"), Some(35_882_577));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"1k"), None);
    }
}
