//! A hint to the CPU to start loading content the scan will reach soon.
//!
//! The content an encoder scans is mostly not in any cache: between two messages the kernel's
//! socket buffers and the server's reads pass more bytes through the caches than they hold. A
//! loop of vector loads then waits on memory at every line it reaches, where `memcpy`'s `rep
//! movsb` (what a client that sends pre-encoded content pays) reads the same cold memory much
//! faster. Asking for the lines 4 KiB ahead, from the wide blocks and once at the start of each
//! run, closes most of that. Measured here (`cargo bench --bench body_encode`, against a saved
//! baseline of the code without it): the AVX-512BW scan of 100 MiB of CRLF text 18.0 → 10.2 ms
//! (portable 21.3 → 11.5; `memcpy` of the same 16.0), of text with bare LFs 28.1 → 23.1–23.4, a
//! session taking it 64 KiB at a time 19.5 → 10.9 ms; 1 MiB in cache within ±4% either way. On
//! 200 × 1 MiB to smtp-sink (the bench's dotted body, `perf stat -e user_time,system_time
//! target/release/e2e client KIND …`, CPU µs per message, medians of 9 interleaved runs) less in every set, by 1–14%: `bulk::run` 439 → 379 and `send_bytes`
//! 453 → 432 (wide blocks only, an early form), 399 → 384 and `send_many` 392 → 389 (wide
//! blocks only), and with the code as it is `bulk::run` 433 → 398, `send_many` 427 → 399,
//! `send_bytes` 474 → 459.
//!
//! This is the crate's second module with `unsafe` code: one block, two hints.
#![allow(unsafe_code)]

/// How far ahead of the scan the lines are asked for: in a harness sending 1 MiB messages to
/// smtp-sink and timing the encoding alone (made to measure only, not in the repository; see
/// "Where the CPU goes" in `docs/PERFORMANCE.md`), 512 B to 2 KiB ahead gave part of the gain,
/// 4 KiB the most, 8 KiB about as much, 16 and 32 KiB none.
pub(crate) const AHEAD: usize = 4096;

/// Asks for the cache line that holds `s[at]`, and the one after it, if `at` is inside `s`.
/// A hint only: it changes no value, and a CPU may ignore it.
#[inline(always)]
pub(crate) fn lines(s: &[u8], at: usize) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    if let Some(byte) = s.get(at) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let line = core::ptr::from_ref(byte).cast::<i8>();
        // SAFETY: `_mm_prefetch` needs SSE, which this build has (the `cfg` above; every
        // x86-64 target has it). PREFETCHT0 is a hint that reads nothing into the program and
        // never faults (Intel SDM, PREFETCHh: no exception for any address), so neither address
        // needs to be valid; the first is derived from a reference into `s` and the second is
        // made with `wrapping_add`, so forming them is defined too.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line);
            _mm_prefetch::<_MM_HINT_T0>(line.wrapping_add(64));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = (s, at);
}
