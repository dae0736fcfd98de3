//! Header fields from the command line, and the rewriting of a given message's header section,
//! as swaks has them: `--header 'Name: value'` replaces the field of that name (any case, its
//! folded continuation lines included) or adds it when there is none; `--add-header` adds one.
//! Added fields go at the end of the header section (before the empty line that ends it).
//!
//! [`RewriteHeaders`] does it as the message streams: only the header section is looked at, a
//! line at a time, and no more than [`LINE_PIECE`] bytes of it are held; the body passes through
//! untouched. Line ends are kept as they come (the session normalises them); the fields written
//! here end in CRLF.

use std::io::{self, BufRead, BufReader, Read};

/// At most this much of a header line is held at once: enough for any field name (a line has at
/// most 998 characters, RFC 5322 2.1.1). A longer line goes on in pieces, each kept or dropped
/// with its line.
pub const LINE_PIECE: usize = 1024;

/// Why a header field given on the command line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// It holds CR, LF or NUL: it would inject lines into the message.
    LineBreak,
    /// It is not `Name: value`.
    NoColon,
    /// The field name is empty, or not printable ASCII without spaces (RFC 5322 2.2).
    BadName,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderError::LineBreak => "it contains CR, LF or NUL",
            HeaderError::NoColon => "expected 'Name: value'",
            HeaderError::BadName => "the field name must be printable ASCII without spaces",
        })
    }
}

impl std::error::Error for HeaderError {}

/// One header field, `Name: value`, validated: a field name of printable ASCII without `:` or
/// spaces (RFC 5322 2.2), a value without CR, LF or NUL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    name: String,
    value: String,
}

