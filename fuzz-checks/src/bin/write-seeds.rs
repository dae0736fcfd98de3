//! Writes the seed corpora from the session transcripts:
//! `cargo run -p mailwire-fuzz-checks --bin write-seeds [TRANSCRIPTS_DIR [CORPUS_DIR]]`.
//! Defaults: `mailwire/testdata/transcripts` and `fuzz/corpus`, relative to the workspace root.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = std::env::args_os().skip(1);
    let transcripts = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("mailwire/testdata/transcripts"));
    let corpus = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fuzz/corpus"));
    let n = mailwire_fuzz_checks::seeds::write_all(&transcripts, &corpus)?;
    println!("wrote {n} seeds under {}", corpus.display());
    Ok(())
}
