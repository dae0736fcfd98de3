//! Drives the core over an in-memory pipe against a tiny scripted server: the smallest complete
//! adapter. Run with `cargo run -p mailwire --example in_memory`.

use mailwire::{Client, ClientName, Config, Envelope, Event, Mailbox, Timestamp, TlsPolicy};

/// A server that answers each complete command line (and the content) from a script.
struct ScriptedServer {
    inbox: Vec<u8>,
    in_data: bool,
    received: Vec<u8>,
}

impl ScriptedServer {
    fn greeting() -> &'static [u8] {
        b"220 memory.example ESMTP ready\r\n"
    }

    /// Consumes client bytes and returns the server's replies.
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.inbox.extend_from_slice(bytes);
        let mut replies = Vec::new();
        while let Some(pos) = self.inbox.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.inbox.drain(..pos + 2).collect();
            let line = &line[..line.len() - 2];
            if self.in_data {
                if line == b"." {
                    self.in_data = false;
                    replies.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
                } else {
                    self.received
                        .extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
                    self.received.extend_from_slice(b"\r\n");
                }
                continue;
            }
            let verb = line
                .split(|&b| b == b' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            replies.extend_from_slice(match verb.as_slice() {
                b"EHLO" => b"250-memory.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n".as_slice(),
                b"MAIL" | b"RCPT" | b"RSET" | b"NOOP" => b"250 2.0.0 Ok\r\n",
                b"DATA" => {
                    self.in_data = true;
                    b"354 End data with <CR><LF>.<CR><LF>\r\n"
                }
                b"QUIT" => b"221 2.0.0 Bye\r\n",
                _ => b"502 5.5.2 Error: command not recognized\r\n",
            });
        }
        replies
    }
}

fn main() {
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.transcript = true;
    // A virtual clock: the core never reads one.
    let mut now = Timestamp::ZERO;
    let mut client = Client::new(config, now).expect("configuration");
    let mut server = ScriptedServer {
        inbox: Vec::new(),
        in_data: false,
        received: Vec::new(),
    };

    let envelope = Envelope::new(
        Some(Mailbox::parse("alice@example.org").unwrap()),
        [Mailbox::parse("bob@example.net").unwrap()],
    );
    let id = client
        .send_message_with_body(envelope, b"Subject: in memory\n\n.leading dot\nbye\n")
        .unwrap();
    client.quit().unwrap();

    let mut to_client = ScriptedServer::greeting().to_vec();
    let mut wire = Vec::new();
    loop {
        now = now.saturating_add(std::time::Duration::from_millis(1));
        if !to_client.is_empty() {
            client.handle_input(now, &std::mem::take(&mut to_client));
        }
        wire.clear();
        if client.poll_transmit(now, &mut wire) > 0 {
            to_client = server.receive(&wire);
        }
        let mut closed = false;
        while let Some(event) = client.poll_event() {
            match event {
                Event::Transcript(t) => {
                    let arrow = if t.direction == mailwire::Direction::Sent {
                        "->"
                    } else {
                        "<-"
                    };
                    println!("{arrow} {}", String::from_utf8_lossy(&t.line));
                }
                Event::MessageDone(outcome) => {
                    assert_eq!(outcome.message, id);
                    println!("outcome: {:?}", outcome.verdict);
                }
                Event::Closed(result) => {
                    println!("closed: {result:?}");
                    closed = true;
                }
                _ => {}
            }
        }
        if closed {
            break;
        }
    }
    println!(
        "--- the server received ---\n{}",
        String::from_utf8_lossy(&server.received)
    );
}
