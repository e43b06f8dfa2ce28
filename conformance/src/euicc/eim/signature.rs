//! The signed inputs of SGP.32 v1.2 eUICC packages and their results (`eimSignature`, `euiccSignEPR`,
//! `euiccSignEPE`): the eUICC uses exactly the wire rule rspd's codec defines, with its sources, in
//! `rsp_proto::codec::sgp32::signed_input`.

pub use rsp_proto::codec::sgp32::{association_token_do, signed_input};
