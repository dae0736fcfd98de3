//! The workspace README's async library example, run: the same code (checked line by line
//! against the README below) builds a message with an attachment and sends it to aiosmtpd over
//! STARTTLS (RFC 3207, the server's certificate checked against a test CA) with AUTH (RFC 4954)
//! through `mailwire-tokio`. The message aiosmtpd received is read back part by part. A missing
//! aiosmtpd skips, or fails under `SMTP_REQUIRE_PEERS=1` (CI).

use mailwire_testkit::readme::{self, PASSWORD, PDF};
use mailwire_testkit::{peer_or_skip, TempDir, TestCert};
use mailwire_tokio::mailwire::{AuthConfig, ClientName};
use mailwire_tokio::{message::Email, Client, ClientOptions};
use mailwire_tokio::{MessageOutcome, TlsOptions};

/// The README's lines that differ here: the server's address, the password, the file's path,
/// and the function's shape (a test returns what it sent).
const SUBSTITUTIONS: &[(&str, &str)] = &[
    (
        r#""mail.example.org", 587"#,
        r#""127.0.0.1", server.port()"#,
    ),
    (r#"std::env::var("SMTP_PASSWORD")?"#, "PASSWORD"),
    (r#"attach_file("report.pdf")"#, "attach_file(&report)"),
    (
        "#[tokio::main]\nasync fn main() -> Result<(), Box<dyn std::error::Error>> {",
        "",
    ),
    ("    Ok(())\n}", ""),
];

#[tokio::test]
async fn readme_async_example_sends_over_starttls_with_auth() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(readme::example_server(&cert));
    let dir = TempDir::new("readme-async-example").unwrap();
    let report = dir.path().join("report.pdf");
    std::fs::write(&report, PDF).unwrap();

    let run = async || -> Result<(Email, MessageOutcome), Box<dyn std::error::Error>> {
        // README example: begin
        let email = Email::builder()
            .from("Alice <alice@example.org>")
            .to("bob@example.net")
            .subject("Quarterly report")
            .text("The figures are attached.")
            .attach_file(&report)
            .build()?;

        let mut options = ClientOptions::new(
            "127.0.0.1",
            server.port(),
            ClientName::parse("client.example")?,
        );
        options.tls = TlsOptions::with_ca_file(cert.ca_path()); // test only: the test CA
        options.config.auth = Some(AuthConfig::password("alice", PASSWORD));
        let mut client = Client::connect(options).await?;
        let outcome = client.send_email(&email).await?;
        println!("accepted: {}", outcome.is_accepted());
        client.quit().await?;
        // README example: end
        Ok((email, outcome))
    };
    let (email, outcome) = run().await.unwrap();
    assert!(outcome.is_fully_accepted(), "{outcome:?}");

    // The envelope, over TLS, after AUTH; the message, part by part.
    readme::check_example_delivery(&server, email.message_id());
}

/// The code above is the README's async block: its lines, less comments and blank lines, after
/// [`SUBSTITUTIONS`], less the lines marked test only.
#[test]
fn readme_async_example_is_the_readme_code() {
    let readme = include_str!("../../README.md");
    let block = readme::code_block(
        readme,
        "## Sending a message from Rust",
        "```rust,no_run\n",
        1,
    );
    assert!(
        block.contains("mailwire_tokio"),
        "the second block is the async one"
    );
    readme::assert_same_code(block, SUBSTITUTIONS, include_str!("readme_example.rs"));
}
