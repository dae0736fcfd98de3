//! What the client sent, read as a server reads it: command lines, DATA content up to its end
//! mark, BDAT chunks by their sizes; and the checks on each (see the `caller_api` module docs).

use super::server::Await;
use mailwire::body::unstuff;
use mailwire::{Capabilities, SizeLimit};

/// What a client line or content was.
#[derive(Debug)]
pub(super) enum Item {
    Command(Await),
    /// A DATA content or the BDAT chunks up to `LAST` ended: the content, decoded.
    Content {
        content: Vec<u8>,
        binary: bool,
        /// Which transaction (counted from 0) it completed: the same `poll_transmit` may also
        /// have handed out the next MAIL.
        txn: usize,
    },
    /// An AUTH response line (awaits the next AUTH reply).
    AuthResponse,
}

/// Where the reading of the client's bytes is.
#[derive(Debug)]
enum Mode {
    Commands,
    /// DATA content from `start` (after the DATA line's CRLF).
    Data {
        start: usize,
    },
    /// A BDAT chunk with `left` octets still to come.
    Bdat {
        left: usize,
        last: bool,
    },
}

/// The current transaction, from its MAIL line.
#[derive(Debug, Default)]
struct Txn {
    smtputf8: bool,
    /// BODY=8BITMIME or BINARYMIME.
    eight_bit: bool,
    binary: bool,
    /// BDAT chunks so far.
    chunks: Vec<u8>,
}

/// Splits and checks everything the client sent.
pub(super) struct Wire {
    bytes: Vec<u8>,
    pos: usize,
    mode: Mode,
    txn: Option<Txn>,
    pub(super) txns: usize,
    /// The server sent 334: the next line is an AUTH response.
    pub(super) auth_response_next: bool,
    /// Contents completed (DATA's end mark, or BDAT LAST).
    pub(super) contents_done: usize,
    /// The last command line was DATA.
    pub(super) after_data: bool,
}

/// What the session offers, for the checks of MAIL parameters.
pub(super) struct Offered<'a> {
    pub(super) caps: Option<&'a Capabilities>,
    pub(super) secure: bool,
}

