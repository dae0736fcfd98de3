//! DKIM signatures (feature `dkim`, RFC 6376 and RFC 8463) checked by an implementation not
//! ours: messages signed here go through a real server (aiosmtpd), and dkimpy verifies what
//! the server stored, with the test keys' records in place of DNS. Dot-stuffing, line-end
//! normalisation and the session in between must leave every signature valid.

mod support;

use mailwire_blocking::message::Email;
use mailwire_blocking::Client;
use mailwire_message::dkim::{Canonicalization, DkimKey, DkimSigner};
use mailwire_testkit::{
    dkimpy_verify_or_skip, peer_or_skip, Aiosmtpd, DKIM_ED25519, DKIM_RSA_PKCS1, DKIM_RSA_PKCS8,
};
use std::time::{Duration, SystemTime};
use support::*;

const T: Duration = Duration::from_secs(10);
const DOMAIN: &str = "example.org";

fn keys() -> Vec<(&'static str, DkimKey)> {
    vec![
        ("rsa1", DkimKey::parse(DKIM_RSA_PKCS1.as_bytes()).unwrap()),
        ("rsa8", DkimKey::parse(DKIM_RSA_PKCS8.as_bytes()).unwrap()),
        ("ed", DkimKey::parse(DKIM_ED25519.as_bytes()).unwrap()),
    ]
}

fn records(keys: &[(&str, DkimKey)]) -> Vec<(String, String)> {
    keys.iter()
        .map(|(s, k)| (format!("{s}._domainkey.{DOMAIN}"), k.dns_record()))
        .collect()
}

fn email() -> Email {
    Email::builder()
        .from("Alice <alice@example.org>")
        .to("bob@example.net")
        .cc("Carol <carol@example.net>")
        .subject("Grüße, signed")
        .text(".a line starting with a dot\ntrailing space   \n\n..two dots\n.\n\n\n")
        .html("<p>Hi</p>")
        .header("List-Unsubscribe", "<https://example.org/u/1>")
        .build()
        .unwrap()
}

/// Every key form and every pair of canonicalisations: one message signed by all of them,
/// sent, stored by aiosmtpd, and every signature verified by dkimpy.
#[test]
fn signed_messages_verify_after_a_real_server_stored_them() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let keys = keys();
    let records = records(&keys);
    let email = email();
    let mut message = email.to_bytes();
    for (selector, key) in &keys {
        for (h, b) in [
            (Canonicalization::Relaxed, Canonicalization::Relaxed),
            (Canonicalization::Simple, Canonicalization::Simple),
            (Canonicalization::Relaxed, Canonicalization::Simple),
        ] {
            let signer = DkimSigner::new(DOMAIN, selector, key.clone())
                .unwrap()
                .canonicalization(h, b);
            // Each signature signs the message with the ones before it on top (the earlier
            // DKIM-Signature fields are not in h=, so all stay valid together).
            message = signer.sign_message(&message, SystemTime::now()).unwrap();
        }
    }
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    let outcome = client.send_bytes(email.envelope(), &message).unwrap();
    assert!(outcome.is_fully_accepted(), "{outcome:?}");
    client.quit().unwrap();
    let stored = &server.wait_for_messages(1, T).unwrap()[0].data;
    assert_eq!(stored, &message, "the server stored what was signed");
    let Some(results) = dkimpy_verify_or_skip(stored, &records) else {
        return;
    };
    assert_eq!(results, vec![Ok(()); 9], "one per key and canonicalisation");

    // The verifier checks something: a changed body fails every signature.
    let tampered = String::from_utf8_lossy(stored).replace("two dots", "two dotz");
    let results = dkimpy_verify_or_skip(tampered.as_bytes(), &records).unwrap();
    assert!(results.iter().all(Result::is_err), "{results:?}");
}

/// A raw message with Unix line ends and 8-bit text is signed as the session sends it
/// (CRLF), and `Email::to_signed_bytes` signs a built one; both verify as stored.
#[test]
fn raw_and_built_messages_verify() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let keys = keys();
    let records = records(&keys);
    let signer = DkimSigner::new(DOMAIN, "ed", keys[2].1.clone()).unwrap();
    let raw = "From: alice@example.org\nTo: bob@example.net\nSubject: raw\n\n\
               naïve café\n.\n..\nend without a line end"
        .as_bytes();
    let signed_raw = signer.sign_message(raw, SystemTime::now()).unwrap();
    let rsa = DkimSigner::new(DOMAIN, "rsa1", keys[0].1.clone()).unwrap();
    let built = email().to_signed_bytes(&rsa).unwrap();
    let mut client = Client::connect(options(server.port(), T)).unwrap();
    for m in [&signed_raw, &built] {
        let outcome = client
            .send_bytes(envelope("alice@example.org", &["bob@example.net"]), m)
            .unwrap();
        assert!(outcome.is_fully_accepted(), "{outcome:?}");
    }
    client.quit().unwrap();
    let stored = server.wait_for_messages(2, T).unwrap();
    assert_eq!(stored[0].data, normalised(&signed_raw));
    for m in &stored {
        let Some(results) = dkimpy_verify_or_skip(&m.data, &records) else {
            return;
        };
        assert_eq!(results, [Ok(())]);
    }
}

