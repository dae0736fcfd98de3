//! Prints what the `caller_api` target does with an input file:
//! `cargo run -p mailwire-fuzz-checks --example trace-caller -- FILE`.

fn main() -> std::io::Result<()> {
    for path in std::env::args_os().skip(1) {
        let data = std::fs::read(&path)?;
        println!("== {}", path.to_string_lossy());
        mailwire_fuzz_checks::caller::trace(&data);
    }
    Ok(())
}
