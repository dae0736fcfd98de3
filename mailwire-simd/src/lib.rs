//! The content scan of the mailwire SMTP client core: how many bytes at the start of a run of
//! message content go on the wire unchanged.
//!
//! An SMTP client must send every line end as CRLF (RFC 5321 2.3.8) and, inside DATA, double a
//! dot that starts a line (RFC 5321 4.5.2). Text that already obeys both is copied as it is, so
//! the encoders in `mailwire::body` spend their time finding where it stops obeying them:
//! [`clean_prefix`]. That is one pass over neighbouring byte pairs `(p, b)`, bad when a CR is
//! not followed by an LF or an LF not preceded by a CR (`(p == CR) != (b == LF)`), or, when
//! stuffing, when a dot follows an LF.
//!
//! [`Scanner::copy_clean_prefix`] also copies the run as it scans it, so that the encoders read
//! the content once: a body not in cache (the usual case: the kernel's socket buffers evict it)
//! costs its first read once, not a scan and then a copy.
//!
//! [`Scanner::tally`] is the other pass, for measuring content before it is sent (the RFC 1870
//! size leaves stuffed dots out): the same pair test summed over the whole input instead of
//! searched for, with an OR of the bytes for the 8-bit test.
//!
//! # Why a crate of its own
//! The loop is written once, in safe code the compiler vectorises ([`Variant::Portable`]: SSE2
//! on plain x86-64, NEON on aarch64). Built for a wider vector unit it runs about twice as fast
//! or more (AVX2, AVX-512BW: the `body_encode` scan rows of `docs/PERFORMANCE.md`), but a
//! library cannot assume its users' CPUs, and calling code compiled for a CPU feature that was
//! detected at run time takes `unsafe`, which the core forbids. So the
//! detection and those calls live here, in one module (`x86.rs`), after `std` has detected the
//! feature. The other `unsafe` is a prefetch hint (`prefetch.rs`: the scan asks for the content
//! 4 KiB ahead, which takes about 40% off its time on CRLF text not in cache); the rest of this
//! crate denies `unsafe_code`, and every other crate of the family forbids it.
//!
//! # Guarantees
//! Every variant returns the same value as the byte-at-a-time definition on every input, and
//! its copies put exactly the bytes of that run (`tests/equivalence.rs` runs each variant the
//! machine has against it), never reads or writes outside its slices (all indexing is checked,
//! in safe code), and never panics.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

use alloc::vec::Vec;

pub use tally::Tally;

mod portable;
mod prefetch;
mod tally;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86;

/// One compiled form of the scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// The loop as the build targets it (SSE2 on plain x86-64 builds).
    Portable,
    /// The loop compiled for AVX2 (x86-64, chosen at run time).
    Avx2,
    /// The loop compiled for AVX-512BW (x86-64, chosen at run time).
    Avx512Bw,
}

impl Variant {
    /// Every variant, widest first.
    pub const ALL: [Variant; 3] = [Variant::Avx512Bw, Variant::Avx2, Variant::Portable];

    /// Its name, as the benchmarks report it.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Portable => "portable",
            Variant::Avx2 => "avx2",
            Variant::Avx512Bw => "avx512bw",
        }
    }

    /// Whether this machine (and this build) can run it.
    pub fn is_available(self) -> bool {
        match self {
            Variant::Portable => true,
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx2 => x86::has_avx2(),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx512Bw => x86::has_avx512bw(),
            #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
            Variant::Avx2 | Variant::Avx512Bw => false,
        }
    }
}

/// The variant [`clean_prefix`] and the copying scan run on this machine: AVX2 when it has it,
/// even beside AVX-512BW, else the portable loop. The scan ends at every dot and bare line end,
/// and on both CPUs measured here the 512-bit form was slower, never faster: on an AMD Zen 4
/// (family 25) the copying scan of 1 MiB in cache took 60 µs in AVX-512BW against 47 in AVX2,
/// on a Zen 5 (family 26) 77 against 73 (`docs/PERFORMANCE.md`). No Intel CPU with AVX-512 was
/// there to measure.
pub fn active() -> Variant {
    [Variant::Avx2, Variant::Portable]
        .into_iter()
        .find(|v| v.is_available())
        .unwrap_or(Variant::Portable)
}

