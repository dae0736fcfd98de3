//! The checks behind the fuzz targets in `fuzz/`, as plain functions of the fuzz input.
//!
//! Each `pub fn target(data: &[u8])` panics when `mailwire` breaks a property the target
//! checks, and returns otherwise. The cargo-fuzz crate in `fuzz/` calls them from
//! `fuzz_target!`; `tests/replay.rs` calls them on every committed corpus and regression file
//! with the stable toolchain, so a crash found once stays fixed without nightly.
//!
//! Inputs are read with [`input::Bytes`] (a header of configuration bytes, then the payload), so
//! seeds can be written from the transcripts by [`seeds`] and a crash file can be read by a
//! person: see `docs/FUZZING.md` for each target's layout.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod body;
pub mod caller;
pub mod commands;
pub mod dkim;
pub mod input;
pub mod replay;
pub mod reply;
pub mod seeds;
pub mod session;

pub use body::body_encoder;
pub use caller::caller_api;
pub use commands::commands;
pub use dkim::dkim_sign;
pub use reply::reply_parser;
pub use session::client_session;

/// A target's check: panics when a property does not hold for this input.
pub type Check = fn(&[u8]);

/// Every target by name (the name of its `fuzz/fuzz_targets/<name>.rs` and corpus directory).
pub const TARGETS: &[(&str, Check)] = &[
    ("reply_parser", reply_parser),
    ("body_encoder", body_encoder),
    ("commands", commands),
    ("client_session", client_session),
    ("caller_api", caller_api),
    ("dkim_sign", dkim_sign),
];

/// The check function of the target called `name`.
pub fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
