//! The cases every adapter's tests of the shared connection options (`ClientOptions::family`,
//! `local_address`, `unix_socket`) run, written once so that `mailwire-blocking`,
//! `mailwire-tokio` and `smtp-send` are held to the same answers: each is checked by what the
//! server saw (aiosmtpd records the client's address and port; smtp-sink speaks LMTP, RFC 2033,
//! on a Unix-domain socket).

use crate::{Aiosmtpd, PeerError, SmtpSink};
use mailwire::{ClientName, MessageOutcome, Protocol, Timeouts, TlsPolicy};
use mailwire_transport::{AddressFamily, ClientOptions, Error};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The message the cases send (CRLF line ends, as aiosmtpd stores it).
pub const BODY: &[u8] = b"Subject: where from\r\n\r\nhello\r\n";

/// The two recipients the LMTP case sends to.
pub const LMTP_RECIPIENTS: [&str; 2] = ["b@example.net", "c@example.net"];

/// How long the cases wait for a server (to record a message, each reply, each connect).
const WAIT: Duration = Duration::from_secs(15);

/// Whether this machine has the IPv6 loopback `::1` (a listener can bind it). The IPv6 cases
/// run only then, and say on stderr that they were skipped otherwise: a host without IPv6 is
/// not a missing peer.
pub fn has_ipv6_loopback() -> bool {
    let up = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok();
    if !up {
        eprintln!("skipped: this machine has no ::1 (IPv6 loopback)");
    }
    up
}

/// Local ends to bind: another loopback address with a port the system picks (127.0.0.2:0),
/// and 127.0.0.1 with a port chosen here (free a moment ago).
pub fn local_addresses() -> [SocketAddr; 2] {
    [
        SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port())),
    ]
}

/// Checks that `peer` (what the server saw) is the bound `local` end: its address, and its
/// port unless the system was left to pick one.
pub fn assert_peer_is(local: SocketAddr, peer: SocketAddr) {
    assert_eq!(
        peer.ip(),
        local.ip(),
        "bound {local}, the server saw {peer}"
    );
    if local.port() != 0 {
        assert_eq!(
            peer.port(),
            local.port(),
            "bound {local}, the server saw {peer}"
        );
    }
}

/// The client address aiosmtpd recorded for the one message it received (waiting for it).
pub fn only_peer(server: &Aiosmtpd) -> SocketAddr {
    let messages = server
        .wait_for_messages(1, WAIT)
        .expect("a message arrived");
    assert_eq!(messages.len(), 1, "one message");
    messages[0].peer.expect("aiosmtpd recorded the peer")
}

/// smtp-sink speaking LMTP on a Unix-domain socket of its own, keeping what it receives.
pub fn lmtp_socket_sink() -> Result<SmtpSink, PeerError> {
    SmtpSink::builder()
        .lmtp(true)
        .unix_socket(true)
        .dump(true)
        .start()
}

/// Checks the LMTP case: [`BODY`] sent to [`LMTP_RECIPIENTS`] over the sink's socket was
/// accepted with one 250 delivery reply per recipient, and the sink holds it as sent.
pub fn assert_lmtp_delivered(outcome: &MessageOutcome, sink: &SmtpSink) {
    assert!(outcome.is_fully_accepted(), "{outcome:?}");
    assert_eq!(outcome.recipients.len(), LMTP_RECIPIENTS.len());
    for r in &outcome.recipients {
        let delivery = r.delivery.as_ref().expect("LMTP: a reply per recipient");
        assert_eq!(delivery.code().get(), 250, "{delivery}");
    }
    let m = &sink.wait_for_messages(1, WAIT).expect("the sink kept it")[0];
    assert_eq!(m.client_proto, "LMTP");
    assert_eq!(m.rcpt_args, LMTP_RECIPIENTS.map(|r| format!("<{r}>")));
    assert_eq!(m.data, b"Subject: where from\n\nhello\n");
}

/// Options for a plaintext server at `host:port`, every wait bounded by 15 s.
fn plain(host: &str, port: u16) -> ClientOptions {
    let name = ClientName::parse("client.test").expect("a valid name");
    let mut o = ClientOptions::new(host, port, name);
    o.config.tls = TlsPolicy::Never;
    o.config.timeouts = Timeouts::uniform(WAIT);
    o.connect_timeout = WAIT;
    o
}

