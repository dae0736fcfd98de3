//! Shared inputs for the benchmarks of `mailwire` and its adapters.
//!
//! The criterion benches (`benches/reply_parse.rs`, `benches/body_encode.rs`), the allocation
//! counter (`src/bin/reply_allocs.rs`) and the end-to-end driver (`src/bin/e2e.rs`) build their
//! inputs here, so every comparison runs over exactly the same bytes.
#![forbid(unsafe_code)]

/// The reply inputs of the parsing benchmarks: `(name, wire bytes)`.
///
/// * `single`: `250 2.1.0 Ok`, the reply to MAIL FROM.
/// * `ehlo10`: a 10-line EHLO reply shaped like Postfix's.
/// * `lines100`: a 100-line reply, 3,600 wire bytes. It stays under 4 KiB of text because
///   Stalwart's parser refuses longer replies (`MAX_RESPONSE_LENGTH` = 4096).
pub fn replies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("single", b"250 2.1.0 Ok\r\n".to_vec()),
        ("ehlo10", ehlo10()),
        ("lines100", lines100()),
    ]
}

/// A typical 10-line EHLO reply (Postfix's default capabilities).
pub fn ehlo10() -> Vec<u8> {
    let lines = [
        "mail.example.com",
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
    ];
    multiline(250, &lines)
}

/// A 100-line reply with 30-byte lines (36 wire bytes each with code, separator and CRLF).
pub fn lines100() -> Vec<u8> {
    let lines: Vec<String> = (0..100)
        .map(|i| format!("line {i:03} of a long help reply."))
        .map(|s| s[..30].to_string())
        .collect();
    multiline(214, &lines)
}

/// Wire form of a reply with `code` and the given lines (`-` on all but the last).
pub fn multiline<S: AsRef<str>>(code: u16, lines: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.extend_from_slice(format!("{code}{sep}{}\r\n", line.as_ref()).as_bytes());
    }
    out
}

/// Line ends of a generated body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    /// Bare LF, as files on Unix have them: every line end grows by one byte on the wire.
    Lf,
    /// CRLF, already the wire form.
    Crlf,
}

/// A text body of at least `size` bytes made of 70-byte lines (line end excluded) of printable
/// ASCII; every 20th line starts with a `.` (so it must be dot-stuffed). Deterministic.
pub fn text_body(size: usize, line_end: LineEnd) -> Vec<u8> {
    const LINE: usize = 70;
    let alphabet = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789,;:!?";
    let mut out = Vec::with_capacity(size + LINE + 2);
    let mut n: usize = 0;
    let mut x: u32 = 0x2545_f491;
    while out.len() < size {
        for i in 0..LINE {
            // xorshift: cheap, deterministic, not all lines alike.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let byte = if i == 0 && n.is_multiple_of(20) {
                b'.'
            } else {
                alphabet[(x as usize) % alphabet.len()]
            };
            out.push(byte);
        }
        match line_end {
            LineEnd::Lf => out.push(b'\n'),
            LineEnd::Crlf => out.extend_from_slice(b"\r\n"),
        }
        n += 1;
    }
    out
}

/// The envelope sender of every end-to-end message.
pub const SENDER: &str = "sender@bench.example";

/// The `i`-th envelope recipient of the end-to-end messages.
pub fn recipient(i: usize) -> String {
    format!("rcpt{i}@bench.example")
}

/// A complete message (header and body, CRLF line ends, ending in CRLF) of exactly `size` bytes
/// (at least 200): a few header fields, then [`text_body`] lines cut to fit.
pub fn message(size: usize) -> Vec<u8> {
    let mut out = format!(
        "From: <{SENDER}>\r\nTo: <{}>\r\nSubject: benchmark message of {size} bytes\r\n\
         Message-ID: <bench-{size}@bench.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        recipient(0)
    )
    .into_bytes();
    assert!(size >= out.len() + 3, "message size {size} too small");
    let body = text_body(size - out.len(), LineEnd::Crlf);
    out.extend_from_slice(&body[..size - out.len()]);
    // End on a whole line: replace the last two bytes with CRLF, and never end in a bare CR.
    let n = out.len();
    out[n - 2] = b'\r';
    out[n - 1] = b'\n';
    if out[n - 3] == b'\r' {
        out[n - 3] = b'x';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated replies are what they claim to be: our parser accepts each whole.
    #[test]
    fn replies_parse_whole() {
        for (name, bytes) in replies() {
            let mut parser = mailwire::ReplyParser::new(mailwire::ParserConfig::default());
            let mut reply = mailwire::Reply::default();
            let status = parser.parse(&bytes, &mut reply).unwrap();
            assert_eq!(
                status,
                mailwire::Status::Complete {
                    consumed: bytes.len()
                },
                "{name}"
            );
        }
        assert_eq!(lines100().len(), 3600);
    }

    /// Messages have the asked size and end in CRLF.
    #[test]
    fn message_shape() {
        for size in [1024, 1 << 20] {
            let m = message(size);
            assert_eq!(m.len(), size);
            assert!(m.ends_with(b"\r\n") && !m.ends_with(b"\r\r\n"));
        }
    }

    /// Bodies have 70-byte lines, some starting with a dot.
    #[test]
    fn body_shape() {
        let body = text_body(10_000, LineEnd::Crlf);
        let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        assert!(lines.iter().filter(|l| l.starts_with(b".")).count() > 3);
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 71));
    }
}
