//! Fuzz target `bpp_open`: open_bpp: raw BPPs, rspd-built round trips, tampered BPPs. The invariants are in `src/checks.rs` (`checks::bpp_open`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::bpp_open(data));
