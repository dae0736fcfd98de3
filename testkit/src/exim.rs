//! Exim 4 (Debian `exim4-daemon-light`), run with a config file of our own.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::{
    failed_start, files_by_age, find_program, free_port, is_executable, is_root, loopback,
    tail_files, wait_for, wait_listening, ChildGuard, PeerError, TempDir,
};

const PEER: &str = "exim";

/// Where delivered messages go.
#[derive(Debug, Clone)]
enum Delivery {
    /// Maildir in the instance's temp folder.
    OwnDir,
    /// Maildir at this path.
    Dir(PathBuf),
    /// `:blackhole:` redirect: accepted and discarded.
    Blackhole,
}

/// Builder for [`Exim`] / [`EximConfig`].
///
/// Built-in policy, always on:
/// * a recipient whose local part starts with `reject` gets
///   `550 5.1.1 ... recipient rejected` at RCPT; `tempfail` gets
///   `451 4.3.0 ... temporary failure`;
/// * a sender whose local part starts with `reject` gets 550 at MAIL,
///   `tempfail` gets 451;
/// * a message with a header `X-Testkit-Reject:` gets 550 after the final
///   dot, `X-Testkit-Tempfail:` gets 451.
#[derive(Debug, Clone)]
pub struct EximBuilder {
    auth: Option<(String, String)>,
    require_auth: bool,
    tls: Option<(PathBuf, PathBuf)>,
    delivery: Delivery,
    size_limit: Option<u64>,
    dsn: bool,
    prdr: bool,
    pipe_connect: bool,
    extra_main: String,
}

impl Default for EximBuilder {
    fn default() -> Self {
        EximBuilder {
            auth: None,
            require_auth: false,
            tls: None,
            delivery: Delivery::OwnDir,
            size_limit: None,
            dsn: false,
            prdr: false,
            pipe_connect: true,
            extra_main: String::new(),
        }
    }
}

/// Escapes text for use inside an Exim string expansion.
fn expand_escape(s: &str) -> Result<String, PeerError> {
    if s.contains(['\n', '\r', '\0']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "newline or NUL in an exim option",
        )
        .into());
    }
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '\\' | '$' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

impl EximBuilder {
    /// Offers AUTH PLAIN, LOGIN (plaintext authenticator) and CRAM-MD5
    /// (cram_md5 authenticator) for this one user, also on connections
    /// without TLS.
    pub fn auth_user(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Refuse MAIL with `530 5.7.0 Authentication required` until the client
    /// has authenticated.
    pub fn require_auth(mut self, on: bool) -> Self {
        self.require_auth = on;
        self
    }

    /// Offers STARTTLS with this certificate chain and private key (PEM
    /// files; they must be readable by the `Debian-exim` user, as the files
    /// of [`crate::TestCert`] are). Without this, STARTTLS is not advertised.
    pub fn tls(mut self, cert_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Delivers each message into the maildir `dir` (files in `dir/new`).
    /// The default is a maildir in the instance's temp folder; either way
    /// read them with [`EximConfig::messages`].
    pub fn deliver_to_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.delivery = Delivery::Dir(dir.into());
        self
    }

    /// Accepts and discards every message (a `:blackhole:` router). Fastest.
    pub fn blackhole(mut self) -> Self {
        self.delivery = Delivery::Blackhole;
        self
    }

    /// `message_size_limit`: advertised as `SIZE n`; larger messages are
    /// refused (at MAIL when the client declares SIZE, else after DATA).
    /// Exim's default is 50 MiB.
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }

    /// Advertise DSN (`dsn_advertise_hosts = *`). Off by default, as in Exim.
    pub fn dsn(mut self, on: bool) -> Self {
        self.dsn = on;
        self
    }

    /// Advertise PRDR (`prdr_enable`). Off by default.
    pub fn prdr(mut self, on: bool) -> Self {
        self.prdr = on;
        self
    }

