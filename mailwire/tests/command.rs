//! Command encoding (RFC 5321 4.1.1, 4.1.2, 4.5.3.1.4) with the parameters of RFC 1870, 2852,
//! 3030, 3461, 4954, 6152, 6531, 6710 and 8689, and command injection resistance.

use mailwire::address::{ClientName, Mailbox};
use mailwire::command::{
    Argument, BodyType, Command, CommandError, DeliverBy, MailParams, Notify, OriginalRecipient,
    Param, RcptParams, Ret, MAX_AUTH_RESPONSE, MAX_COMMAND_LINE,
};
use mailwire::sasl::Mechanism;
use mailwire::xclient::Attribute;
use mailwire::Xclient;
use proptest::prelude::*;

fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse(s).unwrap()
}

fn encode(cmd: &Command<'_>) -> Result<Vec<u8>, CommandError> {
    let mut out = Vec::new();
    cmd.encode(&mut out).map(|()| out)
}

/// Encodes into a buffer that already holds bytes and checks that an error appends nothing.
fn encode_checked(cmd: &Command<'_>) -> Result<Vec<u8>, CommandError> {
    let mut out = b"previous".to_vec();
    match cmd.encode(&mut out) {
        Ok(()) => Ok(out.split_off(8)),
        Err(e) => {
            assert_eq!(out, b"previous", "nothing appended on error for {cmd:?}");
            Err(e)
        }
    }
}

