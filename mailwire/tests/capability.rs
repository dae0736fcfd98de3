//! Capabilities from real EHLO replies (RFC 5321 4.1.1.1 and the extension RFCs), parsed from
//! wire bytes through the reply parser.

use mailwire::sasl::Mechanism;
use mailwire::{Capabilities, Code, Extension, ParserConfig, Reply, ReplyParser, Status};

/// Parses one EHLO reply from wire bytes, then its capabilities.
fn ehlo(wire: &[u8]) -> Capabilities {
    let mut parser = ReplyParser::new(ParserConfig::LENIENT);
    let mut reply = Reply::default();
    assert_eq!(
        parser.parse(wire, &mut reply),
        Ok(Status::Complete {
            consumed: wire.len()
        })
    );
    assert_eq!(reply.code(), Code::OK);
    Capabilities::from_ehlo_reply(&reply)
}

fn ext(keyword: &str, params: &[&str]) -> Extension {
    Extension {
        keyword: keyword.to_string(),
        params: params.iter().map(|p| p.to_string()).collect(),
    }
}

/// Postfix's smtp-sink test server: a bare `SIZE`, its X-keywords, and a last line `250 ` with no
/// keyword at all (RFC 1870 4: SIZE without a number announces no fixed limit).
#[test]
fn postfix_smtp_sink_ehlo() {
    let caps = ehlo(
        b"250-sink.example.com\r\n\
          250-PIPELINING\r\n\
          250-8BITMIME\r\n\
          250-AUTH PLAIN LOGIN\r\n\
          250-XCLIENT NAME HELO\r\n\
          250-XFORWARD NAME ADDR PROTO HELO\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-SIZE\r\n\
          250-DSN\r\n\
          250-SMTPUTF8\r\n\
          250 \r\n",
    );
    let expected = {
        let mut p = Capabilities::default();
        p.server_domain = "sink.example.com".into();
        p.size = Some(mailwire::SizeLimit::NoLimit);
        p.eight_bit_mime = true;
        p.smtputf8 = true;
        p.pipelining = true;
        p.dsn = true;
        p.enhanced_status_codes = true;
        p.auth = vec![Mechanism::Plain, Mechanism::Login];
        p.unknown = vec![
            ext("XCLIENT", &["NAME", "HELO"]),
            ext("XFORWARD", &["NAME", "ADDR", "PROTO", "HELO"]),
        ];
        p
    };
    assert_eq!(caps, expected);
    assert_eq!(caps.max_size(), None);
}

/// Exim 4.96 on a plain connection: SIZE limit, CHUNKING (RFC 3030), AUTH (RFC 4954), HELP.
#[test]
fn exim_4_96_ehlo() {
    let caps = ehlo(
        b"250-mail.example.org Hello client.example.com [192.0.2.1]\r\n\
          250-SIZE 52428800\r\n\
          250-8BITMIME\r\n\
          250-PIPELINING\r\n\
          250-CHUNKING\r\n\
          250-SMTPUTF8\r\n\
          250-STARTTLS\r\n\
          250-AUTH CRAM-MD5 PLAIN LOGIN\r\n\
          250 HELP\r\n",
    );
    let expected = {
        let mut p = Capabilities::default();
        p.server_domain = "mail.example.org".into();
        p.size = Some(mailwire::SizeLimit::Max(52_428_800));
        p.eight_bit_mime = true;
        p.smtputf8 = true;
        p.pipelining = true;
        p.chunking = true;
        p.starttls = true;
        p.auth = vec![Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];
        p.unknown = vec![ext("HELP", &[])];
        p
    };
    assert_eq!(caps, expected);
    assert_eq!(caps.max_size(), Some(52_428_800));
    assert!(caps.has("help"));
    assert!(caps.offers_auth(&Mechanism::CramMd5));
    assert!(!caps.offers_auth(&Mechanism::XOAuth2));
}

/// Gmail: the greeting line has free text after the domain (RFC 5321 4.1.1.1 `ehlo-greet`).
#[test]
fn gmail_style_ehlo() {
    let caps = ehlo(
        b"250-smtp.gmail.com at your service, [1.2.3.4]\r\n\
          250-SIZE 35882577\r\n\
          250-8BITMIME\r\n\
          250-STARTTLS\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-PIPELINING\r\n\
          250-CHUNKING\r\n\
          250 SMTPUTF8\r\n",
    );
    let expected = {
        let mut p = Capabilities::default();
        p.server_domain = "smtp.gmail.com".into();
        p.size = Some(mailwire::SizeLimit::Max(35_882_577));
        p.eight_bit_mime = true;
        p.smtputf8 = true;
        p.pipelining = true;
        p.chunking = true;
        p.enhanced_status_codes = true;
        p.starttls = true;
        p
    };
    assert_eq!(caps, expected);
}

