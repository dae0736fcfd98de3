//! The `dkim_sign` target: `mailwire_message::dkim` on any message, in any pieces.
//!
//! Input: `mode` (bits 0–1: the canonicalisation pair, bit 2: no oversigning), a count `n` and
//! `n` piece sizes, then the message. Checks: no panic; the message fed in those pieces gives
//! what it gives whole; a signature field is one folded ASCII field of lines of at most 78
//! octets; the body hash does not move when the field is put before the message (it is not
//! body) or when empty lines are added at the end (RFC 6376 3.4.3, 3.4.4 ignore them).

use crate::input::{chunks, Bytes};
use mailwire_message::dkim::{Canonicalization, DkimKey, DkimSigner};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

fn key() -> &'static DkimKey {
    static KEY: OnceLock<DkimKey> = OnceLock::new();
    // RFC 8032's first test seed.
    KEY.get_or_init(|| {
        DkimKey::parse(b"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").expect("the seed is a key")
    })
}

fn body_hash(field: &str) -> &str {
    let at = field.find("bh=").expect("a bh= tag") + 3;
    let end = field[at..].find(';').expect("bh= ends with ;") + at;
    &field[at..end]
}

fn check_field(field: &str) {
    assert!(
        field.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c="),
        "{field:?}"
    );
    assert!(field.ends_with("\r\n"), "{field:?}");
    let lines: Vec<&str> = field[..field.len() - 2].split("\r\n").collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(line.len() <= 78, "line {i} longer than 78: {field:?}");
        assert!(
            line.bytes()
                .all(|b| (0x20..0x7f).contains(&b) || b == b'\t'),
            "not printable ASCII: {field:?}"
        );
        assert!(
            i == 0 || line.starts_with('\t'),
            "a continuation without a fold: {field:?}"
        );
    }
}

/// The target.
pub fn dkim_sign(data: &[u8]) {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let n = usize::from(input.u8());
    let sizes = input.take(n);
    let message = input.rest();
    let canon = |bit: u8| {
        if mode & bit == 0 {
            Canonicalization::Relaxed
        } else {
            Canonicalization::Simple
        }
    };
    let signer = DkimSigner::new("example.org", "s", key().clone())
        .expect("a valid domain and selector")
        .canonicalization(canon(1), canon(2))
        .oversign(mode & 4 == 0);
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    let whole = signer.sign(message, time);
    let mut signing = signer.start();
    let mut streamed = Ok(());
    for piece in chunks(message, sizes) {
        streamed = streamed.and_then(|()| signing.update(piece));
    }
    let streamed = streamed.and_then(|()| signing.finish(time));
    assert_eq!(
        whole, streamed,
        "pieces {sizes:?} sign otherwise than the whole"
    );

    let Ok(field) = whole else {
        return;
    };
    check_field(&field);
    let mut signed = field.clone().into_bytes();
    signed.extend_from_slice(message);
    let again = signer
        .sign(&signed, time)
        .expect("a signed message signs again");
    assert_eq!(
        body_hash(&again),
        body_hash(&field),
        "the field moved the body hash"
    );
    let mut padded = message.to_vec();
    padded.extend_from_slice(b"\r\n\r\n\n\r");
    match signer.sign(&padded, time) {
        Ok(padded) => assert_eq!(
            body_hash(&padded),
            body_hash(&field),
            "empty lines at the end moved the body hash"
        ),
        Err(e) => panic!("signed without empty lines at the end, refused with them: {e}"),
    }
}
