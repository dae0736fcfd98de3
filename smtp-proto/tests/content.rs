//! `ContentWriter`: DATA and BDAT framing into caller-owned buffers (RFC 5321 4.5.2, RFC 3030,
//! RFC 1870). Known answers for each framing, then properties: any split of the input and of
//! the output gives the one-shot bytes, and the SIZE limit holds exactly.

use proptest::prelude::*;
use smtp_proto::body::unstuff;
use smtp_proto::content::{ContentError, Finish, Framing};
use smtp_proto::{BodyEncoder, ChunkEncoder, ContentWriter};

/// What a run produced: the wire bytes, and the error that stopped it, if any.
struct Run {
    wire: Vec<u8>,
    error: Option<ContentError>,
    /// Input bytes consumed before the error (or all of them).
    consumed: usize,
}

/// Feeds `pieces` (each resumed until consumed) to `writer`, with output buffers whose sizes
/// cycle through `outs`, then finishes.
fn drive(writer: &mut ContentWriter, pieces: &[&[u8]], outs: &[usize]) -> Run {
    let mut buf = vec![0u8; outs.iter().copied().max().unwrap_or(1)];
    let mut sizes = outs.iter().copied().cycle();
    let mut wire = Vec::new();
    let mut consumed = 0;
    // Every call with room makes progress (consumes input or writes output): catch a stall by
    // counting calls that did neither. A budget of calls per input byte would be wrong: with
    // one-byte buffers and BDAT chunks of one octet, each input byte takes nine calls (its
    // `BDAT 1` header and the octet, one byte at a time).
    let mut idle = Idle::default();
    for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() {
            let size = sizes.next().unwrap();
            match writer.write(rest, &mut buf[..size]) {
                Ok(p) => {
                    assert!(p.consumed <= rest.len() && p.written <= size);
                    idle.call(p.consumed + p.written);
                    wire.extend_from_slice(&buf[..p.written]);
                    rest = &rest[p.consumed..];
                    consumed += p.consumed;
                }
                Err(error) => {
                    return Run {
                        wire,
                        error: Some(error),
                        consumed,
                    }
                }
            }
        }
    }
    loop {
        let size = sizes.next().unwrap();
        match writer.finish(&mut buf[..size]) {
            Ok(f) => {
                idle.call(f.written());
                wire.extend_from_slice(&buf[..f.written()]);
                if let Finish::Complete { .. } = f {
                    return Run {
                        wire,
                        error: None,
                        consumed,
                    };
                }
            }
            Err(error) => {
                return Run {
                    wire,
                    error: Some(error),
                    consumed,
                }
            }
        }
    }
}

/// Counts calls in a row that made no progress; fails past a few. Output buffers are never
/// empty here, so a call with no progress is a stall, whatever the input and buffer sizes.
#[derive(Default)]
struct Idle(usize);

impl Idle {
    fn call(&mut self, progress: usize) {
        if progress > 0 {
            self.0 = 0;
        } else {
            self.0 += 1;
            assert!(self.0 < 4, "no progress in {} calls in a row", self.0);
        }
    }
}

/// One piece, one large buffer.
fn one_shot(framing: Framing, limit: Option<u64>, input: &[u8]) -> Run {
    drive(
        &mut ContentWriter::new(framing, limit),
        &[input],
        &[1 << 16],
    )
}

/// A decoded BDAT stream (RFC 3030 2).
#[derive(Debug)]
struct Chunks {
    content: Vec<u8>,
    sizes: Vec<usize>,
    last: bool,
}

/// Decodes `BDAT n [LAST]` CRLF + n octets, strictly: every chunk complete, nothing after LAST.
fn decode_bdat(mut wire: &[u8]) -> Result<Chunks, String> {
    let mut chunks = Chunks {
        content: Vec::new(),
        sizes: Vec::new(),
        last: false,
    };
    while !wire.is_empty() {
        if chunks.last {
            return Err("bytes after LAST".into());
        }
        let end = wire
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unterminated BDAT line")?;
        let line = std::str::from_utf8(&wire[..end]).map_err(|e| e.to_string())?;
        let args = line
            .strip_prefix("BDAT ")
            .ok_or(format!("not BDAT: {line:?}"))?;
        let (size, last) = match args.strip_suffix(" LAST") {
            Some(size) => (size, true),
            None => (args, false),
        };
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad size in {line:?}"));
        }
        let size: usize = size.parse().map_err(|_| "size overflow")?;
        let data = wire
            .get(end + 2..end + 2 + size)
            .ok_or(format!("chunk of {size} cut short"))?;
        chunks.content.extend_from_slice(data);
        chunks.sizes.push(size);
        chunks.last = last;
        wire = &wire[end + 2 + size..];
    }
    Ok(chunks)
}

