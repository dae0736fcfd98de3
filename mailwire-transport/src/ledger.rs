//! [`Ledger`]: what the core reported, kept for the adapter's calls, and what failed underneath
//! the session; and the one mapping from them to a call's result.

use crate::error::{Error, Transport};
use mailwire::sasl::Mechanism;
use mailwire::{CommandId, Direction, Event, MessageId, MessageOutcome, Reply, Verdict};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;

/// An adapter's bookkeeping around one core session, written once for every adapter: the
/// core's events sorted for the calls waiting on them (each message's outcome, each side
/// command's reply, the messages that may write more content, the close), what failed
/// underneath (I/O, TLS, the caller's body reader, a cancelled call), and the one mapping from
/// all that to the `Result<MessageOutcome, Error>` a call returns.
///
/// It decides nothing about the protocol: it files the core's events and reads the core's
/// judgements back. The loop around it (sockets, TLS, the clock) is the adapter's.
#[derive(Debug)]
pub struct Ledger {
    transcript_target: &'static str,
    outcomes: HashMap<MessageId, MessageOutcome>,
    replies: HashMap<CommandId, Reply>,
    wanted: Vec<MessageId>,
    closed: Option<Result<(), mailwire::Error>>,
    authenticated: Option<Mechanism>,
    tls_requested: bool,
    cause: Option<Box<Transport>>,
    body_failure: Option<Arc<io::Error>>,
    stalled: bool,
    cancelled: bool,
}

impl Ledger {
    /// An empty ledger. Transcript lines ([`Event::Transcript`]) are logged at debug level under
    /// `transcript_target` (`-> ` sent, `<- ` received; AUTH payloads redacted by the core).
    pub fn new(transcript_target: &'static str) -> Ledger {
        Ledger {
            transcript_target,
            outcomes: HashMap::new(),
            replies: HashMap::new(),
            wanted: Vec::new(),
            closed: None,
            authenticated: None,
            tls_requested: false,
            cause: None,
            body_failure: None,
            stalled: false,
            cancelled: false,
        }
    }

    /// Drains the core's events into the ledger.
    pub fn drain(&mut self, core: &mut mailwire::Client) {
        while let Some(event) = core.poll_event() {
            self.record(event);
        }
    }

    /// Files one event.
    pub fn record(&mut self, event: Event) {
        match event {
            Event::Transcript(line) => {
                let arrow = match line.direction {
                    Direction::Sent => "->",
                    Direction::Received => "<-",
                };
                log::debug!(target: self.transcript_target, "{arrow} {}", String::from_utf8_lossy(&line.line));
            }
            Event::TlsUpgradeRequested => self.tls_requested = true,
            Event::Authenticated(mechanism) => {
                log::info!("authenticated with {}", mechanism.name());
                self.authenticated = Some(mechanism);
            }
            Event::BodyWanted(message) => self.wanted.push(message),
            Event::MessageDone(outcome) => {
                self.outcomes.insert(outcome.message, outcome);
            }
            Event::ReplyReceived { command, reply } => {
                self.replies.insert(command, reply);
            }
            Event::Closed(result) => {
                match &result {
                    Ok(()) => log::debug!("session closed"),
                    Err(e) => log::debug!("session failed: {e}"),
                }
                self.closed = Some(result);
            }
            Event::TlsSkipped(reply) => match reply {
                Some(r) => log::info!("STARTTLS refused ({r}); going on without TLS"),
                None => log::info!("STARTTLS not offered; going on without TLS"),
            },
            other => log::trace!("{other:?}"),
        }
    }

    /// Whether the core asked for TLS since the last call (then the adapter starts the
    /// handshake).
    pub fn take_tls_request(&mut self) -> bool {
        std::mem::take(&mut self.tls_requested)
    }

    /// Whether the session said message `id` may write more content ([`Event::BodyWanted`])
    /// since the last call.
    pub fn take_wanted(&mut self, id: MessageId) -> bool {
        let before = self.wanted.len();
        self.wanted.retain(|m| *m != id);
        self.wanted.len() != before
    }

