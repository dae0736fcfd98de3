//! Every variant this machine can run gives the byte-at-a-time definition's answer, and the
//! fused scan and copy puts exactly the run it reports (the tally's own cases: `tally.rs`).

use mailwire_simd::{clean_prefix, clean_prefix_reference, clean_prefix_with, Scanner, Variant};
use proptest::prelude::*;

mod common;

/// Checks every available variant, and the dispatching entry point, on `s`.
fn check(s: &[u8]) {
    for stuff in [false, true] {
        let want = clean_prefix_reference(s, stuff);
        assert_eq!(
            clean_prefix(s, stuff),
            want,
            "clean_prefix {s:?} stuff {stuff}"
        );
        for v in Variant::ALL {
            if let Some(got) = clean_prefix_with(v, s, stuff) {
                assert_eq!(got, want, "{} on {s:?} stuff {stuff}", v.name());
            }
            if let Some(scanner) = Scanner::with(v) {
                check_copies(scanner, s, stuff, want);
            }
        }
    }
}

/// The fused scan and copy of `scanner` on `s`: the same run as the definition (`want`), and
/// exactly those bytes put, after what `out` held and into the start of `dst`, with `dst` cut
/// at every length that matters (the run, around it, a third of `s`).
fn check_copies(scanner: Scanner, s: &[u8], stuff: bool, want: usize) {
    let name = scanner.variant().name();
    let mut out = b"held".to_vec();
    assert_eq!(
        scanner.copy_clean_prefix(s, stuff, &mut out),
        want,
        "{name} copy {s:?} stuff {stuff}"
    );
    assert_eq!(&out[..4], b"held");
    assert_eq!(&out[4..], &s[..want], "{name} copy {s:?} stuff {stuff}");
    let mut cuts = vec![s.len(), s.len() + 7, s.len() / 3, want, want + 1];
    cuts.extend(want.checked_sub(1));
    for cut in cuts {
        let mut dst = vec![0xa5u8; cut];
        let fits = s.get(..cut).unwrap_or(s);
        let want = clean_prefix_reference(fits, stuff);
        assert_eq!(
            scanner.copy_clean_prefix_into(s, stuff, &mut dst),
            want,
            "{name} into {cut} of {s:?} stuff {stuff}"
        );
        assert_eq!(&dst[..want], &s[..want], "{name} into {cut} of {s:?}");
        assert!(
            dst[want..].iter().all(|&b| b == 0xa5),
            "{name}: wrote past the run"
        );
    }
}

#[test]
fn the_portable_variant_always_runs() {
    assert!(Variant::Portable.is_available());
    assert!(clean_prefix_with(Variant::Portable, b"x", true).is_some());
    assert!(mailwire_simd::active().is_available());
    assert_eq!(Scanner::new().variant(), mailwire_simd::active());
    assert_eq!(
        Scanner::new().tally_variant(),
        mailwire_simd::active_tally()
    );
    // The scans run AVX2 where the CPU has it, also beside AVX-512BW (measured faster on the
    // CPUs here); the tally the widest there is.
    if Variant::Avx2.is_available() {
        assert_eq!(mailwire_simd::active(), Variant::Avx2);
    } else {
        assert_eq!(mailwire_simd::active(), Variant::Portable);
    }
    let widest = Variant::ALL.into_iter().find(|v| v.is_available());
    assert_eq!(Some(mailwire_simd::active_tally()), widest);
    assert_eq!(
        Scanner::with(Variant::Portable).map(Scanner::variant),
        Some(Variant::Portable)
    );
    for v in Variant::ALL {
        assert_eq!(
            clean_prefix_with(v, b"ab", true).is_some(),
            v.is_available()
        );
        assert_eq!(Scanner::with(v).is_some(), v.is_available());
    }
}

/// The definition on hand-made cases (what the docs say).
#[test]
fn the_definition() {
    let cases: &[(&[u8], bool, usize)] = &[
        (b"", true, 0),
        (b"a", true, 1),
        (b"\r", true, 0),
        (b"a\r", true, 1),
        (b"a\r\n", true, 3),
        (b"a\nb", true, 1),
        (b"a\rb", true, 1),
        (b"a\r\rb", true, 1),
        (b"a\r\n.", true, 3),
        (b"a\r\n.", false, 4),
        (b"a\r\n\r\n", true, 5),
        (b"a\n\r", false, 1),
        (b"..", true, 2),
        (b"a.\r\n", true, 4),
    ];
    for &(s, stuff, want) in cases {
        assert_eq!(clean_prefix_reference(s, stuff), want, "{s:?} {stuff}");
        check(s);
    }
}

