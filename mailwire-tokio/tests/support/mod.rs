//! Test support: the scripted servers of `mailwire_testkit`, and small helpers.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use mailwire_testkit::mock::*;
use mailwire_tokio::mailwire::{ClientName, Envelope, Mailbox, Timeouts, TlsPolicy};
use mailwire_tokio::ClientOptions;
use std::time::Duration;

/// Client options for a plaintext local server, with a short uniform timeout.
pub fn options(port: u16, timeout: Duration) -> ClientOptions {
    let mut o = ClientOptions::new("127.0.0.1", port, ClientName::parse("client.test").unwrap());
    o.config.tls = TlsPolicy::Never;
    o.config.timeouts = Timeouts::uniform(timeout);
    o.connect_timeout = timeout;
    o
}

pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope::new(
        Some(Mailbox::parse(from).unwrap()),
        to.iter().map(|a| Mailbox::parse(a).unwrap()),
    )
}

/// A multi-threaded runtime for a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a server stores for `content` sent as DATA: line ends as CRLF, and a final CRLF added
/// when missing.
pub fn normalised(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 2);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}