/// The variant [`Scanner::tally`] runs: the widest available. The tally stops nowhere, and
/// there AVX-512BW was as fast as AVX2 on the Zen 4 and faster on the Zen 5 (25.5 µs against
/// 29.4 per MiB).
pub fn active_tally() -> Variant {
    Variant::ALL
        .into_iter()
        .find(|v| v.is_available())
        .unwrap_or(Variant::Portable)
}

/// The scan as chosen once: [`Scanner::new`] detects the CPU's features, and each
/// [`Scanner::clean_prefix`] then costs no detection (the encoders take one per call, and call
/// it once per run of content).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanner {
    /// For the scan and the copying scan.
    scan: Variant,
    /// For the tally.
    tally: Variant,
}

impl Scanner {
    /// The variants this machine runs best: [`active`] for the scans, [`active_tally`] for the
    /// tally.
    pub fn new() -> Scanner {
        Scanner {
            scan: active(),
            tally: active_tally(),
        }
    }

    /// A scanner of `variant` for every pass, if this machine (and this build) can run it. For
    /// tests and benchmarks.
    pub fn with(variant: Variant) -> Option<Scanner> {
        variant.is_available().then_some(Scanner {
            scan: variant,
            tally: variant,
        })
    }

    /// The variant its scans run.
    pub fn variant(self) -> Variant {
        self.scan
    }

    /// The variant its tally runs.
    pub fn tally_variant(self) -> Variant {
        self.tally
    }

    /// [`clean_prefix`], by this scanner's variant.
    #[inline]
    pub fn clean_prefix(self, s: &[u8], stuff: bool) -> usize {
        match self.scan {
            // The fields are private and only `new()` and `with()` set them, each to a variant
            // `is_available` said this CPU has (so in every method below too).
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx2 => x86::clean_prefix_avx2_detected(s, stuff),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx512Bw => x86::clean_prefix_avx512bw_detected(s, stuff),
            _ => portable::clean_prefix(s, stuff),
        }
    }

    /// [`clean_prefix`], and the run appended to `out` in the same pass: the content is read
    /// once, each block copied while the scan holds it. Returns the run's length; `out` gains
    /// exactly `s[..run]` (reserve room first: the copy goes a block at a time).
    ///
    /// ```
    /// use mailwire_simd::Scanner;
    /// let mut out = b">".to_vec();
    /// assert_eq!(Scanner::new().copy_clean_prefix(b"ab\r\n.cd", true, &mut out), 4);
    /// assert_eq!(out, b">ab\r\n");
    /// ```
    #[inline]
    pub fn copy_clean_prefix(self, s: &[u8], stuff: bool, out: &mut Vec<u8>) -> usize {
        let found = match self.scan {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx2 => x86::copy_avx2_detected(s, stuff, out),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx512Bw => x86::copy_avx512bw_detected(s, stuff, out),
            _ => portable::copy_clean_prefix(s, stuff, out),
        };
        portable::finish(s, found, out)
    }

    /// [`Scanner::copy_clean_prefix`] into the start of `dst`: the run of `s` cut to
    /// `dst.len()` bytes (a CR at that cut is left out, as at the end of any input). Returns
    /// the run's length; `dst[..run]` holds it, the rest of `dst` is untouched.
    ///
    /// ```
    /// use mailwire_simd::Scanner;
    /// let mut dst = [0u8; 4];
    /// assert_eq!(Scanner::new().copy_clean_prefix_into(b"abc\r\nd", true, &mut dst), 3);
    /// assert_eq!(&dst[..3], b"abc");
    /// ```
    #[inline]
    pub fn copy_clean_prefix_into(self, s: &[u8], stuff: bool, dst: &mut [u8]) -> usize {
        let s = s.get(..dst.len()).unwrap_or(s);
        let mut out = portable::Filling { dst, at: 0 };
        let found = match self.scan {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx2 => x86::copy_avx2_detected(s, stuff, &mut out),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx512Bw => x86::copy_avx512bw_detected(s, stuff, &mut out),
            _ => portable::copy_clean_prefix(s, stuff, &mut out),
        };
        portable::finish(s, found, &mut out)
    }
}

