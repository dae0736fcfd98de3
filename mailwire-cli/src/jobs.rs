//! `smtp-bulk --jobs`: JSON lines, one job each, read as a stream (`docs/BULK-JOBS.md`).
//!
//! [`JobReader`] yields one [`Job`] per non-blank line, in order, holding one line at a time
//! (at most [`MAX_LINE`] bytes: a longer line is skipped to its end and reported invalid).
//! A job is checked whole before anything is sent: its id, the addresses (CR, LF and anything
//! else RFC 5321 forbids refused by [`mailwire::Mailbox::parse`]), exactly one content field,
//! and the DSN parameters through [`crate::params::ParamArgs::apply`], smtp-send's own check
//! that the MAIL and RCPT lines encode. A job that fails any of it is [`Invalid`], with the
//! reason and the exit status `smtp-send` would give the same fault; it never stops the run.
//!
//! [`Feed`] is the input handed to `mailwire_mio::bulk::run_pulled`: the lines are read on a
//! thread of its own (a slow producer never holds up the connections or the outcomes), and on
//! the run's thread it loads each valid job's content (a `path` is checked then, and read as it is sent), files it
//! with the [`Outcomes`] so its report finds its id and line, and writes an invalid job's
//! outcome line itself.

use crate::dkim::sign_reader;
use crate::exit;
use crate::outcomes::{JobRef, Outcomes};
use crate::params::{parse_notify, DsnRet, ParamArgs};
use base64::Engine as _;
use mailwire::{Envelope, Mailbox};
use mailwire_message::dkim::DkimSigner;
use mailwire_mio::bulk::{BulkMessage, Content, Pull};
use serde::Deserialize;
use std::cell::RefCell;
use std::io::{self, BufRead};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};

/// The longest job line, in bytes (its line end excluded).
pub const MAX_LINE: usize = 64 << 20;
/// The most recipients one job may have.
pub const MAX_RECIPIENTS: usize = 1000;
/// The longest id, in bytes.
pub const MAX_ID: usize = 1024;

/// Why a job cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// What `smtp-send` exits with for the same fault: 65 bad data, 66 an unreadable file.
    pub status: u8,
    /// The reason, for the outcome line.
    pub reason: String,
}

impl Invalid {
    fn data(reason: impl Into<String>) -> Invalid {
        Invalid {
            status: exit::DATAERR,
            reason: reason.into(),
        }
    }
}

/// One job line: where it was, its id when it has a usable one, and what it asks for.
#[derive(Debug)]
pub struct Job {
    /// Its line number, from 1.
    pub line: u64,
    /// Its `id`, when that is a non-empty string of at most [`MAX_ID`] bytes.
    pub id: Option<String>,
    /// The envelope and content, or why not.
    pub spec: Result<Spec, Invalid>,
}

impl Job {
    /// Its reference in outcome lines.
    pub fn reference(&self) -> JobRef {
        JobRef {
            line: self.line,
            id: self.id.clone(),
        }
    }
}

/// A checked job, its content not loaded yet when it names a file.
#[derive(Debug)]
pub struct Spec {
    envelope: Envelope,
    content: Source,
}

#[derive(Debug)]
enum Source {
    Bytes(Vec<u8>),
    /// A file, and what goes before it (a DKIM signature; empty: nothing).
    File(PathBuf, Vec<u8>),
}

impl Spec {
    /// The message to send: the content as given, or the named file, checked now (a regular
    /// file that opens; else 66) and read as the session takes it (`Content::file`: never held
    /// whole, whatever its size).
    pub fn load(self) -> Result<BulkMessage, Invalid> {
        let content = match self.content {
            Source::Bytes(bytes) => Content::shared(bytes),
            Source::File(path, prefix) => {
                check_file(&path).map_err(|why| unreadable(&path, why))?;
                Content::file_with_prefix(prefix, path)
            }
        };
        Ok(BulkMessage::new(self.envelope, content))
    }

