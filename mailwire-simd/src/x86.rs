//! The scan compiled for AVX-512BW and AVX2, chosen at run time. The only `unsafe` of the
//! mailwire family is here: a call of a `#[target_feature]` function is `unsafe` because running
//! it on a CPU without the feature is undefined; each call below is made only after `std`'s
//! detection said the CPU has it (the result is cached by `std`, so asking costs a load).
#![allow(unsafe_code)]

use crate::portable;

pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

pub(crate) fn has_avx512bw() -> bool {
    std::is_x86_feature_detected!("avx512bw")
}

/// The widest variant this CPU has; `None` when it has neither (the portable loop runs).
#[inline]
pub(crate) fn clean_prefix(s: &[u8], stuff: bool) -> Option<usize> {
    clean_prefix_avx512bw(s, stuff).or_else(|| clean_prefix_avx2(s, stuff))
}

#[inline]
pub(crate) fn clean_prefix_avx2(s: &[u8], stuff: bool) -> Option<usize> {
    if !has_avx2() {
        return None;
    }
    // SAFETY: the CPU has AVX2 (detected just above), the one requirement of `avx2`; the
    // function itself is safe code.
    Some(unsafe { avx2(s, stuff) })
}

#[inline]
pub(crate) fn clean_prefix_avx512bw(s: &[u8], stuff: bool) -> Option<usize> {
    if !has_avx512bw() {
        return None;
    }
    // SAFETY: the CPU has AVX-512BW (detected just above), the one requirement of `avx512bw`;
    // the function itself is safe code.
    Some(unsafe { avx512bw(s, stuff) })
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
