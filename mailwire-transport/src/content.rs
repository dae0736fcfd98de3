//! [`Content`]: where a message's content comes from; [`ContentFeed`]: its bytes offered to the
//! session as the session takes them ([`mailwire::Client::write_body`], then again after
//! [`mailwire::Event::BodyWanted`]), so that an adapter holds a bounded number of content bytes
//! per connection however many messages it has queued: the session holds at most
//! [`mailwire::Limits::body_buffer`], and a feed at most one read buffer (files and readers;
//! bytes in memory are offered where they are, not copied).
//!
//! Written once for every adapter: the blocking `send_many`, the mio bulk sender, and a later
//! batch send or pool (they queue messages with [`mailwire::Client::send_message`] and keep one
//! feed per message, in queue order, instead of handing the core each whole body).

use mailwire::body::ContentMeter;
use mailwire::command::BodyType;
use mailwire::{Client, Envelope, MessageId, UsageError};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bytes read from a file or a reader at a time (one buffer per feed that is being written).
pub const READ_CHUNK: usize = 64 * 1024;

/// A message's content, in any line-end convention (the session normalises line ends and
/// dot-stuffs): bytes in memory, a file, or a reader. Cheap to clone: bytes are shared, a file
/// is its path, and clones of a reader share that one reader (which can be read only once).
#[derive(Clone)]
pub struct Content(Source);

#[derive(Clone)]
enum Source {
    Shared(Arc<[u8]>),
    /// A file, and the bytes that go before it (empty for a plain file).
    File(Arc<[u8]>, Arc<Path>),
    /// Taken (`None`) by the first feed opened on it.
    Reader(Arc<Mutex<Option<Box<dyn Read + Send>>>>),
}

impl Content {
    /// Bytes in memory, shared by every clone (a generated workload of identical bodies costs
    /// one copy).
    pub fn shared(bytes: impl Into<Arc<[u8]>>) -> Content {
        Content(Source::Shared(bytes.into()))
    }

    /// A file, opened when its message is queued and read as the session takes it.
    pub fn file(path: impl Into<PathBuf>) -> Content {
        Content(Source::File(Arc::from(&[][..]), Arc::from(path.into())))
    }

    /// `prefix`, then a file read as [`Content::file`] is: a header field put before a message
    /// (a DKIM signature, a `Received`) without the file being copied or held. Measured and
    /// sent as one content.
    pub fn file_with_prefix(prefix: impl Into<Arc<[u8]>>, path: impl Into<PathBuf>) -> Content {
        Content(Source::File(prefix.into(), Arc::from(path.into())))
    }

    /// A reader, read once as the session takes it: a message with such content cannot be sent
    /// again (a retry after a failed session has nothing to send).
    pub fn reader(reader: impl Read + Send + 'static) -> Content {
        Content(Source::Reader(Arc::new(Mutex::new(Some(Box::new(reader))))))
    }

    /// The bytes, when the content is in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Source::Shared(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Its length in bytes, as given (line ends not yet normalised): known for bytes in
    /// memory, the file's length for a file (`None` if it cannot be read), `None` for a reader.
    pub fn len_hint(&self) -> Option<u64> {
        match &self.0 {
            Source::Shared(bytes) => Some(bytes.len() as u64),
            Source::File(prefix, path) => std::fs::metadata(path)
                .ok()
                .map(|m| m.len() + prefix.len() as u64),
            Source::Reader(_) => None,
        }
    }

    /// Whether it can be sent again (not a reader already read from).
    pub fn is_repeatable(&self) -> bool {
        match &self.0 {
            Source::Reader(slot) => slot.lock().is_ok_and(|r| r.is_some()),
            _ => true,
        }
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Shared(bytes) => write!(f, "Content::Shared({} bytes)", bytes.len()),
            Source::File(prefix, path) if prefix.is_empty() => {
                write!(f, "Content::File({})", path.display())
            }
            Source::File(prefix, path) => write!(
                f,
                "Content::File({} bytes, then {})",
                prefix.len(),
                path.display()
            ),
            Source::Reader(_) => f.write_str("Content::Reader"),
        }
    }
}

impl From<Arc<[u8]>> for Content {
    fn from(bytes: Arc<[u8]>) -> Content {
        Content::shared(bytes)
    }
}

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Content {
        Content::shared(bytes)
    }
}

impl From<&[u8]> for Content {
    fn from(bytes: &[u8]) -> Content {
        Content::shared(bytes)
    }
}

/// How far a [`ContentFeed::pump`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fed {
    /// The session took less than offered: pump again after its
    /// [`mailwire::Event::BodyWanted`] for this message.
    Blocked,
    /// The whole content was taken and the body finished ([`Client::finish_body`]).
    Finished,
}