fn data_reference(input: &[u8]) -> Vec<u8> {
    let mut encoder = BodyEncoder::new();
    let mut wire = Vec::new();
    encoder.encode(input, &mut wire);
    encoder.finish(&mut wire);
    wire
}

fn chunk_reference(input: &[u8], binary: bool) -> Vec<u8> {
    let mut encoder = ChunkEncoder::new(binary);
    let mut wire = Vec::new();
    encoder.encode(input, &mut wire);
    encoder.finish(&mut wire);
    wire
}

/// Known answers: `(framing, input, wire, RFC 1870 size)`. DATA: RFC 5321 4.5.2 (stuffing,
/// end mark) and 2.3.8 (line ends); BDAT: RFC 3030 2 (chunks sized by the input each write
/// is sure to give, `chunk_size` at most; the last chunk holds what `finish` adds).
#[allow(clippy::type_complexity)]
const KNOWN: &[(Framing, &[u8], &[u8], u64)] = &[
    (Framing::Data, b"", b".\r\n", 0),
    (Framing::Data, b"hi", b"hi\r\n.\r\n", 4),
    (Framing::Data, b"hi\r\n", b"hi\r\n.\r\n", 4),
    (Framing::Data, b"a\nb\rc", b"a\r\nb\r\nc\r\n.\r\n", 9),
    (Framing::Data, b".\n..x\n", b"..\r\n...x\r\n.\r\n", 8),
    (Framing::Data, b"x\r\n.\r\n", b"x\r\n..\r\n.\r\n", 6),
    (
        Framing::Bdat { chunk_size: 100 },
        b"",
        b"BDAT 0 LAST\r\n",
        0,
    ),
    (
        Framing::Bdat { chunk_size: 100 },
        b"hi",
        b"BDAT 2\r\nhiBDAT 2 LAST\r\n\r\n",
        4,
    ),
    (
        Framing::Bdat { chunk_size: 100 },
        b"hi\r\n",
        b"BDAT 4\r\nhi\r\nBDAT 0 LAST\r\n",
        4,
    ),
    (
        // Bare LF and CR become CRLF; no stuffing with BDAT. Five input bytes are sure to
        // give five octets; the CR's LF is owed across chunks.
        Framing::Bdat { chunk_size: 100 },
        b".a\nb\r",
        b"BDAT 5\r\n.a\r\nbBDAT 1\r\n\rBDAT 1 LAST\r\n\n",
        7,
    ),
    (
        Framing::Bdat { chunk_size: 3 },
        b"abcdefgh\r\n",
        b"BDAT 3\r\nabcBDAT 3\r\ndefBDAT 3\r\ngh\rBDAT 1 LAST\r\n\n",
        10,
    ),
    (
        Framing::BinaryBdat { chunk_size: 4 },
        b"a\nb\rc\0\xff",
        b"BDAT 4\r\na\nb\rBDAT 3\r\nc\0\xffBDAT 0 LAST\r\n",
        7,
    ),
];

/// RFC 5321 4.5.2 and RFC 3030 2: each framing's known answers, whole and with output buffers
/// of every size from 1 to 40 (pausing never changes the bytes), and the RFC 1870 6 size.
#[test]
fn known_answers_for_each_framing() {
    for &(framing, input, wire, size) in KNOWN {
        for out in [1 << 16, 1, 2, 3, 5, 7, 13, 40] {
            let mut writer = ContentWriter::new(framing, None);
            let run = drive(&mut writer, &[input], &[out]);
            assert_eq!(run.error, None, "{framing:?} {input:?} out {out}");
            assert_eq!(
                run.wire,
                wire,
                "{framing:?} {:?} out {out}: got {:?}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&run.wire)
            );
            assert_eq!(writer.size(), size, "{framing:?} {input:?}");
            assert!(writer.is_finished());
        }
    }
}