    /// Advertise PIPECONNECT (on by default in Debian's build).
    pub fn pipe_connect(mut self, on: bool) -> Self {
        self.pipe_connect = on;
        self
    }

    /// Extra lines for the main section of the config, e.g.
    /// `"smtp_accept_max = 5"`.
    pub fn main_config(mut self, lines: &str) -> Self {
        self.extra_main.push_str(lines);
        self.extra_main.push('\n');
        self
    }

    /// Writes the config and folders without starting a daemon: enough for
    /// [`EximConfig::bs_command`].
    pub fn prepare(self) -> Result<EximConfig, PeerError> {
        let bin = Exim::binary_path().ok_or_else(|| PeerError::Missing {
            peer: PEER,
            why: "no exim4 or exim in PATH, /usr/sbin or $SMTP_EXIM".into(),
        })?;
        let dir = TempDir::new("exim")?;
        let spool = dir.shared_subdir("spool")?;
        let log = dir.shared_subdir("log")?;
        let maildir = match &self.delivery {
            Delivery::OwnDir => Some(dir.shared_subdir("mail")?),
            Delivery::Dir(d) => {
                fs::create_dir_all(d)?;
                crate::set_mode(d, 0o777)?;
                Some(d.clone())
            }
            Delivery::Blackhole => None,
        };
        let user = delivery_user(&bin);
        let config = self.render(dir.path(), &spool, &log, maildir.as_deref(), &user)?;
        let config_path = dir.path().join("exim.conf");
        fs::write(&config_path, config)?;
        Ok(EximConfig {
            bin,
            config_path,
            maildir,
            log_dir: log,
            dir,
        })
    }

    /// Writes the config and starts `exim -bdf` on a free 127.0.0.1 port.
    pub fn start(self) -> Result<Exim, PeerError> {
        self.prepare()?.start()
    }

