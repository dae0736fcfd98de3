//! [`send_mail`]: one message on a connection of its own, in one call.

use crate::client::Client;
use mailwire::{Envelope, MessageOutcome};
use mailwire_transport::{ClientOptions, Error};

/// Connects as `options` say, sends one message (as [`Client::send_bytes`]: its exact size and
/// 8-bit octets declared), and says QUIT: Go's `smtp.SendMail`, or lettre's `Transport::send`
/// without a pool. For many messages keep a [`Client`] (or a [`crate::Pool`]): each call here
/// pays the connection, the greeting, EHLO, TLS and AUTH again.
///
/// `Ok` with the outcome whenever the server decided (accepted, partly, or refused); a QUIT
/// that fails after that changes nothing and is only logged. `Err` as [`Client::connect`] or
/// [`Client::send_bytes`] would give it.
pub fn send_mail(
    options: ClientOptions,
    envelope: Envelope,
    body: &[u8],
) -> Result<MessageOutcome, Error> {
    let mut client = Client::connect(options)?;
    let outcome = client.send_bytes(envelope, body)?;
    if let Err(e) = client.quit() {
        log::info!("QUIT failed after the outcome: {e}");
    }
    Ok(outcome)
}