/// A small deterministic generator (xorshift64*), so that a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A message made to strain canonicalisation: white space of every kind in field values,
/// after colons and at line ends, folds, repeated fields, names in any case, empty lines at
/// the body's end or none, dots at line starts, 8-bit octets, and any of CRLF, LF or CR as
/// line ends.
fn strained_message(rng: &mut Rng) -> Vec<u8> {
    let ws = [" ", "  ", "\t", " \t ", ""];
    let names = [
        "From", "from", "FROM", "Subject", "subject", "To", "Cc", "X-Other", "Date",
    ];
    let ends = ["\r\n", "\n", "\r"];
    let end = rng.pick(&ends);
    let mut m = String::new();
    m.push_str(&format!(
        "From:{}a@example.org{}{end}",
        rng.pick(&ws),
        rng.pick(&ws)
    ));
    for _ in 0..rng.next() % 6 {
        let name = rng.pick(&names);
        // No white space before the colon (RFC 5322 4.5.8's obsolete form, which RFC 6376
        // 3.4.5's own example has and our unit tests cover): dkimpy refuses to parse it.
        m.push_str(&format!("{name}:{}v{}", rng.pick(&ws), rng.pick(&ws)));
        for _ in 0..rng.next() % 3 {
            m.push_str(&format!(
                "{end}{}folded{}",
                rng.pick(&[" ", "\t", "  \t"]),
                rng.pick(&ws)
            ));
        }
        m.push_str(end);
    }
    m.push_str(end);
    let words = ["word", ".", "..dots", "naïve", "\u{ff}", "x"];
    for _ in 0..rng.next() % 8 {
        for _ in 0..rng.next() % 5 {
            m.push_str(rng.pick(&ws));
            m.push_str(rng.pick(&words));
        }
        m.push_str(rng.pick(&ws));
        m.push_str(end);
    }
    for _ in 0..rng.next() % 3 {
        m.push_str(rng.pick(&ws));
        m.push_str(end);
    }
    if rng.next().is_multiple_of(4) {
        m.push_str("last line without an end");
    }
    m.into_bytes()
}

/// 240 strained messages, each signed with both keys in one of the four canonicalisation
/// pairs, then normalised as the session sends them: dkimpy verifies every signature.
#[test]
fn strained_messages_verify_under_every_canonicalisation() {
    let keys = keys();
    let records = records(&keys);
    let pairs = [
        (Canonicalization::Relaxed, Canonicalization::Relaxed),
        (Canonicalization::Simple, Canonicalization::Simple),
        (Canonicalization::Relaxed, Canonicalization::Simple),
        (Canonicalization::Simple, Canonicalization::Relaxed),
    ];
    let mut rng = Rng(0x5eed_d1c1_u64);
    let mut messages = Vec::new();
    for i in 0..240 {
        let (h, b) = pairs[i % pairs.len()];
        let mut message = strained_message(&mut rng);
        for (selector, key) in [&keys[0], &keys[2]] {
            let signer = DkimSigner::new(DOMAIN, selector, key.clone())
                .unwrap()
                .canonicalization(h, b);
            message = signer.sign_message(&message, SystemTime::now()).unwrap();
        }
        // What a server stores: the wire form, dot-stuffing undone.
        messages.push(normalised(&message));
    }
    let records: Vec<(&str, &str)> = records
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let results = match mailwire_testkit::dkimpy_verify_many(&messages, &records) {
        Ok(r) => r,
        Err(e) => return mailwire_testkit::skip_or_panic(&e),
    };
    for (i, (r, m)) in results.iter().zip(&messages).enumerate() {
        assert_eq!(
            r,
            &[Ok(()), Ok(())],
            "message {i} ({:?}): {:?}",
            pairs[i % pairs.len()],
            String::from_utf8_lossy(m)
        );
    }
}
