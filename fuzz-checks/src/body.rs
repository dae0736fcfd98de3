//! `body_encoder`: any body, in any chunks, leaves with CRLF line ends only, dot-stuffed, with
//! exactly one end-of-data mark at its end, and [`smtp_proto::body::unstuff`] gives back the
//! normalised body (RFC 5321 2.3.8, 4.5.2; the smuggling class CVE-2023-51764). The BDAT encoder
//! normalises line ends without stuffing, or passes BINARYMIME bytes through (RFC 3030).
//!
//! [`ContentWriter`] frames the same content for DATA or BDAT into caller buffers of any size:
//! the same bytes as the encoders, BDAT chunks that add up to the content, the RFC 1870 size,
//! and a SIZE limit that is never passed.
//!
//! Input layout: `[mode, (limit, chunk if mode & 8), n, chunk sizes (n bytes)…, m, output
//! buffer sizes (m bytes)…, body…]`. `mode & 3`: 0 [`DataEncoder::encode`], 1
//! [`DataEncoder::encode_into`] with output buffers of the given sizes, 2 [`BdatEncoder`] text,
//! 3 [`BdatEncoder`] binary. `mode & 4`: encode the body a second time with the same encoder
//! after `finish` (it must have been reset). `mode & 8`: [`ContentWriter`] instead, framing DATA
//! (`mode & 3` 0 or 1), BDAT (2) or binary BDAT (3), with SIZE limit `4 * (limit - 1)` octets
//! (none for 0) and the chunk size picked by `chunk & 7`. `mode & 16`: the `BdatEncoder`
//! through `encode_into`.

use crate::input::{chunks, Bytes};
use smtp_proto::body::unstuff;
use smtp_proto::content::{ContentError, ContentWriter, Finish, Framing};
use smtp_proto::{BdatEncoder, DataEncoder};