/// RFC 5321 4.5.2: DATA framing does not depend on how the input is split, even byte by byte
/// (a CR at the end of one write and its LF at the start of the next make one line end).
/// Regression (found by `bdat_any_split_decodes_to_chunk_encoder`): BDAT with chunks of one
/// octet (taken as two), one-byte output buffers and a 95-byte body of dots and bare CR/LF.
/// Every input byte becomes a `BDAT n` header plus its octets, written a byte per call: far more
/// calls than input bytes, all of them making progress. The old call budget (four per input
/// byte) called that a stall.
#[test]
fn bdat_tiny_chunks_one_byte_buffers_finish() {
    let input: Vec<u8> = b"\r\r.\r\n\r\r\r.\r"
        .iter()
        .copied()
        .cycle()
        .take(95)
        .collect();
    assert_eq!(input.len(), 95);
    for binary in [false, true] {
        let framing = bdat_framing(binary, 1);
        let mut writer = ContentWriter::new(framing, None);
        let run = drive(&mut writer, &[&input], &[1]);
        assert_eq!(run.error, None);
        let chunks = decode_bdat(&run.wire).unwrap();
        assert!(chunks.last);
        assert_eq!(chunks.content, chunk_reference(&input, binary));
        // One call per wire byte at least: for text (each bare CR a chunk of its own CRLF), more
        // than the old budget of 16 + 4 * (95 + 64) = 652 calls allowed.
        if !binary {
            assert!(run.wire.len() > 652, "{}", run.wire.len());
        }
    }
}

#[test]
fn data_input_split_byte_by_byte() {
    for &(framing, input, wire, _) in KNOWN {
        if framing != Framing::Data {
            continue;
        }
        let pieces: Vec<&[u8]> = input.chunks(1).collect();
        let run = drive(&mut ContentWriter::new(framing, None), &pieces, &[1, 2, 3]);
        assert_eq!(run.wire, wire);
    }
}

/// RFC 3030 2: full chunks come from writes of at least `chunk_size` bytes; a chunk never
/// exceeds `chunk_size` and never spans what one write was sure to give.
#[test]
fn bdat_chunk_sizes_follow_writes() {
    let input = vec![b'x'; 10_000];
    let mut writer = ContentWriter::new(Framing::Bdat { chunk_size: 4096 }, None);
    let run = drive(&mut writer, &[&input], &[100]);
    let chunks = decode_bdat(&run.wire).unwrap();
    assert_eq!(chunks.sizes, [4096, 4096, 1808, 2]);
    assert!(chunks.last);

    let mut writer = ContentWriter::new(Framing::Bdat { chunk_size: 4096 }, None);
    let lines: Vec<&[u8]> = vec![b"line one\r\n", b"line two\r\n"];
    let run = drive(&mut writer, &lines, &[4096]);
    assert_eq!(decode_bdat(&run.wire).unwrap().sizes, [10, 10, 0]);
}

/// RFC 1870 6: the size counts CRLFs, not the stuffed dots nor the terminating dot; a limit
/// equal to the size passes, one less is refused before anything past it is written.
#[test]
fn size_limit_is_exact() {
    let input = b".a\n.b\nc";
    // Content: ".a\r\n.b\r\nc\r\n" = 11 octets; wire adds two stuffed dots and ".\r\n".
    let run = one_shot(Framing::Data, Some(11), input);
    assert_eq!(run.error, None);
    assert_eq!(run.wire, b"..a\r\n..b\r\nc\r\n.\r\n");

    let mut writer = ContentWriter::new(Framing::Data, Some(10));
    let run = drive(&mut writer, &[input], &[1 << 16]);
    // Everything but the closing CRLF fits; the end is refused whole.
    assert_eq!(
        run.error,
        Some(ContentError::SizeExceeded { limit: 10, at: 7 })
    );
    assert_eq!(run.wire, b"..a\r\n..b\r\nc");
    assert_eq!(writer.size(), 9);

    let run = one_shot(Framing::Bdat { chunk_size: 4 }, Some(3), b"abcdef");
    assert_eq!(
        run.error,
        Some(ContentError::SizeExceeded { limit: 3, at: 3 })
    );
    assert_eq!(run.wire, b"BDAT 3\r\nabc");
}

/// Failure is sticky: after `SizeExceeded`, every call returns it until `reset`, which makes
/// the writer good for the next message.
#[test]
fn size_error_is_sticky_until_reset() {
    let mut writer = ContentWriter::new(Framing::Data, Some(2));
    let mut buf = [0u8; 64];
    let p = writer.write(b"abcd", &mut buf).unwrap();
    assert_eq!((p.consumed, &buf[..p.written]), (2, &b"ab"[..]));
    let error = ContentError::SizeExceeded { limit: 2, at: 2 };
    assert_eq!(writer.write(b"cd", &mut buf), Err(error));
    assert_eq!(writer.write(b"", &mut buf), Err(error));
    assert_eq!(writer.finish(&mut buf), Err(error));
    writer.reset();
    assert_eq!(writer.size(), 0);
    let run = drive(&mut writer, &[b"\r\n"], &[64]);
    assert_eq!((run.error, run.wire.as_slice()), (None, &b"\r\n.\r\n"[..]));
}

