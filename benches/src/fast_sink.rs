//! A fast SMTP sink for the CPU comparison (`e2e fast-sink --port P`): the least a server can
//! do and still speak SMTP to every client of the bench, so that its own CPU per message is
//! small and the client's and the server's together can be compared.
//!
//! Postfix's `smtp-sink` reads content a line at a time and spends about 5 ms on each 1 MiB
//! message, so the sum of the client's and the server's CPU is the server's, give or take its
//! own noise. The kernel's TCP work on loopback is billed to whichever side happens to run it
//! (see "Where the CPU goes" in `docs/PERFORMANCE.md`); the sum of both sides is not, so with a
//! server this cheap it shows what a client really costs the machine.
//!
//! What it does: one connection at a time, each served until QUIT or EOF; a greeting; EHLO
//! answered with PIPELINING and 8BITMIME (what smtp-sink offers the bench's clients); HELO,
//! MAIL, RCPT, RSET and NOOP with 250, DATA with 354, QUIT with 221; content read in 256 KiB
//! reads and searched for its end (CRLF.CRLF, across reads) with `memchr::memmem`, then 250.
//! Replies are collected while commands are in the buffer and written before the next read, so
//! a pipelined flight gets one write. Nothing is checked or stored: it is a bench fixture, on
//! 127.0.0.1 only.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};

/// The end of the content (RFC 5321 4.1.1.4), with the line end before it.
const END: &[u8] = b"\r\n.\r\n";

/// Serves on 127.0.0.1:`port` until the process is killed.
pub fn serve(port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
    let finder = memchr::memmem::Finder::new(END);
    let mut buf = vec![0u8; 256 * 1024];
    for conn in listener.incoming() {
        let mut conn = conn?;
        conn.set_nodelay(true)?;
        // A connection that breaks ends only itself.
        let _ = session(&mut conn, &finder, &mut buf);
    }
    Ok(())
}

/// Where the session is between reads.
enum Mode {
    /// Commands: `line` holds the start of one not yet ended.
    Commands,
    /// Content: `tail` holds the last bytes seen (up to 4), so that an end split across two
    /// reads is found.
    Content,
}

fn session(
    conn: &mut TcpStream,
    finder: &memchr::memmem::Finder,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut replies: Vec<u8> = b"220 fast.bench.example ESMTP\r\n".to_vec();
    let mut line: Vec<u8> = Vec::new();
    // The content starts after the DATA line's CRLF, so an empty body's end is ".\r\n" alone.
    let mut tail: Vec<u8> = Vec::new();
    let mut mode = Mode::Commands;
    loop {
        if !replies.is_empty() {
            conn.write_all(&replies)?;
            replies.clear();
        }
        let n = conn.read(buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            match mode {
                Mode::Content => {
                    // The end may start in `tail` (at most 4 bytes of it) and finish here.
                    let mut joined = tail.clone();
                    joined.extend_from_slice(&rest[..rest.len().min(END.len())]);
                    let found = match finder.find(&joined) {
                        Some(at) => Some(at + END.len() - tail.len()),
                        None => finder.find(rest).map(|at| at + END.len()),
                    };
                    match found {
                        Some(used) => {
                            replies.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
                            rest = &rest[used..];
                            mode = Mode::Commands;
                        }
                        None => {
                            let keep = END.len() - 1;
                            let mut last = tail.clone();
                            last.extend_from_slice(&rest[rest.len().saturating_sub(keep)..]);
                            tail = last[last.len().saturating_sub(keep)..].to_vec();
                            rest = &[];
                        }
                    }
                }
                Mode::Commands => {
                    let Some(lf) = memchr::memchr(b'\n', rest) else {
                        line.extend_from_slice(rest);
                        rest = &[];
                        continue;
                    };
                    line.extend_from_slice(&rest[..=lf]);
                    rest = &rest[lf + 1..];
                    let verb: Vec<u8> = line.iter().take(4).map(u8::to_ascii_uppercase).collect();
                    match &verb[..] {
                        b"EHLO" => replies.extend_from_slice(
                            b"250-fast.bench.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                        ),
                        b"DATA" => {
                            replies.extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                            mode = Mode::Content;
                            tail = b"\r\n".to_vec();
                        }
                        b"QUIT" => {
                            replies.extend_from_slice(b"221 2.0.0 Bye\r\n");
                            conn.write_all(&replies)?;
                            return Ok(());
                        }
                        _ => replies.extend_from_slice(b"250 2.0.0 Ok\r\n"),
                    }
                    line.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::time::Duration;

    /// Reads one reply (its lines up to the one with a space after the code).
    fn reply(r: &mut BufReader<TcpStream>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    /// The sink answers what the bench's clients send: a pipelined envelope, content whose end
    /// arrives split across reads, an empty body, and QUIT.
    #[test]
    fn speaks_enough_smtp_for_the_bench() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::thread::spawn(move || serve(port));
        let conn = loop {
            if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
                break c;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut w = conn.try_clone().unwrap();
        let mut r = BufReader::new(conn);
        assert!(reply(&mut r).starts_with("220 "));
        w.write_all(b"EHLO c\r\n").unwrap();
        assert!(reply(&mut r).contains("250-PIPELINING"));
        w.write_all(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
            .unwrap();
        assert!(reply(&mut r).starts_with("250 "));
        assert!(reply(&mut r).starts_with("250 "));
        assert!(reply(&mut r).starts_with("354 "));
        // The end in three writes, with a lone dot line inside the body that is not the end.
        for piece in [
            &b"line\r\n..stuffed\r\nend\r"[..],
            b"\n.",
            b"\r\nMAIL FROM:<a@b>\r\n",
        ] {
            w.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(reply(&mut r).starts_with("250 2.0.0 Ok: queued"));
        assert!(reply(&mut r).starts_with("250 "));
        w.write_all(b"RCPT TO:<c@d>\r\nDATA\r\n").unwrap();
        assert!(reply(&mut r).starts_with("250 "));
        assert!(reply(&mut r).starts_with("354 "));
        w.write_all(b".\r\nQUIT\r\n").unwrap();
        assert!(reply(&mut r).starts_with("250 2.0.0 Ok: queued"));
        assert!(reply(&mut r).starts_with("221 "));
    }
}
