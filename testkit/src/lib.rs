//! Real SMTP servers on 127.0.0.1 for tests and benchmarks.
//!
//! Each peer is a real program started as a child process on a loopback port
//! of its own, with its files in a private temporary directory; dropping the
//! handle kills the process and removes the directory. Tests can run in
//! parallel.
//!
//! | type | program | what it is good for |
//! | --- | --- | --- |
//! | [`SmtpSink`] | Postfix `smtp-sink` | fast sink, PIPELINING, LMTP, scripted 4xx/5xx per command |
//! | [`Exim`] | Exim 4 (`exim4 -bdf` / `-bs`) | full MTA: CHUNKING, SMTPUTF8, STARTTLS, AUTH (PLAIN, LOGIN, CRAM-MD5), SIZE |
//! | [`Aiosmtpd`] | Python aiosmtpd (`peers/aiosmtpd_server.py`) | records envelope + bytes; AUTH (PLAIN, LOGIN, SCRAM-SHA-1/-256 by scramp), STARTTLS, implicit TLS |
//! | [`OpenSmtpd`] | OpenBSD `smtpd` | another full MTA (one instance at a time per machine) |
//! | [`Postfix`] | Postfix 3.7 (`master`, `smtpd`, the queue's daemons; needs root) | XCLIENT (220, the session starts over), XFORWARD, ETRN; every message held and read back with `postcat`, with the client it believed |
//!
//! [`Tap`] is no server: a relay in front of one that records what the
//! client sent, for checking what a client did not send.
//!
//! Memory bounds: [`PeakAlloc`] and [`peak_heap`] give the most heap a thread
//! held while it ran some code; [`run_with_rss`] the peak RSS of a child
//! process.
//!
//! The programs are installed by `ci/install-peers.sh`. Where they are is
//! read from the environment:
//!
//! * `SMTP_PEERS_DIR`: folder holding the extracted `postfix/`, `opensmtpd/`
//!   and the `venv/` with aiosmtpd (default `/opt/smtp-peers`).
//! * `SMTP_EXIM`: the Exim binary (default: `exim4`, then `exim`, in `PATH`,
//!   `/usr/sbin`).
//! * `SMTP_PEERS_PYTHON`: a Python with aiosmtpd (default
//!   `$SMTP_PEERS_DIR/venv/bin/python`, then `python3`).
//! * `SMTP_REQUIRE_PEERS=1` (set by CI): a missing peer fails the test
//!   instead of skipping it; see [`peer_or_skip!`].
//!
//! ```no_run
//! use mailwire_testkit::{peer_or_skip, Exim};
//!
//! #[test]
//! fn sends_to_exim() {
//!     let exim = peer_or_skip!(Exim::builder().start());
//!     // ... connect a client to exim.addr() and send a message ...
//!     let msgs = exim.wait_for_messages(1, std::time::Duration::from_secs(5)).unwrap();
//!     assert!(msgs[0].data.ends_with(b"\r\nhello\r\n"));
//! }
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod aiosmtpd;
mod cert;
pub mod connect_cases;
mod dkim;
mod exim;
pub mod hostile;
mod memory;
pub mod mock;
mod opensmtpd;
mod postfix;
pub mod probes;
pub mod raw;
pub mod readme;
mod sink;
mod tap;

pub use aiosmtpd::{Aiosmtpd, AiosmtpdBuilder, AiosmtpdMechanism, AiosmtpdMessage, AiosmtpdProxy};
pub use cert::{TestCert, CLIENT_COMMON_NAME};
pub use dkim::{
    dkimpy_verify, dkimpy_verify_many, dkimpy_verify_or_skip, DKIM_ED25519, DKIM_RSA_PKCS1,
    DKIM_RSA_PKCS8,
};
pub use exim::{Exim, EximBuilder, EximConfig, EximMessage};
pub use memory::{dotted_text, peak_heap, run_with_rss, PeakAlloc, RssRun};
pub use opensmtpd::{OpenSmtpd, OpenSmtpdBuilder, OpenSmtpdMessage};
pub use postfix::{Postfix, PostfixBuilder, PostfixMessage};
pub use sink::{smtp_source_command, smtp_source_path, SinkMessage, SmtpSink, SmtpSinkBuilder};
pub use tap::Tap;