/// Misuse gets typed errors and changes nothing: write after finish, finish with an open
/// BDAT chunk (RFC 3030 2: a chunk must carry the octets its command announced).
#[test]
fn misuse_is_refused() {
    let mut writer = ContentWriter::new(Framing::Bdat { chunk_size: 8 }, None);
    let mut buf = [0u8; 16];
    let p = writer.write(b"abcdefgh", &mut buf[..10]).unwrap();
    assert_eq!((p.consumed, &buf[..p.written]), (2, &b"BDAT 8\r\nab"[..]));
    assert_eq!(
        writer.finish(&mut buf),
        Err(ContentError::UnfinishedChunk { missing: 6 })
    );
    let p = writer.write(b"cdefgh", &mut buf).unwrap();
    assert_eq!((p.consumed, &buf[..p.written]), (6, &b"cdefgh"[..]));
    assert_eq!(
        writer.finish(&mut buf),
        Ok(Finish::Complete { written: 15 })
    );
    assert_eq!(&buf[..15], b"BDAT 2 LAST\r\n\r\n");
    assert_eq!(writer.finish(&mut buf), Ok(Finish::Complete { written: 0 }));
    assert_eq!(writer.write(b"x", &mut buf), Err(ContentError::Finished));
}

/// No room is not an error: an empty output buffer makes no progress and changes nothing
/// (no BDAT chunk is announced, so finishing stays possible).
#[test]
fn empty_output_buffer_is_no_progress() {
    for framing in [Framing::Data, Framing::Bdat { chunk_size: 5 }] {
        let mut writer = ContentWriter::new(framing, Some(100));
        let p = writer.write(b"hello", &mut []).unwrap();
        assert_eq!((p.consumed, p.written), (0, 0));
        assert_eq!(writer.finish(&mut []), Ok(Finish::Partial { written: 0 }));
        let mut buf = [0u8; 64];
        assert!(matches!(
            writer.finish(&mut buf),
            Ok(Finish::Complete { .. })
        ));
    }
}

/// A chunk size below 2 is taken as 2: the last chunk (RFC 3030 2) may have to carry the
/// CRLF that closes an open line.
#[test]
fn tiny_chunk_size_is_two() {
    for chunk_size in [0, 1, 2] {
        let run = one_shot(Framing::Bdat { chunk_size }, None, b"abc");
        assert_eq!(run.wire, b"BDAT 2\r\nabBDAT 1\r\ncBDAT 2 LAST\r\n\r\n");
    }
}

/// RFC 5321 2.3.8 and RFC 1870 6: the `_into` forms of the body encoders give what the
/// `Vec` forms give, and `BodyEncoder::message_size` leaves the stuffed dots out.
#[test]
fn encoder_into_forms_agree() {
    let input = b".a\r\nb\rc\n.\n..";
    for binary in [false, true] {
        let mut encoder = ChunkEncoder::new(binary);
        let mut wire = vec![0u8; 64];
        let (consumed, mut written) = encoder.encode_into(input, &mut wire);
        assert_eq!(consumed, input.len());
        written += encoder.finish_into(&mut wire[written..]).unwrap();
        assert_eq!(&wire[..written], chunk_reference(input, binary));
    }
    let mut encoder = BodyEncoder::new();
    let mut wire = Vec::new();
    encoder.encode(input, &mut wire);
    // Three lines start with a dot (".a", ".", ".."): three stuffed dots on the wire.
    assert_eq!(encoder.bytes_out(), wire.len() as u64);
    assert_eq!(encoder.message_size(), wire.len() as u64 - 3);
}

/// Errors say what went wrong and cite the RFC.
#[test]
fn errors_display() {
    let text = ContentError::SizeExceeded { limit: 10, at: 3 }.to_string();
    assert!(text.contains("10") && text.contains("RFC 1870"), "{text}");
    let text = ContentError::UnfinishedChunk { missing: 4 }.to_string();
    assert!(text.contains('4') && text.contains("RFC 3030"), "{text}");
    assert_eq!(
        ContentError::Finished.to_string(),
        "content already finished"
    );
}

/// Bodies rich in what matters: dots, CR, LF, and ordinary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'.'),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'a'),
            any::<u8>()
        ],
        0..300,
    )
}

/// Splits `input` at the given cut points.
fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&input[start..cut]);
        start = cut;
    }
    pieces.push(&input[start..]);
    pieces
}

