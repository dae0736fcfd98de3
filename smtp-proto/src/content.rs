//! [`ContentWriter`]: a whole message's content, framed for DATA or BDAT, written into buffers
//! the caller owns, in one pass that pauses whenever the output buffer is full.
//!
//! It drives the encoders of [`crate::body`] (CRLF normalisation, dot-stuffing) and adds what a
//! sender needs around them: the framing (the end-of-data mark of RFC 5321 4.5.2, or BDAT
//! chunk headers of RFC 3030 2), a running message size checked against the server's SIZE
//! (RFC 1870), and a stop-and-resume contract at any byte of the output. After
//! [`ContentWriter::new`] it never allocates: one writer and one buffer serve any number of
//! messages ([`ContentWriter::reset`] between them).
//!
//! ```
//! use smtp_proto::content::{ContentWriter, Finish, Framing};
//!
//! let mut writer = ContentWriter::new(Framing::Data, Some(1_000));
//! let mut buf = [0u8; 8]; // deliberately tiny: the writer pauses and resumes
//! let mut wire = Vec::new();
//! let mut input: &[u8] = b"Subject: hi\n\n.dot\n";
//! while !input.is_empty() {
//!     let progress = writer.write(input, &mut buf).unwrap();
//!     wire.extend_from_slice(&buf[..progress.written]);
//!     input = &input[progress.consumed..];
//! }
//! loop {
//!     let finish = writer.finish(&mut buf).unwrap();
//!     wire.extend_from_slice(&buf[..finish.written()]);
//!     if let Finish::Complete { .. } = finish {
//!         break;
//!     }
//! }
//! assert_eq!(wire, b"Subject: hi\r\n\r\n..dot\r\n.\r\n");
//! // RFC 1870: CRLFs count, the stuffed dot and the end mark do not.
//! assert_eq!(writer.size(), 21);
//! writer.reset(); // ready for the next message, nothing allocated
//! ```
//!
//! # Decisions
//!
//! - **The message size** follows RFC 1870 6: "the message header, body, and the CR-LF
//!   sequences between lines, but not the SMTP DATA command's terminating dot or doubled
//!   quoting dots". So [`ContentWriter::size`] counts content octets after line-end
//!   normalisation, including the CRLF that closes an unterminated last line (the server
//!   stores it as part of the message), and leaves out the dots added by stuffing and the
//!   final `.` CRLF. With BDAT it is the sum of the chunk sizes (the `BDAT` command lines are
//!   not content). This is the number a server compares with its SIZE limit.
//! - **The limit** is enforced exactly: the content may reach `size_limit` but never pass it.
//!   Nothing past the limit is ever written: the first call that cannot go on without passing
//!   it returns [`ContentError::SizeExceeded`] (a call that made some progress first returns
//!   that progress, and the next call the error). The error is sticky until
//!   [`ContentWriter::reset`]. A BDAT chunk is never announced larger than the room left, so
//!   every chunk header sent can be honoured. `at` is the offset in the message's input (all
//!   `write` calls added up) of the first byte not consumed.
//! - **BDAT chunk sizes.** A chunk's header carries its size, so it can only be written once
//!   the size is known. Rather than hold a chunk back in an internal buffer (a second copy of
//!   every byte, and memory the caller does not own), a chunk is opened with the size the rest
//!   of the current input is sure to fill: each input byte gives at least one octet, except an
//!   LF completing a CR (the CR already gave two). So a chunk is `min(chunk_size, input left in
//!   this write, room under the SIZE limit)`: write blocks of at least `chunk_size` bytes to
//!   get full chunks. The last chunk, `BDAT n LAST`, carries only what `finish` adds (an owed
//!   LF or a CRLF closing the last line): usually `BDAT 0 LAST`, which RFC 3030 2 allows.
//!   After a `write` that did not consume all its input, the next `write` must start with the
//!   rest (as with any streaming encoder); `finish` with a chunk still open is
//!   [`ContentError::UnfinishedChunk`].
//! - **Same bytes whatever the buffers.** Where the output is split never changes what is
//!   written: pausing at any byte gives the bytes one huge buffer would have got. The DATA
//!   framing does not depend on how the input is split either; BDAT chunk sizes do (as above),
//!   the content they carry does not.
//! - A `write` or `finish` that has room for nothing returns zero progress, not an error;
//!   `write` after `finish` is [`ContentError::Finished`]; `finish` after completion returns
//!   `Complete { written: 0 }`.

use crate::body::{BodyEncoder, ChunkEncoder};
use core::fmt;

