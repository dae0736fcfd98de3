//! Known answers from RFC 6376 3.4.5 and RFC 8463 Appendix A, and a small verifier (RFC 6376
//! 6.1.3, used here only) that checks what the signer writes against keys of its own.

use super::canonical::{header_field, BodyCanonicalizer, Canonicalization};
use super::fields;
use super::*;
use ring::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY};

fn body(canon: Canonicalization, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut c = BodyCanonicalizer::new(canon);
    c.update(input, &mut out);
    c.finish(&mut out);
    out
}

/// The same, fed one byte at a time.
fn body_bytewise(canon: Canonicalization, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut c = BodyCanonicalizer::new(canon);
    for b in input {
        c.update(std::slice::from_ref(b), &mut out);
    }
    c.finish(&mut out);
    out
}

fn header(canon: Canonicalization, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    header_field(canon, raw, &mut out);
    out
}

use Canonicalization::{Relaxed, Simple};

#[test]
fn rfc6376_3_4_5_examples() {
    // The example of RFC 6376 3.4.5, written out.
    let fields_in: [&[u8]; 2] = [b"A: X", b"B : Y\t\r\n\tZ  "];
    assert_eq!(header(Relaxed, fields_in[0]), b"a:X");
    assert_eq!(header(Relaxed, fields_in[1]), b"b:Y Z");
    assert_eq!(header(Simple, fields_in[1]), fields_in[1]);
    let body_in = b" C \r\nD \t E\r\n\r\n\r\n";
    for f in [body, body_bytewise] {
        assert_eq!(f(Relaxed, body_in), b" C\r\nD E\r\n");
        assert_eq!(f(Simple, body_in), b" C \r\nD \t E\r\n");
    }
}

#[test]
fn body_edges() {
    for f in [body, body_bytewise] {
        // RFC 6376 3.4.3: an empty body is one CRLF; 3.4.4 (erratum 1384): relaxed, empty.
        assert_eq!(f(Simple, b""), b"\r\n");
        assert_eq!(f(Relaxed, b""), b"");
        assert_eq!(f(Simple, b"\r\n\r\n"), b"\r\n");
        assert_eq!(f(Relaxed, b"\r\n \t\r\n"), b"");
        // A last line without its CRLF gets one.
        assert_eq!(f(Simple, b"no end"), b"no end\r\n");
        assert_eq!(f(Relaxed, b"no end  "), b"no end\r\n");
        // Empty lines inside the body stay; only the trailing ones go.
        assert_eq!(
            f(Relaxed, b"a\r\n\r\n \r\nb\r\n\r\n"),
            b"a\r\n\r\n\r\nb\r\n"
        );
        assert_eq!(
            f(Simple, b"a\r\n\r\n \r\nb\r\n\r\n"),
            b"a\r\n\r\n \r\nb\r\n"
        );
        // Leading white space of a line is reduced, not removed.
        assert_eq!(f(Relaxed, b"\t\t x\r\n"), b" x\r\n");
        // 8-bit octets pass as they are.
        assert_eq!(
            f(Relaxed, b"na\xc3\xafve \xff\r\n"),
            b"na\xc3\xafve \xff\r\n"
        );
    }
}

#[test]
fn header_edges() {
    assert_eq!(
        header(Relaxed, b"SubJect :  a \t b  \r\n\t c  "),
        b"subject:a b c"
    );
    assert_eq!(header(Relaxed, b"X:"), b"x:");
    assert_eq!(header(Relaxed, b"X:   "), b"x:");
    assert_eq!(header(Relaxed, b"X:\r\n z"), b"x:z");
}

#[test]
fn fields_split_and_select() {
    let section = b"A: 1\r\nB: 2\r\n  more\r\nA: 3\r\n";
    let fields = fields::split(section).unwrap();
    let raws: Vec<&[u8]> = fields.iter().map(|f| f.raw).collect();
    assert_eq!(raws, [&b"A: 1"[..], b"B: 2\r\n  more", b"A: 3"]);
    let names: Vec<String> = ["a", "a", "a", "b"].iter().map(|s| s.to_string()).collect();
    let picked: Vec<&[u8]> = fields::select(&fields, &names)
        .iter()
        .map(|f| f.raw)
        .collect();
    // RFC 6376 5.4.2: the last instance first, then the one above; past the first, none.
    assert_eq!(picked, [&b"A: 3"[..], b"A: 1", b"B: 2\r\n  more"]);
    assert_eq!(
        fields::split(b" starts folded\r\n"),
        Err(DkimError::MalformedHeader { line: 1 })
    );
    assert_eq!(
        fields::split(b"A: 1\r\nno colon\r\n"),
        Err(DkimError::MalformedHeader { line: 2 })
    );
}

