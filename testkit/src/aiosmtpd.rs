//! aiosmtpd (Python) running `peers/aiosmtpd_server.py`, which records every
//! message it accepts.

use std::fs::{self, File};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{
    find_program, is_executable, peers_dir, tail_files, wait_for, ChildGuard, PeerError, TempDir,
    START_TIMEOUT,
};

const PEER: &str = "aiosmtpd";

/// The server script, shipped in this crate and written into each
/// instance's temp folder.
const SCRIPT: &str = include_str!("../peers/aiosmtpd_server.py");

/// A SASL mechanism the aiosmtpd peer can offer (see
/// [`AiosmtpdBuilder::auth_mechanisms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AiosmtpdMechanism {
    /// PLAIN (RFC 4616), aiosmtpd's own.
    Plain,
    /// LOGIN, aiosmtpd's own.
    Login,
    /// SCRAM-SHA-1 (RFC 5802), served by Python's `scramp`.
    ScramSha1,
    /// SCRAM-SHA-256 (RFC 7677), served by Python's `scramp`.
    ScramSha256,
}

impl AiosmtpdMechanism {
    /// The name as advertised in EHLO and recorded in
    /// [`AiosmtpdMessage::auth_mechanism`].
    pub fn name(self) -> &'static str {
        match self {
            AiosmtpdMechanism::Plain => "PLAIN",
            AiosmtpdMechanism::Login => "LOGIN",
            AiosmtpdMechanism::ScramSha1 => "SCRAM-SHA-1",
            AiosmtpdMechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }
}

/// Builder for [`Aiosmtpd`].
#[derive(Debug, Clone, Default)]
pub struct AiosmtpdBuilder {
    auth: Option<(String, String)>,
    auth_required: bool,
    /// `None`: PLAIN and LOGIN.
    mechanisms: Option<Vec<AiosmtpdMechanism>>,
    scram_wrong_signature: bool,
    tls: Option<(PathBuf, PathBuf)>,
    starttls: bool,
    require_starttls: bool,
    implicit_tls: bool,
    client_ca: Option<PathBuf>,
    port: u16,
    host: Option<IpAddr>,
    smtputf8: bool,
    size_limit: Option<u64>,
    proxy_protocol: bool,
}

impl AiosmtpdBuilder {
    /// Accepts this one user, also without TLS; offers AUTH PLAIN and LOGIN
    /// unless [`auth_mechanisms`](Self::auth_mechanisms) says otherwise.
    ///
    /// PLAIN and LOGIN compare the exact bytes. SCRAM keys are derived from
    /// the password after SASLprep (RFC 4013; scramp applies it as RFC 5802
    /// 2.2 asks), so a client must normalise a non-ASCII password the same
    /// way to get in.
    pub fn auth_user(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Exactly the mechanisms to offer for [`auth_user`](Self::auth_user)'s
    /// user (alongside or instead of PLAIN and LOGIN). SCRAM is offered on
    /// plaintext connections too: it never sends the password. Asking for a
    /// SCRAM mechanism when Python's `scramp` is not installed makes
    /// [`start`](AiosmtpdBuilder::start) report the peer as missing.
    pub fn auth_mechanisms(mut self, mechanisms: &[AiosmtpdMechanism]) -> Self {
        self.mechanisms = Some(mechanisms.to_vec());
        self
    }

    /// SCRAM only: the server-final message carries a `v=` of random bytes
    /// (the right length, valid base64) instead of the server signature, and
    /// the server otherwise goes on as if all were well (235 after the
    /// client's empty response). This is what a server that does not know
    /// the password, e.g. a man in the middle, would have to do; a client
    /// must refuse to believe it authenticated (RFC 5802 9).
    pub fn scram_wrong_server_signature(mut self, on: bool) -> Self {
        self.scram_wrong_signature = on;
        self
    }

    /// Refuse MAIL (530) until the client has authenticated.
    pub fn require_auth(mut self, on: bool) -> Self {
        self.auth_required = on;
        self
    }

    /// Certificate chain and key (PEM) for [`starttls`](Self::starttls) or
    /// [`implicit_tls`](Self::implicit_tls).
    pub fn tls(mut self, cert_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Offer STARTTLS (needs [`tls`](Self::tls)).
    pub fn starttls(mut self, on: bool) -> Self {
        self.starttls = on;
        self
    }

    /// Refuse everything but EHLO/NOOP/QUIT/STARTTLS before TLS.
    pub fn require_starttls(mut self, on: bool) -> Self {
        self.require_starttls = on;
        self.starttls |= on;
        self
    }

    /// TLS from the first byte (SMTPS, RFC 8314), needs [`tls`](Self::tls).
    pub fn implicit_tls(mut self, on: bool) -> Self {
        self.implicit_tls = on;
        self
    }

    /// TLS (STARTTLS or implicit) only for a client that presents a certificate this CA
    /// (PEM) signed: the handshake fails without one. The certificate's common name is
    /// recorded ([`AiosmtpdMessage::tls_client_cn`]).
    pub fn require_client_certificate(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(ca_pem.into());
        self
    }

    /// Listen on this port (default 0: one the kernel picks).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listen on this loopback address (default 127.0.0.1): `::1` for IPv6, another address
    /// of 127.0.0.0/8.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Advertise and accept SMTPUTF8.
    pub fn smtputf8(mut self, on: bool) -> Self {
        self.smtputf8 = on;
        self
    }

    /// Expect a PROXY protocol header (version 1 or 2) before the greeting, as a server behind
    /// HAProxy does (aiosmtpd's `proxy_protocol_timeout`); a connection without one is closed.
    /// What it announced is in [`AiosmtpdMessage::proxy`].
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy_protocol = on;
        self
    }

    /// Advertised SIZE and the limit enforced after DATA (default 32 MiB).
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }

