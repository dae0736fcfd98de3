//! The `caller_api` target; the check lives in `mailwire_fuzz_checks::caller_api` so that
//! `cargo test` replays the corpus on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailwire_fuzz_checks::caller_api(data));