/// RFC 5321 4.1.1 and the extension RFCs: every verb and parameter, byte for byte.
#[test]
fn command_known_answers() {
    let name = ClientName::parse("client.example").unwrap();
    let literal = ClientName::parse("[192.0.2.1]").unwrap();
    let from = mailbox("a@example.com");
    let to = mailbox("b@example.org");
    let quoted = mailbox("\"x y\"@[IPv6:2001:db8::1]");
    let none = MailParams::default();
    let size = {
        let mut p = MailParams::default();
        p.size = Some(12345);
        p
    };
    let seven = {
        let mut p = MailParams::default();
        p.body = Some(BodyType::SevenBit);
        p
    };
    let eight = {
        let mut p = MailParams::default();
        p.body = Some(BodyType::EightBitMime);
        p
    };
    let binary = {
        let mut p = MailParams::default();
        p.body = Some(BodyType::BinaryMime);
        p
    };
    let utf8 = {
        let mut p = MailParams::default();
        p.smtputf8 = true;
        p
    };
    let full = {
        let mut p = MailParams::default();
        p.ret = Some(Ret::Full);
        p
    };
    let hdrs = {
        let mut p = MailParams::default();
        p.ret = Some(Ret::Headers);
        p
    };
    let envid = {
        let mut p = MailParams::default();
        p.envid = Some("QQ314159 a+b=c".into());
        p
    };
    let requiretls = {
        let mut p = MailParams::default();
        p.requiretls = true;
        p
    };
    let by_r = {
        let mut p = MailParams::default();
        p.deliver_by = Some(DeliverBy {
            seconds: 120,
            return_on_expiry: true,
            trace: false,
        });
        p
    };
    let by_nt = {
        let mut p = MailParams::default();
        p.deliver_by = Some(DeliverBy {
            seconds: -60,
            return_on_expiry: false,
            trace: true,
        });
        p
    };
    let prio_neg = {
        let mut p = MailParams::default();
        p.mt_priority = Some(-9);
        p
    };
    let prio_pos = {
        let mut p = MailParams::default();
        p.mt_priority = Some(3);
        p
    };
    let extra = {
        let mut p = MailParams::default();
        p.extra = vec![
            Param::new("X-FOO", Some("bar")).unwrap(),
            Param::new("HOLDFOR", None).unwrap(),
        ];
        p
    };
    let all = {
        let mut p = MailParams::default();
        p.size = Some(1);
        p.body = Some(BodyType::EightBitMime);
        p.smtputf8 = true;
        p.ret = Some(Ret::Headers);
        p.envid = Some("id".into());
        p.requiretls = true;
        p.deliver_by = Some(DeliverBy {
            seconds: 999_999_999,
            return_on_expiry: true,
            trace: true,
        });
        p.mt_priority = Some(0);
        p.extra = vec![Param::new("XA", Some("1")).unwrap()];
        p
    };
    let rcpt_none = RcptParams::default();
    let never = {
        let mut p = RcptParams::default();
        p.notify = Some(Notify::NEVER);
        p
    };
    let all_notify = {
        let mut p = RcptParams::default();
        p.notify = Some(Notify {
            success: true,
            failure: true,
            delay: true,
        });
        p
    };
    let fail_delay = {
        let mut p = RcptParams::default();
        p.notify = Some(Notify {
            success: false,
            failure: true,
            delay: true,
        });
        p
    };
    let success = {
        let mut p = RcptParams::default();
        p.notify = Some(Notify {
            success: true,
            failure: false,
            delay: false,
        });
        p
    };
    let orcpt = {
        let mut p = RcptParams::default();
        p.notify = Some(Notify {
            success: false,
            failure: true,
            delay: false,
        });
        p.orcpt = Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: "b+x=y@example.org".into(),
        });
        p.extra = vec![Param::new("X", Some("é")).unwrap()];
        p
    };
    let orcpt_injection = {
        let mut p = RcptParams::default();
        p.orcpt = Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: "a\r\nRSET".into(),
        });
        p
    };
    let arg = Argument::new("postmaster").unwrap();
    let spaced = Argument::new("John Smith").unwrap();
    let other = Mechanism::Other("X-CUSTOM_1".into());

    let table: Vec<(Command<'_>, &[u8])> = vec![
        (Command::Ehlo(&name), b"EHLO client.example\r\n"),
        (Command::Helo(&name), b"HELO client.example\r\n"),
        (Command::Lhlo(&name), b"LHLO client.example\r\n"),
        (Command::Ehlo(&literal), b"EHLO [192.0.2.1]\r\n"),
        (
            Command::Mail {
                from: Some(&from),
                params: &none,
            },
            b"MAIL FROM:<a@example.com>\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &none,
            },
            b"MAIL FROM:<>\r\n",
        ),
        (
            Command::Mail {
                from: Some(&quoted),
                params: &none,
            },
            b"MAIL FROM:<\"x y\"@[IPv6:2001:db8::1]>\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &size,
            },
            b"MAIL FROM:<> SIZE=12345\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &seven,
            },
            b"MAIL FROM:<> BODY=7BIT\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &eight,
            },
            b"MAIL FROM:<> BODY=8BITMIME\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &binary,
            },
            b"MAIL FROM:<> BODY=BINARYMIME\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &utf8,
            },
            b"MAIL FROM:<> SMTPUTF8\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &full,
            },
            b"MAIL FROM:<> RET=FULL\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &hdrs,
            },
            b"MAIL FROM:<> RET=HDRS\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &envid,
            },
            b"MAIL FROM:<> ENVID=QQ314159+20a+2Bb+3Dc\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &requiretls,
            },
            b"MAIL FROM:<> REQUIRETLS\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &by_r,
            },
            b"MAIL FROM:<> BY=120;R\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &by_nt,
            },
            b"MAIL FROM:<> BY=-60;NT\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &prio_neg,
            },
            b"MAIL FROM:<> MT-PRIORITY=-9\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &prio_pos,
            },
            b"MAIL FROM:<> MT-PRIORITY=3\r\n",
        ),
        (
            Command::Mail {
                from: None,
                params: &extra,
            },
            b"MAIL FROM:<> X-FOO=bar HOLDFOR\r\n",
        ),
        (
            Command::Mail {
                from: Some(&from),
                params: &all,
            },
            b"MAIL FROM:<a@example.com> SIZE=1 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id \
              REQUIRETLS BY=999999999;RT MT-PRIORITY=0 XA=1\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &rcpt_none,
            },
            b"RCPT TO:<b@example.org>\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &never,
            },
            b"RCPT TO:<b@example.org> NOTIFY=NEVER\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &all_notify,
            },
            b"RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE,DELAY\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &fail_delay,
            },
            b"RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &success,
            },
            b"RCPT TO:<b@example.org> NOTIFY=SUCCESS\r\n",
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &orcpt,
            },
            "RCPT TO:<b@example.org> NOTIFY=FAILURE ORCPT=rfc822;b+2Bx+3Dy@example.org X=é\r\n"
                .as_bytes(),
        ),
        (
            Command::Rcpt {
                to: &to,
                params: &orcpt_injection,
            },
            b"RCPT TO:<b@example.org> ORCPT=rfc822;a+0D+0ARSET\r\n",
        ),
        (Command::Data, b"DATA\r\n"),
        (
            Command::Bdat {
                size: 0,
                last: true,
            },
            b"BDAT 0 LAST\r\n",
        ),
        (
            Command::Bdat {
                size: 86,
                last: false,
            },
            b"BDAT 86\r\n",
        ),
        (
            Command::Bdat {
                size: u64::MAX,
                last: false,
            },
            b"BDAT 18446744073709551615\r\n",
        ),
        (Command::Rset, b"RSET\r\n"),
        (Command::Noop(None), b"NOOP\r\n"),
        (Command::Noop(Some(&arg)), b"NOOP postmaster\r\n"),
        (Command::Vrfy(&spaced), b"VRFY John Smith\r\n"),
        (Command::Expn(&arg), b"EXPN postmaster\r\n"),
        (Command::Help(None), b"HELP\r\n"),
        (Command::Help(Some(&arg)), b"HELP postmaster\r\n"),
        (Command::Quit, b"QUIT\r\n"),
        (Command::StartTls, b"STARTTLS\r\n"),
        (
            Command::Auth {
                mechanism: &Mechanism::Plain,
                initial_response: None,
            },
            b"AUTH PLAIN\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::Plain,
                initial_response: Some(b"AHVzZXIAcGFzcw=="),
            },
            b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::Login,
                initial_response: Some(b"="),
            },
            b"AUTH LOGIN =\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::CramMd5,
                initial_response: None,
            },
            b"AUTH CRAM-MD5\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::XOAuth2,
                initial_response: None,
            },
            b"AUTH XOAUTH2\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::OAuthBearer,
                initial_response: None,
            },
            b"AUTH OAUTHBEARER\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::ScramSha1,
                initial_response: None,
            },
            b"AUTH SCRAM-SHA-1\r\n",
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::ScramSha256,
                initial_response: None,
            },
            b"AUTH SCRAM-SHA-256\r\n",
        ),
        (
            Command::Auth {
                mechanism: &other,
                initial_response: None,
            },
            b"AUTH X-CUSTOM_1\r\n",
        ),
        (Command::AuthResponse(b"dXNlcg=="), b"dXNlcg==\r\n"),
        (Command::AuthResponse(b""), b"\r\n"),
        (Command::AuthResponse(b"*"), b"*\r\n"),
    ];
    for (cmd, wire) in &table {
        assert_eq!(encode_checked(cmd).as_deref(), Ok(*wire), "{cmd:?}");
    }
}