    /// Starts the server on a kernel-chosen port of 127.0.0.1 (or of
    /// [`host`](Self::host)) and waits until it listens (it prints `READY <port>`).
    pub fn start(self) -> Result<Aiosmtpd, PeerError> {
        let python = Aiosmtpd::python().ok_or_else(|| PeerError::Missing {
            peer: PEER,
            why: format!(
                "no Python with aiosmtpd: tried $SMTP_PEERS_PYTHON, {}, python3",
                peers_dir().join("venv/bin/python").display()
            ),
        })?;
        if (self.starttls || self.implicit_tls) && self.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "aiosmtpd: starttls/implicit_tls need tls(cert, key)",
            )
            .into());
        }
        let dir = TempDir::new("aiosmtpd")?;
        let out_dir = dir.shared_subdir("messages")?;
        let script = dir.path().join("aiosmtpd_server.py");
        fs::write(&script, SCRIPT)?;
        let stdout = dir.path().join("stdout.log");
        let stderr = dir.path().join("stderr.log");
        let host = self.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["--host", &host.to_string(), "--exit-on-stdin-eof"])
            .args(["--port", &self.port.to_string()])
            .arg("--out-dir")
            .arg(&out_dir)
            .stdin(Stdio::piped())
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?);
        if let Some((u, p)) = &self.auth {
            cmd.args(["--auth-user", u, "--auth-password", p]);
        }
        if let Some(mechanisms) = &self.mechanisms {
            let names: Vec<&str> = mechanisms.iter().map(|m| m.name()).collect();
            cmd.args(["--auth-mechanisms", &names.join(",")]);
        }
        if self.scram_wrong_signature {
            cmd.arg("--scram-wrong-signature");
        }
        if self.auth_required {
            cmd.arg("--auth-required");
        }
        if let Some((c, k)) = &self.tls {
            cmd.arg("--tls-cert").arg(c).arg("--tls-key").arg(k);
        }
        if let Some(ca) = &self.client_ca {
            cmd.arg("--tls-client-ca").arg(ca);
        }
        if self.starttls {
            cmd.arg("--starttls");
        }
        if self.require_starttls {
            cmd.arg("--require-starttls");
        }
        if self.implicit_tls {
            cmd.arg("--implicit-tls");
        }
        if self.smtputf8 {
            cmd.arg("--smtputf8");
        }
        if self.proxy_protocol {
            cmd.arg("--proxy-protocol");
        }
        if let Some(n) = self.size_limit {
            cmd.args(["--size-limit", &n.to_string()]);
        }
        let mut child = ChildGuard::spawn(&mut cmd)?;
        let stdin = child.child.stdin.take();
        let deadline = Instant::now() + START_TIMEOUT;
        let fail = |why: String| PeerError::Startup {
            peer: PEER,
            why,
            log: tail_files(&[stdout.clone(), stderr.clone()], 3000),
        };
        let port = loop {
            let text = fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find_map(|l| l.strip_prefix("READY "))
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break port;
            }
            if let Some(st) = child.exited() {
                // The script says so when an optional Python module (scramp)
                // is not installed: that is a missing peer, not a failure.
                let text = fs::read_to_string(&stdout).unwrap_or_default();
                if let Some(why) = text.lines().find_map(|l| l.strip_prefix("MISSING ")) {
                    return Err(PeerError::Missing {
                        peer: PEER,
                        why: why.to_owned(),
                    });
                }
                return Err(fail(format!("exited with {st}")));
            }
            if Instant::now() >= deadline {
                return Err(fail(format!("no READY line within {START_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(Aiosmtpd {
            child,
            _stdin: stdin,
            addr: SocketAddr::new(host, port),
            out_dir,
            dir,
        })
    }
}

