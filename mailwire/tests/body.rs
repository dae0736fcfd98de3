//! DATA dot-stuffing and line-end normalisation (RFC 5321 2.3.8, 4.5.2), BDAT content (RFC 3030),
//! and the strict decoder used to check them.

use mailwire::body::{unstuff, BdatEncoder, DataEncoder, UnstuffError};
use proptest::prelude::*;

/// `(binary, chunks, wire bytes)`.
type ChunkCase = (bool, &'static [&'static [u8]], &'static [u8]);
/// `(wire bytes, decoded content or error)`.
type UnstuffCase = (&'static [u8], Result<&'static [u8], UnstuffError>);

/// The reference normaliser: CRLF, a bare CR and a bare LF each become CRLF; a non-empty body
/// that does not end with a line end gets one (RFC 5321 2.3.8, 4.1.1.4).
fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes `input` split at `cuts` (offsets, any order, out of range ones clamped).
fn encode_chunked(input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    let mut enc = DataEncoder::new();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        enc.encode(&input[start..cut], &mut out);
        start = cut;
    }
    enc.encode(&input[start..], &mut out);
    assert_eq!(
        enc.bytes_out(),
        out.len() as u64,
        "bytes_out counts the body"
    );
    assert_eq!(
        enc.final_size(),
        normalise(input).len() as u64,
        "the RFC 1870 size leaves the stuffed dots out"
    );
    enc.finish(&mut out);
    assert_eq!(enc.bytes_out(), 0, "finish resets");
    out
}

/// `cuts` clamped to `input` and sorted: where to split it.
fn sorted_cuts(input: &[u8], cuts: &[usize]) -> Vec<usize> {
    let mut sorted: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    sorted.sort_unstable();
    sorted
}

fn encode_whole(input: &[u8]) -> Vec<u8> {
    encode_chunked(input, &[])
}

fn encode_bytewise(input: &[u8]) -> Vec<u8> {
    let cuts: Vec<usize> = (0..input.len()).collect();
    encode_chunked(input, &cuts)
}

/// Encodes through `encode_into` with an output buffer of `cap` bytes, feeding the input in
/// pieces of `feed` bytes.
fn encode_into_with(input: &[u8], cap: usize, feed: usize) -> Vec<u8> {
    let mut enc = DataEncoder::new();
    let mut buf = vec![0u8; cap];
    let mut out = Vec::new();
    for piece in input.chunks(feed.max(1)) {
        let mut rest = piece;
        while !rest.is_empty() {
            let (consumed, written) = enc.encode_into(rest, &mut buf);
            assert!(
                consumed > 0 || written > 0,
                "progress with a {cap}-byte buffer"
            );
            out.extend_from_slice(&buf[..written]);
            rest = &rest[consumed..];
        }
    }
    // Write any owed byte, so that finishing needs at most 5 bytes.
    loop {
        let (consumed, written) = enc.encode_into(&[], &mut buf);
        assert_eq!(consumed, 0);
        if written == 0 {
            break;
        }
        out.extend_from_slice(&buf[..written]);
    }
    assert_eq!(enc.bytes_out(), out.len() as u64);
    let mut end = [0u8; 5];
    let small = cap.min(4);
    // A too-small buffer is refused without touching the state.
    if let Some(n) = enc.finish_into(&mut end[..small]) {
        out.extend_from_slice(&end[..n]);
    } else {
        let n = enc
            .finish_into(&mut end)
            .expect("5 bytes are always enough");
        out.extend_from_slice(&end[..n]);
    }
    out
}

/// Every way of driving the encoder gives the same bytes.
fn encode_all_ways(input: &[u8]) -> Vec<u8> {
    let whole = encode_whole(input);
    assert_eq!(encode_bytewise(input), whole, "byte by byte: {input:?}");
    for cap in 1..=8 {
        assert_eq!(
            encode_into_with(input, cap, 3),
            whole,
            "encode_into cap {cap}: {input:?}"
        );
    }
    whole
}

