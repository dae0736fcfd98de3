//! Memory bounds for tests: the high-water mark of heap bytes a thread holds
//! ([`PeakAlloc`], [`peak_heap`]) and the peak RSS of a child process ([`run_with_rss`]).
//!
//! A test binary that measures the heap installs the allocator itself:
//!
//! ```no_run
//! #[global_allocator]
//! static GLOBAL: mailwire_testkit::PeakAlloc = mailwire_testkit::PeakAlloc;
//!
//! let ((), peak) = mailwire_testkit::peak_heap(|| {
//!     let v = vec![0u8; 1 << 20];
//!     drop(v);
//! });
//! assert!(peak >= 1 << 20);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// A global allocator that, on a thread measuring ([`peak_heap`]), keeps the bytes allocated
/// and not yet freed, and their highest value. Other threads are not counted, so a server
/// thread in the same test does not disturb the figure.
pub struct PeakAlloc;

fn track(delta: i64) {
    // `try_with`: a thread's locals may already be gone while it exits.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = LIVE.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }
    });
}

// SAFETY: each method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the tracking only touches const-initialised thread-locals (no
// allocation).
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as i64);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as i64);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns it with the most heap bytes this thread held at once while it ran,
/// above what it held when `f` started (memory allocated before and freed during `f` lowers
/// the baseline, so the figure is never more than the truth). Needs [`PeakAlloc`] installed
/// as the global allocator; without it the figure is 0.
pub fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ON.with(|on| on.set(true));
    let value = f();
    ON.with(|on| on.set(false));
    (value, PEAK.with(Cell::get).max(0) as usize)
}

/// `n` bytes of text in 78-byte CRLF lines, every tenth starting with a dot (so that the
/// session dot-stuffs as it sends): the body the memory tests send.
pub fn dotted_text(n: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(n);
    let mut line = 0;
    while body.len() < n {
        body.push(if line % 10 == 0 { b'.' } else { b'L' });
        body.extend_from_slice(&[b'x'; 75]);
        body.extend_from_slice(b"\r\n");
        line += 1;
    }
    body.truncate(n);
    body
}

/// What [`run_with_rss`] saw.
#[derive(Debug)]
pub struct RssRun {
    /// Exit code, or minus the signal that ended it.
    pub code: i32,
    /// Peak resident set size (`ru_maxrss`), in KiB.
    pub max_rss_kib: u64,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Whether it was killed at the time limit.
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` to completion (killed after `limit`), and returns its exit, peak RSS and CPU
/// time from `wait4` on its pid (not `RUSAGE_CHILDREN`, which other tests' children would
/// disturb).
///
/// # Errors
/// The command could not be started, or waiting for it failed.
pub fn run_with_rss(mut cmd: Command, limit: Duration) -> io::Result<RssRun> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v);
        }
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut v);
        }
        v
    });
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    // Poll for the exit without reaping it (WNOWAIT), so the pid cannot be reused before a
    // kill at the deadline.
    loop {
        // SAFETY: siginfo_t is plain data; waitid writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child with a valid siginfo pointer.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            )
        };
        // SAFETY: reading the pid field of a siginfo waitid filled (0 while still running).
        if r == 0 && unsafe { info.si_pid() } == pid {
            break;
        }
        if r != 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(io::Error::last_os_error());
        }
        if !timed_out && Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own exited child with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(io::Error::last_os_error());
    }
    // Reaped here: keep `Child`'s drop from waiting again (it does not; forget it anyway).
    std::mem::forget(child);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Ok(RssRun {
        code,
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        timed_out,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}