// RFC 8463 Appendix A: its keys and its signed message.
const RFC8463_ED25519_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const RFC8463_ED25519_PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const RFC8463_RSA_PUBLIC: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id\
Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3\
rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
const RFC8463_MESSAGE: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r
 d=football.example.com; i=@football.example.com;\r
 q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r
 subject : date : message-id : from : subject : date;\r
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
 b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r
 Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r
 d=football.example.com; i=@football.example.com;\r
 q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r
 date : message-id : from : subject : date;\r
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
 b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r
 DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r
 dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r
From: Joe SixPack <joe@football.example.com>\r
To: Suzie Q <suzie@shopping.example.net>\r
Subject: Is dinner ready?\r
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r
Message-ID: <20030712040037.46341.5F8J@football.example.com>\r
\r
Hi.\r
\r
We lost the game.  Are you hungry yet?\r
\r
Joe.\r
";

/// A public key for [`verify`]: the `p=` bytes and the algorithm.
#[derive(Clone)]
struct Public {
    algorithm: DkimAlgorithm,
    p: Vec<u8>,
}

/// The PKCS#1 key inside a DER `SubjectPublicKeyInfo` (what ring's RSA verifier takes).
fn unwrap_spki(spki: &[u8]) -> Vec<u8> {
    fn header(der: &[u8]) -> (usize, usize) {
        // Returns (header length, content length) of the element at the start of `der`.
        let first = der[1] as usize;
        if first < 0x80 {
            (2, first)
        } else {
            let n = first & 0x7f;
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |a, &b| a << 8 | b as usize);
            (2 + n, len)
        }
    }
    let (outer, _) = header(spki);
    let rest = &spki[outer..];
    let (alg_header, alg_len) = header(rest);
    let bits = &rest[alg_header + alg_len..];
    let (bits_header, bits_len) = header(bits);
    assert_eq!(bits[0], 0x03, "a BIT STRING");
    bits[bits_header + 1..bits_header + bits_len].to_vec()
}

/// The tags of a DKIM-Signature field's value, white space removed from each value.
fn tags(value: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(value)
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.split_whitespace().collect()))
        .collect()
}

/// Verifies every DKIM-Signature of `message` with the key its `s=` names; `Ok(())` per
/// signature that verifies, `Err(why)` per one that does not.
fn verify(message: &[u8], keys: &[(&str, Public)]) -> Vec<Result<(), String>> {
    let mut wire = Vec::new();
    let mut n = BdatEncoder::new(false);
    n.encode(message, &mut wire);
    n.finish(&mut wire);
    let split_at = wire
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(wire.len(), |i| i + 2);
    let (section, rest) = wire.split_at(split_at);
    let body_bytes = rest.get(2..).unwrap_or(&[]);
    let all = fields::split(section).expect("a header section");
    let mut results = Vec::new();
    for sig in all
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(b"dkim-signature"))
    {
        let colon = sig.raw.iter().position(|&b| b == b':').unwrap();
        let t = tags(&sig.raw[colon + 1..]);
        let tag = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (hc, bc) = tag("c")
            .unwrap_or_default()
            .split_once('/')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap();
        let canon = |s: &str| if s == "simple" { Simple } else { Relaxed };
        let body_hash = {
            let canonical = body(canon(&bc), body_bytes);
            STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, &canonical))
        };
        if Some(body_hash) != tag("bh") {
            results.push(Err("body hash".to_string()));
            continue;
        }
        let names: Vec<String> = tag("h")
            .unwrap()
            .split(':')
            .map(|s| s.trim().to_string())
            .collect();
        // The field with its b= value (and the white space around it) taken out.
        let raw = sig.raw;
        let b_at = (0..raw.len())
            .find(|&i| {
                raw[i] == b'b'
                    && raw[i + 1..].iter().find(|&&c| !c.is_ascii_whitespace()) == Some(&b'=')
                    && raw[..i]
                        .iter()
                        .rev()
                        .find(|&&c| !c.is_ascii_whitespace())
                        .is_some_and(|&c| c == b';' || c == b':')
            })
            .unwrap();
        let eq = b_at + raw[b_at..].iter().position(|&c| c == b'=').unwrap();
        let value_end = raw[eq..]
            .iter()
            .position(|&c| c == b';')
            .map_or(raw.len(), |i| eq + i);
        let mut unsigned = raw[..=eq].to_vec();
        unsigned.extend_from_slice(&raw[value_end..]);
        let mut data = Vec::new();
        for f in fields::select(&all, &names) {
            header_field(canon(&hc), f.raw, &mut data);
            data.extend_from_slice(b"\r\n");
        }
        header_field(canon(&hc), &unsigned, &mut data);
        let b = STANDARD.decode(tag("b").unwrap()).unwrap();
        let selector = tag("s").unwrap();
        let key = &keys.iter().find(|(s, _)| *s == selector).unwrap().1;
        let ok = match key.algorithm {
            DkimAlgorithm::RsaSha256 => UnparsedPublicKey::new(
                &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                unwrap_spki(&key.p),
            )
            .verify(&data, &b),
            _ => UnparsedPublicKey::new(&ED25519, &key.p).verify(
                ring::digest::digest(&ring::digest::SHA256, &data).as_ref(),
                &b,
            ),
        };
        results.push(ok.map_err(|_| "signature".to_string()));
    }
    results
}