impl HeaderField {
    /// Parses `Name: value` (spaces after the colon are dropped).
    pub fn parse(text: &str) -> Result<HeaderField, HeaderError> {
        if text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(HeaderError::LineBreak);
        }
        let (name, value) = text.split_once(':').ok_or(HeaderError::NoColon)?;
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(HeaderError::BadName);
        }
        Ok(HeaderField {
            name: name.to_string(),
            value: value.trim_start_matches([' ', '\t']).to_string(),
        })
    }

    /// The field name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, as given (without the spaces after the colon).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `Name: value` and CRLF.
    fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        out.push(b':');
        if !self.value.is_empty() {
            out.push(b' ');
            out.extend_from_slice(self.value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// What to do to a message's header section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// `--header`: each replaces the fields of its name (the first keeps its place, the others
    /// go), or is added when the message has none. Several of one name all take that place.
    pub replace: Vec<HeaderField>,
    /// `--add-header`: added at the end of the header section, whatever is there.
    pub add: Vec<HeaderField>,
}

impl HeaderEdits {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty() && self.add.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// In the header section; the next byte starts a line.
    LineStart,
    /// In the header section, within a long line being kept (`true`) or dropped.
    InLine(bool),
    /// The header section is over: everything else passes through.
    Body,
}

/// A reader of `inner` with its header section rewritten by [`HeaderEdits`], streamed.
pub struct RewriteHeaders<R> {
    inner: BufReader<R>,
    edits: HeaderEdits,
    /// Which of `edits.replace` names were met (their replacements written already).
    met: Vec<bool>,
    phase: Phase,
    /// The field being read is kept (`true`) or dropped with its continuation lines.
    keeping: bool,
    /// Bytes to hand out before reading more.
    pending: Vec<u8>,
    at: usize,
    /// The line read (at most `LINE_PIECE` bytes of it).
    line: Vec<u8>,
    /// The last byte handed out of the message's own header lines was not a line end.
    line_open: bool,
}

impl<R: Read> RewriteHeaders<R> {
    /// `inner`'s content with `edits` applied to its header section.
    pub fn new(inner: R, edits: HeaderEdits) -> RewriteHeaders<R> {
        let met = vec![false; edits.replace.len()];
        RewriteHeaders {
            inner: BufReader::new(inner),
            edits,
            met,
            phase: Phase::LineStart,
            keeping: true,
            pending: Vec::new(),
            at: 0,
            line: Vec::new(),
            line_open: false,
        }
    }

    /// Reads the next piece of a header line into `line`; empty at the end of the input.
    fn read_piece(&mut self) -> io::Result<()> {
        self.line.clear();
        (&mut self.inner)
            .take(LINE_PIECE as u64)
            .read_until(b'\n', &mut self.line)?;
        Ok(())
    }

    /// Fills `pending` from the header section (or moves to the body).
    fn step(&mut self) -> io::Result<()> {
        self.pending.clear();
        self.at = 0;
        self.read_piece()?;
        let complete = self.line.ends_with(b"\n");
        match self.phase {
            Phase::Body => {}
            Phase::InLine(keep) => {
                if keep {
                    self.emit_line();
                }
                if complete || self.line.is_empty() {
                    self.phase = Phase::LineStart;
                }
            }
            Phase::LineStart if self.line.is_empty() => {
                // The input ended within the header section: the additions go at its end.
                if self.line_open && self.has_additions() {
                    self.pending.extend_from_slice(b"\r\n");
                }
                self.write_additions();
                self.phase = Phase::Body;
            }
            Phase::LineStart if self.line == b"\n" || self.line == b"\r\n" => {
                self.write_additions();
                self.pending.extend_from_slice(&self.line);
                self.phase = Phase::Body;
            }
            Phase::LineStart => {
                let keep = match self.line.first() {
                    // A folded continuation belongs to the field before it (RFC 5322 2.2.3).
                    Some(b' ' | b'\t') => self.keeping,
                    _ => self.start_field(),
                };
                if keep {
                    self.emit_line();
                }
                if !complete {
                    self.phase = Phase::InLine(keep);
                }
            }
        }
        Ok(())
    }

    /// A line that starts a field (or is no field at all): whether it is kept. A field that is
    /// replaced gives way to its replacements, written where the first of its name was.
    fn start_field(&mut self) -> bool {
        let Some(name) = field_name(&self.line) else {
            self.keeping = true;
            return true;
        };
        let mut replaced = false;
        for (i, field) in self.edits.replace.iter().enumerate() {
            if field.name.as_bytes().eq_ignore_ascii_case(name) {
                replaced = true;
                if !self.met[i] {
                    self.met[i] = true;
                    field.write_line(&mut self.pending);
                }
            }
        }
        self.keeping = !replaced;
        self.keeping
    }

    fn emit_line(&mut self) {
        self.pending.extend_from_slice(&self.line);
        self.line_open = !self.line.ends_with(b"\n");
    }

    fn has_additions(&self) -> bool {
        !self.edits.add.is_empty() || self.met.iter().any(|m| !m)
    }

    /// The `--header` fields the message did not have, then the `--add-header` fields.
    fn write_additions(&mut self) {
        for (field, met) in self.edits.replace.iter().zip(&self.met) {
            if !met {
                field.write_line(&mut self.pending);
            }
        }
        for field in &self.edits.add {
            field.write_line(&mut self.pending);
        }
    }
}

impl<R: Read> Read for RewriteHeaders<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.at);
                buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.phase == Phase::Body {
                return self.inner.read(buf);
            }
            self.step()?;
        }
    }
}

