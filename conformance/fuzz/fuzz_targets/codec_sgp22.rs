//! Fuzz target `codec_sgp22`: decode::<T> for every SGP.22 message type, dispatched on the first byte. The invariants are in `src/checks.rs` (`checks::codec_sgp22`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::codec_sgp22(data));
