//! How every adapter words an established TLS session in its log.

/// The negotiated protocol version and cipher suite, `"TLSv1_3, TLS13_AES_256_GCM_SHA384"`
/// (empty parts while not negotiated): what the adapters log as `TLS established (…)`.
pub fn negotiated(conn: &rustls::CommonState) -> String {
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let suite = conn
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()))
        .unwrap_or_default();
    format!("{version}, {suite}")
}
