//! EuiccPackageRequest (`BF51`) building and `eimSignature`, SGP.32 v1.2 §2.11.1.1:
//! `euiccPackageSigned = { eimId [0], eidValue 5A, counterValue [1], eimTransactionId [2], euiccPackage }` and
//! `eimSignature` = ECDSA-SHA256 (`r||s`, via the key store, [`KeyRole::Eim`]) over
//! `DER(euiccPackageSigned) || 84 L associationToken` (`84 01 00` when the eUICC issued none).
//!
//! The counterValue is not chosen here: the repository takes it (strictly increasing per eUICC) in the same
//! transaction that queues the package ([`super::EimRepository::queue_package`]), and hands it to
//! [`sign_euicc_package`] through a [`super::QueueSlot`].

use rasn::types::{FixedOctetString, OctetString};

use crate::codec::sgp22::{Signature, TransactionId};
use crate::codec::sgp32::{EuiccPackage, EuiccPackageRequest, EuiccPackageSigned};
use crate::codec::{encode, Received};
use crate::pki::keystore::{KeyRef, KeyStore};

use super::error::EimError;

pub use crate::codec::sgp32::{association_token_do, signed_input};

/// What [`sign_euicc_package`] needs from the queueing transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSlot {
    /// The eUICC's `eidValue`.
    pub eid_value: [u8; 16],
    /// The counterValue taken for this package (previous + 1).
    pub counter_value: i64,
    pub eim_transaction_id: [u8; 16],
    pub association_token: Option<i64>,
}

/// Builds and signs the EuiccPackageRequest for one queue slot; returns its DER (`BF51 …`), stored and sent
/// as is.
pub fn sign_euicc_package(
    keys: &dyn KeyStore,
    eim_key: &KeyRef,
    eim_id: &str,
    slot: &QueueSlot,
    euicc_package: EuiccPackage,
) -> Result<Vec<u8>, EimError> {
    let encode_error =
        |e: crate::codec::CodecError| EimError::Encode { what: "EuiccPackageRequest", reason: e.to_string() };
    let euicc_package_signed = EuiccPackageSigned {
        eim_id: eim_id.to_owned(),
        eid_value: FixedOctetString::new(slot.eid_value),
        counter_value: slot.counter_value,
        eim_transaction_id: Some(TransactionId(OctetString::from(slot.eim_transaction_id.to_vec()))),
        euicc_package,
    };
    let signed = Received::from_value(euicc_package_signed).map_err(encode_error)?;
    let eim_signature = keys.sign(eim_key, &signed_input(&signed.raw, slot.association_token))?;
    encode(&EuiccPackageRequest {
        euicc_package_signed: signed.value,
        eim_signature: Signature(OctetString::from(eim_signature.0.to_vec())),
    })
    .map_err(encode_error)
}
