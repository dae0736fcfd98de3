//! The measuring pass: what normalising a piece of content's line ends adds to it, and whether
//! it has 8-bit octets, counted without stopping anywhere.
//!
//! RFC 1870 6 counts a message's content octets with every line end as CRLF and leaves the
//! doubled dots out, so a client declaring `SIZE=` needs one number from the content: how many
//! line ends are not CRLF already (a CR not followed by an LF and an LF not preceded by a CR
//! each become CRLF, one octet more). That is the same pair test as the scan's, `(p == CR) !=
//! (b == LF)`, summed over the pairs rather than searched for, so nothing ends a run: blocks of
//! 64 pairs add their results into one byte per lane (at most 255 blocks before those bytes are
//! added up), and the bytes are ORed together for the 8-bit test (RFC 6152).

/// Pairs counted per block: one vector of AVX-512, two of AVX2, four of SSE2.
const LANES: usize = 64;

/// Blocks counted into the per-lane bytes before they are added up (each lane gains at most one
/// a block, so 255 cannot overflow them).
const ROUNDS: usize = 255;

/// What [`Scanner::tally`](crate::Scanner::tally) found in a piece of content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tally {
    /// Pairs `(s[k - 1], s[k])` that normalising the line ends lengthens by one octet: a CR not
    /// followed by an LF, or an LF not preceded by a CR. The pair of the piece's first byte
    /// with what came before it is not among them (the caller knows that byte), nor is a CR
    /// that ends the piece (its LF may be the next piece's first byte).
    pub bare_line_ends: u64,
    /// Whether any octet of the piece is above 127.
    pub eight_bit: bool,
}

/// The `N` bytes of `s` from `at`, if there are that many.
#[inline(always)]
fn block<const N: usize>(s: &[u8], at: usize) -> Option<&[u8; N]> {
    s.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The count: blocks of pairs without a branch inside, then the pairs left over one at a time.
#[inline(always)]
pub(crate) fn tally(s: &[u8]) -> Tally {
    let Some(&first) = s.first() else {
        return Tally::default();
    };
    let mut bare = 0u64;
    let mut high = first;
    let mut i = 1;
    crate::prefetch::lines(s, crate::prefetch::AHEAD);
    'rounds: loop {
        let mut count = [0u8; LANES];
        let mut or = [0u8; LANES];
        for _ in 0..ROUNDS {
            let (Some(p), Some(b)) = (block::<LANES>(s, i - 1), block::<LANES>(s, i)) else {
                bare += count.iter().map(|&c| u64::from(c)).sum::<u64>();
                high |= or.iter().fold(0, |a, &o| a | o);
                break 'rounds;
            };
            // The content is mostly cold (see `prefetch`): ask for what comes after.
            crate::prefetch::lines(s, i.saturating_add(crate::prefetch::AHEAD));
            for k in 0..LANES {
                count[k] += u8::from(p[k] == b'\r') ^ u8::from(b[k] == b'\n');
                or[k] |= b[k];
            }
            i += LANES;
        }
        bare += count.iter().map(|&c| u64::from(c)).sum::<u64>();
        high |= or.iter().fold(0, |a, &o| a | o);
    }
    let (pairs, last) = tail(s, i);
    Tally {
        bare_line_ends: bare + pairs,
        eight_bit: (high | last) >= 0x80,
    }
}

/// The pairs from `(s[i - 1], s[i])` on, one at a time (`i >= 1`): their count of bare line
/// ends and the OR of their second bytes. With `i == 1` and the first
/// byte added, this is the definition the tests hold every variant to.
pub(crate) fn tail(s: &[u8], mut i: usize) -> (u64, u8) {
    let mut bare = 0u64;
    let mut high = 0u8;
    while let (Some(&p), Some(&b)) = (s.get(i.wrapping_sub(1)), s.get(i)) {
        bare += u64::from((p == b'\r') != (b == b'\n'));
        high |= b;
        i += 1;
    }
    (bare, high)
}
