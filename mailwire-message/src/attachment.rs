//! [`Attachment`]: a file's bytes, its name and its MIME type, attached or shown inline.

use crate::error::Error;
use crate::text::{at_most, is_token, no_line_break, TextError};
use std::path::Path;
use std::sync::Arc;

/// A file to attach (or, given to [`EmailBuilder::inline`](crate::EmailBuilder::inline), an
/// image to show inline): its bytes, its file name (sent as the `filename` parameter,
/// RFC 2231-encoded by mail-builder when it is not ASCII), and its MIME type (given, or guessed
/// from the file name's extension; `application/octet-stream` when it says nothing).
///
/// The bytes arrive exactly: a binary part is base64-encoded, a `text/*` one quoted-printable
/// or base64 whenever 7bit would change it (line ends, NUL, long lines, 8-bit octets).
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub(crate) filename: String,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Arc<[u8]>,
}

/// The name, the type and the size: not the bytes.
impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.data.len())
            .finish()
    }
}

impl Attachment {
    /// `data` under the name `filename`, its type guessed from the name.
    pub fn new(filename: impl Into<String>, data: impl Into<Vec<u8>>) -> Attachment {
        Attachment {
            filename: filename.into(),
            content_type: None,
            data: data.into().into(),
        }
    }

    /// The file at `path`, read now, under its own file name (lossily made UTF-8). Only a
    /// regular file: a device, FIFO or directory (`/dev/zero`, a pipe that never ends) is
    /// [`Error::ReadFile`] with an `InvalidInput` cause, before anything is read.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Attachment, Error> {
        let path = path.as_ref();
        let filename = path
            .file_name()
            .ok_or_else(|| Error::NoFileName {
                path: path.to_path_buf(),
            })?
            .to_string_lossy()
            .into_owned();
        let unreadable = |e: std::io::Error| Error::ReadFile {
            path: path.to_path_buf(),
            source: Arc::new(e),
        };
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(unreadable(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).map_err(unreadable)?;
        Ok(Attachment::new(filename, data))
    }

    /// The MIME type, `type/subtype` (RFC 2045 5.1 tokens, no parameters), instead of the
    /// guess. Checked when the message is built.
    pub fn content_type(mut self, mime_type: impl Into<String>) -> Attachment {
        self.content_type = Some(mime_type.into());
        self
    }

    /// Sent under `filename` instead (its type guessed from it, unless
    /// [`Attachment::content_type`] set one). Checked when the message is built, as a name
    /// from [`Attachment::new`] is.
    pub fn renamed(mut self, filename: impl Into<String>) -> Attachment {
        self.filename = filename.into();
        self
    }

    /// The file name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The MIME type that will be sent: the one given, else the guess from the file name.
    pub fn mime_type(&self) -> String {
        match &self.content_type {
            Some(t) => t.clone(),
            None => mime_guess::from_path(&self.filename)
                .first_or_octet_stream()
                .essence_str()
                .to_string(),
        }
    }

    /// Checks the name and type; the type to send.
    pub(crate) fn check(&self) -> Result<String, Error> {
        let nonempty = |name: &str| match name.is_empty() {
            true => Err(TextError::Empty),
            false => Ok(()),
        };
        nonempty(&self.filename)
            .and_then(|()| no_line_break(&self.filename))
            .and_then(|()| at_most(&self.filename, MAX_FILENAME))
            .map_err(|error| Error::FileName {
                name: self.filename.clone(),
                error,
            })?;
        let mime_type = self.mime_type();
        check_mime_type(&mime_type).map_err(|error| Error::ContentType {
            input: mime_type.clone(),
            error,
        })?;
        Ok(mime_type)
    }
}

/// A file name's most octets: mail-builder folds long ones into RFC 2231 sections, but no mail
/// reader needs more.
const MAX_FILENAME: usize = 255;

/// RFC 6838 4.2: a type or subtype name is at most 127 characters.
const MAX_TYPE_NAME: usize = 127;

/// `type/subtype`, each an RFC 2045 token of at most 127 octets.
pub(crate) fn check_mime_type(mime_type: &str) -> Result<(), TextError> {
    if mime_type.is_empty() {
        return Err(TextError::Empty);
    }
    let Some(slash) = mime_type.find('/') else {
        return Err(TextError::Malformed {
            at: mime_type.len(),
        });
    };
    for (start, name) in [
        (0, &mime_type[..slash]),
        (slash + 1, &mime_type[slash + 1..]),
    ] {
        if name.is_empty() {
            return Err(TextError::Malformed { at: start });
        }
        if let Some((i, byte)) = name.bytes().enumerate().find(|&(_, b)| !is_token(b)) {
            return Err(TextError::InvalidByte {
                byte,
                at: start + i,
            });
        }
        if name.len() > MAX_TYPE_NAME {
            return Err(TextError::TooLong {
                len: name.len(),
                max: MAX_TYPE_NAME,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_and_checks_types() {
        assert_eq!(
            Attachment::new("a.pdf", *b"").mime_type(),
            "application/pdf"
        );
        assert_eq!(Attachment::new("Ä.PNG", *b"").mime_type(), "image/png");
        assert_eq!(
            Attachment::new("noext", *b"").mime_type(),
            "application/octet-stream"
        );
        assert_eq!(
            Attachment::new("a.pdf", *b"")
                .content_type("text/x-mine")
                .mime_type(),
            "text/x-mine"
        );
        assert_eq!(check_mime_type("text/plain"), Ok(()));
        assert_eq!(check_mime_type(""), Err(TextError::Empty));
        assert_eq!(check_mime_type("text"), Err(TextError::Malformed { at: 4 }));
        assert_eq!(check_mime_type("/x"), Err(TextError::Malformed { at: 0 }));
        assert_eq!(
            check_mime_type("text/"),
            Err(TextError::Malformed { at: 5 })
        );
        assert_eq!(
            check_mime_type("text/plain; charset=utf-8"),
            Err(TextError::InvalidByte { byte: b';', at: 10 })
        );
        assert_eq!(
            check_mime_type("text/plain\r\nBcc: x@y"),
            Err(TextError::InvalidByte {
                byte: b'\r',
                at: 10
            })
        );
        assert_eq!(
            check_mime_type("a/b/c"),
            Err(TextError::InvalidByte { byte: b'/', at: 3 })
        );
    }
}