    /// The job with a DKIM signature before its content (`--dkim-key`): a file is read once
    /// here to sign it (on the reading thread, not the run's) and again as it is sent. A
    /// content that cannot be signed is invalid (65, a file that cannot be read 66).
    pub fn signed(mut self, signer: &DkimSigner) -> Result<Spec, Invalid> {
        let invalid = |e: crate::connect::CliError| Invalid {
            status: e.code,
            reason: e.message,
        };
        self.content = match self.content {
            Source::Bytes(bytes) => {
                let field = sign_reader(signer, bytes.as_slice()).map_err(invalid)?;
                let mut signed = field.into_bytes();
                signed.extend_from_slice(&bytes);
                Source::Bytes(signed)
            }
            Source::File(path, _) => {
                check_file(&path).map_err(|why| unreadable(&path, why))?;
                let file =
                    std::fs::File::open(&path).map_err(|e| unreadable(&path, e.to_string()))?;
                let field = sign_reader(signer, file).map_err(invalid)?;
                Source::File(path, field.into_bytes())
            }
        };
        Ok(self)
    }
}

fn unreadable(path: &std::path::Path, why: String) -> Invalid {
    Invalid {
        status: exit::NOINPUT,
        reason: format!("path {:?}: {why}", path.display().to_string()),
    }
}

/// A job's `path` opens and is a regular file (a FIFO or a device could block or never end).
/// Opened again when its message is queued: a file gone by then fails that message (70).
fn check_file(path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    Ok(())
}

/// A job line as written; `deny_unknown_fields` so a misspelt field is an error, not ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobLine {
    id: serde_json::Value,
    from: String,
    to: Vec<String>,
    content: Option<String>,
    content_base64: Option<String>,
    path: Option<String>,
    ret: Option<String>,
    envid: Option<String>,
    notify: Option<Vec<String>>,
    orcpt: Option<String>,
    xforward: Option<std::collections::BTreeMap<String, String>>,
}

/// Just the id, from a line that is not a valid job (for its outcome line).
#[derive(Deserialize)]
struct IdOnly {
    id: Option<serde_json::Value>,
}

fn usable_id(id: Option<&serde_json::Value>) -> Option<String> {
    match id {
        Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID => Some(s.clone()),
        _ => None,
    }
}

/// Parses and checks one line (without its line end).
pub fn parse_job(line: u64, text: &[u8]) -> Job {
    let parsed = std::str::from_utf8(text)
        .map_err(|e| Invalid::data(format!("not UTF-8: {e}")))
        .and_then(|t| {
            serde_json::from_str::<JobLine>(t).map_err(|e| {
                Invalid::data(match e.classify() {
                    serde_json::error::Category::Data => e.to_string(),
                    _ => format!("not a JSON object: {e}"),
                })
            })
        });
    let job = match parsed {
        Ok(job) => job,
        Err(invalid) => {
            let id = serde_json::from_slice::<IdOnly>(text)
                .ok()
                .and_then(|i| usable_id(i.id.as_ref()));
            return Job {
                line,
                id,
                spec: Err(invalid),
            };
        }
    };
    let id = usable_id(Some(&job.id));
    let spec = match &id {
        Some(_) => check(job),
        None => Err(Invalid::data(format!(
            "id: a non-empty string of at most {MAX_ID} bytes expected"
        ))),
    };
    Job { line, id, spec }
}

fn check(job: JobLine) -> Result<Spec, Invalid> {
    let from = if crate::is_null_path(&job.from) {
        None
    } else {
        Some(mailbox(&job.from, "from")?)
    };
    if job.to.is_empty() || job.to.len() > MAX_RECIPIENTS {
        return Err(Invalid::data(format!(
            "to: from 1 to {MAX_RECIPIENTS} recipients expected, got {}",
            job.to.len()
        )));
    }
    let to = job
        .to
        .iter()
        .map(|t| mailbox(t, "to"))
        .collect::<Result<Vec<_>, _>>()?;
    let content = match (job.content, job.content_base64, job.path) {
        (Some(text), None, None) => Source::Bytes(text.into_bytes()),
        (None, Some(b64), None) => Source::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| Invalid::data(format!("content_base64: {e}")))?,
        ),
        (None, None, Some(path)) if !path.is_empty() => {
            Source::File(PathBuf::from(path), Vec::new())
        }
        _ => {
            return Err(Invalid::data(
                "exactly one of content, content_base64 and path (non-empty) expected",
            ))
        }
    };
    let params = ParamArgs {
        dsn_ret: match job.ret.as_deref() {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("full") => Some(DsnRet::Full),
            Some(r) if r.eq_ignore_ascii_case("hdrs") => Some(DsnRet::Hdrs),
            Some(r) => return Err(Invalid::data(format!("ret {r:?}: full or hdrs expected"))),
        },
        dsn_envid: job.envid,
        dsn_notify: match &job.notify {
            None => None,
            Some(words) => Some(
                parse_notify(&words.join(","))
                    .map_err(|e| Invalid::data(format!("notify: {e}")))?,
            ),
        },
        dsn_orcpt: job.orcpt,
        ..ParamArgs::default()
    };
    let mut envelope = Envelope::new(from, to);
    params
        .apply(&mut envelope)
        .map_err(|e| Invalid::data(e.message))?;
    for (name, value) in job.xforward.unwrap_or_default() {
        let attribute = mailwire::xclient::Attribute::new(&name, &value)
            .map_err(|e| Invalid::data(format!("xforward {name:?}: {e}")))?;
        envelope.xforward.push(attribute);
    }
    Ok(Spec { envelope, content })
}