/// Every string of up to 7 bytes over the bytes that matter.
#[test]
fn every_short_string() {
    common::every_string(b"a.\r\n", 7, check);
}

/// Clean CRLF text with one bad thing at every position up to past two wide blocks, so each
/// block boundary of every variant is crossed.
#[test]
fn one_bad_pair_anywhere() {
    let mut clean = Vec::new();
    while clean.len() < 700 {
        clean.extend_from_slice(b"The quick brown fox, 0123456789\r\n");
    }
    check(&clean);
    for at in 1..600 {
        for bad in [&b"\n"[..], b"\r", b"\r\r", b"\n\n", b"\n.", b"\r\n."] {
            let mut s = clean.clone();
            s.splice(at..at, bad.iter().copied());
            check(&s);
            // And ending right after it (a CR at the very end is held back).
            check(&s[..at + bad.len()]);
        }
    }
}

/// Clean CRLF text with line-start dots at every spacing, so that runs end at a dot inside and
/// across blocks of every size, the fused copy's puts with them.
#[test]
fn dots_at_every_spacing() {
    for gap in 0..300 {
        let mut s = Vec::new();
        while s.len() < 1500 {
            s.extend(std::iter::repeat_n(b'x', gap));
            s.extend_from_slice(b"\r\n.");
        }
        check(&s);
        s.extend_from_slice(b"\n\r\n.");
        check(&s);
    }
}

/// The copy's output at every offset from a 64-byte boundary (the wide blocks' stores are
/// aligned by taking back the end of the lead, by as much as the offset asks), into a `Vec`
/// that already holds bytes and into a slice that starts inside a buffer, with the run's end
/// (a dot to stuff, a bare LF, a bare CR) at every position around the lead and the first wide
/// blocks: the same run and bytes as the definition, and nothing written past the run.
#[test]
fn every_output_offset() {
    let mut clean = Vec::new();
    while clean.len() < 900 {
        clean.extend_from_slice(b"An aligned line of text, 0123456789.\r\n");
    }
    for at in (60..420).step_by(7) {
        for bad in [&b"\r\n."[..], b"\n", b"\r"] {
            let mut s = clean.clone();
            s.splice(at..at, bad.iter().copied());
            for stuff in [false, true] {
                let want = clean_prefix_reference(&s, stuff);
                for v in Variant::ALL {
                    let Some(scanner) = Scanner::with(v) else {
                        continue;
                    };
                    for pre in 0..130 {
                        let mut out = Vec::with_capacity(pre + s.len());
                        out.resize(pre, b'h');
                        let run = scanner.copy_clean_prefix(&s, stuff, &mut out);
                        assert_eq!(run, want, "{} pre {pre} at {at} {bad:?} {stuff}", v.name());
                        assert!(out[..pre].iter().all(|&b| b == b'h'));
                        assert_eq!(&out[pre..], &s[..want], "{} pre {pre} at {at}", v.name());

                        let mut buf = vec![0xa5u8; pre + s.len() + 64];
                        let dst = &mut buf[pre..];
                        let run = scanner.copy_clean_prefix_into(&s, stuff, dst);
                        assert_eq!(run, want, "{} into, pre {pre} at {at}", v.name());
                        assert_eq!(&dst[..want], &s[..want]);
                        assert!(dst[want..].iter().all(|&b| b == 0xa5));
                        assert!(buf[..pre].iter().all(|&b| b == 0xa5));
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random content, mostly ordinary bytes with line ends and dots among them: the scan, and
    /// the tally (8-bit octets among the ordinary bytes).
    #[test]
    fn random_content(
        s in proptest::collection::vec(
            prop_oneof![
                20 => any::<u8>(),
                3 => Just(b'\r'),
                3 => Just(b'\n'),
                2 => Just(b'.'),
            ],
            0..3000,
        )
    ) {
        check(&s);
        common::check_tally(&s);
    }

    /// Long clean runs with line ends in CRLF pairs, so the wide blocks pass and the end of
    /// the scan is exercised at every length.
    #[test]
    fn long_clean_runs(lines in proptest::collection::vec(0usize..140, 0..40), tail in 0usize..200) {
        let mut s = Vec::new();
        for (k, len) in lines.iter().enumerate() {
            s.extend(std::iter::repeat_n(b'a' + (k % 26) as u8, *len));
            s.extend_from_slice(b"\r\n");
        }
        s.extend(std::iter::repeat_n(b'z', tail));
        check(&s);
    }
}
