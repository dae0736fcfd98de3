//! The PROXY protocol header (HAProxy's "The PROXY protocol", versions 1 and 2): what a client
//! standing in for another says before anything else on a connection, so that a server behind
//! a proxy (Postfix's `smtpd_upstream_proxy_protocol`, Exim's `hosts_proxy`, aiosmtpd's
//! `proxy_protocol_timeout`) sees the original client's address. It comes before the greeting
//! and, with implicit TLS, before the handshake: the adapters write it on the bare connection
//! right after connecting, so it is a pure encoding here, not a state of the session.
//!
//! Section numbers below are the specification's (haproxy.org, `doc/proxy-protocol.txt`).

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

/// Which version of the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// The human-readable line, `PROXY TCP4 192.0.2.1 198.51.100.2 4321 25\r\n` (2.1).
    V1,
    /// The binary header: a 12-octet signature, version and command, family, length, the
    /// addresses (2.2).
    V2,
}

/// What the header says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyEndpoints {
    /// A TCP connection relayed from `source` (the original client) to `destination` (the
    /// address it reached): TCP4 or TCP6 in version 1, PROXY with AF_INET or AF_INET6 in 2.
    Tcp {
        /// The original client's address and port.
        source: SocketAddr,
        /// The address and port it connected to.
        destination: SocketAddr,
    },
    /// Nothing relayed: `PROXY UNKNOWN` in version 1, the LOCAL command in 2, so the server
    /// uses the connection's own addresses (a health check, or a connection whose ends have
    /// no IP address, such as a Unix-domain socket).
    Unknown,
}

/// Why a header cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The source and destination are of different families (an IPv4 and an IPv6 address
    /// that is not IPv4-mapped): the header has one family for both (2.1, 2.2).
    MixedFamilies {
        /// The source given.
        source: SocketAddr,
        /// The destination given.
        destination: SocketAddr,
    },
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::MixedFamilies {
                source,
                destination,
            } => write!(
                f,
                "the PROXY header's source {source} and destination {destination} are not of \
                 one address family"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProxyError {}

/// The version 2 signature (2.2): CR LF CR LF NUL CR LF "QUIT" LF, which no version 1 header
/// and no protocol's first line starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Appends the header for `endpoints` in `version` to `out`. IPv4-mapped IPv6 addresses
/// (`::ffff:192.0.2.1`) count as IPv4 when the other end is IPv4, as a dual-stack socket
/// reports them; otherwise both ends must be of one family.
pub fn encode(
    version: ProxyVersion,
    endpoints: ProxyEndpoints,
    out: &mut Vec<u8>,
) -> Result<(), ProxyError> {
    let addresses = match endpoints {
        ProxyEndpoints::Tcp {
            source,
            destination,
        } => Some(one_family(source, destination)?),
        ProxyEndpoints::Unknown => None,
    };
    match version {
        ProxyVersion::V1 => encode_v1(addresses, out),
        ProxyVersion::V2 => encode_v2(addresses, out),
    }
    Ok(())
}

/// Both ends in one family, mapped IPv6 addresses unmapped where that makes it so.
fn one_family(
    source: SocketAddr,
    destination: SocketAddr,
) -> Result<(SocketAddr, SocketAddr), ProxyError> {
    let unmapped = |a: SocketAddr| match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    };
    if source.is_ipv4() == destination.is_ipv4() {
        return Ok((source, destination));
    }
    let (s, d) = (unmapped(source), unmapped(destination));
    if s.is_ipv4() == d.is_ipv4() {
        Ok((s, d))
    } else {
        Err(ProxyError::MixedFamilies {
            source,
            destination,
        })
    }
}

/// 2.1: `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`, addresses in their usual text form (IPv6
/// as RFC 5952 writes it, which the specification's examples follow), at most 107 octets;
/// `PROXY UNKNOWN\r\n` when nothing is relayed.
fn encode_v1(addresses: Option<(SocketAddr, SocketAddr)>, out: &mut Vec<u8>) {
    use fmt::Write as _;
    let mut line = alloc::string::String::with_capacity(107);
    match addresses {
        Some((s, d)) => {
            let family = if s.is_ipv4() { "TCP4" } else { "TCP6" };
            // Writing to a String cannot fail.
            let _ = write!(
                line,
                "PROXY {family} {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            );
        }
        None => line.push_str("PROXY UNKNOWN\r\n"),
    }
    out.extend_from_slice(line.as_bytes());
}

/// 2.2: the signature; `0x21` (version 2, PROXY) or `0x20` (LOCAL); `0x11` (TCP over IPv4),
/// `0x21` (TCP over IPv6) or `0x00` (UNSPEC); the length of what follows, big-endian; the
/// source and destination addresses, then ports, big-endian. No TLVs.
fn encode_v2(addresses: Option<(SocketAddr, SocketAddr)>, out: &mut Vec<u8>) {
    out.extend_from_slice(&V2_SIGNATURE);
    let Some((s, d)) = addresses else {
        out.extend_from_slice(&[0x20, 0x00, 0, 0]);
        return;
    };
    match (s.ip(), d.ip()) {
        (IpAddr::V4(si), IpAddr::V4(di)) => {
            out.extend_from_slice(&[0x21, 0x11, 0, 12]);
            out.extend_from_slice(&si.octets());
            out.extend_from_slice(&di.octets());
        }
        (si, di) => {
            // one_family made both IPv6 here.
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V6(v6) => v6.octets(),
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            };
            out.extend_from_slice(&[0x21, 0x21, 0, 36]);
            out.extend_from_slice(&v6(si));
            out.extend_from_slice(&v6(di));
        }
    }
    out.extend_from_slice(&s.port().to_be_bytes());
    out.extend_from_slice(&d.port().to_be_bytes());
}