impl Scanner {
    /// Counts what measuring content needs from `s` ([`Tally`]): the pairs of its bytes that
    /// are a CR without its LF or an LF without its CR, and whether it has an octet above 127.
    /// One pass that stops nowhere, for a meter of the RFC 1870 size (which leaves stuffed
    /// dots out, so the dots need not be found).
    ///
    /// ```
    /// use mailwire_simd::Scanner;
    /// let t = Scanner::new().tally(b"a\nb\r\nc\rd\xc3\xa9");
    /// assert_eq!(t.bare_line_ends, 2); // the LF after `a`, the CR before `d`
    /// assert!(t.eight_bit);
    /// // The first byte's pair with what came before, and a CR at the end, are the caller's.
    /// assert_eq!(Scanner::new().tally(b"\nab\r").bare_line_ends, 0);
    /// ```
    #[inline]
    pub fn tally(self, s: &[u8]) -> Tally {
        match self.tally {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx2 => x86::tally_avx2_detected(s),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Variant::Avx512Bw => x86::tally_avx512bw_detected(s),
            _ => tally::tally(s),
        }
    }
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

/// How many bytes at the start of `s` leave unchanged, the first byte taken as it is (the
/// caller has dealt with it: it is not a line end, nor a dot to stuff).
///
/// From the pair `(s[0], s[1])` on, the run ends before a CR that is not followed by an LF,
/// before a CR that ends `s` (its LF may be the next input's first byte), at an LF that is not
/// preceded by a CR, and, when `stuff`, at a dot that follows an LF. CRLF pairs and every other
/// byte are part of the run. An empty `s` gives 0.
///
/// ```
/// use mailwire_simd::clean_prefix;
/// assert_eq!(clean_prefix(b"ab\r\ncd", true), 6);
/// assert_eq!(clean_prefix(b"ab\ncd", true), 2); // the bare LF is where the run stops
/// assert_eq!(clean_prefix(b"ab\rcd", true), 2); // before the bare CR
/// assert_eq!(clean_prefix(b"ab\r\n.cd", true), 4); // at the dot to double
/// assert_eq!(clean_prefix(b"ab\r\n.cd", false), 7); // BDAT does not stuff
/// assert_eq!(clean_prefix(b"ab\r", false), 2); // its LF may come next
/// ```
#[inline]
pub fn clean_prefix(s: &[u8], stuff: bool) -> usize {
    Scanner::new().clean_prefix(s, stuff)
}

/// [`clean_prefix`] by one given variant; `None` if this machine or build cannot run it. For
/// tests and benchmarks.
pub fn clean_prefix_with(variant: Variant, s: &[u8], stuff: bool) -> Option<usize> {
    match variant {
        Variant::Portable => Some(portable::clean_prefix(s, stuff)),
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Variant::Avx2 => x86::clean_prefix_avx2(s, stuff),
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Variant::Avx512Bw => x86::clean_prefix_avx512bw(s, stuff),
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        Variant::Avx2 | Variant::Avx512Bw => None,
    }
}

/// [`Scanner::tally`] by one given variant; `None` if this machine or build cannot run it.
/// For tests and benchmarks.
pub fn tally_with(variant: Variant, s: &[u8]) -> Option<Tally> {
    Scanner::with(variant).map(|scanner| scanner.tally(s))
}

/// The byte-at-a-time definition of [`Scanner::tally`] every variant is checked against (in
/// tests).
pub fn tally_reference(s: &[u8]) -> Tally {
    let (bare_line_ends, high) = tally::tail(s, 1);
    let first = s.first().copied().unwrap_or(0);
    Tally {
        bare_line_ends,
        eight_bit: (high | first) >= 0x80,
    }
}

/// The byte-at-a-time definition every variant is checked against (in tests).
pub fn clean_prefix_reference(s: &[u8], stuff: bool) -> usize {
    portable::tail(s, 1, stuff)
}
