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

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn any_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<u32>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
            (any::<u128>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
        ]
    }

    proptest! {
        /// Any pair: a header that says what was given (version 1 read back by its words,
        /// version 2 by its fixed layout), or the mixed-families refusal with nothing
        /// written; never a panic, never more than 107 octets of version 1.
        #[test]
        fn any_pair_is_a_faithful_header_or_a_refusal(s in any_addr(), d in any_addr()) {
            let endpoints = ProxyEndpoints::Tcp { source: s, destination: d };
            let mut v1 = Vec::new();
            let mut v2 = Vec::new();
            let r1 = encode(ProxyVersion::V1, endpoints, &mut v1);
            let r2 = encode(ProxyVersion::V2, endpoints, &mut v2);
            prop_assert_eq!(r1.is_ok(), r2.is_ok());
            if r1.is_err() {
                prop_assert!(v1.is_empty() && v2.is_empty());
                return Ok(());
            }
            prop_assert!(v1.len() <= 107);
            let line = String::from_utf8(v1).unwrap();
            let line = line.strip_suffix("\r\n").unwrap();
            let words: Vec<&str> = line.split(' ').collect();
            prop_assert_eq!(words.len(), 6);
            prop_assert_eq!(words[0], "PROXY");
            let (ip_s, ip_d): (IpAddr, IpAddr) = (words[2].parse().unwrap(), words[3].parse().unwrap());
            let (ps, pd): (u16, u16) = (words[4].parse().unwrap(), words[5].parse().unwrap());
            prop_assert_eq!((ps, pd), (s.port(), d.port()));
            let same = |a: IpAddr, b: IpAddr| a == b || a.to_canonical() == b.to_canonical();
            prop_assert!(same(ip_s, s.ip()) && same(ip_d, d.ip()));
            prop_assert_eq!(&v2[..12], &V2_SIGNATURE[..]);
            let len = usize::from(u16::from_be_bytes([v2[14], v2[15]]));
            prop_assert_eq!(v2.len(), 16 + len);
            prop_assert_eq!(&v2[v2.len() - 4..], &[s.port().to_be_bytes(), d.port().to_be_bytes()].concat()[..]);
        }
    }
}
