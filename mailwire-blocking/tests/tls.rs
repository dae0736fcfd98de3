//! STARTTLS (RFC 3207) and implicit TLS (RFC 8314) against a scripted server that speaks TLS
//! through rustls, with certificates made by rcgen: trusted through a CA file, untrusted,
//! wrong name, IP address SAN, verification turned off, and the STARTTLS injection attack.

mod support;

use mailwire_blocking::mailwire::{ClientName, Error, TlsPolicy};
use mailwire_blocking::{
    Client, ClientOptions, Error as BlockingError, PemFile, TlsConfigError, TlsError, Transport,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(10);

/// A test CA and a server certificate it signed for `names`.
struct Pki {
    ca_file: PathBuf,
    server: Arc<ServerConfig>,
}

fn pki(tag: &str, names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "mailwire-blocking-tls-{}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let certs: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let server =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    Pki {
        ca_file,
        server: Arc::new(server),
    }
}

/// Line I/O over any stream (here: TLS).
struct Lines<S: Read + Write>(BufReader<S>);

impl<S: Read + Write> Lines<S> {
    fn send(&mut self, s: &str) {
        let _ = self.0.get_mut().write_all(s.as_bytes());
        let _ = self.0.get_mut().flush();
    }
    fn expect(&mut self, prefix: &str) -> String {
        let mut buf = Vec::new();
        let _ = self.0.read_until(b'\n', &mut buf);
        let l = String::from_utf8_lossy(&buf).trim_end().to_string();
        assert!(
            l.to_ascii_uppercase().starts_with(prefix),
            "expected {prefix:?}, got {l:?}"
        );
        l
    }
    fn data(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.0.read_until(b'\n', &mut line).unwrap_or(0) == 0 || line == b".\r\n" {
                return wire;
            }
            wire.extend_from_slice(&line);
        }
    }
}

fn tls_accept(
    config: Arc<ServerConfig>,
    tcp: TcpStream,
) -> Lines<StreamOwned<ServerConnection, TcpStream>> {
    let conn = ServerConnection::new(config).unwrap();
    Lines(BufReader::new(StreamOwned::new(conn, tcp)))
}

/// After the TLS handshake: EHLO, then one message; returns its wire content.
fn serve_message_over_tls<S: Read + Write>(s: &mut Lines<S>, greet: bool) -> Vec<u8> {
    if greet {
        s.send("220 mock.test ESMTP\r\n");
    }
    s.expect("EHLO");
    s.send("250-mock.test\r\n250 PIPELINING\r\n");
    s.expect("MAIL FROM");
    s.expect("RCPT TO");
    s.expect("DATA");
    s.send("250 ok\r\n250 ok\r\n354 go\r\n");
    let wire = s.data();
    s.send("250 2.0.0 queued over TLS\r\n");
    s.expect("QUIT");
    s.send("221 bye\r\n");
    wire
}

fn starttls_mock(config: Arc<ServerConfig>) -> Mock<Vec<u8>> {
    Mock::start(move |peer| {
        peer.hello(&["PIPELINING", "STARTTLS"]);
        peer.expect("STARTTLS");
        peer.send("220 2.0.0 Ready to start TLS\r\n");
        let mut tls = tls_accept(config, peer.stream.try_clone().unwrap());
        serve_message_over_tls(&mut tls, false)
    })
}

fn tls_options(host: &str, port: u16, pki: &Pki) -> ClientOptions {
    let mut o = ClientOptions::new(host, port, ClientName::parse("client.test").unwrap());
    o.config.tls = TlsPolicy::Required;
    o.config.timeouts = mailwire_blocking::mailwire::Timeouts::uniform(T);
    o.tls.ca_file = Some(pki.ca_file.clone());
    o
}

/// RFC 3207: STARTTLS, the handshake against a CA file, EHLO again, the message inside TLS;
/// the certificate's IP address SAN is checked for a server given as 127.0.0.1.
#[test]
fn starttls_required_with_ca_file_and_ip_san() {
    let pki = pki("starttls", &["localhost", "127.0.0.1"]);
    let mock = starttls_mock(pki.server.clone());
    let mut client = Client::connect(tls_options("127.0.0.1", mock.port, &pki)).unwrap();
    assert!(client.is_secure());
    let report = client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"secret\r\n")
        .unwrap();
    assert!(report
        .final_reply()
        .unwrap()
        .text_lossy()
        .contains("over TLS"));
    client.quit().unwrap();
    assert_eq!(mock.join(), b"secret\r\n");
}

/// RFC 8314: implicit TLS, the greeting inside TLS; by host name `localhost` (every resolved
/// address is tried: only 127.0.0.1 listens).
#[test]
fn implicit_tls_by_host_name() {
    let pki = pki("implicit", &["localhost"]);
    let config = pki.server.clone();
    let mock = Mock::start(move |peer| {
        let mut tls = tls_accept(config, peer.stream.try_clone().unwrap());
        serve_message_over_tls(&mut tls, true)
    });
    let mut o = tls_options("localhost", mock.port, &pki);
    o.config.implicit_tls = true;
    let mut client = Client::connect(o).unwrap();
    assert!(client.is_secure());
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"hi\r\n")
        .unwrap();
    client.quit().unwrap();
    assert_eq!(mock.join(), b"hi\r\n");
}

