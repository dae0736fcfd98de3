//! `docs/ARCHITECTURE.md` shows the state machine's transition tables; this keeps them the
//! tables the code checks every move against (`PHASE_TABLE`, `STEP_TABLE` in
//! `src/client/state.rs`). Change one, change the other. (That every row is taken by some
//! session is checked by `tests/transcripts.rs`.)

use mailwire::{Transition, PHASE_TABLE, STEP_TABLE};

/// The rows of the markdown table between `<!-- NAME -->` and `<!-- /NAME -->`.
fn doc_rows(doc: &str, name: &str) -> Vec<(String, String, String)> {
    let start = format!("<!-- {name} -->");
    let end = format!("<!-- /{name} -->");
    let from = doc
        .find(&start)
        .unwrap_or_else(|| panic!("{start} missing"));
    let to = doc.find(&end).unwrap_or_else(|| panic!("{end} missing"));
    doc[from + start.len()..to]
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            let cells: Vec<String> = l
                .trim()
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            assert_eq!(cells.len(), 3, "row {l:?}");
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

fn code_rows(table: &[Transition]) -> Vec<(String, String, String)> {
    table
        .iter()
        .map(|(f, t, w)| (f.to_string(), t.to_string(), w.to_string()))
        .collect()
}

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ARCHITECTURE.md");
    std::fs::read_to_string(path).expect("docs/ARCHITECTURE.md")
}

#[test]
fn documented_phase_table_is_the_code_table() {
    assert_eq!(doc_rows(&doc(), "PHASE_TABLE"), code_rows(PHASE_TABLE));
}

#[test]
fn documented_step_table_is_the_code_table() {
    assert_eq!(doc_rows(&doc(), "STEP_TABLE"), code_rows(STEP_TABLE));
}
