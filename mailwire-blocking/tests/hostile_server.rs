//! The adapter against every scripted hostile server of `mailwire_testkit::hostile` (drip-fed
//! replies, silence, 421 at several stages, garbage, a stray reply, close mid-reply, a server
//! that stops reading, BDAT without PIPELINING, a reply mid-content): the same table
//! `mailwire-tokio` runs, so both adapters must give the same answers.

mod support;

use mailwire_blocking::mailwire::TlsPolicy;
use mailwire_blocking::Client;
use mailwire_testkit::hostile::{run_table, Action, Case, FailingBody, Observed};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use support::*;

/// A reader over `body` that counts how much of it was read.
struct Counted(std::io::Cursor<Vec<u8>>, Arc<AtomicUsize>);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.fetch_add(n, Ordering::SeqCst);
        Ok(n)
    }
}

fn run(case: &Case, port: u16) -> Observed {
    let start = Instant::now();
    let mut body_read = None;
    let mut o = options(port, case.timeout);
    if case.starttls {
        o.config.tls = TlsPolicy::Required;
        o.tls.danger_accept_invalid_certs = true;
    }
    let connected = Client::connect(o);
    let (result, client) = match (connected, case.action) {
        (Err(e), _) => (Err(e), None),
        (Ok(c), Action::Connect) => (Ok(None), Some(c)),
        (Ok(mut c), Action::SendBytes { to, body }) => {
            let r = c.send_bytes(envelope("a@example.org", to), body);
            (r.map(Some), Some(c))
        }
        (Ok(mut c), Action::Stream { body }) => {
            let count = Arc::new(AtomicUsize::new(0));
            let reader = Counted(std::io::Cursor::new(body()), Arc::clone(&count));
            let r = c.send(envelope("a@example.org", &["b@example.net"]), reader);
            body_read = Some(count.load(Ordering::SeqCst));
            (r.map(Some), Some(c))
        }
        (Ok(mut c), Action::FailingBody) => {
            let r = c.send(
                envelope("a@example.org", &["b@example.net"]),
                FailingBody::default(),
            );
            (r.map(Some), Some(c))
        }
    };
    let elapsed = start.elapsed();
    let after = match client {
        Some(mut c) if case.sticky => Some(c.noop()),
        _ => None,
    };
    Observed {
        result,
        elapsed,
        after,
        body_read,
    }
}

/// Every case of the shared table (each one's doc is its `about`, with the RFC).
#[test]
fn hostile_servers() {
    run_table(run);
}
