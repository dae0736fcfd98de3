//! Server replies: [`Code`], [`EnhancedCode`] (RFC 3463) and [`Reply`] (RFC 5321 4.2).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A three-digit reply code (RFC 5321 4.2): first digit 2–5, second digit 0–5, third 0–9.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(u16);

/// The class of a reply, from its first digit (RFC 5321 4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// 2yz: the requested action completed.
    PositiveCompletion,
    /// 3yz: accepted, more input needed (354 after DATA, 334 during AUTH).
    PositiveIntermediate,
    /// 4yz: not done this time; trying again later may work.
    TransientNegative,
    /// 5yz: not done, and repeating the same request will not help.
    PermanentNegative,
}

impl Code {
    /// `220` service ready.
    pub const SERVICE_READY: Code = Code(220);
    /// `221` closing.
    pub const CLOSING: Code = Code(221);
    /// `235` authentication succeeded (RFC 4954).
    pub const AUTH_SUCCEEDED: Code = Code(235);
    /// `250` OK.
    pub const OK: Code = Code(250);
    /// `334` AUTH challenge (RFC 4954).
    pub const AUTH_CHALLENGE: Code = Code(334);
    /// `354` start mail input.
    pub const START_MAIL_INPUT: Code = Code(354);
    /// `421` service not available, closing the channel.
    pub const SERVICE_NOT_AVAILABLE: Code = Code(421);

    /// Validates a code: `Some` only for 200–559 with a second digit 0–5.
    pub const fn new(code: u16) -> Option<Code> {
        let first = code / 100;
        let second = (code / 10) % 10;
        if first >= 2 && first <= 5 && second <= 5 {
            Some(Code(code))
        } else {
            None
        }
    }

    /// The code as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The class from the first digit.
    pub const fn severity(self) -> Severity {
        match self.0 / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// 2yz.
    pub const fn is_positive_completion(self) -> bool {
        self.0 / 100 == 2
    }

    /// 3yz.
    pub const fn is_positive_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// 4yz.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }

    /// 5yz.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({})", self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RFC 3463 enhanced status code `class.subject.detail`, as sent at the start of a reply's
/// text when the server advertises ENHANCEDSTATUSCODES (RFC 2034).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2, 4 or 5 (RFC 3463 3.1).
    pub class: u8,
    /// 0–999.
    pub subject: u16,
    /// 0–999.
    pub detail: u16,
}

impl EnhancedCode {
    /// Parses `class.subject.detail` at the start of `text`, followed by a space or the end.
    /// Returns the code and the number of bytes it took (not counting the space).
    ///
    /// RFC 3463 2: class is 2, 4 or 5; subject and detail are 1–3 digits without leading zeros
    /// (a lone `0` is fine).
    pub fn parse_prefix(text: &[u8]) -> Option<(EnhancedCode, usize)> {
        let class = match text.first() {
            Some(b @ (b'2' | b'4' | b'5')) => b - b'0',
            _ => return None,
        };
        if text.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, n1) = parse_component(&text[2..])?;
        let at = 2 + n1;
        if text.get(at) != Some(&b'.') {
            return None;
        }
        let (detail, n2) = parse_component(&text[at + 1..])?;
        let end = at + 1 + n2;
        match text.get(end) {
            None | Some(b' ') | Some(b'\t') => Some((
                EnhancedCode {
                    class,
                    subject,
                    detail,
                },
                end,
            )),
            _ => None,
        }
    }
}

