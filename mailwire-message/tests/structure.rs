//! Messages built from typed parts, read back with mail-parser part by part: the MIME tree
//! (RFC 2046), each part's bytes, names and Content-IDs, the header fields (RFC 5322 3.6), and
//! the envelope (RFC 5321 3.3).

mod support;

use mail_parser::{HeaderForm, MimeHeaders, PartType};
use mailwire_message::{Attachment, Email};
use std::time::{Duration, UNIX_EPOCH};
use support::*;

fn names(envelope: &mailwire::Envelope) -> (String, Vec<String>) {
    (
        envelope.from.as_ref().unwrap().to_string(),
        envelope
            .recipients
            .iter()
            .map(|r| r.address.to_string())
            .collect(),
    )
}

/// Every part of a message with everything: RFC 2046 5.1.3 (mixed), 5.1.4 (alternative),
/// RFC 2387 (related), RFC 2392 (cid), RFC 2183 (Content-Disposition), RFC 5322 3.6 fields.
#[test]
fn everything_parts_and_headers() {
    let png: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let pdf = b"%PDF-1.7\r\n\x00\x01binary\xff\n".to_vec();
    let email = Email::builder()
        .from("Alice Liddell <alice@example.org>")
        .to("bob@example.net")
        .to("Doe, Jane <jane@example.net>")
        .cc("Carol <carol@example.net>")
        .bcc("dave@example.net")
        .reply_to("replies@example.org")
        .subject("Quarterly report")
        .text("Hello Bob,\n\nthe figures are attached.\n")
        .html("<p>Hello Bob,</p><p><img src=\"cid:logo@example.org\"></p>")
        .inline("logo@example.org", Attachment::new("logo.png", png.clone()))
        .attachment(Attachment::new("report.pdf", pdf.clone()))
        .attachment(Attachment::new("data.bin", vec![1, 2, 3]).content_type("application/x-mine"))
        .header("X-Mailer", "mailwire-message")
        .header("List-Unsubscribe", "<https://example.org/u?id=1>")
        .date(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .build()
        .unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);

    assert_eq!(
        tree(&m),
        "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png]],application/pdf,application/x-mine]"
    );
    let leaves = leaves(&m);
    assert_eq!(leaves.len(), 5);
    // text
    assert!(
        matches!(&leaves[0].body, PartType::Text(t) if t.replace("\r\n", "\n") == "Hello Bob,\n\nthe figures are attached.\n")
    );
    assert_eq!(
        leaves[0].content_type().unwrap().attribute("charset"),
        Some("utf-8")
    );
    // HTML
    assert!(
        matches!(&leaves[1].body, PartType::Html(h) if h.trim_end() == "<p>Hello Bob,</p><p><img src=\"cid:logo@example.org\"></p>")
    );
    // the inline image: bytes, Content-ID, disposition
    assert_eq!(leaves[2].contents(), png);
    assert_eq!(leaves[2].content_id(), Some("logo@example.org"));
    assert!(leaves[2].content_disposition().unwrap().is_inline());
    assert_eq!(
        m.parts
            .iter()
            .find(|p| p
                .content_type()
                .is_some_and(|c| c.subtype() == Some("related")))
            .unwrap()
            .content_type()
            .unwrap()
            .attribute("type"),
        Some("text/html")
    );
    // attachments: bytes, names, types
    assert_eq!(leaves[3].contents(), pdf);
    assert_eq!(leaves[3].attachment_name(), Some("report.pdf"));
    assert!(leaves[3].content_disposition().unwrap().is_attachment());
    assert_eq!(leaves[4].contents(), [1, 2, 3]);
    assert_eq!(leaves[4].attachment_name(), Some("data.bin"));

    // header fields
    assert_eq!(
        addresses(m.from()),
        [(Some("Alice Liddell".into()), "alice@example.org".into())]
    );
    assert_eq!(
        addresses(m.to()),
        [
            (None, "bob@example.net".into()),
            (Some("Doe, Jane".into()), "jane@example.net".into())
        ]
    );
    assert_eq!(
        addresses(m.cc()),
        [(Some("Carol".into()), "carol@example.net".into())]
    );
    assert_eq!(
        addresses(m.reply_to()),
        [(None, "replies@example.org".into())]
    );
    assert_eq!(count(&m, "Bcc"), 0);
    assert!(!String::from_utf8_lossy(&bytes).contains("dave"));
    assert_eq!(m.subject(), Some("Quarterly report"));
    assert_eq!(m.date().unwrap().to_timestamp(), 1_700_000_000);
    let id = m.message_id().unwrap();
    assert_eq!(Some(id), email.message_id());
    assert!(id.ends_with("@example.org"), "{id}");
    assert_eq!(raw(&m, "X-Mailer").as_deref(), Some("mailwire-message"));
    assert_eq!(
        raw(&m, "List-Unsubscribe").as_deref(),
        Some("<https://example.org/u?id=1>")
    );
    assert_eq!(raw(&m, "MIME-Version").as_deref(), Some("1.0"));
    for field in [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
    ] {
        assert_eq!(count(&m, field), 1, "{field}");
    }

    // envelope: From, then To, Cc, Bcc
    assert_eq!(
        names(&email.envelope()),
        (
            "alice@example.org".into(),
            vec![
                "bob@example.net".into(),
                "jane@example.net".into(),
                "carol@example.net".into(),
                "dave@example.net".into()
            ]
        )
    );
}

