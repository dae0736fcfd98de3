//! An async SMTP client over tokio, with TLS by tokio-rustls, driving the sans-IO core
//! [`mailwire`]: the same shape as `mailwire-blocking`, in async.
//!
//! This crate is one loop and nothing more: write what the core has to send (each flight in one
//! `write`, TCP_NODELAY on), wait for the server's bytes or the core's next deadline
//! (`tokio::time::sleep_until` in a `select!` with the read), feed back what was read, the close
//! or the timeout, and wrap the socket in TLS when the core asks. Replies are parsed, judged and
//! acted on by the core; this crate never looks at a reply code.
//!
//! - [`Client::connect`] connects (every resolved address in turn, with a connect timeout,
//!   TCP_NODELAY), and drives greeting, EHLO, STARTTLS or implicit TLS, and AUTH.
//! - [`Client::send`] streams a message's content from any [`tokio::io::AsyncRead`] in bounded
//!   memory; [`Client::send_file`] measures a file first and declares its size and 8-bit octets
//!   ([`declare_content`] does it for any content read twice); [`Client::send_bytes`] sends
//!   content in memory; [`Client::send_many`] pipelines several messages; [`Client::verify`],
//!   [`Client::expand`], [`Client::noop`], [`Client::help`], [`Client::quit`].
//! - Outcomes are the core's: a message the server decided on (accepted, partly, refused) is
//!   `Ok(`[`MessageOutcome`]`)`; an [`Error`] means no outcome could be had (a refused call, a
//!   body that could not be read, a session that ended first, a cancelled call).
//! - Every wait is bounded: by the core's per-reply deadline (a server that drips a byte at a
//!   time still times out), by [`mailwire::Timeouts::data_block`] for each write (a stall is
//!   reported to the core with `handle_write_timeout`), and by
//!   [`ClientOptions::connect_timeout`] for name resolution and each connection attempt.
//! - Cancellation is defined: dropping a call's future part-way shuts the socket down at once,
//!   so the server never receives the end of data of a message cut short; every later call
//!   returns [`Error::Cancelled`] (see [`Client`]).
//! - [`Pool`]: at most N connections to one server, shared by many tasks, with idle checks and
//!   the rule that a message whose outcome is unknown is never sent twice.
//! - The transcript ([`mailwire::Config::transcript`]) is logged through the `log` facade at
//!   debug level under the target [`TRANSCRIPT_TARGET`], AUTH exchanges redacted by the core.
//!
//! [`ClientOptions`], [`Error`], [`Transport`], [`TlsError`] and the TLS options are
//! `mailwire-transport`'s, the same types `mailwire-blocking` uses: code that reads an outcome
//! or an error works with either adapter.
//!
//! TLS: configured by [`TlsOptions`]: certificates are verified against the `webpki-roots`
//! roots, or only a PEM CA file's ([`TlsOptions::ca_file`]); a client certificate can be
//! presented ([`TlsOptions::client_certificate`]); the name checked (and sent as SNI) is
//! [`ClientOptions::host`] or [`ClientOptions::tls_name`]. A configuration that cannot be built
//! is a [`Error::TlsConfig`] with a [`TlsConfigError`] naming the file or the name. The
//! handshake's failures reach the core as every adapter reports them: rustls's refusal with
//! `handle_tls_failed`, a connection lost under it with `handle_closed`, its deadline with
//! `handle_timeout`.
//!
//! SCRAM: every [`Client::connect`] draws a fresh client nonce (RFC 5802 9), whatever
//! nonce the options' `Config` carried.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod once;
#[cfg(unix)]
mod pipe;
mod pool;
mod probe;
mod stream;

pub use client::{declare_content, Client, TRANSCRIPT_TARGET};
pub use mailwire::{MessageOutcome, RecipientOutcome, Rejection, Verdict};
pub use once::send_mail;
// Shared with every adapter (`mailwire-blocking` too): what a caller configures and gets back.
pub use mailwire_transport::{
    AddressFamily, ClientCertificate, ClientOptions, Error, NonceError, PemFile, PipeCommand,
    PoolOptions, PoolStats, ProbeReport, ProbeUntil, ProxyHeader, ProxyVersion, TlsConfigError,
    TlsError, TlsInfo, TlsOptions, Transport,
};
pub use pool::Pool;
pub use probe::probe;

pub use mailwire;
pub use tokio_rustls::rustls;

/// Typed messages (feature `builder`): the `mailwire-message` crate. Build an
/// [`Email`](message::Email) and send it with `Client::send_email`.
#[cfg(feature = "builder")]
pub use mailwire_message as message;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The workspace README's examples (the core driven by hand, the blocking and this adapter
/// sending a built message), compiled as doctests: they need the `builder` feature.
#[cfg(all(doctest, feature = "builder"))]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;
