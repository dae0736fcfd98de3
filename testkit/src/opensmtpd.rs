//! OpenSMTPD's `smtpd`, extracted from the Debian opensmtpd package into
//! `$SMTP_PEERS_DIR/opensmtpd`.
//!
//! smtpd has its spool (`/var/spool/smtpd`), control socket
//! (`/run/smtpd.sock`) and helper programs (`/usr/libexec/opensmtpd`)
//! compiled in. Each instance therefore runs in a private mount namespace
//! (`unshare -m`) where folders of its own are bind-mounted over those paths:
//! instances do not see each other and leave nothing behind. This needs
//! root, and the mount points that `ci/install-peers.sh` creates.

use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{
    failed_start, files_by_age, find_program, free_port, is_executable, is_root, loopback,
    peers_dir, set_mode, tail_files, wait_for, wait_listening, ChildGuard, PeerError, TempDir,
};

const PEER: &str = "opensmtpd";

/// Paths smtpd has compiled in, which must exist as mount points.
const MOUNT_POINTS: [&str; 3] = ["/var/spool/smtpd", "/usr/libexec/opensmtpd", "/run"];

fn opensmtpd_dir() -> PathBuf {
    peers_dir().join("opensmtpd")
}

/// Builder for [`OpenSmtpd`].
#[derive(Debug, Clone, Default)]
pub struct OpenSmtpdBuilder {
    size_limit: Option<u64>,
}

