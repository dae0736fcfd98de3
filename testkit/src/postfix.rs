//! A whole Postfix (3.7, Debian's build), from the binaries `ci/install-peers.sh` extracts into
//! `$SMTP_PEERS_DIR/postfix`: its `master` with its own configuration and queue in a temporary
//! folder, `smtpd` listening on a free 127.0.0.1 port.
//!
//! It is the real peer for what only Postfix's own server speaks: XCLIENT (answered with 220,
//! the session starting over), XFORWARD, ETRN. Every message it accepts is put on hold
//! (`check_client_access static:HOLD`), so it stays in the queue, where
//! [`Postfix::held`] reads it back with `postcat`: its envelope records carry the client name,
//! address, port and SASL login the server believed, which is what XCLIENT changes.
//!
//! Needs root (Postfix's master does); run as another user, [`PostfixBuilder::start`] says the
//! peer is missing.

use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{
    failed_start, free_port, is_executable, is_root, loopback, peers_dir, wait_for, wait_listening,
    ChildGuard, PeerError, TempDir,
};

const PEER: &str = "postfix";

fn postfix_dir() -> PathBuf {
    peers_dir().join("postfix")
}

fn lib_dir() -> PathBuf {
    postfix_dir().join("usr/lib/postfix")
}

fn daemon_dir() -> PathBuf {
    lib_dir().join("sbin")
}

/// The services `master` runs: the ones an accepted message on hold needs, and the log.
const MASTER_CF: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

/// The queue's folders, with the modes Postfix's `postfix-files` gives them; `maildrop` and
/// `public` belong to the `mail` group.
const QUEUE_DIRS: &[(&str, u32, bool)] = &[
    ("active", 0o700, false),
    ("bounce", 0o700, false),
    ("corrupt", 0o700, false),
    ("defer", 0o700, false),
    ("deferred", 0o700, false),
    ("flush", 0o700, false),
    ("hold", 0o700, false),
    ("incoming", 0o700, false),
    ("private", 0o700, false),
    ("saved", 0o700, false),
    ("trace", 0o700, false),
    ("maildrop", 0o730, true),
    ("public", 0o710, true),
];

/// Builder for [`Postfix`].
#[derive(Debug, Clone, Default)]
pub struct PostfixBuilder {
    main: Vec<String>,
}

impl PostfixBuilder {
    /// A `main.cf` line added after the defaults (a later setting wins), e.g.
    /// `smtpd_authorized_xclient_hosts =` to trust no one with XCLIENT.
    pub fn main_config(mut self, line: &str) -> Self {
        self.main.push(line.to_owned());
        self
    }

