//! The PROXY protocol header (haproxy.org `doc/proxy-protocol.txt`), known answers: version 1
//! lines as section 2.1 spells them (and its 107-octet worst case), version 2 headers octet by
//! octet as 2.2 lays them out, LOCAL/UNKNOWN, IPv4-mapped addresses, mixed families refused.

use mailwire::proxy::{encode, ProxyEndpoints, ProxyError, ProxyVersion, V2_SIGNATURE};
use std::net::SocketAddr;

fn tcp(source: &str, destination: &str) -> ProxyEndpoints {
    ProxyEndpoints::Tcp {
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
    }
}

fn header(version: ProxyVersion, endpoints: ProxyEndpoints) -> Vec<u8> {
    let mut out = b"kept".to_vec();
    encode(version, endpoints, &mut out).unwrap();
    assert_eq!(&out[..4], b"kept", "appended, not replaced");
    out.split_off(4)
}

#[test]
fn version_1_lines() {
    assert_eq!(
        header(ProxyVersion::V1, tcp("192.0.2.1:4321", "198.51.100.2:25")),
        b"PROXY TCP4 192.0.2.1 198.51.100.2 4321 25\r\n"
    );
    assert_eq!(
        header(
            ProxyVersion::V1,
            tcp("[2001:db8::1]:1025", "[2001:db8::25]:587")
        ),
        b"PROXY TCP6 2001:db8::1 2001:db8::25 1025 587\r\n"
    );
    assert_eq!(
        header(ProxyVersion::V1, ProxyEndpoints::Unknown),
        b"PROXY UNKNOWN\r\n"
    );
    // 2.1: a receiver reads at most 107 octets, CRLF included (the widest being "UNKNOWN"
    // with two IPv6 addresses); the widest TCP6 line, which we can send, is 104.
    let widest = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535";
    let line = header(ProxyVersion::V1, tcp(widest, widest));
    assert_eq!(line.len(), 104, "{}", String::from_utf8_lossy(&line));
}

#[test]
fn version_2_headers() {
    let v4 = header(ProxyVersion::V2, tcp("192.0.2.1:4321", "198.51.100.2:25"));
    let mut expected = V2_SIGNATURE.to_vec();
    expected.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
    expected.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 2]);
    expected.extend_from_slice(&[0x10, 0xe1, 0x00, 0x19]);
    assert_eq!(v4, expected);
    assert_eq!(
        &V2_SIGNATURE,
        b"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"
    );

    let v6 = header(ProxyVersion::V2, tcp("[2001:db8::1]:1025", "[::1]:25"));
    assert_eq!(&v6[12..16], &[0x21, 0x21, 0x00, 36]);
    assert_eq!(v6.len(), 16 + 36);
    assert_eq!(&v6[16..20], &[0x20, 0x01, 0x0d, 0xb8]);
    assert_eq!(v6[31], 1);
    assert_eq!(&v6[32..48], &std::net::Ipv6Addr::LOCALHOST.octets());
    assert_eq!(&v6[48..52], &[0x04, 0x01, 0x00, 0x19]);

    let local = header(ProxyVersion::V2, ProxyEndpoints::Unknown);
    assert_eq!(&local[..12], &V2_SIGNATURE);
    assert_eq!(&local[12..], &[0x20, 0x00, 0x00, 0x00]);
}

#[test]
fn mapped_addresses_join_the_ipv4_end_and_mixed_families_are_refused() {
    assert_eq!(
        header(
            ProxyVersion::V1,
            tcp("[::ffff:192.0.2.1]:4321", "198.51.100.2:25")
        ),
        b"PROXY TCP4 192.0.2.1 198.51.100.2 4321 25\r\n"
    );
    // Both mapped: the family they are given in (IPv6) stays.
    assert_eq!(
        header(
            ProxyVersion::V1,
            tcp("[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.2]:2")
        ),
        b"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 2\r\n"
    );
    let source: SocketAddr = "192.0.2.1:1".parse().unwrap();
    let destination: SocketAddr = "[2001:db8::1]:25".parse().unwrap();
    for version in [ProxyVersion::V1, ProxyVersion::V2] {
        let mut out = Vec::new();
        let e = encode(
            version,
            ProxyEndpoints::Tcp {
                source,
                destination,
            },
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e,
            ProxyError::MixedFamilies {
                source,
                destination
            }
        );
        assert!(out.is_empty(), "nothing written on a refusal");
        assert!(e.to_string().contains("one address family"));
    }
}