fn invalid(what: &'static str, byte: u8, at: usize) -> CommandError {
    CommandError::InvalidByte { what, byte, at }
}

/// RFC 5321 4.1.1, 2.3.8 (CVE-2011-0411-style injection): every constructor refuses CR, LF,
/// NUL and friends with a typed error.
#[test]
fn constructors_refuse_injection() {
    let arguments: &[(&str, CommandError)] = &[
        ("", CommandError::Empty { what: "argument" }),
        ("a\r\nRSET", invalid("argument", b'\r', 1)),
        ("a\nRSET", invalid("argument", b'\n', 1)),
        ("a\rRSET", invalid("argument", b'\r', 1)),
        ("a\0", invalid("argument", 0, 1)),
        ("a\tb", invalid("argument", b'\t', 1)),
        ("a\x7f", invalid("argument", 0x7f, 1)),
        ("a\u{85}", invalid("argument", 0xC2, 1)),
        ("\r\n", invalid("argument", b'\r', 0)),
        // UTF-8 would need SMTPUTF8's forms (RFC 6531 3.7.4): refused, at its first byte.
        ("jörg", invalid("argument", 0xC3, 1)),
    ];
    for (text, expected) in arguments {
        assert_eq!(Argument::new(text).as_ref(), Err(expected), "{text:?}");
    }
    for ok in ["postmaster", "John Smith", "a\"b\\c", "<x@y>"] {
        assert_eq!(
            Argument::new(ok).map(|a| a.as_str().to_owned()),
            Ok(ok.to_owned())
        );
    }

    let params: &[(&str, Option<&str>, CommandError)] = &[
        ("", None, CommandError::Empty { what: "keyword" }),
        ("SIZE\r\n", None, invalid("keyword", b'\r', 4)),
        ("X\nRSET", None, invalid("keyword", b'\n', 1)),
        ("-X", None, invalid("keyword", b'-', 0)),
        ("X_Y", None, invalid("keyword", b'_', 1)),
        ("X Y", None, invalid("keyword", b' ', 1)),
        ("X=Y", None, invalid("keyword", b'=', 1)),
        ("X", Some(""), CommandError::Empty { what: "value" }),
        ("X", Some("a\r\nRSET"), invalid("value", b'\r', 1)),
        ("X", Some("a\0"), invalid("value", 0, 1)),
        ("X", Some("a b"), invalid("value", b' ', 1)),
        ("X", Some("a=b"), invalid("value", b'=', 1)),
        ("X", Some("a\u{9f}"), invalid("value", 0xC2, 1)),
    ];
    for (keyword, value, expected) in params {
        assert_eq!(
            Param::new(keyword, *value).as_ref(),
            Err(expected),
            "{keyword:?} {value:?}"
        );
    }
    let p = Param::new("X-9", Some("a+b<c>é")).unwrap();
    assert_eq!((p.keyword(), p.value()), ("X-9", Some("a+b<c>é")));

    assert!(Mailbox::parse("a@b\r\nRSET").is_err());
    assert!(Mailbox::parse("a\r\n@b").is_err());
    assert!(ClientName::parse("x\r\nRSET").is_err());
}

