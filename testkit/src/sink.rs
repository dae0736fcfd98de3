//! Postfix `smtp-sink`, extracted from the Debian postfix package into
//! `$SMTP_PEERS_DIR/postfix`.

use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{
    failed_start, files_by_age, free_port, is_executable, is_root, loopback, peers_dir, tail_files,
    wait_for, wait_listening, ChildGuard, PeerError, TempDir,
};

const PEER: &str = "smtp-sink";

fn postfix_dir() -> PathBuf {
    peers_dir().join("postfix")
}

fn postfix_lib_dir() -> PathBuf {
    postfix_dir().join("usr/lib/postfix")
}

/// Path of Postfix's `smtp-source` load generator, if installed. Run it with
/// `LD_LIBRARY_PATH` set to [`SmtpSink::library_path`].
pub fn smtp_source_path() -> Option<PathBuf> {
    let p = postfix_dir().join("usr/sbin/smtp-source");
    is_executable(&p).then_some(p)
}

/// A `Command` for Postfix's `smtp-source` with `LD_LIBRARY_PATH` set, if
/// installed. Example: `-s 4 -m 2000 -l 1000 -d 127.0.0.1:PORT` sends 2000
/// messages of 1000 bytes over 4 parallel sessions, reusing connections.
pub fn smtp_source_command() -> Option<Command> {
    let mut cmd = Command::new(smtp_source_path()?);
    cmd.env("LD_LIBRARY_PATH", postfix_lib_dir());
    Some(cmd)
}

/// Builder for [`SmtpSink`]. Every option maps to one `smtp-sink` flag.
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkBuilder {
    args: Vec<String>,
    no_pipelining: bool,
    dump: Option<Option<PathBuf>>,
    hostname: Option<String>,
    unix_socket: bool,
}

/// Joins SMTP command names for `-f`, `-r`, `-q`, `-Q`.
fn commands(cmds: &[&str]) -> String {
    cmds.join(",")
}

impl SmtpSinkBuilder {
    fn flag(mut self, on: bool, flag: &str) -> Self {
        if on {
            self.args.push(flag.to_owned());
        }
        self
    }

    fn opt(mut self, flag: &str, value: impl Into<String>) -> Self {
        self.args.push(flag.to_owned());
        self.args.push(value.into());
        self
    }

    /// Announce PIPELINING (default true). `false` adds `-p`. Note that
    /// [`hard_reject`](Self::hard_reject) and [`soft_reject`](Self::soft_reject)
    /// imply `-p`: smtp-sink then never announces PIPELINING.
    pub fn pipelining(mut self, on: bool) -> Self {
        self.no_pipelining = !on;
        self
    }

    /// Announce 8BITMIME (default true); `false` is `-8`.
    pub fn eightbitmime(self, on: bool) -> Self {
        self.flag(!on, "-8")
    }

    /// Announce `AUTH PLAIN LOGIN` (default true); `false` is `-a`. smtp-sink
    /// does not really authenticate: it answers any AUTH command at once with
    /// `250 2.0.0 Ok` (not 235, and no 334 challenge for AUTH LOGIN).
    pub fn auth(self, on: bool) -> Self {
        self.flag(!on, "-a")
    }

    /// Announce DSN (default true); `false` is `-N`.
    pub fn dsn(self, on: bool) -> Self {
        self.flag(!on, "-N")
    }

    /// Announce ENHANCEDSTATUSCODES (default true); `false` is `-E`.
    pub fn enhanced_status_codes(self, on: bool) -> Self {
        self.flag(!on, "-E")
    }

    /// Announce ESMTP at all (default true); `false` is `-e`: EHLO is then
    /// rejected and only HELO works.
    pub fn esmtp(self, on: bool) -> Self {
        self.flag(!on, "-e")
    }

    /// Announce XCLIENT (default true); `false` is `-C`.
    pub fn xclient(self, on: bool) -> Self {
        self.flag(!on, "-C")
    }

    /// Announce XFORWARD (default true); `false` is `-F`.
    pub fn xforward(self, on: bool) -> Self {
        self.flag(!on, "-F")
    }

    /// Speak LMTP instead of SMTP (`-L`): the client must say LHLO, and
    /// smtp-sink answers `.` with one reply per accepted recipient.
    pub fn lmtp(self, on: bool) -> Self {
        self.flag(on, "-L")
    }

    /// Reply with a hard error (5xx, see [`hard_reply`](Self::hard_reply)) to
    /// each of these commands (`-f`). Names: `CONNECT`, `HELO`, `EHLO`,
    /// `LHLO`, `MAIL`, `RCPT`, `VRFY`, `DATA`, `.`, `RSET`, `NOOP`, `QUIT`.
    /// Every use of the command is rejected (e.g. all RCPTs). Implies no
    /// PIPELINING.
    pub fn hard_reject(self, cmds: &[&str]) -> Self {
        self.opt("-f", commands(cmds))
    }

