//! xtext (RFC 3461 4) round trips.

use mailwire::xtext::{decode, encode, encoded_len, XTextError};
use proptest::prelude::*;

/// RFC 3461 4: known answers both ways.
#[test]
fn xtext_known_answers() {
    let table: &[(&[u8], &str)] = &[
        (b"", ""),
        (b"abc", "abc"),
        (b"a+b", "a+2Bb"),
        (b"a=b", "a+3Db"),
        (b"a b", "a+20b"),
        (b"\r\nRSET", "+0D+0ARSET"),
        (b"\x00\x7f\x80\xff", "+00+7F+80+FF"),
        (b"!~", "!~"),
    ];
    for &(raw, text) in table {
        let mut out = String::new();
        encode(raw, &mut out);
        assert_eq!(out, text);
        assert_eq!(encoded_len(raw), text.len());
        assert_eq!(decode(text), Ok(raw.to_vec()));
    }
}

/// RFC 3461 4: `hexchar` needs upper-case hex; lower case is refused (module docs).
#[test]
fn xtext_decode_refuses_lower_case_hex() {
    assert_eq!(decode("a+0d"), Err(XTextError::InvalidEscape { at: 1 }));
    assert!(decode("a+0d").unwrap_err().to_string().contains("offset 1"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 3461 4: decoding the encoding gives the bytes back; the encoding is xchars and
    /// hexchars only, so it carries no space, CR, LF or NUL.
    #[test]
    fn xtext_round_trip(raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut text = String::new();
        encode(&raw, &mut text);
        prop_assert_eq!(text.len(), encoded_len(&raw));
        prop_assert!(text.bytes().all(|b| (33..=126).contains(&b) && b != b'='));
        prop_assert_eq!(decode(&text), Ok(raw));
    }

    /// Decoding never panics, and what decodes re-encodes to a string that decodes the same.
    #[test]
    fn xtext_decode_total(text in "[ -~]{0,32}") {
        if let Ok(raw) = decode(&text) {
            let mut again = String::new();
            encode(&raw, &mut again);
            prop_assert_eq!(decode(&again), Ok(raw));
        }
    }
}