/// RFC 4954 4, RFC 3461 4, RFC 4422 3.1: the raw fields the encoder checks itself refuse
/// injection, with nothing written.
#[test]
fn encoder_refuses_injection() {
    let to = mailbox("b@example.org");
    let auth = |response: &'static [u8]| Command::AuthResponse(response);
    let cases: Vec<(Command<'_>, CommandError)> = vec![
        (auth(b"abc\r\nRSET"), invalid("auth response", b'\r', 3)),
        (auth(b"abc\n"), invalid("auth response", b'\n', 3)),
        (auth(b"\0"), invalid("auth response", 0, 0)),
        (auth(b"ab cd"), invalid("auth response", b' ', 2)),
        (auth(b"**"), invalid("auth response", b'*', 0)),
        (auth(b"*\r\n"), invalid("auth response", b'*', 0)),
        (
            Command::Auth {
                mechanism: &Mechanism::Plain,
                initial_response: Some(b"dGVzdA==\r\n"),
            },
            invalid("auth response", b'\r', 8),
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::Plain,
                initial_response: Some(b"*"),
            },
            invalid("auth response", b'*', 0),
        ),
        (
            Command::Auth {
                mechanism: &Mechanism::Plain,
                initial_response: Some(b""),
            },
            CommandError::Empty {
                what: "auth response",
            },
        ),
    ];
    for (cmd, expected) in &cases {
        assert_eq!(encode_checked(cmd).as_ref(), Err(expected), "{cmd:?}");
    }

    let mechanisms: &[(&str, CommandError)] = &[
        ("PLAIN\r\nRSET", invalid("mechanism", b'\r', 5)),
        ("PLAIN ", invalid("mechanism", b' ', 5)),
        ("plain", invalid("mechanism", b'p', 0)),
        ("", CommandError::Empty { what: "mechanism" }),
        (
            "A23456789012345678901",
            CommandError::OutOfRange { what: "mechanism" },
        ),
    ];
    for (name, expected) in mechanisms {
        let mechanism = Mechanism::Other((*name).into());
        let cmd = Command::Auth {
            mechanism: &mechanism,
            initial_response: None,
        };
        assert_eq!(encode_checked(&cmd).as_ref(), Err(expected), "{name:?}");
    }

    let envids: &[(&str, CommandError)] = &[
        ("a\r\nRSET", invalid("envid", b'\r', 1)),
        ("a\0", invalid("envid", 0, 1)),
        ("a\tb", invalid("envid", b'\t', 1)),
        ("é", invalid("envid", 0xC3, 0)),
        ("", CommandError::Empty { what: "envid" }),
    ];
    for (envid, expected) in envids {
        let params = {
            let mut p = MailParams::default();
            p.envid = Some((*envid).into());
            p
        };
        let cmd = Command::Mail {
            from: None,
            params: &params,
        };
        assert_eq!(encode_checked(&cmd).as_ref(), Err(expected), "{envid:?}");
    }

    let orcpts: &[(&str, &str, CommandError)] = &[
        ("rfc822\r\n", "a@b", invalid("orcpt addr-type", b'\r', 6)),
        ("rfc 822", "a@b", invalid("orcpt addr-type", b' ', 3)),
        ("rfc822;", "a@b", invalid("orcpt addr-type", b';', 6)),
        (
            "",
            "a@b",
            CommandError::Empty {
                what: "orcpt addr-type",
            },
        ),
        (
            "rfc822",
            "",
            CommandError::Empty {
                what: "orcpt address",
            },
        ),
    ];
    for (addr_type, address, expected) in orcpts {
        let params = {
            let mut p = RcptParams::default();
            p.orcpt = Some(OriginalRecipient {
                addr_type: (*addr_type).into(),
                address: (*address).into(),
            });
            p
        };
        let cmd = Command::Rcpt {
            to: &to,
            params: &params,
        };
        assert_eq!(
            encode_checked(&cmd).as_ref(),
            Err(expected),
            "{addr_type:?}"
        );
    }
}