    /// Starts Postfix on a free 127.0.0.1 port and waits until it listens.
    pub fn start(self) -> Result<Postfix, PeerError> {
        let master = Postfix::binary_path().ok_or_else(|| PeerError::Missing {
            peer: PEER,
            why: format!("no {}", daemon_dir().join("master").display()),
        })?;
        if !is_root() {
            return Err(PeerError::Missing {
                peer: PEER,
                why: "Postfix's master needs root".into(),
            });
        }
        let (uid, gid) = (
            account_id("/etc/passwd", "nobody")?,
            account_id("/etc/group", "mail")?,
        );
        let mut last = None;
        for _attempt in 0..3 {
            let dir = TempDir::new("postfix")?;
            let port = free_port();
            let etc = dir.path().join("etc");
            let queue = dir.path().join("queue");
            let data = dir.path().join("data");
            for d in [&etc, &queue, &data] {
                fs::create_dir_all(d)?;
            }
            std::os::unix::fs::chown(&data, Some(uid), None)?;
            for &(name, mode, group) in QUEUE_DIRS {
                let d = queue.join(name);
                fs::create_dir(&d)?;
                crate::set_mode(&d, mode)?;
                std::os::unix::fs::chown(&d, Some(uid), group.then_some(gid))?;
            }
            fs::create_dir(queue.join("pid"))?;
            fs::write(etc.join("main.cf"), main_cf(dir.path(), &self.main))?;
            fs::write(
                etc.join("master.cf"),
                format!("127.0.0.1:{port} inet n - n - - smtpd\n{MASTER_CF}"),
            )?;
            let dynamicmaps = postfix_dir().join("usr/share/postfix/dynamicmaps.cf");
            if dynamicmaps.exists() {
                fs::copy(&dynamicmaps, etc.join("dynamicmaps.cf"))?;
            }
            let out = dir.path().join("master.out");
            let mut cmd = Command::new(&master);
            cmd.arg("-d")
                .arg("-c")
                .arg(&etc)
                .env("LD_LIBRARY_PATH", lib_dir())
                .stdin(Stdio::null())
                .stdout(File::create(&out)?)
                .stderr(File::create(dir.path().join("master.err"))?);
            let mut child = ChildGuard::spawn(&mut cmd)?;
            match wait_listening(&mut child, port) {
                Ok(()) => return Ok(Postfix { child, port, dir }),
                Err((why, exited)) => {
                    drop(child);
                    let (error, retry) = failed_start(
                        PEER,
                        why,
                        exited,
                        &[
                            out,
                            dir.path().join("master.err"),
                            dir.path().join("maillog"),
                        ],
                        2000,
                    );
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

/// `main.cf` for an instance in `root`: everyone on 127.0.0.1 may relay and use XCLIENT and
/// XFORWARD, every message is held, the log goes to `root/maillog`.
fn main_cf(root: &Path, extra: &[String]) -> String {
    let r = root.display();
    let p = postfix_dir();
    let p = p.display();
    let mut text = format!(
        "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
meta_directory = {r}/etc
command_directory = {p}/usr/sbin
daemon_directory = {p}/usr/lib/postfix/sbin
shlib_directory = {p}/usr/lib/postfix
mail_owner = nobody
default_privs = daemon
setgid_group = mail
myhostname = postfix.test
mydomain = test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = all
mynetworks = 0.0.0.0/0 [::]/0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_restrictions = check_client_access static:HOLD
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_authorized_xforward_hosts = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
biff = no
maillog_file_prefixes = {r}
maillog_file = {r}/maillog
import_environment = MAIL_CONFIG MAIL_DEBUG TZ LD_LIBRARY_PATH LANG=C
"
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The numeric id of `name` in a passwd- or group-style file.
fn account_id(file: &str, name: &str) -> io::Result<u32> {
    fs::read_to_string(file)?
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
        })
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no {name} in {file}")))
}

/// A message Postfix accepted and holds, as `postcat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostfixMessage {
    /// Its queue id.
    pub queue_id: String,
    /// The envelope sender (empty for `<>`).
    pub sender: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The envelope's `named_attribute` records, in order: `client_name`, `client_address`,
    /// `client_port`, `helo_name`, `sasl_username`, and with XFORWARD `log_client_name` …
    pub attributes: Vec<(String, String)>,
    /// The content as queued, Postfix's `Received:` first, lines ending in LF.
    pub content: String,
}

impl PostfixMessage {
    /// The value of the named attribute record `name`, if there is one.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn parse(queue_id: String, text: &str) -> PostfixMessage {
        let mut m = PostfixMessage {
            queue_id,
            sender: String::new(),
            recipients: Vec::new(),
            attributes: Vec::new(),
            content: String::new(),
        };
        let mut in_content = false;
        for line in text.lines() {
            if line.starts_with("*** ") {
                in_content = line.starts_with("*** MESSAGE CONTENTS");
                continue;
            }
            if in_content {
                m.content.push_str(line);
                m.content.push('\n');
            } else if let Some(v) = line.strip_prefix("sender: ") {
                m.sender = v.to_owned();
            } else if let Some(v) = line.strip_prefix("recipient: ") {
                m.recipients.push(v.to_owned());
            } else if let Some(v) = line.strip_prefix("named_attribute: ") {
                if let Some((n, v)) = v.split_once('=') {
                    m.attributes.push((n.to_owned(), v.to_owned()));
                }
            }
        }
        m
    }
}

/// A running Postfix on 127.0.0.1; its processes are killed and its folder removed on drop.
#[derive(Debug)]
pub struct Postfix {
    child: ChildGuard,
    port: u16,
    dir: TempDir,
}

impl Postfix {
    /// A builder with the defaults above.
    pub fn builder() -> PostfixBuilder {
        PostfixBuilder::default()
    }

    /// Path of the extracted `master`, if installed.
    pub fn binary_path() -> Option<PathBuf> {
        let p = daemon_dir().join("master");
        is_executable(&p).then_some(p)
    }

    /// Where smtpd listens.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The pid of its master.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log so far (`maillog_file`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The messages on hold, oldest first (by queue file time).
    pub fn held(&self) -> io::Result<Vec<PostfixMessage>> {
        let hold = self.dir.path().join("queue/hold");
        let mut files = Vec::new();
        for e in fs::read_dir(&hold)? {
            let e = e?;
            let modified = e.metadata()?.modified()?;
            files.push((modified, e.path()));
        }
        files.sort();
        let postcat = postfix_dir().join("usr/sbin/postcat");
        let mut out = Vec::new();
        for (_, path) in files {
            let run = Command::new(&postcat)
                .env("LD_LIBRARY_PATH", lib_dir())
                .arg("-c")
                .arg(self.dir.path().join("etc"))
                .arg(&path)
                .output()?;
            if !run.status.success() {
                // A queue file still being written; the next read gets it.
                continue;
            }
            let id = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&run.stdout);
            out.push(PostfixMessage::parse(id, &text));
        }
        Ok(out)
    }

    /// Waits until at least `n` messages are on hold, or `timeout` passes.
    pub fn wait_for_held(&self, n: usize, timeout: Duration) -> io::Result<Vec<PostfixMessage>> {
        wait_for(n, timeout, || self.held())
    }
}
