//! A [mio] driver for the sans-IO [`smtp_proto::Client`]: many SMTP sessions on one thread, and a
//! bulk sender built on it.
//!
//! - [`Driver`] owns a `mio::Poll` and one [`smtp_proto::Client`] per [`mio::Token`]. It opens
//!   non-blocking TCP connections, feeds each session the bytes it receives, writes what the
//!   session has to send when the socket is writable (keeping partial writes, asking for
//!   writability only while output is pending), runs TLS (STARTTLS or implicit) through rustls'
//!   non-blocking API, and sleeps until the earliest session deadline so the core's per-stage
//!   timeouts fire without a timer thread.
//! - [`bulk`] sends a queue of messages over K parallel connections, several messages queued per
//!   connection so the core pipelines them, and gives every message exactly one [`bulk::Outcome`].
//!
//! The adapter stays thin: it never parses a reply or looks at a reply code. What a reply means
//! is the core's business; this crate moves bytes, keeps time and reacts to
//! [`smtp_proto::Event`]s.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod bulk;
mod driver;
mod tls;

pub use driver::{Driver, DriverEvent, TransportError};
pub use mio::Token;
pub use tls::{TlsSetup, TlsSetupError};
