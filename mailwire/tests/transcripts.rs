//! Replays every `testdata/transcripts/*.txt` conversation against the session, with the
//! server's bytes fed whole, byte by byte, and in random splits: the client's bytes and events
//! must be the same every time (RFC 5321 4.2: replies may arrive in any segmentation).

mod support;

use support::{run_transcript, Split};

#[test]
fn every_transcript_replays_under_every_split() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/transcripts");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "expected the transcript suite, found {}",
        names.len()
    );
    // Every transcript runs, and every failure is reported, not only the first.
    let mut failed = Vec::new();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let run = std::panic::catch_unwind(|| {
            for split in [
                Split::Whole,
                Split::ByteByByte,
                Split::Random(7),
                Split::Random(1234567),
            ] {
                run_transcript(&name, &text, split);
            }
        });
        if run.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "transcripts failed: {failed:?}");
    // Every row of the state tables is taken by some transcript (the session checks every move
    // against the tables in debug builds; this checks no row is dead).
    if cfg!(debug_assertions) {
        let (phases, steps) = mailwire::transitions_seen();
        let unseen = |table: &[mailwire::Transition], seen: u32| -> Vec<String> {
            table
                .iter()
                .enumerate()
                .filter(|(i, _)| seen & (1 << i) == 0)
                .map(|(_, (from, to, _))| format!("{from} -> {to}"))
                .collect()
        };
        let missing = [
            unseen(mailwire::PHASE_TABLE, phases),
            unseen(mailwire::STEP_TABLE, steps),
        ]
        .concat();
        assert!(missing.is_empty(), "no transcript takes {missing:?}");
    }
}