impl Wire {
    pub(super) fn new() -> Wire {
        Wire {
            bytes: Vec::new(),
            pos: 0,
            mode: Mode::Commands,
            txn: None,
            txns: 0,
            auth_response_next: false,
            contents_done: 0,
            after_data: false,
        }
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The server answered DATA with 354: content follows the DATA line.
    pub(super) fn start_data(&mut self) {
        assert!(
            matches!(self.mode, Mode::Commands) && self.after_data && self.pos == self.bytes.len(),
            "bytes after DATA before its reply: {:?}",
            self.text()
        );
        self.mode = Mode::Data { start: self.pos };
    }

    /// Reads `out`, just handed out by `poll_transmit`; returns what it completed.
    pub(super) fn feed(&mut self, out: &[u8], offered: &Offered<'_>) -> Vec<Item> {
        self.bytes.extend_from_slice(out);
        let mut items = Vec::new();
        loop {
            match self.mode {
                Mode::Commands => {
                    let rest = &self.bytes[self.pos..];
                    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = rest[..end].to_vec();
                    self.pos += end + 2;
                    if let Some(item) = self.command(&line, offered) {
                        items.push(item);
                    }
                }
                Mode::Data { start } => {
                    // The DATA line's CRLF counts as the one before the mark of an empty body.
                    let from = (start - 2).max(self.pos.saturating_sub(4));
                    let Some(at) = self.bytes[from..]
                        .windows(5)
                        .position(|w| w == b"\r\n.\r\n")
                    else {
                        self.pos = self.bytes.len();
                        break;
                    };
                    let end = from + at + 5;
                    let wire = self.bytes[start..end].to_vec();
                    self.pos = end;
                    self.mode = Mode::Commands;
                    self.after_data = false;
                    items.push(self.data_content(&wire));
                }
                Mode::Bdat { left, last } => {
                    let n = left.min(self.bytes.len() - self.pos);
                    if n == 0 && left > 0 {
                        break;
                    }
                    let chunk = self.bytes[self.pos..self.pos + n].to_vec();
                    self.pos += n;
                    let txn = self.txn.as_mut().expect("BDAT outside a transaction");
                    txn.chunks.extend_from_slice(&chunk);
                    if n < left {
                        self.mode = Mode::Bdat {
                            left: left - n,
                            last,
                        };
                        break;
                    }
                    self.mode = Mode::Commands;
                    if last {
                        let txn = self.txn.as_mut().expect("BDAT outside a transaction");
                        let content = std::mem::take(&mut txn.chunks);
                        let binary = txn.binary;
                        items.push(self.content_end(content, binary));
                    }
                }
            }
        }
        // What one poll_transmit hands out ends on a command line's end, or inside DATA content:
        // never inside a command line or a BDAT chunk.
        match self.mode {
            Mode::Commands => assert_eq!(
                self.pos,
                self.bytes.len(),
                "a command line cut at the end of a transmit: {:?}",
                self.text()
            ),
            Mode::Bdat { left, .. } => {
                panic!("BDAT chunk short by {left} octets: {:?}", self.text())
            }
            Mode::Data { .. } => {}
        }
        items
    }

    /// Checks one command line (CRLF stripped) and says what it awaits.
    fn command(&mut self, line: &[u8], offered: &Offered<'_>) -> Option<Item> {
        let shown = String::from_utf8_lossy(line).into_owned();
        if let Some(at) = line.iter().position(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            panic!("byte {:#04x} inside command line {shown:?}", line[at]);
        }
        let is = |verb: &[u8]| line == verb || line.starts_with(&[verb, b" "].concat());
        let was_data = std::mem::replace(&mut self.after_data, false);
        assert!(!was_data, "{shown:?} sent after DATA before its reply");
        if std::mem::take(&mut self.auth_response_next) {
            // RFC 4954 4: base64, or `*` to cancel; up to 12,288 octets.
            assert!(
                line.len() <= 12_288,
                "AUTH response of {} octets",
                line.len()
            );
            assert!(
                line == b"*"
                    || line
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)),
                "AUTH response not base64: {shown:?}"
            );
            return Some(Item::AuthResponse);
        }
        let (awaited, limit) = if let Some(rest) = line.strip_prefix(b"MAIL FROM:<") {
            let (limit, txn) = mail_line(rest, &shown, offered);
            self.txn = Some(txn);
            self.txns += 1;
            (Await::Mail, limit)
        } else if let Some(rest) = line.strip_prefix(b"RCPT TO:<") {
            let txn = self
                .txn
                .as_ref()
                .unwrap_or_else(|| panic!("{shown:?} without MAIL"));
            let limit = rcpt_line(rest, &shown, txn, offered);
            (Await::Rcpt { txn: self.txns - 1 }, limit)
        } else if line == b"DATA" {
            assert!(self.txn.is_some(), "DATA without MAIL");
            self.after_data = true;
            (Await::Data, 512)
        } else if let Some(rest) = line.strip_prefix(b"BDAT ") {
            let rest = std::str::from_utf8(rest).expect("BDAT line is ASCII");
            let (size, last) = match rest.strip_suffix(" LAST") {
                Some(size) => (size, true),
                None => (rest, false),
            };
            let size: usize = size
                .parse()
                .unwrap_or_else(|_| panic!("bad BDAT line {shown:?}"));
            assert!(self.txn.is_some(), "BDAT without MAIL");
            self.mode = Mode::Bdat { left: size, last };
            // The reply to `BDAT … LAST` is owed once its chunk is in (see `content_end`).
            (if last { Await::DataEnd } else { Await::Bdat }, 512)
        } else if is(b"EHLO") || is(b"LHLO") {
            (Await::Hello { extended: true }, 512)
        } else if is(b"HELO") {
            (Await::Hello { extended: false }, 512)
        } else if line == b"STARTTLS" {
            (Await::StartTls, 512)
        } else if is(b"AUTH") {
            (Await::Auth, 512)
        } else if line == b"RSET" {
            self.txn = None;
            (Await::Rset, 512)
        } else if is(b"NOOP") || is(b"VRFY") || is(b"EXPN") || is(b"HELP") || is(b"ETRN") {
            (Await::Side, 512)
        } else if is(b"XCLIENT") {
            (Await::Xclient, 512)
        } else if is(b"XFORWARD") {
            // Before MAIL: never inside a transaction (XFORWARD_README).
            assert!(self.txn.is_none(), "{shown:?} inside a transaction");
            (Await::Xforward, 512)
        } else if line == b"QUIT" {
            (Await::Quit, 512)
        } else {
            panic!("not a command: {shown:?} in {:?}", self.text());
        };
        // RFC 5321 4.5.3.1.4, with the extensions' room: the line with its CRLF.
        assert!(
            line.len() + 2 <= limit,
            "{} octets (limit {limit}): {shown:?}",
            line.len() + 2
        );
        if !matches!(awaited, Await::Mail | Await::Rcpt { .. } | Await::Side) {
            assert!(line.is_ascii(), "non-ASCII in {shown:?}");
        }
        if matches!(self.mode, Mode::Bdat { last: true, .. }) {
            return None;
        }
        Some(Item::Command(awaited))
    }

    /// A DATA content, end mark included: CRLF only, stuffed, and it unstuffs.
    fn data_content(&mut self, wire: &[u8]) -> Item {
        let content = unstuff(wire).unwrap_or_else(|e| {
            panic!(
                "DATA content does not unstuff ({e}): {:?}",
                String::from_utf8_lossy(wire)
            )
        });
        for line in wire[..wire.len() - 3].split(|&b| b == b'\n') {
            assert!(
                line.first() != Some(&b'.') || line.starts_with(b".."),
                "unstuffed dot line {:?}",
                String::from_utf8_lossy(line)
            );
        }
        self.content_end(content, false)
    }

    fn content_end(&mut self, content: Vec<u8>, binary: bool) -> Item {
        self.contents_done += 1;
        let txn = self.txn.take().expect("content outside a transaction");
        if !txn.eight_bit {
            assert!(
                content.is_ascii(),
                "8-bit content without BODY=8BITMIME: {:?}",
                String::from_utf8_lossy(&content)
            );
        }
        if !binary {
            for (i, &b) in content.iter().enumerate() {
                match b {
                    b'\r' => assert_eq!(content.get(i + 1), Some(&b'\n'), "bare CR in content"),
                    b'\n' => assert!(i > 0 && content[i - 1] == b'\r', "bare LF in content"),
                    _ => {}
                }
            }
        }
        Item::Content {
            content,
            binary,
            txn: self.txns - 1,
        }
    }
}

