//! The scan compiled for AVX-512BW and AVX2, chosen at run time. Most `unsafe` of the
//! mailwire family is here: a call of a `#[target_feature]` function is `unsafe` because running
//! it on a CPU without the feature is undefined; each call below is made only after `std`'s
//! detection said the CPU has it: directly, or through a `Scanner`, whose private variant is set
//! only by `active()` and by `Scanner::with`, both of which ask `is_available` (this detection)
//! first. `std` caches what it detected, so asking costs a load.
#![allow(unsafe_code)]

use crate::portable::{self, Out};
use crate::tally::{self, Tally};

pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

pub(crate) fn has_avx512bw() -> bool {
    std::is_x86_feature_detected!("avx512bw")
}

pub(crate) fn clean_prefix_avx2(s: &[u8], stuff: bool) -> Option<usize> {
    has_avx2().then(|| clean_prefix_avx2_detected(s, stuff))
}

pub(crate) fn clean_prefix_avx512bw(s: &[u8], stuff: bool) -> Option<usize> {
    has_avx512bw().then(|| clean_prefix_avx512bw_detected(s, stuff))
}

/// For callers that have seen [`has_avx2`] say yes (a `Scanner` of that variant, or the
/// function above). Still checked in debug builds.
#[inline]
pub(crate) fn clean_prefix_avx2_detected(s: &[u8], stuff: bool) -> usize {
    debug_assert!(has_avx2());
    // SAFETY: the CPU has AVX2 (detected by every caller), the one requirement of `avx2`;
    // the function itself is safe code.
    unsafe { avx2(s, stuff) }
}

/// For callers that have seen [`has_avx512bw`] say yes.
#[inline]
pub(crate) fn clean_prefix_avx512bw_detected(s: &[u8], stuff: bool) -> usize {
    debug_assert!(has_avx512bw());
    // SAFETY: the CPU has AVX-512BW (detected by every caller), the one requirement of
    // `avx512bw`; the function itself is safe code.
    unsafe { avx512bw(s, stuff) }
}

/// The scan with its copy ([`crate::Scanner::copy_clean_prefix`] and `copy_clean_prefix_into`)
/// for callers that have seen [`has_avx2`] say yes.
#[inline]
pub(crate) fn copy_avx2_detected<O: Out>(s: &[u8], stuff: bool, out: &mut O) -> (usize, usize) {
    debug_assert!(has_avx2());
    // SAFETY: as for `clean_prefix_avx2_detected`.
    unsafe { copy_avx2(s, stuff, out) }
}

/// [`copy_avx2_detected`] for callers that have seen [`has_avx512bw`] say yes.
#[inline]
pub(crate) fn copy_avx512bw_detected<O: Out>(s: &[u8], stuff: bool, out: &mut O) -> (usize, usize) {
    debug_assert!(has_avx512bw());
    // SAFETY: as for `clean_prefix_avx512bw_detected`.
    unsafe { copy_avx512bw(s, stuff, out) }
}

/// The count of [`crate::Scanner::tally`] for callers that have seen [`has_avx2`] say yes.
#[inline]
pub(crate) fn tally_avx2_detected(s: &[u8]) -> Tally {
    debug_assert!(has_avx2());
    // SAFETY: as for `clean_prefix_avx2_detected`.
    unsafe { tally_avx2(s) }
}

/// [`tally_avx2_detected`] for callers that have seen [`has_avx512bw`] say yes.
#[inline]
pub(crate) fn tally_avx512bw_detected(s: &[u8]) -> Tally {
    debug_assert!(has_avx512bw());
    // SAFETY: as for `clean_prefix_avx512bw_detected`.
    unsafe { tally_avx512bw(s) }
}

// The portable scan, inlined into each and so compiled for its feature.

#[target_feature(enable = "avx2")]
fn avx2(s: &[u8], stuff: bool) -> usize {
    portable::clean_prefix(s, stuff)
}

#[target_feature(enable = "avx512bw")]
fn avx512bw(s: &[u8], stuff: bool) -> usize {
    portable::clean_prefix(s, stuff)
}

#[target_feature(enable = "avx2")]
fn copy_avx2<O: Out>(s: &[u8], stuff: bool, out: &mut O) -> (usize, usize) {
    portable::copy_clean_prefix(s, stuff, out)
}

#[target_feature(enable = "avx512bw")]
fn copy_avx512bw<O: Out>(s: &[u8], stuff: bool, out: &mut O) -> (usize, usize) {
    portable::copy_clean_prefix(s, stuff, out)
}

#[target_feature(enable = "avx2")]
fn tally_avx2(s: &[u8]) -> Tally {
    tally::tally(s)
}

#[target_feature(enable = "avx512bw")]
fn tally_avx512bw(s: &[u8]) -> Tally {
    tally::tally(s)
}
