//! `Secret<T>`: a value that never prints.

use core::fmt;

/// A value (a password, a token, an AUTH payload) whose `Debug` and `Display` print `<redacted>`.
///
/// The inner value is reachable only through [`Secret::expose`], so a stray `{:?}` in a log line
/// cannot leak it. The buffer is overwritten with zeros when dropped where `T: Zeroize`-like
/// (`String`, `Vec<u8>`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Wipe>(T);

/// Types whose memory [`Secret`] can wipe on drop.
pub trait Wipe {
    /// Overwrites the value's bytes with zeros.
    fn wipe(&mut self);
}

impl Wipe for alloc::vec::Vec<u8> {
    fn wipe(&mut self) {
        for b in self.iter_mut() {
            *b = 0;
        }
        // Keep the optimiser from removing the writes above.
        core::hint::black_box(&*self);
    }
}

impl Wipe for alloc::string::String {
    fn wipe(&mut self) {
        // Safe: zero bytes are valid UTF-8. `as_mut_vec` is unsafe, so take and rebuild instead.
        let mut bytes = core::mem::take(self).into_bytes();
        bytes.wipe();
    }
}

impl<T: Wipe> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value. Call it only where the value is really needed (encoding a command).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Wipe> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T: Wipe> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

impl<T: Wipe> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Wipe> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
