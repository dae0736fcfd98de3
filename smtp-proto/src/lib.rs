//! A sans-IO SMTP (RFC 5321) and LMTP (RFC 2033) client core.
//!
//! This crate never touches a socket, a thread, a file or a clock: the caller feeds it the bytes the
//! server sent and the current time, and takes from it the bytes to send, events and the next
//! deadline. See the crate README and `docs/ARCHITECTURE.md`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;

pub mod address;
pub mod body;
pub mod capability;
pub mod command;
pub mod reply;
pub mod reply_parser;
pub mod sasl;
pub mod secret;
pub mod xtext;

pub use address::{AddressError, ClientName, Domain, Mailbox};
pub use body::{BodyEncoder, ChunkEncoder};
pub use capability::{Capabilities, Extension, SizeLimit};
pub use command::{Command, CommandError};
pub use reply::{Code, EnhancedCode, Reply, Severity};
pub use reply_parser::{Deviations, ParserConfig, ReplyError, ReplyParser, Status};
pub use secret::Secret;

mod client;
pub mod config;
pub mod envelope;
pub mod error;
pub mod event;
pub mod time;

pub use client::Client;
pub use config::{AuthConfig, Config, Limits, Protocol, TlsPolicy};
pub use envelope::{CommandId, Envelope, MessageId, Recipient};
pub use error::{Error, Stage, UsageError};
pub use event::{Direction, Event, Rejection, TranscriptLine};
pub use time::{Timeouts, Timestamp};
