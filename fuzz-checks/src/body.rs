//! `body_encoder`: any body, in any chunks, leaves with CRLF line ends only, dot-stuffed, with
//! exactly one end-of-data mark at its end, and [`mailwire::body::unstuff`] gives back the
//! normalised body (RFC 5321 2.3.8, 4.5.2; the smuggling class CVE-2023-51764). The BDAT encoder
//! normalises line ends without stuffing, or passes BINARYMIME bytes through (RFC 3030). Both
//! count the RFC 1870 6 size as they go (`message_size`, `final_size`), as the content meter
//! does without encoding (`ContentMeter`, in mode 0's pieces), and their caller-buffer
//! forms (`encode_into`, `finish_into`) give the same bytes as `encode` with output buffers of
//! any size.
//!
//! Input layout: `[mode, n, chunk sizes (n bytes)…, m, output buffer sizes (m bytes)…, body…]`.
//! `mode & 3`: 0 [`DataEncoder::encode`], 1 [`DataEncoder::encode_into`] with output buffers of
//! the given sizes, 2 [`BdatEncoder`] text, 3 [`BdatEncoder`] binary. `mode & 4`: encode the
//! body a second time with the same encoder after `finish` (it must have been reset).
//! `mode & 16`: the `BdatEncoder` through `encode_into`. Other bits are ignored.

use crate::input::{chunks, Bytes};
use mailwire::body::{unstuff, ContentMeter};
use mailwire::{BdatEncoder, DataEncoder};

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
            let mut encoder = DataEncoder::new();
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
            let mut encoder = DataEncoder::new();
            let expected = data_wire(&mut DataEncoder::new(), &pieces);
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
            let mut encoder = BdatEncoder::new(binary);
            let wire = if mode & 16 != 0 {
                let wire = chunk_wire_into(&mut encoder, &pieces, buffers);
                assert_eq!(
                    wire,
                    chunk_wire(&mut BdatEncoder::new(binary), binary, &pieces),
                    "encode_into differs from encode"
                );
                wire
            } else {
                chunk_wire(&mut encoder, binary, &pieces)
            };
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
                    chunk_wire(&mut encoder, binary, &pieces),
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
    let mut out = normalise_open(body);
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// [`normalise`] without closing an open last line: the content of a body not finished yet.
pub fn normalise_open(body: &[u8]) -> Vec<u8> {
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
    out
}

/// The RFC 1870 6 size of a body given in pieces: the length of [`normalise_open`] of what came
/// so far, and of [`normalise`] if it ended now, counted as the pieces come (recomputing them
/// each time would make a body of one-byte pieces quadratic).
#[derive(Default)]
struct Rfc1870Size {
    so_far: u64,
    last_cr: bool,
    /// The last byte was not a line end: an open line, closed by CRLF if the body ended.
    open: bool,
}

impl Rfc1870Size {
    fn add(&mut self, piece: &[u8]) {
        for &b in piece {
            self.so_far += match b {
                b'\r' => 2,
                b'\n' if self.last_cr => 0,
                b'\n' => 2,
                _ => 1,
            };
            self.last_cr = b == b'\r';
            self.open = !matches!(b, b'\r' | b'\n');
        }
    }

    fn if_ended(&self) -> u64 {
        self.so_far + if self.open { 2 } else { 0 }
    }
}

fn data_wire(encoder: &mut DataEncoder, pieces: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut size = Rfc1870Size::default();
    // The meter counts the same size without encoding (its own pass, `mailwire_simd`'s tally).
    let mut meter = ContentMeter::new();
    let mut eight_bit = false;
    for piece in pieces {
        encoder.encode(piece, &mut wire);
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
        // RFC 1870 6: the content so far, CRLFs counted, stuffed dots not.
        size.add(piece);
        assert_eq!(encoder.message_size(), size.so_far, "message_size");
        // And if it ended now: the CRLF that closes an open last line counted too.
        assert_eq!(encoder.final_size(), size.if_ended(), "final_size");
        meter.update(piece);
        eight_bit |= !piece.is_ascii();
        assert_eq!(meter.size(), size.if_ended(), "the meter's size");
        assert_eq!(meter.eight_bit(), eight_bit, "the meter's 8-bit test");
    }
    encoder.finish(&mut wire);
    wire
}