/// Exchange / Outlook: `AUTH=LOGIN` (the pre-RFC 4954 form) next to `AUTH`, merged without
/// duplicates; `X-` keywords kept as unknown extensions with their parameters.
#[test]
fn outlook_style_ehlo_with_old_auth_form_and_x_keywords() {
    let caps = ehlo(
        b"250-BN8PR12CA0001.outlook.office365.com Hello [203.0.113.9]\r\n\
          250-SIZE 157286400\r\n\
          250-PIPELINING\r\n\
          250-DSN\r\n\
          250-ENHANCEDSTATUSCODES\r\n\
          250-AUTH LOGIN XOAUTH2\r\n\
          250-AUTH=LOGIN\r\n\
          250-8BITMIME\r\n\
          250-BINARYMIME\r\n\
          250-CHUNKING\r\n\
          250-SMTPUTF8\r\n\
          250-X-ANONYMOUSTLS\r\n\
          250-XRDST\r\n\
          250 X-EXPS GSSAPI NTLM\r\n",
    );
    let expected = {
        let mut p = Capabilities::default();
        p.server_domain = "BN8PR12CA0001.outlook.office365.com".into();
        p.size = Some(mailwire::SizeLimit::Max(157_286_400));
        p.eight_bit_mime = true;
        p.binary_mime = true;
        p.smtputf8 = true;
        p.pipelining = true;
        p.chunking = true;
        p.dsn = true;
        p.enhanced_status_codes = true;
        p.auth = vec![Mechanism::Login, Mechanism::XOAuth2];
        p.unknown = vec![
            ext("X-ANONYMOUSTLS", &[]),
            ext("XRDST", &[]),
            ext("X-EXPS", &["GSSAPI", "NTLM"]),
        ];
        p
    };
    assert_eq!(caps, expected);
    assert!(caps.has("x-exps"));
    assert!(caps.has("X-ANONYMOUSTLS"));
    assert!(!caps.has("STARTTLS"));
}

/// Only the old form: `AUTH=LOGIN PLAIN` alone is AUTH with both mechanisms (RFC 4954 predates
/// servers that still send it).
#[test]
fn old_auth_equals_form_alone() {
    let caps = ehlo(b"250-mx.example\r\n250 AUTH=LOGIN PLAIN\r\n");
    assert_eq!(caps.auth, vec![Mechanism::Login, Mechanism::Plain]);
    assert!(caps.has("AUTH"));
    assert!(caps.unknown.is_empty());
}

/// RFC 5321 2.4: keywords are case-insensitive; unknown ones are stored upper-cased, their
/// parameters as sent.
#[test]
fn lower_case_keywords() {
    let caps = ehlo(
        b"250-mx.example.net\r\n\
          250-size 1000\r\n\
          250-starttls\r\n\
          250-auth plain login cram-md5 scram-sha-256 Scram-Sha-1 oauthbearer xoauth2 gssapi\r\n\
          250-Pipelining\r\n\
          250-deliverby 240\r\n\
          250-mt-priority Mixer\r\n\
          250-requiretls\r\n\
          250 x-custom Param-One\r\n",
    );
    assert_eq!(caps.max_size(), Some(1000));
    assert!(caps.starttls && caps.pipelining && caps.requiretls);
    assert_eq!(
        caps.auth,
        vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::ScramSha256,
            Mechanism::ScramSha1,
            Mechanism::OAuthBearer,
            Mechanism::XOAuth2,
            Mechanism::Other("GSSAPI".into()),
        ]
    );
    assert_eq!(caps.deliver_by, Some(Some(240)));
    assert_eq!(caps.mt_priority, Some(Some("Mixer".into())));
    assert_eq!(caps.unknown, vec![ext("X-CUSTOM", &["Param-One"])]);
    for keyword in [
        "SIZE",
        "size",
        "StartTLS",
        "AUTH",
        "DELIVERBY",
        "mt-priority",
        "X-CUSTOM",
    ] {
        assert!(caps.has(keyword), "{keyword}");
    }
    for keyword in ["CHUNKING", "DSN", "8BITMIME", "X-OTHER", ""] {
        assert!(!caps.has(keyword), "{keyword}");
    }
}

