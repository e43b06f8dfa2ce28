//! The SM-DP+ building a Bound Profile Package `BF36` (SGP.22 v2.5 §2.5.5; §5.5.1
//! ES8+.InitialiseSecureChannel, §5.5.2 ConfigureISDP, §5.5.3 StoreMetadata, §5.5.4 ReplaceSessionKeys,
//! §5.5.5 LoadProfileElements):
//!
//! ```text
//! BF36 { BF23 InitialiseSecureChannelRequest { 82 remoteOpId, 80 transactionId,
//!                                              A6 { 80 keyType, 81 keyLen, 84 hostId },
//!                                              5F49 otPK.DP.ECKA, 5F37 smdpSign },
//!        A0 { 87 … }  ConfigureISDPRequest, encrypted under S-ENC/S-MAC
//!        A1 { 88 … }  StoreMetadataRequest, MAC only
//!        A2 { 87 … }  ReplaceSessionKeysRequest (optional)
//!        A3 { 86 … }  the profile package, under the PPKs when A2 is present }
//! ```

use crate::bsp::ecka::shared_secret_smdp;
use crate::bsp::error::BspError;
use crate::bsp::kdf::{derive_session_keys, SessionKeys};
use crate::bsp::scp03t::Scp03tSession;
use crate::bsp::segment::{encrypt_segments, mac_only_segments};
use crate::bsp::{KEY_LEN_AES128, KEY_TYPE_AES, REMOTE_OP_ID_INSTALL_BPP};
use crate::codec::tlv::{self, Tag};
use crate::pki::keystore::{KeyRef, KeyStore, OneTimeKeyId};

/// Whether the profile package is protected with per-profile keys (SGP.22 §5.5.4).
pub enum ReplaceSessionKeys {
    /// No `A2`: the profile is protected with the session keys.
    No,
    /// `A2` with fresh random PPK-ENC, PPK-MAC and initial MAC chaining value.
    Random,
    /// `A2` with these keys (pre-generated PPKs, known-answer tests).
    With(SessionKeys),
}

/// Everything one BPP depends on.
pub struct BppInputs<'a> {
    /// TransactionId of the download session (1 to 16 bytes).
    pub transaction_id: &'a [u8],
    /// otSK.DP.ECKA in the key store, generated for this download on the DPpb curve.
    pub otsk_dp_ecka: &'a OneTimeKeyId,
    /// otPK.DP.ECKA, the public half (uncompressed point), sent as `5F49`.
    pub otpk_dp_ecka: &'a [u8],
    /// otPK.EUICC.ECKA from PrepareDownloadResponse (`5F49`, uncompressed point).
    pub otpk_euicc_ecka: &'a [u8],
    /// hostId of the control reference template (1 to 16 bytes).
    pub host_id: &'a [u8],
    /// The EID, 16 bytes, as it enters the key derivation.
    pub eid: &'a [u8],
    /// SK.DPpb.ECDSA, which signs the InitialiseSecureChannel data objects.
    pub dppb_key: &'a KeyRef,
    /// ConfigureISDPRequest, DER (`BF24…`).
    pub configure_isdp: &'a [u8],
    /// StoreMetadataRequest, DER (`BF25…`).
    pub store_metadata: &'a [u8],
    /// The unprotected profile package (SAIP profile elements).
    pub profile: &'a [u8],
    pub replace_session_keys: ReplaceSessionKeys,
}

/// Builds the `BF36` bytes. The one-time key is not forgotten here: the caller does that once the
/// BPP is stored (it may be needed again for a retry of the same download, SGP.22 §3.1.3).
pub fn build_bpp(key_store: &dyn KeyStore, inputs: &BppInputs<'_>) -> Result<Vec<u8>, BspError> {
    check_inputs(inputs)?;

    let isc = initialise_secure_channel_request(key_store, inputs)?;

    // §2.6.4.1/§2.6.4.2: ECKA with otPK.EUICC.ECKA, then the session keys.
    let z = shared_secret_smdp(key_store, inputs.otsk_dp_ecka, inputs.otpk_euicc_ecka)?;
    let session_keys = derive_session_keys(&z, KEY_TYPE_AES, KEY_LEN_AES128, inputs.host_id, inputs.eid)?;
    let mut session = Scp03tSession::new(&session_keys);

    let first_87 = encrypt_segments(&mut session, 0x87, inputs.configure_isdp)?;
    let seq_88 = mac_only_segments(&mut session, 0x88, inputs.store_metadata)?;

    let ppk = match &inputs.replace_session_keys {
        ReplaceSessionKeys::No => None,
        ReplaceSessionKeys::Random => Some(SessionKeys::random()?),
        ReplaceSessionKeys::With(k) => Some(k.clone()),
    };
    let second_87 = match &ppk {
        Some(ppk) => Some(encrypt_segments(&mut session, 0x87, &replace_session_keys_request(ppk))?),
        None => None,
    };
    // §5.5.4: after ReplaceSessionKeys the profile is protected by a new session under the PPKs.
    let mut profile_session = match &ppk {
        Some(ppk) => Scp03tSession::new(ppk),
        None => session,
    };
    let seq_86 = encrypt_segments(&mut profile_session, 0x86, inputs.profile)?;

    let seq = |tag: u32, segs: &[Vec<u8>]| tlv::encode_constructed(Tag(tag), segs.iter().map(Vec::as_slice));
    let mut parts = vec![isc, seq(0xA0, &first_87), seq(0xA1, &seq_88)];
    if let Some(s) = &second_87 {
        parts.push(seq(0xA2, s));
    }
    parts.push(seq(0xA3, &seq_86));
    Ok(tlv::encode_constructed(Tag(0xBF36), parts.iter().map(Vec::as_slice)))
}