/// RFC 2046 5.1.4: text and HTML alone are one part each; both are multipart/alternative,
/// text first. No body at all is an empty text/plain.
#[test]
fn body_shapes() {
    let base = || Email::builder().from("a@example.org").to("b@example.net");
    let text = base().text("just text").build().unwrap();
    let m_bytes = text.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "text/plain");
    assert_eq!(m.body_text(0).unwrap().trim_end(), "just text");

    let html = base().html("<b>just html</b>").build().unwrap();
    let m_bytes = html.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "text/html");
    assert_eq!(m.body_html(0).unwrap().trim_end(), "<b>just html</b>");

    let both = base().text("t").html("<i>h</i>").build().unwrap();
    let m_bytes = both.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "multipart/alternative[text/plain,text/html]");

    let none = base().build().unwrap();
    let m_bytes = none.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "text/plain");

    let only_attachment = base()
        .attachment(Attachment::new("a.txt", "x"))
        .build()
        .unwrap();
    let m_bytes = only_attachment.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "multipart/mixed[text/plain]");
    assert_eq!(leaves(&m)[0].attachment_name(), Some("a.txt"));

    let html_inline = base()
        .html("<img src=cid:i>")
        .inline("i", Attachment::new("i.gif", b"GIF89a".to_vec()))
        .build()
        .unwrap();
    let m_bytes = html_inline.to_bytes();
    let m = parse(&m_bytes);
    assert_eq!(tree(&m), "multipart/related[text/html,image/gif]");
}

/// RFC 2047 (subject, display names) and RFC 2231 (file names) for non-ASCII text, read back
/// as given; a UTF-8 mailbox (RFC 6532) is written as is.
#[test]
fn non_ascii_subject_names_and_filenames() {
    let long_name = "Réunion d'équipe — résumé des décisions du trimestre et prochaines étapes du projet (version finale).pdf";
    let email = Email::builder()
        .from("Jürgen Größ <juergen@example.org>")
        .to("Zoë Ñúñez <zoe@example.net>")
        .cc("用户 <用户@例子.广告>")
        .subject(
            "Grüße aus Köln — 日本語の件名 that is long enough to need folding over several lines",
        )
        .text("Grüße, Zoë!\n")
        .html("<p>Grüße</p><img src=\"cid:bild\">")
        .inline("bild", Attachment::new("Bild ä.png", vec![0x89, b'P', 0]))
        .attachment(Attachment::new(
            "Jahresübersicht 2024.csv",
            "Monat;Umsatz\nMärz;100\n",
        ))
        .attachment(Attachment::new(long_name, b"%PDF".to_vec()))
        .header_text("Comments", "schön")
        .build()
        .unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);
    assert_eq!(
        m.subject(),
        Some(
            "Grüße aus Köln — 日本語の件名 that is long enough to need folding over several lines"
        )
    );
    assert_eq!(
        addresses(m.from()),
        [(Some("Jürgen Größ".into()), "juergen@example.org".into())]
    );
    assert_eq!(
        addresses(m.to()),
        [(Some("Zoë Ñúñez".into()), "zoe@example.net".into())]
    );
    assert_eq!(
        addresses(m.cc()),
        [(Some("用户".into()), "用户@例子.广告".into())]
    );
    assert_eq!(
        m.body_text(0).unwrap().replace("\r\n", "\n"),
        "Grüße, Zoë!\n"
    );
    let leaves = leaves(&m);
    assert_eq!(leaves[2].attachment_name(), Some("Bild ä.png"));
    assert_eq!(leaves[2].contents(), [0x89, b'P', 0]);
    assert_eq!(
        leaves[3].attachment_name(),
        Some("Jahresübersicht 2024.csv")
    );
    assert_eq!(leaves[3].contents(), "Monat;Umsatz\nMärz;100\n".as_bytes());
    assert_eq!(leaves[4].attachment_name(), Some(long_name));
    assert_eq!(
        m.header("Comments").and_then(|v| v.as_text()),
        Some("schön")
    );
    assert_eq!(
        m.header_as("Comments", HeaderForm::Text)[0].as_text(),
        Some("schön")
    );
    // RFC 2231 on the wire for the file names, RFC 2047 for the subject: no raw UTF-8 there.
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("filename*=UTF-8''Jahres%C3%BCbersicht%202024.csv"),
        "{text}"
    );
    assert!(text.contains("Subject: =?utf-8?"), "{text}");
}

