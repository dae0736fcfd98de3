//! A program spoken to instead of a server ([`mailwire_transport::ClientOptions::pipe`]): its
//! standard input and output are one end of a Unix-domain socket pair
//! ([`PipeCommand::spawn`]), so the session reads and writes with the timeouts it has on a
//! connection (a pipe has none), and the program is always reaped.

use mailwire_transport::PipeCommand;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::process::Child;
use std::time::Duration;

/// The running program and our end of its socket pair.
pub(crate) struct Piped {
    stream: UnixStream,
    child: Child,
    exit_wait: Duration,
}

impl Piped {
    /// Starts `command`.
    pub(crate) fn start(command: &PipeCommand) -> io::Result<Piped> {
        let (stream, child) = command.spawn()?;
        Ok(Piped {
            stream,
            child,
            exit_wait: command.exit_wait,
        })
    }

    /// The program's process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(d)
    }

    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(d)
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}

impl Read for Piped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Piped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Drop for Piped {
    /// Closes the program's input and gives it `exit_wait` to finish (an MTA delivering what
    /// it accepted), then kills it; either way it is waited for ([`PipeCommand::reap`]).
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        PipeCommand::reap(&mut self.child, self.exit_wait);
    }
}