/// RFC 5321 4.5.2 and 2.3.8: known answers, each run whole, byte by byte and through tiny
/// caller buffers.
#[test]
fn body_known_answers() {
    let table: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a\n", b"a\r\n.\r\n"),
        (b"a\r", b"a\r\n.\r\n"),
        (b"a\n.b\n", b"a\r\n..b\r\n.\r\n"),
        (b".", b"..\r\n.\r\n"),
        (b"..", b"...\r\n.\r\n"),
        (b".a\r\n", b"..a\r\n.\r\n"),
        (b"a.b\r\n.", b"a.b\r\n..\r\n.\r\n"),
        (b"a\r\r\n", b"a\r\n\r\n.\r\n"),
        (b"a\n\r", b"a\r\n\r\n.\r\n"),
        (b"a\n\nb", b"a\r\n\r\nb\r\n.\r\n"),
        (b"\r\n", b"\r\n.\r\n"),
        (b"\r\n\r\n", b"\r\n\r\n.\r\n"),
        // Smuggling look-alikes (CVE-2023-51764): each bare line end becomes CRLF and the lone
        // dot is stuffed, so no end-of-data mark appears early.
        (b"\r.\r", b"\r\n..\r\n.\r\n"),
        (b"\n.\n", b"\r\n..\r\n.\r\n"),
        (
            b"a\r\n.\r\nMAIL FROM:<x@y>\r\n",
            b"a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n",
        ),
        (b"a\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"a\r.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"a\r\n.\n", b"a\r\n..\r\n.\r\n"),
        (b"\x00\xff\r\n", b"\x00\xff\r\n.\r\n"),
    ];
    for &(input, wire) in table {
        assert_eq!(encode_all_ways(input), wire, "input {input:?}");
        assert_eq!(unstuff(wire), Ok(normalise(input)));
    }
}

/// RFC 5321 2.3.8: a CR ending one chunk and an LF starting the next are one line end; a dot
/// arriving as the first byte of a chunk at a line start is still stuffed (RFC 5321 4.5.2).
#[test]
fn body_line_end_and_dot_across_chunks() {
    let table: &[(&[&[u8]], &[u8])] = &[
        (&[b"a\r", b"\nb"], b"a\r\nb\r\n.\r\n"),
        (&[b"a\r", b"\n", b".b"], b"a\r\n..b\r\n.\r\n"),
        (&[b"a\n", b".b"], b"a\r\n..b\r\n.\r\n"),
        (&[b"a\r", b".b"], b"a\r\n..b\r\n.\r\n"),
        (&[b"a\r", b"\r\n"], b"a\r\n\r\n.\r\n"),
        (&[b".", b"."], b"...\r\n.\r\n"),
        (&[b"a", b".", b"\n"], b"a.\r\n.\r\n"),
        (&[b"", b".", b""], b"..\r\n.\r\n"),
        (&[b"a\r"], b"a\r\n.\r\n"),
    ];
    for &(chunks, wire) in table {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            enc.encode(chunk, &mut out);
        }
        enc.finish(&mut out);
        assert_eq!(out, wire, "chunks {chunks:?}");
    }
}

/// `finish` resets the encoder: the next body starts at a line start (RFC 5321 4.5.2).
#[test]
fn body_finish_resets_for_next_body() {
    let mut enc = DataEncoder::new();
    let mut out = Vec::new();
    enc.encode(b"a\r", &mut out);
    enc.finish(&mut out);
    enc.encode(b"\n.x", &mut out);
    enc.finish(&mut out);
    assert_eq!(out, b"a\r\n.\r\n\r\n..x\r\n.\r\n");
}

/// `finish_into` needs up to 5 bytes and refuses a smaller buffer without changing state.
#[test]
fn body_finish_into_refuses_small_buffer() {
    let mut enc = DataEncoder::new();
    let mut buf = [0u8; 8];
    assert_eq!(enc.encode_into(b"abc", &mut buf), (3, 3));
    let mut small = [0u8; 4];
    assert_eq!(enc.finish_into(&mut small), None);
    assert_eq!(small, [0; 4]);
    assert_eq!(enc.bytes_out(), 3);
    let mut end = [0u8; 5];
    assert_eq!(enc.finish_into(&mut end), Some(5));
    assert_eq!(&end, b"\r\n.\r\n");
    assert_eq!(enc.bytes_out(), 0);
    let mut three = [0u8; 3];
    assert_eq!(enc.finish_into(&mut three), Some(3));
    assert_eq!(&three, b".\r\n");
}

