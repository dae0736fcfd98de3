//! Drives the core over a tokio `TcpStream`: the same verbs in an async runtime (tokio is only a
//! dev-dependency of this example; the core knows nothing of it).
//!
//! ```text
//! cargo run -p mailwire --example tokio_tcp -- 127.0.0.1:2525 from@example.org to@example.net
//! ```

use mailwire::{Client, ClientName, Config, Envelope, Event, Mailbox, Timestamp, TlsPolicy};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let server = args.next().unwrap_or_else(|| "127.0.0.1:25".into());
    let from = args.next().unwrap_or_else(|| "sender@example.org".into());
    let to = args
        .next()
        .unwrap_or_else(|| "postmaster@example.org".into());

    let mut stream = TcpStream::connect(&server).await?;
    stream.set_nodelay(true)?;
    let epoch = Instant::now();
    let now = || Timestamp::from_duration(epoch.elapsed());

    let mut config = Config::new(ClientName::parse("client.example")?);
    config.tls = TlsPolicy::Never; // TLS would wrap `stream` with tokio-rustls here
    config.transcript = true;
    let mut client = Client::new(config, now()).expect("configuration");
    let envelope = Envelope::new(Some(Mailbox::parse(&from)?), [Mailbox::parse(&to)?]);
    client.send_message_with_body(envelope, b"Subject: from tokio\n\nHello.\n")?;
    client.quit()?;

    let mut wire = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        wire.clear();
        if client.poll_transmit(now(), &mut wire) > 0 {
            stream.write_all(&wire).await?;
        }
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
                Event::Closed(result) => {
                    println!("session ended: {result:?}");
                    return Ok(result?);
                }
                other => println!("   {other:?}"),
            }
        }
        let deadline = client
            .poll_timeout()
            .map(|t| epoch + t.as_duration())
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(300));
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) => client.handle_closed(now()),
            Ok(Ok(n)) => client.handle_input(now(), &buf[..n]),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => client.handle_timeout(now()),
        }
    }
}