    fn render(
        &self,
        dir: &Path,
        spool: &Path,
        log: &Path,
        maildir: Option<&Path>,
        user: &str,
    ) -> Result<String, PeerError> {
        let mut c = String::new();
        let w = &mut c;
        let _ = writeln!(w, "# written by mailwire-testkit");
        let _ = writeln!(w, "primary_hostname = exim.test");
        let _ = writeln!(w, "qualify_domain = exim.test");
        let _ = writeln!(w, "spool_directory = {}", spool.display());
        let _ = writeln!(w, "log_file_path = {}/%slog", log.display());
        let _ = writeln!(w, "pid_file_path = {}/exim.pid", dir.display());
        let _ = writeln!(w, "local_interfaces = 127.0.0.1");
        // No DNS, no ident: everything stays on loopback and fast.
        let _ = writeln!(w, "host_lookup =");
        let _ = writeln!(w, "rfc1413_hosts =");
        let _ = writeln!(w, "keep_environment =");
        // Keep messages byte-exact: no Received: header of Exim's own.
        let _ = writeln!(w, "received_header_text =");
        let _ = writeln!(w, "smtp_accept_max = 100");
        let _ = writeln!(w, "smtp_accept_queue_per_connection = 0");
        let _ = writeln!(w, "smtp_receive_timeout = 60s");
        let _ = writeln!(w, "ignore_bounce_errors_after = 0s");
        let _ = writeln!(w, "timeout_frozen_after = 1m");
        if let Some(n) = self.size_limit {
            let _ = writeln!(w, "message_size_limit = {n}");
        }
        let _ = writeln!(
            w,
            "dsn_advertise_hosts = {}",
            if self.dsn { "*" } else { "" }
        );
        let _ = writeln!(w, "prdr_enable = {}", self.prdr);
        let _ = writeln!(
            w,
            "pipelining_connect_advertise_hosts = {}",
            if self.pipe_connect { "*" } else { "" }
        );
        match &self.tls {
            Some((cert, key)) => {
                let _ = writeln!(w, "tls_advertise_hosts = *");
                let _ = writeln!(w, "tls_certificate = {}", cert.display());
                let _ = writeln!(w, "tls_privatekey = {}", key.display());
            }
            None => {
                let _ = writeln!(w, "tls_advertise_hosts =");
            }
        }
        let _ = writeln!(w, "auth_advertise_hosts = *");
        let _ = writeln!(w, "acl_smtp_mail = acl_mail");
        let _ = writeln!(w, "acl_smtp_rcpt = acl_rcpt");
        let _ = writeln!(w, "acl_smtp_data = acl_data");
        w.push_str(&self.extra_main);

        w.push_str("\nbegin acl\n\nacl_mail:\n");
        if self.require_auth {
            w.push_str(
                "  deny message = 530 5.7.0 Authentication required\n       !authenticated = *\n",
            );
        }
        w.push_str(
            "  deny message = 550 5.1.8 <$sender_address>: sender rejected\n\
             \x20      senders = ^reject\n\
             \x20 defer message = 451 4.3.0 <$sender_address>: temporary failure\n\
             \x20       senders = ^tempfail\n\
             \x20 accept\n\n\
             acl_rcpt:\n\
             \x20 deny message = 550 5.1.1 <$local_part@$domain>: recipient rejected\n\
             \x20      local_parts = ^reject\n\
             \x20 defer message = 451 4.3.0 <$local_part@$domain>: temporary failure\n\
             \x20       local_parts = ^tempfail\n\
             \x20 accept\n\n\
             acl_data:\n\
             \x20 deny message = 550 5.7.1 message rejected\n\
             \x20      condition = ${if def:h_X-Testkit-Reject:}\n\
             \x20 defer message = 451 4.3.0 message temporarily rejected\n\
             \x20       condition = ${if def:h_X-Testkit-Tempfail:}\n\
             \x20 accept\n",
        );

        w.push_str("\nbegin routers\n\n");
        match maildir {
            Some(_) => w.push_str("to_maildir:\n  driver = accept\n  transport = to_maildir\n"),
            None => w.push_str("discard:\n  driver = redirect\n  data = :blackhole:\n"),
        }

        w.push_str("\nbegin transports\n\n");
        if let Some(m) = maildir {
            let _ = writeln!(w, "to_maildir:");
            let _ = writeln!(w, "  driver = appendfile");
            let _ = writeln!(w, "  directory = {}", m.display());
            let _ = writeln!(w, "  maildir_format = true");
            let _ = writeln!(w, "  create_directory = true");
            let _ = writeln!(w, "  mode = 0644");
            let _ = writeln!(w, "  user = {user}");
            // One file per message, for all its recipients.
            let _ = writeln!(w, "  batch_max = 1000");
            let _ = writeln!(w, "  use_crlf = true");
            let _ = writeln!(w, "  return_path_add = true");
            let _ = writeln!(w, "  envelope_to_add = true");
            let _ = writeln!(w, "  message_prefix =");
            let _ = writeln!(w, "  message_suffix =");
        }

        w.push_str("\nbegin retry\n\n*  *  F,1m,10s\n");

        if let Some((user, pass)) = &self.auth {
            let u = expand_escape(user)?;
            let p = expand_escape(pass)?;
            let auth = "
begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{\0U\0}}{eq{$auth3}{\0P\0}}}}
  server_set_id = $auth2

login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{\0U\0}}{eq{$auth2}{\0P\0}}}}
  server_set_id = $auth1

cram_md5:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = ${if eq{$auth1}{\0U\0}{\0P\0}fail}
  server_set_id = $auth1
";
            // The escaped texts cannot contain NUL, so the markers are safe.
            w.push_str(&auth.replace("\0P\0", &p).replace("\0U\0", &u));
        }
        Ok(c)
    }
}

