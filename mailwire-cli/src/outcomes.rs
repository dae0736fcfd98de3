//! `smtp-bulk`'s outcome lines: one JSON object per message (`--json`) or per job
//! (`--outcomes`), in one vocabulary (`docs/BULK-JOBS.md`, `docs/schema/bulk-outcome.schema.json`).
//!
//! [`outcome_fields`] makes the fields every line has from a `mailwire_mio::bulk::Report`:
//! `outcome`, the core's `class` and the `exit_status` `smtp-send` gives that class,
//! `transient`, `attempts`, every recipient's reply, the final `reply`, and `reason`, `error`
//! and `content_sent` where they apply. [`Outcomes`] adds a job's `id` and `line` and writes
//! each line as soon as it is known, flushed, so a reader downstream sees it at once.

use crate::exit;
use crate::jobs::Invalid;
use crate::progress::Progress;
use mailwire::{Class, Reply, Verdict};
use mailwire_mio::bulk::{Outcome, Report};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The reason a failed line gives when the whole content had been sent: the server may have
/// the message, and it was not sent again.
pub const OUTCOME_UNKNOWN: &str = "outcome unknown: the connection ended after the whole \
content was sent and before the server's reply; not sent again (the server may have it)";

/// The reason of a `not_attempted` line.
pub const NOT_ATTEMPTED: &str = "the run was stopped before this job was sent";

/// A reply as `{"code", "enhanced_code", "text"}`, as `smtp-send --json` writes one.
pub fn reply_json(reply: &Reply) -> Value {
    json!({
        "code": reply.code().get(),
        "enhanced_code": reply.enhanced_code().map(|e| e.to_string()),
        "text": reply.text_lossy(),
    })
}

/// The fields of one line, every key present (`null` where it does not apply).
fn line(outcome: &str, class: Class, transient: bool, attempts: u32) -> Map<String, Value> {
    let mut line = Map::new();
    line.insert("outcome".into(), json!(outcome));
    line.insert("class".into(), json!(class.name()));
    line.insert("exit_status".into(), json!(class.exit_status()));
    line.insert("transient".into(), json!(transient));
    line.insert("attempts".into(), json!(attempts));
    line.insert("recipients".into(), json!([]));
    for key in ["reply", "reason", "error", "content_sent"] {
        line.insert(key.into(), Value::Null);
    }
    line
}

/// The fields of a report's line. `class` and `exit_status` are the core's judgement
/// (`Report::class`), the same `smtp-send` exits with for the same outcome.
pub fn outcome_fields(report: &Report) -> Map<String, Value> {
    let class = report.class();
    let mut fields = match &report.outcome {
        Outcome::Done(o) => {
            let name = match &o.verdict {
                Verdict::Accepted { .. } => "accepted",
                Verdict::PartiallyAccepted { .. } => "partial",
                _ => "rejected",
            };
            let mut fields = line(name, class, o.is_transient(), report.attempts);
            let recipients: Vec<Value> = o
                .envelope
                .recipients
                .iter()
                .zip(&o.recipients)
                .map(|(r, out)| {
                    json!({
                        "address": r.address.to_string(),
                        "accepted": out.rcpt.as_ref().map(Reply::is_positive_completion),
                        "reply": out.rcpt.as_ref().map(reply_json),
                        "delivery": out.delivery.as_ref().map(reply_json),
                    })
                })
                .collect();
            fields.insert("recipients".into(), json!(recipients));
            fields.insert("reply".into(), json!(o.final_reply().map(reply_json)));
            if let Verdict::Rejected(rejection) = &o.verdict {
                fields.insert("reason".into(), json!(rejection.to_string()));
            }
            fields
        }
        Outcome::Refused(e) => {
            let mut fields = line("rejected", class, false, report.attempts);
            fields.insert("reason".into(), json!(e.to_string()));
            fields
        }
        Outcome::Failed(failure) => {
            let transient = class == Class::Temporary;
            let mut fields = line("failed", class, transient, report.attempts);
            fields.insert("error".into(), json!(failure.to_string()));
            fields.insert("content_sent".into(), json!(failure.content_sent));
            if failure.content_sent {
                fields.insert("reason".into(), json!(OUTCOME_UNKNOWN));
            }
            fields
        }
        Outcome::NotAttempted => not_attempted_fields(report.attempts),
        // A kind of outcome this command does not know yet: said so, never dropped.
        _ => {
            let mut fields = line("failed", class, false, report.attempts);
            fields.insert("error".into(), json!("an outcome smtp-bulk does not know"));
            fields
        }
    };
    fields.insert("exit_status".into(), json!(class.exit_status()));
    fields
}

/// The fields of a `not_attempted` line: the run was stopped before the message was sent.
pub fn not_attempted_fields(attempts: u32) -> Map<String, Value> {
    let mut fields = line("not_attempted", Class::Temporary, true, attempts);
    fields.insert("reason".into(), json!(NOT_ATTEMPTED));
    fields
}

/// Counts by outcome, for the progress bar and the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Accepted for every recipient or some.
    pub accepted: u64,
    /// Refused by the server or the session.
    pub rejected: u64,
    /// Failed after every try, or with the outcome unknown.
    pub failed: u64,
    /// Invalid job lines.
    pub invalid: u64,
    /// Not attempted: the run was stopped first.
    pub not_attempted: u64,
}

