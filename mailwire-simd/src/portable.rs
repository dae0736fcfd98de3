//! The scan as safe code the compiler vectorises: blocks of byte pairs tested with no branch
//! inside, and only the block that fails looked at byte by byte.

use alloc::vec::Vec;

/// Pairs tested at a time at the start of a run and inside a wide block that failed.
const NARROW: usize = 32;

/// Narrow blocks tested before going wide: a short run (text with bare LFs stops at every line,
/// some 70 bytes) ends within them and never pays for a wide block that was bound to fail.
const LEAD: usize = 4;

/// Pairs tested at a time once the run is long: the test of a block (one OR of every lane, one
/// branch) is then paid once per 128 bytes.
const WIDE: usize = 128;

/// Pairs tested at a time inside a narrow block that failed after the wide ones, before the
/// byte-by-byte end: a long run that stops (at a dot to stuff, every few lines in real mail)
/// walks at most 7 bytes one at a time, not most of 32.
const FINE: usize = 8;

/// The `N` bytes of `s` from `at`, if there are that many.
#[inline(always)]
fn block<const N: usize>(s: &[u8], at: usize) -> Option<&[u8; N]> {
    s.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Whether a pair of blocks (`p[k]` the byte before `b[k]`) holds a pair that ends a run: a CR
/// not followed by LF, an LF not after CR, or (`STUFF`) a dot after an LF. Branch-free, so that
/// the compiler turns it into vector compares.
#[inline(always)]
fn bad<const N: usize, const STUFF: bool>(p: &[u8; N], b: &[u8; N]) -> bool {
    let mut bad = 0u8;
    for (&p, &b) in p.iter().zip(b) {
        let cr_lf = u8::from(p == b'\r') ^ u8::from(b == b'\n');
        let dot = if STUFF {
            u8::from(p == b'\n') & u8::from(b == b'.')
        } else {
            0
        };
        bad |= cr_lf | dot;
    }
    bad != 0
}

/// Where the bytes of a run go as the scan passes them: nowhere (the scan alone), appended to a
/// `Vec`, or into a slice the scan was bounded to.
pub(crate) trait Out {
    /// Takes the next bytes of the run.
    fn put(&mut self, bytes: &[u8]);
    /// How far past a 64-byte boundary the next `put` would start writing (0 when it writes
    /// nothing).
    fn skew(&self) -> usize;
}

/// The boundary the wide blocks' stores are aligned to (see [`scan`]): a cache line, and a
/// multiple of every vector width the scan is compiled for.
const ALIGN: usize = 64;

/// The scan alone.
pub(crate) struct Nowhere;

impl Out for Nowhere {
    #[inline(always)]
    fn put(&mut self, _: &[u8]) {}
    #[inline(always)]
    fn skew(&self) -> usize {
        0
    }
}

impl Out for Vec<u8> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline(always)]
    fn skew(&self) -> usize {
        self.as_ptr().addr().wrapping_add(self.len()) % ALIGN
    }
}

/// A slice filled from its start; the scan is bounded to its length, so every `put` fits (one
/// that did not would be dropped, never written out of bounds).
pub(crate) struct Filling<'a> {
    pub(crate) dst: &'a mut [u8],
    pub(crate) at: usize,
}

impl Out for Filling<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if let Some(dst) = self.dst.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
            self.at = end;
        }
    }
    #[inline(always)]
    fn skew(&self) -> usize {
        self.dst.as_ptr().addr().wrapping_add(self.at) % ALIGN
    }
}

/// The scan: a few narrow blocks, then wide blocks while they pass, then narrow and fine blocks
/// inside the one that failed, then byte by byte. Measured on 1 MiB in cache against the 32-pair
/// loop it replaced: CRLF text with a dot every 20 lines 2.2x as fast with AVX-512BW (1.25x
/// portable), the same text with bare LFs 1.4x (1.3x portable).
///
/// Returns the run's length and how much of it is in `out` already ([`finish`] puts the rest).
/// Long runs go to `out` as they are found, so that they are read once (the fused scan and
/// copy), not scanned and then copied: each wide block that passes is put while the scan holds
/// it. Short runs (text with bare LFs stops every line) are left to `finish`, one piece as a copy
/// after the scan would be: putting each 32-pair block of a 70-byte run cost 25-30% more in
/// cache. What a passing block of pairs `(s[k - 1], s[k])`, `k` in `i..i + N`, proves is that
/// `s[..i + N - 1]` is in the run (`s[i + N - 1]` may be a CR that the next pair shows bare), so
/// a wide block puts its first elements, `s[i - 1..i + N - 1]`.
#[inline(always)]
fn scan<const STUFF: bool, O: Out>(s: &[u8], out: &mut O) -> (usize, usize) {
    if s.is_empty() {
        return (0, 0);
    }
    let mut i = 1;
    crate::prefetch::lines(s, crate::prefetch::AHEAD);
    // `s[..copied]` is in `out`; always `copied <= i - 1`.
    let mut copied = 0;
    let run = 'run: {
        for _ in 0..LEAD {
            let (Some(p), Some(b)) = (block::<NARROW>(s, i - 1), block::<NARROW>(s, i)) else {
                break 'run tail(s, i, STUFF);
            };
            if bad::<NARROW, STUFF>(p, b) {
                break 'run tail(s, i, STUFF);
            }
            i += NARROW;
        }
        // Stores to an address off a 4-byte boundary made the wide loop 55% slower (AMD EPYC,
        // AVX2: 1 MiB of clean CRLF text in 41 µs with the output at any multiple of 4, 63 µs
        // at any other offset; where the input starts made no difference; a harness made to
        // measure only), and a session's output starts wherever its commands left it, then
        // moves by one at every stuffed dot. So the lead puts only up to a 64-byte boundary
        // of the output, and every wide block after it starts on one. The lead's blocks all
        // passed, so stopping short in them is sound; what is taken back (under 64 bytes) is
        // tested again by the first wide block.
        let mut lead = i - 1;
        let skew = (out.skew() + lead) % ALIGN;
        if skew != 0 && lead > skew {
            lead -= skew;
        }
        out.put(s.get(..lead).unwrap_or_default());
        i = lead + 1;
        copied = lead;
        while let (Some(p), Some(b)) = (block::<WIDE>(s, i - 1), block::<WIDE>(s, i)) {
            if bad::<WIDE, STUFF>(p, b) {
                break;
            }
            // The content is mostly cold (see `prefetch`): ask for what comes after.
            crate::prefetch::lines(s, i.saturating_add(crate::prefetch::AHEAD));
            out.put(p);
            i += WIDE;
            copied = i - 1;
        }
        while let (Some(p), Some(b)) = (block::<NARROW>(s, i - 1), block::<NARROW>(s, i)) {
            if bad::<NARROW, STUFF>(p, b) {
                break;
            }
            i += NARROW;
        }
        while let (Some(p), Some(b)) = (block::<FINE>(s, i - 1), block::<FINE>(s, i)) {
            if bad::<FINE, STUFF>(p, b) {
                break;
            }
            i += FINE;
        }
        tail(s, i, STUFF)
    };
    (run, copied)
}