/// The bytes of an attachment or a text body arrive exactly, whatever they hold: every octet
/// value, bare LF, bare CR, NUL, CRLF, trailing spaces, a line of 5000 octets, a line that is
/// just "." (RFC 5321 4.5.2 is the session's business, not the message's).
#[test]
fn attachment_and_body_bytes_arrive_exactly() {
    let every_octet: Vec<u8> = (0..=255u8).collect();
    let awkward_text = format!(
        "a\nb\r\nc\rd\0e  \n.\n..\nFrom x\n{}\nend ",
        "long".repeat(1250)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("every.bin", every_octet.clone()),
        ("every.txt", every_octet),
        ("awkward.txt", awkward_text.clone().into_bytes()),
        ("awkward.csv", awkward_text.clone().into_bytes()),
        ("empty.txt", Vec::new()),
    ];
    let mut builder = Email::builder()
        .from("a@example.org")
        .to("b@example.net")
        .text(awkward_text.clone());
    for (name, data) in &cases {
        builder = builder.attachment(Attachment::new(*name, data.clone()));
    }
    let email = builder.build().unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);
    let leaves = leaves(&m);
    assert_eq!(leaves.len(), cases.len() + 1);
    // A text body keeps its characters; only its line ends may become CRLF.
    let body = m.body_text(0).unwrap();
    assert_eq!(body, awkward_text, "text body");
    for ((name, data), part) in cases.iter().zip(&leaves[1..]) {
        assert_eq!(part.attachment_name(), Some(*name));
        assert_eq!(octets(&m, part), &data[..], "{name}");
    }
}

/// A file attached by path: its name and bytes; a type guessed from the name.
#[test]
fn attach_file_reads_at_build() {
    let dir = std::env::temp_dir().join(format!("mailwire-message-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Bericht Q3.pdf");
    std::fs::write(&path, b"%PDF-1.4 \x00\xff").unwrap();
    let email = Email::builder()
        .from("a@example.org")
        .to("b@example.net")
        .text("see attachment")
        .attach_file(&path)
        .build()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);
    assert_eq!(tree(&m), "multipart/mixed[text/plain,application/pdf]");
    let part = leaves(&m)[1];
    assert_eq!(part.attachment_name(), Some("Bericht Q3.pdf"));
    assert_eq!(part.contents(), b"%PDF-1.4 \x00\xff");
}

/// RFC 5321 3.3: one RCPT per mailbox, To then Cc then Bcc, duplicates dropped (the same
/// mailbox under another display name too); Reply-To is no recipient.
#[test]
fn envelope_order_and_duplicates() {
    let email = Email::builder()
        .from("Alice <alice@example.org>")
        .to("bob@example.net")
        .to("Bob again <bob@example.net>")
        .cc("carol@example.net")
        .cc("bob@example.net")
        .bcc("carol@example.net")
        .bcc("dave@example.net")
        .reply_to("erin@example.net")
        .build()
        .unwrap();
    assert_eq!(
        names(&email.envelope()),
        (
            "alice@example.org".into(),
            vec![
                "bob@example.net".into(),
                "carol@example.net".into(),
                "dave@example.net".into()
            ]
        )
    );
    // Bcc only: no To field at all, but a recipient.
    let email = Email::builder()
        .from("a@example.org")
        .bcc("hidden@example.net")
        .build()
        .unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);
    assert_eq!(count(&m, "To"), 0);
    assert_eq!(count(&m, "Bcc"), 0);
    assert_eq!(names(&email.envelope()).1, ["hidden@example.net"]);
}

