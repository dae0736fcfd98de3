//! What the built configurations accept and refuse, in a real handshake against a rustls
//! server in memory: the CA file's roots, the server name, a client certificate, and the
//! test-only switch that accepts anything.

mod support;

use mailwire_transport::{ClientCertificate, TlsOptions, TlsSetup};
use std::sync::Arc;
use support::{handshake, Pki};

#[test]
fn ca_file_roots_verify_the_servers_certificate() {
    let pki = Pki::generate();
    let setup = TlsSetup::from_options(&TlsOptions::with_ca_file(&pki.ca), "localhost").unwrap();
    handshake(setup.connection().unwrap(), pki.server(false)).unwrap();
    // The certificate's IP address SAN.
    let setup = TlsSetup::from_options(&TlsOptions::with_ca_file(&pki.ca), "127.0.0.1").unwrap();
    handshake(setup.connection().unwrap(), pki.server(false)).unwrap();
}

#[test]
fn wrong_name_is_refused() {
    let pki = Pki::generate();
    let setup =
        TlsSetup::from_options(&TlsOptions::with_ca_file(&pki.ca), "mx.example.com").unwrap();
    let (side, err) = handshake(setup.connection().unwrap(), pki.server(false)).unwrap_err();
    assert_eq!(side, "client");
    assert!(
        matches!(err, rustls::Error::InvalidCertificate(_)),
        "{err:?}"
    );
}

/// The web PKI roots do not know the test CA.
#[test]
fn web_pki_roots_refuse_an_unknown_ca() {
    let pki = Pki::generate();
    let setup = TlsSetup::from_options(&TlsOptions::default(), "localhost").unwrap();
    let (side, err) = handshake(setup.connection().unwrap(), pki.server(false)).unwrap_err();
    assert_eq!(side, "client");
    assert!(
        matches!(err, rustls::Error::InvalidCertificate(_)),
        "{err:?}"
    );
}

/// Test only: any certificate, any name.
#[test]
fn danger_accept_invalid_certs_accepts_an_unknown_ca_and_a_wrong_name() {
    let pki = Pki::generate();
    let mut options = TlsOptions::default();
    options.danger_accept_invalid_certs = true;
    let setup = TlsSetup::from_options(&options, "mx.example.com").unwrap();
    handshake(setup.connection().unwrap(), pki.server(false)).unwrap();
}

/// RFC 8446 4.4.2: a server that requires a client certificate gets ours, and the handshake
/// completes; without one, the server refuses.
#[test]
fn client_certificate_is_presented_when_the_server_requires_one() {
    let pki = Pki::generate();
    let mut options = TlsOptions::with_ca_file(&pki.ca);
    options.client_certificate = Some(ClientCertificate::new(&pki.client_chain, &pki.client_key));
    let setup = TlsSetup::from_options(&options, "localhost").unwrap();
    let (_, server) = handshake(setup.connection().unwrap(), pki.server(true)).unwrap();
    assert_eq!(server.peer_certificates().map(<[_]>::len), Some(1));

    let without = TlsSetup::from_options(&TlsOptions::with_ca_file(&pki.ca), "localhost").unwrap();
    let (side, _) = handshake(without.connection().unwrap(), pki.server(true)).unwrap_err();
    assert_eq!(side, "server");
}

/// One configuration per server, shared by every clone and every connection.
#[test]
fn clones_and_connections_share_one_configuration() {
    let pki = Pki::generate();
    let setup = TlsSetup::from_options(&TlsOptions::with_ca_file(&pki.ca), "localhost").unwrap();
    let clone = setup.clone();
    assert!(Arc::ptr_eq(setup.config(), clone.config()));
    let before = Arc::strong_count(setup.config());
    let a = clone.connection().unwrap();
    let b = setup.connection().unwrap();
    assert_eq!(Arc::strong_count(setup.config()), before + 2);
    drop((a, b));
}

/// Passes what the server still has to send (TLS 1.3 session tickets, RFC 8446 4.6.1) to the
/// client.
fn deliver_tickets(client: &mut rustls::ClientConnection, server: &mut rustls::ServerConnection) {
    let mut wire = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut wire).unwrap();
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        client.read_tls(&mut rd).unwrap();
    }
    client.process_new_packets().unwrap();
}

/// Clones of one `TlsOptions` build one configuration (one `Arc`), so connections made from
/// them share its session store: the second connection resumes (RFC 8446 2.2). Options with
/// other fields build anew; `resumption = false` makes every handshake a full one.
#[test]
fn clones_share_one_configuration_and_resume() {
    use rustls::HandshakeKind;
    let pki = Pki::generate();
    let options = TlsOptions::with_ca_file(&pki.ca);
    let server = pki.server(false);
    let first = options.clone().build().unwrap();
    assert!(Arc::ptr_eq(&first, &options.build().unwrap()));
    let mut other = options.clone();
    other.resumption = false;
    assert!(!Arc::ptr_eq(&first, &other.build().unwrap()));

    let kinds = |options: &TlsOptions| {
        (0..2)
            .map(|_| {
                let setup = TlsSetup::from_options(&options.clone(), "localhost").unwrap();
                let (mut c, mut s) =
                    handshake(setup.connection().unwrap(), Arc::clone(&server)).unwrap();
                deliver_tickets(&mut c, &mut s);
                c.handshake_kind()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&options),
        [Some(HandshakeKind::Full), Some(HandshakeKind::Resumed)]
    );
    assert_eq!(
        kinds(&other),
        [Some(HandshakeKind::Full), Some(HandshakeKind::Full)]
    );
}
