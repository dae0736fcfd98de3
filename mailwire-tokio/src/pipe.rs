//! A program spoken to instead of a server ([`mailwire_transport::ClientOptions::pipe`]), as in
//! `mailwire-blocking`: its standard input and output are one end of a Unix-domain socket pair
//! ([`PipeCommand::spawn`], ours registered with tokio), and it is always reaped, off the
//! runtime's threads.

use mailwire_transport::PipeCommand;
use std::io;
use std::pin::Pin;
use std::process::Child;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;

/// The running program and our end of its socket pair.
pub(crate) struct Piped {
    stream: UnixStream,
    child: Option<Child>,
    exit_wait: Duration,
}

impl Piped {
    /// Starts `command` with its standard input and output on the other end of a new socket
    /// pair, its standard error ours.
    pub(crate) fn start(command: &PipeCommand) -> io::Result<Piped> {
        let (ours, child) = command.spawn()?;
        let stream = ours
            .set_nonblocking(true)
            .and_then(|()| UnixStream::from_std(ours));
        match stream {
            Ok(stream) => Ok(Piped {
                stream,
                child: Some(child),
                exit_wait: command.exit_wait,
            }),
            Err(e) => {
                // Reap what was started before giving up.
                reap(child, Duration::ZERO);
                Err(e)
            }
        }
    }

    /// The program's process id.
    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Our end, for a shutdown from synchronous code.
    pub(crate) fn socket(&self) -> &UnixStream {
        &self.stream
    }
}

impl AsyncRead for Piped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Piped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl Drop for Piped {
    /// Closes the program's input; a program still running is given `exit_wait` to finish (an
    /// MTA delivering what it accepted) and then killed, on a thread of its own, so that no
    /// runtime thread waits for it; either way it is reaped.
    fn drop(&mut self) {
        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Both);
        if let Some(child) = self.child.take() {
            reap(child, self.exit_wait);
        }
    }
}

/// [`PipeCommand::reap`] at once when `child` has exited, else on a thread of its own.
fn reap(mut child: Child, wait: Duration) {
    if let Ok(Some(status)) = child.try_wait() {
        log::debug!("the program exited: {status}");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("mailwire-pipe-reaper".into())
        .spawn(move || PipeCommand::reap(&mut child, wait));
    if let Err(e) = spawned {
        log::warn!("no thread to reap the program ({e}): it is left to exit on its own");
    }
}
