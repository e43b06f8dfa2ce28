//! Fuzz target `ecdsa_verify`: EcPublicKey::from_point and raw r||s verify. The invariants are in `src/checks.rs` (`checks::ecdsa_verify`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rspd_fuzz::checks::ecdsa_verify(data));
