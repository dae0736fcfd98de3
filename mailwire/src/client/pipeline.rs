//! Commands in flight (RFC 2920): what each awaited reply answers, in order, and the reply
//! deadlines of RFC 5321 4.5.3.2.

use crate::envelope::{CommandId, MessageId};
use crate::error::Stage;
use crate::time::{Timeouts, Timestamp};
use alloc::collections::VecDeque;
use core::time::Duration;

/// What the next reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Greeting,
    /// EHLO/LHLO (`extended`) or HELO.
    Hello {
        extended: bool,
    },
    StartTls,
    /// XCLIENT with the attributes before this index of `Config::xclient`.
    Xclient {
        upto: usize,
    },
    Auth,
    /// XFORWARD before message `id`'s MAIL.
    Xforward(MessageId),
    Mail(MessageId),
    Rcpt(MessageId, usize),
    Data(MessageId),
    /// The reply after the end of data (SMTP), or after `BDAT … LAST`.
    DataEnd(MessageId),
    /// LMTP: the reply after the end of data for recipient `index` (RFC 2033 4.2).
    LmtpRcpt(MessageId, usize),
    /// A BDAT chunk that is not the last.
    Bdat(MessageId),
    Rset,
    Side(CommandId, Stage),
    Quit,
}

impl Expect {
    pub(crate) fn stage(self) -> Stage {
        match self {
            Expect::Greeting => Stage::Greeting,
            Expect::Hello { .. } => Stage::Hello,
            Expect::StartTls => Stage::StartTls,
            Expect::Xclient { .. } => Stage::Xclient,
            Expect::Auth => Stage::Auth,
            Expect::Xforward(_) => Stage::Xforward,
            Expect::Mail(_) => Stage::Mail,
            Expect::Rcpt(..) => Stage::Rcpt,
            Expect::Data(_) => Stage::Data,
            Expect::DataEnd(_) | Expect::LmtpRcpt(..) => Stage::DataEnd,
            Expect::Bdat(_) => Stage::Bdat,
            Expect::Rset => Stage::Rset,
            Expect::Side(_, stage) => stage,
            Expect::Quit => Stage::Quit,
        }
    }

    /// The message this reply belongs to.
    pub(crate) fn message(self) -> Option<MessageId> {
        match self {
            Expect::Mail(m)
            | Expect::Xforward(m)
            | Expect::Rcpt(m, _)
            | Expect::Data(m)
            | Expect::DataEnd(m)
            | Expect::LmtpRcpt(m, _)
            | Expect::Bdat(m) => Some(m),
            _ => None,
        }
    }

    /// RFC 2920 3.1: EHLO, DATA, VRFY, EXPN, NOOP, QUIT (and STARTTLS, AUTH, which change the
    /// session) may only be the last command of a group: nothing more is sent until they are
    /// answered. RSET, MAIL, RCPT, BDAT and the content's end may be followed at once.
    fn ends_group(self) -> bool {
        !matches!(
            self,
            Expect::Mail(_)
                | Expect::Xforward(_)
                | Expect::Rcpt(..)
                | Expect::Rset
                | Expect::Bdat(_)
                | Expect::DataEnd(_)
                | Expect::LmtpRcpt(..)
        )
    }

    /// RFC 5321 4.5.3.2.
    fn timeout(self, t: &Timeouts) -> Duration {
        match self {
            Expect::Greeting => t.greeting,
            Expect::Mail(_) | Expect::Xforward(_) => t.mail,
            Expect::Rcpt(..) => t.rcpt,
            Expect::Data(_) => t.data_initiation,
            Expect::DataEnd(_) | Expect::LmtpRcpt(..) => t.data_termination,
            Expect::Bdat(_) => t.data_block,
            _ => t.command,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct InFlight {
    expect: Expect,
    /// When its bytes were handed out by `poll_transmit` (`None`: not yet).
    sent_at: Option<Timestamp>,
}

/// The replies awaited, oldest first, and the clock data for the head's deadline.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    queue: VecDeque<InFlight>,
    /// Groups that end (see [`Expect::ends_group`]) among the queue.
    barriers: usize,
    /// When the last complete reply arrived.
    last_reply_at: Timestamp,
}

impl Pipeline {
    pub(crate) fn push(&mut self, expect: Expect) {
        if expect.ends_group() {
            self.barriers += 1;
        }
        self.queue.push_back(InFlight {
            expect,
            sent_at: None,
        });
    }

    /// Pushes an expectation whose clock starts now (the greeting: nothing is sent for it).
    pub(crate) fn push_started(&mut self, expect: Expect, now: Timestamp) {
        self.push(expect);
        if let Some(last) = self.queue.back_mut() {
            last.sent_at = Some(now);
        }
    }

    /// The expectation a reply arriving now answers: the oldest awaited one, if its command has
    /// left ([`Pipeline::mark_sent`]). A reply while nothing of ours is on the wire answers
    /// nothing, whatever read it came in with (a server that sends `220` and a stray `250` in
    /// one segment must not have the `250` taken for the reply to an EHLO not yet written).
    pub(crate) fn pop(&mut self, now: Timestamp) -> Option<Expect> {
        self.queue.front()?.sent_at?;
        let head = self.queue.pop_front()?;
        if head.expect.ends_group() {
            self.barriers -= 1;
        }
        self.last_reply_at = now;
        Some(head.expect)
    }

    pub(crate) fn head(&self) -> Option<Expect> {
        self.queue.front().map(|f| f.expect)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether a command may be sent now: nothing awaited, or pipelining with no group-ending
    /// command awaited.
    pub(crate) fn may_send(&self, pipelining: bool) -> bool {
        self.queue.is_empty() || (pipelining && self.barriers == 0)
    }

    /// Stamps every expectation whose bytes just left.
    pub(crate) fn mark_sent(&mut self, now: Timestamp) {
        for f in self.queue.iter_mut().rev() {
            if f.sent_at.is_some() {
                break;
            }
            f.sent_at = Some(now);
        }
    }

    /// The head's deadline: a reply is due within its stage's timeout of the later of when it
    /// was sent and when the previous reply arrived (a pipelined reply cannot come before the
    /// one ahead of it).
    pub(crate) fn deadline(&self, timeouts: &Timeouts) -> Option<(Timestamp, Stage)> {
        let head = self.queue.front()?;
        let sent = head.sent_at?;
        let start = sent.max(self.last_reply_at);
        Some((
            start.saturating_add(head.expect.timeout(timeouts)),
            head.expect.stage(),
        ))
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.barriers = 0;
    }
}
