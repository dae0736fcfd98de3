//! [`Feeds`]: the contents of the messages a connection has queued, written in queue order as
//! the session takes them. The decisions of an adapter's content loop, written once: each
//! adapter only does what [`Feeds::step`] says (write its output, wait for the server, give up).

use crate::{ContentFeed, Error, Fed, FeedError, Ledger};
use mailwire::{Client, Envelope, MessageId};
use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// What an adapter does next for its [`Feeds`].
#[derive(Debug)]
#[non_exhaustive]
pub enum FeedStep {
    /// Every awaited message has its outcome, or the session ended: stop.
    Done,
    /// The session took content: take its output ([`Client::poll_transmit`], the ledger's
    /// drain) and step again.
    Continue,
    /// Write the output taken so far before the session takes more content, so that the
    /// content held is the session's body buffer, not the whole body.
    Flush,
    /// Nothing to write until the server answers or asks for more: write what is pending and
    /// wait for its bytes (or the session's deadline).
    Wait,
    /// The content could not be had: close the connection (the server must not take a
    /// truncated message), abort the session and record this as the failure underneath.
    Abandon(Error),
}

/// The messages a connection queued, each with its [`ContentFeed`], in queue order: the front
/// one is written until the session takes less, then again after its
/// [`mailwire::Event::BodyWanted`]; a message whose outcome came before all of its content was
/// taken (refused early) gets no more of it. Memory stays what the session's body buffer and
/// one feed's read buffer hold, however many messages are queued.
/// `R` is the feeds' reader type, as for [`ContentFeed`].
pub struct Feeds<'a, R: ?Sized + Read + 'a = dyn Read + 'a> {
    queue: VecDeque<(MessageId, ContentFeed<'a, R>)>,
    /// The messages whose outcomes are awaited, in queue order; those at the front with an
    /// outcome are dropped as `step` sees them, so that each step looks at one or a few, not
    /// at every message of a batch (100 for `send_many`).
    awaited: VecDeque<MessageId>,
    blocked: bool,
}

impl<R: ?Sized + Read> fmt::Debug for Feeds<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feeds")
            .field("queued", &self.queue.len())
            .field("awaited", &self.awaited)
            .field("blocked", &self.blocked)
            .finish()
    }
}

impl<'a, R: ?Sized + Read + 'a> Default for Feeds<'a, R> {
    fn default() -> Self {
        Feeds {
            queue: VecDeque::new(),
            awaited: VecDeque::new(),
            blocked: false,
        }
    }
}

impl<'a, R: ?Sized + Read + 'a> Feeds<'a, R> {
    /// No messages yet.
    pub fn new() -> Feeds<'a, R> {
        Feeds::default()
    }

    /// Adds message `id` (queued in the session after the ones added before) with what is left
    /// of its content; its outcome is awaited.
    pub fn push(&mut self, id: MessageId, feed: ContentFeed<'a, R>) {
        self.queue.push_back((id, feed));
        self.awaited.push_back(id);
    }

    /// Queues each of `messages` with `queue` (which queues one message in the session and
    /// gives the feed of what is left of its content), keeping the feeds in queue order: one
    /// result per message, in order, its id or why it was refused (a refused message does not
    /// stop the others).
    pub fn queue_each<B: AsRef<[u8]>>(
        &mut self,
        messages: &'a [(Envelope, B)],
        mut queue: impl FnMut(Envelope, &'a [u8]) -> Result<(MessageId, ContentFeed<'a, R>), Error>,
    ) -> Vec<Result<MessageId, Error>> {
        let mut order = Vec::with_capacity(messages.len());
        for (envelope, body) in messages {
            order.push(queue(envelope.clone(), body.as_ref()).map(|(id, feed)| {
                self.push(id, feed);
                id
            }));
        }
        order
    }

    /// Decides the next move, after the adapter took the session's output and drained its
    /// events into `ledger`; `out_pending`: output taken and not yet written. Pumps the front
    /// feed when that is the move ([`FeedStep::Continue`]).
    pub fn step(&mut self, core: &mut Client, ledger: &mut Ledger, out_pending: bool) -> FeedStep {
        // Only the message being written can have been turned away.
        if let Some(&(front, _)) = self.queue.front() {
            if ledger.take_wanted(front) {
                self.blocked = false;
            }
        }
        ledger.clear_wanted();
        if ledger.is_closed() {
            return FeedStep::Done;
        }
        if let Some(&(front, _)) = self.queue.front() {
            if ledger.has_outcome(front) {
                // Refused before its content was all written: nothing more is read.
                let _ = core.finish_body(front);
                self.queue.pop_front();
                self.blocked = false;
                return FeedStep::Continue;
            }
        }
        while let Some(&first) = self.awaited.front() {
            if !ledger.has_outcome(first) {
                break;
            }
            self.awaited.pop_front();
        }
        if self.awaited.is_empty() {
            return FeedStep::Done;
        }
        if self.blocked {
            return FeedStep::Wait;
        }
        if out_pending && !self.queue.is_empty() {
            return FeedStep::Flush;
        }
        let Some((id, feed)) = self.queue.front_mut() else {
            return FeedStep::Wait;
        };
        match feed.pump(core, *id) {
            Ok(Fed::Finished) => {
                self.queue.pop_front();
            }
            Ok(_) => self.blocked = true,
            Err(e) => return FeedStep::Abandon(Error::from(e)),
        }
        FeedStep::Continue
    }
}

impl From<FeedError> for Error {
    /// A session's refusal is the caller's [`Error::Usage`]; content that could not be read is
    /// [`Error::Body`].
    fn from(e: FeedError) -> Error {
        match e {
            FeedError::Session(e) => Error::Usage(e),
            FeedError::Read(e) => Error::Body(Arc::new(e)),
        }
    }
}
