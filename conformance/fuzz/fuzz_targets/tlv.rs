//! Fuzz target `tlv`: strict DER TLV walker. The invariants are in `src/checks.rs` (`checks::tlv`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::tlv(data));
