//! SASLprep (RFC 4013), the stringprep (RFC 3454) profile SCRAM prepares its user name and
//! password with (RFC 5802 2.2 `Normalize`, 5.1 `n`).
//!
//! The profile: map non-ASCII spaces to U+0020 and drop the characters "commonly mapped to
//! nothing" (RFC 3454 B.1, the soft hyphen among them); NFKC; then refuse prohibited output
//! (controls, private use, non-characters, surrogates, ... RFC 4013 2.3), text that mixes
//! right-to-left with left-to-right characters or does not start and end with the right-to-left
//! one (RFC 3454 6), and code points unassigned in Unicode 3.2 (RFC 3454 A.1).
//!
//! Decisions:
//! - **Both strings are "stored strings"** (RFC 3454 7: unassigned code points refused). RFC
//!   5802 2.2 says so for the password; for the user name 5.1 asks for a "query" (unassigned
//!   allowed), but the `stringprep` crate has only the stored profile, and scramp refuses
//!   unassigned code points in the user name too, so such a name could not log in there anyway.
//!   The refusal happens before anything is sent.
//! - **With the `saslprep` feature** (std) the `stringprep` crate does the work. Printable ASCII
//!   comes back borrowed and unchanged (SASLprep maps it to itself), so the usual credentials
//!   cost nothing. A non-ASCII password passes through that crate's own buffers, which this crate
//!   cannot wipe; the prepared result is wiped like every other secret.
//! - **Without it** (no_std) only ASCII can be prepared, and it is prepared exactly as with the
//!   feature: printable ASCII unchanged, an ASCII control refused (RFC 3454 C.2.1). Anything
//!   else is [`SaslError::SaslprepUnavailable`]: sending the raw UTF-8 would fail against a
//!   server that normalises, or worse, succeed only against one that does not.

use super::SaslError;
use alloc::borrow::Cow;

/// `text` prepared with SASLprep as a stored string, or why it cannot be.
pub(super) fn prepare(text: &str) -> Result<Cow<'_, str>, SaslError> {
    if text.bytes().all(|b| matches!(b, b' '..=b'~')) {
        // SASLprep maps printable ASCII to itself: nothing to do, nothing copied.
        return Ok(Cow::Borrowed(text));
    }
    if text.is_ascii() {
        // An ASCII control (RFC 3454 C.2.1) is prohibited output (RFC 4013 2.3); saying so here
        // keeps ASCII credentials handled the same way with the feature and without.
        return Err(SaslError::SaslprepFailed);
    }
    full(text)
}

#[cfg(feature = "saslprep")]
fn full(text: &str) -> Result<Cow<'_, str>, SaslError> {
    // The crate's error says which rule failed, but may quote the offending character of a
    // password: it is dropped, and only the typed error goes on.
    stringprep::saslprep(text).map_err(|_| SaslError::SaslprepFailed)
}

#[cfg(not(feature = "saslprep"))]
fn full(_: &str) -> Result<Cow<'_, str>, SaslError> {
    Err(SaslError::SaslprepUnavailable)
}
