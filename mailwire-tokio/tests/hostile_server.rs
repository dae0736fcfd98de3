//! The adapter against every scripted hostile server of `mailwire_testkit::hostile` (drip-fed
//! replies, silence, 421 at several stages, garbage, a stray reply, close mid-reply, a server
//! that stops reading, BDAT without PIPELINING, a reply mid-content): the same table
//! `mailwire-blocking` runs, so both adapters must give the same answers.

mod support;

use mailwire_testkit::hostile::{run_table, Action, Case, Observed};
use mailwire_tokio::mailwire::TlsPolicy;
use mailwire_tokio::Client;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use support::*;
use tokio::io::{AsyncRead, ReadBuf};

/// A reader over `body` that counts how much of it was read.
struct Counted(std::io::Cursor<Vec<u8>>, Arc<AtomicUsize>);

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.1.fetch_add(n, Ordering::SeqCst);
        polled
    }
}

/// Six bytes, then an error.
struct Failing(bool);

impl AsyncRead for Failing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Err(std::io::Error::other("disk on fire")))
        } else {
            buf.put_slice(b"part\r\n");
            Poll::Ready(Ok(()))
        }
    }
}

async fn run(case: &Case, port: u16) -> Observed {
    let start = Instant::now();
    let mut body_read = None;
    let mut o = options(port, case.timeout);
    if case.starttls {
        o.config.tls = TlsPolicy::Required;
        o.tls.danger_accept_invalid_certs = true;
    }
    let connected = Client::connect(o).await;
    let (result, client) = match (connected, case.action) {
        (Err(e), _) => (Err(e), None),
        (Ok(c), Action::Connect) => (Ok(None), Some(c)),
        (Ok(mut c), Action::SendBytes { to, body }) => {
            let r = c.send_bytes(envelope("a@example.org", to), body).await;
            (r.map(Some), Some(c))
        }
        (Ok(mut c), Action::Stream { body }) => {
            let count = Arc::new(AtomicUsize::new(0));
            let reader = Counted(std::io::Cursor::new(body()), Arc::clone(&count));
            let r = c
                .send(envelope("a@example.org", &["b@example.net"]), reader)
                .await;
            body_read = Some(count.load(Ordering::SeqCst));
            (r.map(Some), Some(c))
        }
        (Ok(mut c), Action::FailingBody) => {
            let r = c
                .send(
                    envelope("a@example.org", &["b@example.net"]),
                    Failing(false),
                )
                .await;
            (r.map(Some), Some(c))
        }
    };
    let elapsed = start.elapsed();
    let after = match client {
        Some(mut c) if case.sticky => Some(c.noop().await),
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
    let rt = runtime();
    run_table(|case, port| rt.block_on(run(case, port)));
}