fn mailbox(text: &str, field: &str) -> Result<Mailbox, Invalid> {
    Mailbox::parse(text).map_err(|e| Invalid::data(format!("{field} {text:?}: {e}")))
}

/// The job lines of an input, in order, blank lines skipped (they count in line numbers).
pub struct JobReader<R> {
    input: R,
    line: u64,
    error: Option<io::Error>,
}

impl<R: BufRead> JobReader<R> {
    /// Reads jobs from `input`.
    pub fn new(input: R) -> JobReader<R> {
        JobReader {
            input,
            line: 0,
            error: None,
        }
    }

    /// The read error that ended the input early, if one did.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// The next line: its number and its bytes, or `Err(length)` when it was longer than
    /// [`MAX_LINE`] (read to its end, not kept). `None` at the end or after a read error.
    fn next_line(&mut self) -> Option<(u64, Result<Vec<u8>, usize>)> {
        if self.error.is_some() {
            return None;
        }
        let mut kept = Vec::new();
        let mut length = 0usize;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            };
            if buf.is_empty() {
                if length == 0 {
                    return None;
                }
                break;
            }
            let (piece, used, ended) = match buf.iter().position(|&b| b == b'\n') {
                Some(at) => (&buf[..at], at + 1, true),
                None => (buf, buf.len(), false),
            };
            length = length.saturating_add(piece.len());
            if length <= MAX_LINE {
                kept.extend_from_slice(piece);
            } else if !kept.is_empty() {
                // Nothing kept past the limit: the rest of the line is only counted.
                kept = Vec::new();
            }
            self.input.consume(used);
            if ended {
                break;
            }
        }
        self.line += 1;
        if length > MAX_LINE {
            return Some((self.line, Err(length)));
        }
        if kept.last() == Some(&b'\r') {
            kept.pop();
        }
        Some((self.line, Ok(kept)))
    }
}

impl<R: BufRead> Iterator for JobReader<R> {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        loop {
            let (line, text) = self.next_line()?;
            return Some(match text {
                Ok(text) if text.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(text) => parse_job(line, &text),
                Err(length) => Job {
                    line,
                    id: None,
                    spec: Err(Invalid::data(format!(
                        "line of {length} bytes, longer than {MAX_LINE}"
                    ))),
                },
            });
        }
    }
}

/// Jobs read ahead of the run, at most.
const READ_AHEAD: usize = 256;

/// The input of a bulk run (`mailwire_mio::bulk::run_pulled`): job lines read on a thread of
/// their own, so that a slow producer never holds up the connections and the outcomes already
/// known (a producer may wait for an outcome before it writes the next job); each valid job's
/// message filed with the outcomes, an invalid job's outcome line written as it is taken.
pub struct Feed {
    jobs: mpsc::Receiver<Job>,
    error: Arc<Mutex<Option<io::Error>>>,
    outcomes: Rc<RefCell<Outcomes>>,
}

