//! `smtp-send --dkim-key`: the message it sends (built, a file with its header edits, standard
//! input) carries a DKIM signature that dkimpy, a verifier not ours, accepts on what aiosmtpd
//! stored; `--dkim-print-record` prints the record that verification used; keys and messages
//! that cannot be signed are refused before connecting, with their exit status.

mod support;

use mailwire_testkit::{
    dkimpy_verify_or_skip, peer_or_skip, Aiosmtpd, TempDir, DKIM_ED25519, DKIM_RSA_PKCS1,
};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(15);

/// The key files, and the TXT record `--dkim-print-record` gives for each.
struct Keys {
    dir: TempDir,
}

impl Keys {
    fn new() -> Keys {
        let dir = TempDir::new("dkim-keys").unwrap();
        std::fs::write(dir.path().join("rsa.pem"), DKIM_RSA_PKCS1).unwrap();
        std::fs::write(dir.path().join("ed.pem"), DKIM_ED25519).unwrap();
        std::fs::write(dir.path().join("junk.pem"), "not a key").unwrap();
        Keys { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `--dkim-print-record`'s line, turned back into (name, record text).
    fn record(&self, key: &str, selector: &str) -> (String, String) {
        let out = smtp_send(
            &[
                "--dkim-key",
                &self.path(key),
                "--dkim-selector",
                selector,
                "--dkim-domain",
                "example.org",
                "--dkim-print-record",
            ],
            &[],
            T,
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let line = String::from_utf8(out.stdout).unwrap();
        let (name, rest) = line.split_once(" IN TXT ( ").unwrap();
        let record: String = rest
            .trim_end()
            .trim_end_matches(')')
            .split('"')
            .skip(1)
            .step_by(2)
            .collect();
        (name.trim_end_matches('.').to_string(), record)
    }
}

/// Extra arguments, the key's selector, what standard input gives.
type Run<'a> = (&'a [&'a str], &'a str, Option<&'a [u8]>);

#[test]
fn built_file_and_stdin_messages_are_signed_and_verify() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let keys = Keys::new();
    let records = [keys.record("rsa.pem", "rsa"), keys.record("ed.pem", "ed")];
    assert!(
        records[0].1.starts_with("v=DKIM1; k=rsa; p=MIIB"),
        "{records:?}"
    );
    assert!(
        records[1].1.starts_with("v=DKIM1; k=ed25519; p="),
        "{records:?}"
    );
    let file = keys.dir.path().join("message.eml");
    std::fs::write(
        &file,
        "From: a@example.org\nTo: b@example.net\nSubject: old\n\n.dot line\ntrailing   \n\n\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let common = [
        "--server",
        &target,
        "--starttls",
        "never",
        "--from",
        "A <a@example.org>",
        "--to",
        "b@example.net",
    ];
    let runs: [Run<'_>; 4] = [
        (
            &["--subject", "built", "--body", ".a dot\nand more\n"],
            "rsa",
            None,
        ),
        (
            &[
                "--message-file",
                &file,
                "--header",
                "Subject: new",
                "--dkim-canonicalization",
                "simple",
            ],
            "ed",
            None,
        ),
        (
            &["--message-file", "-", "--dkim-expire", "3600"],
            "rsa",
            Some(b"From: a@example.org\nSubject: stdin\n\nfrom standard input\n"),
        ),
        (
            &[
                "--subject",
                "an explicit d=",
                "--dkim-domain",
                "example.org",
            ],
            "ed",
            None,
        ),
    ];
    for (extra, selector, input) in runs {
        let key = if selector == "rsa" {
            "rsa.pem"
        } else {
            "ed.pem"
        };
        let key = keys.path(key);
        let mut args: Vec<&str> = common.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--dkim-key", &key, "--dkim-selector", selector]);
        let out = match input {
            Some(bytes) => smtp_send_input(&args, &[], bytes, T),
            None => smtp_send(&args, &[], T),
        };
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
    }
    let stored = server.wait_for_messages(4, T).unwrap();
    for (i, m) in stored.iter().enumerate() {
        let text = String::from_utf8_lossy(&m.data);
        assert!(text.starts_with("DKIM-Signature: v=1;"), "{text}");
        let Some(results) = dkimpy_verify_or_skip(&m.data, &records) else {
            return;
        };
        assert_eq!(results, [Ok(())], "message {i}: {text}");
    }
    let text = |i: usize| String::from_utf8_lossy(&stored[i].data).into_owned();
    assert!(text(1).contains("c=simple/simple;"), "{}", text(1));
    assert!(
        text(1).contains("\r\nSubject: new\r\n"),
        "the edit is what was signed"
    );
    assert!(text(2).contains(" x="), "{}", text(2));
    assert!(text(2).contains("from standard input"));
}

#[test]
fn unusable_keys_and_unsignable_messages_are_refused_before_connecting() {
    let keys = Keys::new();
    let dir = TempDir::new("dkim-refusals").unwrap();
    let no_from = dir.path().join("no-from.eml");
    std::fs::write(&no_from, "Subject: x\n\nbody\n").unwrap();
    let no_from = no_from.display().to_string();
    let junk = keys.path("junk.pem");
    let rsa = keys.path("rsa.pem");
    let missing = keys.path("missing.pem");
    // A port nothing listens on: a refusal must come before any connection.
    let target = format!("127.0.0.1:{}", mailwire_testkit::free_port());
    let base = [
        "--server",
        target.as_str(),
        "--starttls",
        "never",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--dkim-selector",
        "s",
    ];
    let cases: [(&[&str], u8, &str); 5] = [
        (&["--dkim-key", &junk], 65, "not a private key"),
        (&["--dkim-key", &missing], 66, "cannot read --dkim-key"),
        (
            &["--dkim-key", &rsa, "--dkim-domain", "bad domain"],
            64,
            "not an ASCII domain name",
        ),
        (
            &["--dkim-key", &rsa, "--message-file", &no_from],
            65,
            "no From field",
        ),
        (
            &["--dkim-key", &rsa, "--dkim-canonicalization", "loose"],
            64,
            "neither relaxed nor simple",
        ),
    ];
    for (extra, code, says) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = smtp_send(&args, &[], T);
        assert_eq!(
            out.status.code(),
            Some(code.into()),
            "{args:?}: {}",
            describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("MII"),
            "no key material in errors: {stderr}"
        );
    }
}

/// `smtp-bulk --dkim-key`: every message of a `--dir` (each file signed, then sent as the
/// signature and the file), of `--messages` (one signature for the identical messages) and of
/// `--jobs` (content and path) carries a signature dkimpy verifies on what aiosmtpd stored;
/// a job whose content cannot be signed is invalid (its line says 65), the others go.
#[test]
fn smtp_bulk_signs_dir_generated_and_job_messages() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let keys = Keys::new();
    let records = [keys.record("rsa.pem", "rsa"), keys.record("ed.pem", "ed")];
    let ed = keys.path("ed.pem");
    let rsa = keys.path("rsa.pem");
    let dir = TempDir::new("dkim-bulk").unwrap();
    let eml = dir.path().join("eml");
    std::fs::create_dir_all(&eml).unwrap();
    for i in 0..3 {
        std::fs::write(
            eml.join(format!("{i}.eml")),
            format!("From: a@example.org\nSubject: file {i}\n\n.dot\nbody {i}   \n\n"),
        )
        .unwrap();
    }
    let base = ["--server", &target, "--starttls", "never", "--quiet"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = smtp_bulk(&args, &[], T);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
    };
    let eml_dir = eml.display().to_string();
    let sign_ed = ["--dkim-key", &ed, "--dkim-selector", "ed"];
    let envelope = ["--from", "a@example.org", "--to", "b@example.net"];
    run(&[&["--dir", &eml_dir][..], &envelope, &sign_ed].concat());
    run(&[
        &["--messages", "2", "--size", "3000"][..],
        &envelope,
        &sign_ed,
    ]
    .concat());

    let jobs = dir.path().join("jobs.jsonl");
    let file = eml.join("0.eml").display().to_string();
    let lines = [
        serde_json::json!({"id": "c", "from": "a@example.org", "to": ["b@example.net"],
            "content": "From: a@example.org\r\nSubject: job c\r\n\r\nfrom a job\r\n"}),
        serde_json::json!({"id": "p", "from": "a@example.org", "to": ["b@example.net"],
            "path": file}),
        serde_json::json!({"id": "x", "from": "a@example.org", "to": ["b@example.net"],
            "content": "Subject: no From\r\n\r\nbody\r\n"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&jobs, text).unwrap();
    let mut args = base.to_vec();
    let jobs = jobs.display().to_string();
    args.extend_from_slice(&[
        "--jobs",
        &jobs,
        "--dkim-key",
        &rsa,
        "--dkim-selector",
        "rsa",
    ]);
    args.extend_from_slice(&["--dkim-domain", "example.org"]);
    let out = smtp_bulk(&args, &[], T);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // One job invalid (its line says 65): the run exits 1, the others were sent.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let invalid = stdout.lines().find(|l| l.contains(r#""id":"x""#)).unwrap();
    assert!(invalid.contains("no From"), "{invalid}");
    assert!(invalid.contains(r#""exit_status":65"#), "{invalid}");

    let stored = server.wait_for_messages(7, T).unwrap();
    assert_eq!(stored.len(), 7);
    for m in &stored {
        let text = String::from_utf8_lossy(&m.data);
        let Some(results) = dkimpy_verify_or_skip(&m.data, &records) else {
            return;
        };
        assert_eq!(results, [Ok(())], "{text}");
    }
}

/// A bounce (`--from '<>'`) built with `--header 'From: …'` is signed for the From header's
/// domain when no --dkim-domain is given (the envelope has none), and verifies.
#[test]
fn null_sender_signs_for_the_from_header_domain() {
    let server = peer_or_skip!(Aiosmtpd::builder().start());
    let target = format!("127.0.0.1:{}", server.port());
    let keys = Keys::new();
    let records = [keys.record("rsa.pem", "rsa")];
    let rsa = keys.path("rsa.pem");
    let out = smtp_send(
        &[
            "--server",
            &target,
            "--starttls",
            "never",
            "--from",
            "<>",
            "--header",
            "From: Mail Delivery System <mailer-daemon@example.org>",
            "--to",
            "b@example.net",
            "--subject",
            "undeliverable",
            "--dkim-key",
            &rsa,
            "--dkim-selector",
            "rsa",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stored = server.wait_for_messages(1, T).unwrap();
    let text = String::from_utf8_lossy(&stored[0].data);
    assert!(text.contains(" d=example.org;"), "{text}");
    let Some(results) = dkimpy_verify_or_skip(&stored[0].data, &records) else {
        return;
    };
    assert_eq!(results, [Ok(())], "{text}");
    // Without the header, the null sender leaves nothing to sign for: --dkim-domain is asked for.
    let out = smtp_send(
        &[
            "--dkim-key",
            &rsa,
            "--dkim-selector",
            "rsa",
            "--from",
            "<>",
            "--dkim-print-record",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dkim-domain"));
}

/// `--dkim-print-record --json` (both commands) gives the record the zone line gives, as JSON:
/// its name, its value, the value's strings of at most 255 octets, and the line itself.
#[test]
fn print_record_json_matches_the_zone_line() {
    let keys = Keys::new();
    for (key, selector) in [("rsa.pem", "rsa"), ("ed.pem", "ed")] {
        let (name, value) = keys.record(key, selector);
        let path = keys.path(key);
        let args = [
            "--dkim-key",
            &path,
            "--dkim-selector",
            selector,
            "--from",
            "A <a@example.org>",
            "--dkim-print-record",
            "--json",
        ];
        for out in [smtp_send(&args, &[], T), smtp_bulk(&args, &[], T)] {
            assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["name"], name.as_str());
            assert_eq!(v["type"], "TXT");
            assert_eq!(v["value"], value.as_str());
            let strings: Vec<&str> = v["strings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert!(strings.iter().all(|s| s.len() <= 255), "{strings:?}");
            assert_eq!(strings.concat(), value);
            let zone = v["zone"].as_str().unwrap();
            assert!(zone.starts_with(&format!("{name}. IN TXT ( \"")), "{zone}");
        }
    }
}

/// `--dump-mail` with `--dkim-key`: what is printed is the signed message, and it verifies.
#[test]
fn dump_mail_prints_the_signed_message() {
    let keys = Keys::new();
    let records = [keys.record("ed.pem", "ed")];
    let ed = keys.path("ed.pem");
    let out = smtp_send(
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.net",
            "--subject",
            "dumped and signed",
            "--body",
            "text\n",
            "--dkim-key",
            &ed,
            "--dkim-selector",
            "ed",
            "--dump-mail",
        ],
        &[],
        T,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(out.stdout.starts_with(b"DKIM-Signature: v=1;"));
    let Some(results) = dkimpy_verify_or_skip(&out.stdout, &records) else {
        return;
    };
    assert_eq!(results, [Ok(())]);
}