    /// Reply with a soft error (4xx, see [`soft_reply`](Self::soft_reply)) to
    /// each of these commands (`-r`). Implies no PIPELINING.
    pub fn soft_reject(self, cmds: &[&str]) -> Self {
        self.opt("-r", commands(cmds))
    }

    /// The reply used for hard rejects (`-B`), default
    /// `500 5.3.0 Error: command failed`.
    pub fn hard_reply(self, reply: &str) -> Self {
        self.opt("-B", reply)
    }

    /// The reply used for soft rejects (`-b`), default
    /// `450 4.3.0 Error: command failed`.
    pub fn soft_reply(self, reply: &str) -> Self {
        self.opt("-b", reply)
    }

    /// Close the connection without replying after these commands (`-q`).
    pub fn disconnect_after(self, cmds: &[&str]) -> Self {
        self.opt("-q", commands(cmds))
    }

    /// Reply `421` and close the connection after these commands (`-Q`).
    pub fn reply_421_after(self, cmds: &[&str]) -> Self {
        self.opt("-Q", commands(cmds))
    }

    /// After answering DATA with 354, wait `secs` and then send a 550 and
    /// stop reading (`-A`), to test a client that is still sending.
    pub fn abort_after_data(self, secs: u32) -> Self {
        self.opt("-A", secs.to_string())
    }

    /// Wait `secs` before answering DATA (`-w`).
    pub fn data_delay(self, secs: u32) -> Self {
        self.opt("-w", secs.to_string())
    }

    /// Wait `secs` before answering `cmd` (`-W cmd:secs`).
    pub fn command_delay(self, cmd: &str, secs: u32) -> Self {
        self.opt("-W", format!("{cmd}:{secs}"))
    }

    /// Name used in the greeting and HELO/EHLO reply (`-h`), default
    /// `smtp-sink`.
    pub fn hostname(mut self, name: &str) -> Self {
        self.hostname = Some(name.to_owned());
        self
    }

    /// Exit after `n` messages (`-M`).
    pub fn max_messages(self, n: u32) -> Self {
        self.opt("-M", n.to_string())
    }

    /// Exit after `n` sessions (`-n`).
    pub fn max_sessions(self, n: u32) -> Self {
        self.opt("-n", n.to_string())
    }

    /// Per-command read/write timeout in seconds (`-t`, default 100).
    pub fn timeout(self, secs: u32) -> Self {
        self.opt("-t", secs.to_string())
    }

    /// Print running counters to its stdout (`-c`; see
    /// [`SmtpSink::output`]).
    pub fn counters(self, on: bool) -> Self {
        self.flag(on, "-c")
    }

    /// Log the conversations to its stderr (`-v`; see
    /// [`SmtpSink::output`]).
    pub fn verbose(self, on: bool) -> Self {
        self.flag(on, "-v")
    }

    /// Save each message (`-d`) into the sink's own temp folder; read them
    /// with [`SmtpSink::messages`]. Off by default: dumping costs speed.
    pub fn dump(mut self, on: bool) -> Self {
        self.dump = on.then_some(None);
        self
    }