/// The path of a MAIL or RCPT line (after `<`), and the parameters after it.
fn split_path<'a>(rest: &'a [u8], shown: &str) -> (&'a [u8], Vec<&'a [u8]>) {
    // The path ends at the `>` after the local part (which may be quoted, with `>` inside) and
    // the domain (an address literal ends with `]`).
    let mut i = 0;
    if rest.first() == Some(&b'"') {
        i = 1;
        while i < rest.len() && rest[i] != b'"' {
            i += if rest[i] == b'\\' { 2 } else { 1 };
        }
        i += 1;
    }
    let at_literal = rest
        .get(i..)
        .and_then(|r| r.windows(2).position(|w| w == b"@["));
    let close = match at_literal {
        Some(k) if rest[i..i + k].iter().all(|&b| b != b'>') => {
            let lit = i + k;
            let end = rest[lit..]
                .iter()
                .position(|&b| b == b']')
                .unwrap_or_else(|| panic!("unterminated literal in {shown:?}"));
            lit + end + 1
        }
        _ => {
            i + rest[i..]
                .iter()
                .position(|&b| b == b'>')
                .unwrap_or_else(|| panic!("no '>' in {shown:?}"))
        }
    };
    assert_eq!(rest.get(close), Some(&b'>'), "path not closed in {shown:?}");
    let params = &rest[close + 1..];
    let params = if params.is_empty() {
        Vec::new()
    } else {
        assert_eq!(params[0], b' ', "no space before the parameters: {shown:?}");
        params[1..].split(|&b| b == b' ').collect()
    };
    for p in &params {
        assert!(!p.is_empty(), "empty parameter in {shown:?}");
    }
    (&rest[..close], params)
}

