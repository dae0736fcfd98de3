//! Drives the core over a child process that speaks SMTP on its stdin/stdout, such as
//! `exim4 -bs` (Exim's "batched SMTP on standard input"). The same few verbs work over pipes as
//! over sockets: this is what porting to an unusual I/O stack looks like.
//!
//! ```text
//! cargo run -p mailwire --example child_process -- exim4 -bs
//! cargo run -p mailwire --example child_process -- exim4 -C /path/to/test.conf -bs
//! ```
//! The message is addressed to `postmaster@localhost` unless `SMTP_EXAMPLE_TO` says otherwise.

use mailwire::{Client, ClientName, Config, Envelope, Event, Mailbox, Timestamp, TlsPolicy};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (program, rest) = match args.split_first() {
        Some((p, r)) => (p.clone(), r.to_vec()),
        None => ("exim4".to_string(), vec!["-bs".to_string()]),
    };
    let mut child = match Command::new(&program)
        .args(&rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start {program}: {e}");
            std::process::exit(1);
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();

    // Pipes have no read timeout: a reader thread hands chunks over a channel, and the loop
    // waits on the channel with the core's deadline.
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Vec::new());
                    return;
                }
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });

    let epoch = Instant::now();
    let now = || Timestamp::from_instant(epoch, Instant::now());
    let mut config = Config::new(ClientName::parse("client.example").unwrap());
    config.tls = TlsPolicy::Never;
    config.transcript = true;
    config.timeouts = mailwire::Timeouts::uniform(Duration::from_secs(10));
    let mut client = Client::new(config, now()).expect("configuration");

    let to = std::env::var("SMTP_EXAMPLE_TO").unwrap_or_else(|_| "postmaster@localhost".into());
    let envelope = Envelope::new(
        Some(Mailbox::parse("example@localhost").unwrap()),
        [Mailbox::parse(&to).expect("SMTP_EXAMPLE_TO is not a valid address")],
    );
    client
        .send_message_with_body(envelope, b"Subject: over a pipe\n\nHello from mailwire.\n")
        .unwrap();
    client.quit().unwrap();

    let mut wire = Vec::new();
    let result = loop {
        wire.clear();
        if client.poll_transmit(now(), &mut wire) > 0 && stdin.write_all(&wire).is_err() {
            client.handle_closed(now());
        }
        let mut outcome = None;
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
                Event::Closed(r) => outcome = Some(r),
                other => println!("   {other:?}"),
            }
        }
        if let Some(r) = outcome {
            break r;
        }
        let wait = client
            .poll_timeout()
            .map(|t| {
                t.to_instant(epoch)
                    .saturating_duration_since(Instant::now())
            })
            .unwrap_or(Duration::from_secs(10));
        match rx.recv_timeout(wait) {
            Ok(bytes) if bytes.is_empty() => client.handle_closed(now()),
            Ok(bytes) => client.handle_input(now(), &bytes),
            Err(_) => client.handle_timeout(now()),
        }
    };
    drop(stdin);
    let _ = child.wait();
    println!("session ended: {result:?}");
    if result.is_err() {
        std::process::exit(1);
    }
}
