//! The message `smtp-send` builds with `mailwire-message` (never by hand): `--body-html` /
//! `--body-html-file` alone or with `--body` (RFC 2046 5.1.4 multipart/alternative),
//! `--attach` (base64, the file's name, the type from it or from `--attach-type`),
//! `--attach-inline` (RFC 2387 multipart/related, RFC 2392 Content-ID), non-ASCII subjects and
//! names as RFC 2047 encoded words and file names as RFC 2231 parameters. Each is checked on
//! what aiosmtpd received, parsed part by part twice: by the `mail-parser` crate and by
//! Python's `email` package (an independent decoder). Inputs that cannot go in a message are
//! refused before connecting; so is `--7bit` with 8-bit content (64).

mod support;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailwire_testkit::{peer_or_skip, Aiosmtpd, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// Bytes of every kind an attachment must carry exactly: NUL, 8-bit, CR alone, bare LF, lines
/// of dots (dot-stuffing), a line longer than 998 octets.
fn binary() -> Vec<u8> {
    let mut b =
        b"%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\r\n\x00\x01\x02\rbinary \xff\xfe\n.\n..\r\n.".to_vec();
    b.extend(std::iter::repeat_n(b'x', 1500));
    b.extend(0..=255u8);
    b
}

/// A PNG's first bytes.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00";

/// The files the tests attach, in a folder of their own.
fn files(names: &[(&str, &[u8])]) -> (TempDir, Vec<PathBuf>) {
    let dir = TempDir::new("smtp-send-mime").unwrap();
    let paths = names
        .iter()
        .map(|(name, bytes)| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect();
    (dir, paths)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The envelope most cases use.
const ALICE_TO_BOB: [&str; 4] = ["--from", "alice@example.org", "--to", "bob@example.net"];

/// `smtp-send` to `server` in plaintext with `args`.
fn send(server: &Aiosmtpd, args: &[&str]) -> Output {
    let target = format!("127.0.0.1:{}", server.port());
    let mut all = vec!["--server", &target, "--starttls", "never"];
    all.extend_from_slice(args);
    smtp_send(&all, &[], T)
}

/// [`send`] from alice to bob.
fn send_to_bob(server: &Aiosmtpd, args: &[&str]) -> Output {
    send(server, &[&ALICE_TO_BOB[..], args].concat())
}

/// `smtp-send` from alice to bob with `args`, to a listener that must never be connected to.
fn send_to_tripwire(trip: &Tripwire, args: &[&str]) -> Output {
    let target = format!("127.0.0.1:{}", trip.port);
    let server = ["--server", target.as_str()];
    smtp_send(&[&server[..], &ALICE_TO_BOB, args].concat(), &[], T)
}

/// Python's `email` package (policy `default`) reading `eml`: the subject, From, Cc and each
/// leaf part (type, disposition, file name, Content-ID, decoded bytes as hex), as JSON.
fn python_view(eml: &[u8]) -> serde_json::Value {
    const SCRIPT: &str = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
def addrs(h):
    return [[a.display_name, a.addr_spec] for a in (m[h].addresses if m[h] else [])]
parts = []
for p in m.walk():
    if p.is_multipart():
        continue
    parts.append({
        "type": p.get_content_type(),
        "disposition": p.get_content_disposition(),
        "filename": p.get_filename(),
        "cid": p["Content-ID"],
        "hex": (p.get_payload(decode=True) or b"").hex(),
    })
print(json.dumps({"subject": str(m["subject"]), "from": addrs("from"), "cc": addrs("cc"),
                  "root": m.get_content_type(), "parts": parts}))
"#;
    let python = Aiosmtpd::python().expect("aiosmtpd's Python");
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(eml).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `--body` and `--body-html-file` with an inline image and two attachments (one typed by
/// `--attach-type`, one guessed): multipart/mixed [ multipart/alternative [ text/plain,
/// multipart/related [ text/html, image/png with its Content-ID ] ], application/pdf,
/// text/csv ], every part's bytes exact.
#[test]
fn html_and_text_with_inline_image_and_attachments() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let pdf = binary();
    let csv: &[u8] = b"q,total\n1,100\n";
    let html = "<p>Figures: <img src=\"cid:logo.png\"></p>\n";
    let (_dir, paths) = files(&[
        ("report.pdf", &pdf),
        ("logo.png", PNG),
        ("figures.dat", csv),
        ("body.html", html.as_bytes()),
    ]);
    let out = send_to_bob(
        &server,
        &[
            "--subject",
            "Quarterly report",
            "--body",
            "The figures are attached.",
            "--body-html-file",
            s(&paths[3]),
            "--attach-inline",
            s(&paths[1]),
            "--attach",
            s(&paths[0]),
            "--attach-type",
            "text/csv",
            "--attach",
            s(&paths[2]),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(m.data.is_ascii(), "7-bit on the wire");

    let parsed = MessageParser::default().parse(&m.data).unwrap();
    assert_eq!(
        content_types(&parsed),
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "multipart/related",
            "text/html",
            "image/png",
            "application/pdf",
            "text/csv"
        ]
    );
    let body = |i: usize| match &parsed.parts[i].body {
        PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
        other => panic!("part {i}: {other:?}"),
    };
    assert_eq!(body(2), b"The figures are attached.");
    assert_eq!(
        String::from_utf8(body(4)).unwrap().trim_end(),
        html.trim_end()
    );
    assert_eq!(body(5), PNG);
    assert_eq!(parsed.parts[5].content_id(), Some("logo.png"));
    assert_eq!(body(6), pdf);
    assert_eq!(parsed.parts[6].attachment_name(), Some("report.pdf"));
    assert!(parsed.parts[6]
        .content_disposition()
        .unwrap()
        .is_attachment());
    assert_eq!(body(7), csv);
    assert_eq!(parsed.parts[7].attachment_name(), Some("figures.dat"));

    let py = python_view(&m.data);
    assert_eq!(py["root"], "multipart/mixed");
    let parts = py["parts"].as_array().unwrap();
    let view: Vec<(&str, Option<&str>, Option<&str>)> = parts
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap(),
                p["disposition"].as_str(),
                p["filename"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("text/plain", None, None),
            ("text/html", None, None),
            ("image/png", Some("inline"), Some("logo.png")),
            ("application/pdf", Some("attachment"), Some("report.pdf")),
            ("text/csv", Some("attachment"), Some("figures.dat")),
        ]
    );
    assert_eq!(parts[2]["cid"], "<logo.png>");
    assert_eq!(parts[2]["hex"], hex(PNG));
    assert_eq!(parts[3]["hex"], hex(&pdf));
    assert_eq!(parts[4]["hex"], hex(csv));
}

/// `--body-html` alone: the message is text/html, no multipart. `--attach-type auto` goes back
/// to guessing the type from the name.
#[test]
fn html_alone_and_attach_type_auto() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let (_dir, paths) = files(&[("a.bin", b"\x00\x01"), ("b.pdf", b"%PDF")]);
    let out = send_to_bob(&server, &["--body-html", "<b>bold</b>"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = send_to_bob(
        &server,
        &[
            "--attach-type",
            "image/x-mine",
            "--attach",
            s(&paths[0]),
            "--attach-type",
            "auto",
            "--attach",
            s(&paths[1]),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let got = server.wait_for_messages(2, T).unwrap();
    let html = python_view(&got[0].data);
    assert_eq!(html["root"], "text/html");
    // The line end the message ends with is the body's own.
    assert_eq!(html["parts"][0]["hex"], hex(b"<b>bold</b>\r\n"));
    let typed = python_view(&got[1].data);
    let types: Vec<&str> = typed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["text/plain", "image/x-mine", "application/pdf"]);
}

/// `--attach-name`: the next part goes under that name (its type guessed from it, its
/// Content-ID for an inline one), the bytes unchanged; the part after it keeps its own name.
#[test]
fn attach_name_renames_the_next_part_only() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let (_dir, paths) = files(&[("scan-0001.bin", b"%PDF-1.7 x"), ("logo.dat", PNG)]);
    let out = send_to_bob(
        &server,
        &[
            "--body-html",
            "<img src=\"cid:logo.png\">",
            "--attach-name",
            "invoice.pdf",
            "--attach",
            s(&paths[0]),
            "--attach",
            s(&paths[0]),
            "--attach-name",
            "logo.png",
            "--attach-inline",
            s(&paths[1]),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let got = server.wait_for_messages(1, T).unwrap();
    let view = python_view(&got[0].data);
    let parts: Vec<(&str, &str, &str)> = view["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["filename"].is_null())
        .map(|p| {
            (
                p["filename"].as_str().unwrap(),
                p["type"].as_str().unwrap(),
                p["hex"].as_str().unwrap(),
            )
        })
        .collect();
    let (pdf, png) = (hex(b"%PDF-1.7 x"), hex(PNG));
    assert_eq!(
        parts,
        [
            ("logo.png", "image/png", png.as_str()),
            ("invoice.pdf", "application/pdf", pdf.as_str()),
            ("scan-0001.bin", "application/octet-stream", pdf.as_str()),
        ]
    );
    let inline = view["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["filename"] == "logo.png")
        .unwrap();
    assert_eq!(inline["cid"], "<logo.png>");

    // Nothing to rename, two names for one part, a name with a line break: before connecting.
    let trip = Tripwire::new();
    for (extra, code) in [
        (vec!["--attach", s(&paths[0]), "--attach-name", "x.pdf"], 64),
        (
            vec![
                "--attach-name",
                "a",
                "--attach-name",
                "b",
                "--attach",
                s(&paths[0]),
            ],
            64,
        ),
        (
            vec![
                "--attach-name",
                "x\r\nBcc: v@example.com",
                "--attach",
                s(&paths[0]),
            ],
            65,
        ),
    ] {
        let out = send_to_tripwire(&trip, &extra);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{extra:?}: {}",
            describe(&out)
        );
    }
    assert!(!trip.was_connected());
}

/// A non-ASCII subject, display names and file name: RFC 2047 encoded words in the header
/// fields, an RFC 2231 `filename*` parameter, the whole message ASCII; both decoders give the
/// text back. The envelope carries the mailboxes alone.
#[test]
fn non_ascii_subject_names_and_file_name_are_encoded() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let name = "Überblick 2026 – März.pdf";
    let (_dir, paths) = files(&[(name, b"%PDF-1.7 \xff")]);
    // Long enough to be folded over several encoded words.
    let subject = "Grüße aus Köln: Zahlen für März, Überträge und Rückstellungen ".repeat(4);
    let subject = subject.trim_end();
    let out = send(
        &server,
        &[
            "--from",
            "Jörg Müller <joerg@example.org>",
            "--to",
            "bob@example.net",
            "--cc",
            "\"Zoë, Kasse\" <zoe@example.net>",
            "--subject",
            subject,
            "--body",
            "Anbei die Zahlen. Schöne Grüße",
            "--attach",
            s(&paths[0]),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert_eq!(m.mail_from, "joerg@example.org");
    assert_eq!(m.rcpt_to, ["bob@example.net", "zoe@example.net"]);
    assert!(m.data.is_ascii(), "{}", String::from_utf8_lossy(&m.data));
    let raw = String::from_utf8_lossy(&m.data).to_lowercase();
    let field = |n: &str| {
        raw.lines()
            .find(|l| l.starts_with(n))
            .unwrap_or_else(|| panic!("{n} in {raw}"))
            .to_string()
    };
    assert!(field("subject: ").contains("=?utf-8?"), "RFC 2047");
    assert!(field("from: ").contains("=?utf-8?"), "RFC 2047");
    assert!(raw.contains("filename*="), "RFC 2231: {raw}");
    assert!(
        raw.lines().all(|l| l.len() <= 78),
        "RFC 5322 2.1.1: folded at 78: {raw}"
    );

    let py = python_view(&m.data);
    assert_eq!(py["subject"], subject);
    assert_eq!(
        py["from"],
        serde_json::json!([["Jörg Müller", "joerg@example.org"]])
    );
    assert_eq!(
        py["cc"],
        serde_json::json!([["Zoë, Kasse", "zoe@example.net"]])
    );
    assert_eq!(py["parts"][1]["filename"], name);
    assert_eq!(py["parts"][1]["hex"], hex(b"%PDF-1.7 \xff"));
    let parsed = MessageParser::default().parse(&m.data).unwrap();
    assert_eq!(parsed.subject(), Some(subject));
    assert_eq!(parsed.parts[2].attachment_name(), Some(name));
    assert!(
        matches!(&parsed.parts[1].body, PartType::Text(t) if t == "Anbei die Zahlen. Schöne Grüße")
    );
}

/// What cannot go in a message, refused before anything is connected: an inline part without
/// HTML, an `--attach-type` nothing follows (64); an unreadable file (66); a MIME type with a
/// parameter or a line break, a file name with CR LF (a header injection attempt), a file name
/// that cannot be a Content-ID (65); `--attach` with `--message-file` (64).
#[test]
fn bad_parts_refused_before_connecting() {
    let (_dir, paths) = files(&[
        ("ok.png", PNG),
        ("evil\r\nBcc: victim@example.com.png", PNG),
        ("with space.png", PNG),
    ]);
    let trip = Tripwire::new();
    let absent = paths[0].with_file_name("absent.pdf");
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["--attach-inline", s(&paths[0])], 64),
        (
            vec!["--attach", s(&paths[0]), "--attach-type", "image/png"],
            64,
        ),
        (vec!["--attach", s(&absent)], 66),
        // Not a regular file: refused before a byte is read (it would never end).
        (vec!["--attach", "/dev/zero"], 66),
        (
            vec![
                "--attach-type",
                "text/plain; charset=x",
                "--attach",
                s(&paths[0]),
            ],
            65,
        ),
        (
            vec![
                "--attach-type",
                "text/plain\r\nBcc: x@y",
                "--attach",
                s(&paths[0]),
            ],
            65,
        ),
        (vec!["--attach", s(&paths[1])], 65),
        (
            vec![
                "--body-html",
                "<img src=cid:x>",
                "--attach-inline",
                s(&paths[2]),
            ],
            65,
        ),
        (
            vec!["--attach", s(&paths[0]), "--message-file", s(&paths[0])],
            64,
        ),
    ];
    for (extra, code) in &cases {
        let out = send_to_tripwire(&trip, extra);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{extra:?}: {}",
            describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("\r\nBcc"), "{stderr}");
    }
    assert!(!trip.was_connected(), "nothing may be connected");
}

/// `--7bit` with content that has 8-bit octets is refused before connecting, as a usage error
/// (64), naming the file (RFC 6152 3: BODY=7BIT would be untrue): a message file, and a built
/// message with an 8-bit header value. Standard input cannot be read before: the session stops
/// it (69). 7-bit content with `--7bit` goes.
#[test]
fn seven_bit_with_8bit_content_refused_before_connecting() {
    let (_dir, paths) = files(&[
        ("8bit.eml", b"Subject: x\n\nh\xc3\xa9llo\n"),
        ("7bit.eml", b"Subject: x\n\nhello\n"),
    ]);
    let trip = Tripwire::new();
    for extra in [
        &["--7bit", "--message-file", s(&paths[0])][..],
        &["--7bit", "--header", "X-Note: h\u{e9}llo"],
    ] {
        let out = send_to_tripwire(&trip, extra);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--7bit, but"), "{stderr}");
        assert!(stderr.contains("8-bit octets"), "{stderr}");
    }
    assert!(!trip.was_connected(), "refused before connecting");

    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let out = send_to_bob(&server, &["--7bit", "--message-file", s(&paths[1])]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Standard input is read once, as it is sent: the session stops it at its first 8-bit
    // octet, before any of it goes (69), and nothing is delivered.
    let target = format!("127.0.0.1:{}", server.port());
    let stdin_args = [
        &["--server", target.as_str(), "--starttls", "never"][..],
        &ALICE_TO_BOB,
    ];
    let out = smtp_send_input(
        &[&stdin_args.concat()[..], &["--7bit", "--message-file", "-"]].concat(),
        &[],
        b"Subject: x\n\nh\xc3\xa9llo\n",
        T,
    );
    assert_eq!(out.status.code(), Some(69), "{}", describe(&out));
    let m = &server.wait_for_messages(1, T).unwrap()[0];
    assert!(
        m.mail_options.iter().any(|o| o == "BODY=7BIT"),
        "{:?}",
        m.mail_options
    );
    assert_eq!(
        server.messages().unwrap().len(),
        1,
        "standard input's never arrived"
    );
}
