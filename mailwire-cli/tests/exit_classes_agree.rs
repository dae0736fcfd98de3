//! `smtp-send` and `smtp-bulk` give the same answer for the same situation: each scripted
//! server below is met once by `smtp-send` (its exit status) and once by `smtp-bulk` (the
//! `class` and `exit_status` of its one JSON outcome line), and the two must agree, and be the
//! status the situation calls for. (They used to disagree: RCPT refused 450 then 550 made
//! `smtp-send` exit 75, temporary, and `smtp-bulk` report `"transient": false`.)

mod support;

use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(30);

/// What the scripted server answers after its greeting and EHLO (which offers PIPELINING, and
/// `SIZE 1000` when `size_limit`).
#[derive(Clone, Copy)]
struct Script {
    mail: &'static str,
    /// The reply to each RCPT, by index (the last one repeats).
    rcpt: &'static [&'static str],
    data: &'static str,
    /// The reply after the content's end.
    end: &'static str,
    size_limit: bool,
}

const OK: Script = Script {
    mail: "250 ok",
    rcpt: &["250 ok"],
    data: "354 go",
    end: "250 queued",
    size_limit: false,
};

/// Serves one connection; returns every command line the client sent.
fn serve(peer: &mut Peer, script: Script) -> Vec<String> {
    if script.size_limit {
        peer.hello(&["PIPELINING", "SIZE 1000"]);
    } else {
        peer.hello(&["PIPELINING"]);
    }
    let mut rcpts = 0;
    loop {
        let line = peer.line();
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "" => break,
            "MAIL" => {
                rcpts = 0;
                script.mail.to_string()
            }
            "RCPT" => {
                let i = rcpts.min(script.rcpt.len() - 1);
                rcpts += 1;
                script.rcpt[i].to_string()
            }
            "DATA" => {
                peer.send(&format!("{}\r\n", script.data));
                if script.data.starts_with("354") {
                    peer.data();
                    script.end.to_string()
                } else {
                    continue;
                }
            }
            "QUIT" => {
                peer.send("221 bye\r\n");
                break;
            }
            _ => "250 ok".to_string(),
        };
        peer.send(&format!("{reply}\r\n"));
    }
    peer.lines.clone()
}

