//! [`probe()`]: ask a server how far it would go, without sending a message, as
//! `mailwire-blocking`'s `probe` does ([`ProbeUntil`], [`ProbeReport`]: `mailwire-transport`'s).
//! The session is the same loop as [`Client`]'s; this module only says where to stop and
//! gathers what was learnt.

use crate::client::Client;
use mailwire_transport::{ClientOptions, Error, ProbePlan, ProbeReport, ProbeUntil};

/// Probes the server `options` name as far as `until` says, then closes the connection, and
/// returns what was learnt. `Err` when the session ended before it got that far (the greeting
/// refused, TLS required and not had, AUTH refused, a timeout, …): the error says where and why,
/// as [`Client::connect`] would.
pub async fn probe(mut options: ClientOptions, until: ProbeUntil) -> Result<ProbeReport, Error> {
    let transaction = match until.plan(&mut options.config) {
        ProbePlan::ConnectOnly => {
            drop(crate::stream::connect(&options).await?);
            return Ok(ProbeReport::default());
        }
        ProbePlan::Session(transaction) => transaction,
    };
    let mut client = Client::connect(options).await?;
    let outcome = match transaction {
        Some((envelope, depth)) => Some(client.probe(envelope, depth).await?),
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
        if let Err(e) = client.quit().await {
            log::info!("QUIT failed: {e}");
        }
    }
    Ok(report)
}