/// How long `start()` waits for a server to accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a peer could not be started.
#[derive(Debug)]
pub enum PeerError {
    /// The program is not installed (run `ci/install-peers.sh`). Tests skip
    /// on this unless `SMTP_REQUIRE_PEERS=1`.
    Missing {
        /// Which peer, e.g. `"exim"`.
        peer: &'static str,
        /// What was looked for and where.
        why: String,
    },
    /// The program is there but did not come up: it exited, or did not
    /// listen within [`START_TIMEOUT`]. `log` holds the tail of its output.
    Startup {
        /// Which peer.
        peer: &'static str,
        /// What went wrong.
        why: String,
        /// Last lines of its stdout/stderr/log files.
        log: String,
    },
    /// Preparing files or spawning failed.
    Io(io::Error),
}

impl PeerError {
    /// True when the peer is simply not installed.
    pub fn is_missing(&self) -> bool {
        matches!(self, PeerError::Missing { .. })
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Missing { peer, why } => {
                write!(
                    f,
                    "{peer} is not installed ({why}); run ci/install-peers.sh"
                )
            }
            PeerError::Startup { peer, why, log } => {
                write!(f, "{peer} did not start: {why}")?;
                if !log.is_empty() {
                    write!(f, "\n--- {peer} output ---\n{log}")?;
                }
                Ok(())
            }
            PeerError::Io(e) => write!(f, "i/o error while starting a peer: {e}"),
        }
    }
}

impl std::error::Error for PeerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PeerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for PeerError {
    fn from(e: io::Error) -> Self {
        PeerError::Io(e)
    }
}

impl From<PeerError> for io::Error {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Io(e) => e,
            PeerError::Missing { .. } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
            other => io::Error::other(other.to_string()),
        }
    }
}

