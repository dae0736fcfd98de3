//! `parse_server_name`: host names as users write them.

use mailwire_transport::{parse_server_name, TlsConfigError};
use rustls::pki_types::ServerName;
use std::net::IpAddr;

#[test]
fn dns_names_and_ip_addresses_parse() {
    assert!(matches!(
        parse_server_name("mx.example.org").unwrap(),
        ServerName::DnsName(n) if n.as_ref() == "mx.example.org"
    ));
    let ip = |s: &str| match parse_server_name(s).unwrap() {
        ServerName::IpAddress(a) => IpAddr::from(a),
        other => panic!("{other:?}"),
    };
    assert_eq!(ip("127.0.0.1"), "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(ip("2001:db8::1"), "2001:db8::1".parse::<IpAddr>().unwrap());
    // Bracketed, as in `[2001:db8::1]:587`.
    assert_eq!(
        ip("[2001:db8::1]"),
        "2001:db8::1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn invalid_names_keep_the_name_as_given() {
    for name in ["", "bad name", "[not-an-ip", "exa_mple..org"] {
        match parse_server_name(name) {
            Err(TlsConfigError::InvalidServerName { name: n }) => assert_eq!(n, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}
