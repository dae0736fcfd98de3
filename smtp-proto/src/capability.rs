//! EHLO/LHLO capabilities, typed (RFC 5321 4.1.1.1 and the extension RFCs).
//!
//! SKELETON: the API below is fixed; the bodies are being written.

use crate::reply::Reply;
use crate::sasl::Mechanism;
use alloc::string::String;
use alloc::vec::Vec;

/// What the SIZE keyword said (RFC 1870 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeLimit {
    /// `SIZE` alone or `SIZE 0`: the server takes SIZE parameters but announces no fixed limit.
    NoLimit,
    /// `SIZE n`: the largest message the server accepts, in octets.
    Max(u64),
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
        let _ = reply;
        todo!()
    }

    /// Whether `keyword` (any case) was advertised, modelled or not.
    pub fn has(&self, keyword: &str) -> bool {
        let _ = keyword;
        todo!()
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
