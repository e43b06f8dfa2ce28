//! ES10b.GetEUICCInfo (SGP.22 v2.5 §5.7.8: EUICCInfo1 and EUICCInfo2) and ES10b.GetEUICCChallenge (§5.7.7).
//!
//! The soft eUICC claims SGP.22 v2.5.0 (`svn`), SAIP v2.3.1 (`profileVersion`), the CIs it was given for
//! verification and the CI of its own chain for signing.

use openssl::rand::rand_bytes;
use rasn::types::{BitString, OctetString, SequenceOf};
use rsp_proto::codec::sgp22::{EuiccInfo1, EuiccInfo2, SubjectKeyIdentifier, VersionType};
use rsp_proto::codec::{encode, CodecError};

use super::{Es10Error, SoftEuicc};

/// SGP.22 version supported: v2.5.0.
pub const SVN: [u8; 3] = [2, 5, 0];
/// SAIP (TCA) profile package version supported: v2.3.1.
pub const PROFILE_VERSION: [u8; 3] = [2, 3, 1];
/// The soft eUICC's "firmware" version.
pub const EUICC_FIRMWARE_VERSION: [u8; 3] = [1, 0, 0];
/// SAS accreditation number reported in EUICCInfo2 (a test value).
pub const SAS_ACCREDITATION_NUMBER: &str = "RSPD-SOFT-EUICC";

/// A BIT STRING with these named bits set (DER: no trailing zero bits).
fn named_bits(bits: &[usize]) -> BitString {
    let len = bits.iter().max().map_or(0, |m| m + 1);
    let mut out = BitString::repeat(false, len);
    for &b in bits {
        out.set(b, true);
    }
    out
}

impl SoftEuicc {
    fn ci_pkids_for_verification(&self) -> SequenceOf<SubjectKeyIdentifier> {
        self.credentials.ci_certs.iter().map(|ci| OctetString::from(ci.ci_pkid.clone())).collect()
    }

    fn ci_pkids_for_signing(&self) -> Result<SequenceOf<SubjectKeyIdentifier>, Es10Error> {
        let pkid = self.credentials.signing_ci_pkid().map_err(Es10Error::internal)?;
        Ok(vec![OctetString::from(pkid)])
    }

    /// EUICCInfo1 (`BF20`, §5.7.8).
    pub fn euicc_info1(&self) -> Result<EuiccInfo1, Es10Error> {
        Ok(EuiccInfo1 {
            svn: VersionType::from(SVN),
            euicc_ci_pkid_list_for_verification: self.ci_pkids_for_verification(),
            euicc_ci_pkid_list_for_signing: self.ci_pkids_for_signing()?,
        })
    }

    /// ES10b.GetEUICCInfo for EUICCInfo1: its DER (`BF20…`).
    pub fn get_euicc_info1(&self) -> Result<Vec<u8>, Es10Error> {
        encode(&self.euicc_info1()?).map_err(internal)
    }

    /// EUICCInfo2 (`BF22`, §5.7.8), also carried inside euiccSigned1.
    pub fn euicc_info2(&self) -> Result<EuiccInfo2, Es10Error> {
        // extCardResource (§5.7.8): 81 installed applications, 82 free NVM, 83 free volatile memory.
        let installed = u8::try_from(self.profiles.len()).unwrap_or(u8::MAX);
        let ext_card_resource = [0x81, 0x01, installed, 0x82, 0x03, 0x10, 0x00, 0x00, 0x83, 0x02, 0x40, 0x00];
        Ok(EuiccInfo2 {
            profile_version: VersionType::from(PROFILE_VERSION),
            svn: VersionType::from(SVN),
            euicc_firmware_ver: VersionType::from(EUICC_FIRMWARE_VERSION),
            ext_card_resource: OctetString::from(ext_card_resource.to_vec()),
            // UICCCapability: contactlessSupport(0) no; usimSupport(1), isimSupport(2), csimSupport(3) no,
            // akaMilenage(4), akaCave(5) no, akaTuak128(6), akaTuak256(7), … gbaAuthenUsim(9) no.
            uicc_capability: named_bits(&[1, 2, 4, 6, 7]),
            ts102241_version: Some(VersionType::from([9, 2, 0])),
            globalplatform_version: Some(VersionType::from([2, 3, 0])),
            // RspCapability: additionalProfile(0), testProfileSupport(3).
            rsp_capability: named_bits(&[0, 3]),
            euicc_ci_pkid_list_for_verification: self.ci_pkids_for_verification(),
            euicc_ci_pkid_list_for_signing: self.ci_pkids_for_signing()?,
            euicc_category: Some(1),
            forbidden_profile_policy_rules: None,
            pp_version: VersionType::from([0, 0, 1]),
            sas_acreditation_number: SAS_ACCREDITATION_NUMBER.into(),
            certification_data_object: None,
            tre_properties: None,
            tre_product_reference: None,
            additional_euicc_profile_package_versions: None,
        })
    }

    /// ES10b.GetEUICCInfo for EUICCInfo2: its DER (`BF22…`).
    pub fn get_euicc_info2(&self) -> Result<Vec<u8>, Es10Error> {
        encode(&self.euicc_info2()?).map_err(internal)
    }

    /// ES10b.GetEUICCChallenge (§5.7.7): a fresh 16-byte euiccChallenge. It starts a new RSP session: the
    /// session in progress, if any, is discarded.
    pub fn get_euicc_challenge(&mut self) -> Result<[u8; 16], Es10Error> {
        let mut challenge = [0u8; 16];
        rand_bytes(&mut challenge).map_err(Es10Error::internal)?;
        self.euicc_challenge = Some(challenge);
        self.session = None;
        Ok(challenge)
    }
}

fn internal(e: CodecError) -> Es10Error {
    Es10Error::internal(e)
}