/// A running aiosmtpd on 127.0.0.1 (or the builder's [`host`](AiosmtpdBuilder::host)),
/// killed on drop. It also exits by itself
/// when the test process dies (it watches its stdin).
///
/// Advertises SIZE, 8BITMIME, and when configured SMTPUTF8, `AUTH LOGIN
/// PLAIN` (or the mechanisms chosen, SCRAM among them), STARTTLS. Recipients whose local part starts with `reject` get
/// 550 at RCPT, `tempfail` get 451. It knows no MAIL/RCPT parameters other
/// than SIZE, BODY and SMTPUTF8 (so DSN's RET/ENVID/NOTIFY/ORCPT get 555),
/// and it upper-cases the MAIL parameters it records.
#[derive(Debug)]
pub struct Aiosmtpd {
    child: ChildGuard,
    _stdin: Option<ChildStdin>,
    addr: SocketAddr,
    out_dir: PathBuf,
    dir: TempDir,
}

/// A message recorded by aiosmtpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiosmtpdMessage {
    /// MAIL FROM address (without brackets).
    pub mail_from: String,
    /// MAIL parameters, upper-cased by aiosmtpd (e.g. `BODY=8BITMIME`).
    pub mail_options: Vec<String>,
    /// Accepted RCPT TO addresses, in order.
    pub rcpt_to: Vec<String>,
    /// RCPT parameters for each accepted recipient.
    pub rcpt_options: Vec<Vec<String>>,
    /// True if MAIL had SMTPUTF8.
    pub smtp_utf8: bool,
    /// The login of the authenticated user, if any (for SCRAM, after
    /// SASLprep).
    pub auth_login: Option<String>,
    /// The mechanism that authenticated the session (`"PLAIN"`,
    /// `"SCRAM-SHA-256"`, ...), if any.
    pub auth_mechanism: Option<String>,
    /// True if the session was under TLS.
    pub tls: bool,
    /// The common name of the client certificate presented, if one was.
    pub tls_client_cn: Option<String>,
    /// The client's address and port, as the server saw them.
    pub peer: Option<SocketAddr>,
    /// With [`AiosmtpdBuilder::proxy_protocol`]: the PROXY header the client sent, as aiosmtpd
    /// parsed it.
    pub proxy: Option<AiosmtpdProxy>,
    /// The message exactly as received after dot-unstuffing (CRLF kept,
    /// bare LF kept, nothing added).
    pub data: Vec<u8>,
}

