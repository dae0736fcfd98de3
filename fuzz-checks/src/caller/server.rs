//! The scripted server of `caller_api`: the capabilities the setup gives it, and a reply in the
//! style an [`super::Op::Answer`] picks for each command the client handed out, in order. It
//! never answers a command before `poll_transmit` handed it out.

use super::input::{Setup, SERVER_SIZES};
use std::collections::VecDeque;

/// What a command handed out awaits from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Await {
    Greeting,
    Hello {
        extended: bool,
    },
    StartTls,
    Auth,
    Mail,
    /// A RCPT of transaction `txn`.
    Rcpt {
        txn: usize,
    },
    Data,
    /// The reply after the content (LMTP: one per accepted recipient).
    DataEnd,
    Bdat,
    Rset,
    Side,
    Xclient,
    Xforward,
    Quit,
}

/// The server: its capabilities, and the replies it owes, in order.
pub(super) struct Server {
    pub(super) setup: Setup,
    pub(super) lmtp: bool,
    pub(super) secure: bool,
    pub(super) awaiting: VecDeque<Await>,
    /// Positive RCPT replies per transaction (LMTP: replies owed after its content).
    pub(super) rcpt_ok: Vec<usize>,
}

impl Server {
    pub(super) fn caps(&self, bit: u32) -> bool {
        self.setup.server & (1 << bit) != 0
    }

    /// The EHLO (LHLO) reply, capabilities as the setup says.
    fn ehlo(&self) -> Vec<u8> {
        let mut lines: Vec<String> = vec!["mx.example greets you".into()];
        const FLAGS: [(u32, &str); 12] = [
            (0, "PIPELINING"),
            (1, "CHUNKING"),
            (2, "8BITMIME"),
            (3, "SMTPUTF8"),
            (4, "DSN"),
            (5, "STARTTLS"),
            (6, "SIZE"),
            (7, "BINARYMIME"),
            (8, "REQUIRETLS"),
            (9, "DELIVERBY"),
            (10, "MT-PRIORITY"),
            (11, "ENHANCEDSTATUSCODES"),
        ];
        for (bit, name) in FLAGS {
            if !self.caps(bit) {
                continue;
            }
            match bit {
                5 if self.secure && !self.caps(15) => {}
                6 => {
                    let size =
                        SERVER_SIZES[usize::from(self.setup.server_size) % SERVER_SIZES.len()];
                    lines.push(format!("SIZE{size}"));
                }
                _ => lines.push(name.into()),
            }
        }
        const MECHS: [&str; 8] = [
            "PLAIN",
            "LOGIN",
            "CRAM-MD5",
            "XOAUTH2",
            "OAUTHBEARER",
            "SCRAM-SHA-1",
            "SCRAM-SHA-256",
            "X-UNKNOWN",
        ];
        let offered: Vec<&str> = (0..8)
            .filter(|i| self.setup.server_auth & (1 << i) != 0)
            .map(|i| MECHS[i])
            .collect();
        if !offered.is_empty() {
            lines.push(format!("AUTH {}", offered.join(" ")));
        }
        if self.setup.xclient & 4 != 0 {
            lines.push(if self.setup.xclient & 8 != 0 {
                "XCLIENT NAME HELO".into()
            } else {
                "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT".into()
            });
            lines.push("XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT".into());
        }
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.extend_from_slice(format!("250{sep}{line}\r\n").as_bytes());
        }
        out
    }

    /// The reply to `awaited` in `style`: `style & 15` below 8 positive (for AUTH, bits 4–5 pick
    /// 235 or a 334 challenge), 8 transient (4yz), 9 permanent (5yz; 502 to EHLO), 10 421, 11
    /// positive over two lines, 12 positive with an enhanced code, 13 503, 14 354 (250 to DATA),
    /// 15 555.
    pub(super) fn reply(&self, awaited: Await, style: u8) -> Vec<u8> {
        let positive = match awaited {
            Await::Greeting if self.caps(12) => "220 mx.example Service ready",
            Await::Greeting => "220 mx.example ESMTP Service ready",
            Await::Hello { extended: true } if style & 15 < 8 || style & 15 == 11 => {
                return self.ehlo();
            }
            Await::Hello { .. } => "250 mx.example",
            Await::StartTls => "220 2.0.0 Ready to start TLS",
            Await::Auth => match style >> 4 & 3 {
                0 => "235 2.7.0 Authentication successful",
                1 => "334 VXNlcm5hbWU6",
                2 => "334 UGFzc3dvcmQ6",
                _ => "334 PDEyMzQ1QGV4YW1wbGU+",
            },
            Await::Data => "354 End data with <CR><LF>.<CR><LF>",
            Await::Quit => "221 2.0.0 Bye",
            Await::Side => "250 2.0.0 OK",
            // Postfix starts over with a greeting; older servers and smtp-sink say 250.
            Await::Xclient if self.setup.xclient & 16 == 0 => "220 mx.example ESMTP",
            _ => "250 2.0.0 OK",
        };
        let code = &positive[..3];
        let text = match style & 15 {
            0..=7 => positive.to_string(),
            8 => match awaited {
                Await::Rcpt { .. } => "452 4.5.3 Too many recipients".into(),
                Await::Auth | Await::StartTls => "454 4.7.0 Temporary failure".into(),
                _ => "451 4.3.0 Try again later".into(),
            },
            9 => match awaited {
                Await::Hello { .. } => "502 5.5.1 Command not implemented".into(),
                Await::Auth => "535 5.7.8 Authentication credentials invalid".into(),
                Await::Data | Await::DataEnd | Await::Bdat => "554 5.6.0 Message refused".into(),
                _ => "550 5.1.1 Mailbox unavailable".into(),
            },
            10 => "421 4.3.2 Service shutting down".into(),
            11 => format!("{code}-first line\r\n{code} second line"),
            12 => format!("{code} 2.1.0 fine"),
            13 => "503 5.5.1 Bad sequence of commands".into(),
            14 if awaited == Await::Data => "250 2.0.0 not what DATA expects".into(),
            14 => "354 not what this command expects".into(),
            _ => "555 5.5.4 Parameter not recognised".into(),
        };
        let mut out = text.into_bytes();
        // Every reply the session may hand back in an event ends with what it answered, so
        // that an event carrying another command's reply is caught where it happens, not
        // several replies later. Not the greeting or HELO/EHLO replies (their text is parsed),
        // nor an AUTH challenge (its text is base64).
        if let Some(tag) = awaited.tag() {
            if !out.starts_with(b"334 ") {
                out.extend_from_slice(format!(" [{tag}]").as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

impl Await {
    /// The word that ends this command's replies: `[rcpt]`, `[end]` and so on.
    pub(super) fn tag(self) -> Option<&'static str> {
        Some(match self {
            Await::Greeting | Await::Hello { .. } => return None,
            Await::StartTls => "starttls",
            Await::Auth => "auth",
            Await::Mail => "mail",
            Await::Rcpt { .. } => "rcpt",
            Await::Data => "data",
            Await::DataEnd => "end",
            Await::Bdat => "bdat",
            Await::Rset => "rset",
            Await::Side => "side",
            Await::Xclient => "xclient",
            Await::Xforward => "xforward",
            Await::Quit => "quit",
        })
    }
}

/// The command a reply of [`Server::reply`] answered, from the tag ending its last line.
pub(super) fn answered(reply: &mailwire::Reply) -> Option<&str> {
    let last = reply.lines().last()?;
    let inner = std::str::from_utf8(last).ok()?.strip_suffix(']')?;
    let at = inner.rfind(" [")?;
    inner.get(at + 2..)
}
