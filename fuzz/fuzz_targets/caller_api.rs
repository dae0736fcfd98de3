//! The `caller_api` target; the check lives in `smtp_fuzz_checks::caller_api` so that
//! `cargo test` replays the corpus on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtp_fuzz_checks::caller_api(data));
