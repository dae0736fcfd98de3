//! A blocking SMTP client over `std::net::TcpStream` (or a Unix-domain socket), with TLS by
//! rustls, driving the sans-IO core [`mailwire`].
//!
//! This crate is one loop and nothing more: write what the core has to send (each flight in one
//! `write`), wait for the server with the core's next deadline as the socket's read timeout,
//! feed back what was read, the close or the timeout, and wrap the socket in TLS when the core
//! asks. Replies are parsed, judged and acted on by the core; this crate never looks at a reply
//! code.
//!
//! - [`Client::connect`] connects (every resolved address in turn, or those of one
//!   [`AddressFamily`], from [`ClientOptions::local_address`] when set, with a connect timeout,
//!   TCP_NODELAY; or to [`ClientOptions::unix_socket`]), and drives greeting, EHLO, STARTTLS or
//!   implicit TLS, and AUTH.
//! - [`Client::send`] streams a message's content from any [`std::io::Read`] in bounded memory;
//!   [`Client::send_file`] measures a file first and declares its size and 8-bit octets;
//!   [`Client::send_bytes`] sends content in memory; [`Client::send_many`] pipelines several
//!   messages; with the `builder` feature, `message` builds typed messages (attachments,
//!   HTML, inline images) and `Client::send_email` sends one; [`Client::verify`],
//!   [`Client::expand`], [`Client::noop`], [`Client::help`], [`Client::quit`];
//!   [`Client::probe`] sends MAIL (and RCPT) without DATA.
//! - [`probe()`] asks a server how far it would go without sending a message: the connection
//!   only, the greeting, EHLO, TLS, AUTH ([`mailwire::Config::stop_after`]), or MAIL and RCPT;
//!   its [`ProbeReport`] says what was learnt.
//! - Outcomes are the core's: a message the server decided on (accepted, partly, refused) is
//!   `Ok(`[`MessageOutcome`]`)`; an [`Error`] means no outcome could be had (a refused call, a
//!   body that could not be read, a session that ended first).
//! - Every wait is bounded: by the core's per-reply deadline (a server that drips a byte at a
//!   time still times out), by [`mailwire::Timeouts::data_block`] for each write, and by
//!   [`ClientOptions::connect_timeout`] for each connection attempt.
//! - The transcript ([`mailwire::Config::transcript`]) is logged through the `log` facade at
//!   debug level under the target [`TRANSCRIPT_TARGET`], AUTH exchanges redacted by the core.
//!
//! TLS: configured by [`TlsOptions`], shared with the other adapters through `mailwire-transport`:
//! certificates are verified against the `webpki-roots` roots, or only a PEM CA file's
//! ([`TlsOptions::ca_file`]); a client certificate can be presented
//! ([`TlsOptions::client_certificate`]); the name checked (and sent as SNI) is
//! [`ClientOptions::host`]. A configuration that cannot be built is a
//! [`Error::TlsConfig`] with a [`TlsConfigError`] naming the file or the name.
//!
//! SCRAM: every [`Client::connect`] draws a fresh client nonce (RFC 5802 9), whatever
//! nonce the options' `Config` carried.
//!
//! [`Pool`]: at most N connections to one server, shared by many threads, with idle checks
//! and the rule that a message whose outcome is unknown is never sent twice.
//!
//! [`demo_server`] is a small receiving server on 127.0.0.1, for `smtp-send --demo`, examples
//! and tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod client;
pub mod demo_server;
mod once;
#[cfg(unix)]
mod pipe;
mod pool;
mod probe;
mod stream;

pub use client::{Client, TRANSCRIPT_TARGET};
pub use mailwire::{MessageOutcome, RecipientOutcome, Rejection, Verdict};
pub use once::send_mail;
// Shared with every adapter (`mailwire-tokio` too): what a caller configures and gets back.
pub use mailwire_transport::{
    declare_content, AddressFamily, ClientCertificate, ClientOptions, Error, NonceError, PemFile,
    PipeCommand, PoolOptions, PoolStats, ProxyHeader, ProxyVersion, TlsConfigError, TlsError,
    TlsInfo, TlsOptions, Transport,
};
pub use mailwire_transport::{ProbeReport, ProbeUntil};
pub use pool::Pool;
pub use probe::probe;

pub use mailwire;
pub use rustls;

/// Typed messages (feature `builder`): the `mailwire-message` crate. Build an
/// [`Email`](message::Email) and send it with `Client::send_email`.
#[cfg(feature = "builder")]
pub use mailwire_message as message;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
