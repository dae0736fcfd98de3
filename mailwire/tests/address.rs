//! Validated addresses and names (RFC 5321 4.1.2, 4.1.3, 4.5.3.1; RFC 6531 3.3).

use mailwire::address::{AddressError, ClientName, Domain, Mailbox};
use proptest::prelude::*;

/// RFC 5321 4.1.2, 4.1.3, RFC 6531 3.3: valid mailboxes and how they split.
/// `(input, local part, domain, needs SMTPUTF8)`.
const VALID: &[(&str, &str, &str, bool)] = &[
    ("user@example.com", "user", "example.com", false),
    (
        "first.last@sub.example.com",
        "first.last",
        "sub.example.com",
        false,
    ),
    ("a!#$%&'*+-/=?^_`{|}~@x", "a!#$%&'*+-/=?^_`{|}~", "x", false),
    ("u@localhost", "u", "localhost", false),
    ("u@123.example", "u", "123.example", false),
    (
        "u@xn--bcher-kva.example",
        "u",
        "xn--bcher-kva.example",
        false,
    ),
    ("u@a-b.c-d", "u", "a-b.c-d", false),
    (
        "\"john doe\"@example.com",
        "\"john doe\"",
        "example.com",
        false,
    ),
    ("\"a\\\"b\"@x", "\"a\\\"b\"", "x", false),
    ("\"a\\\\b\"@x", "\"a\\\\b\"", "x", false),
    ("\"a@b\"@x", "\"a@b\"", "x", false),
    ("\"\"@x", "\"\"", "x", false),
    ("\"a.,;:<>()[]b\"@x", "\"a.,;:<>()[]b\"", "x", false),
    ("user@[192.0.2.1]", "user", "[192.0.2.1]", false),
    ("user@[0.0.0.0]", "user", "[0.0.0.0]", false),
    ("user@[255.255.255.255]", "user", "[255.255.255.255]", false),
    (
        "user@[IPv6:2001:db8::1]",
        "user",
        "[IPv6:2001:db8::1]",
        false,
    ),
    ("user@[ipv6:::1]", "user", "[ipv6:::1]", false),
    (
        "user@[IPv6:::ffff:192.0.2.1]",
        "user",
        "[IPv6:::ffff:192.0.2.1]",
        false,
    ),
    ("user@[x-tag:abc@def]", "user", "[x-tag:abc@def]", false),
    ("用户@例子.广告", "用户", "例子.广告", true),
    ("jörg@example.com", "jörg", "example.com", true),
    ("user@bücher.example", "user", "bücher.example", true),
    ("\"é x\"@x", "\"é x\"", "x", true),
];

/// RFC 5321 4.1.2: the accepted forms, the split into local part and domain, and SMTPUTF8.
#[test]
fn mailbox_valid_known_answers() {
    for &(input, local, domain, utf8) in VALID {
        let m = Mailbox::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(m.as_str(), input);
        assert_eq!(m.local_part(), local, "{input:?}");
        assert_eq!(m.domain(), domain, "{input:?}");
        assert_eq!(m.needs_smtputf8(), utf8, "{input:?}");
        assert_eq!(m.to_string(), input);
        assert_eq!(input.parse::<Mailbox>(), Ok(m));
    }
}

fn bad(byte: u8, at: usize) -> AddressError {
    AddressError::InvalidByte { byte, at }
}

