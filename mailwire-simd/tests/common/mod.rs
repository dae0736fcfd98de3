//! What the scan's and the tally's tests share.

use mailwire_simd::{tally_reference, tally_with, Scanner, Tally, Variant};

/// Calls `f` with every string of up to `max_len` bytes over `alphabet`.
pub fn every_string(alphabet: &[u8], max_len: u32, mut f: impl FnMut(&[u8])) {
    let base = alphabet.len();
    let mut s = Vec::new();
    for len in 0..=max_len {
        for mut code in 0..base.pow(len) {
            s.clear();
            for _ in 0..len {
                s.push(alphabet[code % base]);
                code /= base;
            }
            f(&s);
        }
    }
}

/// Every available variant of the tally, and the default scanner's, against its definition on
/// `s`; the definition's answer.
pub fn check_tally(s: &[u8]) -> Tally {
    let want = tally_reference(s);
    assert_eq!(Scanner::new().tally(s), want, "default scanner on {s:?}");
    for v in Variant::ALL {
        if let Some(got) = tally_with(v, s) {
            assert_eq!(got, want, "{} on {} bytes", v.name(), s.len());
        }
    }
    want
}