fn rfc_keys() -> Vec<(&'static str, Public)> {
    vec![
        (
            "brisbane",
            Public {
                algorithm: DkimAlgorithm::Ed25519Sha256,
                p: STANDARD.decode(RFC8463_ED25519_PUBLIC).unwrap(),
            },
        ),
        (
            "test",
            Public {
                algorithm: DkimAlgorithm::RsaSha256,
                p: STANDARD.decode(RFC8463_RSA_PUBLIC).unwrap(),
            },
        ),
    ]
}

#[test]
fn rfc8463_body_hash_and_rsa_signature() {
    let results = verify(RFC8463_MESSAGE.as_bytes(), &rfc_keys());
    // Both signatures of the RFC verify over the data our canonicalisation and field
    // selection compute: with a wrong byte anywhere in that data neither could.
    assert_eq!(results, [Ok(()), Ok(())]);
}

#[test]
fn rfc8463_key_signs_the_rfc_message_and_verifies() {
    let key = DkimKey::parse(RFC8463_ED25519_SEED.as_bytes()).unwrap();
    assert_eq!(key.algorithm(), DkimAlgorithm::Ed25519Sha256);
    assert_eq!(
        key.dns_record(),
        format!("v=DKIM1; k=ed25519; p={RFC8463_ED25519_PUBLIC}")
    );
    let unsigned = &RFC8463_MESSAGE[RFC8463_MESSAGE.find("From: Joe").unwrap()..];
    let signer = DkimSigner::new("football.example.com", "brisbane", key).unwrap();
    let field = signer
        .sign(
            unsigned.as_bytes(),
            UNIX_EPOCH + Duration::from_secs(1528637909),
        )
        .unwrap();
    assert!(
        field.contains("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"),
        "{field}"
    );
    assert!(field.contains("t=1528637909;"), "{field}");
    // Every present field of the default list once, plus the oversigned names once more.
    assert!(
        field.replace("\r\n\t", "").contains(
            "h=from:from:sender:reply-to:subject:subject:date:date:message-id:message-id:to:to:\
             cc:mime-version:content-type:content-transfer-encoding;"
        ),
        "{field}"
    );
    let signed = format!("{field}{unsigned}");
    assert_eq!(verify(signed.as_bytes(), &rfc_keys()), [Ok(())]);
    // No l= (a body length would let anyone append to the body, RFC 6376 8.2).
    let value = &field["DKIM-Signature:".len()..];
    assert!(
        tags(value.as_bytes()).iter().all(|(k, _)| k != "l"),
        "{field}"
    );
    for line in field.split("\r\n") {
        assert!(line.len() <= 78, "{line:?}");
    }
}

fn ed_signer() -> DkimSigner {
    DkimSigner::new(
        "Football.Example.COM",
        "brisbane",
        DkimKey::parse(RFC8463_ED25519_SEED.as_bytes()).unwrap(),
    )
    .unwrap()
}

const MESSAGE: &[u8] = b"From: Joe <joe@football.example.com>\nTo: suzie@shopping.example.net\n\
Subject: Dinner\nDate: Fri, 11 Jul 2003 21:00:37 -0700\nMessage-ID: <1@football.example.com>\n\
X-Campaign: 7\n\nHi.\n.\nA line that is a dot, trailing space   \n\n\n";