/// BDAT content (`binary`: BINARYMIME), checking the RFC 1870 6 size after every piece: BDAT
/// has no stuffing, so what is out is the size so far, and `final_size` adds the CRLF that
/// closes an open last line of text.
fn chunk_wire(encoder: &mut BdatEncoder, binary: bool, pieces: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut size = Rfc1870Size::default();
    let mut raw = 0u64;
    for piece in pieces {
        encoder.encode(piece, &mut wire);
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
        size.add(piece);
        raw += piece.len() as u64;
        let (so_far, if_ended) = if binary {
            (raw, raw)
        } else {
            (size.so_far, size.if_ended())
        };
        assert_eq!(encoder.bytes_out(), so_far, "BDAT size so far");
        assert_eq!(encoder.final_size(), if_ended, "BDAT final_size");
    }
    encoder.finish(&mut wire);
    wire
}

/// Encodes into caller buffers whose sizes cycle through `buffers` (at least one byte; 0 is
/// tried as an empty buffer first, which may only drop the LF of a CRLF split across calls).
/// The caller-buffer forms of the two encoders.
trait EncodeInto {
    fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize);
    fn finish_into(&mut self, out: &mut [u8]) -> Option<usize>;
    fn bytes_out(&self) -> u64;
    /// The room `finish_into` may need, given whether the last `encode_into` had one byte.
    fn finish_room(last_room_one: bool) -> usize;
}

impl EncodeInto for DataEncoder {
    fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        DataEncoder::encode_into(self, input, out)
    }
    fn finish_into(&mut self, out: &mut [u8]) -> Option<usize> {
        DataEncoder::finish_into(self, out)
    }
    fn bytes_out(&self) -> u64 {
        DataEncoder::bytes_out(self)
    }
    /// 5 bytes always suffice, 6 after a one-byte `encode_into` (documented exception).
    fn finish_room(last_room_one: bool) -> usize {
        if last_room_one {
            6
        } else {
            5
        }
    }
}

impl EncodeInto for BdatEncoder {
    fn encode_into(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        BdatEncoder::encode_into(self, input, out)
    }
    fn finish_into(&mut self, out: &mut [u8]) -> Option<usize> {
        BdatEncoder::finish_into(self, out)
    }
    fn bytes_out(&self) -> u64 {
        BdatEncoder::bytes_out(self)
    }
    /// A CRLF for an open line, or the LF owed by `encode_into`.
    fn finish_room(_: bool) -> usize {
        2
    }
}

fn chunk_wire_into(encoder: &mut BdatEncoder, pieces: &[&[u8]], buffers: &[u8]) -> Vec<u8> {
    wire_into(encoder, pieces, buffers)
}

fn data_wire_into(encoder: &mut DataEncoder, pieces: &[&[u8]], buffers: &[u8]) -> Vec<u8> {
    wire_into(encoder, pieces, buffers)
}

fn wire_into<E: EncodeInto>(encoder: &mut E, pieces: &[&[u8]], buffers: &[u8]) -> Vec<u8> {
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
    // Too small a buffer leaves the state as it was.
    let needed = E::finish_room(last_room_one);
    let room = size().min(needed);
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
    fn the_size_counter_is_the_normalised_length() {
        for body in [&b""[..], b"a", b"a\r", b"a\r\n", b"\r\r\n\n\r", b"x\ny\rz"] {
            for split in 0..=body.len() {
                let mut size = Rfc1870Size::default();
                size.add(&body[..split]);
                size.add(&body[split..]);
                assert_eq!(size.so_far, normalise_open(body).len() as u64, "{body:?}");
                assert_eq!(size.if_ended(), normalise(body).len() as u64, "{body:?}");
            }
        }
    }

    #[test]
    fn normalise_makes_every_line_end_crlf() {
        assert_eq!(normalise(b""), b"");
        assert_eq!(normalise(b"a"), b"a\r\n");
        assert_eq!(normalise(b"a\rb\nc\r\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(normalise(b"\r\r\n\n\r"), b"\r\n\r\n\r\n\r\n");
    }
}
