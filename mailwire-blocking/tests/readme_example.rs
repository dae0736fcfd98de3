//! The workspace README's first library example, run: the same code (checked line by line
//! against the README below) builds a message with an attachment and sends it to aiosmtpd over
//! STARTTLS (RFC 3207, the server's certificate checked against a test CA) with AUTH (RFC 4954).
//! The message aiosmtpd received is read back part by part with mail-parser. A missing aiosmtpd
//! skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailwire_blocking::mailwire::{AuthConfig, ClientName};
use mailwire_blocking::{message::Email, Client, ClientOptions};
use mailwire_blocking::{MessageOutcome, TlsOptions};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, TempDir, TestCert};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);
const PASSWORD: &str = "correct horse, battery staple";
/// A PDF-like attachment with every octet value in it.
const PDF: &[u8] = b"%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\r\n\x00\x01\x02 binary \xff\xfe\n.\n..\nstream";

/// The README's lines that differ here: the server's address, the password, the file's path.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    (
        r#""mail.example.org", 587"#,
        r#""127.0.0.1", server.port()"#,
    ),
    (r#"std::env::var("SMTP_PASSWORD")?"#, "PASSWORD"),
    (r#"attach_file("report.pdf")"#, "attach_file(&report)"),
];

#[test]
fn readme_example_sends_over_starttls_with_auth() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(Aiosmtpd::builder()
        .tls(cert.cert_path(), cert.key_path())
        .starttls(true)
        .require_starttls(true)
        .auth_user("alice", PASSWORD)
        .require_auth(true)
        .start());
    let dir = TempDir::new("readme-example").unwrap();
    let report = dir.path().join("report.pdf");
    std::fs::write(&report, PDF).unwrap();

    let run = || -> Result<(Email, MessageOutcome), Box<dyn std::error::Error>> {
        // README example: begin
        let email = Email::builder()
            .from("Alice <alice@example.org>")
            .to("bob@example.net")
            .subject("Quarterly report")
            .text("The figures are attached.")
            .attach_file(&report)
            .build()?;

        // Port 587: STARTTLS first (required by default, the certificate checked), then AUTH.
        let mut options = ClientOptions::new(
            "127.0.0.1",
            server.port(),
            ClientName::parse("client.example")?,
        );
        options.tls = TlsOptions::with_ca_file(cert.ca_path()); // test only: the test CA
        options.config.auth = Some(AuthConfig::password("alice", PASSWORD));
        let mut client = Client::connect(options)?;
        let outcome = client.send_email(&email)?;
        println!("accepted: {}", outcome.is_accepted());
        client.quit()?;
        // README example: end
        Ok((email, outcome))
    };
    let (email, outcome) = run().unwrap();
    assert!(outcome.is_fully_accepted(), "{outcome:?}");

    // The envelope, over TLS, after AUTH.
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.tls, "STARTTLS before the message");
    assert_eq!(m.auth_login.as_deref(), Some("alice"));
    assert_eq!(m.mail_from, "alice@example.org");
    assert_eq!(m.rcpt_to, ["bob@example.net"]);

    // The message, part by part.
    let parsed = MessageParser::default().parse(&m.data).unwrap();
    let from = parsed.from().and_then(|a| a.first()).unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Alice"), Some("alice@example.org"))
    );
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!((to.name(), to.address()), (None, Some("bob@example.net")));
    assert_eq!(parsed.subject(), Some("Quarterly report"));
    assert_eq!(parsed.message_id(), email.message_id());
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
    let attachment = leaves[1];
    assert_eq!(attachment.attachment_name(), Some("report.pdf"));
    assert!(attachment.content_disposition().unwrap().is_attachment());
    let ct = attachment.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    assert!(matches!(&attachment.body, PartType::Binary(b) if b.as_ref() == PDF));
}

/// The code above is the README's: its lines, less comments and blank lines, are the README
/// block's after [`SUBSTITUTIONS`], less the lines marked test only.
#[test]
fn readme_example_is_the_readme_code() {
    let readme = include_str!("../../README.md");
    let block = readme
        .split("## Sending a message from Rust")
        .nth(1)
        .and_then(|rest| rest.split("```rust,no_run\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .expect("the README's example block");
    let code = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("# "))
            .filter(|l| !l.ends_with("// test only: the test CA"))
            .filter(|l| !l.starts_with("use "))
            .map(str::to_string)
            .collect()
    };
    let mut from_readme = block.to_string();
    for (readme, here) in SUBSTITUTIONS {
        assert!(from_readme.contains(readme), "the README has {readme}");
        from_readme = from_readme.replace(readme, here);
    }
    let this = include_str!("readme_example.rs");
    let here = this
        .split("// README example: begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README example: end").next())
        .unwrap();
    // rustfmt may wrap a long line here: compare the code with its line breaks removed.
    let joined = |lines: Vec<String>| lines.join(" ").replace("( ", "(").replace(", )", ")");
    assert_eq!(joined(code(&from_readme)), joined(code(here)));
    // The README's imports are this file's.
    for line in block.lines().filter(|l| l.starts_with("use ")) {
        assert!(this.contains(line), "missing import {line}");
    }
}