/// Runs both commands against the script with `recipients` recipients and a body of `size`
/// bytes; returns (smtp-send's status, smtp-bulk's class and status, the commands each sent).
fn both(script: Script, recipients: usize, size: usize) -> (i32, String, i32, Vec<String>) {
    let mock = Mock::start(move |peer| serve(peer, script));
    let server = format!("127.0.0.1:{}", mock.port);
    let dir = std::env::temp_dir().join(format!(
        "mailwire-cli-agree-{}-{}",
        std::process::id(),
        mock.port
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let message = dir.join("message.eml");
    let mut body = b"Subject: agree\r\n\r\n".to_vec();
    body.resize(size.max(body.len()), b'x');
    std::fs::write(&message, &body).unwrap();
    let to: Vec<String> = (0..recipients)
        .map(|i| format!("r{i}@example.net"))
        .collect();
    let mut args = vec![
        "--server",
        &server,
        "--from",
        "a@example.org",
        "--timeout",
        "10",
        "--message-file",
        message.to_str().unwrap(),
    ];
    for t in &to {
        args.extend(["--to", t.as_str()]);
    }
    let send = smtp_send(&args, &[], LIMIT);
    let send_status = send.status.code().unwrap_or(-1);
    let mut commands = mock.join();

    let mock = Mock::start(move |peer| serve(peer, script));
    let server = format!("127.0.0.1:{}", mock.port);
    let recipients = recipients.to_string();
    let size = size.to_string();
    let bulk = smtp_bulk(
        &[
            "--server",
            &server,
            "--from",
            "a@example.org",
            "--to",
            "r@example.net",
            "--messages",
            "1",
            "--recipients",
            &recipients,
            "--size",
            &size,
            "--attempts",
            "1",
            "--timeout",
            "10",
            "--json",
        ],
        &[],
        LIMIT,
    );
    commands.extend(mock.join());
    let stdout = String::from_utf8_lossy(&bulk.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let class = line["class"].as_str().unwrap_or("?").to_string();
    let bulk_status = line["exit_status"].as_i64().unwrap_or(-1) as i32;
    (send_status, class, bulk_status, commands)
}

/// One situation: both commands, the class and the status it calls for.
fn agree(name: &str, script: Script, recipients: usize, class: &str, status: i32) -> Vec<String> {
    let (send, bulk_class, bulk, commands) = both(script, recipients, 200);
    assert_eq!(
        (send, bulk, bulk_class.as_str()),
        (status, status, class),
        "{name}: smtp-send exited {send}, smtp-bulk said {bulk_class} ({bulk})"
    );
    commands
}

#[test]
fn accepted_is_0_everywhere() {
    agree("accepted", OK, 2, "delivered", 0);
}

#[test]
fn one_recipient_refused_is_partial_79() {
    let script = Script {
        rcpt: &["250 ok", "550 5.1.1 no such user"],
        ..OK
    };
    agree("partial", script, 2, "partial", 79);
}

/// The defect: 450 then 550, DATA refused for want of recipients. Temporary: the first
/// recipient may take the message later.
#[test]
fn rcpt_450_then_550_is_temporary_75_everywhere() {
    let script = Script {
        rcpt: &["450 4.2.1 try later", "550 5.1.1 no such user"],
        data: "554 5.5.1 no valid recipients",
        ..OK
    };
    agree("450 then 550", script, 2, "temporary", 75);
}

#[test]
fn every_rcpt_550_is_permanent_69() {
    let script = Script {
        rcpt: &["550 5.1.1 no such user"],
        data: "554 5.5.1 no valid recipients",
        ..OK
    };
    agree("all 550", script, 2, "permanent", 69);
}

#[test]
fn mail_refusal_class_decides() {
    let temporary = Script {
        mail: "451 4.3.0 later",
        rcpt: &["503 5.5.1 need MAIL"],
        data: "503 5.5.1 need MAIL",
        ..OK
    };
    agree("MAIL 451", temporary, 1, "temporary", 75);
    let permanent = Script {
        mail: "550 5.7.1 not you",
        ..temporary
    };
    agree("MAIL 550", permanent, 1, "permanent", 69);
}

#[test]
fn content_refusal_class_decides() {
    let permanent = Script {
        end: "554 5.6.0 content refused",
        ..OK
    };
    agree("content 554", permanent, 1, "permanent", 69);
    let temporary = Script {
        end: "452 4.3.1 no room",
        ..OK
    };
    agree("content 452", temporary, 1, "temporary", 75);
}

/// RFC 5321 3.8: 421 ends the session; the message's outcome is unknown: temporary.
#[test]
fn service_closing_is_temporary_75() {
    let script = Script {
        mail: "421 4.3.2 shutting down",
        ..OK
    };
    agree("421", script, 1, "temporary", 75);
}

/// A reply that is not a reply: the server broke the protocol.
#[test]
fn garbage_reply_is_protocol_76() {
    let script = Script {
        mail: "what is this",
        ..OK
    };
    agree("garbage", script, 1, "protocol", 76);
}

/// RFC 1870 6.1: a message larger than the server's `SIZE 1000`: both refuse it before MAIL
/// (smtp-send measures its file, smtp-bulk holds its message whole), and neither sends MAIL.
#[test]
fn too_large_for_size_never_sends_mail_and_is_permanent_69() {
    let script = Script {
        size_limit: true,
        ..OK
    };
    let (send, class, bulk, commands) = both(script, 1, 5000);
    assert_eq!((send, bulk, class.as_str()), (69, 69, "permanent"));
    assert!(
        !commands
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("MAIL")),
        "{commands:?}"
    );
}

/// The connection options are one struct: the same flag means the same thing in both. A
/// password file ending in CRLF authenticates both (one trailing line end removed; `smtp-bulk`
/// used to take the file's first line, `smtp-send` to strip one LF), and `--timeout 0` is a
/// usage error in both (one refused it, the other took it).
#[test]
fn shared_connection_options_mean_the_same() {
    use mailwire_blocking::demo_server::{DemoServer, DEMO_PASSWORD, DEMO_USER};
    let server = DemoServer::start().unwrap();
    let target = format!("127.0.0.1:{}", server.port());
    let dir = std::env::temp_dir().join(format!("mailwire-cli-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let password = dir.join("password");
    std::fs::write(&password, format!("{DEMO_PASSWORD}\r\n")).unwrap();
    let common = [
        "--server",
        &target,
        "--starttls",
        "never",
        "--auth-user",
        DEMO_USER,
        "--auth-password-file",
        password.to_str().unwrap(),
        "--auth-plaintext-ok",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
    ];
    let send = smtp_send(&common, &[], LIMIT);
    assert_eq!(
        send.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let bulk_args: Vec<&str> = common.iter().copied().chain(["--messages", "2"]).collect();
    let bulk = smtp_bulk(&bulk_args, &[], LIMIT);
    assert_eq!(
        bulk.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bulk.stderr)
    );
    assert_eq!(server.wait_for(3, LIMIT).len(), 3);

    let zero: Vec<&str> = common.iter().copied().chain(["--timeout", "0"]).collect();
    assert_eq!(smtp_send(&zero, &[], LIMIT).status.code(), Some(64));
    let zero: Vec<&str> = zero.into_iter().chain(["--messages", "1"]).collect();
    assert_eq!(smtp_bulk(&zero, &[], LIMIT).status.code(), Some(64));
}
