//! Typed e-mail messages for the [`mailwire`] SMTP client: from, to, cc, bcc, reply-to, a
//! subject, a text and an HTML body, attachments, inline images and extra header fields, built
//! into RFC 5322 bytes and the SMTP [`Envelope`](mailwire::Envelope) that goes with them.
//!
//! The MIME is written by [`mail-builder`](https://docs.rs/mail-builder): RFC 2047 encoded words
//! for non-ASCII subjects and names, RFC 2231 for non-ASCII file names, quoted-printable or
//! base64 as each part needs, folding. This crate is a thin typed layer over it that checks
//! every input first, so that a message is either built whole or refused with an [`Error`]
//! that names the field: no header injection (CR, LF and NUL are refused in every header
//! value, field names are checked, the fields the message writes itself cannot be added
//! twice), no panics, whatever the input.
//!
//! ```
//! use mailwire_message::{Attachment, Email};
//!
//! let email = Email::builder()
//!     .from("Alice Liddell <alice@example.org>")
//!     .to("bob@example.net")
//!     .cc("Carol <carol@example.net>")
//!     .bcc("archive@example.org")
//!     .subject("Quarterly report")
//!     .text("The figures are attached.")
//!     .html("<p>The figures are attached.</p><img src=\"cid:logo\">")
//!     .inline("logo", Attachment::new("logo.png", b"\x89PNG...".to_vec()))
//!     .attachment(Attachment::new("report.csv", "q,total\n1,100\n"))
//!     .header("X-Mailer", "mailwire")
//!     .build()?;
//!
//! let envelope = email.envelope(); // MAIL FROM:<alice@example.org>, then bob, carol, archive
//! assert_eq!(envelope.recipients.len(), 3);
//! let bytes = email.to_bytes();   // give both to an adapter's send_bytes
//! assert!(bytes.starts_with(b"From: "));
//! # Ok::<(), mailwire_message::Error>(())
//! ```
//!
//! # What is generated
//!
//! - `Date`, at [`EmailBuilder::build`] (or [`EmailBuilder::date`]), and `Message-ID`,
//!   `<unique@domain>` with the From address's domain. An extra header field named Date or
//!   Message-ID replaces the generated one. Both stay fixed for the [`Email`]: sending it again
//!   sends the same message.
//! - `MIME-Version: 1.0`, and every `Content-*` field.
//!
//! # Structure
//!
//! - The body is the text, the HTML, or both as `multipart/alternative` (text first).
//! - Inline parts go with the HTML in `multipart/related`, each with its Content-ID.
//! - Attachments make it `multipart/mixed`: the body, then each attachment with
//!   `Content-Disposition: attachment; filename=…`.
//!
//! # Envelope
//!
//! MAIL FROM is the From mailbox; the RCPTs are To, Cc and Bcc in that order, each mailbox
//! once. Bcc appears in no header field. Reply-To is not a recipient.
//!
//! # DKIM (feature `dkim`)
//!
//! The `dkim` module signs any message, this crate's or raw bytes from elsewhere, with
//! RSA-SHA256 or Ed25519-SHA256 (RFC 6376, RFC 8463): `email.to_signed_bytes(&signer)`, or
//! `signer.sign_message(bytes, time)`; keys from PEM, DER or an Ed25519 seed, and the DNS record
//! to publish for them.
//!
//! # Sending
//!
//! Nothing here is tied to an adapter: `client.send_bytes(email.envelope(), &email.to_bytes())`
//! works with each of them, and their `builder` feature adds `client.send_email(&email)`, which
//! does just that.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod address;
mod attachment;
#[cfg(feature = "dkim")]
pub mod dkim;
mod email;
mod error;
mod header;
mod text;

pub use address::{Address, AddressError, AddressInput};
pub use attachment::Attachment;
pub use email::{Email, EmailBuilder};
pub use error::{Error, Field};
pub use header::HeaderError;
pub use text::TextError;

pub use mailwire;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
