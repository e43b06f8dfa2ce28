//! rsp-proto's integration tests, one binary: the codec against an independent ASN.1 implementation (asn1play),
//! SGP.22 chain checks and ECDSA over the SGP.26 test PKI, the test PKI generator, and SAIP profile packages
//! (TS.48 profiles from `../shared`, skipped with a printed reason when absent). None of them needs the server.

// Support: certificate issuers.
mod pki_support;
mod test_pki_support;

// Tests.
mod asn1play_crosscheck;
mod pki_chain;
mod pki_crypto;
mod pki_proptest;
mod profile_proptest;
mod profile_ts48;
mod test_pki;
mod test_pki_files;