/// §5.5.1: `BF23` with smdpSign over the four data objects remoteOpId, transactionId,
/// controlRefTemplate and smdpOtpk, followed by otPK.EUICC.ECKA with its tag `5F49`.
fn initialise_secure_channel_request(key_store: &dyn KeyStore, inputs: &BppInputs<'_>) -> Result<Vec<u8>, BspError> {
    let data_objects = isc_data_objects(inputs.transaction_id, inputs.host_id, inputs.otpk_dp_ecka);
    let signed = smdp_sign_input(&data_objects, inputs.otpk_euicc_ecka);
    let smdp_sign = key_store.sign(inputs.dppb_key, &signed)?;
    let mut value = data_objects;
    tlv::encode_into(Tag(0x5F37), &smdp_sign.0, &mut value);
    Ok(tlv::encode(Tag(0xBF23), &value))
}

/// remoteOpId `82 01 01`, transactionId `80`, controlRefTemplate `A6 {80 88, 81 10, 84 hostId}`, `5F49`.
pub fn isc_data_objects(transaction_id: &[u8], host_id: &[u8], otpk_dp_ecka: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    tlv::encode_into(Tag(0x82), &[REMOTE_OP_ID_INSTALL_BPP], &mut out);
    tlv::encode_into(Tag(0x80), transaction_id, &mut out);
    let mut crt = Vec::with_capacity(24);
    tlv::encode_into(Tag(0x80), &[KEY_TYPE_AES], &mut crt);
    tlv::encode_into(Tag(0x81), &[KEY_LEN_AES128], &mut crt);
    tlv::encode_into(Tag(0x84), host_id, &mut crt);
    tlv::encode_into(Tag(0xA6), &crt, &mut out);
    tlv::encode_into(Tag(0x5F49), otpk_dp_ecka, &mut out);
    out
}

/// What smdpSign covers: the received/sent data objects followed by `5F49 L otPK.EUICC.ECKA`.
pub fn smdp_sign_input(data_objects: &[u8], otpk_euicc_ecka: &[u8]) -> Vec<u8> {
    let mut signed = data_objects.to_vec();
    tlv::encode_into(Tag(0x5F49), otpk_euicc_ecka, &mut signed);
    signed
}

/// §5.5.4: `BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }`.
pub fn replace_session_keys_request(ppk: &SessionKeys) -> Vec<u8> {
    let mut value = Vec::with_capacity(54);
    tlv::encode_into(Tag(0x80), &ppk.initial_mcv, &mut value);
    tlv::encode_into(Tag(0x81), &ppk.s_enc, &mut value);
    tlv::encode_into(Tag(0x82), &ppk.s_mac, &mut value);
    tlv::encode(Tag(0xBF26), &value)
}

fn check_inputs(inputs: &BppInputs<'_>) -> Result<(), BspError> {
    let invalid = |field: &'static str, reason: &str| Err(BspError::InvalidField { field, reason: reason.to_owned() });
    if !(1..=16).contains(&inputs.transaction_id.len()) {
        return invalid("transactionId", "must be 1 to 16 bytes");
    }
    if !(1..=16).contains(&inputs.host_id.len()) {
        return invalid("hostId", "must be 1 to 16 bytes");
    }
    if inputs.eid.len() != 16 {
        return invalid("EID", "must be 16 bytes");
    }
    if inputs.otpk_dp_ecka.first() != Some(&0x04) {
        return invalid("otPK.DP.ECKA", "not an uncompressed point");
    }
    tlv::parse_single(inputs.configure_isdp)?.expect_tag(Tag(0xBF24))?;
    tlv::parse_single(inputs.store_metadata)?.expect_tag(Tag(0xBF25))?;
    Ok(())
}