/// A certificate from an unknown CA is refused (web PKI roots by default); so is one for
/// another name; nothing is sent inside the failed TLS.
#[test]
fn untrusted_or_wrong_name_certificate_refused() {
    for (tag, names, use_ca) in [
        ("unknown-ca", &["127.0.0.1"][..], false),
        ("wrong-name", &["mail.example.org"][..], true),
    ] {
        let pki = pki(tag, names);
        let config = pki.server.clone();
        let mock = Mock::start(move |peer| {
            peer.hello(&["STARTTLS"]);
            peer.expect("STARTTLS");
            peer.send("220 go\r\n");
            let mut tls = tls_accept(config, peer.stream.try_clone().unwrap());
            // The handshake fails: the client's alert ends it.
            let mut buf = Vec::new();
            let _ = tls.0.read_to_end(&mut buf);
            buf
        });
        let mut o = tls_options("127.0.0.1", mock.port, &pki);
        if !use_ca {
            o.tls.ca_file = None;
        }
        let err = Client::connect(o).unwrap_err();
        assert!(
            matches!(
                &err,
                BlockingError::Session { cause: Some(cause), .. }
                    if matches!(
                        &**cause,
                        Transport::Tls(TlsError::Rustls(rustls::Error::InvalidCertificate(_)))
                    )
            ),
            "{tag}: {err:?}"
        );
        assert!(mock.join().is_empty(), "{tag}: plaintext leaked");
    }
}

/// `danger_accept_invalid_certs` accepts a certificate nobody vouches for.
#[test]
fn danger_accept_invalid_certs_accepts_anything() {
    let pki = pki("danger", &["mail.example.org"]);
    let mock = starttls_mock(pki.server.clone());
    let mut o = tls_options("127.0.0.1", mock.port, &pki);
    o.tls.ca_file = None;
    o.tls.danger_accept_invalid_certs = true;
    let mut client = Client::connect(o).unwrap();
    client
        .send_bytes(envelope("a@example.org", &["b@example.net"]), b"x\r\n")
        .unwrap();
    client.quit().unwrap();
    mock.join();
}

/// CVE-2011-0411: bytes sent after the 220 to STARTTLS, before the handshake, are an injection
/// attempt: the session ends and no TLS is started.
#[test]
fn starttls_response_injection_refused() {
    let pki = pki("inject", &["127.0.0.1"]);
    let mock = Mock::start(|peer| {
        peer.hello(&["STARTTLS"]);
        peer.expect("STARTTLS");
        peer.send("220 go ahead\r\n250-injected\r\n250 OK\r\n");
        peer.drain()
    });
    let err = Client::connect(tls_options("127.0.0.1", mock.port, &pki)).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::Session {
                error: Error::BytesAfterStartTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(mock.join().is_empty(), "no ClientHello may follow");
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The CA file must exist: the error names it and what it was for, before any connection.
#[test]
fn bad_ca_file() {
    let wire = Tripwire::new();
    let mut o = ClientOptions::new(
        "127.0.0.1",
        wire.port,
        ClientName::parse("client.test").unwrap(),
    );
    o.tls.ca_file = Some("/nonexistent/ca.pem".into());
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(
            &err,
            BlockingError::TlsConfig(TlsConfigError::Unreadable {
                file: PemFile::CaCertificates,
                path,
                ..
            }) if path.to_str() == Some("/nonexistent/ca.pem")
        ),
        "{err:?}"
    );
    assert!(!wire.was_connected(), "connected despite the bad CA file");
}

/// A CA file with no certificate in it (here, a private key) is refused as such.
#[test]
fn ca_file_without_a_certificate() {
    let pki = pki("nocert", &["127.0.0.1"]);
    let key_only = pki.ca_file.with_file_name("key-only.pem");
    std::fs::write(&key_only, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let mut o = ClientOptions::new(
        "127.0.0.1",
        unused_port(),
        ClientName::parse("client.test").unwrap(),
    );
    o.tls.ca_file = Some(key_only);
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(
            err,
            BlockingError::TlsConfig(TlsConfigError::NothingFound {
                file: PemFile::CaCertificates,
                ..
            })
        ),
        "{err:?}"
    );
}

/// A host that cannot be a TLS server name is refused before connecting, with the name.
#[test]
fn host_that_is_no_tls_server_name() {
    let mut o = ClientOptions::new(
        "bad_name!",
        unused_port(),
        ClientName::parse("client.test").unwrap(),
    );
    o.config.tls = TlsPolicy::Required;
    let err = Client::connect(o).unwrap_err();
    assert!(
        matches!(
            &err,
            BlockingError::TlsConfig(TlsConfigError::InvalidServerName { name }) if name == "bad_name!"
        ),
        "{err:?}"
    );
}

/// Without TLS (policy `Never`), the TLS options are not even looked at.
#[test]
fn tls_never_reads_no_ca_file() {
    let mock = Mock::start(|peer| {
        peer.hello(&[]);
        peer.expect("QUIT");
        peer.send("221 bye\r\n");
    });
    let mut o = options(mock.port, T);
    o.tls.ca_file = Some("/nonexistent/ca.pem".into());
    Client::connect(o).unwrap().quit().unwrap();
    mock.join();
}