/// True when `SMTP_REQUIRE_PEERS=1`: missing peers must fail tests.
pub fn require_peers() -> bool {
    std::env::var("SMTP_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Used by [`peer_or_skip!`]: panics on anything but a missing peer, and on a
/// missing peer too when [`require_peers`] is set; otherwise prints a
/// `skipped:` line.
#[doc(hidden)]
pub fn skip_or_panic(e: &PeerError) {
    if e.is_missing() && !require_peers() {
        // Written to the stderr handle itself, not through eprintln!, which
        // the test harness captures and hides for passing tests.
        use std::io::Write;
        let _ = writeln!(io::stderr(), "skipped: {e}");
    } else {
        panic!("{e}");
    }
}

/// Unwraps a peer's `start()` result, or skips the calling test.
///
/// `peer_or_skip!(SmtpSink::builder().start())` evaluates to the peer. If
/// the program is not installed, it prints `skipped: ...` and `return`s from
/// the enclosing function (which must return `()`), unless
/// `SMTP_REQUIRE_PEERS=1`, in which case it panics. Any other start-up error
/// panics.
#[macro_export]
macro_rules! peer_or_skip {
    ($start:expr) => {
        match $start {
            ::std::result::Result::Ok(peer) => peer,
            ::std::result::Result::Err(e) => {
                $crate::skip_or_panic(&e);
                return;
            }
        }
    };
}

/// Where `ci/install-peers.sh` put the extracted peers: `SMTP_PEERS_DIR`, or
/// `/opt/smtp-peers`.
pub fn peers_dir() -> PathBuf {
    std::env::var_os("SMTP_PEERS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/smtp-peers"))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding port 0 and closing the listener, so another
/// process may take it before it is used; the `start()` functions retry with
/// a new port when a server fails to bind.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind 127.0.0.1:0")
}

pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Looks for `name` in `PATH` and then in `extra` folders.
pub(crate) fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

pub(crate) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A uniquely named folder under [`std::env::temp_dir`], removed on drop.
///
/// The folder is world-readable (mode 0755) because peers drop privileges to
/// other users (`nobody`, `Debian-exim`) that must reach files in it; use
/// [`TempDir::shared_subdir`] for folders those users must write to.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    /// Creates `$TMPDIR/mailwire-testkit-<prefix>-<pid>-<n>-<nanos>`.
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mailwire-testkit-{prefix}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        fs::create_dir_all(&path)?;
        set_mode(&path, 0o755)?;
        Ok(TempDir { path, keep: false })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` inside with mode 0777, writable by any user.
    pub fn shared_subdir(&self, name: &str) -> io::Result<PathBuf> {
        let p = self.path.join(name);
        fs::create_dir_all(&p)?;
        set_mode(&p, 0o777)?;
        Ok(p)
    }

    /// Keeps the folder after drop (for debugging a failing test).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep && std::env::var_os("SMTP_TESTKIT_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

pub(crate) fn set_mode(p: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
}

/// A child process killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub(crate) struct ChildGuard {
    pub(crate) child: Child,
}

impl ChildGuard {
    pub(crate) fn spawn(cmd: &mut Command) -> io::Result<ChildGuard> {
        Ok(ChildGuard {
            child: cmd.spawn()?,
        })
    }

    /// `Some(status text)` if the process has exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("wait failed: {e}")),
        }
    }

    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Exim forks a process per connection and per delivery; those would
        // outlive the daemon and write into the removed temp folder. Stop
        // the daemon so it forks no more, then kill its descendants and it.
        let pid = self.child.id() as libc::pid_t;
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: plain kill(2) on our own child, which is not yet reaped.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            for d in descendants(pid) {
                // SAFETY: kill(2) with a pid read from /proc just now.
                unsafe { libc::kill(d, libc::SIGKILL) };
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes descended from `root`, found through `/proc/*/stat`.
fn descendants(root: libc::pid_t) -> Vec<libc::pid_t> {
    let mut parent_of: Vec<(libc::pid_t, libc::pid_t)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parens.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// True if something listens on 127.0.0.1:`port` (or the IPv4/IPv6 wildcard),
/// read from `/proc/net/tcp{,6}` so that no probe connection is made (a
/// probe would count as a session in `smtp-sink -n`).
pub fn port_is_listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        fs::read_to_string(f).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let mut cols = line.split_whitespace();
                let local = cols.nth(1).unwrap_or("");
                let state = cols.nth(1).unwrap_or("");
                state == "0A"
                    && local.ends_with(&want)
                    && (local.starts_with("0100007F:")
                        || local.starts_with("00000000:")
                        || local.starts_with("00000000000000000000000000000000:"))
            })
        })
    })
}

/// Waits until `port` listens, `child` exits, or [`START_TIMEOUT`] passes.
/// On failure returns (why, exited?) so callers can retry on another port.
pub(crate) fn wait_listening(child: &mut ChildGuard, port: u16) -> Result<(), (String, bool)> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if port_is_listening(port) {
            // It may be the child, or another process that took our port;
            // in the latter case the child exits with "address in use".
            std::thread::sleep(Duration::from_millis(5));
            if let Some(st) = child.exited() {
                return Err((format!("exited with {st}"), true));
            }
            return Ok(());
        }
        if let Some(st) = child.exited() {
            return Err((format!("exited with {st}"), true));
        }
        if Instant::now() >= deadline {
            return Err((
                format!(
                    "not listening on 127.0.0.1:{port} after {:?}",
                    START_TIMEOUT
                ),
                false,
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A start-up attempt that failed with `why`: the error, with the tail of `logs`, and whether
/// to try again on another port (the server `exited` saying its address was in use).
pub(crate) fn failed_start(
    peer: &'static str,
    why: String,
    exited: bool,
    logs: &[PathBuf],
    max: usize,
) -> (PeerError, bool) {
    let log = tail_files(logs, max);
    let retry = exited && log.contains("in use");
    (PeerError::Startup { peer, why, log }, retry)
}

/// The last `max` bytes of each existing file, with headers, for error text.
pub(crate) fn tail_files(files: &[PathBuf], max: usize) -> String {
    let mut out = String::new();
    for f in files {
        if let Ok(bytes) = fs::read(f) {
            if bytes.is_empty() {
                continue;
            }
            let start = bytes.len().saturating_sub(max);
            out.push_str(&format!("==> {} <==\n", f.display()));
            out.push_str(&String::from_utf8_lossy(&bytes[start..]));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// Files directly in `dir` accepted by `keep`, oldest first (by modification
/// time, then name).
pub(crate) fn files_by_age(dir: &Path, keep: impl Fn(&str) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !keep(&name) || !e.file_type()?.is_file() {
            continue;
        }
        let mtime = e.metadata()?.modified().unwrap_or(UNIX_EPOCH);
        v.push((mtime, e.path()));
    }
    v.sort();
    Ok(v.into_iter().map(|(_, p)| p).collect())
}

/// Calls `read` until it returns at least `n` items or `timeout` passes.
pub(crate) fn wait_for<T>(
    n: usize,
    timeout: Duration,
    mut read: impl FnMut() -> io::Result<Vec<T>>,
) -> io::Result<Vec<T>> {
    let deadline = Instant::now() + timeout;
    loop {
        let v = read()?;
        if v.len() >= n || Instant::now() >= deadline {
            if v.len() >= n {
                return Ok(v);
            }
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("got {} of {n} messages within {timeout:?}", v.len()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