/// RFC 5321 4.1.2, 4.1.3: refused inputs, with the exact error and offset.
#[test]
fn mailbox_invalid_known_answers() {
    let local = |at| AddressError::InvalidLocalPart { at };
    let domain = |at| AddressError::InvalidDomain { at };
    let table: &[(&str, AddressError)] = &[
        ("", AddressError::Empty),
        ("user", AddressError::MissingAt),
        ("\"a\"", AddressError::MissingAt),
        ("user@", domain(5)),
        ("@example.com", local(0)),
        (".user@x", local(0)),
        ("user.@x", local(4)),
        ("us..er@x", local(3)),
        ("\"abc@x", local(6)),
        ("\"a\"b@x", local(3)),
        ("\"a\\", local(3)),
        ("us er@x", bad(b' ', 2)),
        ("<user@x>", bad(b'<', 0)),
        ("user@x>", bad(b'>', 6)),
        ("a@b@c", bad(b'@', 3)),
        ("a(b)@x", bad(b'(', 1)),
        ("user@exa mple.com", bad(b' ', 8)),
        ("user@x_y", bad(b'_', 6)),
        ("\"a\\é\"@x", bad(0xC3, 3)),
        ("user@-x.com", domain(5)),
        ("user@x-.com", domain(6)),
        ("user@x..com", domain(7)),
        ("user@.x", domain(5)),
        ("user@x.", domain(6)),
        ("user@[1.2.3]", domain(6)),
        ("user@[1.2.3.4.5]", domain(14)),
        ("user@[1.2.3.256]", domain(12)),
        ("user@[1.2.3.0004]", domain(12)),
        ("user@[1..3.4]", domain(8)),
        ("user@[1.2.3.4", domain(12)),
        ("user@[1.2.3.4a]", bad(b'a', 13)),
        ("user@[ 1.2.3.4]", bad(b' ', 6)),
        ("user@[]", domain(6)),
        ("user@[IPv6:zz]", domain(11)),
        ("user@[IPv6:1.2.3.4]", domain(11)),
        ("user@[IPv6:fe80::1%eth0]", domain(11)),
        ("user@[tag:]", domain(9)),
        ("user@[:abc]", domain(6)),
        ("user@[-t:abc]", domain(6)),
        ("user@[t_g:abc]", bad(b'_', 7)),
        ("user@[tag:a[b]", bad(b'[', 11)),
        ("user@[tag:a\\b]", bad(b'\\', 11)),
        ("user@[tag:a b]", bad(b' ', 11)),
        ("user@[tag:é]", bad(0xC3, 10)),
    ];
    for (input, expected) in table {
        assert_eq!(Mailbox::parse(input).as_ref(), Err(expected), "{input:?}");
    }
}

/// RFC 5321 4.1.2, 2.3.8: CR, LF, NUL and every other control are refused anywhere, even quoted
/// or escaped, and reported at their own offset before any other problem.
#[test]
fn mailbox_refuses_controls_everywhere() {
    let table: &[(&str, AddressError)] = &[
        ("user\r\n@x", bad(b'\r', 4)),
        ("user@x\r\nRSET", bad(b'\r', 6)),
        ("user@x\nRCPT TO:<y@z>", bad(b'\n', 6)),
        ("us\0er@x", bad(0, 2)),
        ("user@x\0", bad(0, 6)),
        ("\"us\r\ner\"@x", bad(b'\r', 3)),
        ("\"a\\\r\"@x", bad(b'\r', 3)),
        ("\"a\\\0\"@x", bad(0, 3)),
        ("a\tb@x", bad(b'\t', 1)),
        ("ab@x\x7f", bad(0x7f, 4)),
        ("..\r@x", bad(b'\r', 2)),
        ("user@[1.2.3.4]\r\n", bad(b'\r', 14)),
        ("user@[tag:a\x01]", bad(1, 11)),
    ];
    for (input, expected) in table {
        assert_eq!(Mailbox::parse(input).as_ref(), Err(expected), "{input:?}");
        if let Some(at) = input.find('@') {
            let domain = &input[at + 1..];
            assert!(Domain::parse(domain).is_err() || !domain.bytes().any(|b| b < 0x20));
        }
    }
}

/// RFC 5321 4.5.3.1.1-3: local part at most 64 octets, domain at most 255, the whole mailbox
/// at most 254 (256 with the angle brackets of the path).
#[test]
fn mailbox_length_limits() {
    let l64 = "a".repeat(64);
    let l65 = "a".repeat(65);
    assert!(Mailbox::parse(&format!("{l64}@x")).is_ok());
    assert_eq!(
        Mailbox::parse(&format!("{l65}@x")),
        Err(AddressError::LocalPartTooLong)
    );
    // A label of 63 is fine, 64 is not.
    let label63 = "b".repeat(63);
    assert!(Domain::parse(&label63).is_ok());
    assert_eq!(
        Domain::parse(&"b".repeat(64)),
        Err(AddressError::InvalidDomain { at: 0 })
    );
    // 4 labels of 63 plus 3 dots = 255; one more label is too long.
    let d255 = [label63.as_str(); 4].join(".");
    assert_eq!(d255.len(), 255);
    assert!(Domain::parse(&d255).is_ok());
    assert_eq!(
        Domain::parse(&format!("{d255}.c")),
        Err(AddressError::DomainTooLong)
    );
    // 64 + 1 + 189 = 254 fits; 255 does not.
    let d189 = format!("{label63}.{label63}.{}", "c".repeat(61));
    assert_eq!(d189.len(), 189);
    assert!(Mailbox::parse(&format!("{l64}@{d189}")).is_ok());
    assert_eq!(
        Mailbox::parse(&format!("{l64}@{d189}c")),
        Err(AddressError::PathTooLong)
    );
    assert_eq!(
        Mailbox::parse(&format!("a@{d255}")),
        Err(AddressError::PathTooLong)
    );
    assert_eq!(
        Mailbox::parse(&format!("a@{d255}.c")),
        Err(AddressError::DomainTooLong)
    );
}

