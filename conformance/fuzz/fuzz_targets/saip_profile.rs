//! Fuzz target `saip_profile`: ProfilePackage::parse, to_der, personalize. The invariants are in `src/checks.rs` (`checks::saip_profile`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::saip_profile(data));
