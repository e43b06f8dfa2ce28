//! A minimal eIM (SGP.32 v1.2 §2.11, §3.5 eIM package procedures) built from rspd's library pieces: it owns an
//! eIM key, associates itself with an eUICC (AddInitialEim), signs EuiccPackageRequests with increasing
//! `counterValue`s (`eimSignature` over `euiccPackageSigned || associationToken`, §2.11.1.1) and verifies the
//! eUICC's EuiccPackageResults over the **received** bytes (`euiccSignEPR` / `euiccSignEPE` over the signed
//! data || associationToken, §2.11.2.1) with PK.EUICC.ECDSA from the eUICC certificate, matching each result
//! to the package it answers by (eimId, counterValue, eimTransactionId).

use openssl::ec::{EcGroup, EcKey};
use openssl::pkey::{PKey, Private};
use rasn::types::{FixedOctetString, OctetString};
use rsp_conformance::euicc::eim::signature::signed_input;
use rsp_proto::codec::sgp22::{Signature, TransactionId};
use rsp_proto::codec::sgp32::{
    euicc_package_error_data_signed, euicc_package_result_data_signed, AddInitialEimOkItem, AddInitialEimRequest,
    AddInitialEimResponse, EimConfigurationData, EimPublicKeyData, EuiccPackage, EuiccPackageRequest,
    EuiccPackageResult, EuiccPackageSigned, EuiccResultData, SubjectPublicKeyInfo,
};
use rsp_proto::codec::{decode, encode, Received};
use rsp_proto::pki::{ecdsa, Certificate, Curve, EcPublicKey};

/// What a verified EuiccPackageResult says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageOutcome {
    /// `euiccPackageResultSigned`: the operations ran; one result per executed operation.
    Executed { seq_number: i64, euicc_result: Vec<EuiccResultData> },
    /// `euiccPackageErrorSigned` with its `EuiccPackageErrorCode`.
    ErrorSigned { euicc_package_error_code: i64 },
    /// `euiccPackageErrorUnsigned` (unknown eIM or bad eimSignature): nothing to verify.
    ErrorUnsigned,
}

/// A package as sent, to match its result.
#[derive(Debug, Clone)]
pub struct SentPackage {
    pub counter_value: i64,
    pub eim_transaction_id: Vec<u8>,
    pub der: Vec<u8>,
}

pub struct EimSim {
    pub eim_id: String,
    key: EcKey<Private>,
    /// The last counterValue used; the next package carries `counter_value + 1`.
    pub counter_value: i64,
    /// Issued by the eUICC in AddInitialEim / addEim when asked for.
    pub association_token: Option<i64>,
    /// PK.EUICC.ECDSA, from CERT.EUICC.ECDSA.
    pub euicc_public_key: EcPublicKey,
    /// The eUICC's EID (`eidValue`).
    pub eid_value: [u8; 16],
}

impl EimSim {
    /// A fresh eIM key on `curve`, for the eUICC whose certificate is `euicc_cert_der`.
    pub fn new(eim_id: &str, curve: Curve, euicc_cert_der: &[u8], initial_counter_value: i64) -> Self {
        let group = EcGroup::from_curve_name(curve.nid()).unwrap();
        let key = EcKey::generate(&group).unwrap();
        let cert = Certificate::from_der(euicc_cert_der).unwrap();
        let eid: [u8; 16] = hex::decode(cert.subject_serial_number().unwrap()).unwrap().try_into().unwrap();
        EimSim {
            eim_id: eim_id.to_string(),
            key,
            counter_value: initial_counter_value,
            association_token: None,
            euicc_public_key: cert.public_key().clone(),
            eid_value: eid,
        }
    }

    /// PK.EIM.ECDSA as the eUICC will know it.
    pub fn public_key(&self) -> EcPublicKey {
        EcPublicKey::from_ec_key(&self.key).unwrap()
    }

    /// EimConfigurationData for association: the current counterValue, the public key as SPKI and, when
    /// `ask_association_token`, an `associationToken` field asking the eUICC for one.
    pub fn eim_configuration_data(&self, ask_association_token: bool) -> EimConfigurationData {
        let spki_der = PKey::from_ec_key(self.key.clone()).unwrap().public_key_to_der().unwrap();
        let mut config = EimConfigurationData::new(self.eim_id.clone());
        config.eim_fqdn = Some(format!("{}.example.test", self.eim_id));
        config.eim_id_type = Some(2);
        config.counter_value = Some(self.counter_value);
        config.association_token = ask_association_token.then_some(0);
        config.eim_public_key_data =
            Some(EimPublicKeyData::EimPublicKey(SubjectPublicKeyInfo::from_der(&spki_der).unwrap()));
        config
    }

    /// AddInitialEimRequest DER for this eIM alone.
    pub fn add_initial_eim_request(&self, ask_association_token: bool) -> Vec<u8> {
        encode(&AddInitialEimRequest {
            eim_configuration_data_list: vec![self.eim_configuration_data(ask_association_token)],
        })
        .unwrap()
    }

