//! Counts heap allocations per parsed reply for each parser of the `reply_parse` bench, with a
//! counting global allocator (kept out of the timed benches so it costs them nothing).
//!
//! Prints one JSON object: `{"single": {"ours": 0.0, "lettre": 3.0, ...}, ...}`, allocations
//! per reply in steady state (after two warm-up replies).
use std::alloc::{GlobalAlloc, Layout, System};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUNDS: u64 = 1000;

/// Allocations per call of `f`, after two warm-up calls (our parser swaps its buffer with the
/// caller's `Reply`, so both buffers must have grown once).
fn per_call(mut f: impl FnMut()) -> f64 {
    f();
    f();
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..ROUNDS {
        f();
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / ROUNDS as f64
}

fn main() {
    let mut shapes = Vec::new();
    for (name, bytes) in mailwire_benches::replies() {
        let mut parser = mailwire::ReplyParser::new(mailwire::ParserConfig::default());
        let mut reply = mailwire::Reply::default();
        let ours = per_call(|| {
            let status = parser.parse(&bytes, &mut reply).unwrap();
            assert!(matches!(status, mailwire::Status::Complete { .. }));
        });
        let lettre = per_call(|| {
            let text = std::str::from_utf8(&bytes).unwrap();
            let r = lettre::transport::smtp::response::Response::from_str(text).unwrap();
            std::hint::black_box(r);
        });
        let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
        let stalwart = per_call(|| {
            receiver.reset();
            let r = receiver.parse(&mut bytes.iter()).unwrap();
            std::hint::black_box(r);
        });
        shapes.push(format!(
            "\"{name}\": {{\"ours\": {ours}, \"lettre\": {lettre}, \"stalwart\": {stalwart}, \"memchr\": 0}}"
        ));
    }
    println!("{{{}}}", shapes.join(", "));
}
