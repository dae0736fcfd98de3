//! A sans-IO SMTP (RFC 5321) and LMTP (RFC 2033) client core.
//!
//! This crate never touches a socket, a thread, a file or a clock: the caller feeds it the bytes
//! the server sent and the current time, and takes from it the bytes to send, events and the
//! next deadline. It links into any runtime or I/O stack (`mailwire-blocking` and `mailwire-mio` in this
//! workspace are two such adapters of a few hundred lines each).
//!
//! # Layers
//! - The codec: [`ReplyParser`] (incremental, bounded, resumable) and [`Reply`];
//!   [`Capabilities`] from EHLO; [`Command`] and the validated [`Mailbox`], [`Domain`],
//!   [`ClientName`]; [`DataEncoder`] / [`BdatEncoder`] for content; [`sasl`] mechanisms.
//! - The session: [`Client`], a state machine over the codec (greeting, EHLO/HELO/LHLO,
//!   STARTTLS, AUTH, pipelined transactions with DATA or BDAT, timeouts).
//!
//! # Parsing a reply
//! ```
//! use mailwire::{ParserConfig, Reply, ReplyParser, Status};
//!
//! let mut parser = ReplyParser::new(ParserConfig::default());
//! let mut reply = Reply::default();
//! // Any split works: here the reply arrives in two pieces.
//! assert_eq!(parser.parse(b"250-mx.example\r\n250 PIPE", &mut reply), Ok(Status::Partial));
//! assert_eq!(parser.parse(b"LINING\r\n", &mut reply), Ok(Status::Complete { consumed: 8 }));
//! assert_eq!(reply.code().get(), 250);
//! assert_eq!(reply.line(1), Some(&b"PIPELINING"[..]));
//! ```
//!
//! # Encoding a body
//! ```
//! use mailwire::DataEncoder;
//!
//! let mut encoder = DataEncoder::new();
//! let mut wire = Vec::new();
//! // Bare LF becomes CRLF; a line starting with "." is dot-stuffed (RFC 5321 4.5.2), also when
//! // the dot is the first byte of a chunk.
//! encoder.encode(b"Subject: hi\n\nline one\n", &mut wire);
//! encoder.encode(b".hidden\nend", &mut wire);
//! encoder.finish(&mut wire);
//! assert_eq!(wire, b"Subject: hi\r\n\r\nline one\r\n..hidden\r\nend\r\n.\r\n");
//! ```
//!
//! # Driving a session
//! See [`Client`] for a complete send over in-memory bytes, and `docs/ARCHITECTURE.md` for
//! how an adapter moves bytes, time and TLS.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;

pub mod address;
pub mod body;
pub mod capability;
pub mod command;
pub mod outcome;
pub mod proxy;
pub mod reply;
pub mod reply_parser;
pub mod sasl;
pub mod secret;
pub mod xclient;
pub mod xtext;

pub use address::{AddressError, ClientName, Domain, Mailbox};
pub use body::{BdatEncoder, DataEncoder};
pub use capability::{Capabilities, Extension, Keyword, SizeLimit};
pub use command::{Command, CommandError};
pub use reply::{Code, EnhancedCode, Reply, Severity};
pub use reply_parser::{Deviations, ParserConfig, ReplyError, ReplyParser, Status};
pub use secret::Secret;
pub use xclient::Xclient;

mod client;
pub mod config;
pub mod envelope;
pub mod error;
pub mod event;
pub mod time;

pub use client::{Client, ProbeDepth};
pub use config::{AuthConfig, Config, Limits, Milestone, Protocol, TlsPolicy};
pub use envelope::{CommandId, Envelope, MessageId, Recipient};
pub use error::{ConfigError, Error, Stage, UsageError};
pub use event::{Direction, Event, TranscriptLine};
pub use outcome::{Class, MessageOutcome, RecipientOutcome, Rejection, Unsendable, Verdict};

/// The state machine's transition tables (for the test that keeps `docs/ARCHITECTURE.md` in
/// step with them).
#[doc(hidden)]
pub use client::state::{transitions_seen, Transition, PHASE_TABLE, STEP_TABLE};
pub use time::{Timeouts, Timestamp};

/// This crate's README example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

// The workspace README's examples are doctests of mailwire-blocking (with its `builder`
// feature), which has every crate they use.