#[test]
fn what_a_relay_does_keeps_it_valid_and_a_forger_breaks_it() {
    let keys = rfc_keys();
    for (hc, bc) in [
        (Relaxed, Relaxed),
        (Simple, Simple),
        (Relaxed, Simple),
        (Simple, Relaxed),
    ] {
        let signer = ed_signer().canonicalization(hc, bc);
        let signed = signer.sign_message(MESSAGE, SystemTime::now()).unwrap();
        let signed = String::from_utf8(signed).unwrap();
        assert!(signed.contains("d=football.example.com;"), "d= lowercased");
        assert!(!signed[..signed.find("From:").unwrap()].contains("x-campaign"));
        assert_eq!(verify(signed.as_bytes(), &keys), [Ok(())], "{hc:?}/{bc:?}");
        let pass = |text: String| verify(text.as_bytes(), &keys) == [Ok(())];
        assert!(pass(format!("Received: from relay by mx\r\n{signed}")));
        assert!(
            pass(signed.replace("\nX-Campaign: 7", "\nX-Campaign: 8")),
            "unsigned field"
        );
        assert!(!pass(signed.replace(
            "\nFrom: ",
            "\nFrom: Mallory <m@evil.example>\nFrom: "
        )));
        assert!(!pass(
            signed.replace("\nTo: ", "\nCc: extra@evil.example\nTo: ")
        ));
        assert!(!pass(signed.replace("Hi.", "Hi!")));
        assert!(!pass(format!("{signed}P.S.\r\n")));
        let refolded = signed.replace("\nSubject: ", "\nSubject:\r\n\t  ");
        let spaced = signed.replace("Hi.\n", "Hi.  \n");
        assert_eq!(pass(refolded), hc == Relaxed, "a refolded header");
        assert_eq!(pass(spaced), bc == Relaxed, "trailing white space");
        // Line ends as the wire has them: the same message with CRLF verifies too.
        assert!(pass(signed.replace("\r\n", "\n").replace('\n', "\r\n")));
    }
}

#[test]
fn streamed_in_any_pieces_the_signature_is_the_same() {
    let signer = ed_signer();
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let whole = signer.sign(MESSAGE, time).unwrap();
    for size in [1, 2, 3, 5, 64] {
        let mut s = signer.start();
        for piece in MESSAGE.chunks(size) {
            s.update(piece).unwrap();
        }
        assert_eq!(s.finish(time).unwrap(), whole, "pieces of {size}");
    }
}

#[test]
fn refusals() {
    let key = || DkimKey::parse(RFC8463_ED25519_SEED.as_bytes()).unwrap();
    assert!(matches!(
        DkimSigner::new("exa mple.com", "s", key()),
        Err(DkimError::InvalidDomain(_))
    ));
    assert!(matches!(
        DkimSigner::new("bücher.example", "s", key()),
        Err(DkimError::InvalidDomain(_))
    ));
    assert!(matches!(
        DkimSigner::new("example.com", "s;x=1", key()),
        Err(DkimError::InvalidSelector(_))
    ));
    assert!(matches!(
        DkimSigner::new("example.com", "s\r\nBcc: x", key()),
        Err(DkimError::InvalidSelector(_))
    ));
    let signer = DkimSigner::new("example.com", "s", key()).unwrap();
    assert_eq!(
        signer.clone().headers(["to", "subject"]).err(),
        Some(DkimError::FromNotSigned)
    );
    assert!(matches!(
        signer.clone().headers(["from", "bad name"]),
        Err(DkimError::InvalidHeaderName(_))
    ));
    assert!(matches!(
        signer.clone().identity("joe@evil.example"),
        Err(DkimError::InvalidIdentity(_))
    ));
    assert!(matches!(
        signer.clone().identity("joe@notexample.com"),
        Err(DkimError::InvalidIdentity(_))
    ));
    let now = SystemTime::now();
    assert_eq!(
        signer.sign(b"Subject: x\r\n\r\nbody", now),
        Err(DkimError::NoFrom)
    );
    assert_eq!(signer.sign(b"", now), Err(DkimError::NoFrom));
    assert_eq!(
        signer.sign(b"From: a@example.com\r\nnot a field\r\n\r\n", now),
        Err(DkimError::MalformedHeader { line: 2 })
    );
    assert_eq!(
        signer.sign(
            b"From: a@example.com\r\n\r\n",
            UNIX_EPOCH - Duration::from_secs(1)
        ),
        Err(DkimError::TimeBeforeEpoch)
    );
    let mut long = signer.start();
    let line = b"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut result = Ok(());
    for _ in 0..(HEADER_SECTION_LIMIT / line.len() + 2) {
        result = long.update(line);
        if result.is_err() {
            break;
        }
    }
    let limit = DkimError::HeaderSectionTooLong {
        limit: HEADER_SECTION_LIMIT,
    };
    assert_eq!(result, Err(limit.clone()));
    assert_eq!(
        long.update(b"\r\n"),
        Err(limit.clone()),
        "the error is kept"
    );
    assert_eq!(long.finish(now), Err(limit));
}