    /// Forgets every [`Event::BodyWanted`] not yet taken (an adapter that writes one message's
    /// content at a time takes the one it writes, then clears the rest: a message it no longer
    /// writes wants nothing).
    pub fn clear_wanted(&mut self) {
        self.wanted.clear();
    }

    /// Whether some message may write more content.
    pub fn any_wanted(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// Whether message `id`'s outcome is in.
    pub fn has_outcome(&self, id: MessageId) -> bool {
        self.outcomes.contains_key(&id)
    }

    /// Whether side command `id`'s reply is in.
    pub fn has_reply(&self, id: CommandId) -> bool {
        self.replies.contains_key(&id)
    }

    /// Whether the session has ended ([`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Whether the session ended cleanly (after QUIT); `None` while it is open.
    pub fn closed_cleanly(&self) -> Option<bool> {
        self.closed.as_ref().map(Result::is_ok)
    }

    /// The SASL mechanism the session authenticated with.
    pub fn authenticated(&self) -> Option<&Mechanism> {
        self.authenticated.as_ref()
    }

    /// Records what failed underneath the session (the first cause is kept).
    pub fn set_cause(&mut self, cause: Transport) {
        self.cause.get_or_insert_with(|| Box::new(cause));
    }

    /// Records that the caller's body reader failed: the message's call reports
    /// [`Error::Body`].
    pub fn set_body_failure(&mut self, e: Arc<io::Error>) {
        self.body_failure = Some(e);
    }

    /// Records that the loop found the session awaiting nothing with work unfinished (a bug).
    pub fn set_stalled(&mut self) {
        self.stalled = true;
    }

    /// Records that a call was cancelled part-way: every later call gets [`Error::Cancelled`].
    pub fn set_cancelled(&mut self) {
        self.cancelled = true;
    }

    /// Whether a call was cancelled part-way.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// `Ok` while the session can take work; else the error a new call gets.
    pub fn usable(&self, core: &mailwire::Client) -> Result<(), Error> {
        if self.cancelled {
            return Err(Error::Cancelled);
        }
        match &self.closed {
            None => Ok(()),
            Some(_) => Err(self.session_error(core, false)),
        }
    }

    /// The error that ended the session, as the caller should see it; `content_sent` for the
    /// message it is reported with.
    pub fn session_error(&self, core: &mailwire::Client, content_sent: bool) -> Error {
        if self.stalled {
            return Error::Stalled;
        }
        match core.error() {
            Some(error) => Error::Session {
                error: error.clone(),
                cause: self.cause.clone(),
                content_sent,
            },
            None => Error::Usage(mailwire::UsageError::Closed),
        }
    }

    /// Message `id`'s result, taken out: its outcome when the server decided (accepted,
    /// partly, refused), [`Error::Body`] when the caller's reader failed, the session's error
    /// when the session ended before the outcome was known (`content_sent` from the core's
    /// [`Verdict::Failed`]).
    pub fn take_outcome(
        &mut self,
        core: &mailwire::Client,
        id: MessageId,
    ) -> Result<MessageOutcome, Error> {
        if let Some(e) = self.body_failure.take() {
            self.outcomes.remove(&id);
            return Err(Error::Body(e));
        }
        match self.outcomes.remove(&id) {
            Some(MessageOutcome {
                verdict: Verdict::Failed { content_sent, .. },
                ..
            }) => Err(self.session_error(core, content_sent)),
            Some(outcome) => Ok(outcome),
            // The core reports every message before `Closed`; none means the loop stopped
            // early, which only a stall does.
            None if self.closed.is_some() => Err(self.session_error(core, false)),
            None => Err(Error::Stalled),
        }
    }

    /// Side command `id`'s reply, taken out.
    pub fn take_reply(&mut self, id: CommandId) -> Result<Reply, Error> {
        self.replies.remove(&id).ok_or(Error::Stalled)
    }
}
