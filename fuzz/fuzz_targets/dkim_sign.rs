//! The `dkim_sign` target; the check lives in `mailwire_fuzz_checks::dkim_sign` so that
//! `cargo test` replays the corpus on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailwire_fuzz_checks::dkim_sign(data));
