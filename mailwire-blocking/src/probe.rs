//! [`probe()`]: ask a server how far it would go, without sending a message: open the connection
//! only, or run the session to a milestone ([`mailwire::Config::stop_after`]: the greeting, EHLO,
//! TLS, AUTH) and say QUIT there, or get ready and send MAIL (and RCPT) without DATA
//! ([`mailwire::Client::probe`]). The session is the same loop as [`Client`]'s; this module only
//! says where to stop and gathers what was learnt ([`ProbeUntil`] and [`ProbeReport`] are
//! `mailwire-transport`'s, shared with `mailwire-tokio`).

use crate::client::Client;
use mailwire_transport::{ClientOptions, Error, ProbePlan, ProbeReport, ProbeUntil};

/// Probes the server `options` name as far as `until` says, then closes the connection, and
/// returns what was learnt. `Err` when the session ended before it got that far (the greeting
/// refused, TLS required and not had, AUTH refused, a timeout, …): the error says where and why,
/// as [`Client::connect`] would.
///
/// [`ProbeUntil::Milestone`] sets [`mailwire::Config::stop_after`];
/// [`ProbeUntil::Transaction`] clears it.
pub fn probe(mut options: ClientOptions, until: ProbeUntil) -> Result<ProbeReport, Error> {
    let transaction = match until.plan(&mut options.config) {
        ProbePlan::ConnectOnly => {
            let socket = crate::stream::connect(&options)?;
            let _ = socket.shutdown(std::net::Shutdown::Both);
            return Ok(ProbeReport::default());
        }
        ProbePlan::Session(transaction) => transaction,
    };
    let mut client = Client::connect(options)?;
    let outcome = match transaction {
        Some((envelope, depth)) => Some(client.probe(envelope, depth)?),
        None => None,
    };
    let mut report = ProbeReport::learnt(
        client.session(),
        client.authenticated_mechanism().cloned(),
        outcome,
    );
    report.tls_info = client.tls_info();
    if !client.session().is_closed() {
        // What was learnt is known; a failing QUIT changes nothing about it.
        if let Err(e) = client.quit() {
            log::info!("QUIT failed: {e}");
        }
    }
    Ok(report)
}