/// Why a feed stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum FeedError {
    /// The content could not be read (a file or a reader failed, or a reader was already
    /// read by another feed). Close the connection: what the server has is incomplete.
    Read(io::Error),
    /// The session refused the bytes (it is closed, or an earlier message's body is not
    /// finished: bodies are written in queue order).
    Session(UsageError),
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Read(e) => write!(f, "reading the content: {e}"),
            FeedError::Session(e) => write!(f, "writing the content: {e}"),
        }
    }
}

impl std::error::Error for FeedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FeedError::Read(e) => Some(e),
            FeedError::Session(e) => Some(e),
        }
    }
}

impl From<UsageError> for FeedError {
    fn from(e: UsageError) -> FeedError {
        FeedError::Session(e)
    }
}

/// One message's content on its way into the session: what is left of it, and for a file or a
/// reader one read buffer ([`READ_CHUNK`]), allocated when the first bytes are read and freed
/// when the content ends.
///
/// `R` is what a lent reader is boxed as: `dyn Read` by default; [`SendContentFeed`] (`dyn
/// Read + Send`) is a feed that may cross threads, as an async adapter's futures must.
pub struct ContentFeed<'a, R: ?Sized + Read + 'a = dyn Read + 'a> {
    source: FeedSource<'a, R>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    done: bool,
}

/// A [`ContentFeed`] that is `Send`: its reader, if it has one, is.
pub type SendContentFeed<'a> = ContentFeed<'a, dyn Read + Send + 'a>;

enum FeedSource<'a, R: ?Sized + 'a> {
    Slice(&'a [u8]),
    Shared(Arc<[u8]>, usize),
    Read(Box<R>),
    File(FileSource),
}

/// An open file and the bytes that go before it, read as one stream and rewound as one.
struct FileSource {
    prefix: Arc<[u8]>,
    /// How much of the prefix was read.
    at: usize,
    file: File,
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.prefix.get(self.at..) {
            Some(rest) if !rest.is_empty() => {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.at += n;
                Ok(n)
            }
            _ => self.file.read(buf),
        }
    }
}

impl FileSource {
    fn rewind(&mut self) -> io::Result<()> {
        self.at = 0;
        self.file.seek(SeekFrom::Start(0)).map(|_| ())
    }
}

