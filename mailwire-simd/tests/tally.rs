//! The measuring pass (`Scanner::tally`): every variant this machine runs counts what the
//! byte-at-a-time definition counts, on short strings, long ones and across the points where
//! the wide loop's per-lane counters are added up (and on random content, in
//! `equivalence.rs`).

use common::check_tally as check;
use mailwire_simd::{tally_reference, Tally};

mod common;

/// The definition itself, by hand: each bare CR and bare LF between two bytes of the piece
/// counts once, a CRLF not at all, and the 8-bit test sees every byte, the first too.
#[test]
fn the_definition() {
    let cases: &[(&[u8], u64, bool)] = &[
        (b"", 0, false),
        (b"a", 0, false),
        (b"\n", 0, false),     // its pair is with the byte before the piece
        (b"\r", 0, false),     // its LF may start the next piece
        (b"a\n", 1, false),    // bare LF
        (b"a\r\n", 0, false),  // CRLF
        (b"a\rb", 1, false),   // bare CR
        (b"\r\r\n", 1, false), // the first CR is bare, the second has its LF
        (b"\n\n\n", 2, false), // the first is the caller's
        (b"\r\n\r\n", 0, false),
        (b"\xff", 0, true),
        (b"abc\x80", 0, true),
        (b"x\n.\r\n", 1, false), // dots are nothing to the count
    ];
    for &(s, bare, eight_bit) in cases {
        let want = Tally {
            bare_line_ends: bare,
            eight_bit,
        };
        assert_eq!(tally_reference(s), want, "definition on {s:?}");
        check(s);
    }
}

/// Every string of up to 8 bytes over CR, LF, a letter and an 8-bit octet.
#[test]
fn every_short_string() {
    common::every_string(b"\r\na\x80", 8, |s| {
        check(s);
    });
}

/// One bare line end, or one 8-bit octet, at every position of a long clean text, including
/// the edges of the 64-pair blocks and of the 255-block rounds (16,320 pairs).
#[test]
fn one_mark_anywhere() {
    let clean = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n".repeat(600);
    assert!(clean.len() > 2 * 255 * 64);
    let mut at: Vec<usize> = (0..300).collect();
    for edge in [64, 128, 255 * 64, 255 * 64 + 1, 2 * 255 * 64] {
        at.extend(edge - 3..edge + 3);
    }
    at.extend((0..clean.len()).step_by(997));
    for &k in &at {
        for mark in [b'\n', b'\r', 0xc3] {
            let mut s = clean.clone();
            // Overwrite an ordinary byte (not the CR or LF of a pair) so that exactly one
            // thing changes.
            if matches!(s[k], b'\r' | b'\n') {
                continue;
            }
            s[k] = mark;
            let got = check(&s);
            // An LF's pair is with the byte before it, a CR's with the byte after it.
            let bare = match mark {
                b'\n' => u64::from(k > 0),
                b'\r' => u64::from(k + 1 < s.len()),
                _ => 0,
            };
            assert_eq!(got.bare_line_ends, bare, "mark {mark:#x} at {k}");
            assert_eq!(got.eight_bit, mark == 0xc3, "mark {mark:#x} at {k}");
        }
    }
    assert_eq!(check(&clean), Tally::default());
}

/// Text that is nothing but bare line ends: every lane counts in every block, through many
/// rounds, so a count that wrapped or was dropped at a round's end would show.
#[test]
fn all_bare_through_many_rounds() {
    for len in [
        255 * 64,
        255 * 64 + 1,
        255 * 64 + 65,
        3 * 255 * 64 + 17,
        100_000,
    ] {
        for fill in [b'\n', b'\r'] {
            let s = vec![fill; len];
            let got = check(&s);
            assert_eq!(got.bare_line_ends, len as u64 - 1, "{len} × {fill:#x}");
        }
    }
}