    /// Save each message (`-d`) into `dir`, which is created and made
    /// writable by `nobody` (smtp-sink drops to that user when run as root).
    pub fn dump_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dump = Some(Some(dir.into()));
        self
    }

    /// Listen on a Unix-domain socket (`unix:PATH`) in the sink's own temp folder instead of
    /// TCP; its path is [`SmtpSink::socket_path`]. With [`lmtp`](Self::lmtp), the shape of a
    /// local delivery agent's LMTP socket (Dovecot, Cyrus).
    pub fn unix_socket(mut self, on: bool) -> Self {
        self.unix_socket = on;
        self
    }

    /// Any other smtp-sink argument, passed before the address.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Starts smtp-sink on a free 127.0.0.1 port (or its Unix socket) and waits until it
    /// listens.
    pub fn start(self) -> Result<SmtpSink, PeerError> {
        let bin = SmtpSink::binary_path().ok_or_else(|| PeerError::Missing {
            peer: PEER,
            why: format!("no {}", postfix_dir().join("usr/sbin/smtp-sink").display()),
        })?;
        let dir = TempDir::new("sink")?;
        let dump_dir = match &self.dump {
            None => None,
            Some(None) => Some(dir.shared_subdir("dump")?),
            Some(Some(d)) => {
                fs::create_dir_all(d)?;
                crate::set_mode(d, 0o777)?;
                Some(d.clone())
            }
        };
        let mut last = None;
        for _attempt in 0..3 {
            let port = free_port();
            let stdout = dir.path().join("stdout.log");
            let stderr = dir.path().join("stderr.log");
            let mut cmd = Command::new(&bin);
            cmd.env("LD_LIBRARY_PATH", postfix_lib_dir())
                .stdin(Stdio::null())
                .stdout(File::create(&stdout)?)
                .stderr(File::create(&stderr)?);
            if is_root() {
                cmd.args(["-u", "nobody"]);
            }
            if self.no_pipelining {
                cmd.arg("-p");
            }
            if let Some(h) = &self.hostname {
                cmd.args(["-h", h]);
            }
            if let Some(d) = &dump_dir {
                // The template is expanded with strftime(3): escape '%'.
                let template = format!(
                    "{}/%Y%m%d%H%M%S.",
                    d.display().to_string().replace('%', "%%")
                );
                cmd.args(["-d", &template]);
            }
            cmd.args(&self.args);
            let socket = self.unix_socket.then(|| dir.path().join("smtp.sock"));
            match &socket {
                Some(path) => cmd.arg(format!("unix:{}", path.display())),
                None => cmd.arg(format!("127.0.0.1:{port}")),
            };
            cmd.arg("64");
            let mut child = ChildGuard::spawn(&mut cmd)?;
            let listening = match &socket {
                Some(path) => wait_socket(&mut child, path),
                None => wait_listening(&mut child, port),
            };
            match listening {
                Ok(()) => {
                    return Ok(SmtpSink {
                        child,
                        port: if socket.is_some() { 0 } else { port },
                        socket,
                        dump_dir,
                        dir,
                    })
                }
                Err((why, exited)) => {
                    drop(child);
                    let (error, retry) = failed_start(PEER, why, exited, &[stdout, stderr], 2000);
                    last = Some(error);
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last.expect("at least one attempt"))
    }
}

/// A running Postfix `smtp-sink` on 127.0.0.1, killed on drop.
///
/// Out of the box it announces PIPELINING, 8BITMIME, `AUTH PLAIN LOGIN`,
/// XCLIENT, XFORWARD, ENHANCEDSTATUSCODES and DSN, ends its EHLO reply with
/// a bare `250 ` line, and has no SIZE, CHUNKING, STARTTLS or SMTPUTF8.
/// It accepts every message and throws it away unless dumping is on.
#[derive(Debug)]
pub struct SmtpSink {
    child: ChildGuard,
    /// 0 on a Unix socket.
    port: u16,
    socket: Option<PathBuf>,
    dump_dir: Option<PathBuf>,
    dir: TempDir,
}

/// A message saved by smtp-sink's `-d` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkMessage {
    /// `SMTP`, `ESMTP` or `LMTP` (`X-Client-Proto`).
    pub client_proto: String,
    /// The last HELO/EHLO/LHLO argument (`X-Helo-Args`), if any.
    pub helo: Option<String>,
    /// Everything after `MAIL FROM:` (`X-Mail-Args`), e.g. `<a@b> BODY=8BITMIME`.
    pub mail_args: String,
    /// Everything after `RCPT TO:` for each accepted RCPT (`X-Rcpt-Args`).
    pub rcpt_args: Vec<String>,
    /// The message as received, dot-unstuffed, with **LF** line endings
    /// (smtp-sink writes lines with `\n`); smtp-sink's own headers and the
    /// empty line it appends are removed.
    pub data: Vec<u8>,
}

impl SmtpSink {
    /// A builder with smtp-sink's defaults.
    pub fn builder() -> SmtpSinkBuilder {
        SmtpSinkBuilder::default()
    }

    /// Starts smtp-sink with its defaults.
    pub fn start() -> Result<SmtpSink, PeerError> {
        SmtpSinkBuilder::default().start()
    }

    /// The smtp-sink binary, if installed.
    pub fn binary_path() -> Option<PathBuf> {
        let p = postfix_dir().join("usr/sbin/smtp-sink");
        is_executable(&p).then_some(p)
    }

    /// The `LD_LIBRARY_PATH` the extracted Postfix programs need.
    pub fn library_path() -> PathBuf {
        postfix_lib_dir()
    }

