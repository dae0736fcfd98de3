//! What every I/O adapter of the sans-IO SMTP client core [`mailwire`] shares, written once:
//! the rustls client configuration, the TLS server name, SCRAM's per-connection nonce, the
//! options and errors the adapters' callers see, the bookkeeping from the core's events to a
//! call's result, and a pool's rules.
//!
//! Nothing here speaks SMTP or touches a socket. An adapter (blocking, mio, an async runtime)
//! owns its connections and its loop; this crate gives each of them the same answers to the
//! questions around the loop:
//!
//! - **Which certificates to trust, and as whom to connect.** [`TlsOptions`] says it (the
//!   `webpki-roots` Mozilla roots, or only the certificates of a PEM CA file; an optional
//!   client certificate; a test-only switch that accepts any certificate; or a whole
//!   `rustls::ClientConfig` of the caller's, used as is). [`TlsSetup`] is the result for one
//!   server: the configuration, built once and shared behind an `Arc` by every connection to
//!   that server, and the server name parsed once ([`parse_server_name`]). Every way this can
//!   fail is a [`TlsConfigError`] naming the file or the name at fault.
//! - **SCRAM's client nonce.** The core reads no random source, so an adapter must hand it a
//!   fresh nonce for every connection: [`renew_nonce`] overwrites the one in a
//!   [`mailwire::Config`] with [`mailwire::sasl::SCRAM_MAX_NONCE_LEN`] bytes from the
//!   operating system (RFC 5802 9: a nonce is for one exchange only).
//! - **A message's content, pulled as the session asks.** [`Content`] is bytes in memory
//!   (shared), a file or a reader; a [`ContentFeed`] offers its bytes to
//!   [`mailwire::Client::write_body`] until the session takes less, and again after
//!   [`mailwire::Event::BodyWanted`], so an adapter holds a bounded number of content bytes per
//!   connection however many messages it queues; [`Feeds`] keeps a connection's queued feeds
//!   in order and says each next move of the adapter's loop ([`FeedStep`]). [`declare_content`] measures content for
//!   `SIZE=` and `BODY=` when [`mailwire::Client::content_facts_wanted`] says it matters.
//! - **What a caller configures and gets back.** [`ClientOptions`] (where to connect, the
//!   session's [`mailwire::Config`], the TLS options, the connect timeout) and [`Error`] (why no
//!   outcome could be had, with the [`Transport`] or [`TlsError`] failure underneath) are the
//!   same in `mailwire-blocking` and `mailwire-tokio`, which re-export them.
//! - **From the core's events to a call's result.** [`Ledger`] files the events (outcomes,
//!   replies, the close) and maps them, with what failed underneath, to the
//!   `Result<MessageOutcome, Error>` a call returns; [`declare_measured`] declares a measured
//!   content's size and 8-bit octets.
//! - **A pool's rules.** [`PoolOptions`], [`IdleAction`] (reuse, check with NOOP, or drop an
//!   idle connection) and [`may_retry`] (never resend a message whose outcome is unknown).
//!
//! ```no_run
//! use mailwire_transport::{renew_nonce, TlsOptions, TlsSetup};
//! use mailwire::{ClientName, Config};
//!
//! // Once per server, shared by every connection to it.
//! let tls = TlsSetup::from_options(&TlsOptions::with_ca_file("ca.pem"), "mail.example.org")?;
//! // Once per connection.
//! let mut config = Config::new(ClientName::parse("client.example")?);
//! renew_nonce(&mut config)?;
//! let conn = tls.connection()?; // a rustls::ClientConnection, for when the core asks for TLS
//! # drop(conn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crypto provider is rustls' `ring`, with rustls' safe default protocol versions (TLS 1.2
//! and 1.3). The `rustls` version is re-exported so adapters and callers name the same one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod content;
mod error;
mod feeds;
mod ledger;
mod nonce;
mod options;
mod pool;
mod probe;
mod tls;

pub use content::{
    declare_content, declare_measured, Content, ContentFeed, Fed, FeedError, SendContentFeed,
    READ_CHUNK,
};
pub use error::{Error, TlsError, Transport};
pub use feeds::{FeedStep, Feeds};
pub use ledger::Ledger;
pub use mailwire::proxy::ProxyVersion;
pub use nonce::{renew_nonce, NonceError};
pub use options::{AddressFamily, ClientOptions, PipeCommand, ProxyHeader};
pub use pool::{may_retry, IdleAction, PoolCounters, PoolOptions, PoolStats};
pub use probe::{probe_stopped, ProbePlan, ProbeReport, ProbeUntil};
pub use tls::{
    negotiated, parse_server_name, ClientCertificate, PemFile, TlsConfigError, TlsInfo, TlsOptions,
    TlsSetup,
};

pub use rustls;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
