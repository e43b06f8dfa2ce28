//! Fuzz target `scp03t_open`: Scp03tSession::open / verify_mac_only on segments. The invariants are in `src/checks.rs` (`checks::scp03t_open`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::scp03t_open(data));
