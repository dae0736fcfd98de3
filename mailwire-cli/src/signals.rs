//! SIGINT and SIGTERM for `smtp-bulk` (through [`signal_hook`]; `mailwire-mio` handles no
//! signal): the first sets the run's stop flag (`BulkConfig::stop`), so the run takes no more
//! messages, finishes those in flight and writes a line for every job left; a second ends the
//! process at once, by the signal's default action (no further line is written).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The signals that stop a run.
pub const STOP_SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

/// The stop flag and which signal set it.
pub struct StopSignals {
    /// Set by the first SIGINT or SIGTERM (and by anything else that stops the run, such as
    /// a failed write of an outcome line).
    pub stop: Arc<AtomicBool>,
    /// The number of the last stopping signal received, 0 before any.
    received: Arc<AtomicUsize>,
}

impl StopSignals {
    /// Installs the handlers. Only the first signal is graceful: the handler that ends the
    /// process is armed by it (registered first, so it sees the flag as it was before).
    pub fn install() -> io::Result<StopSignals> {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        for signal in STOP_SIGNALS {
            signal_hook::flag::register_conditional_default(signal, Arc::clone(&armed))?;
            signal_hook::flag::register(signal, Arc::clone(&armed))?;
            signal_hook::flag::register(signal, Arc::clone(&stop))?;
            signal_hook::flag::register_usize(signal, Arc::clone(&received), signal as usize)?;
        }
        Ok(StopSignals { stop, received })
    }

    /// The stopping signal received, if one was.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok(),
        }
    }

    /// The exit status of a run a signal stopped: 128 + its number (130 for SIGINT, 143 for
    /// SIGTERM), as a shell reports a process the signal ended.
    pub fn exit_status(&self) -> Option<u8> {
        self.received().and_then(|n| u8::try_from(128 + n).ok())
    }
}
