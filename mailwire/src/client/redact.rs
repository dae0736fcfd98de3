//! The session's secrets, in every form they could come back in, and their removal from what a
//! server says before any of it is handed out (events, transcript, errors, outcomes).
//!
//! A server is not trusted with our secrets twice: one that repeats the AUTH payload, the
//! password, or its base64 in a reply text (a 535 that echoes what it got, a debugging relay)
//! would otherwise get it printed by every program that shows a refusal. The forms: the raw
//! password or token; its base64; and every AUTH payload this session sent (the PLAIN and LOGIN
//! payloads, the OAuth strings: base64 of messages that contain the secret). Base64 forms are
//! kept without their `=` padding, so an echo that drops the padding is caught too.

use crate::reply::Reply;
use crate::sasl::{self, Credentials};
use crate::secret::Secret;
use alloc::string::String;
use alloc::vec::Vec;

#[derive(Debug, Default)]
pub(crate) struct Secrets {
    forms: Vec<Secret<Vec<u8>>>,
}

impl Secrets {
    /// The raw secret and its base64, from the configured credentials.
    pub(crate) fn new(credentials: Option<&Credentials>) -> Secrets {
        let mut secrets = Secrets::default();
        let secret = match credentials {
            Some(Credentials::Password { password, .. }) => password.expose().as_bytes(),
            Some(Credentials::OAuth2 { token, .. }) => token.expose().as_bytes(),
            _ => return secrets,
        };
        secrets.add(secret);
        secrets.add_base64_of(secret);
        secrets
    }

    /// Adds a form (ignored when empty or already known).
    fn add(&mut self, form: &[u8]) {
        if form.is_empty() || self.forms.iter().any(|f| f.expose() == form) {
            return;
        }
        self.forms.push(Secret::new(form.to_vec()));
    }

    fn add_base64_of(&mut self, bytes: &[u8]) {
        let encoded = sasl::encode_response(bytes);
        self.add_base64(encoded.expose());
    }

    /// Adds a base64 payload as sent, without its padding.
    pub(crate) fn add_base64(&mut self, encoded: &[u8]) {
        let end = encoded
            .iter()
            .rposition(|&b| b != b'=')
            .map_or(0, |i| i + 1);
        self.add(encoded.get(..end).unwrap_or_default());
    }

    /// Removes every form from the reply's text.
    pub(crate) fn scrub(&self, reply: &mut Reply) {
        for form in &self.forms {
            reply.redact(form.expose());
        }
    }

    /// Removes every form from a text the server chose (a SCRAM `e=` value).
    pub(crate) fn scrub_text(&self, text: &mut String) {
        for form in &self.forms {
            let Ok(needle) = core::str::from_utf8(form.expose()) else {
                continue;
            };
            if text.contains(needle) {
                *text = text.replace(needle, "<redacted>");
            }
        }
    }
}
