//! A [mio] driver for the sans-IO [`mailwire::Client`]: many SMTP sessions on one thread, and a
//! bulk sender built on it.
//!
//! - [`Driver`] owns a `mio::Poll` and one [`mailwire::Client`] per [`mio::Token`]. It opens
//!   non-blocking TCP connections, feeds each session the bytes it receives, writes what the
//!   session has to send when the socket is writable (keeping partial writes, asking for
//!   writability only while output is pending), runs TLS (STARTTLS or implicit) through rustls'
//!   non-blocking API, and sleeps until the earliest session deadline so the core's per-stage
//!   timeouts fire without a timer thread.
//! - [`bulk`] sends a queue of messages over K parallel connections, several messages queued per
//!   connection so the core pipelines them, and gives every message exactly one [`bulk::Outcome`].
//!
//! TLS is configured with [`TlsOptions`] and [`TlsSetup`] from `mailwire-transport`, shared with the
//! blocking adapter: build one [`TlsSetup`] per server and hand clones of it to
//! [`Driver::connect`] (or [`bulk::BulkConfig::tls`]); they share one rustls configuration.
//!
//! The adapter stays thin: it never parses a reply or looks at a reply code. What a reply means
//! is the core's business; this crate moves bytes, keeps time and reacts to
//! [`mailwire::Event`]s.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod bulk;
mod driver;
pub mod rate;

pub use driver::{Driver, DriverEvent, TransportError, TRANSCRIPT_TARGET};
pub use mio::Token;
// TLS configuration is shared with the other adapters: one way to build it, one error.
pub use mailwire_transport::{
    ClientCertificate, NonceError, PemFile, ProxyHeader, ProxyVersion, TlsConfigError, TlsInfo,
    TlsOptions, TlsSetup,
};

pub use rustls;