impl Feed {
    /// A feed of the jobs of `input`, read by a thread it starts, reporting to `outcomes`;
    /// with a `signer`, that thread signs each valid job's content too ([`Spec::signed`]).
    pub fn start(
        input: Box<dyn BufRead + Send>,
        outcomes: Rc<RefCell<Outcomes>>,
        signer: Option<DkimSigner>,
    ) -> Feed {
        let (tx, jobs) = mpsc::sync_channel(READ_AHEAD);
        let error = Arc::new(Mutex::new(None));
        let read_error = Arc::clone(&error);
        // Not joined: after a failed write of an outcome line the run ends without reading
        // the rest, and the thread may be blocked on an input that never ends.
        std::thread::spawn(move || {
            let mut reader = JobReader::new(input);
            for mut job in reader.by_ref() {
                if let Some(signer) = &signer {
                    job.spec = job.spec.and_then(|spec| spec.signed(signer));
                }
                if tx.send(job).is_err() {
                    return;
                }
            }
            if let Ok(mut slot) = read_error.lock() {
                *slot = reader.take_error();
            }
        });
        Feed {
            jobs,
            error,
            outcomes,
        }
    }

    /// The read error that ended the input early, if one did (known once the input ended).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    /// The next message, without waiting: invalid jobs on the way get their lines.
    pub fn pull(&mut self) -> Pull {
        loop {
            let job = match self.jobs.try_recv() {
                Ok(job) => job,
                Err(mpsc::TryRecvError::Empty) => return Pull::NotYet,
                Err(mpsc::TryRecvError::Disconnected) => return Pull::Ended,
            };
            let reference = job.reference();
            match job.spec.and_then(Spec::load) {
                Ok(message) => {
                    self.outcomes.borrow_mut().handed(reference);
                    return Pull::Message(message);
                }
                Err(invalid) => self.outcomes.borrow_mut().invalid(reference, &invalid),
            }
        }
    }