/// How the content is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// After DATA (RFC 5321 4.1.1.4): line ends normalised to CRLF, dot-stuffed (4.5.2), ended
    /// by `.` CRLF (after a CRLF closing the last line if it was open).
    Data,
    /// BDAT chunks (RFC 3030 2), each `BDAT n` CRLF then `n` octets, the last `BDAT n LAST`;
    /// line ends normalised to CRLF (7BIT and 8BITMIME bodies), no dot-stuffing.
    Bdat {
        /// The largest chunk to announce (below 2 is taken as 2: the last chunk may have to
        /// carry the CRLF that closes an open line).
        chunk_size: usize,
    },
    /// Like [`Framing::Bdat`] with the bytes sent untouched (BODY=BINARYMIME, RFC 3030 3).
    BinaryBdat {
        /// The largest chunk to announce (below 2 is taken as 2: the last chunk may have to
        /// carry the CRLF that closes an open line).
        chunk_size: usize,
    },
}

/// What a [`ContentWriter::write`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Progress {
    /// Input bytes consumed: call again with the rest.
    pub consumed: usize,
    /// Bytes written at the start of the output buffer: send them.
    pub written: usize,
}

/// What a [`ContentWriter::finish`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Finish {
    /// The end is written: `written` bytes at the start of the output buffer are the last.
    Complete {
        /// Bytes written at the start of the output buffer.
        written: usize,
    },
    /// The buffer filled up: send the `written` bytes, then call again with room.
    Partial {
        /// Bytes written at the start of the output buffer.
        written: usize,
    },
}

impl Finish {
    /// Bytes written at the start of the output buffer.
    pub fn written(self) -> usize {
        match self {
            Finish::Complete { written } | Finish::Partial { written } => written,
        }
    }
}

