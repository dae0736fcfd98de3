//! The scan as safe code the compiler vectorises: blocks of byte pairs tested with no branch
//! inside, and only the block that fails looked at byte by byte.

/// Pairs tested at a time in the main loop: wide enough that the test of a block (one OR of
/// every lane, one branch) is paid once per 128 bytes, which measured faster than 32 or 64 for
/// SSE2, AVX2 and AVX-512 alike.
const WIDE: usize = 128;

/// Pairs tested at a time inside a wide block that failed, then inside a narrow one, before the
/// byte-by-byte end: a run that stops (at a dot to stuff, every few lines in real mail) costs a
/// few vector tests and at most three single bytes, not a scalar walk of most of a block
/// (16 then 4 measured 16% faster than 32 alone with AVX-512BW, 18% portable).
const NARROW: usize = 16;
const FINE: usize = 4;

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

/// The scan: whole blocks while they pass, narrower and then fine blocks inside the one that
/// failed, then byte by byte.
#[inline(always)]
fn scan<const STUFF: bool>(s: &[u8]) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = 1;
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