fn bdat_framing(binary: bool, chunk_size: usize) -> Framing {
    if binary {
        Framing::BinaryBdat { chunk_size }
    } else {
        Framing::Bdat { chunk_size }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 5321 4.5.2: any input, any split of it, any output buffer sizes (1..64) give
    /// exactly what `BodyEncoder::encode` + `finish` give.
    #[test]
    fn data_any_split_matches_body_encoder(
        input in body(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        outs in prop::collection::vec(1usize..64, 1..8),
    ) {
        let mut writer = ContentWriter::new(Framing::Data, None);
        let run = drive(&mut writer, &split(&input, &cuts), &outs);
        prop_assert_eq!(run.error, None);
        let reference = data_reference(&input);
        prop_assert_eq!(&run.wire, &reference);
        prop_assert_eq!(writer.size(), unstuff(&reference).unwrap().len() as u64);
    }

    /// RFC 3030 2: any input, any split, any output buffer sizes: the BDAT framing is well
    /// formed (complete chunks, at most `chunk_size`, one LAST at the end) and carries exactly
    /// what `ChunkEncoder` gives; and output sizes never change the bytes.
    #[test]
    fn bdat_any_split_decodes_to_chunk_encoder(
        input in body(),
        binary in any::<bool>(),
        chunk_size in 1usize..40,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        outs in prop::collection::vec(1usize..64, 1..8),
    ) {
        let framing = bdat_framing(binary, chunk_size);
        let pieces = split(&input, &cuts);
        let mut writer = ContentWriter::new(framing, None);
        let run = drive(&mut writer, &pieces, &outs);
        prop_assert_eq!(run.error, None);
        let chunks = decode_bdat(&run.wire).map_err(TestCaseError::fail)?;
        prop_assert!(chunks.last);
        prop_assert!(chunks.sizes.iter().all(|&s| s <= chunk_size.max(2)), "{:?}", chunks.sizes);
        let reference = chunk_reference(&input, binary);
        prop_assert_eq!(&chunks.content, &reference);
        prop_assert_eq!(writer.size(), reference.len() as u64);
        // Same input pieces, one huge output buffer: the same bytes.
        let whole = drive(&mut ContentWriter::new(framing, None), &pieces, &[1 << 16]);
        prop_assert_eq!(&whole.wire, &run.wire);
    }

    /// RFC 1870 6: with a limit, a message of size <= limit goes through unchanged; a larger
    /// one is refused with `SizeExceeded`, after a prefix of the unlimited output that carries
    /// no more than `limit` octets of content (and, for BDAT, only complete chunks).
    #[test]
    fn size_limit_enforced_exactly(
        input in body(),
        framing_kind in 0u8..3,
        chunk_size in 1usize..40,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        outs in prop::collection::vec(1usize..64, 1..8),
        slack in -3i64..3,
    ) {
        let framing = match framing_kind {
            0 => Framing::Data,
            kind => bdat_framing(kind == 2, chunk_size),
        };
        let pieces = split(&input, &cuts);
        let unlimited = drive(&mut ContentWriter::new(framing, None), &pieces, &outs);
        let mut sizer = ContentWriter::new(framing, None);
        let _ = drive(&mut sizer, &pieces, &[1 << 16]);
        let size = sizer.size();
        let limit = size.saturating_add_signed(slack);
        let mut writer = ContentWriter::new(framing, Some(limit));
        let run = drive(&mut writer, &pieces, &outs);
        if size <= limit {
            prop_assert_eq!(run.error, None);
            prop_assert_eq!(&run.wire, &unlimited.wire);
        } else {
            prop_assert_eq!(
                run.error,
                Some(ContentError::SizeExceeded { limit, at: run.consumed as u64 })
            );
            prop_assert!(writer.size() <= limit);
            if framing == Framing::Data {
                prop_assert!(unlimited.wire.starts_with(&run.wire));
            } else {
                let chunks = decode_bdat(&run.wire).map_err(TestCaseError::fail)?;
                prop_assert!(!chunks.last);
                prop_assert!(chunks.content.len() as u64 <= limit);
                let reference = chunk_reference(&input, framing_kind == 2);
                prop_assert!(reference.starts_with(&chunks.content));
            }
            // Sticky.
            let mut buf = [0u8; 8];
            prop_assert_eq!(writer.write(b"x", &mut buf), Err(run.error.unwrap()));
            prop_assert_eq!(writer.finish(&mut buf), Err(run.error.unwrap()));
        }
    }
}
