//! The scan as safe code the compiler vectorises: blocks of byte pairs tested with no branch
//! inside, and only the block that fails looked at byte by byte.

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

/// The scan: a few narrow blocks, then wide blocks while they pass, then narrow and fine blocks
/// inside the one that failed, then byte by byte. Measured on 1 MiB in cache against the 32-pair
/// loop it replaced: CRLF text with a dot every 20 lines 2.2x as fast with AVX-512BW (1.25x
/// portable), the same text with bare LFs 1.4x (1.3x portable).
#[inline(always)]
fn scan<const STUFF: bool>(s: &[u8]) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = 1;
    for _ in 0..LEAD {
        let (Some(p), Some(b)) = (block::<NARROW>(s, i - 1), block::<NARROW>(s, i)) else {
            return tail(s, i, STUFF);
        };
        if bad::<NARROW, STUFF>(p, b) {
            return tail(s, i, STUFF);
        }
        i += NARROW;
    }
    while let (Some(p), Some(b)) = (block::<WIDE>(s, i - 1), block::<WIDE>(s, i)) {
        if bad::<WIDE, STUFF>(p, b) {
            break;
        }
        i += WIDE;
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
}

/// The scan for either encoder. `inline(always)` so that each `#[target_feature]` caller in
/// `x86.rs` gets its own copy, compiled for its feature.
#[inline(always)]
pub(crate) fn clean_prefix(s: &[u8], stuff: bool) -> usize {
    if stuff {
        scan::<true>(s)
    } else {
        scan::<false>(s)
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