/// RFC 5321 4.1.1.1: a line whose first word is not `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` is
/// ignored; the lines around it still count.
#[test]
fn garbage_lines_are_ignored() {
    let caps = ehlo(
        b"250-mx.example\r\n\
          250--DASH-FIRST\r\n\
          250-UNDER_SCORE\r\n\
          250-\xc3\x84\xc3\x96\r\n\
          250-SIZE\xff 100\r\n\
          250-=AUTH\r\n\
          250-FOO=BAR\r\n\
          250-\r\n\
          250-   \r\n\
          250-\t\r\n\
          250 8BITMIME\r\n",
    );
    let expected = {
        let mut p = Capabilities::default();
        p.server_domain = "mx.example".into();
        p.eight_bit_mime = true;
        p
    };
    assert_eq!(caps, expected);
}

/// RFC 1870 4: `SIZE` alone and `SIZE 0` mean no fixed limit; a number we cannot read is treated
/// the same rather than refusing mail.
#[test]
fn size_parameter_forms() {
    use mailwire::SizeLimit::{Max, NoLimit};
    let cases: [(&[u8], Option<mailwire::SizeLimit>); 7] = [
        (b"250 SIZE 0\r\n", Some(NoLimit)),
        (b"250 SIZE\r\n", Some(NoLimit)),
        (b"250 SIZE abc\r\n", Some(NoLimit)),
        (b"250 SIZE -5\r\n", Some(NoLimit)),
        (b"250 SIZE 18446744073709551616\r\n", Some(NoLimit)),
        (b"250 SIZE 18446744073709551615\r\n", Some(Max(u64::MAX))),
        (b"250 SIZE   10240000  \r\n", Some(Max(10_240_000))),
    ];
    for (line, size) in cases {
        let wire = [b"250-mx\r\n".as_slice(), line].concat();
        assert_eq!(
            ehlo(&wire).size,
            size,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// RFC 2852 (DELIVERBY) and RFC 6710 (MT-PRIORITY): the parameter is optional.
#[test]
fn optional_parameters_of_deliverby_and_mt_priority() {
    let caps = ehlo(b"250-mx\r\n250-DELIVERBY\r\n250 MT-PRIORITY\r\n");
    assert_eq!(caps.deliver_by, Some(None));
    assert_eq!(caps.mt_priority, Some(None));
    let caps = ehlo(b"250-mx\r\n250-DELIVERBY soon\r\n250 MT-PRIORITY STANAG4406 extra\r\n");
    assert_eq!(caps.deliver_by, Some(None));
    assert_eq!(caps.mt_priority, Some(Some("STANAG4406".into())));
    let caps = ehlo(b"250 mx\r\n");
    assert_eq!(caps.deliver_by, None);
    assert_eq!(caps.mt_priority, None);
}

/// RFC 5321 4.1.1.1: a one-line EHLO reply advertises nothing; a greeting without a domain or
/// with non-UTF-8 bytes still gives a (lossy) `server_domain`.
#[test]
fn greeting_line_forms() {
    assert_eq!(ehlo(b"250 mx.example.com\r\n"), {
        let mut p = Capabilities::default();
        p.server_domain = "mx.example.com".into();
        p
    });
    assert_eq!(ehlo(b"250\r\n").server_domain, "");
    assert_eq!(ehlo(b"250 \r\n").server_domain, "");
    assert_eq!(
        ehlo(b"250 m\xffx greets you\r\n").server_domain,
        "m\u{fffd}x"
    );
    assert_eq!(
        ehlo(b"250   spaced.example\r\n").server_domain,
        "spaced.example"
    );
    assert_eq!(
        Capabilities::from_ehlo_reply(&Reply::default()),
        Capabilities::default()
    );
}

/// RFC 2033 4.3: an LHLO reply has the same shape as an EHLO reply.
#[test]
fn lhlo_reply_parses_like_ehlo() {
    let reply = Reply::new(
        Code::OK,
        &[
            "lmtp.example.org",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
        ],
    );
    let caps = Capabilities::from_ehlo_reply(&reply);
    assert_eq!(caps.server_domain, "lmtp.example.org");
    assert!(caps.pipelining && caps.enhanced_status_codes && caps.eight_bit_mime);
}
