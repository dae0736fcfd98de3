//! The workspace README's `smtp-send` command (an HTML message with its text alternative and a
//! PDF, to one To and two Cc, over STARTTLS and AUTH LOGIN, `--verbose`), run as the README
//! writes it: the test reads the command out of README.md, replaces only the named
//! [`SUBSTITUTIONS`] (the server's address and the three file paths) and adds `--ca-file` for
//! the test's CA, then runs it against aiosmtpd requiring STARTTLS and AUTH
//! (`mailwire_testkit::readme::example_server`) and checks the transcript and the message.

mod support;

use base64::Engine as _;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailwire_testkit::readme::{code_block, example_server, PASSWORD, PDF};
use mailwire_testkit::{peer_or_skip, TempDir, TestCert};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(20);

const README: &str = include_str!("../../README.md");

/// The README's values that must differ here: (README, test) with `{port}` and `{dir}` filled in.
const SUBSTITUTIONS: [(&str, &str); 4] = [
    ("mail.example.org:587", "localhost:{port}"),
    ("~/.smtp-pass", "{dir}/smtp-pass"),
    ("report.html", "{dir}/report.html"),
    ("report.pdf", "{dir}/report.pdf"),
];

const HTML: &str = "<p>The figures are <b>attached</b>.</p>\n";

/// The first `smtp-send` command of the README's "Sending real mail" block, its `\`-continued
/// lines joined, split into words as a POSIX shell would for this simple syntax (spaces
/// separate, double quotes group; no escapes, variables or globs, which the command has none
/// of: any `$`, `\`, `'` or backquote inside a word fails the test).
fn readme_command() -> Vec<String> {
    let block = code_block(
        README,
        "## Sending real mail with `smtp-send`",
        "```sh\n",
        0,
    );
    let mut joined = String::new();
    for line in block.lines().skip_while(|l| !l.starts_with("smtp-send ")) {
        match line.strip_suffix('\\') {
            Some(head) => joined.push_str(head),
            None => {
                joined.push_str(line);
                break;
            }
        }
    }
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in joined.chars() {
        assert!(
            !"$\\'`".contains(c),
            "unsupported shell syntax {c:?} in {joined}"
        );
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {joined}");
    words.extend(word);
    words
}

#[test]
fn readme_smtp_send_command_delivers_html_with_attachment_over_auth_login() {
    let cert = TestCert::generate().unwrap();
    let server = peer_or_skip!(example_server(&cert));
    let dir = TempDir::new("readme-command").unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    std::fs::write(dir.path().join("smtp-pass"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(dir.path().join("report.html"), HTML).unwrap();
    std::fs::write(dir.path().join("report.pdf"), PDF).unwrap();

    let mut args = readme_command();
    assert_eq!(args[0], "smtp-send");
    args.remove(0);
    for (readme, test) in SUBSTITUTIONS {
        let test = test
            .replace("{port}", &server.port().to_string())
            .replace("{dir}", &d);
        let at = args.iter().position(|a| a == readme);
        let at = at.unwrap_or_else(|| panic!("the README's command has {readme}: {args:?}"));
        args[at] = test;
    }
    args.extend([
        "--ca-file".to_string(),
        cert.ca_path().to_str().unwrap().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = smtp_send(&args, &[], T);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    // The transcript: STARTTLS, then AUTH LOGIN with every payload redacted.
    for line in [
        "-> STARTTLS",
        "-> AUTH LOGIN",
        "<- 235",
        "-> RCPT TO:<dave@example.net>",
    ] {
        assert!(stderr.contains(line), "{line:?} in {stderr}");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [PASSWORD.to_string(), b64.encode(PASSWORD)] {
        assert!(!stderr.contains(&secret) && !stdout.contains(&secret));
    }
    assert!(stdout.contains("sent to 3 of 3 recipient(s)"), "{stdout}");

    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.tls);
    assert_eq!(m.auth_login.as_deref(), Some("alice"));
    assert_eq!(m.auth_mechanism.as_deref(), Some("LOGIN"));
    assert_eq!(m.mail_from, "alice@example.org");
    assert_eq!(
        m.rcpt_to,
        ["bob@example.net", "carol@example.net", "dave@example.net"]
    );

    let parsed = MessageParser::default().parse(&m.data).unwrap();
    let from = &parsed.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Alice"), Some("alice@example.org"))
    );
    let cc: Vec<_> = parsed
        .cc()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(cc, ["carol@example.net", "dave@example.net"]);
    assert_eq!(parsed.subject(), Some("Quarterly report"));
    assert_eq!(
        content_types(&parsed),
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "application/pdf"
        ]
    );
    assert!(matches!(&parsed.parts[2].body, PartType::Text(t) if t == "The figures are attached."));
    assert!(matches!(&parsed.parts[3].body, PartType::Html(h) if h.trim_end() == HTML.trim_end()));
    assert_eq!(parsed.parts[4].attachment_name(), Some("report.pdf"));
    assert!(matches!(&parsed.parts[4].body, PartType::Binary(b) if b.as_ref() == PDF));
}