/// The user local deliveries run as. When Exim runs as root with `-C`, the
/// receiving process gives up root for good, so the delivery it starts can
/// only run as Exim's own user.
fn delivery_user(bin: &Path) -> String {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        if !is_root() {
            use std::os::unix::fs::MetadataExt;
            return fs::metadata("/proc/self")
                .map(|m| m.uid().to_string())
                .unwrap_or_else(|_| "nobody".into());
        }
        Command::new(bin)
            .args(["-bP", "exim_user"])
            .output()
            .ok()
            .and_then(|o| {
                let s = String::from_utf8_lossy(&o.stdout).into_owned();
                s.split_once('=').map(|(_, v)| v.trim().to_owned())
            })
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "Debian-exim".into())
    })
    .clone()
}

/// An Exim config file with its spool, log and mail folders (removed on
/// drop). Made by [`EximBuilder::prepare`]; also reachable from a running
/// [`Exim`] through `Deref`.
#[derive(Debug)]
pub struct EximConfig {
    bin: PathBuf,
    config_path: PathBuf,
    maildir: Option<PathBuf>,
    log_dir: PathBuf,
    dir: TempDir,
}

/// A message delivered by Exim into the maildir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EximMessage {
    /// The envelope sender (`Return-path:` without the brackets; empty for
    /// the null sender).
    pub return_path: String,
    /// The envelope recipients (`Envelope-to:`).
    pub envelope_to: Vec<String>,
    /// The message bytes as Exim received them (dot-unstuffed, CRLF line
    /// endings); Exim adds no Received: header in this config. Note that
    /// Exim normalises line endings: a bare LF arrives here as CRLF.
    pub data: Vec<u8>,
}