#[test]
fn identity_expiry_and_header_list() {
    let signer = ed_signer()
        .identity("joe;x=y@mail.football.example.com")
        .unwrap()
        .expire_after(Duration::from_secs(3600))
        .headers(["From", "Subject", "X-Campaign"])
        .unwrap()
        .oversign(false);
    let time = UNIX_EPOCH + Duration::from_secs(1000);
    let field = signer.sign(MESSAGE, time).unwrap();
    assert!(
        field.contains("i=joe=3Bx=3Dy@mail.football.example.com;"),
        "{field}"
    );
    assert!(field.contains("t=1000; x=4600;"), "{field}");
    assert!(field.contains("h=from:subject:x-campaign;"), "{field}");
    let signed = format!("{field}{}", String::from_utf8_lossy(MESSAGE));
    assert_eq!(verify(signed.as_bytes(), &rfc_keys()), [Ok(())]);
}

#[test]
fn message_without_a_body() {
    let signer = ed_signer();
    for message in [
        &b"From: a@football.example.com"[..],
        b"From: a@football.example.com\r\n",
    ] {
        let signed = signer.sign_message(message, SystemTime::now()).unwrap();
        assert_eq!(verify(&signed, &rfc_keys()), [Ok(())]);
    }
}

#[test]
fn key_forms() {
    let refused = |text: &[u8]| DkimKey::parse(text).unwrap_err();
    assert_eq!(refused(b"not a key"), KeyError::NotAKey);
    assert_eq!(
        refused(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ),
        KeyError::Encrypted
    );
    assert_eq!(
        refused(b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
        KeyError::Encrypted
    );
    assert_eq!(
        refused(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        KeyError::PublicKey
    );
    assert_eq!(
        refused(b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
        KeyError::Unsupported {
            label: "EC PRIVATE KEY".to_string()
        }
    );
    assert_eq!(
        refused(b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"),
        KeyError::Base64
    );
    // The Ed25519 seed behind PKCS#8 v1's fixed prefix (RFC 8410 7), in PEM and in DER.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(STANDARD.decode(RFC8463_ED25519_SEED).unwrap());
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(&der)
    );
    for key in [
        DkimKey::parse(pem.as_bytes()).unwrap(),
        DkimKey::parse(&der).unwrap(),
    ] {
        assert_eq!(
            key.public_key(),
            STANDARD.decode(RFC8463_ED25519_PUBLIC).unwrap()
        );
        assert_eq!(
            format!("{key:?}"),
            "DkimKey { algorithm: Ed25519Sha256, bits: 256 }"
        );
    }
    // The RFC's RSA key is 1024 bits: ring signs with 2048 to 4096 only, and says so.
    let short = refused(RFC8463_RSA_PKCS1.as_bytes());
    assert_eq!(
        short,
        KeyError::Rejected {
            reason: "TooSmall".to_string()
        }
    );
    assert!(short.to_string().contains("shorter than 2048 bits"));
}

/// RFC 8463 Appendix A.1's RSA private key (1024 bits).
const RFC8463_RSA_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi
Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM
KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB
AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm
6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe
zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy
6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc
uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy
WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd
WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a
licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst
o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe
uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL
-----END RSA PRIVATE KEY-----
";

proptest::proptest! {
    /// Any bytes at all: signing returns a signature or a typed error, never panics; fed in
    /// two pieces split anywhere it gives the same answer; and a signature it gives verifies.
    #[test]
    fn any_message_signs_or_is_refused(
        message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        from in proptest::prelude::any::<bool>(),
        split in 0usize..400,
    ) {
        let signer = ed_signer();
        let mut input = if from { b"From: a@football.example.com\r\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&message);
        let time = UNIX_EPOCH + Duration::from_secs(1);
        let whole = signer.sign(&input, time);
        let cut = split.min(input.len());
        let mut pieces = signer.start();
        let streamed = pieces
            .update(&input[..cut])
            .and_then(|()| pieces.update(&input[cut..]))
            .and_then(|()| pieces.finish(time));
        proptest::prop_assert_eq!(&whole, &streamed);
        if let Ok(field) = whole {
            let mut signed = field.into_bytes();
            signed.extend_from_slice(&input);
            proptest::prop_assert_eq!(verify(&signed, &rfc_keys()), vec![Ok(())]);
        }
    }
}