fn keyword(param: &[u8]) -> &[u8] {
    param.split(|&b| b == b'=').next().unwrap_or_default()
}

/// Checks a MAIL line (after `MAIL FROM:<`): its limit, and that every parameter is for an
/// extension the server offered.
fn mail_line(rest: &[u8], shown: &str, offered: &Offered<'_>) -> (usize, Txn) {
    let caps = offered
        .caps
        .unwrap_or_else(|| panic!("{shown:?} before the capabilities are known"));
    let (_, params) = split_path(rest, shown);
    let mut txn = Txn::default();
    let mut limit = 512;
    let mut dsn_room = false;
    for p in &params {
        let kw = keyword(p);
        let ok = match kw {
            b"SIZE" => {
                limit += 26;
                caps.size.is_some()
            }
            b"BODY" => match &p[kw.len()..] {
                b"=7BIT" => caps.eight_bit_mime,
                b"=8BITMIME" => {
                    txn.eight_bit = true;
                    caps.eight_bit_mime
                }
                b"=BINARYMIME" => {
                    txn.eight_bit = true;
                    txn.binary = true;
                    caps.binary_mime && caps.chunking
                }
                other => panic!("BODY{:?} in {shown:?}", String::from_utf8_lossy(other)),
            },
            b"SMTPUTF8" => {
                txn.smtputf8 = true;
                caps.smtputf8
            }
            b"RET" | b"ENVID" => {
                dsn_room = true;
                caps.dsn
            }
            b"REQUIRETLS" => caps.requiretls && offered.secure,
            b"BY" => caps.deliver_by.is_some(),
            b"MT-PRIORITY" => caps.mt_priority.is_some(),
            _ => true,
        };
        assert!(
            ok,
            "{} sent to a server that did not offer it: {shown:?}",
            String::from_utf8_lossy(kw)
        );
    }
    if dsn_room {
        limit += 100;
    }
    if !txn.smtputf8 {
        assert!(
            rest.is_ascii(),
            "non-ASCII MAIL without SMTPUTF8: {shown:?}"
        );
    }
    // RFC 1870 6.1: nothing declared above the server's limit.
    if let (Some(SizeLimit::Max(max)), Some(size)) = (
        caps.size,
        params.iter().find_map(|p| p.strip_prefix(b"SIZE=")),
    ) {
        let size: u64 = std::str::from_utf8(size)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad SIZE in {shown:?}"));
        assert!(
            size <= max,
            "SIZE={size} over the server's {max}: {shown:?}"
        );
    }
    (limit, txn)
}

/// Checks a RCPT line (after `RCPT TO:<`); returns its limit.
fn rcpt_line(rest: &[u8], shown: &str, txn: &Txn, offered: &Offered<'_>) -> usize {
    let caps = offered
        .caps
        .unwrap_or_else(|| panic!("{shown:?} before the capabilities are known"));
    let (_, params) = split_path(rest, shown);
    let mut limit = 512;
    for p in &params {
        if matches!(keyword(p), b"NOTIFY" | b"ORCPT") {
            assert!(caps.dsn, "DSN parameter without DSN: {shown:?}");
            limit = 1012;
        }
    }
    if !txn.smtputf8 {
        assert!(
            rest.is_ascii(),
            "non-ASCII RCPT without SMTPUTF8: {shown:?}"
        );
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_path_with_angle_brackets_splits_right() {
        let (path, params) = split_path(b"\"a>b\\\\\"@example.org> SIZE=1 BODY=8BITMIME", "t");
        assert_eq!(path, b"\"a>b\\\\\"@example.org");
        assert_eq!(params, vec![&b"SIZE=1"[..], b"BODY=8BITMIME"]);
        let (path, params) = split_path(b"x@[test:a>b]>", "t");
        assert_eq!(path, b"x@[test:a>b]");
        assert!(params.is_empty());
        let (path, _) = split_path(b">", "t");
        assert_eq!(path, b"");
    }
}