impl EximConfig {
    /// The config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The Exim binary.
    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// `exim -C <config> -odi -bs`: SMTP on the child's stdin/stdout. Exim
    /// treats the input as locally submitted by the calling user (it may then
    /// add missing Message-ID/Date/From headers). `-odi` makes it deliver
    /// before answering the final dot, so that once the child has exited
    /// nothing of it still runs and the messages are all there.
    pub fn bs_command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-C").arg(&self.config_path).args(["-odi", "-bs"]);
        cmd
    }

    /// The maildir messages go to (`None` for [`EximBuilder::blackhole`]).
    pub fn maildir(&self) -> Option<&Path> {
        self.maildir.as_deref()
    }

    /// Exim's main log (`mainlog`) and reject log so far.
    pub fn log(&self) -> String {
        tail_files(
            &[
                self.log_dir.join("mainlog"),
                self.log_dir.join("rejectlog"),
                self.log_dir.join("paniclog"),
            ],
            1 << 20,
        )
    }

    /// The delivered messages, oldest first. Exim delivers just after it
    /// answers the final dot, so use [`EximConfig::wait_for_messages`] right
    /// after sending.
    pub fn messages(&self) -> io::Result<Vec<EximMessage>> {
        let Some(m) = &self.maildir else {
            return Err(io::Error::other("exim was started with blackhole()"));
        };
        let new = m.join("new");
        if !new.exists() {
            return Ok(Vec::new());
        }
        files_by_age(&new, |n| !n.starts_with('.'))?
            .iter()
            .map(|p| fs::read(p).map(|b| parse_delivered(&b)))
            .collect()
    }

    /// Waits until at least `n` messages were delivered, at most `timeout`.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> io::Result<Vec<EximMessage>> {
        wait_for(n, timeout, || self.messages())
    }

    /// Starts `exim -C <config> -bdf` on a free 127.0.0.1 port and waits until
    /// it listens.
    pub fn start(self) -> Result<Exim, PeerError> {
        let mut last = None;
        for _attempt in 0..3 {
            let port = free_port();
            let stdout = self.dir.path().join("daemon.out");
            let mut cmd = Command::new(&self.bin);
            cmd.arg("-C")
                .arg(&self.config_path)
                .arg("-bdf")
                .arg("-oX")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(File::create(&stdout)?)
                .stderr(File::create(&stdout)?);
            let mut child = ChildGuard::spawn(&mut cmd)?;
            match wait_listening(&mut child, port) {
                Ok(()) => {
                    return Ok(Exim {
                        child,
                        port,
                        config: self,
                    })
                }
                Err((why, exited)) => {
                    drop(child);
                    let (error, retry) = failed_start(
                        PEER,
                        why,
                        exited,
                        &[
                            stdout,
                            self.log_dir.join("mainlog"),
                            self.log_dir.join("paniclog"),
                        ],
                        3000,
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

/// Splits the `Return-path:` and `Envelope-to:` headers that the transport
/// puts first off the message.
fn parse_delivered(bytes: &[u8]) -> EximMessage {
    let mut msg = EximMessage {
        return_path: String::new(),
        envelope_to: Vec::new(),
        data: Vec::new(),
    };
    let mut rest = bytes;
    let mut field: Option<(String, String)> = None;
    let finish = |f: Option<(String, String)>, msg: &mut EximMessage| {
        if let Some((name, value)) = f {
            if name.eq_ignore_ascii_case("Return-path") {
                let v = value.trim();
                msg.return_path = v
                    .strip_prefix('<')
                    .and_then(|v| v.strip_suffix('>'))
                    .unwrap_or(v)
                    .to_owned();
            } else {
                msg.envelope_to = value
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect();
            }
        }
    };
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]);
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) && field.is_some() {
            if let Some((_, v)) = field.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':').filter(|(n, _)| {
            n.eq_ignore_ascii_case("Return-path") || n.eq_ignore_ascii_case("Envelope-to")
        }) {
            finish(field.take(), &mut msg);
            field = Some((name.to_owned(), value.to_owned()));
        } else {
            break;
        }
        rest = &rest[nl + 1..];
    }
    finish(field, &mut msg);
    msg.data = rest.to_vec();
    msg
}

/// A running `exim -bdf` on 127.0.0.1, killed on drop (with its folders).
///
/// Advertises SIZE, 8BITMIME, PIPELINING, PIPECONNECT, CHUNKING, SMTPUTF8,
/// and, when configured, STARTTLS and `AUTH PLAIN LOGIN CRAM-MD5`.
/// Everything from [`EximConfig`] is available through `Deref`.
#[derive(Debug)]
pub struct Exim {
    child: ChildGuard,
    port: u16,
    config: EximConfig,
}

impl Exim {
    /// A builder with the defaults: no AUTH, no TLS, delivery into a
    /// maildir of its own.
    pub fn builder() -> EximBuilder {
        EximBuilder::default()
    }

    /// The Exim binary: `$SMTP_EXIM`, else `exim4` or `exim` in `PATH` or
    /// `/usr/sbin`.
    pub fn binary_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("SMTP_EXIM").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(p);
            return is_executable(&p).then_some(p);
        }
        find_program("exim4", &["/usr/sbin", "/usr/local/sbin"])
            .or_else(|| find_program("exim", &["/usr/sbin", "/usr/local/sbin"]))
    }

    /// 127.0.0.1:port.
    pub fn addr(&self) -> SocketAddr {
        loopback(self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config, folders and messages.
    pub fn config(&self) -> &EximConfig {
        &self.config
    }
}

impl std::ops::Deref for Exim {
    type Target = EximConfig;
    fn deref(&self) -> &EximConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_expansion_text() {
        assert_eq!(expand_escape("a$b{c}\\").unwrap(), "a\\$b\\{c\\}\\\\");
        assert!(expand_escape("a\nb").is_err());
    }

    #[test]
    fn splits_envelope_headers() {
        let m = parse_delivered(
            b"Return-path: <a@b>\r\nEnvelope-to: c@d,\r\n\te@f\r\nSubject: x\r\n\r\nhi\r\n",
        );
        assert_eq!(m.return_path, "a@b");
        assert_eq!(m.envelope_to, ["c@d", "e@f"]);
        assert_eq!(m.data, b"Subject: x\r\n\r\nhi\r\n");
    }
}
