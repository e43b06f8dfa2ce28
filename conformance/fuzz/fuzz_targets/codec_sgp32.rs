//! Fuzz target `codec_sgp32`: decode::<T> for every SGP.32 v1.2 message type, dispatched on the first byte. The invariants are in `src/checks.rs` (`checks::codec_sgp32`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::codec_sgp32(data));
