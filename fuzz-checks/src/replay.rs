//! Replaying saved fuzz inputs through a check function, on any toolchain.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// A saved input that made its check panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file.
    pub path: PathBuf,
    /// The panic message.
    pub message: String,
}

/// What a replay of one directory did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files replayed.
    pub replayed: usize,
    /// The ones whose check panicked.
    pub failures: Vec<Failure>,
}

/// Runs `check` on `data`; the panic message if it panicked.
pub fn run_one(check: &dyn Fn(&[u8]), data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| check(data))).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic payload".into())
    })
}

/// Runs `check` on every file of `dir` (not recursing; names starting with `.` and `README`
/// files are skipped). A missing directory replays nothing.
pub fn replay_dir(dir: &Path, check: &dyn Fn(&[u8])) -> std::io::Result<Report> {
    let mut report = Report::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(e),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_file() && !name.starts_with('.') && !name.starts_with("README") {
            paths.push(path);
        }
    }
    paths.sort();
    for path in paths {
        let data = std::fs::read(&path)?;
        report.replayed += 1;
        if let Err(message) = run_one(check, &data) {
            report.failures.push(Failure { path, message });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_check_is_reported_with_its_message() {
        let check = |data: &[u8]| assert!(data != b"boom", "exploded on {data:?}");
        assert_eq!(run_one(&check, b"fine"), Ok(()));
        let err = run_one(&check, b"boom").unwrap_err();
        assert!(err.contains("exploded"), "{err}");
    }
}