/// `encode_into` consumes an input byte only when all of its output fits (a line end or a
/// stuffed dot is two bytes), unless the caller offers a single byte of room: then the second
/// byte is owed and written first next time.
#[test]
fn body_encode_into_splits_only_for_one_byte_of_room() {
    let mut enc = DataEncoder::new();
    let mut three = [0u8; 3];
    assert_eq!(enc.encode_into(b"a\r", &mut three), (2, 3));
    assert_eq!(&three, b"a\r\n");
    // The LF completing that CR writes nothing and is always consumed.
    assert_eq!(enc.encode_into(b"\n", &mut []), (1, 0));
    // Two bytes of room, one used by "b": the CRLF waits for the next call.
    let mut two = [0u8; 2];
    assert_eq!(enc.encode_into(b"b\n", &mut two), (1, 1));
    assert_eq!(enc.encode_into(b"\n", &mut two), (1, 2));
    assert_eq!(&two, b"\r\n");
    // One byte of room: the dot is split, the second dot is owed.
    let mut one = [0u8; 1];
    assert_eq!(enc.encode_into(b".x", &mut one), (1, 1));
    assert_eq!(&one, b".");
    assert_eq!(enc.encode_into(b"x", &mut one), (0, 1));
    assert_eq!(&one, b".");
    assert_eq!(enc.encode_into(b"x", &mut one), (1, 1));
    assert_eq!(&one, b"x");
    // An owed byte makes finishing need 6 bytes; an empty encode_into writes it.
    assert_eq!(enc.encode_into(b"\r", &mut one), (1, 1));
    let mut end = [0u8; 6];
    assert_eq!(enc.finish_into(&mut end[..3]), None);
    assert_eq!(enc.finish_into(&mut end), Some(4));
    assert_eq!(&end[..4], b"\n.\r\n");
    assert_eq!(enc.encode_into(b".", &mut one), (1, 1));
    assert_eq!(enc.finish_into(&mut end[..5]), None);
    assert_eq!(enc.finish_into(&mut end), Some(6));
    assert_eq!(&end, b".\r\n.\r\n");
}

/// RFC 3030 2: BDAT content has its line ends normalised but no dot-stuffing and no end mark;
/// BINARYMIME passes through untouched.
#[test]
fn chunk_encoder_known_answers() {
    let table: &[ChunkCase] = &[
        (false, &[b""], b""),
        (false, &[b"a"], b"a\r\n"),
        (false, &[b".a\n.\n"], b".a\r\n.\r\n"),
        (false, &[b"a\r", b"\nb\r"], b"a\r\nb\r\n"),
        (false, &[b"a\r\n"], b"a\r\n"),
        (false, &[b"\r.\r"], b"\r\n.\r\n"),
        (true, &[b"a\r", b".\n\x00"], b"a\r.\n\x00"),
        (true, &[b"a"], b"a"),
    ];
    for &(binary, chunks, wire) in table {
        let mut enc = BdatEncoder::new(binary);
        let mut out = Vec::new();
        for chunk in chunks {
            enc.encode(chunk, &mut out);
        }
        assert_eq!(enc.bytes_out(), out.len() as u64);
        enc.finish(&mut out);
        assert_eq!(out, wire, "binary {binary}, chunks {chunks:?}");
        assert_eq!(enc.bytes_out(), 0);
    }
}

/// RFC 5321 4.5.2: the strict decoder removes one leading dot and the end mark, and refuses
/// bare line ends, a missing end mark and bytes after it.
#[test]
fn unstuff_is_strict() {
    let table: &[UnstuffCase] = &[
        (b".\r\n", Ok(b"")),
        (b"..\r\n.\r\n", Ok(b".\r\n")),
        (b".a\r\n.\r\n", Ok(b"a\r\n")),
        (b"a\r\n..b\r\n.\r\n", Ok(b"a\r\n.b\r\n")),
        (b"", Err(UnstuffError::MissingEnd)),
        (b"a\r\n", Err(UnstuffError::MissingEnd)),
        (b"a\r\n.", Err(UnstuffError::MissingEnd)),
        (b"a\r\n.\r", Err(UnstuffError::MissingEnd)),
        (b"a\n.\r\n", Err(UnstuffError::BareLineEnd { at: 1 })),
        (b"a\rb\r\n.\r\n", Err(UnstuffError::BareLineEnd { at: 1 })),
        (b"a\r\n.\n", Err(UnstuffError::BareLineEnd { at: 4 })),
        (b".\r\nx", Err(UnstuffError::TrailingBytes { at: 3 })),
    ];
    for &(wire, expected) in table {
        assert_eq!(unstuff(wire), expected.map(<[u8]>::to_vec), "wire {wire:?}");
    }
    assert!(!UnstuffError::BareLineEnd { at: 7 }.to_string().is_empty());
}

/// Bytes biased towards the ones that matter: CR, LF and dot.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'\r'),
            Just(b'\n'),
            Just(b'.'),
            Just(b'a'),
            any::<u8>()
        ],
        0..200,
    )
}

/// Long bodies of mostly ordinary bytes with a few CR, LF and dots among them: the runs the
/// encoder copies whole are long, and their ends fall anywhere in its blocks of byte pairs.
fn sparse_body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            40 => Just(b'x'),
            3 => Just(b'\r'),
            3 => Just(b'\n'),
            2 => Just(b'.'),
            1 => any::<u8>()
        ],
        0..3000,
    )
}