impl<R: ?Sized + Read> fmt::Debug for ContentFeed<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentFeed")
            .field("buffered", &(self.end - self.start))
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a> ContentFeed<'a> {
    /// A feed of bytes the caller holds for as long as the feed lives.
    pub fn from_slice(bytes: &'a [u8]) -> ContentFeed<'a> {
        ContentFeed::with(FeedSource::Slice(bytes))
    }

    /// A feed of a reader the caller lends.
    pub fn from_reader(reader: impl Read + 'a) -> ContentFeed<'a> {
        ContentFeed::with(FeedSource::Read(Box::new(reader)))
    }
}

impl<'a> SendContentFeed<'a> {
    /// [`ContentFeed::from_slice`], as a feed that is `Send`.
    pub fn send_slice(bytes: &'a [u8]) -> SendContentFeed<'a> {
        ContentFeed::with(FeedSource::Slice(bytes))
    }

    /// [`ContentFeed::from_reader`] of a reader that is `Send`, as a feed that is `Send`.
    pub fn send_reader(reader: impl Read + Send + 'a) -> SendContentFeed<'a> {
        ContentFeed::with(FeedSource::Read(Box::new(reader)))
    }
}

impl<'a, R: ?Sized + Read + 'a> ContentFeed<'a, R> {
    fn with(source: FeedSource<'a, R>) -> ContentFeed<'a, R> {
        ContentFeed {
            source,
            buf: Vec::new(),
            start: 0,
            end: 0,
            done: false,
        }
    }

    /// Measures the content and declares it in `envelope` ([`declare_content`]): bytes in
    /// memory are scanned where they are, a file is read once and rewound; a reader cannot be
    /// measured without being consumed and is left undeclared. Call it before the message is
    /// queued, and only when [`Client::content_facts_wanted`] says it matters.
    ///
    /// # Errors
    /// Reading or rewinding the file failed.
    pub fn declare(&mut self, envelope: &mut Envelope) -> io::Result<()> {
        match &mut self.source {
            FeedSource::Slice(bytes) => declare_bytes(envelope, bytes),
            FeedSource::Shared(bytes, _) => declare_bytes(envelope, bytes),
            FeedSource::File(file) => {
                declare_content(envelope, &mut *file)?;
                file.rewind()
            }
            FeedSource::Read(_) => Ok(()),
        }
    }

    /// Queues the message with the start of this content
    /// ([`Client::send_message_with_content`]): bytes in memory are offered whole, so a body
    /// that fits is finished before its MAIL (its exact size and 8-bit octets known to the
    /// session) and a larger one is measured by the session where it is, if that matters; a
    /// file is measured first when [`Client::content_facts_wanted`] says it matters (one read,
    /// then rewound), and its first bytes are offered; a reader's first bytes are offered,
    /// undeclared unless the caller declared them; while the session takes all it is offered,
    /// more is offered. Returns the message and whether its body is finished; if not
    /// ([`Fed::Blocked`]), [`ContentFeed::pump`] the rest after the session's `BodyWanted`
    /// for it when it is the message being written (the earlier messages' bodies finished),
    /// or as soon as it becomes that message.
    ///
    /// # Errors
    /// [`FeedError::Session`] when the session refuses the message (nothing is queued);
    /// [`FeedError::Read`] when the file or reader fails before anything is queued.
    pub fn send(
        &mut self,
        client: &mut Client,
        mut envelope: Envelope,
    ) -> Result<(MessageId, Fed), FeedError> {
        if client.content_facts_wanted() {
            if let FeedSource::File(_) = self.source {
                self.declare(&mut envelope).map_err(FeedError::Read)?;
            }
        }
        let (chunk, complete): (&[u8], bool) = match &mut self.source {
            FeedSource::Slice(bytes) => (bytes, true),
            FeedSource::Shared(bytes, at) => (bytes.get(*at..).unwrap_or_default(), true),
            FeedSource::Read(reader) => fill_first(reader, &mut self.buf, &mut self.end)?,
            FeedSource::File(file) => fill_first(file, &mut self.buf, &mut self.end)?,
        };
        let offered = chunk.len();
        let (id, taken) = client.send_message_with_content(envelope, chunk, complete)?;
        self.advance(taken);
        if taken == offered {
            if complete {
                self.finished();
                return Ok((id, Fed::Finished));
            }
            // All of the first bytes were taken (it is the message being written): go on
            // until the session takes less, or no `BodyWanted` would ever come.
            return Ok((id, self.pump(client, id)?));
        }
        Ok((id, Fed::Blocked))
    }

    fn advance(&mut self, taken: usize) {
        match &mut self.source {
            FeedSource::Slice(bytes) => *bytes = bytes.get(taken..).unwrap_or_default(),
            FeedSource::Shared(_, at) => *at += taken,
            FeedSource::Read(_) | FeedSource::File(_) => self.start += taken,
        }
    }

    fn finished(&mut self) {
        self.done = true;
        self.buf = Vec::new();
        self.start = 0;
        self.end = 0;
    }

    /// Whether the whole content was taken and the body finished.
    pub fn is_finished(&self) -> bool {
        self.done
    }

    /// Offers `client` the next bytes of the content for message `id`, as many times as it
    /// takes all of them, until it takes less ([`Fed::Blocked`]: call again after its
    /// `BodyWanted` for `id`) or the content ends ([`Fed::Finished`]: the body is finished).
    /// A message whose outcome came first (refused early) takes and drops what it is given, so
    /// a feed always ends.
    ///
    /// # Errors
    /// [`FeedError::Read`] when the content cannot be read (then close the connection: the
    /// session has part of a message); [`FeedError::Session`] when the session refuses.
    pub fn pump(&mut self, client: &mut Client, id: MessageId) -> Result<Fed, FeedError> {
        if self.done {
            return Ok(Fed::Finished);
        }
        loop {
            let chunk: &[u8] = match &mut self.source {
                FeedSource::Slice(bytes) => bytes,
                FeedSource::Shared(bytes, at) => bytes.get(*at..).unwrap_or_default(),
                FeedSource::Read(reader) => {
                    fill(reader, &mut self.buf, &mut self.start, &mut self.end)?
                }
                FeedSource::File(file) => {
                    fill(file, &mut self.buf, &mut self.start, &mut self.end)?
                }
            };
            if chunk.is_empty() {
                client.finish_body(id)?;
                self.finished();
                return Ok(Fed::Finished);
            }
            let offered = chunk.len();
            let taken = client.write_body(id, chunk)?;
            self.advance(taken);
            if taken < offered {
                return Ok(Fed::Blocked);
            }
        }
    }
}

impl ContentFeed<'static> {
    /// A feed of `content`: bytes in memory are shared, a file is opened now (so that a file
    /// that cannot be opened is known before its message is queued), a reader is taken (a
    /// second feed on the same reader is refused).
    ///
    /// # Errors
    /// The file cannot be opened, or the reader was taken already.
    pub fn open(content: &Content) -> io::Result<ContentFeed<'static>> {
        let source = match &content.0 {
            Source::Shared(bytes) => FeedSource::Shared(Arc::clone(bytes), 0),
            Source::File(prefix, path) => FeedSource::File(FileSource {
                prefix: Arc::clone(prefix),
                at: 0,
                file: File::open(path)?,
            }),
            Source::Reader(slot) => {
                let reader = slot.lock().ok().and_then(|mut r| r.take()).ok_or_else(|| {
                    io::Error::other(
                        "the content's reader was read already (it cannot be sent twice)",
                    )
                })?;
                let reader: Box<dyn Read> = reader;
                FeedSource::Read(reader)
            }
        };
        Ok(ContentFeed::with(source))
    }
}

/// The buffered bytes not yet taken, reading more when there are none (an empty slice at the
/// end of the content).
fn fill<'b>(
    reader: &mut (impl Read + ?Sized),
    buf: &'b mut Vec<u8>,
    start: &mut usize,
    end: &mut usize,
) -> Result<&'b [u8], FeedError> {
    if *start == *end {
        if buf.is_empty() {
            buf.resize(READ_CHUNK, 0);
        }
        *start = 0;
        let room = buf.len();
        *end = loop {
            match reader.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => {
                    break other
                        .and_then(|n| read_count(n, room))
                        .map_err(FeedError::Read)?
                }
            }
        };
    }
    Ok(buf.get(*start..*end).unwrap_or_default())
}

