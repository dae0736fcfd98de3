//! [`probe()`]: ask a server how far it would go, without sending a message: open the connection
//! only, or run the session to a milestone ([`mailwire::Config::stop_after`]: the greeting, EHLO,
//! TLS, AUTH) and say QUIT there, or get ready and send MAIL (and RCPT) without DATA
//! ([`mailwire::Client::probe`]). The session is the same loop as [`Client`]'s; this module only
//! says where to stop and gathers what was learnt.

use crate::client::Client;
use mailwire::sasl::Mechanism;
use mailwire::{Capabilities, Class, Envelope, MessageOutcome, Milestone, ProbeDepth, Reply};
use mailwire_transport::{ClientOptions, Error};

/// How far a [`probe()`] goes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProbeUntil {
    /// Open the connection (TCP, or the Unix socket) and close it again: nothing is said, nothing is read (not even
    /// the greeting; with implicit TLS, no handshake either).
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

/// What a [`probe()`] learnt.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ProbeReport {
    /// The server's 220 greeting (`None` for [`ProbeUntil::Connect`]).
    pub greeting: Option<Reply>,
    /// The capabilities from the server's latest EHLO (after TLS, those said under TLS).
    pub capabilities: Option<Capabilities>,
    /// Whether the connection was encrypted when the probe stopped.
    pub tls: bool,
    /// The SASL mechanism the session authenticated with, if it did.
    pub authenticated: Option<Mechanism>,
    /// For [`ProbeUntil::Transaction`]: the outcome, [`mailwire::Verdict::Probed`] with the
    /// MAIL reply and every RCPT reply in its recipients (or a refusal before MAIL, as
    /// [`Client::send`] reports it).
    pub outcome: Option<MessageOutcome>,
}

impl ProbeReport {
    /// Its class: the transaction's ([`MessageOutcome::class`]: as a message would be with
    /// those MAIL and RCPT replies) when there was one; else delivered, since the probe got as
    /// far as it was asked (a session that ended first is an [`Error`] instead).
    pub fn class(&self) -> Class {
        self.outcome
            .as_ref()
            .map_or(Class::Delivered, MessageOutcome::class)
    }
}

/// Probes the server `options` name as far as `until` says, then closes the connection, and
/// returns what was learnt. `Err` when the session ended before it got that far (the greeting
/// refused, TLS required and not had, AUTH refused, a timeout, …): the error says where and why,
/// as [`Client::connect`] would.
///
/// [`ProbeUntil::Milestone`] sets [`mailwire::Config::stop_after`];
/// [`ProbeUntil::Transaction`] clears it.
pub fn probe(mut options: ClientOptions, until: ProbeUntil) -> Result<ProbeReport, Error> {
    let transaction = match until {
        ProbeUntil::Connect => {
            let socket = crate::stream::connect(&options)?;
            let _ = socket.shutdown(std::net::Shutdown::Both);
            return Ok(ProbeReport::default());
        }
        ProbeUntil::Milestone(milestone) => {
            options.config.stop_after = Some(milestone);
            None
        }
        ProbeUntil::Transaction { envelope, depth } => {
            options.config.stop_after = None;
            Some((envelope, depth))
        }
    };
    let mut client = Client::connect(options)?;
    let outcome = match transaction {
        Some((envelope, depth)) => Some(client.probe(envelope, depth)?),
        None => None,
    };
    let report = ProbeReport {
        greeting: client.session().greeting().cloned(),
        capabilities: client.capabilities().cloned(),
        tls: client.is_secure(),
        authenticated: client.authenticated_mechanism().cloned(),
        outcome,
    };
    if !client.session().is_closed() {
        // What was learnt is known; a failing QUIT changes nothing about it.
        if let Err(e) = client.quit() {
            log::info!("QUIT failed: {e}");
        }
    }
    Ok(report)
}

/// Whether a probing session ([`mailwire::Config::stop_after`]) has stopped where it was asked
/// to: its QUIT answered, the session closed without an error. [`Client::connect`] is done then.
pub(crate) fn stopped(core: &mailwire::Client) -> bool {
    core.config().stop_after.is_some() && core.is_closed() && core.error().is_none()
}