/// RFC 5321 4.1.2, RFC 6531 3.3: domains, U-labels and literals.
#[test]
fn domain_known_answers() {
    for (input, ascii) in [
        ("example.com", true),
        ("EXAMPLE.com", true),
        ("例子.广告", false),
        ("[192.0.2.1]", true),
        ("[IPv6:2001:db8::1]", true),
        ("x", true),
    ] {
        let d = Domain::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(d.as_str(), input);
        assert_eq!(d.is_ascii(), ascii);
        assert_eq!(d.to_string(), input);
    }
    assert_eq!(Domain::parse(""), Err(AddressError::Empty));
    assert_eq!(Domain::parse("a\r\nb"), Err(bad(b'\r', 1)));
    assert_eq!(
        Domain::parse("a..b"),
        Err(AddressError::InvalidDomain { at: 2 })
    );
    assert_eq!(Domain::parse("a@b"), Err(bad(b'@', 1)));
}

/// RFC 5321 4.1.1.1, RFC 6531 3.7.1: the EHLO name is an ASCII domain or an address literal.
#[test]
fn client_name_known_answers() {
    for input in ["mail.example.com", "localhost", "[192.0.2.1]", "[IPv6:::1]"] {
        let name = ClientName::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(name.as_str(), input);
    }
    let table: &[(&str, AddressError)] = &[
        ("", AddressError::Empty),
        ("例子.广告", bad(0xE4, 0)),
        ("a.例子", bad(0xE4, 2)),
        ("a b", bad(b' ', 1)),
        ("x\r\nMAIL FROM:<>", bad(b'\r', 1)),
        ("x.", AddressError::InvalidDomain { at: 1 }),
        ("[1.2.3]", AddressError::InvalidDomain { at: 1 }),
    ];
    for (input, expected) in table {
        assert_eq!(
            ClientName::parse(input).as_ref(),
            Err(expected),
            "{input:?}"
        );
    }
}

/// Errors say what went wrong and where.
#[test]
fn address_error_display() {
    let cases = [
        (bad(b'\r', 4), "0x0D at offset 4"),
        (bad(b'<', 0), "'<' (0x3C) at offset 0"),
        (AddressError::MissingAt, "missing '@'"),
        (
            AddressError::InvalidLocalPart { at: 3 },
            "local part at offset 3",
        ),
        (
            AddressError::InvalidDomain { at: 7 },
            "domain or address literal at offset 7",
        ),
        (AddressError::LocalPartTooLong, "64 octets"),
        (AddressError::DomainTooLong, "255 octets"),
        (AddressError::PathTooLong, "254 octets"),
        (AddressError::Empty, "empty"),
    ];
    for (error, needle) in cases {
        let text = error.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any string either fails or yields a mailbox that is the input, splits at its `@`, holds
    /// no control byte, fits the length limits and parses again to itself.
    #[test]
    fn mailbox_parse_is_total(input in prop_oneof![
        "[a-z.\"@\\[\\]:\\\\ \r\n\0é-]{0,24}",
        any::<String>(),
        "[a-z]{1,8}@[a-z]{1,8}(\\.[a-z]{1,4}){0,2}",
    ]) {
        if let Ok(m) = Mailbox::parse(&input) {
            prop_assert_eq!(m.as_str(), input.as_str());
            prop_assert_eq!(format!("{}@{}", m.local_part(), m.domain()), input.clone());
            prop_assert!(!input.bytes().any(|b| b < 0x20 || b == 0x7f));
            prop_assert!(input.len() <= 254 && m.local_part().len() <= 64);
            prop_assert_eq!(Mailbox::parse(m.as_str()), Ok(m.clone()));
            prop_assert!(Domain::parse(m.domain()).is_ok());
        }
        if let Ok(name) = ClientName::parse(&input) {
            prop_assert!(name.as_str().is_ascii());
            prop_assert!(!input.bytes().any(|b| b < 0x20 || b == 0x7f || b == b' '));
        }
    }
}
