//! Any input: `build` returns a typed error or a message, never panics; a message built is one
//! mail-parser reads, with CRLF lines of at most 998 octets, and exactly the header fields asked
//! for: nothing a value held could add a field (no header injection).

mod support;

use mail_parser::MimeHeaders;
use mailwire_message::{Attachment, Email};
use proptest::prelude::*;
use support::*;

/// Text biased towards what breaks headers: CR, LF, NUL, ':', '<', '>', '"', '\', ',', '@',
/// spaces, non-ASCII, and long runs.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("\r".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\0".to_string()),
            Just(":".to_string()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(",".to_string()),
            Just("@".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("=?utf-8?q?x?=".to_string()),
            Just("Bcc: eve@example.net".to_string()),
            Just("ü".to_string()),
            Just("日本".to_string()),
            "[a-z.]{1,8}",
            "x{200,1200}",
            any::<char>().prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_input_builds_or_is_refused(
        from in prop_oneof![Just("Alice <a@example.org>".to_string()), hostile()],
        to in prop_oneof![Just("b@example.net".to_string()), hostile()],
        name in hostile(),
        subject in hostile(),
        text in hostile(),
        html in prop::option::of(hostile()),
        header_name in prop_oneof![Just("X-Test".to_string()), hostile()],
        header_value in hostile(),
        encoded in any::<bool>(),
        filename in hostile(),
        mime in prop::option::of(prop_oneof![Just("text/plain".to_string()), hostile()]),
        data in prop::collection::vec(any::<u8>(), 0..300),
        cid in prop_oneof![Just("logo".to_string()), hostile()],
    ) {
        let mut attachment = Attachment::new(filename.clone(), data.clone());
        if let Some(m) = &mime {
            attachment = attachment.content_type(m.clone());
        }
        let mut b = Email::builder()
            .from(from.as_str())
            .to(to.as_str())
            .cc(format!("{name} <c@example.net>"))
            .subject(subject.as_str())
            .text(text.as_str())
            .attachment(attachment);
        b = if encoded {
            b.header_text(header_name.as_str(), header_value.as_str())
        } else {
            b.header(header_name.as_str(), header_value.as_str())
        };
        if let Some(h) = &html {
            b = b.html(h.as_str()).inline(cid.as_str(), Attachment::new("i.png", data.clone()));
        }
        let Ok(email) = b.build() else { return Ok(()) };
        let bytes = email.to_bytes();
        let m = parse(&bytes);
        let mut want = vec!["from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type"];
        want.push(&*header_name);
        if let Some(_ct) = m.parts[0].content_transfer_encoding() {
            want.push("content-transfer-encoding");
        }
        let lower: Vec<String> = want.iter().map(|w| w.to_ascii_lowercase()).collect();
        for h in m.headers() {
            prop_assert!(
                lower.contains(&h.name().to_ascii_lowercase()),
                "unexpected field {:?} in {}", h.name(), String::from_utf8_lossy(&bytes)
            );
        }
        // mail-builder writes ASCII that looks like an RFC 2047 encoded word as it is, and
        // readers then decode it (a known limitation, in the crate docs). Leading white space
        // is one with the space after the colon (RFC 5322 2.2).
        if !subject.contains("=?") {
            prop_assert_eq!(
                m.subject().unwrap_or("").trim_start_matches([' ', '\t']),
                subject.trim_start_matches([' ', '\t'])
            );
        }
        let att = leaves(&m)
            .into_iter()
            .find(|p| p.content_disposition().is_some_and(|d| d.is_attachment()))
            .unwrap();
        // mail-parser decodes encoded words even inside a quoted parameter (as mail readers
        // do, though RFC 2231 has none there), so such a name reads back decoded.
        if !filename.contains("=?") {
            prop_assert_eq!(att.attachment_name(), Some(filename.as_str()));
        }
        prop_assert_eq!(octets(&m, att), data);
    }
}
