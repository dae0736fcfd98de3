//! Reading a fuzz input from the front, and chunking a byte stream by sizes taken from it.

/// A fuzz input read from the front. Reads past the end give zeros and empty slices, so every
/// input, however short, is a valid test case.
#[derive(Clone, Debug)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Starts reading `data`.
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }

    /// The next byte, or 0 at the end.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | u16::from(self.u8()) << 8
    }

    /// The next `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length byte, then that many bytes.
    pub fn short_slice(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8());
        self.take(n)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Splits `stream` into chunks whose sizes come from `sizes`, cycled. A size of 0 gives an
/// empty chunk followed by a one-byte chunk (so feeding empty input is exercised and the
/// stream always advances). With no sizes, the stream is one chunk.
pub fn chunks<'a>(stream: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![stream];
    }
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = usize::from(sizes[i % sizes.len()]);
        i += 1;
        let size = if size == 0 {
            out.push(&rest[..0]);
            1
        } else {
            size
        };
        let (head, tail) = rest.split_at(size.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_stream_in_order() {
        let stream = b"0123456789";
        for sizes in [&[][..], &[1], &[3, 0], &[0], &[200], &[2, 5, 1]] {
            let c = chunks(stream, sizes);
            assert_eq!(c.concat(), stream, "sizes {sizes:?}");
        }
        assert_eq!(
            chunks(b"abc", &[0]),
            vec![&b""[..], b"a", b"", b"b", b"", b"c"]
        );
    }

    #[test]
    fn reads_past_the_end_are_zero() {
        let mut b = Bytes::new(&[1]);
        assert_eq!(b.u8(), 1);
        assert_eq!(b.u8(), 0);
        assert_eq!(b.u16(), 0);
        assert_eq!(b.take(5), b"");
        assert!(b.is_empty());
    }
}
