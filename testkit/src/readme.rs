//! The README's code examples, checked against the tests that run them: a test holds the
//! example's code between `// README example: begin` and `// README example: end` markers, with
//! the few lines that must differ (the server's address, the password, a path) named as
//! substitutions, and [`assert_same_code`] fails when the two drift apart.

use crate::{Aiosmtpd, PeerError, TestCert};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use std::time::Duration;

/// The `n`th (from 0) fenced block opening with `fence` (e.g. "```rust,no_run\n") after the
/// heading `heading` in `readme`; panics (a test's failure) when there is none.
pub fn code_block<'a>(readme: &'a str, heading: &str, fence: &str, n: usize) -> &'a str {
    readme
        .split(heading)
        .nth(1)
        .and_then(|rest| rest.split(fence).nth(n + 1))
        .and_then(|rest| rest.split("\n```").next())
        .unwrap_or_else(|| panic!("no block {n} opening with {fence:?} under {heading:?}"))
}

/// The code between the test's markers.
pub fn marked_code(test_source: &str) -> &str {
    test_source
        .split("// README example: begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README example: end").next())
        .expect("the test's README example markers")
}

/// Asserts that the README `block`, after replacing each `(readme, test)` substitution, is the
/// `test` code: the same lines, less comments, blank lines, doctest-hidden lines (`# `), `use`
/// lines and lines ending in `// test only: ...`, compared with line breaks removed (rustfmt
/// may wrap a line in one and not the other). Every `use` line of the block must appear in
/// `test_source`.
pub fn assert_same_code(block: &str, substitutions: &[(&str, &str)], test_source: &str) {
    let code = |text: &str| -> String {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("# "))
            .filter(|l| !l.contains("// test only:"))
            .filter(|l| !l.starts_with("use "))
            .collect::<Vec<_>>()
            .join(" ")
            .replace("( ", "(")
            .replace(", )", ")")
            .replace(" .", ".")
    };
    let mut from_readme = block.to_string();
    for (readme, here) in substitutions {
        assert!(from_readme.contains(readme), "the README has {readme}");
        from_readme = from_readme.replace(readme, here);
    }
    assert_eq!(code(&from_readme), code(marked_code(test_source)));
    for line in block.lines().filter(|l| l.starts_with("use ")) {
        assert!(test_source.contains(line), "missing import {line}");
    }
}

/// A PDF-like attachment with octets of every kind in it (NUL, 8-bit, bare LF, lines of dots).
pub const PDF: &[u8] =
    b"%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\r\n\x00\x01\x02 binary \xff\xfe\n.\n..\nstream";

/// Checks, part by part, the message the README's library examples build and a server
/// received as `data`: From "Alice" <alice@example.org>, To bob@example.net, the subject, the
/// generated Message-ID (`message_id`, with the sender's domain) and Date, MIME-Version 1.0,
/// multipart/mixed of the UTF-8 text and `report.pdf` (application/pdf, an attachment) whose
/// bytes are exactly `attachment`.
pub fn check_report_message(data: &[u8], message_id: Option<&str>, attachment: &[u8]) {
    let parsed = MessageParser::default().parse(data).expect("a message");
    let from = parsed.from().and_then(|a| a.first()).unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Alice"), Some("alice@example.org"))
    );
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!((to.name(), to.address()), (None, Some("bob@example.net")));
    assert_eq!(parsed.subject(), Some("Quarterly report"));
    assert_eq!(parsed.message_id(), message_id);
    assert!(parsed
        .message_id()
        .is_some_and(|id| id.ends_with("@example.org")));
    assert!(parsed.date().is_some());
    assert_eq!(
        parsed.header_raw("MIME-Version").map(str::trim),
        Some("1.0")
    );
    let root = parsed.root_part().content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("mixed")));
    let leaves: Vec<_> = parsed
        .parts
        .iter()
        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
        .collect();
    assert_eq!(leaves.len(), 2);
    // The text.
    assert!(
        matches!(&leaves[0].body, PartType::Text(t) if t.trim_end() == "The figures are attached."),
        "{:?}",
        leaves[0].body
    );
    assert_eq!(
        leaves[0].content_type().unwrap().attribute("charset"),
        Some("utf-8")
    );
    // The attachment: its name, its type guessed from it, its exact bytes.
    let part = leaves[1];
    assert_eq!(part.attachment_name(), Some("report.pdf"));
    assert!(part.content_disposition().unwrap().is_attachment());
    let ct = part.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    assert!(matches!(&part.body, PartType::Binary(b) if b.as_ref() == attachment));
}

/// The password of the README examples' server.
pub const PASSWORD: &str = "correct horse, battery staple";

/// The server the README's library examples are run against: aiosmtpd with `cert`, STARTTLS
/// required, then AUTH as alice with [`PASSWORD`] required.
pub fn example_server(cert: &TestCert) -> Result<Aiosmtpd, PeerError> {
    Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .require_starttls(true)
        .auth_user("alice", PASSWORD)
        .require_auth(true)
        .start()
}

/// Checks what [`example_server`] received from a README example: one message, over TLS, after
/// AUTH as alice, from alice@example.org to bob@example.net, and that message part by part
/// ([`check_report_message`]).
pub fn check_example_delivery(server: &Aiosmtpd, message_id: Option<&str>) {
    let m = &server
        .wait_for_messages(1, Duration::from_secs(15))
        .expect("the example's message")[0];
    assert!(m.tls, "STARTTLS before the message");
    assert_eq!(m.auth_login.as_deref(), Some("alice"));
    assert_eq!(m.mail_from, "alice@example.org");
    assert_eq!(m.rcpt_to, ["bob@example.net"]);
    check_report_message(&m.data, message_id, PDF);
}
