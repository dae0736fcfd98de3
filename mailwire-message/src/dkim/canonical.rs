//! The two canonicalisations of RFC 6376 3.4, for header fields and for the body.
//!
//! Both take the message as it goes on the wire: every line end CRLF (the signer normalises
//! line ends first, as the session does when it sends), no dot-stuffing (a receiver removes it
//! before it verifies).

/// How a part of the message is canonicalised (RFC 6376 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Canonicalization {
    /// `simple`: the bytes as they are, but for empty lines at the end of the body (RFC 6376
    /// 3.4.1, 3.4.3). Any change in transit breaks the signature.
    Simple,
    /// `relaxed`: field names lowercased, folding and runs of white space reduced, white space
    /// at line ends ignored (RFC 6376 3.4.2, 3.4.4). Survives what relays commonly do; the
    /// default.
    #[default]
    Relaxed,
}

impl Canonicalization {
    /// The name in the `c=` tag.
    pub fn name(self) -> &'static str {
        match self {
            Canonicalization::Simple => "simple",
            Canonicalization::Relaxed => "relaxed",
        }
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Appends the canonical form of one header field (`raw`: its name, colon and value with any
/// folding, without the CRLF that ends it) to `out`, without a line end.
pub(crate) fn header_field(canon: Canonicalization, raw: &[u8], out: &mut Vec<u8>) {
    if canon == Canonicalization::Simple {
        out.extend_from_slice(raw);
        return;
    }
    // RFC 6376 3.4.2: the name lowercased, white space around the colon deleted, the value
    // unfolded, its runs of white space made one SP, and white space at its end deleted.
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
    let name = &raw[..colon];
    let name_end = name.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    out.extend(name[..name_end].iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = raw.get(colon + 1..).unwrap_or(&[]);
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b'\r' || b == b'\n' {
            // Unfolding: the CRLF of a fold goes; the white space after it stays (and is
            // reduced with its neighbours).
            continue;
        }
        if is_wsp(b) {
            pending_space = started;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        started = true;
        out.push(b);
    }
}

/// The body's canonical form, computed as the body streams in (RFC 6376 3.4.3, 3.4.4).
///
/// Empty lines are counted, not written, until a line with something on it follows, since
/// only the body's end tells whether they are the trailing empty lines both forms ignore.
#[derive(Clone, Debug)]
pub(crate) struct BodyCanonicalizer {
    canon: Canonicalization,
    /// Empty lines seen and not yet written.
    empty_lines: u64,
    /// Something of the current line was written (and the empty lines before it with it).
    line_written: bool,
    /// Relaxed: white space seen in the current line and not yet written.
    pending_space: bool,
    /// A CR was the last byte: an LF after it ends the line.
    after_cr: bool,
    /// Anything at all was written.
    wrote: bool,
}

impl BodyCanonicalizer {
    pub(crate) fn new(canon: Canonicalization) -> BodyCanonicalizer {
        BodyCanonicalizer {
            canon,
            empty_lines: 0,
            line_written: false,
            pending_space: false,
            after_cr: false,
            wrote: false,
        }
    }

    /// Appends the canonical form of `input` (CRLF line ends; a CRLF may be split between two
    /// calls) to `out`, as far as it is known.
    pub(crate) fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let relaxed = self.canon == Canonicalization::Relaxed;
        let mut run_start = 0;
        for (i, &b) in input.iter().enumerate() {
            let plain = !(b == b'\r' || b == b'\n' || self.after_cr || (relaxed && is_wsp(b)));
            if plain && self.line_written && !self.pending_space {
                // Inside a written line with nothing pending: the byte joins the current run,
                // copied as it is.
                continue;
            }
            out.extend_from_slice(&input[run_start..i]);
            run_start = i + 1;
            self.byte(b, out);
        }
        out.extend_from_slice(&input[run_start..]);
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.after_cr {
            self.after_cr = false;
            if b == b'\n' {
                self.end_line(out);
                return;
            }
            // A CR without its LF cannot come from normalised text; it is kept as a byte.
            self.content(b'\r', out);
        }
        match b {
            b'\r' => self.after_cr = true,
            b' ' | b'\t' if self.canon == Canonicalization::Relaxed => self.pending_space = true,
            _ => self.content(b, out),
        }
    }

    /// A byte that is neither a line end nor (relaxed) white space: first what the line owes
    /// before it (the empty lines above it, one SP for white space before it), then the byte.
    fn content(&mut self, b: u8, out: &mut Vec<u8>) {
        if !self.line_written {
            for _ in 0..self.empty_lines {
                out.extend_from_slice(b"\r\n");
            }
            self.empty_lines = 0;
            self.line_written = true;
        }
        if self.pending_space {
            out.push(b' ');
            self.pending_space = false;
        }
        out.push(b);
        self.wrote = true;
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        if self.line_written {
            out.extend_from_slice(b"\r\n");
        } else {
            // Empty, or (relaxed) only white space, which is ignored at a line's end.
            self.empty_lines += 1;
        }
        self.line_written = false;
        // Relaxed: white space at the end of a line is ignored.
        self.pending_space = false;
    }

    /// Appends the end of the canonical body: the CRLF a last line without one gets, and, for
    /// `simple`, the single CRLF of an empty body.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if self.after_cr {
            self.after_cr = false;
            self.content(b'\r', out);
        }
        if self.line_written {
            out.extend_from_slice(b"\r\n");
        } else if !self.wrote && self.canon == Canonicalization::Simple {
            // RFC 6376 3.4.3: an empty body is one CRLF. Relaxed leaves it empty (3.4.4 as
            // corrected by erratum 1384).
            out.extend_from_slice(b"\r\n");
        }
        self.line_written = false;
    }
}
