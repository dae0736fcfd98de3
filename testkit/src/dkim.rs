//! DKIM verification by dkimpy (Python), an implementation that is not ours, run on a message
//! as a real server received it: `peers/dkim_verify.py`, with the test's own key records in
//! place of DNS.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{Aiosmtpd, PeerError};

const PEER: &str = "dkimpy";
const SCRIPT: &str = include_str!("../peers/dkim_verify.py");

/// Verifies each `DKIM-Signature` of `message` with dkimpy; `records` maps
/// `selector._domainkey.domain` to the TXT record served for it. One result per signature,
/// in the order of the message: `Ok(())`, or `Err(dkimpy's reason)`.
///
/// [`PeerError::Missing`] when dkimpy or PyNaCl is not installed (`ci/install-peers.sh`
/// installs both into the peers' venv).
pub fn dkimpy_verify<K: AsRef<str>, V: AsRef<str>>(
    message: &[u8],
    records: &[(K, V)],
) -> Result<Vec<Result<(), String>>, PeerError> {
    let out = run(message, records, false)?;
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&out).map_err(|e| PeerError::Io(std::io::Error::other(e)))?;
    Ok(signatures(&results))
}

/// [`dkimpy_verify`], or `None` after [`crate::skip_or_panic`] when dkimpy is missing (a
/// failure under `SMTP_REQUIRE_PEERS=1`): `let Some(results) = … else { return };`.
pub fn dkimpy_verify_or_skip<K: AsRef<str>, V: AsRef<str>>(
    message: &[u8],
    records: &[(K, V)],
) -> Option<Vec<Result<(), String>>> {
    dkimpy_verify(message, records)
        .map_err(|e| crate::skip_or_panic(&e))
        .ok()
}

/// [`dkimpy_verify`] for many messages in one run of dkimpy: one list of results per message.
pub fn dkimpy_verify_many<K: AsRef<str>, V: AsRef<str>>(
    messages: &[Vec<u8>],
    records: &[(K, V)],
) -> Result<Vec<Vec<Result<(), String>>>, PeerError> {
    use base64::Engine;
    let list: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| base64::engine::general_purpose::STANDARD.encode(m).into())
        .collect();
    let input = serde_json::Value::Array(list).to_string();
    let out = run(input.as_bytes(), records, true)?;
    let results: Vec<Vec<serde_json::Value>> =
        serde_json::from_slice(&out).map_err(|e| PeerError::Io(std::io::Error::other(e)))?;
    Ok(results.iter().map(|r| signatures(r)).collect())
}

fn signatures(results: &[serde_json::Value]) -> Vec<Result<(), String>> {
    results
        .iter()
        .map(|r| {
            if r["ok"].as_bool() == Some(true) {
                Ok(())
            } else {
                Err(r["why"].as_str().unwrap_or("").to_string())
            }
        })
        .collect()
}

/// Runs the script with `input` on its stdin; its stdout.
fn run<K: AsRef<str>, V: AsRef<str>>(
    input: &[u8],
    records: &[(K, V)],
    many: bool,
) -> Result<Vec<u8>, PeerError> {
    let python = Aiosmtpd::python().ok_or(PeerError::Missing {
        peer: PEER,
        why: "no Python with aiosmtpd's venv".to_string(),
    })?;
    let map: serde_json::Map<String, serde_json::Value> = records
        .iter()
        .map(|(k, v)| {
            let value = serde_json::Value::String(v.as_ref().to_string());
            (k.as_ref().to_string(), value)
        })
        .collect();
    let mut command = Command::new(&python);
    command.args(["-c", SCRIPT, &serde_json::Value::Object(map).to_string()]);
    if many {
        command.arg("--many");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from a thread: the script may answer before it has read everything.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    let written = writer
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("stdin writer panicked")));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(3) {
        return Err(PeerError::Missing {
            peer: PEER,
            why: stderr.trim().to_string(),
        });
    }
    if !out.status.success() {
        return Err(PeerError::Startup {
            peer: PEER,
            why: format!("dkim_verify.py exited with {}", out.status),
            log: stderr,
        });
    }
    written?;
    Ok(out.stdout)
}

/// A 2048-bit RSA test key, PKCS#1 PEM (`RSA PRIVATE KEY`). Published: it protects nothing.
pub const DKIM_RSA_PKCS1: &str = include_str!("../keys/dkim-rsa2048-pkcs1.pem");
/// The same RSA key as PKCS#8 PEM (`PRIVATE KEY`).
pub const DKIM_RSA_PKCS8: &str = include_str!("../keys/dkim-rsa2048-pkcs8.pem");
/// An Ed25519 test key, PKCS#8 PEM, as `openssl genpkey` writes it.
pub const DKIM_ED25519: &str = include_str!("../keys/dkim-ed25519.pem");