/// Splits `wire` into lines at CRLF, checking there is no bare CR or LF.
fn lines(wire: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < wire.len() {
        match wire[i] {
            b'\r' => {
                assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i} in {wire:?}");
                lines.push(&wire[start..i]);
                i += 2;
                start = i;
            }
            b'\n' => panic!("bare LF at {i} in {wire:?}"),
            _ => i += 1,
        }
    }
    assert_eq!(start, wire.len(), "output ends with CRLF");
    lines
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 5321 4.5.2, 2.3.8: unstuffing the wire form gives the normalised body; the wire form
    /// has only CRLF line ends and no lone-dot line before the end mark, whatever the chunking.
    #[test]
    fn body_stuff_unstuff_round_trip(input in body_bytes(), cuts in prop::collection::vec(0..200usize, 0..8)) {
        let wire = encode_chunked(&input, &cuts);
        prop_assert_eq!(&wire, &encode_whole(&input));
        prop_assert_eq!(unstuff(&wire), Ok(normalise(&input)));
        // The meter (which counts line ends without encoding) gives the normalised body's
        // length in the same pieces, whichever byte each piece ends on (RFC 1870 6).
        let mut meter = mailwire::body::ContentMeter::new();
        let mut start = 0;
        for cut in sorted_cuts(&input, &cuts) {
            meter.update(&input[start..cut]);
            prop_assert_eq!(meter.size(), normalise(&input[..cut]).len() as u64);
            start = cut;
        }
        meter.update(&input[start..]);
        prop_assert_eq!(meter.size(), normalise(&input).len() as u64);
        prop_assert_eq!(meter.eight_bit(), !input.is_ascii());
        let lines = lines(&wire);
        let (last, before) = lines.split_last().expect("at least the end mark");
        prop_assert_eq!(*last, b".".as_slice());
        prop_assert!(before.iter().all(|l| *l != b"."));
    }

    /// RFC 5321 4.5.2, 2.3.8 on long runs: whole, in pieces and through `encode_into` with
    /// small and large buffers the wire form is the same, decodes to the normalised body, and
    /// the meter's RFC 1870 6 size is that body's length (stuffed dots and the end mark left
    /// out); BDAT text is the normalised body (RFC 3030 2).
    #[test]
    fn body_long_runs_encode_alike(input in sparse_body_bytes(), cuts in prop::collection::vec(0..3000usize, 0..8), cap in 1..200usize) {
        let whole = encode_whole(&input);
        prop_assert_eq!(&encode_chunked(&input, &cuts), &whole);
        prop_assert_eq!(&encode_into_with(&input, cap, 777), &whole);
        prop_assert_eq!(&encode_into_with(&input, 70_000, 5000), &whole);
        prop_assert_eq!(unstuff(&whole), Ok(normalise(&input)));
        let mut meter = mailwire::body::ContentMeter::new();
        let mut start = 0;
        for cut in sorted_cuts(&input, &cuts) {
            meter.update(&input[start..cut]);
            start = cut;
        }
        meter.update(&input[start..]);
        prop_assert_eq!(meter.size(), normalise(&input).len() as u64);
        prop_assert_eq!(meter.eight_bit(), !input.is_ascii());
        // The DATA encoder's own count agrees: every dot it doubled (inside a run or at its
        // start) is left out of the RFC 1870 size, in pieces as whole.
        let mut data = DataEncoder::new();
        let mut start = 0;
        for cut in sorted_cuts(&input, &cuts) {
            data.encode(&input[start..cut], &mut Vec::new());
            start = cut;
        }
        data.encode(&input[start..], &mut Vec::new());
        prop_assert_eq!(data.final_size(), normalise(&input).len() as u64);
        let mut enc = BdatEncoder::new(false);
        let mut out = Vec::new();
        enc.encode(&input, &mut out);
        enc.finish(&mut out);
        prop_assert_eq!(out, normalise(&input));
    }

    /// `encode_into` with output buffers of 1 to 8 bytes writes exactly what `encode` writes.
    #[test]
    fn body_encode_into_matches_encode(input in body_bytes(), cap in 1..=8usize, feed in 1..20usize) {
        prop_assert_eq!(encode_into_with(&input, cap, feed), encode_whole(&input));
    }

    /// RFC 3030 2: BDAT text content is the normalised body, whatever the chunking; binary is
    /// the input unchanged.
    #[test]
    fn chunk_encoder_normalises(input in body_bytes(), cuts in prop::collection::vec(0..200usize, 0..8)) {
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
        cuts.sort_unstable();
        for binary in [false, true] {
            let mut enc = BdatEncoder::new(binary);
            let mut out = Vec::new();
            let mut start = 0;
            for &cut in &cuts {
                enc.encode(&input[start..cut], &mut out);
                start = cut;
            }
            enc.encode(&input[start..], &mut out);
            enc.finish(&mut out);
            let expected = if binary { input.clone() } else { normalise(&input) };
            prop_assert_eq!(out, expected);
        }
    }
}
