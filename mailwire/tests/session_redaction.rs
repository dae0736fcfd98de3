//! Credentials never appear in a transcript line, an event's `Debug`, an error's `Display` or the
//! client's own `Debug`, for every AUTH mechanism, successful or not (STYLE.md habit 5; RFC 4954
//! 14 security considerations).

mod support;

use base64::Engine;
use support::{run_transcript, Split};

const PASSWORD: &str = "hunter2-Very-Secret";

fn forbidden() -> Vec<String> {
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let mut v = vec![PASSWORD.to_string(), b64(PASSWORD.as_bytes())];
    v.push(b64(format!("\0alice\0{PASSWORD}").as_bytes()));
    // The base64 of the password at every alignment inside a longer payload.
    for pad in ["", "x", "xx"] {
        let enc = b64(format!("{pad}{PASSWORD}").as_bytes());
        let skip = (pad.len() * 4).div_ceil(3) + 1;
        v.push(enc[skip..enc.len().saturating_sub(4)].to_string());
    }
    v
}

fn check(name: &str, transcript: &str) {
    let runner = run_transcript(name, transcript, Split::Whole);
    let mut haystack = String::new();
    for e in &runner.all_events {
        haystack.push_str(&format!("{e:?}\n"));
        if let mailwire::Event::Transcript(t) = e {
            haystack.push_str(&String::from_utf8_lossy(&t.line));
            haystack.push('\n');
        }
        if let mailwire::Event::Closed(Err(err)) = e {
            haystack.push_str(&format!("{err}\n"));
        }
    }
    haystack.push_str(&format!("{:?}", runner.client));
    for f in forbidden() {
        assert!(!haystack.contains(&f), "{name}: found {f:?} in\n{haystack}");
    }
    assert!(
        haystack.contains("<redacted>"),
        "{name}: the transcript shows no redaction"
    );
}

#[test]
fn plain_login_and_cram_md5_never_show_the_password() {
    let greeting = "S: 220 mx.example ESMTP\nC: EHLO client.example\n";
    for (mech, exchange) in [
        ("PLAIN", "C: AUTH PLAIN AGFsaWNlAGh1bnRlcjItVmVyeS1TZWNyZXQ=\nS: 235 ok\n"),
        (
            "LOGIN",
            "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: YWxpY2U=\nS: 334 UGFzc3dvcmQ6\nC: aHVudGVyMi1WZXJ5LVNlY3JldA==\nS: 535 5.7.8 no\n",
        ),
        ("CRAM-MD5", "C: AUTH CRAM-MD5\nS: 334 PDEyMzRAZXhhbXBsZT4=\n"),
    ] {
        let text = format!(
            "! transcript=true implicit_tls=true user=alice pass={PASSWORD} mech={mech}\n{greeting}S: 250-mx.example\nS: 250 AUTH PLAIN LOGIN CRAM-MD5\n{exchange}"
        );
        check(mech, &text);
    }
}

/// A server whose refusal repeats what it got: the PLAIN payload, the LOGIN password payload,
/// the password itself, its base64 without padding, across a multi-line 535. None of it reaches
/// a transcript line, an event or the final error: the session knows its secrets in every form
/// and scrubs each reply before anything sees it. (The password used to be printed back,
/// without `--verbose` too, through the error's reply text.)
#[test]
fn a_server_repeating_the_credentials_gets_them_redacted() {
    let plain = "AGFsaWNlAGh1bnRlcjItVmVyeS1TZWNyZXQ=";
    let login = "aHVudGVyMi1WZXJ5LVNlY3JldA==";
    let greeting = "S: 220 mx.example ESMTP\nC: EHLO client.example\n";
    for (mech, exchange) in [
        (
            "PLAIN",
            format!(
                "C: AUTH PLAIN {plain}\nS: 535-5.7.8 bad credentials {plain}\nS: 535 you said {PASSWORD}\n"
            ),
        ),
        (
            "LOGIN",
            format!(
                "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: YWxpY2U=\nS: 334 UGFzc3dvcmQ6\nC: {login}\nS: 535 5.7.8 rejected {} for alice\n",
                login.trim_end_matches('=')
            ),
        ),
    ] {
        for verbose in [true, false] {
            let text = format!(
                "! transcript={verbose} implicit_tls=true user=alice pass={PASSWORD} mech={mech}\n{greeting}S: 250-mx.example\nS: 250 AUTH PLAIN LOGIN\n{exchange}E~ AuthFailed\n"
            );
            if verbose {
                check(mech, &text);
            } else {
                // Without a transcript, the error alone still shows the redaction.
                let runner = run_transcript(mech, &text, Split::Whole);
                let error = runner
                    .client
                    .error()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(error.contains("<redacted>"), "{error}");
                for f in forbidden() {
                    assert!(!error.contains(&f), "{mech}: {f:?} in {error}");
                }
            }
        }
    }
}