/// `n`, what a reader says it read into `room` bytes, when it is possible. `Read` asks that
/// `n <= room` but a safe reader can break that; taken at its word, the bytes past the buffer
/// would be read as an end of content and the message sent cut short, or measured too small.
fn read_count(n: usize, room: usize) -> io::Result<usize> {
    if n <= room {
        Ok(n)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the content's reader said it read {n} bytes into a buffer of {room}"),
        ))
    }
}

/// Reads the first bytes of a file or reader into `buf` (one [`READ_CHUNK`], or less at the end
/// of the content) and says whether that is all of it.
fn fill_first<'b>(
    reader: &mut (impl Read + ?Sized),
    buf: &'b mut Vec<u8>,
    end: &mut usize,
) -> Result<(&'b [u8], bool), FeedError> {
    buf.resize(READ_CHUNK, 0);
    let mut n = 0;
    let complete = loop {
        let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) else {
            break false;
        };
        let room = rest.len();
        match reader.read(rest).and_then(|k| read_count(k, room)) {
            Ok(0) => break true,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FeedError::Read(e)),
        }
    };
    *end = n;
    Ok((buf.get(..n).unwrap_or_default(), complete))
}

/// Measures content (one read of `content`: its RFC 1870 size and whether it has octets above
/// 127) and declares it in the envelope: `SIZE=` unless the caller declared a size, and `BODY=`
/// (`8BITMIME` for 8-bit content, `7BIT` for content known to be 7-bit) unless the caller set
/// it. Send the same content afterwards: the session then refuses before MAIL a message too
/// large for the server, or 8-bit for a server without 8BITMIME, and still counts what it sends.
///
/// # Errors
/// Reading `content` failed.
pub fn declare_content(envelope: &mut Envelope, mut content: impl Read) -> io::Result<()> {
    let mut meter = ContentMeter::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let room = buf.len();
        match content.read(&mut buf).and_then(|n| read_count(n, room)) {
            Ok(0) => break,
            Ok(n) => meter.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    declare_measured(envelope, &meter);
    Ok(())
}

/// [`declare_content`] of bytes in memory, scanned where they are.
fn declare_bytes(envelope: &mut Envelope, bytes: &[u8]) -> io::Result<()> {
    let mut meter = ContentMeter::new();
    meter.update(bytes);
    declare_measured(envelope, &meter);
    Ok(())
}

/// Declares content measured with a [`ContentMeter`] in the envelope: its RFC 1870 size as
/// `SIZE=` unless the caller declared a size, and `BODY=` (`8BITMIME` for content with octets
/// above 127, `7BIT` otherwise) unless the caller set it. [`declare_content`], a feed's
/// [`ContentFeed::declare`] and every adapter's own measuring (an async reader's) end here.
///
/// Send the same content afterwards: the session then refuses before MAIL a message too large
/// for the server, or 8-bit for a server without 8BITMIME, and still counts what it sends.
pub fn declare_measured(envelope: &mut Envelope, meter: &ContentMeter) {
    let params = &mut envelope.params;
    params.size.get_or_insert(meter.size());
    if params.body.is_none() {
        params.body = Some(if meter.eight_bit() {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
        });
    }
}
