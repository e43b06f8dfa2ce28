//! Fuzz target `euicc_chain`: verify_euicc_chain / verify_dp_chain against a fixed trusted CI. The invariants are in `src/checks.rs` (`checks::euicc_chain`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::euicc_chain(data));