fn parse_component(text: &[u8]) -> Option<(u16, usize)> {
    // 1–3 digits, no leading zero unless the component is "0" (RFC 3463 2).
    let mut value = 0u16;
    let mut digits = 0;
    while let Some(&b) = text.get(digits) {
        if !b.is_ascii_digit() {
            break;
        }
        if digits == 3 {
            return None;
        }
        value = value * 10 + u16::from(b - b'0');
        digits += 1;
    }
    if digits == 0 || (digits > 1 && text[0] == b'0') {
        return None;
    }
    Some((value, digits))
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A complete server reply: its code and the text of each line (without the code, the separator
/// and the line end). The text is kept as bytes: servers send non-UTF-8 text and we never panic on
/// it ([`Reply::text_lossy`] gives a printable form).
///
/// All lines' text lives in one buffer, so reusing a `Reply` (see
/// [`crate::ReplyParser::parse`]) does not allocate in steady state.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub(crate) code: Option<Code>,
    pub(crate) text: Vec<u8>,
    /// End offset in `text` of each line.
    pub(crate) line_ends: Vec<usize>,
    pub(crate) enhanced: Option<EnhancedCode>,
}

impl Reply {
    /// Builds a reply from a code and its lines (for tests and servers' canned replies).
    /// Lines must not contain CR or LF; this is not checked.
    pub fn new<L: AsRef<[u8]>>(code: Code, lines: &[L]) -> Reply {
        let mut reply = Reply {
            code: Some(code),
            ..Reply::default()
        };
        for line in lines {
            reply.push_line(line.as_ref());
        }
        if lines.is_empty() {
            reply.line_ends.push(0);
        }
        reply.set_enhanced_from_first_line();
        reply
    }

    /// Sets `enhanced` from the start of the first line when its class equals the reply code's
    /// first digit (RFC 3463 2: a 2.x.x code in a 5yz reply is not an enhanced status code of
    /// that reply). The text is left untouched.
    pub(crate) fn set_enhanced_from_first_line(&mut self) {
        let class = (self.code().get() / 100) as u8;
        self.enhanced = EnhancedCode::parse_prefix(self.line(0).unwrap_or(b""))
            .map(|(e, _)| e)
            .filter(|e| e.class == class);
    }

    pub(crate) fn push_line(&mut self, text: &[u8]) {
        self.text.extend_from_slice(text);
        self.line_ends.push(self.text.len());
    }

    /// Replaces every occurrence of `secret` within a line of the text by `<redacted>`. Returns
    /// whether anything was replaced. Allocates only when there is a match.
    pub(crate) fn redact(&mut self, secret: &[u8]) -> bool {
        const MARK: &[u8] = b"<redacted>";
        if secret.is_empty() || memchr::memmem::find(&self.text, secret).is_none() {
            return false;
        }
        let mut text = Vec::with_capacity(self.text.len());
        let mut ends = Vec::with_capacity(self.line_ends.len());
        let mut replaced = false;
        for line in self.lines() {
            let mut rest = line;
            while let Some(at) = memchr::memmem::find(rest, secret) {
                text.extend_from_slice(&rest[..at]);
                text.extend_from_slice(MARK);
                rest = &rest[at + secret.len()..];
                replaced = true;
            }
            text.extend_from_slice(rest);
            ends.push(text.len());
        }
        if replaced {
            self.text = text;
            self.line_ends = ends;
        }
        replaced
    }

    /// Empties the reply, keeping its buffers' capacity.
    pub fn clear(&mut self) {
        self.code = None;
        self.text.clear();
        self.line_ends.clear();
        self.enhanced = None;
    }

    /// The reply code. A default (empty) reply reports the invalid `Code(0)`; parsed replies always
    /// have a valid code.
    pub fn code(&self) -> Code {
        self.code.unwrap_or(Code(0))
    }

    /// The class of the code.
    pub fn severity(&self) -> Severity {
        self.code().severity()
    }

    /// 2yz.
    pub fn is_positive_completion(&self) -> bool {
        self.code().is_positive_completion()
    }

    /// 3yz.
    pub fn is_positive_intermediate(&self) -> bool {
        self.code().is_positive_intermediate()
    }

    /// 4yz.
    pub fn is_transient(&self) -> bool {
        self.code().is_transient()
    }

    /// 5yz.
    pub fn is_permanent(&self) -> bool {
        self.code().is_permanent()
    }

    /// The enhanced status code at the start of the first line, if there is one whose class
    /// matches the reply code's first digit (RFC 3463 2, RFC 2034).
    pub fn enhanced_code(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// Number of lines (at least one in a parsed reply).
    pub fn line_count(&self) -> usize {
        self.line_ends.len()
    }

    /// The text of line `index`, without code, separator and line end.
    pub fn line(&self, index: usize) -> Option<&[u8]> {
        let end = *self.line_ends.get(index)?;
        let start = if index == 0 {
            0
        } else {
            self.line_ends[index - 1]
        };
        Some(&self.text[start..end])
    }

    /// The text of every line, in order.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.line_count()).filter_map(move |i| self.line(i))
    }

    /// The lines joined with a space, invalid UTF-8 replaced, for messages and logs.
    pub fn text_lossy(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&String::from_utf8_lossy(line));
        }
        out
    }

    /// The reply as it would appear on the wire, CRLF line ends, `NNN-` on every line but the last.
    pub fn to_wire(&self, out: &mut Vec<u8>) {
        let code = self.code().get();
        let digits = [
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ];
        let n = self.line_count().max(1);
        for i in 0..n {
            out.extend_from_slice(&digits);
            out.push(if i + 1 < n { b'-' } else { b' ' });
            out.extend_from_slice(self.line(i).unwrap_or(b""));
            out.extend_from_slice(b"\r\n");
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code().get())
            .field("enhanced", &self.enhanced)
            .field("text", &self.text_lossy())
            .finish()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.text_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// RFC 5321 4.2: first digit 2–5, second 0–5, third 0–9.
    #[test]
    fn code_new_accepts_only_rfc_5321_codes() {
        for ok in [200, 211, 220, 250, 354, 421, 450, 559, 500, 334] {
            assert_eq!(Code::new(ok).map(Code::get), Some(ok), "{ok}");
        }
        for bad in [0, 199, 160, 260, 299, 360, 600, 999, 1250, 99] {
            assert_eq!(Code::new(bad), None, "{bad}");
        }
    }

    /// RFC 5321 4.2.1: the first digit gives the class.
    #[test]
    fn code_severity_follows_first_digit() {
        let sev = |n| Code::new(n).map(Code::severity);
        assert_eq!(sev(250), Some(Severity::PositiveCompletion));
        assert_eq!(sev(354), Some(Severity::PositiveIntermediate));
        assert_eq!(sev(421), Some(Severity::TransientNegative));
        assert_eq!(sev(550), Some(Severity::PermanentNegative));
        let reply = Reply::new(Code::SERVICE_NOT_AVAILABLE, &["bye"]);
        assert!(reply.is_transient() && !reply.is_permanent());
        assert!(!reply.is_positive_completion() && !reply.is_positive_intermediate());
    }

    /// RFC 3463 2: `class.subject.detail`, class 2/4/5, 1–3 digits without leading zeros,
    /// followed by a space, tab or the end of the text.
    #[test]
    fn enhanced_code_parse_prefix_known_answers() {
        let e = |class, subject, detail| EnhancedCode {
            class,
            subject,
            detail,
        };
        type Case = (&'static [u8], Option<(EnhancedCode, usize)>);
        let cases: [Case; 16] = [
            (b"2.1.0 Ok", Some((e(2, 1, 0), 5))),
            (b"5.7.1", Some((e(5, 7, 1), 5))),
            (b"4.999.999 x", Some((e(4, 999, 999), 9))),
            (b"5.0.0\tx", Some((e(5, 0, 0), 5))),
            (b"5.10.20 x", Some((e(5, 10, 20), 7))),
            (b"3.1.0 x", None),
            (b"2.01.0 x", None),
            (b"2.1.00 x", None),
            (b"2.1000.0 x", None),
            (b"2.1.0x", None),
            (b"2.1.0.", None),
            (b"2.1. x", None),
            (b"2..0 x", None),
            (b"21.0 x", None),
            (b"", None),
            (b"2", None),
        ];
        for (text, want) in cases {
            assert_eq!(EnhancedCode::parse_prefix(text), want, "{:?}", text);
        }
        assert_eq!(e(5, 7, 1).to_string(), "5.7.1");
    }

    /// RFC 3463 2 / RFC 2034: the enhanced code is taken only when its class matches the reply
    /// code, and only from the first line; the text keeps it.
    #[test]
    fn reply_new_sets_enhanced_code_from_first_line() {
        let r = Reply::new(Code::OK, &["2.1.5 ok", "3.0.0 later"]);
        assert_eq!(
            r.enhanced_code(),
            Some(EnhancedCode {
                class: 2,
                subject: 1,
                detail: 5
            })
        );
        assert_eq!(r.line(0), Some(&b"2.1.5 ok"[..]));
        assert_eq!(Reply::new(Code::OK, &["5.1.5 no"]).enhanced_code(), None);
        assert_eq!(
            Reply::new(Code::OK, &["hi", "2.1.5 no"]).enhanced_code(),
            None
        );
    }

    /// RFC 5321 4.2: `NNN-` on every line but the last, `NNN ` on the last, CRLF line ends.
    #[test]
    fn to_wire_writes_continuation_and_last_lines() {
        let mut wire = vec![];
        Reply::new(Code::OK, &["a", "", "c"]).to_wire(&mut wire);
        assert_eq!(wire, b"250-a\r\n250-\r\n250 c\r\n");
        wire.clear();
        Reply::new::<&str>(Code::START_MAIL_INPUT, &[]).to_wire(&mut wire);
        assert_eq!(wire, b"354 \r\n");
    }

    /// Lines are kept as bytes; `text_lossy` joins them for people, replacing invalid UTF-8.
    #[test]
    fn lines_and_lossy_text() {
        let r = Reply::new(
            Code::new(554).unwrap_or(Code::OK),
            &[&b"no \xff"[..], b"way"],
        );
        assert_eq!(r.line_count(), 2);
        assert_eq!(r.line(1), Some(&b"way"[..]));
        assert_eq!(r.line(2), None);
        assert_eq!(r.text_lossy(), "no \u{fffd} way");
        assert_eq!(alloc::format!("{r}"), "554 no \u{fffd} way");
        let mut r = r;
        r.clear();
        assert_eq!(r.line_count(), 0);
        assert_eq!(r.code().get(), 0);
        assert_eq!(r.text_lossy(), "");
    }
}
