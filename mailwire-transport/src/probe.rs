//! What a probe asks and learns, for every adapter's `probe`: open the connection only, run the
//! session to a milestone ([`mailwire::Config::stop_after`]: the greeting, EHLO, TLS, AUTH) and
//! say QUIT there, or get ready and send MAIL (and RCPT) without DATA
//! ([`mailwire::Client::probe`]).

use mailwire::sasl::Mechanism;
use mailwire::{Capabilities, Class, Envelope, MessageOutcome, Milestone, ProbeDepth, Reply};

/// How far an adapter's `probe` goes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProbeUntil {
    /// Open the connection (TCP, or the Unix socket) and close it again: nothing is said,
    /// nothing is read (not even the greeting; with implicit TLS, no handshake either).
    Connect,
    /// Run the session to this milestone and say QUIT there.
    Milestone(Milestone),
    /// Get ready (greeting, EHLO, TLS and AUTH as configured), send MAIL FROM and, with
    /// [`ProbeDepth::Rcpt`], every RCPT TO, without DATA; then QUIT.
    Transaction {
        /// The sender, the recipients and the MAIL and RCPT parameters to try.
        envelope: Envelope,
        /// MAIL alone, or MAIL and every RCPT.
        depth: ProbeDepth,
    },
}

impl ProbeUntil {
    /// What an adapter does for this probe. A milestone is set as the session's
    /// [`mailwire::Config::stop_after`]; a transaction clears it (the session gets ready first).
    pub fn plan(self, config: &mut mailwire::Config) -> ProbePlan {
        match self {
            ProbeUntil::Connect => ProbePlan::ConnectOnly,
            ProbeUntil::Milestone(milestone) => {
                config.stop_after = Some(milestone);
                ProbePlan::Session(None)
            }
            ProbeUntil::Transaction { envelope, depth } => {
                config.stop_after = None;
                ProbePlan::Session(Some((envelope, depth)))
            }
        }
    }
}

/// How an adapter runs a probe ([`ProbeUntil::plan`]).
#[derive(Debug)]
pub enum ProbePlan {
    /// Open the connection and close it again, saying nothing.
    ConnectOnly,
    /// Connect (the session stops at its configured milestone, or gets ready), then this
    /// transaction, if any, with `mailwire::Client::probe`; then QUIT.
    Session(Option<(Envelope, ProbeDepth)>),
}

/// What an adapter's `probe` learnt.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ProbeReport {
    /// The server's 220 greeting (`None` for [`ProbeUntil::Connect`]).
    pub greeting: Option<Reply>,
    /// The capabilities from the server's latest EHLO (after TLS, those said under TLS).
    pub capabilities: Option<Capabilities>,
    /// Whether the connection was encrypted when the probe stopped.
    pub tls: bool,
    /// The TLS session when the probe stopped ([`crate::TlsInfo`]: version, cipher suite,
    /// resumption, the server's certificates); `None` without TLS.
    pub tls_info: Option<crate::TlsInfo>,
    /// The SASL mechanism the session authenticated with, if it did.
    pub authenticated: Option<Mechanism>,
    /// For [`ProbeUntil::Transaction`]: the outcome, [`mailwire::Verdict::Probed`] with the
    /// MAIL reply and every RCPT reply in its recipients (or a refusal before MAIL, as
    /// the adapter's `send` reports it).
    pub outcome: Option<MessageOutcome>,
}

impl ProbeReport {
    /// What the session `core` learnt: its greeting, capabilities and TLS; the mechanism it
    /// `authenticated` with (the adapter's record of it) and the transaction's `outcome`. The
    /// adapter fills in [`ProbeReport::tls_info`] from its connection.
    pub fn learnt(
        core: &mailwire::Client,
        authenticated: Option<Mechanism>,
        outcome: Option<MessageOutcome>,
    ) -> ProbeReport {
        ProbeReport {
            greeting: core.greeting().cloned(),
            capabilities: core.capabilities().cloned(),
            tls: core.is_secure(),
            tls_info: None,
            authenticated,
            outcome,
        }
    }

    /// Its class: the transaction's ([`MessageOutcome::class`]: as a message would be with
    /// those MAIL and RCPT replies) when there was one; else delivered, since the probe got as
    /// far as it was asked (a session that ended first is an [`crate::Error`] instead).
    pub fn class(&self) -> Class {
        self.outcome
            .as_ref()
            .map_or(Class::Delivered, MessageOutcome::class)
    }
}

/// Whether a probing session ([`mailwire::Config::stop_after`]) has stopped where it was asked
/// to: its QUIT answered, the session closed without an error. An adapter's `connect` is done then, as when the session is ready.
pub fn probe_stopped(core: &mailwire::Client) -> bool {
    core.config().stop_after.is_some() && core.is_closed() && core.error().is_none()
}