/// Why a [`ContentWriter`] refused to go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentError {
    /// The message would pass the server's SIZE limit (RFC 1870 6). Sticky until reset.
    SizeExceeded {
        /// The limit, in octets.
        limit: u64,
        /// Offset in the message's input of the first byte not consumed.
        at: u64,
    },
    /// `finish` while a BDAT chunk still waits for `missing` octets: the input left over by an
    /// earlier `write` was not written. Nothing changed: write it, then finish.
    UnfinishedChunk {
        /// Octets the open chunk still needs.
        missing: usize,
    },
    /// `write` after `finish`: call [`ContentWriter::reset`] for the next message.
    Finished,
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ContentError::SizeExceeded { limit, at } => write!(
                f,
                "message larger than the server's limit of {limit} octets (RFC 1870), \
                 at input offset {at}"
            ),
            ContentError::UnfinishedChunk { missing } => write!(
                f,
                "finish with a BDAT chunk still missing {missing} octets (RFC 3030 2)"
            ),
            ContentError::Finished => f.write_str("content already finished"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ContentError {}

/// The longest BDAT command line: `BDAT`, a space, 20 digits (`u64::MAX`), ` LAST`, CRLF.
pub const MAX_BDAT_HEADER: usize = 32;

/// Bytes held between calls: the last octet of an open chunk, the last chunk's header and its
/// (at most 2) octets; or the DATA end (an owed byte, a CRLF and `.` CRLF: 6).
const PENDING: usize = 1 + MAX_BDAT_HEADER + 2;

#[derive(Clone, Debug)]
enum Encoder {
    Data(BodyEncoder),
    Chunks(ChunkEncoder),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Writing,
    /// The end is decided and held in `pending`, being drained.
    Finishing,
    Done,
}

/// The SIZE limit stopped a `write` (no octet may go out without passing it).
struct LimitReached;

/// Writes one message's content at a time into caller-owned buffers: see the
/// [module docs](self). No heap allocation after [`ContentWriter::new`].
#[derive(Clone, Debug)]
pub struct ContentWriter {
    framing: Framing,
    chunk_size: usize,
    size_limit: Option<u64>,
    encoder: Encoder,
    phase: Phase,
    /// RFC 1870 message size so far.
    size: u64,
    /// Input bytes consumed so far (for `SizeExceeded::at`).
    consumed: u64,
    /// BDAT: octets the open chunk still needs (0: no chunk open).
    chunk_left: usize,
    /// BDAT text: the last input byte consumed was a CR, so an LF next gives no octet.
    after_cr: bool,
    /// Bytes decided but not yet written (a chunk header, or the end), `pending[start..end]`.
    pending: [u8; PENDING],
    pending_start: usize,
    pending_end: usize,
    error: Option<ContentError>,
}

impl ContentWriter {
    /// A writer for messages framed as `framing`; `size_limit` is the server's SIZE (RFC 1870),
    /// if it announced one.
    pub fn new(framing: Framing, size_limit: Option<u64>) -> ContentWriter {
        let (encoder, chunk_size) = match framing {
            Framing::Data => (Encoder::Data(BodyEncoder::new()), 0),
            Framing::Bdat { chunk_size } => {
                (Encoder::Chunks(ChunkEncoder::new(false)), chunk_size.max(2))
            }
            Framing::BinaryBdat { chunk_size } => {
                (Encoder::Chunks(ChunkEncoder::new(true)), chunk_size.max(2))
            }
        };
        ContentWriter {
            framing,
            chunk_size,
            size_limit,
            encoder,
            phase: Phase::Writing,
            size: 0,
            consumed: 0,
            chunk_left: 0,
            after_cr: false,
            pending: [0; PENDING],
            pending_start: 0,
            pending_end: 0,
            error: None,
        }
    }

    /// Ready for the next message (same framing and limit); clears a sticky error.
    pub fn reset(&mut self) {
        *self = ContentWriter::new(self.framing, self.size_limit);
    }

    /// The framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The SIZE limit.
    pub fn size_limit(&self) -> Option<u64> {
        self.size_limit
    }

    /// The message size so far (RFC 1870 6; see the module docs): after a complete `finish`,
    /// the size of the whole message.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `finish` has completed (until `reset`).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Encodes as much of `input` as fits into `out`. Returns how many input bytes were
    /// consumed (call again with the rest) and how many bytes were written at the start of
    /// `out`. Never allocates.
    pub fn write(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, ContentError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.phase != Phase::Writing {
            return Err(ContentError::Finished);
        }
        let mut progress = Progress::default();
        let result = match self.encoder {
            Encoder::Data(_) => self.write_data(input, out, &mut progress),
            Encoder::Chunks(_) => self.write_chunks(input, out, &mut progress),
        };
        self.consumed += progress.consumed as u64;
        match result {
            Ok(()) => Ok(progress),
            Err(LimitReached) => {
                let error = ContentError::SizeExceeded {
                    limit: self.size_limit.unwrap_or(0),
                    at: self.consumed,
                };
                self.error = Some(error);
                // Progress made in this call is reported; the error comes with the next one.
                if progress == Progress::default() {
                    Err(error)
                } else {
                    Ok(progress)
                }
            }
        }
    }

    /// Writes the end of the content into `out`: the end-of-data mark for DATA, the last chunk
    /// (`BDAT n LAST`) for BDAT. [`Finish::Partial`] if `out` was too small: send what was
    /// written and call again. At most [`MAX_BDAT_HEADER`] + 3 bytes in all (an owed LF, the
    /// last chunk's header, a CRLF).
    pub fn finish(&mut self, out: &mut [u8]) -> Result<Finish, ContentError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.phase {
            Phase::Done => return Ok(Finish::Complete { written: 0 }),
            Phase::Writing => self.decide_end()?,
            Phase::Finishing => {}
        }
        let written = self.drain(out);
        if self.pending_start < self.pending_end {
            Ok(Finish::Partial { written })
        } else {
            self.phase = Phase::Done;
            Ok(Finish::Complete { written })
        }
    }

    /// Room left under the SIZE limit.
    fn budget(&self) -> u64 {
        self.size_limit
            .map_or(u64::MAX, |limit| limit.saturating_sub(self.size))
    }

    fn write_data(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        progress: &mut Progress,
    ) -> Result<(), LimitReached> {
        loop {
            let budget = self.budget();
            let Encoder::Data(encoder) = &mut self.encoder else {
                return Ok(());
            };
            let rest_in = input.get(progress.consumed..).unwrap_or(&[]);
            let rest_out = out.get_mut(progress.written..).unwrap_or(&mut []);
            let space = rest_out.len();
            // Wire bytes are never fewer than content octets (stuffing only adds), so room for
            // `budget` wire bytes cannot take the content past the limit. A CRLF split by a
            // one-byte room leaves its LF owed, and the limit then stops that LF.
            let room = usize::try_from(budget).map_or(space, |b| b.min(space));
            let (read, written) =
                encoder.encode_into(rest_in, rest_out.get_mut(..room).unwrap_or(&mut []));
            progress.consumed += read;
            progress.written += written;
            self.size = encoder.message_size();
            if (read, written) == (0, 0) {
                // Any room at all makes progress while input is left, so no progress with
                // input left and output room to spare means the limit stopped it.
                return if !rest_in.is_empty() && room < space {
                    Err(LimitReached)
                } else {
                    Ok(())
                };
            }
        }
    }

    fn write_chunks(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        progress: &mut Progress,
    ) -> Result<(), LimitReached> {
        let binary = matches!(self.framing, Framing::BinaryBdat { .. });
        loop {
            if self.pending_start < self.pending_end {
                let rest_out = out.get_mut(progress.written..).unwrap_or(&mut []);
                progress.written += self.drain(rest_out);
                if self.pending_start < self.pending_end {
                    return Ok(());
                }
            }
            let Encoder::Chunks(encoder) = &mut self.encoder else {
                return Ok(());
            };
            let rest_in = input.get(progress.consumed..).unwrap_or(&[]);
            if self.chunk_left > 0 {
                let rest_out = out.get_mut(progress.written..).unwrap_or(&mut []);
                let room = rest_out.len().min(self.chunk_left);
                let (read, written) =
                    encoder.encode_into(rest_in, rest_out.get_mut(..room).unwrap_or(&mut []));
                self.note_consumed(rest_in, read);
                progress.consumed += read;
                progress.written += written;
                self.chunk_left -= written;
                self.size += written as u64;
                if (read, written) == (0, 0) {
                    return Ok(()); // out is full, or the input is used up
                }
                continue;
            }
            if rest_in.is_empty() || progress.written >= out.len() {
                // No chunk is announced without room to start its header: a call that writes
                // nothing changes nothing.
                return Ok(());
            }
            // A new chunk, sized by what the rest of this input is sure to give: one octet a
            // byte, except an LF completing a CR already written as CRLF (RFC 5321 2.3.8).
            // Later LFs of CRLF pairs are covered by their CR, which gives two.
            let dropped = !binary && self.after_cr && rest_in.first() == Some(&b'\n');
            let mut sure = rest_in.len() - usize::from(dropped);
            if sure == 0 {
                // Only that LF is left: it gives nothing, so consume it outside any chunk.
                // If an owed LF blocks it, that owed octet is the one sure to come.
                let (read, _) = encoder.encode_into(rest_in, &mut []);
                if read > 0 {
                    self.note_consumed(rest_in, read);
                    progress.consumed += read;
                    continue;
                }
                sure = 1;
            }
            let budget = self.budget();
            if budget == 0 {
                return Err(LimitReached);
            }
            let size = usize::try_from(budget).map_or(sure, |b| b.min(sure));
            let size = size.min(self.chunk_size);
            self.chunk_left = size;
            self.pending_start = 0;
            self.pending_end = 0;
            self.push_header(size, false);
        }
    }

    /// BDAT text: remembers whether the last consumed byte was a CR.
    fn note_consumed(&mut self, input: &[u8], read: usize) {
        if let Some(last) = read.checked_sub(1).and_then(|i| input.get(i)) {
            self.after_cr = *last == b'\r';
        }
    }

    /// Decides the end of the content and holds it in `pending`.
    fn decide_end(&mut self) -> Result<(), ContentError> {
        let budget = self.budget();
        let mut tail = [0u8; 6];
        let mut owed = [0u8; 1];
        let mut owed_len = 0;
        let (content, tail_len) = match &mut self.encoder {
            Encoder::Data(encoder) => {
                // 6 bytes always suffice (an owed byte, CRLF, `.` CRLF). Everything before
                // the final `.` CRLF is content (RFC 1870 6: the terminating dot is not).
                let n = encoder.finish_into(&mut tail).unwrap_or(0);
                (n.saturating_sub(3), n)
            }
            Encoder::Chunks(encoder) => {
                // With all input written, a chunk can only lack the LF owed by a CR that got
                // the chunk's last byte of room in a one-byte buffer: it ends the chunk.
                if self.chunk_left == 1 {
                    let (_, written) = encoder.encode_into(&[], &mut owed);
                    owed_len = written;
                }
                if self.chunk_left > owed_len {
                    return Err(ContentError::UnfinishedChunk {
                        missing: self.chunk_left,
                    });
                }
                let n = encoder.finish_into(&mut tail).unwrap_or(0);
                (n, n)
            }
        };
        if (owed_len + content) as u64 > budget {
            let error = ContentError::SizeExceeded {
                limit: self.size_limit.unwrap_or(0),
                at: self.consumed,
            };
            self.error = Some(error);
            return Err(error);
        }
        self.size += (owed_len + content) as u64;
        self.chunk_left -= owed_len;
        self.pending_start = 0;
        self.pending_end = 0;
        self.push_pending(owed.get(..owed_len).unwrap_or(&[]));
        if let Encoder::Chunks(_) = self.encoder {
            self.push_header(tail_len, true);
        }
        self.push_pending(tail.get(..tail_len).unwrap_or(&[]));
        self.phase = Phase::Finishing;
        Ok(())
    }

    /// Appends `BDAT size [LAST]` CRLF to `pending` (RFC 3030 2).
    fn push_header(&mut self, size: usize, last: bool) {
        self.push_pending(b"BDAT ");
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut value = size as u64;
        while let Some(slot) = start.checked_sub(1).and_then(|i| digits.get_mut(i)) {
            *slot = b'0' + (value % 10) as u8;
            start -= 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push_pending(digits.get(start..).unwrap_or(&[]));
        if last {
            self.push_pending(b" LAST");
        }
        self.push_pending(b"\r\n");
    }

    fn push_pending(&mut self, bytes: &[u8]) {
        let end = self.pending_end + bytes.len();
        if let Some(dst) = self.pending.get_mut(self.pending_end..end) {
            dst.copy_from_slice(bytes);
            self.pending_end = end;
        }
    }

    /// Writes as much of `pending` as fits at the start of `out`; returns how much.
    fn drain(&mut self, out: &mut [u8]) -> usize {
        let held = self
            .pending
            .get(self.pending_start..self.pending_end)
            .unwrap_or(&[]);
        let n = held.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), held.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pending_start += n;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Runs `input` through a writer with `out` buffers of `size` bytes.
    fn run(framing: Framing, limit: Option<u64>, input: &[u8], size: usize) -> Vec<u8> {
        let mut writer = ContentWriter::new(framing, limit);
        let mut buf = alloc::vec![0u8; size];
        let mut wire = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let p = writer.write(rest, &mut buf).unwrap();
            wire.extend_from_slice(&buf[..p.written]);
            rest = &rest[p.consumed..];
        }
        loop {
            let f = writer.finish(&mut buf).unwrap();
            wire.extend_from_slice(&buf[..f.written()]);
            if let Finish::Complete { .. } = f {
                return wire;
            }
        }
    }

    /// RFC 3030 2: the header is built without allocation, up to the largest chunk size.
    #[test]
    fn bdat_header_digits() {
        let mut w = ContentWriter::new(Framing::Bdat { chunk_size: 1 }, None);
        for (size, last, text) in [
            (0, true, &b"BDAT 0 LAST\r\n"[..]),
            (7, false, b"BDAT 7\r\n"),
            (1234567890, false, b"BDAT 1234567890\r\n"),
            (usize::MAX, true, b"BDAT 18446744073709551615 LAST\r\n"),
        ] {
            if size == usize::MAX && usize::BITS != 64 {
                continue;
            }
            w.pending_end = 0;
            w.push_header(size, last);
            assert_eq!(&w.pending[w.pending_start..w.pending_end], text);
        }
    }

    /// RFC 5321 4.5.2: one-byte buffers give the same bytes as a large one.
    #[test]
    fn data_one_byte_buffers_match_large() {
        let input = b".a\r\n.\rb\n\r\n.";
        assert_eq!(
            run(Framing::Data, None, input, 1),
            run(Framing::Data, None, input, 4096)
        );
    }

    /// RFC 3030 2: a chunk may end between the CR and LF of a line end; the owed LF then
    /// opens the next chunk even when the input left (the LF of that CRLF) gives nothing.
    #[test]
    fn bdat_owed_lf_opens_a_chunk() {
        let mut w = ContentWriter::new(Framing::Bdat { chunk_size: 64 }, None);
        let mut buf = [0u8; 64];
        // Three input bytes are sure to give three octets: "ab" and the CR of CRLF.
        let p = w.write(b"ab\r", &mut buf).unwrap();
        assert_eq!(&buf[..p.written], b"BDAT 3\r\nab\r");
        let p = w.write(b"\n", &mut buf).unwrap();
        assert_eq!((p.consumed, &buf[..p.written]), (1, &b"BDAT 1\r\n\n"[..]));
        let f = w.finish(&mut buf).unwrap();
        assert_eq!(&buf[..f.written()], b"BDAT 0 LAST\r\n");
        assert_eq!(w.size(), 4);
    }
}
