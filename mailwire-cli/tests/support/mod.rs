//! Test support for the commands: the scripted mock server of `mailwire_testkit::mock`, and the
//! commands run as bounded subprocesses.
#![allow(dead_code)]

pub use mailwire_testkit::mock::*;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// A command's exit status, stdout and stderr, for a failed assertion's message.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Each MIME part's `type/subtype`, in the parser's order (the root first, depth first).
pub fn content_types(parsed: &mail_parser::Message<'_>) -> Vec<String> {
    use mail_parser::MimeHeaders;
    parsed
        .parts
        .iter()
        .map(|p| {
            let c = p.content_type().expect("a Content-Type");
            format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))
        })
        .collect()
}

/// Runs `smtp-send` with `args` (and `env`), killing it after `limit`.
pub fn smtp_send(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    run_bounded(Path::new(env!("CARGO_BIN_EXE_smtp-send")), args, env, limit)
}

/// Runs `smtp-send` with `args` (and `env`) and `input` on its standard input, killing it
/// after `limit`.
pub fn smtp_send_input(
    args: &[&str],
    env: &[(&str, &str)],
    input: &[u8],
    limit: Duration,
) -> Output {
    run_bounded_input(
        Path::new(env!("CARGO_BIN_EXE_smtp-send")),
        args,
        env,
        Some(input),
        limit,
    )
}

/// Runs `smtp-bulk` with `args` (and `env`), killing it after `limit`.
pub fn smtp_bulk(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    run_bounded(Path::new(env!("CARGO_BIN_EXE_smtp-bulk")), args, env, limit)
}
