//! A bare-bones SMTP conversation over `std::net::TcpStream`, for checking
//! peers by hand. Every read and write is bounded by a socket timeout.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One server reply: the code and each line's text after `NNN-`/`NNN `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// Text of each line, without the code, separator and CRLF.
    pub lines: Vec<String>,
}

impl Reply {
    /// True if any line, split on spaces, starts with `keyword`
    /// (case-insensitive), e.g. `has("AUTH")`, or names a whole line
    /// such as `has("AUTH PLAIN LOGIN")`.
    pub fn has(&self, keyword: &str) -> bool {
        self.lines.iter().any(|l| {
            let l = l.to_ascii_uppercase();
            let k = keyword.to_ascii_uppercase();
            l == k || l.starts_with(&format!("{k} "))
        })
    }

    /// The parameters advertised with an EHLO keyword, e.g.
    /// `params("AUTH")` is `Some(["PLAIN", "LOGIN"])`.
    pub fn params(&self, keyword: &str) -> Option<Vec<String>> {
        self.lines.iter().find_map(|l| {
            let mut words = l.split_whitespace();
            let first = words.next()?;
            first
                .eq_ignore_ascii_case(keyword)
                .then(|| words.map(str::to_owned).collect())
        })
    }
}

/// A line-oriented SMTP connection.
#[derive(Debug)]
pub struct Conn {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Conn {
    /// Connects with a 5 s connect/read/write timeout.
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        Conn::connect_timeout(addr, Duration::from_secs(5))
    }

    /// Connects; `timeout` bounds the connect and every read and write.
    pub fn connect_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        })
    }

    /// Reads one (possibly multi-line) reply.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed while reading a reply",
                ));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let code = text
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {text:?}"))
                })?;
            let sep = text.as_bytes().get(3).copied().unwrap_or(b' ');
            lines.push(text.get(4..).unwrap_or("").to_owned());
            if sep != b'-' {
                return Ok(Reply { code, lines });
            }
        }
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends `line` + CRLF and reads the reply.
    pub fn cmd(&mut self, line: &str) -> io::Result<Reply> {
        self.send_raw(format!("{line}\r\n").as_bytes())?;
        self.read_reply()
    }

    /// Like [`Conn::cmd`], but fails unless the reply code is `want`.
    pub fn expect(&mut self, line: &str, want: u16) -> io::Result<Reply> {
        let r = self.cmd(line)?;
        if r.code != want {
            return Err(io::Error::other(format!(
                "{line:?}: expected {want}, got {} {:?}",
                r.code, r.lines
            )));
        }
        Ok(r)
    }

    /// Sends a message body after a 354: dot-stuffs lines starting with `.`,
    /// appends `.` CRLF, and returns the final reply. `body` should use CRLF
    /// line endings; a missing final CRLF is added.
    pub fn send_data(&mut self, body: &[u8]) -> io::Result<Reply> {
        let mut out = Vec::with_capacity(body.len() + 16);
        let mut at_line_start = true;
        for &b in body {
            if at_line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            at_line_start = b == b'\n';
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.send_raw(&out)?;
        self.read_reply()
    }

    /// The underlying stream (e.g. to hand it to a TLS library).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }
}
