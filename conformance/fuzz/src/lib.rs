//! rspd's fuzz targets as a library: the invariants live in [`checks`] (one function per target), so the
//! `fuzz_targets/*.rs` binaries are one line each and the main crate's `tests/it/fuzz_regressions.rs` replays
//! the committed seeds and reproducers through the same code without cargo-fuzz.
#![forbid(unsafe_code)]

pub mod checks;