/// The scan for either encoder. `inline(always)` so that each `#[target_feature]` caller in
/// `x86.rs` gets its own copy, compiled for its feature.
#[inline(always)]
pub(crate) fn clean_prefix(s: &[u8], stuff: bool) -> usize {
    copy_clean_prefix(s, stuff, &mut Nowhere).0
}

/// The scan, the run's long stretches put to `out` as they pass (see [`scan`]); [`finish`]
/// puts the rest, outside the `#[target_feature]` functions: with that last copy inside them,
/// text with bare LFs went 18% slower than a scan followed by a copy (1 MiB in cache,
/// AVX-512BW), with it outside 3-12% (measured three times).
#[inline(always)]
pub(crate) fn copy_clean_prefix<O: Out>(s: &[u8], stuff: bool, out: &mut O) -> (usize, usize) {
    if stuff {
        scan::<true, O>(s, out)
    } else {
        scan::<false, O>(s, out)
    }
}

/// Byte by byte from pair `(s[i - 1], s[i])` (`i >= 1`): where the run ends. With `i == 1` this
/// is the definition itself, which the tests hold every variant to.
pub(crate) fn tail(s: &[u8], mut i: usize, stuff: bool) -> usize {
    let n = s.len();
    if n == 0 {
        return 0;
    }
    while let (Some(&p), Some(&b)) = (s.get(i.wrapping_sub(1)), s.get(i)) {
        if (p == b'\r') != (b == b'\n') {
            // A CR not followed by LF ends the run before it; an LF not after a CR, at it.
            return if p == b'\r' { i - 1 } else { i };
        }
        if stuff && p == b'\n' && b == b'.' {
            return i;
        }
        i += 1;
    }
    // The last byte: a CR whose LF (if any) is in the next input is not part of the run.
    if s.last() == Some(&b'\r') {
        n - 1
    } else {
        n
    }
}

/// Puts the rest of the run: `tail` from pair `i` never ends the run before `s[i - 1]`, so
/// `run >= copied`.
#[inline(always)]
pub(crate) fn finish<O: Out>(s: &[u8], (run, copied): (usize, usize), out: &mut O) -> usize {
    out.put(s.get(copied..run).unwrap_or_default());
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that starts `base` bytes past a boundary and records each put: where it
    /// started relative to the boundary, and how long it was.
    struct Recording {
        base: usize,
        len: usize,
        puts: Vec<(usize, usize)>,
    }

    impl Out for Recording {
        fn put(&mut self, bytes: &[u8]) {
            self.puts.push((self.skew(), bytes.len()));
            self.len += bytes.len();
        }
        fn skew(&self) -> usize {
            (self.base + self.len) % ALIGN
        }
    }

    /// Whatever the output's offset, every wide block is stored from a boundary, and the
    /// stores add up to the run.
    #[test]
    fn wide_blocks_are_stored_aligned() {
        let text = b"Some text, some more of it.\r\n".repeat(100);
        for base in 0..2 * ALIGN {
            for stuff in [false, true] {
                let mut out = Recording {
                    base,
                    len: 0,
                    puts: Vec::new(),
                };
                let found = copy_clean_prefix(&text, stuff, &mut out);
                let run = finish(&text, found, &mut out);
                assert_eq!(run, text.len());
                assert_eq!(out.len, run);
                let wide: Vec<_> = out.puts.iter().filter(|&&(_, n)| n == WIDE).collect();
                assert!(wide.len() > 10, "base {base}: {:?}", out.puts);
                assert!(
                    wide.iter().all(|&&(skew, _)| skew == 0),
                    "base {base}: {:?}",
                    out.puts
                );
            }
        }
    }
}
