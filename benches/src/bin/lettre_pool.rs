//! lettre 0.11's `SmtpTransport` with its connection pool, as shipped, for the many-connection
//! comparison in `mailwire-mio/scripts/bench-bulk.sh`: K threads share one transport whose pool holds
//! up to K connections, and send `messages` 1-recipient messages of `size` bytes between them.
//!
//! ```text
//! lettre_pool PORT CONNECTIONS MESSAGES SIZE
//! ```
//! Prints `messages seconds` on success. 127.0.0.1 only.

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{SmtpTransport, Transport};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("lettre_pool PORT CONNECTIONS MESSAGES SIZE")
        })
        .collect();
    let [port, k, messages, size] = args[..] else {
        eprintln!("usage: lettre_pool PORT CONNECTIONS MESSAGES SIZE");
        std::process::exit(2);
    };
    let port = u16::try_from(port).expect("port");
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(k as u32))
        .build();
    let mut body =
        b"From: bench@example.org\r\nTo: sink@example.net\r\nSubject: bench\r\n\r\n".to_vec();
    while body.len() + 72 < size {
        body.extend_from_slice(&[b'x'; 70]);
        body.extend_from_slice(b"\r\n");
    }
    let envelope = Envelope::new(
        Some("bench@example.org".parse().unwrap()),
        vec!["sink@example.net".parse().unwrap()],
    )
    .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..k)
        .map(|_| {
            let (transport, envelope, body, next) = (
                transport.clone(),
                envelope.clone(),
                body.clone(),
                next.clone(),
            );
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < messages {
                    transport.send_raw(&envelope, &body).expect("lettre send");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("sender thread");
    }
    println!("{messages} {:.3}", start.elapsed().as_secs_f64());
}