/// The target.
pub fn body_encoder(data: &[u8]) {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let content = (mode & 8 != 0).then(|| (input.u8(), input.u8()));
    let n = usize::from(input.u8());
    let sizes = input.take(n);
    let m = usize::from(input.u8());
    let buffers = input.take(m);
    let body = input.rest();
    let pieces = chunks(body, sizes);
    let again = mode & 4 != 0;
    if let Some((limit, chunk)) = content {
        const CHUNK: [usize; 8] = [0, 1, 2, 3, 5, 16, 100, 4096];
        let chunk_size = CHUNK[usize::from(chunk & 7)];
        let framing = match mode & 3 {
            0 | 1 => Framing::Data,
            2 => Framing::Bdat { chunk_size },
            _ => Framing::BinaryBdat { chunk_size },
        };
        let limit = (limit > 0).then(|| 4 * u64::from(limit - 1));
        let mut writer = ContentWriter::new(framing, limit);
        let first = content_writer(&mut writer, body, &pieces, buffers);
        if again {
            writer.reset();
            let second = content_writer(&mut writer, body, &pieces, buffers);
            assert_eq!(first, second, "reset did not give a fresh writer");
        }
        return;
    }
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
                    chunk_wire(&mut BdatEncoder::new(binary), &pieces),
                    "encode_into differs from encode"
                );
                wire
            } else {
                chunk_wire(&mut encoder, &pieces)
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
    let mut out = normalise_open(body);
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// [`normalise`] without closing an open last line: the content of a body not finished yet.
fn normalise_open(body: &[u8]) -> Vec<u8> {
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

fn data_wire(encoder: &mut DataEncoder, pieces: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut input = Vec::new();
    for piece in pieces {
        encoder.encode(piece, &mut wire);
        assert_eq!(
            encoder.bytes_out(),
            wire.len() as u64,
            "bytes_out differs from the output"
        );
        // RFC 1870 6: the content so far, CRLFs counted, stuffed dots not.
        input.extend_from_slice(piece);
        assert_eq!(
            encoder.message_size(),
            normalise_open(&input).len() as u64,
            "message_size"
        );
    }
    encoder.finish(&mut wire);
    wire
}

fn chunk_wire(encoder: &mut BdatEncoder, pieces: &[&[u8]]) -> Vec<u8> {
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

/// Runs one message through `writer` with output buffers whose sizes cycle through `buffers`,
/// checks it against the encoders and the SIZE limit, and returns the wire bytes and how it
/// ended.
fn content_writer(
    writer: &mut ContentWriter,
    body: &[u8],
    pieces: &[&[u8]],
    buffers: &[u8],
) -> (Vec<u8>, Result<u64, ContentError>) {
    let sizes: &[u8] = if buffers.is_empty() { &[64] } else { buffers };
    let mut next = 0;
    let mut last_zero = false;
    let mut room = || {
        let s = usize::from(sizes[next % sizes.len()]);
        next += 1;
        let s = if last_zero { s.max(1) } else { s };
        last_zero = s == 0;
        s
    };
    let mut buf = [0u8; 256];
    let mut wire = Vec::new();
    let mut consumed = 0u64;
    let mut failed = None;
    'pieces: for piece in pieces {
        let mut rest: &[u8] = piece;
        while !rest.is_empty() {
            let room = room();
            match writer.write(rest, &mut buf[..room]) {
                Ok(p) => {
                    assert!(
                        p.consumed <= rest.len() && p.written <= room,
                        "{p:?} out of range"
                    );
                    assert!(
                        room == 0 || p.consumed > 0 || p.written > 0,
                        "no progress with {room} bytes of room"
                    );
                    wire.extend_from_slice(&buf[..p.written]);
                    rest = &rest[p.consumed..];
                    consumed += p.consumed as u64;
                }
                Err(e) => {
                    failed = Some(e);
                    break 'pieces;
                }
            }
        }
    }
    let mut finish_calls = 0;
    while failed.is_none() {
        let room = room();
        finish_calls += 1;
        assert!(finish_calls < 1000, "finish never completes");
        match writer.finish(&mut buf[..room]) {
            Ok(Finish::Partial { written }) => {
                assert!(written <= room);
                assert!(
                    room == 0 || written > 0,
                    "finish: no progress with {room} bytes of room"
                );
                wire.extend_from_slice(&buf[..written]);
            }
            Ok(Finish::Complete { written }) => {
                assert!(written <= room);
                wire.extend_from_slice(&buf[..written]);
                break;
            }
            Err(e) => failed = Some(e),
        }
    }

    let binary = matches!(writer.framing(), Framing::BinaryBdat { .. });
    let content = if binary {
        body.to_vec()
    } else {
        normalise(body)
    };
    let fits = writer
        .size_limit()
        .is_none_or(|limit| content.len() as u64 <= limit);
    if let Some(limit) = writer.size_limit() {
        assert!(
            writer.size() <= limit,
            "size {} past the limit {limit}",
            writer.size()
        );
    }
    let outcome = match failed {
        Some(error) => {
            assert!(
                !fits,
                "{error:?} for {} octets within {:?}",
                content.len(),
                writer.size_limit()
            );
            match error {
                ContentError::SizeExceeded { limit, at } => {
                    assert_eq!(Some(limit), writer.size_limit());
                    assert_eq!(
                        at, consumed,
                        "SizeExceeded at {at}, {consumed} bytes consumed"
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
            // Sticky.
            assert_eq!(writer.write(b"x", &mut buf), Err(error));
            assert_eq!(writer.finish(&mut buf), Err(error));
            assert!(!writer.is_finished());
            Err(error)
        }
        None => {
            assert!(
                fits,
                "{} octets passed the limit {:?}",
                content.len(),
                writer.size_limit()
            );
            assert!(writer.is_finished());
            assert_eq!(writer.size(), content.len() as u64, "RFC 1870 size");
            assert_eq!(writer.finish(&mut buf), Ok(Finish::Complete { written: 0 }));
            assert_eq!(writer.write(b"x", &mut buf), Err(ContentError::Finished));
            Ok(writer.size())
        }
    };
    match writer.framing() {
        Framing::Data => {
            if outcome.is_ok() {
                assert_eq!(
                    wire,
                    data_wire(&mut DataEncoder::new(), pieces),
                    "DATA framing differs from DataEncoder"
                );
            } else {
                // What went out is a prefix of the full wire form.
                let full = data_wire(&mut DataEncoder::new(), pieces);
                assert!(
                    full.starts_with(&wire),
                    "DATA output is not a prefix of the encoding"
                );
            }
        }
        Framing::Bdat { chunk_size } | Framing::BinaryBdat { chunk_size } => {
            let (carried, last) = bdat_chunks(&wire, chunk_size.max(2));
            assert_eq!(last, outcome.is_ok(), "LAST chunk present iff complete");
            if outcome.is_ok() {
                assert_eq!(carried, content, "BDAT chunks do not carry the content");
            } else {
                assert!(
                    content.starts_with(&carried),
                    "BDAT chunks carry other bytes"
                );
                assert_eq!(
                    carried.len() as u64,
                    writer.size(),
                    "size differs from the chunks"
                );
            }
        }
        _ => {}
    }
    (wire, outcome)
}

/// Parses BDAT framing: every chunk is `BDAT n[ LAST]` CRLF and exactly `n` octets, `n` at
/// most `chunk_size`, nothing after the LAST chunk. Returns the content and whether LAST came.
fn bdat_chunks(wire: &[u8], chunk_size: usize) -> (Vec<u8>, bool) {
    let mut content = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("BDAT header without CRLF");
        let header = std::str::from_utf8(&rest[..end]).expect("BDAT header not ASCII");
        let (size, last) = match header.strip_suffix(" LAST") {
            Some(h) => (h, true),
            None => (header, false),
        };
        let n: usize = size
            .strip_prefix("BDAT ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad BDAT header {header:?}"));
        assert!(
            n <= chunk_size,
            "chunk of {n} octets, chunk size {chunk_size}"
        );
        let chunk = rest
            .get(end + 2..end + 2 + n)
            .unwrap_or_else(|| panic!("chunk of {n} octets cut short"));
        content.extend_from_slice(chunk);
        rest = &rest[end + 2 + n..];
        if last {
            assert!(rest.is_empty(), "bytes after the LAST chunk");
            return (content, true);
        }
    }
    (content, false)
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