/// A PROXY protocol header as aiosmtpd parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiosmtpdProxy {
    /// 1 or 2.
    pub version: u8,
    /// Version 2's command (`PROXY`, `LOCAL`); `None` for version 1.
    pub command: Option<String>,
    /// The announced source; `None` for UNKNOWN / LOCAL.
    pub source: Option<SocketAddr>,
    /// The announced destination; `None` for UNKNOWN / LOCAL.
    pub destination: Option<SocketAddr>,
}

fn endpoint(addr: &serde_json::Value, port: &serde_json::Value) -> Option<SocketAddr> {
    let ip = addr.as_str()?.parse::<IpAddr>().ok()?;
    let port = u16::try_from(port.as_u64()?).ok()?;
    Some(SocketAddr::new(ip, port))
}

fn proxy(v: &serde_json::Value) -> Option<AiosmtpdProxy> {
    Some(AiosmtpdProxy {
        version: u8::try_from(v["version"].as_u64()?).ok()?,
        command: v["command"].as_str().map(str::to_owned),
        source: endpoint(&v["src_addr"], &v["src_port"]),
        destination: endpoint(&v["dst_addr"], &v["dst_port"]),
    })
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_record(json: &str, dir: &Path) -> io::Result<AiosmtpdMessage> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let eml = v["eml"]
        .as_str()
        .ok_or_else(|| io::Error::other("aiosmtpd record without eml"))?;
    Ok(AiosmtpdMessage {
        mail_from: v["mail_from"].as_str().unwrap_or("").to_owned(),
        mail_options: strings(&v["mail_options"]),
        rcpt_to: strings(&v["rcpt_tos"]),
        rcpt_options: v["rcpt_options"]
            .as_array()
            .map(|a| a.iter().map(strings).collect())
            .unwrap_or_default(),
        smtp_utf8: v["smtp_utf8"].as_bool().unwrap_or(false),
        auth_login: v["auth_login"].as_str().map(str::to_owned),
        auth_mechanism: v["auth_mechanism"].as_str().map(str::to_owned),
        tls: v["tls"].as_bool().unwrap_or(false),
        tls_client_cn: v["tls_client_cn"].as_str().map(str::to_owned),
        peer: v["peer"][0]
            .as_str()
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .zip(v["peer"][1].as_u64().and_then(|p| u16::try_from(p).ok()))
            .map(|(ip, port)| SocketAddr::new(ip, port)),
        proxy: proxy(&v["proxy"]),
        data: fs::read(dir.join(eml))?,
    })
}

impl Aiosmtpd {
    /// A builder: no AUTH, no TLS, no SMTPUTF8.
    pub fn builder() -> AiosmtpdBuilder {
        AiosmtpdBuilder::default()
    }

    /// The Python used: `$SMTP_PEERS_PYTHON`, else the venv made by
    /// `ci/install-peers.sh`, else a `python3` in `PATH` that can import
    /// aiosmtpd.
    pub fn python() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("SMTP_PEERS_PYTHON").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let venv = peers_dir().join("venv/bin/python");
        if is_executable(&venv) {
            return Some(venv);
        }
        let py = find_program("python3", &[])?;
        let ok = Command::new(&py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(py)
    }

    /// Where it listens: 127.0.0.1:port, or the builder's host.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the `NNNNNN.eml` / `NNNNNN.json` files are written.
    pub fn messages_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The server's stdout and stderr so far.
    pub fn output(&self) -> String {
        tail_files(
            &[
                self.dir.path().join("stdout.log"),
                self.dir.path().join("stderr.log"),
            ],
            1 << 20,
        )
    }

    /// The recorded messages, in the order they were accepted.
    pub fn messages(&self) -> io::Result<Vec<AiosmtpdMessage>> {
        let mut names: Vec<String> = fs::read_dir(&self.out_dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let json = fs::read_to_string(self.out_dir.join(n))?;
                parse_record(&json, &self.out_dir)
            })
            .collect()
    }

    /// Waits until at least `n` messages were recorded, at most `timeout`.
    pub fn wait_for_messages(
        &self,
        n: usize,
        timeout: Duration,
    ) -> io::Result<Vec<AiosmtpdMessage>> {
        wait_for(n, timeout, || self.messages())
    }
}