/// RFC 5322 3.6.1, 3.6.4: a Date and a Message-ID, fixed at build (the same bytes' headers on
/// every write, so a retry is the same message), the id's domain the sender's; an extra Date
/// or Message-ID replaces the generated one, in any letter case.
#[test]
fn date_and_message_id() {
    let email = Email::builder()
        .from("a@[192.0.2.1]")
        .to("b@example.net")
        .build()
        .unwrap();
    let id = email.message_id().unwrap().to_string();
    assert!(id.ends_with("@[192.0.2.1]"), "{id}");
    let (one, two) = (email.to_bytes(), email.to_bytes());
    let (m1, m2) = (parse(&one), parse(&two));
    assert_eq!(m1.message_id(), Some(id.as_str()));
    assert_eq!(m2.message_id(), Some(id.as_str()));
    assert_eq!(raw(&m1, "Date"), raw(&m2, "Date"));
    let other = Email::builder()
        .from("a@example.org")
        .to("b@example.net")
        .build()
        .unwrap();
    assert_ne!(other.message_id(), email.message_id());

    let given = Email::builder()
        .from("a@example.org")
        .to("b@example.net")
        .header("message-id", "<thread-1@example.org>")
        .header("DATE", "Mon, 1 Jan 2024 00:00:00 +0000")
        .build()
        .unwrap();
    assert_eq!(given.message_id(), None);
    let bytes = given.to_bytes();
    let m = parse(&bytes);
    assert_eq!(m.message_id(), Some("thread-1@example.org"));
    assert_eq!(m.date().unwrap().to_timestamp(), 1_704_067_200);
    assert_eq!(count(&m, "Message-ID"), 1);
    assert_eq!(count(&m, "Date"), 1);
}

/// RFC 5322 2.1.1: long values fold into lines of at most 998 octets (checked by `parse`) and
/// read back whole.
#[test]
fn long_values_fold() {
    let subject = "word ".repeat(400);
    let name = "Name ".repeat(100);
    let value = format!("{} {}", "v".repeat(900), "w".repeat(900));
    let email = Email::builder()
        .from(format!("{} <a@example.org>", name.trim()))
        .to("b@example.net")
        .subject(subject.trim())
        .header("X-Long", value.as_str())
        .header_text("X-Long-Text", "ü".repeat(600))
        .build()
        .unwrap();
    let bytes = email.to_bytes();
    let m = parse(&bytes);
    assert_eq!(m.subject(), Some(subject.trim()));
    assert_eq!(addresses(m.from())[0].0.as_deref(), Some(name.trim()));
    assert_eq!(
        m.header_as("X-Long-Text", HeaderForm::Text)[0].as_text(),
        Some("ü".repeat(600).as_str())
    );
    assert_eq!(
        raw(&m, "X-Long").map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")),
        Some(value)
    );
}

/// `write_to` writes what `to_bytes` gives (but for the MIME boundaries, fresh on each write).
#[test]
fn write_to_matches_to_bytes() {
    let email = Email::builder()
        .from("a@example.org")
        .to("b@example.net")
        .subject("s")
        .text("t")
        .build()
        .unwrap();
    let mut out = Vec::new();
    email.write_to(&mut out).unwrap();
    assert_eq!(out, email.to_bytes());
}

/// `Attachment::from_path` takes regular files only: `/dev/zero` (which would never end) and a
/// directory are `ReadFile` errors at once, with the cause said.
#[test]
fn attachment_from_a_device_or_directory_is_refused() {
    use mailwire_message::{Attachment, Error};
    for path in ["/dev/zero", "/tmp"] {
        match Attachment::from_path(path) {
            Err(Error::ReadFile { source, .. }) => {
                assert_eq!(
                    source.kind(),
                    std::io::ErrorKind::InvalidInput,
                    "{path}: {source}"
                );
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}
