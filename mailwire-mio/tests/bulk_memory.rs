//! The bulk sender holds a bounded number of content bytes per connection, whatever the window
//! in messages and whatever the size of a message: content is pulled from its source as the
//! core takes it (the core's body buffer, 256 KiB by default, and one read buffer), never
//! handed over whole. Measured as the high-water mark of heap bytes the sending thread holds
//! (its own test binary: it installs a counting allocator), against Postfix's `smtp-sink`.

use mailwire::{ClientName, Config, Envelope, Mailbox, Timeouts, TlsPolicy};
use mailwire_mio::bulk::{self, BulkConfig, BulkMessage, Content};
use mailwire_testkit::{dotted_text, peak_heap, peer_or_skip, PeakAlloc, SmtpSink};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

/// What a connection may hold: the core's body buffer, its output and the driver's (they swap,
/// each up to twice the body buffer as it grows), staged content, one read buffer, and the
/// sessions' own small state (measured: 1.5 to 2 MB).
const BOUND: usize = 4 << 20;

fn config(sink: &SmtpSink) -> BulkConfig {
    let mut session = Config::new(ClientName::parse("client.test").unwrap());
    session.tls = TlsPolicy::Never;
    session.timeouts = Timeouts::uniform(Duration::from_secs(30));
    let mut config = BulkConfig::new(sink.addr(), session);
    config.window = 32;
    config
}

fn envelope() -> Envelope {
    Envelope::new(
        Some(Mailbox::parse("sender@example.org").unwrap()),
        [Mailbox::parse("rcpt@example.net").unwrap()],
    )
}

/// 40 messages of 1 MiB (shared bytes), 32 queued at a time on one connection (the window in
/// bytes lifted so that the window in messages is the limit): every one accepted, and the
/// sending thread never holds more than the bound, though 32 MiB of content are queued.
#[test]
fn window_of_32_one_mib_messages_holds_the_body_buffer() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let body: Arc<[u8]> = dotted_text(1 << 20).into();
    let mut config = config(&sink);
    config.window_bytes = u64::MAX;
    let start = Instant::now();
    let (summary, peak) = peak_heap(|| {
        let messages = (0..40).map(|_| BulkMessage::new(envelope(), Arc::clone(&body)));
        bulk::run(&config, messages, |_| {}).unwrap()
    });
    assert_eq!(summary.accepted, 40, "{summary:?}");
    eprintln!("peak heap: {peak} bytes");
    assert!(peak < BOUND, "held {peak} bytes at once");
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// One message of 64 MiB streamed from a file: the same bound; the message's size does not
/// show in the memory.
#[test]
fn sixty_four_mib_file_holds_the_body_buffer() {
    let sink = peer_or_skip!(SmtpSink::builder().start());
    let dir = std::env::temp_dir().join(format!("mailwire-mio-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.eml");
    {
        let block = dotted_text(1 << 20);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..64 {
            file.write_all(&block).unwrap();
        }
        file.flush().unwrap();
    }
    let config = config(&sink);
    let (summary, peak) = peak_heap(|| {
        let message = BulkMessage::new(envelope(), Content::file(&path));
        bulk::run(&config, [message], |r| assert!(r.is_accepted(), "{r:?}")).unwrap()
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(summary.accepted, 1, "{summary:?}");
    eprintln!("peak heap: {peak} bytes");
    assert!(peak < BOUND, "held {peak} bytes at once");
}
