//! Fuzz target `config_toml`: config::load on an arbitrary TOML file. The invariants are in `src/checks.rs` (`checks::config_toml`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::config_toml(data));