    /// 127.0.0.1:port.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Unix-domain socket it listens on ([`SmtpSinkBuilder::unix_socket`]), if it does
    /// (then it has no port: [`SmtpSink::port`] is 0).
    pub fn socket_path(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs (it exits by itself with `-M`/`-n`).
    pub fn is_running(&mut self) -> bool {
        self.child.exited().is_none()
    }

    /// Where messages are dumped, if dumping is on.
    pub fn dump_dir(&self) -> Option<&Path> {
        self.dump_dir.as_deref()
    }

    /// What smtp-sink printed so far (stdout then stderr): counters with
    /// `-c`, conversations with `-v`, fatal errors.
    pub fn output(&self) -> String {
        tail_files(
            &[
                self.dir.path().join("stdout.log"),
                self.dir.path().join("stderr.log"),
            ],
            1 << 20,
        )
    }

    /// The dumped messages, oldest first (by file time; messages finished
    /// within the same clock tick may come in either order). Errors if
    /// dumping is off.
    pub fn messages(&self) -> io::Result<Vec<SinkMessage>> {
        let dir = self
            .dump_dir
            .as_deref()
            .ok_or_else(|| io::Error::other("smtp-sink was started without dump()/dump_dir()"))?;
        files_by_age(dir, |_| true)?
            .iter()
            .map(|p| fs::read(p).map(|b| parse_dump(&b)))
            .collect()
    }

    /// Waits until at least `n` messages were dumped, at most `timeout`.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> io::Result<Vec<SinkMessage>> {
        wait_for(n, timeout, || self.messages())
    }
}

/// Waits until a socket listens at `path` (read from `/proc/net/unix`, so that no probe
/// connection is made: it would count as a session), or `child` exits, or
/// [`crate::START_TIMEOUT`] passes.
fn wait_socket(child: &mut ChildGuard, path: &Path) -> Result<(), (String, bool)> {
    let deadline = std::time::Instant::now() + crate::START_TIMEOUT;
    loop {
        if let Some(st) = child.exited() {
            return Err((format!("exited with {st}"), true));
        }
        if unix_socket_is_listening(path) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            let why = format!(
                "not listening on {} after {:?}",
                path.display(),
                crate::START_TIMEOUT
            );
            return Err((why, false));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True if a socket listens at `path`: a `/proc/net/unix` line for it with `__SO_ACCEPTCON`
/// (0x10000) in its flags.
pub(crate) fn unix_socket_is_listening(path: &Path) -> bool {
    let want = path.to_string_lossy();
    fs::read_to_string("/proc/net/unix").is_ok_and(|text| {
        text.lines().skip(1).any(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.len() == 8
                && cols[7] == want
                && u32::from_str_radix(cols[3], 16).is_ok_and(|flags| flags & 0x10000 != 0)
        })
    })
}

/// Parses one `-d` dump file (format in smtp-sink(1), "DUMP FILE FORMAT").
fn parse_dump(bytes: &[u8]) -> SinkMessage {
    let mut msg = SinkMessage {
        client_proto: String::new(),
        helo: None,
        mail_args: String::new(),
        rcpt_args: Vec::new(),
        data: Vec::new(),
    };
    let mut rest = bytes;
    // The X- records come first, then a 3-line Received: header.
    let mut received_lines = 0;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
        if received_lines > 0 {
            if received_lines == 3 {
                break;
            }
            received_lines += 1;
        } else if let Some(v) = line.strip_prefix("X-Client-Proto: ") {
            msg.client_proto = v.to_owned();
        } else if let Some(v) = line.strip_prefix("X-Helo-Args: ") {
            msg.helo = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
            msg.mail_args = v.to_owned();
        } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
            msg.rcpt_args.push(v.to_owned());
        } else if line.starts_with("Received: ") {
            received_lines = 1;
        } else if !line.starts_with("X-") {
            break;
        }
        rest = &rest[nl + 1..];
    }
    // smtp-sink appends one empty line after the message.
    let body = rest.strip_suffix(b"\n").unwrap_or(rest);
    msg.data = body.to_vec();
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_dump() {
        let dump = b"X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: x\n\
X-Mail-Args: <a@b> BODY=8BITMIME\nX-Rcpt-Args: <c@d>\nX-Rcpt-Args: <e@f> NOTIFY=NEVER\n\
Received: from x ([127.0.0.1])\n\tby smtp-sink (smtp-sink) with ESMTP id 530e0351;\n\
\tMon, 23 Nov 2026 10:53:31 +0000 (UTC)\nSubject: hi\n\nline1\n.dot\n\n";
        let m = parse_dump(dump);
        assert_eq!(m.client_proto, "ESMTP");
        assert_eq!(m.helo.as_deref(), Some("x"));
        assert_eq!(m.mail_args, "<a@b> BODY=8BITMIME");
        assert_eq!(m.rcpt_args, ["<c@d>", "<e@f> NOTIFY=NEVER"]);
        assert_eq!(m.data, b"Subject: hi\n\nline1\n.dot\n");
    }
}
