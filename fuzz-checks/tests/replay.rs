//! Replays every committed fuzz input, `fuzz/corpus/<target>/*` and `fuzz/regressions/<target>/*`,
//! through the target's check on the stable toolchain: a crash found once by the fuzzer fails
//! `cargo test` if it ever comes back.

use mailwire_fuzz_checks::replay::{replay_dir, Report};
use mailwire_fuzz_checks::TARGETS;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn replay_all(kind: &str) -> (usize, Vec<String>) {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, check) in TARGETS {
        let dir = fuzz_dir().join(kind).join(name);
        let Report {
            replayed: n,
            failures: f,
        } = replay_dir(&dir, check).expect("readable directory");
        replayed += n;
        failures.extend(
            f.into_iter()
                .map(|f| format!("{}: {}", f.path.display(), f.message)),
        );
    }
    (replayed, failures)
}

/// Every seed and every input the fuzzer kept passes every check.
#[test]
fn corpus_replays_clean() {
    let (replayed, failures) = replay_all("corpus");
    assert!(
        replayed > 0,
        "no corpus found under {}",
        fuzz_dir().display()
    );
    assert!(
        failures.is_empty(),
        "{} of {replayed} inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every crash the fuzzer ever found, minimised, stays fixed.
#[test]
fn regressions_stay_fixed() {
    let (replayed, failures) = replay_all("regressions");
    assert!(
        failures.is_empty(),
        "{} of {replayed} regressions fail again:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The replay catches a crash coming back: with a check that panics on one committed input (as
/// a reintroduced bug would), that file, and only that one, is reported as failing.
#[test]
fn replay_reports_a_crash_that_comes_back() {
    let dir = fuzz_dir().join("corpus/reply_parser");
    let victim = std::fs::read_dir(&dir)
        .expect("reply_parser corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .min()
        .expect("a corpus file");
    let poison = std::fs::read(&victim).unwrap();
    let check = |data: &[u8]| {
        if data == poison.as_slice() {
            panic!("reintroduced bug");
        }
        mailwire_fuzz_checks::reply_parser(data);
    };
    let report = replay_dir(&dir, &check).unwrap();
    assert!(report.replayed > 1);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].path, victim);
    assert!(report.failures[0].message.contains("reintroduced bug"));
}