    /// After the run: a `not_attempted` line for every job left in the input (an invalid one
    /// still gets `invalid`), waiting for the input's end. Content is not loaded.
    pub fn drain_not_attempted(&mut self) {
        for job in self.jobs.iter() {
            let reference = job.reference();
            let mut outcomes = self.outcomes.borrow_mut();
            match &job.spec {
                Ok(_) => outcomes.not_attempted(reference),
                Err(invalid) => outcomes.invalid(reference, invalid),
            }
            if outcomes.failed_to_write() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(text: &str) -> Job {
        parse_job(7, text.as_bytes())
    }

    fn reason(text: &str) -> String {
        let j = job(text);
        match j.spec {
            Err(invalid) => invalid.reason,
            Ok(_) => panic!("{text} was accepted"),
        }
    }

    #[test]
    fn a_full_job_maps_onto_the_envelope() {
        let j = job(
            r#"{"id":"j1","from":"a@example.org","to":["b@example.net","c@example.net"],"content":"Subject: x\n\nhi\n","ret":"hdrs","envid":"E+1","notify":["success","failure"],"orcpt":"b@example.net"}"#,
        );
        assert_eq!((j.line, j.id.as_deref()), (7, Some("j1")));
        let message = j.spec.unwrap().load().unwrap();
        let e = &message.envelope;
        assert_eq!(e.from.as_ref().unwrap().as_str(), "a@example.org");
        assert_eq!(e.recipients.len(), 2);
        assert_eq!(e.params.ret, Some(mailwire::command::Ret::Headers));
        assert_eq!(e.params.envid.as_deref(), Some("E+1"));
        for r in &e.recipients {
            let notify = r.params.notify.unwrap();
            assert!(notify.success && notify.failure && !notify.delay);
            assert_eq!(r.params.orcpt.as_ref().unwrap().address, "b@example.net");
        }
    }

    #[test]
    fn base64_and_null_sender() {
        for from in ["", "<>"] {
            let line = format!(
                r#"{{"id":"b","from":"{from}","to":["b@example.net"],"content_base64":"aGk="}}"#
            );
            let message = job(&line).spec.unwrap().load().unwrap();
            assert!(message.envelope.from.is_none(), "{from:?}");
        }
    }

    #[test]
    fn malformed_jobs_say_why_and_keep_their_id() {
        let cases: &[(&str, &str)] = &[
            (r#"{"id":"x","from":"a@b.c","to":["d@e.f"]}"#, "exactly one"),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content":"a","path":"/p"}"#,
                "exactly one",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"contents":"a"}"#,
                "unknown field",
            ),
            (r#"{"id":"x","from":"a@b.c","to":[],"content":"a"}"#, "to:"),
            (
                r#"{"id":"x","from":"a@b.c","to":["no-at-sign"],"content":"a"}"#,
                "to \"no-at-sign\"",
            ),
            (
                r#"{"id":"x","from":"a@b.c\r\nRSET","to":["d@e.f"],"content":"a"}"#,
                "from",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f>\r\nDATA"],"content":"a"}"#,
                "to",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content":"a","envid":"e\r\nRSET"}"#,
                "envelope parameter",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content":"a","orcpt":"x y"}"#,
                "dsn-orcpt",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content":"a","ret":"most"}"#,
                "ret",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content":"a","notify":["never","delay"]}"#,
                "notify",
            ),
            (
                r#"{"id":"x","from":"a@b.c","to":["d@e.f"],"content_base64":"!!"}"#,
                "content_base64",
            ),
            (
                r#"{"id":"x","from":"a@b.c","from":"","to":["d@e.f"],"content":"a"}"#,
                "duplicate field",
            ),
        ];
        for (text, want) in cases {
            let j = job(text);
            assert_eq!(j.id.as_deref(), Some("x"), "{text}");
            let Err(invalid) = j.spec else {
                panic!("{text} was accepted")
            };
            assert_eq!(invalid.status, exit::DATAERR, "{text}");
            assert!(invalid.reason.contains(want), "{text}: {}", invalid.reason);
        }
    }

    #[test]
    fn a_job_without_a_usable_id_has_none() {
        for text in [
            r#"{"from":"a@b.c","to":["d@e.f"],"content":"a"}"#,
            r#"{"id":"","from":"a@b.c","to":["d@e.f"],"content":"a"}"#,
            r#"{"id":17,"from":"a@b.c","to":["d@e.f"],"content":"a"}"#,
            "not json",
            "[1,2]",
        ] {
            let j = job(text);
            assert_eq!(j.id, None, "{text}");
            assert!(j.spec.is_err(), "{text}");
        }
        assert!(reason(r#"{"id":5,"from":"","to":["d@e.f"],"content":"a"}"#).contains("id"));
        // Two ids: neither is taken.
        let j = job(r#"{"id":"x","id":"y","from":"","to":["d@e.f"],"content":"a"}"#);
        assert_eq!(j.id, None);
        assert!(j.spec.unwrap_err().reason.contains("duplicate field"));
    }

    #[test]
    fn an_unreadable_path_is_66() {
        let dir = std::env::temp_dir();
        let missing = dir.join(format!("mailwire-no-such-{}", std::process::id()));
        let text = format!(
            r#"{{"id":"p","from":"","to":["d@e.f"],"path":{:?}}}"#,
            missing.display().to_string()
        );
        let err = job(&text).spec.unwrap().load().unwrap_err();
        assert_eq!(err.status, exit::NOINPUT);
        let dev = r#"{"id":"p","from":"","to":["d@e.f"],"path":"/dev/zero"}"#;
        let err = job(dev).spec.unwrap().load().unwrap_err();
        assert!(err.reason.contains("not a regular file"), "{}", err.reason);
    }

    #[test]
    fn lines_are_numbered_blank_ones_skipped_long_ones_refused() {
        let good = r#"{"id":"a","from":"","to":["d@e.f"],"content":"x"}"#;
        let mut input = format!("{good}\r\n\n   \n").into_bytes();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(format!("\n{good}").as_bytes());
        let jobs: Vec<Job> =
            JobReader::new(io::BufReader::with_capacity(4096, &input[..])).collect();
        assert_eq!(jobs.len(), 3);
        assert_eq!(
            jobs.iter().map(|j| j.line).collect::<Vec<_>>(),
            [1, 4, 5],
            "the last line has no line end"
        );
        assert!(jobs[0].spec.is_ok() && jobs[2].spec.is_ok());
        let Err(long) = &jobs[1].spec else {
            panic!("a long line was accepted")
        };
        assert!(long.reason.contains("longer than"), "{}", long.reason);
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for text in [
            &b"\xff\xfe{"[..],
            b"{\"id\":\"\xc3\"}",
            b"{\"id\":\"a\",\"to\":[\"\\u0000@x\"],\"from\":\"\",\"content\":\"\"}",
            b"{{{{{{{{{{{{{{{{{{",
            b"\"just a string\"",
            b"null",
        ] {
            let j = parse_job(1, text);
            assert!(j.spec.is_err());
        }
    }
}