/// RFC 6710 2, RFC 2852 4, RFC 3461 4.4: values out of their ranges are refused.
#[test]
fn encoder_refuses_out_of_range_values() {
    let out_of_range = |what| CommandError::OutOfRange { what };
    let by = |seconds, return_on_expiry| {
        let mut p = MailParams::default();
        p.deliver_by = Some(DeliverBy {
            seconds,
            return_on_expiry,
            trace: false,
        });
        p
    };
    let cases: Vec<(MailParams, CommandError)> = vec![
        (
            {
                let mut p = MailParams::default();
                p.mt_priority = Some(10);
                p
            },
            out_of_range("MT-PRIORITY"),
        ),
        (
            {
                let mut p = MailParams::default();
                p.mt_priority = Some(-10);
                p
            },
            out_of_range("MT-PRIORITY"),
        ),
        (
            {
                let mut p = MailParams::default();
                p.mt_priority = Some(i8::MIN);
                p
            },
            out_of_range("MT-PRIORITY"),
        ),
        (by(0, true), out_of_range("BY")),
        (by(-1, true), out_of_range("BY")),
        (by(1_000_000_000, false), out_of_range("BY")),
        (by(-1_000_000_000, false), out_of_range("BY")),
        (by(i64::MIN, false), out_of_range("BY")),
        (
            {
                let mut p = MailParams::default();
                p.envid = Some("a".repeat(101));
                p
            },
            out_of_range("envid"),
        ),
        // 34 escapes are 102 characters of xtext.
        (
            {
                let mut p = MailParams::default();
                p.envid = Some("+".repeat(34));
                p
            },
            out_of_range("envid"),
        ),
    ];
    for (params, expected) in &cases {
        let cmd = Command::Mail { from: None, params };
        assert_eq!(encode_checked(&cmd).as_ref(), Err(expected), "{params:?}");
    }
    // The edges that are allowed.
    for params in [
        by(0, false),
        by(-999_999_999, false),
        by(1, true),
        {
            let mut p = MailParams::default();
            p.envid = Some("a".repeat(100));
            p
        },
        {
            let mut p = MailParams::default();
            p.envid = Some("+".repeat(33));
            p
        },
        {
            let mut p = MailParams::default();
            p.mt_priority = Some(9);
            p
        },
    ] {
        let cmd = Command::Mail {
            from: None,
            params: &params,
        };
        assert!(encode_checked(&cmd).is_ok(), "{params:?}");
    }
    assert_eq!(
        encode(&Command::Mail {
            from: None,
            params: &by(0, false)
        })
        .unwrap(),
        b"MAIL FROM:<> BY=0;N\r\n"
    );
}

