//! `body_encoder`: any body, in any chunks, leaves with CRLF line ends only, dot-stuffed, with
//! exactly one end-of-data mark at its end, and [`smtp_proto::body::unstuff`] gives back the
//! normalised body (RFC 5321 2.3.8, 4.5.2; the smuggling class CVE-2023-51764). The BDAT encoder
//! normalises line ends without stuffing, or passes BINARYMIME bytes through (RFC 3030).
//!
//! Input layout: `[mode, n, chunk sizes (n bytes)…, m, output buffer sizes (m bytes)…, body…]`.
//! `mode & 3`: 0 [`BodyEncoder::encode`], 1 [`BodyEncoder::encode_into`] with output buffers of
//! the given sizes, 2 [`ChunkEncoder`] text, 3 [`ChunkEncoder`] binary. `mode & 4`: encode the
//! body a second time with the same encoder after `finish` (it must have been reset).

use crate::input::{chunks, Bytes};
use smtp_proto::body::unstuff;
use smtp_proto::{BodyEncoder, ChunkEncoder};

/// The target.
pub fn body_encoder(data: &[u8]) {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let n = usize::from(input.u8());
    let sizes = input.take(n);
    let m = usize::from(input.u8());
    let buffers = input.take(m);
    let body = input.rest();
    let pieces = chunks(body, sizes);
    let again = mode & 4 != 0;
    match mode & 3 {
        0 => {
            let mut encoder = BodyEncoder::new();
            let wire = data_wire(&mut encoder, &pieces);
            check_data_wire(body, &wire);
            if again {
                assert_eq!(
                    data_wire(&mut encoder, &pieces),
                    wire,
                    "finish did not reset"
                );
            }
        }
        1 => {
            let mut encoder = BodyEncoder::new();
            let expected = data_wire(&mut BodyEncoder::new(), &pieces);
            let wire = data_wire_into(&mut encoder, &pieces, buffers);
            assert_eq!(wire, expected, "encode_into differs from encode");
            check_data_wire(body, &wire);
            if again {
                let wire = data_wire_into(&mut encoder, &pieces, buffers);
                assert_eq!(wire, expected, "finish_into did not reset");
            }
        }
        k => {
            let binary = k == 3;
            let mut encoder = ChunkEncoder::new(binary);
            let wire = chunk_wire(&mut encoder, &pieces);
            if binary {
                assert_eq!(wire, body, "BINARYMIME content changed");
            } else {
                assert_eq!(
                    wire,
                    normalise(body),
                    "BDAT content is not the normalised body"
                );
                check_line_ends(&wire);
            }
            if again {
                assert_eq!(
                    chunk_wire(&mut encoder, &pieces),
                    wire,
                    "finish did not reset"
                );
            }
        }
    }
}

/// The body with every CRLF, bare CR and bare LF made CRLF, and a CRLF added when a non-empty
/// body does not end with a line end: the content a server must see.
pub fn normalise(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn data_wire(encoder: &mut BodyEncoder, pieces: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    for piece in pieces {
        encoder.encode(piece, &mut wire);
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
    }
    encoder.finish(&mut wire);
    wire
}

fn chunk_wire(encoder: &mut ChunkEncoder, pieces: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    for piece in pieces {
        encoder.encode(piece, &mut wire);
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
    }
    encoder.finish(&mut wire);
    wire
}

/// Encodes into caller buffers whose sizes cycle through `buffers` (at least one byte; 0 is
/// tried as an empty buffer first, which may only drop the LF of a CRLF split across calls).
fn data_wire_into(encoder: &mut BodyEncoder, pieces: &[&[u8]], buffers: &[u8]) -> Vec<u8> {
    let sizes: &[u8] = if buffers.is_empty() { &[64] } else { buffers };
    let mut next = 0;
    let mut size = || {
        let s = sizes[next % sizes.len()];
        next += 1;
        usize::from(s)
    };
    let mut wire = Vec::new();
    let mut buf = [0u8; 256];
    // Whether the last `encode_into` call had a single byte of room: a two-byte expansion may
    // then be owed, and finishing may need 6 bytes instead of 5 (documented exception).
    let mut last_room_one = false;
    // After an empty buffer the next one has at least a byte, so the loop always advances.
    let mut last_room_zero = false;
    for piece in pieces {
        let mut rest: &[u8] = piece;
        loop {
            let room = if last_room_zero {
                size().max(1)
            } else {
                size()
            };
            last_room_zero = room == 0;
            let (consumed, written) = encoder.encode_into(rest, &mut buf[..room]);
            assert!(
                consumed <= rest.len() && written <= room,
                "({consumed}, {written}) out of range"
            );
            if room == 0 {
                assert_eq!(written, 0, "wrote into an empty buffer");
            } else {
                assert!(
                    consumed > 0 || written > 0 || rest.is_empty(),
                    "no progress with {room} bytes of room"
                );
                last_room_one = room == 1;
            }
            wire.extend_from_slice(&buf[..written]);
            rest = &rest[consumed..];
            if rest.is_empty() && (room > 1 || written == 0) {
                break;
            }
            // With a single byte of room a byte may be owed: an empty call writes it.
        }
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
    }
    // Too small a buffer leaves the state as it was; 5 bytes always suffice, 6 after a
    // one-byte `encode_into`.
    let room = size().min(6);
    let needed = if last_room_one { 6 } else { 5 };
    let written = match encoder.finish_into(&mut buf[..room]) {
        Some(w) => w,
        None => {
            assert!(room < needed, "finish_into refused {room} bytes");
            encoder
                .finish_into(&mut buf[..needed])
                .expect("finish_into refused enough room")
        }
    };
    assert!(written <= needed, "finish_into wrote {written} bytes");
    wire.extend_from_slice(&buf[..written]);
    wire
}

/// Every CR is followed by LF and every LF preceded by CR.
fn check_line_ends(wire: &[u8]) {
    for (i, &b) in wire.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
}

/// The DATA wire form of `body`: CRLF only, stuffed, one end mark at the very end (the CRLF of
/// the DATA command line counts as the one before the mark of an empty body), and it unstuffs to
/// the normalised body.
fn check_data_wire(body: &[u8], wire: &[u8]) {
    check_line_ends(wire);
    let mut seen = Vec::with_capacity(wire.len() + 2);
    seen.extend_from_slice(b"\r\n");
    seen.extend_from_slice(wire);
    let mark = b"\r\n.\r\n";
    let first = seen.windows(mark.len()).position(|w| w == mark);
    assert_eq!(
        first,
        Some(seen.len() - mark.len()),
        "end mark missing or early"
    );
    // Every content line that starts with a dot was stuffed.
    let content = &wire[..wire.len() - 3];
    for line in content.split(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            assert!(line.starts_with(b".."), "unstuffed dot line {line:?}");
        }
    }
    assert_eq!(
        unstuff(wire).as_deref(),
        Ok(&normalise(body)[..]),
        "unstuff does not give the body back"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_makes_every_line_end_crlf() {
        assert_eq!(normalise(b""), b"");
        assert_eq!(normalise(b"a"), b"a\r\n");
        assert_eq!(normalise(b"a\rb\nc\r\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(normalise(b"\r\r\n\n\r"), b"\r\n\r\n\r\n\r\n");
    }
}