/// The field name of a header line (`name` then optional spaces, RFC 5322 4.5.8's obsolete
/// form, then `:`), if the line is a field.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let name = match name.iter().rposition(|&b| b != b' ' && b != b'\t') {
        Some(last) => &name[..=last],
        None => return None,
    };
    name.iter().all(|b| (33..=126).contains(b)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> HeaderField {
        HeaderField::parse(s).unwrap()
    }

    fn edits(replace: &[&str], add: &[&str]) -> HeaderEdits {
        HeaderEdits {
            replace: replace.iter().map(|s| field(s)).collect(),
            add: add.iter().map(|s| field(s)).collect(),
        }
    }

    /// Gives out one byte per read: every split of the input.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((&b, rest)), false) => {
                    buf[0] = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// Runs `input` whole, trickled a byte at a time, and read into a 3-byte buffer: all three
    /// must give `want`.
    fn check(input: &str, e: &HeaderEdits, want: &str) {
        let mut whole = Vec::new();
        RewriteHeaders::new(input.as_bytes(), e.clone())
            .read_to_end(&mut whole)
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&whole), want, "whole: {input:?}");
        let mut trickled = Vec::new();
        RewriteHeaders::new(Trickle(input.as_bytes()), e.clone())
            .read_to_end(&mut trickled)
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&trickled),
            want,
            "trickled: {input:?}"
        );
        let mut small = Vec::new();
        let mut r = RewriteHeaders::new(input.as_bytes(), e.clone());
        let mut buf = [0u8; 3];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            small.extend_from_slice(&buf[..n]);
        }
        assert_eq!(
            String::from_utf8_lossy(&small),
            want,
            "3-byte reads: {input:?}"
        );
    }

    #[test]
    fn replace_keeps_the_place_any_case_and_drops_continuations() {
        let e = edits(&["Subject: new"], &[]);
        check(
            "From: a@b\r\nsubject: old\r\n  folded more\r\n\tand more\r\nTo: c@d\r\n\r\nSubject: body\r\n",
            &e,
            "From: a@b\r\nSubject: new\r\nTo: c@d\r\n\r\nSubject: body\r\n",
        );
    }

    #[test]
    fn replace_removes_every_later_field_of_the_name() {
        let e = edits(&["X-A: 1", "x-a: 2"], &[]);
        check(
            "X-A: old1\nB: b\nX-A: old2\n cont\n\nbody\n",
            &e,
            "X-A: 1\r\nx-a: 2\r\nB: b\n\nbody\n",
        );
    }

    #[test]
    fn replace_of_an_absent_field_adds_it_at_the_end_before_add_header() {
        let e = edits(&["X-New: n"], &["X-Added: a", "Subject: second"]);
        check(
            "Subject: s\nFrom: f\n\nbody\n",
            &e,
            "Subject: s\nFrom: f\nX-New: n\r\nX-Added: a\r\nSubject: second\r\n\nbody\n",
        );
    }

    #[test]
    fn nothing_to_do_changes_nothing() {
        let input = "A: 1\r\n b\r\n\r\nbody\r\n.\r\n";
        check(input, &HeaderEdits::default(), input);
    }

    #[test]
    fn no_body_no_final_line_end() {
        let e = edits(&[], &["X: y"]);
        check("A: 1\nB: 2", &e, "A: 1\nB: 2\r\nX: y\r\n");
        check("A: 1\n", &e, "A: 1\nX: y\r\n");
        check("", &e, "X: y\r\n");
        // A replaced last line without its line end: the replacement ends the line.
        let e = edits(&["B: new"], &[]);
        check("A: 1\nB: 2", &e, "A: 1\nB: new\r\n");
    }

    #[test]
    fn empty_header_section() {
        let e = edits(&["Subject: s"], &[]);
        check("\r\nbody\r\n", &e, "Subject: s\r\n\r\nbody\r\n");
    }

    #[test]
    fn lines_that_are_no_fields_pass_and_body_is_untouched() {
        let e = edits(&["From: new"], &[]);
        check(
            "From a@b Sat Jan  1 12:00:00 2000\nFrom: old\n\nFrom: not a header\n",
            &e,
            "From a@b Sat Jan  1 12:00:00 2000\nFrom: new\r\n\nFrom: not a header\n",
        );
        // The obsolete form with spaces before the colon is still that field.
        check("From : old\n\n", &e, "From: new\r\n\n");
    }

    #[test]
    fn long_lines_are_kept_or_dropped_whole_in_pieces() {
        let long = "x".repeat(LINE_PIECE * 3 + 7);
        let e = edits(&["Drop: new"], &[]);
        let input = format!("Keep: {long}\nDrop: {long}\n {long}\nAfter: 1\n\nbody {long}\n");
        let want = format!("Keep: {long}\nDrop: new\r\nAfter: 1\n\nbody {long}\n");
        check(&input, &e, &want);
    }

    #[test]
    fn header_field_parse_refuses_injection_and_bad_names() {
        assert_eq!(
            HeaderField::parse("X-A: 1\r\nBcc: x"),
            Err(HeaderError::LineBreak)
        );
        assert_eq!(HeaderField::parse("X-A: \0"), Err(HeaderError::LineBreak));
        assert_eq!(HeaderField::parse("no colon"), Err(HeaderError::NoColon));
        assert_eq!(HeaderField::parse(": v"), Err(HeaderError::BadName));
        assert_eq!(HeaderField::parse("Bad Name: v"), Err(HeaderError::BadName));
        let f = HeaderField::parse("X-Empty:").unwrap();
        assert_eq!((f.name(), f.value()), ("X-Empty", ""));
        let f = HeaderField::parse("X-A:   spaced value ").unwrap();
        assert_eq!(f.value(), "spaced value ");
    }
}