/// RFC 5321 4.5.3.1.4: 512 octets with CRLF; RFC 1870 4 adds 26 to MAIL with SIZE, RFC 3461 4
/// adds 100 to MAIL with RET/ENVID and 500 to RCPT with NOTIFY/ORCPT; RFC 4954 4 keeps AUTH at 512 but allows 12288 octets of
/// response to a challenge.
#[test]
fn encoder_enforces_line_limits() {
    let at_limit = Argument::new(&"a".repeat(MAX_COMMAND_LINE - 7)).unwrap();
    assert_eq!(
        encode(&Command::Vrfy(&at_limit)).unwrap().len(),
        MAX_COMMAND_LINE
    );
    let over = Argument::new(&"a".repeat(MAX_COMMAND_LINE - 6)).unwrap();
    assert_eq!(
        encode_checked(&Command::Vrfy(&over)),
        Err(CommandError::LineTooLong {
            len: MAX_COMMAND_LINE + 1
        })
    );

    let long_param = Param::new("X", Some(&"v".repeat(490))).unwrap();
    let params = {
        let mut p = MailParams::default();
        p.extra = vec![long_param.clone()];
        p
    };
    let from = mailbox("a@example.com");
    let cmd = Command::Mail {
        from: Some(&from),
        params: &params,
    };
    assert_eq!(cmd.max_line_len(), 512);
    assert!(matches!(
        encode_checked(&cmd),
        Err(CommandError::LineTooLong { .. })
    ));
    let params = {
        let mut p = MailParams::default();
        p.ret = Some(Ret::Full);
        p.extra = vec![long_param];
        p
    };
    let cmd = Command::Mail {
        from: Some(&from),
        params: &params,
    };
    assert_eq!(cmd.max_line_len(), 612);
    assert!(encode_checked(&cmd).is_ok());
    let sized = {
        let mut p = MailParams::default();
        p.size = Some(1);
        p.ret = Some(Ret::Full);
        p
    };
    assert_eq!(
        Command::Mail {
            from: None,
            params: &sized
        }
        .max_line_len(),
        638
    );
    assert_eq!(Command::Quit.max_line_len(), 512);

    let to = mailbox(&format!("{}@example.org", "l".repeat(64)));
    let orcpt = {
        let mut p = RcptParams::default();
        p.orcpt = Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: "+".repeat(200),
        });
        p
    };
    let cmd = Command::Rcpt {
        to: &to,
        params: &orcpt,
    };
    assert_eq!(cmd.max_line_len(), 1012);
    assert!(encode_checked(&cmd).is_ok());

    let long_b64 = vec![b'A'; 600];
    let cmd = Command::Auth {
        mechanism: &Mechanism::Plain,
        initial_response: Some(&long_b64),
    };
    assert!(matches!(
        encode_checked(&cmd),
        Err(CommandError::LineTooLong { .. })
    ));
    // "AUTH PLAIN " + 499 + CRLF is exactly 512.
    let at_limit = vec![b'A'; 499];
    let cmd = Command::Auth {
        mechanism: &Mechanism::Plain,
        initial_response: Some(&at_limit),
    };
    assert_eq!(encode_checked(&cmd).map(|l| l.len()), Ok(512));
    let over = vec![b'A'; 500];
    let cmd = Command::Auth {
        mechanism: &Mechanism::Plain,
        initial_response: Some(&over),
    };
    assert_eq!(
        encode_checked(&cmd),
        Err(CommandError::LineTooLong { len: 513 })
    );
    let max_b64 = vec![b'A'; MAX_AUTH_RESPONSE];
    assert_eq!(
        encode(&Command::AuthResponse(&max_b64)).unwrap().len(),
        MAX_AUTH_RESPONSE + 2
    );
    let too_long = vec![b'A'; MAX_AUTH_RESPONSE + 1];
    assert_eq!(
        encode_checked(&Command::AuthResponse(&too_long)),
        Err(CommandError::LineTooLong {
            len: MAX_AUTH_RESPONSE + 3
        })
    );
}

