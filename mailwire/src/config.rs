//! Session configuration: who we are, what we insist on, how long we wait, how much we buffer.

use crate::address::ClientName;
use crate::reply_parser::ParserConfig;
use crate::sasl::{Credentials, Mechanism};
use crate::secret::Secret;
use crate::time::Timeouts;
use alloc::string::String;
use alloc::vec::Vec;

/// SMTP (RFC 5321) or LMTP (RFC 2033).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// SMTP: EHLO, HELO fallback, one final reply per message.
    #[default]
    Smtp,
    /// LMTP: LHLO, and after the end of data one reply per accepted recipient (RFC 2033 4.2).
    Lmtp,
}

/// When to use STARTTLS (RFC 3207).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Never send STARTTLS.
    Never,
    /// STARTTLS when offered; go on in plaintext when it is not offered or refused.
    Opportunistic,
    /// STARTTLS must succeed before anything else (AUTH, MAIL) is sent.
    #[default]
    Required,
}

/// Where a probing session stops and says QUIT instead of going on ([`Config::stop_after`]):
/// to learn a server's banner, capabilities, TLS or AUTH without sending a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Milestone {
    /// After the greeting (no EHLO).
    Greeting,
    /// After the first EHLO (or HELO, LHLO) reply: no STARTTLS, no AUTH.
    Hello,
    /// After TLS: STARTTLS and the EHLO after it (or where TLS was skipped or not wanted).
    Tls,
    /// After AUTH (or where no credentials were configured): the session would be ready.
    Auth,
}

/// Authentication settings (RFC 4954).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The credentials.
    pub credentials: Credentials,
    /// The mechanisms the caller allows; empty means any (the strongest both sides support is
    /// used, see [`crate::sasl::choose`]).
    pub mechanisms: Vec<Mechanism>,
    /// Allow PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER on a connection that is not secure. Off by
    /// default: they would send the password or token in the clear.
    pub allow_plaintext: bool,
    /// Randomness for SCRAM's client nonce (at least
    /// [`crate::sasl::SCRAM_MIN_NONCE_LEN`] bytes). The core reads no random source; the
    /// adapters draw a fresh one for every connection (a `Config` cloned for several sessions
    /// must not share one nonce: RFC 5802 9). Empty: SCRAM is not used. Shorter than the
    /// minimum: [`crate::Client::new`] refuses the configuration.
    pub nonce: Vec<u8>,
}

impl AuthConfig {
    /// Credentials with every mechanism allowed, plaintext ones only under TLS.
    pub fn new(credentials: Credentials) -> AuthConfig {
        AuthConfig {
            credentials,
            mechanisms: Vec::new(),
            allow_plaintext: false,
            nonce: Vec::new(),
        }
    }

    /// A user name and password ([`Credentials::Password`], for PLAIN, LOGIN, CRAM-MD5 and
    /// SCRAM), with [`AuthConfig::new`]'s defaults. The password is kept in a [`Secret`]: no
    /// `Debug` shows it.
    ///
    /// ```
    /// let auth = mailwire::AuthConfig::password("alice", "hunter2");
    /// assert!(!format!("{auth:?}").contains("hunter2"));
    /// ```
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> AuthConfig {
        AuthConfig::new(Credentials::Password {
            username: username.into(),
            password: Secret::new(password.into()),
        })
    }
}

/// Buffering limits and pipelining windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Reply parser limits and leniency.
    pub parser: ParserConfig,
    /// Most messages with replies outstanding at once when pipelining (RFC 3030 4.2 lets the
    /// client send whole BDAT messages without waiting). Default 64.
    pub max_messages_in_flight: usize,
    /// Body bytes gathered into one BDAT chunk before it is sent. Default 64 KiB.
    pub bdat_chunk_size: usize,
    /// Bytes the session holds to send (content waiting for the server, and everything not yet
    /// taken by [`crate::Client::poll_transmit`]) beyond which [`crate::Client::write_body`]
    /// takes less than it is offered. Default 256 KiB; never less than two BDAT chunks.
    /// [`crate::Client::send_message_with_body`] is not bounded by it (the caller holds the
    /// whole body already).
    pub body_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            parser: ParserConfig::default(),
            max_messages_in_flight: 64,
            bdat_chunk_size: 64 * 1024,
            body_buffer: 256 * 1024,
        }
    }
}

/// Everything a [`crate::Client`] needs to know before the greeting.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The EHLO/HELO/LHLO argument.
    pub client_name: ClientName,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// STARTTLS policy. Default [`TlsPolicy::Required`] (secure unless the caller says otherwise).
    pub tls: TlsPolicy,
    /// The connection is already encrypted (implicit TLS, port 465, RFC 8314): no STARTTLS, and
    /// plaintext AUTH mechanisms are allowed.
    pub implicit_tls: bool,
    /// Authenticate after EHLO (and TLS).
    pub auth: Option<AuthConfig>,
    /// Per-stage deadlines.
    pub timeouts: Timeouts,
    /// Buffers and windows.
    pub limits: Limits,
    /// Pipeline commands when the server offers PIPELINING (RFC 2920). Default true.
    pub pipelining: bool,
    /// Send content with BDAT when the server offers CHUNKING (RFC 3030). Default true. LMTP
    /// always uses DATA.
    pub chunking: bool,
    /// Fall back to HELO when EHLO is refused with 500/502 (RFC 5321 4.1.4 / 3.2). Default true.
    pub helo_fallback: bool,
    /// Send HELO straight away when the greeting does not mention ESMTP. Default false.
    pub helo_without_esmtp_greeting: bool,
    /// Emit [`crate::Event::Transcript`] for every line sent and received (AUTH redacted).
    /// Default false.
    pub transcript: bool,
    /// With `transcript`, the content too: every line of it as it goes on the wire (stuffed
    /// dots, CRLFs removed, BDAT chunk octets), instead of `<N octets of content>`. Default
    /// false.
    pub transcript_content: bool,
    /// Stop there and say QUIT (a probe: the server's banner, capabilities, TLS, AUTH). Default
    /// `None`: go on to be ready for messages.
    pub stop_after: Option<Milestone>,
    /// Say whom the session speaks for with XCLIENT (Postfix's `XCLIENT_README`): after EHLO
    /// and STARTTLS, before AUTH, then EHLO again. Default `None`. See [`crate::xclient`].
    pub xclient: Option<crate::Xclient>,
}

impl Config {
    /// Defaults: SMTP, TLS required, RFC 5321 timeouts, pipelining and chunking when offered.
    pub fn new(client_name: ClientName) -> Config {
        Config {
            client_name,
            protocol: Protocol::Smtp,
            tls: TlsPolicy::Required,
            implicit_tls: false,
            auth: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            pipelining: true,
            chunking: true,
            helo_fallback: true,
            helo_without_esmtp_greeting: false,
            transcript: false,
            transcript_content: false,
            stop_after: None,
            xclient: None,
        }
    }
}