/// Runs the cases where the message goes through, with the adapter's `send`: it connects with
/// the options given, sends [`BODY`] from `a@example.org` to the recipients given, says QUIT,
/// and returns the outcome (panicking on an error). Each case is checked by what the server saw:
///
/// 1. IPv6 only to aiosmtpd on `::1`: the peer is `::1` (when the machine has `::1`:
///    [`has_ipv6_loopback`]).
/// 2. IPv4 only to `localhost` (whatever else it resolves to here): the peer is 127.0.0.1.
/// 3. Each of [`local_addresses`] bound first: it is the peer.
/// 4. LMTP over smtp-sink's Unix socket ([`ClientOptions::unix`]): a delivery reply per
///    recipient, the message as sent.
///
/// `Err` when a peer is not installed (for `peer_or_skip!`).
pub fn run_delivered_cases(
    mut send: impl FnMut(ClientOptions, &[&str]) -> MessageOutcome,
) -> Result<(), PeerError> {
    let mut one = |server: &Aiosmtpd, o: ClientOptions| {
        let outcome = send(o, &["b@example.net"]);
        assert!(outcome.is_fully_accepted(), "{outcome:?}");
        let m = &server
            .wait_for_messages(1, WAIT)
            .expect("a message arrived")[0];
        assert_eq!(m.data, BODY);
        only_peer(server)
    };

    if has_ipv6_loopback() {
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let server = Aiosmtpd::builder().host(v6).start()?;
        let mut o = plain("::1", server.port());
        o.family = AddressFamily::V6;
        assert_eq!(one(&server, o).ip(), v6, "IPv6 only to ::1");
    }

    let server = Aiosmtpd::builder().start()?;
    let mut o = plain("localhost", server.port());
    o.family = AddressFamily::V4;
    assert_eq!(
        one(&server, o).ip(),
        Ipv4Addr::LOCALHOST,
        "IPv4 only by name"
    );

    for local in local_addresses() {
        let server = Aiosmtpd::builder().start()?;
        let mut o = plain("127.0.0.1", server.port());
        o.local_address = Some(local);
        assert_peer_is(local, one(&server, o));
    }

    let sink = lmtp_socket_sink()?;
    let path = sink.socket_path().expect("a socket");
    let mut o = ClientOptions::unix(path, ClientName::parse("client.test").expect("a name"));
    o.config.protocol = Protocol::Lmtp;
    o.config.timeouts = Timeouts::uniform(WAIT);
    o.connect_timeout = WAIT;
    assert_eq!(o.server(), format!("unix:{}", path.display()));
    let outcome = send(o, &LMTP_RECIPIENTS);
    assert_lmtp_delivered(&outcome, &sink);
    Ok(())
}

/// Runs the cases where connecting must fail, with the adapter's `connect` (which returns the
/// error it got, panicking if it connected), each checked by the error and by what the server
/// received:
///
/// 1. IPv6 only to `127.0.0.1`: `Error::Connect` (NotFound, "has no IPv6 address"), transient,
///    and aiosmtpd receives nothing.
/// 2. A local address not of this host (192.0.2.1, TEST-NET-1, never assigned): the bind fails,
///    and the error names it.
/// 3. A Unix socket where nothing listens: `Error::Connect` naming `unix:PATH`, transient.
/// 4. TCP's options (a family) with a Unix socket: refused (InvalidInput), never ignored.
///
/// `Err` when aiosmtpd is not installed (for `peer_or_skip!`).
pub fn run_failed_cases(mut connect: impl FnMut(ClientOptions) -> Error) -> Result<(), PeerError> {
    let server = Aiosmtpd::builder().start()?;
    let mut o = plain("127.0.0.1", server.port());
    o.family = AddressFamily::V6;
    let e = connect(o);
    let Error::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("has no IPv6 address"), "{e}");
    assert!(e.is_transient());

    let mut o = plain("127.0.0.1", server.port());
    o.local_address = Some(SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0)));
    let e = connect(o);
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("cannot bind the local address 192.0.2.1:0"),
        "{e}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages()?.is_empty(), "nothing reached the server");

    let dir = crate::TempDir::new("no-socket")?;
    let path = dir.path().join("absent.sock");
    let name = || ClientName::parse("client.test").expect("a valid name");
    let e = connect(ClientOptions::unix(&path, name()));
    let Error::Connect { server, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*server, format!("unix:{}", path.display()));
    assert!(e.is_transient());

    let mut o = ClientOptions::unix(&path, name());
    o.family = AddressFamily::V4;
    let e = connect(o);
    let Error::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    Ok(())
}