/// Errors say what went wrong and where.
#[test]
fn command_error_display() {
    let cases = [
        (CommandError::LineTooLong { len: 513 }, "513 octets"),
        (
            invalid("argument", b'\r', 3),
            "0x0D in argument at offset 3",
        ),
        (
            invalid("keyword", b'_', 1),
            "'_' (0x5F) in keyword at offset 1",
        ),
        (CommandError::Empty { what: "envid" }, "empty envid"),
        (
            CommandError::OutOfRange {
                what: "MT-PRIORITY",
            },
            "MT-PRIORITY out of range",
        ),
    ];
    for (error, needle) in cases {
        let text = error.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}

/// A line the encoder wrote: exactly one CRLF, at the end; no NUL; within the limit.
fn assert_one_line(line: &[u8], limit: usize) -> Result<(), TestCaseError> {
    prop_assert!(line.ends_with(b"\r\n"));
    let body = &line[..line.len() - 2];
    prop_assert!(!body.contains(&b'\r') && !body.contains(&b'\n') && !line.contains(&0));
    prop_assert!(line.len() <= limit);
    Ok(())
}

/// Strings that try hard to inject.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z@.\r\n\0 =:<>\"\\[\\]-]{0,40}",
        "[a-z]{1,10}(\r\n|\n|\r)(RSET|QUIT|MAIL FROM:<a@b>)",
        "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// RFC 5321 4.1.1, 4.5.3.1.4: whatever the input, a validated value either fails to build or
    /// encodes to one line: one CRLF at the end, no NUL, within 512 octets.
    #[test]
    fn encoded_lines_are_single_lines(a in hostile(), b in hostile()) {
        if let Ok(m) = Mailbox::parse(&a) {
            let params = MailParams::default();
            for cmd in [
                Command::Mail { from: Some(&m), params: &params },
                Command::Rcpt { to: &m, params: &RcptParams::default() },
            ] {
                if let Ok(line) = encode(&cmd) {
                    assert_one_line(&line, MAX_COMMAND_LINE)?;
                }
            }
        }
        if let Ok(arg) = Argument::new(&a) {
            for cmd in [Command::Vrfy(&arg), Command::Expn(&arg), Command::Noop(Some(&arg))] {
                match encode(&cmd) {
                    Ok(line) => assert_one_line(&line, MAX_COMMAND_LINE)?,
                    Err(e) => prop_assert_eq!(e.to_string().contains("too long"), true),
                }
            }
        }
        if let Ok(name) = ClientName::parse(&a) {
            assert_one_line(&encode(&Command::Ehlo(&name)).unwrap(), MAX_COMMAND_LINE)?;
        }
        for value in [None, Some(b.as_str())] {
            if let Ok(param) = Param::new(&a, value) {
                let params = { let mut p = MailParams::default(); p.extra = vec![param]; p };
                match encode(&Command::Mail { from: None, params: &params }) {
                    Ok(line) => assert_one_line(&line, MAX_COMMAND_LINE)?,
                    Err(e) => prop_assert_eq!(e.to_string().contains("too long"), true),
                }
            }
        }
        let params = { let mut p = RcptParams::default(); p.orcpt = Some(OriginalRecipient { addr_type: "rfc822".into(), address: a.clone() }); p };
        let to = mailbox("x@y");
        if let Ok(line) = encode(&Command::Rcpt { to: &to, params: &params }) {
            assert_one_line(&line, MAX_COMMAND_LINE + 500)?;
        }
        if let Ok(line) = encode(&Command::AuthResponse(a.as_bytes())) {
            assert_one_line(&line, MAX_AUTH_RESPONSE + 2)?;
        }
        if let Ok(arg) = Argument::new(&a) {
            if let Ok(line) = encode(&Command::Etrn(&arg)) {
                assert_one_line(&line, MAX_COMMAND_LINE)?;
            }
        }
    }

    /// Postfix's XCLIENT_README: any name and value either fails to build or goes on one line
    /// with the others, in xtext (no space, `+` or `=` of the value's own), and however many
    /// attributes there are, each `XCLIENT` line of `Xclient::lines` fits 512 octets and they
    /// hold every attribute once, in order.
    #[test]
    fn xclient_attributes_make_single_lines(pairs in proptest::collection::vec((hostile(), hostile()), 0..8),
                                            repeat in 1usize..200) {
        let mut x = Xclient::new();
        for (name, value) in &pairs {
            let value = value.repeat(repeat);
            if let Ok(attribute) = Attribute::new(name, &value) {
                prop_assert_eq!(attribute.value(), value.as_str());
                x.push(attribute);
            }
        }
        let lines = x.lines();
        let mut next = 0;
        for range in lines {
            prop_assert_eq!(range.start, next);
            prop_assert!(range.end > range.start);
            next = range.end;
            let line = encode(&Command::Xclient(&x.attributes()[range.clone()])).unwrap();
            assert_one_line(&line, MAX_COMMAND_LINE)?;
            let text = std::str::from_utf8(&line).unwrap();
            let words: Vec<&str> = text.trim_end().split(' ').collect();
            prop_assert_eq!(words.len(), range.len() + 1);
            for (word, attribute) in words[1..].iter().zip(&x.attributes()[range]) {
                let (name, value) = word.split_once('=').unwrap();
                prop_assert_eq!(name, attribute.name());
                prop_assert!(!value.contains('='));
                let decoded = mailwire::xtext::decode(value).unwrap();
                prop_assert_eq!(decoded, attribute.value().as_bytes());
            }
        }
        prop_assert_eq!(next, x.attributes().len());
    }
}

