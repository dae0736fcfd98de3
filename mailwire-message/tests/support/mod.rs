//! Reading a built message back with mail-parser, part by part.
#![allow(dead_code)]

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// Parses `bytes`, after checking what every message must be on the wire: CRLF line ends
/// only, no NUL, every line at most 998 octets (RFC 5322 2.1.1, 2.3).
pub fn parse(bytes: &[u8]) -> Message<'_> {
    check_lines(bytes);
    MessageParser::default()
        .parse(bytes)
        .expect("mail-parser reads the message")
}

pub fn check_lines(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!bytes.contains(&0), "NUL in {text}");
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}: {text}"),
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}: {text}"),
            _ => {}
        }
    }
    for line in bytes.split(|&b| b == b'\n') {
        assert!(line.len() <= 999, "line of {} octets: {text}", line.len());
    }
}

/// The MIME tree as text: `multipart/mixed[text/plain,image/png]`.
pub fn tree(m: &Message<'_>) -> String {
    fn walk(m: &Message<'_>, part: &MessagePart<'_>, out: &mut String) {
        let ct = part.content_type().expect("every part has a Content-Type");
        out.push_str(&format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")));
        if let PartType::Multipart(ids) = &part.body {
            out.push('[');
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                walk(m, &m.parts[*id as usize], out);
            }
            out.push(']');
        }
    }
    let mut out = String::new();
    walk(m, &m.parts[0], &mut out);
    out
}

/// The leaf parts, in order.
pub fn leaves<'a>(m: &'a Message<'a>) -> Vec<&'a MessagePart<'a>> {
    m.parts
        .iter()
        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
        .collect()
}

/// A header field's raw value (unfolded, trimmed), `None` when absent.
pub fn raw<'a>(m: &'a Message<'a>, name: &str) -> Option<String> {
    m.header_raw(name.to_string())
        .map(|v| v.replace("\r\n", "").trim().to_string())
}

/// How many times the top-level header section has a field named `name`.
pub fn count(m: &Message<'_>, name: &str) -> usize {
    m.headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .count()
}

/// The addresses of a field as (name, address) pairs.
pub fn addresses(a: Option<&mail_parser::Address<'_>>) -> Vec<(Option<String>, String)> {
    a.map(|a| {
        a.iter()
            .map(|x| {
                (
                    x.name().map(str::to_string),
                    x.address().unwrap_or("").to_string(),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// A leaf part's octets, decoded from the wire by mail-parser's own decoders by its
/// Content-Transfer-Encoding (mail-parser's `contents()` gives `text/*` parts as text,
/// converted from their charset, not as the octets sent).
pub fn octets(m: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    let body = &m.raw_message[part.offset_body as usize..part.offset_end as usize];
    match part
        .content_transfer_encoding()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("base64") => mail_parser::decoders::base64::base64_decode(body).expect("base64"),
        Some("quoted-printable") => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
                .expect("quoted-printable")
        }
        _ => body.to_vec(),
    }
}