impl Counts {
    /// Counts one report.
    pub fn record(&mut self, report: &Report) {
        match &report.outcome {
            _ if report.is_accepted() => self.accepted += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::NotAttempted => self.not_attempted += 1,
            _ => self.rejected += 1,
        }
    }

    /// Every outcome counted.
    pub fn total(&self) -> u64 {
        self.accepted + self.rejected + self.failed + self.invalid + self.not_attempted
    }
}

/// A job's reference in its outcome line: its line number, and its id when it had a usable
/// one. Ids need not be unique: the line number is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    /// From 1.
    pub line: u64,
    /// The job's `id`.
    pub id: Option<String>,
}

/// Where job outcome lines go, one per job, each flushed when written. A write that fails
/// (the reader downstream went away) sets the stop flag: no job is sent whose outcome could
/// not be told.
pub struct Outcomes {
    out: Box<dyn Write>,
    /// Jobs handed to the run by index (`Report::index`), until their report.
    handed: HashMap<usize, JobRef>,
    next_index: usize,
    counts: Counts,
    progress: Option<Progress>,
    stop: Arc<AtomicBool>,
    error: Option<io::Error>,
}

impl Outcomes {
    /// Outcome lines to `out`; a write failure sets `stop`.
    pub fn new(out: Box<dyn Write>, stop: Arc<AtomicBool>, progress: Option<Progress>) -> Self {
        Outcomes {
            out,
            handed: HashMap::new(),
            next_index: 0,
            counts: Counts::default(),
            progress,
            stop,
            error: None,
        }
    }

    /// A job handed to the run: its index there is the next.
    pub fn handed(&mut self, job: JobRef) {
        self.handed.insert(self.next_index, job);
        self.next_index += 1;
    }

    /// A job's report from the run.
    pub fn report(&mut self, report: &Report) {
        self.counts.record(report);
        // Every handed job is in the map; a report without one would be a bug in the run, and
        // its line still goes out, with no reference but what it has.
        let job = self
            .handed
            .remove(&report.index)
            .unwrap_or(JobRef { line: 0, id: None });
        self.write(&job, outcome_fields(report));
    }

    /// An invalid job line.
    pub fn invalid(&mut self, job: JobRef, invalid: &Invalid) {
        self.counts.invalid += 1;
        let mut fields = line("invalid", Class::Local, false, 0);
        fields.insert("exit_status".into(), json!(invalid.status));
        fields.insert("reason".into(), json!(invalid.reason));
        self.write(&job, fields);
    }

    /// A job the run never took (read after it stopped).
    pub fn not_attempted(&mut self, job: JobRef) {
        self.counts.not_attempted += 1;
        self.write(&job, not_attempted_fields(0));
    }

    /// Counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether a line could not be written.
    pub fn failed_to_write(&self) -> bool {
        self.error.is_some()
    }

    /// The first write error, and the progress bar to finish.
    pub fn finish(&mut self) -> (Option<io::Error>, Option<Progress>) {
        (self.error.take(), self.progress.take())
    }

    fn write(&mut self, job: &JobRef, fields: Map<String, Value>) {
        if let Some(progress) = &mut self.progress {
            progress.update(&self.counts);
        }
        if self.error.is_some() {
            return;
        }
        let mut line = Map::new();
        line.insert("id".into(), json!(job.id));
        line.insert("line".into(), json!(job.line));
        line.extend(fields);
        let written = serde_json::to_writer(&mut self.out, &Value::Object(line))
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            self.error = Some(e);
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// The exit status of a run in which `counts` happened: 0 when every message or job was
/// accepted, 1 otherwise.
pub fn run_status(counts: &Counts) -> u8 {
    if counts.accepted == counts.total() {
        exit::OK
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_and_not_attempted_lines() {
        let buf = SharedBuf::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut outcomes = Outcomes::new(Box::new(buf.clone()), Arc::clone(&stop), None);
        let invalid = Invalid {
            status: exit::NOINPUT,
            reason: "path: gone".into(),
        };
        outcomes.invalid(
            JobRef {
                line: 3,
                id: Some("a".into()),
            },
            &invalid,
        );
        outcomes.not_attempted(JobRef { line: 4, id: None });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[0]["line"], 3);
        assert_eq!(lines[0]["outcome"], "invalid");
        assert_eq!(lines[0]["exit_status"], 66);
        assert_eq!(lines[0]["class"], "local");
        assert_eq!(lines[1]["id"], Value::Null);
        assert_eq!(lines[1]["outcome"], "not_attempted");
        assert_eq!(lines[1]["class"], "temporary");
        assert_eq!(lines[1]["exit_status"], 75);
        assert_eq!(
            outcomes.counts(),
            Counts {
                invalid: 1,
                not_attempted: 1,
                ..Counts::default()
            }
        );
        assert!(!stop.load(Ordering::SeqCst));
        assert_eq!(run_status(&outcomes.counts()), 1);
    }

    #[test]
    fn a_failed_write_stops_the_run() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut outcomes = Outcomes::new(Box::new(Broken), Arc::clone(&stop), None);
        outcomes.not_attempted(JobRef { line: 1, id: None });
        assert!(stop.load(Ordering::SeqCst));
        assert!(outcomes.failed_to_write());
        let (error, _) = outcomes.finish();
        assert_eq!(error.unwrap().kind(), io::ErrorKind::BrokenPipe);
    }

    #[derive(Clone, Default)]
    struct SharedBuf(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