    /// Reads the AddInitialEimResponse; keeps the association token if one was issued.
    pub fn accept_add_initial_eim_response(&mut self, der: &[u8]) -> Result<(), String> {
        match decode::<AddInitialEimResponse>(der).map_err(|e| e.to_string())? {
            AddInitialEimResponse::AddInitialEimOk(items) => {
                if let Some(AddInitialEimOkItem::AssociationToken(token)) = items.first() {
                    self.association_token = Some(*token);
                }
                Ok(())
            }
            AddInitialEimResponse::AddInitialEimError(code) => Err(format!("addInitialEimError {code}")),
        }
    }

    /// The next package: counterValue + 1, a fresh eimTransactionId, signed.
    pub fn next_package(&mut self, euicc_package: EuiccPackage) -> SentPackage {
        self.counter_value += 1;
        let eim_transaction_id = crate::support::random16().to_vec();
        let der = self.package(self.eid_value, self.counter_value, &eim_transaction_id, euicc_package);
        SentPackage { counter_value: self.counter_value, eim_transaction_id, der }
    }

    /// An EuiccPackageRequest with exactly these fields, signed by this eIM.
    pub fn package(
        &self,
        eid_value: [u8; 16],
        counter_value: i64,
        eim_transaction_id: &[u8],
        euicc_package: EuiccPackage,
    ) -> Vec<u8> {
        let euicc_package_signed = EuiccPackageSigned {
            eim_id: self.eim_id.clone(),
            eid_value: FixedOctetString::new(eid_value),
            counter_value,
            eim_transaction_id: Some(TransactionId(OctetString::from(eim_transaction_id.to_vec()))),
            euicc_package,
        };
        let signed = Received::from_value(euicc_package_signed).unwrap();
        let eim_signature = self.eim_signature(&signed.raw);
        encode(&EuiccPackageRequest { euicc_package_signed: signed.value, eim_signature }).unwrap()
    }

    /// `eimSignature` over `euiccPackageSigned || associationToken` (SGP.32 v1.2 §2.11.1.1).
    pub fn eim_signature(&self, euicc_package_signed: &[u8]) -> Signature {
        let raw = ecdsa::sign(&self.key, &signed_input(euicc_package_signed, self.association_token)).unwrap();
        Signature(OctetString::from(raw.0.to_vec()))
    }

    /// Verifies an EuiccPackageResult against the package it answers, over the received bytes.
    pub fn verify_result(&self, sent: &SentPackage, der: &[u8]) -> Result<PackageOutcome, String> {
        let result: EuiccPackageResult = decode(der).map_err(|e| e.to_string())?;
        let transaction_id = |t: &Option<TransactionId>| t.as_ref().map(|t| t.0.to_vec());
        let check_match = |eim_id: &str, counter_value: i64, t: Option<Vec<u8>>| {
            if eim_id != self.eim_id
                || counter_value != sent.counter_value
                || t != Some(sent.eim_transaction_id.clone())
            {
                return Err(format!("result for ({eim_id}, {counter_value}, {t:?}) does not answer this package"));
            }
            Ok(())
        };
        match result {
            EuiccPackageResult::EuiccPackageResultSigned(signed) => {
                let data = euicc_package_result_data_signed(der).map_err(|e| e.to_string())?;
                self.verify_euicc_signature(&data.raw, &signed.euicc_sign_epr)?;
                let d = data.value;
                check_match(&d.eim_id, d.counter_value, transaction_id(&d.eim_transaction_id))?;
                Ok(PackageOutcome::Executed { seq_number: d.seq_number, euicc_result: d.euicc_result })
            }
            EuiccPackageResult::EuiccPackageErrorSigned(signed) => {
                let data = euicc_package_error_data_signed(der).map_err(|e| e.to_string())?;
                self.verify_euicc_signature(&data.raw, &signed.euicc_sign_epe)?;
                let d = data.value;
                check_match(&d.eim_id, d.counter_value, transaction_id(&d.eim_transaction_id))?;
                Ok(PackageOutcome::ErrorSigned { euicc_package_error_code: d.euicc_package_error_code })
            }
            EuiccPackageResult::EuiccPackageErrorUnsigned(unsigned) => {
                if unsigned.eim_id != self.eim_id {
                    return Err("unsigned error for another eIM".into());
                }
                Ok(PackageOutcome::ErrorUnsigned)
            }
        }
    }

    /// `euiccSignEPR` / `euiccSignEPE` over `signed data || associationToken` (SGP.32 v1.2 §2.11.2.1).
    fn verify_euicc_signature(&self, signed_part: &[u8], signature: &Signature) -> Result<(), String> {
        ecdsa::verify(&self.euicc_public_key, &signed_input(signed_part, self.association_token), &signature.0)
            .map_err(|e| format!("eUICC signature: {e}"))
    }
}
