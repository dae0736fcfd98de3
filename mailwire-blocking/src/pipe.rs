//! A program spoken to instead of a server ([`mailwire_transport::ClientOptions::pipe`]): its
//! standard input and output are one end of a Unix-domain socket pair, so the session reads
//! and writes with the timeouts it has on a connection (a pipe has none), and the program is
//! always reaped.

use mailwire_transport::PipeCommand;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running program and our end of its socket pair.
pub(crate) struct Piped {
    stream: UnixStream,
    child: Child,
    exit_wait: Duration,
}

impl Piped {
    /// Starts `command` with its standard input and output on the other end of a new socket
    /// pair, its standard error ours.
    pub(crate) fn start(command: &PipeCommand) -> io::Result<Piped> {
        let (ours, theirs) = UnixStream::pair()?;
        let theirs_too = theirs.try_clone()?;
        // `cmd` holds the program's ends until it is dropped at the end of this function, so
        // that only the program has them: its exit is then our end's EOF.
        let mut cmd = Command::new(&command.program);
        cmd.args(&command.args)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_too)))
            .stderr(Stdio::inherit());
        let child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", command.program.display()),
            )
        })?;
        Ok(Piped {
            stream: ours,
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
    /// it accepted), then kills it; either way it is waited for, so no zombie is left.
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        let deadline = Instant::now() + self.exit_wait;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    log::debug!("the program exited: {status}");
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break,
            }
        }
        log::info!("the program did not exit in {:?}: killed", self.exit_wait);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
