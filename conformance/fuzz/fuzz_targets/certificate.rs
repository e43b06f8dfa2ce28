//! Fuzz target `certificate`: Certificate::from_der / from_pem. The invariants are in `src/checks.rs` (`checks::certificate`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::certificate(data));