impl OpenSmtpdBuilder {
    /// `smtp max-message-size` (advertised as SIZE; default 35 MiB).
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }

    /// Starts `smtpd -d` on a free 127.0.0.1 port and waits until it listens.
    pub fn start(self) -> Result<OpenSmtpd, PeerError> {
        let smtpd = OpenSmtpd::binary_path().ok_or_else(|| PeerError::Missing {
            peer: PEER,
            why: format!("no {}", opensmtpd_dir().join("usr/sbin/smtpd").display()),
        })?;
        if !is_root() {
            return Err(PeerError::Missing {
                peer: PEER,
                why: "needs root, to give smtpd a private mount namespace".into(),
            });
        }
        let unshare =
            find_program("unshare", &["/usr/bin", "/bin"]).ok_or_else(|| PeerError::Missing {
                peer: PEER,
                why: "no unshare(1) (util-linux)".into(),
            })?;
        if let Some(missing) = MOUNT_POINTS.iter().find(|p| !Path::new(p).is_dir()) {
            return Err(PeerError::Missing {
                peer: PEER,
                why: format!("mount point {missing} does not exist"),
            });
        }

        let dir = TempDir::new("opensmtpd")?;
        let spool = dir.path().join("spool");
        fs::create_dir(&spool)?;
        set_mode(&spool, 0o711)?; // smtpd insists on this
        let run = dir.path().join("run");
        fs::create_dir(&run)?;
        let maildir = dir.shared_subdir("mail")?;
        let vusers = dir.path().join("vusers");
        // Every recipient is delivered as the system user nobody.
        fs::write(&vusers, "@ nobody\n")?;

        let mut last = None;
        for _attempt in 0..3 {
            let port = free_port();
            let mut conf = String::new();
            if let Some(n) = self.size_limit {
                conf.push_str(&format!("smtp max-message-size {n}\n"));
            }
            conf.push_str(&format!(
                "table vusers file:{vusers}\n\
                 table rejects {{ \"^reject\" }}\n\
                 listen on 127.0.0.1 port {port} hostname opensmtpd.test\n",
                vusers = vusers.display(),
            ));
            conf.push_str(&format!(
                "action \"deliver\" maildir \"{}\" virtual <vusers>\n",
                maildir.display()
            ));
            conf.push_str(
                "match from any for any rcpt-to regex <rejects> reject\n\
                 match from any for any action \"deliver\"\n",
            );
            let conf_path = dir.path().join("smtpd.conf");
            fs::write(&conf_path, conf)?;

            let script = dir.path().join("run.sh");
            fs::write(
                &script,
                format!(
                    "set -e\n\
                     mount --bind '{run}' /run\n\
                     mount --bind '{spool}' /var/spool/smtpd\n\
                     mount --bind '{libexec}' /usr/libexec/opensmtpd\n\
                     exec '{smtpd}' -d -f '{conf}'\n",
                    run = run.display(),
                    spool = spool.display(),
                    libexec = opensmtpd_dir().join("usr/libexec/opensmtpd").display(),
                    smtpd = smtpd.display(),
                    conf = conf_path.display(),
                ),
            )?;
            let log = dir.path().join("smtpd.log");
            let mut cmd = Command::new(&unshare);
            cmd.args(["-m", "--propagation", "private", "sh"])
                .arg(&script)
                .stdin(Stdio::null())
                .stdout(File::create(&log)?)
                .stderr(File::create(&log)?);
            let mut child = ChildGuard::spawn(&mut cmd)?;
            match wait_listening(&mut child, port) {
                Ok(()) => {
                    return Ok(OpenSmtpd {
                        child,
                        port,
                        maildir,
                        dir,
                    })
                }
                Err((why, exited)) => {
                    drop(child);
                    let (error, retry) = failed_start(PEER, why, exited, &[log], 3000);
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

/// A running OpenSMTPD 6.8 on 127.0.0.1, killed on drop.
///
/// Plain SMTP only: it advertises 8BITMIME, ENHANCEDSTATUSCODES, SIZE, DSN,
/// and **not PIPELINING**: pipelined commands get `500 5.5.1 Invalid
/// command: Pipelining not supported`. No STARTTLS and no AUTH: Debian 12's
/// build fails every TLS handshake under OpenSSL 3 ("EVP lib"), and it
/// offers AUTH only under TLS. Recipients whose local part starts with
/// `reject` get `550 Invalid recipient`.
#[derive(Debug)]
pub struct OpenSmtpd {
    child: ChildGuard,
    port: u16,
    maildir: PathBuf,
    dir: TempDir,
}

/// One delivered copy of a message (OpenSMTPD delivers once per recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSmtpdMessage {
    /// The envelope sender (`Return-Path:` without brackets).
    pub return_path: String,
    /// The recipient of this copy (`Delivered-To:`).
    pub delivered_to: String,
    /// The message with OpenSMTPD's Return-Path, Delivered-To and Received
    /// headers removed. Line endings are **LF**, and OpenSMTPD has added
    /// `Date:` and `Message-ID:` at the end of the header if they were
    /// missing.
    pub data: Vec<u8>,
}

impl OpenSmtpd {
    /// A builder with the defaults.
    pub fn builder() -> OpenSmtpdBuilder {
        OpenSmtpdBuilder::default()
    }

    /// The smtpd binary, if installed.
    pub fn binary_path() -> Option<PathBuf> {
        let p = opensmtpd_dir().join("usr/sbin/smtpd");
        is_executable(&p).then_some(p)
    }

    /// 127.0.0.1:port.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Process id (of smtpd's parent process).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// smtpd's log so far (it runs with `-d`).
    pub fn log(&self) -> String {
        tail_files(&[self.dir.path().join("smtpd.log")], 1 << 20)
    }

    /// The delivered copies, oldest first.
    pub fn messages(&self) -> io::Result<Vec<OpenSmtpdMessage>> {
        let new = self.maildir.join("new");
        if !new.exists() {
            return Ok(Vec::new());
        }
        files_by_age(&new, |n| !n.starts_with('.'))?
            .iter()
            .map(|p| fs::read(p).map(|b| parse_delivered(&b)))
            .collect()
    }

    /// Waits until at least `n` copies were delivered, at most `timeout`.
    pub fn wait_for_messages(
        &self,
        n: usize,
        timeout: Duration,
    ) -> io::Result<Vec<OpenSmtpdMessage>> {
        wait_for(n, timeout, || self.messages())
    }
}

fn parse_delivered(bytes: &[u8]) -> OpenSmtpdMessage {
    let mut msg = OpenSmtpdMessage {
        return_path: String::new(),
        delivered_to: String::new(),
        data: Vec::new(),
    };
    let mut rest = bytes;
    let mut in_received = false;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
        let continues = in_received && line.starts_with([' ', '\t']);
        if in_received && !continues {
            break;
        }
        if let Some(v) = line.strip_prefix("Return-Path: ") {
            msg.return_path = v.trim_matches(['<', '>']).to_owned();
        } else if let Some(v) = line.strip_prefix("Delivered-To: ") {
            msg.delivered_to = v.to_owned();
        } else if line.starts_with("Received: ") {
            in_received = true;
        } else if !continues {
            break;
        }
        rest = &rest[nl + 1..];
    }
    msg.data = rest.to_vec();
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_delivery_headers() {
        let m = parse_delivered(
            b"Return-Path: <a@b>\nDelivered-To: c@d\nReceived: from x (localhost [127.0.0.1])\n\
\tby vm (OpenSMTPD) with ESMTP id 7ce49fdf\n\tfor <c@d>;\n\tMon, 23 Nov 2026 11:15:05 +0000 (UTC)\n\
Subject: hi\nReceived: keep\n\nbody\n",
        );
        assert_eq!(m.return_path, "a@b");
        assert_eq!(m.delivered_to, "c@d");
        assert_eq!(m.data, b"Subject: hi\nReceived: keep\n\nbody\n");
    }
}
