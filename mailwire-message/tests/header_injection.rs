//! Header injection and other bad input: every attempt is refused by `build` with a typed error
//! naming the field, before any byte is written (RFC 5322 2.2: a field is one line, its name
//! printable ASCII without ':'; 3.6: From, Subject and the rest at most once).

use mailwire_message::{
    AddressError, Attachment, Email, EmailBuilder, Error, Field, HeaderError, TextError,
};

fn base() -> EmailBuilder {
    Email::builder().from("a@example.org").to("b@example.net")
}

fn byte(byte: u8, at: usize) -> TextError {
    TextError::InvalidByte { byte, at }
}

#[test]
fn subject_with_line_breaks_refused() {
    for (subject, b, at) in [
        ("hi\r\nBcc: eve@example.net", b'\r', 2),
        ("hi\nBcc: eve@example.net", b'\n', 2),
        ("hi\rthere", b'\r', 2),
        ("hi\0", 0, 2),
    ] {
        let err = base().subject(subject).build().unwrap_err();
        assert!(
            matches!(&err, Error::Subject(e) if *e == byte(b, at)),
            "{subject:?}: {err:?}"
        );
    }
}

#[test]
fn extra_header_injection_refused() {
    let cases: &[(&str, &str, HeaderError)] = &[
        (
            "X-A",
            "ok\r\nBcc: eve@example.net",
            HeaderError::Value(byte(b'\r', 2)),
        ),
        (
            "X-A",
            "ok\nRCPT TO:<eve@example.net>",
            HeaderError::Value(byte(b'\n', 2)),
        ),
        ("X-A", "a\rb", HeaderError::Value(byte(b'\r', 1))),
        ("X-A", "a\0b", HeaderError::Value(byte(0, 1))),
        (
            "X-A\r\nBcc",
            "eve@example.net",
            HeaderError::Name(byte(b'\r', 3)),
        ),
        ("X-A: b", "c", HeaderError::Name(byte(b':', 3))),
        ("X A", "c", HeaderError::Name(byte(b' ', 1))),
        ("", "c", HeaderError::Name(TextError::Empty)),
        ("Grüße", "c", HeaderError::Name(byte(0xC3, 2))),
        ("Bcc", "eve@example.net", HeaderError::Reserved),
        ("bcc", "eve@example.net", HeaderError::Reserved),
        ("From", "eve@example.net", HeaderError::Reserved),
        ("TO", "eve@example.net", HeaderError::Reserved),
        ("Subject", "second", HeaderError::Reserved),
        ("Content-Type", "text/html", HeaderError::Reserved),
        ("MIME-Version", "2.0", HeaderError::Reserved),
    ];
    for (name, value, want) in cases {
        for builder in [
            base().header(*name, *value),
            base().header_text(*name, *value),
        ] {
            let err = builder.build().unwrap_err();
            assert!(
                matches!(&err, Error::Header { name: n, error } if n == name && error == want),
                "{name:?}: {value:?}: {err:?}"
            );
        }
    }
}

#[test]
fn second_date_or_message_id_refused() {
    for name in ["Date", "Message-ID"] {
        let err = base()
            .header(name, "x")
            .header(name.to_lowercase(), "y")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Header {
                    error: HeaderError::Duplicate,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn address_injection_refused() {
    let cases: &[(Field, &str)] = &[
        (Field::From, "a@example.org\r\nRCPT TO:<eve@example.net>"),
        (Field::To, "b@example.net>\r\nDATA"),
        (Field::Cc, "Carol\r\nBcc: eve@example.net <c@example.net>"),
        (Field::Bcc, "not an address"),
        (Field::ReplyTo, "a@x, b@y"),
        (Field::To, "\"Bob <bob@example.net>"),
        (Field::From, ""),
    ];
    for (field, input) in cases {
        let b = Email::builder();
        let b = match field {
            Field::From => b.from(*input).to("b@example.net"),
            Field::To => b.from("a@example.org").to(*input),
            Field::Cc => b.from("a@example.org").cc(*input),
            Field::Bcc => b.from("a@example.org").bcc(*input),
            _ => b.from("a@example.org").to("b@example.net").reply_to(*input),
        };
        let err = b.build().unwrap_err();
        assert!(
            matches!(&err, Error::Address { field: f, input: i, .. } if f == field && i == input),
            "{field}: {input:?}: {err:?}"
        );
    }
    let err = Email::builder()
        .from("a@example.org")
        .to("Bob\r\n <b@example.net>")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Address {
                error: AddressError::DisplayName(TextError::InvalidByte { byte: b'\r', at: 3 }),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn attachment_names_types_and_content_ids_checked() {
    let err = base()
        .attachment(Attachment::new("a.txt\r\nContent-Type: text/html", "x"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::FileName { error, .. } if *error == byte(b'\r', 5)),
        "{err:?}"
    );
    let err = base()
        .attachment(Attachment::new("", "x"))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::FileName {
                error: TextError::Empty,
                ..
            }
        ),
        "{err:?}"
    );
    let err = base()
        .attachment(Attachment::new("a.txt", "x").content_type("text/plain\r\nX: y"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::ContentType { error, .. } if *error == byte(b'\r', 10)),
        "{err:?}"
    );
    let err = base()
        .attachment(Attachment::new("a.txt", "x").content_type("text/plain; charset=x"))
        .build()
        .unwrap_err();
    assert!(matches!(&err, Error::ContentType { .. }), "{err:?}");
    for (cid, want) in [
        ("<logo>", byte(b'<', 0)),
        ("lo go", byte(b' ', 2)),
        ("logo\r\nX: y", byte(b'\r', 4)),
        ("", TextError::Empty),
    ] {
        let err = base()
            .html("<img src=cid:logo>")
            .inline(cid, Attachment::new("l.png", *b"png"))
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::ContentId { cid: c, error } if c == cid && *error == want),
            "{cid:?}: {err:?}"
        );
    }
    let err = base()
        .html("<img src=cid:l>")
        .inline("l", Attachment::new("a.png", *b"1"))
        .inline("l", Attachment::new("b.png", *b"2"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateContentId { cid } if cid == "l"),
        "{err:?}"
    );
    let err = base()
        .text("no html")
        .inline("l", Attachment::new("a.png", *b"1"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InlineWithoutHtml { cid } if cid == "l"),
        "{err:?}"
    );
}

#[test]
fn missing_parts_and_files() {
    assert!(matches!(
        Email::builder().to("b@example.net").build(),
        Err(Error::NoFrom)
    ));
    assert!(matches!(
        Email::builder()
            .from("a@example.org")
            .reply_to("r@example.org")
            .build(),
        Err(Error::NoRecipients)
    ));
    let err = base()
        .attach_file("/nonexistent/mailwire/report.pdf")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::ReadFile { path, .. } if path.ends_with("report.pdf")),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/mailwire/report.pdf"),
        "{err}"
    );
    assert!(matches!(
        base().attach_file("/").build(),
        Err(Error::NoFileName { .. })
    ));
}

/// Every error says what and where in its Display, and chains its cause.
#[test]
fn errors_display_their_field() {
    let err = base().header("X-A", "a\r\nb").build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "header field \"X-A\": invalid field value (CR at offset 1)"
    );
    assert!(std::error::Error::source(&err).is_some());
    let err = Email::builder()
        .from("a@example.org")
        .to("x")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("invalid To address \"x\": "),
        "{err}"
    );
}