/// RFC 5321 4.1.2: a keyword at most once per command. An extra parameter naming a modelled
/// one (`SIZE` beside `params.size`, `NOTIFY` on RCPT) or an earlier extra is refused, not sent
/// twice.
#[test]
fn extra_parameters_cannot_repeat_a_keyword() {
    let from = Mailbox::parse("a@example.org").unwrap();
    let mail = |params: &MailParams| {
        let mut out = Vec::new();
        Command::Mail {
            from: Some(&from),
            params,
        }
        .encode(&mut out)
        .map(|()| String::from_utf8(out).unwrap())
    };
    let mut params = MailParams::default();
    params.size = Some(1);
    params.extra = vec![Param::new("size", Some("5")).unwrap()];
    assert_eq!(
        mail(&params),
        Err(CommandError::DuplicateParameter { index: 0 })
    );
    let mut params = MailParams::default();
    params.extra = vec![
        Param::new("XFOO", Some("1")).unwrap(),
        Param::new("xfoo", Some("2")).unwrap(),
    ];
    assert_eq!(
        mail(&params),
        Err(CommandError::DuplicateParameter { index: 1 })
    );
    let mut params = MailParams::default();
    params.extra = vec![Param::new("XFOO", Some("1")).unwrap()];
    assert_eq!(
        mail(&params),
        Ok("MAIL FROM:<a@example.org> XFOO=1\r\n".to_string())
    );
    let to = Mailbox::parse("b@example.net").unwrap();
    let mut rcpt = RcptParams::default();
    rcpt.extra = vec![Param::new("Notify", Some("NEVER")).unwrap()];
    let mut out = Vec::new();
    assert_eq!(
        Command::Rcpt {
            to: &to,
            params: &rcpt
        }
        .encode(&mut out),
        Err(CommandError::DuplicateParameter { index: 0 })
    );
}
