//! `Secret<T>`: a value that never prints.

use core::fmt;

/// A value (a password, a token, an AUTH payload) whose `Debug` and `Display` print `<redacted>`.
///
/// The inner value is reachable only through [`Secret::expose`], so a stray `{:?}` in a log line
/// cannot leak it. When dropped, the buffer is overwritten with zeros through [`Wipe`] (`String`,
/// `Vec<u8>`), spare capacity included.
///
/// Wiping is best effort: it cannot reach copies made before the value was wrapped, nor the old
/// buffer a `Vec` leaves behind when it grows (code in this crate allocates secret buffers at
/// their final size for that reason). `==` is the ordinary, not constant-time, comparison: do not
/// use it to check a secret against one the peer chose.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Wipe>(T);

/// Types whose memory [`Secret`] can wipe on drop.
pub trait Wipe {
    /// Overwrites the value's bytes with zeros.
    fn wipe(&mut self);
}

impl Wipe for alloc::vec::Vec<u8> {
    fn wipe(&mut self) {
        wipe_bytes(self);
        // Bytes past the length may hold an earlier, longer content (after `truncate`).
        for b in self.spare_capacity_mut() {
            b.write(0);
        }
        core::hint::black_box(self.spare_capacity_mut());
        self.clear();
    }
}

impl Wipe for alloc::string::String {
    fn wipe(&mut self) {
        // Zero bytes are valid UTF-8, but `as_mut_vec` is unsafe: take the buffer (no copy, the
        // same allocation) and wipe it as a `Vec`.
        let mut bytes = core::mem::take(self).into_bytes();
        bytes.wipe();
    }
}

/// Overwrites `bytes` with zeros, in a way the optimiser keeps (the result is observed through
/// `black_box`). For stack copies of derived keys that never live in a [`Secret`].
pub(crate) fn wipe_bytes(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        *b = 0;
    }
    core::hint::black_box(bytes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// A secret never prints its value, in either format.
    #[test]
    fn secret_debug_and_display_redact() {
        let secret = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }

    /// Wiping empties the buffer in place (the zeros go to the allocation that held the secret).
    #[test]
    fn wipe_empties_buffer_in_place() {
        let mut bytes: Vec<u8> = Vec::with_capacity(16);
        bytes.extend_from_slice(b"0123456789abcdef");
        bytes.truncate(4);
        bytes.wipe();
        // The bytes themselves cannot be read back without `unsafe`; what is observable is that
        // the buffer is empty and was not reallocated (so the zeros went to the same memory).
        assert!(bytes.is_empty());
        assert_eq!(bytes.capacity(), 16);

        let mut text = String::from("secret");
        text.wipe();
        assert!(text.is_empty());
    }
}
