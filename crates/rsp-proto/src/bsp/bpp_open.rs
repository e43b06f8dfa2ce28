//! The eUICC opening a Bound Profile Package (SGP.22 v2.5 §2.5.5, §3.1.3.3 "Load Bound Profile
//! Package" eUICC steps, §5.5.1–§5.5.5), for the conformance eUICC: structure checks, smdpSign with
//! PK.DPpb.ECDSA, ECKA with otSK.EUICC.ECKA, the C-MAC of every segment, decryption, ReplaceSessionKeys.
//!
//! Any malformed or tampered byte gives a [`BspError`] whose [`BspError::error_reason`] is what the
//! eUICC reports in ProfileInstallationResult; nothing here panics on peer input.

use openssl::bn::BigNum;
use openssl::ec::EcKeyRef;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{HasPublic, Private};
use openssl::sha::sha256;

use crate::bsp::ecka::{shared_secret_euicc, uncompressed_point};
use crate::bsp::error::BspError;
use crate::bsp::kdf::{derive_session_keys, SessionKeys};
use crate::bsp::scp03t::Scp03tSession;
use crate::bsp::segment::{open_segments, verify_mac_only_segments};
use crate::bsp::{bpp_builder::smdp_sign_input, KEY_LEN_AES128, KEY_TYPE_AES, REMOTE_OP_ID_INSTALL_BPP};
use crate::codec::tlv::{self, Tag, Tlv};

/// The plaintexts of an opened BPP.
#[derive(Debug)]
pub struct OpenedBpp {
    /// transactionId of `BF23` (the caller checks it against the download session: invalidTransactionId).
    pub transaction_id: Vec<u8>,
    pub host_id: Vec<u8>,
    /// otPK.DP.ECKA as received.
    pub otpk_dp_ecka: Vec<u8>,
    /// ConfigureISDPRequest (`BF24…`).
    pub configure_isdp: Vec<u8>,
    /// StoreMetadataRequest (`BF25…`).
    pub store_metadata: Vec<u8>,
    /// The PPKs when the BPP carried ReplaceSessionKeys (`A2`).
    pub replace_session_keys: Option<SessionKeys>,
    /// The profile package.
    pub profile: Vec<u8>,
}

/// The fields of a verified InitialiseSecureChannelRequest.
struct InitialiseSecureChannel<'a> {
    transaction_id: &'a [u8],
    host_id: &'a [u8],
    otpk_dp_ecka: &'a [u8],
}

/// The ES8+ command of a BPP that failed (SGP.22 v2.5 ASN.1 `BppCommandId`), reported by the eUICC in
/// `ErrorResult.bppCommandId` of ProfileInstallationResult (§5.7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BppCommandId {
    InitialiseSecureChannel = 0,
    ConfigureIsdp = 1,
    StoreMetadata = 2,
    StoreMetadata2 = 3,
    ReplaceSessionKeys = 4,
    LoadProfileElements = 5,
}

/// A BPP that did not open: which command failed and why.
#[derive(Debug, thiserror::Error)]
#[error("{command:?}: {error}")]
pub struct BppOpenError {
    pub command: BppCommandId,
    #[source]
    pub error: BspError,
}

/// Opens `bpp` as the eUICC whose one-time key is `otsk_euicc_ecka` and whose EID is `eid`.
pub fn open_bpp<T: HasPublic>(
    bpp: &[u8],
    pk_dppb_ecdsa: &EcKeyRef<T>,
    otsk_euicc_ecka: &EcKeyRef<Private>,
    eid: &[u8],
) -> Result<OpenedBpp, BspError> {
    open_bpp_staged(bpp, pk_dppb_ecdsa, otsk_euicc_ecka, eid).map_err(|e| e.error)
}

/// As [`open_bpp`], and on failure also the BPP command that failed (for `ErrorResult.bppCommandId`).
/// Structure errors of `BF36` itself count against the first command, InitialiseSecureChannel.
pub fn open_bpp_staged<T: HasPublic>(
    bpp: &[u8],
    pk_dppb_ecdsa: &EcKeyRef<T>,
    otsk_euicc_ecka: &EcKeyRef<Private>,
    eid: &[u8],
) -> Result<OpenedBpp, BppOpenError> {
    let at = |command: BppCommandId| move |error: BspError| BppOpenError { command, error };
    let isc_stage = at(BppCommandId::InitialiseSecureChannel);
    let top = tlv::parse_single(bpp).map_err(BspError::from).map_err(isc_stage)?;
    if top.tag() != Tag(0xBF36) {
        return Err(isc_stage(unexpected("BoundProfilePackage", "BF36", top.tag())));
    }
    let children = top.children().map_err(BspError::from).map_err(isc_stage)?;
    let mut it = children.iter().copied();
    let mut take = |tag: u32, name: &'static str| -> Result<Tlv<'_>, BspError> {
        match it.next() {
            Some(t) if t.tag() == Tag(tag) => Ok(t),
            Some(t) => Err(unexpected("BoundProfilePackage", name, t.tag())),
            None => Err(BspError::MissingElement { context: "BoundProfilePackage", missing: name }),
        }
    };
    let bf23 = take(0xBF23, "initialiseSecureChannelRequest (BF23)").map_err(isc_stage)?;
    let a0 = take(0xA0, "firstSequenceOf87 (A0)").map_err(isc_stage)?;
    let a1 = take(0xA1, "sequenceOf88 (A1)").map_err(isc_stage)?;
    let (a2, a3) = take_a2_or_a3(children.get(3..).unwrap_or_default()).map_err(isc_stage)?;

    // §5.5.1: structure, then smdpSign over the data objects followed by our otPK.EUICC.ECKA.
    let otpk_euicc_ecka = uncompressed_point(otsk_euicc_ecka).map_err(isc_stage)?;
    let isc = verify_initialise_secure_channel(bf23, pk_dppb_ecdsa, &otpk_euicc_ecka).map_err(isc_stage)?;

    // §2.6.4.1/§2.6.4.2: ECKA and key derivation.
    let z = shared_secret_euicc(otsk_euicc_ecka, isc.otpk_dp_ecka).map_err(isc_stage)?;
    let session_keys = derive_session_keys(&z, KEY_TYPE_AES, KEY_LEN_AES128, isc.host_id, eid).map_err(isc_stage)?;
    let mut session = Scp03tSession::new(&session_keys);

    // §5.5.2 ConfigureISDP, §5.5.3 StoreMetadata.
    let configure_isdp = (|| {
        let plain = open_segments(&mut session, 0x87, &non_empty(a0, "ConfigureISDP segment")?)?;
        expect_single(&plain, 0xBF24, "ConfigureISDPRequest (BF24)")?;
        Ok(plain)
    })()
    .map_err(at(BppCommandId::ConfigureIsdp))?;
    let store_metadata = (|| {
        let plain = verify_mac_only_segments(&mut session, 0x88, &non_empty(a1, "StoreMetadata segment")?)?;
        expect_single(&plain, 0xBF25, "StoreMetadataRequest (BF25)")?;
        Ok(plain)
    })()
    .map_err(at(BppCommandId::StoreMetadata))?;

    // §5.5.4 ReplaceSessionKeys: the profile segments continue under the PPKs, in a new session.
    let replace_session_keys = match a2 {
        Some(a2) => Some(
            (|| {
                let plain = open_segments(&mut session, 0x87, &non_empty(a2, "ReplaceSessionKeys segment")?)?;
                parse_replace_session_keys(&plain)
            })()
            .map_err(at(BppCommandId::ReplaceSessionKeys))?,
        ),
        None => None,
    };
    let mut profile_session = match &replace_session_keys {
        Some(ppk) => Scp03tSession::new(ppk),
        None => session,
    };
    let profile = non_empty(a3, "profile segment")
        .and_then(|segments| open_segments(&mut profile_session, 0x86, &segments))
        .map_err(at(BppCommandId::LoadProfileElements))?;

    Ok(OpenedBpp {
        transaction_id: isc.transaction_id.to_vec(),
        host_id: isc.host_id.to_vec(),
        otpk_dp_ecka: isc.otpk_dp_ecka.to_vec(),
        configure_isdp,
        store_metadata,
        replace_session_keys,
        profile,
    })
}

/// After A0 and A1: either `A2 A3` or `A3`, and nothing after.
fn take_a2_or_a3<'a>(rest: &[Tlv<'a>]) -> Result<(Option<Tlv<'a>>, Tlv<'a>), BspError> {
    let ctx = "BoundProfilePackage";
    let (a2, rest) = match rest.first() {
        Some(t) if t.tag() == Tag(0xA2) => (Some(*t), &rest[1..]),
        _ => (None, rest),
    };
    match rest {
        [a3] if a3.tag() == Tag(0xA3) => Ok((a2, *a3)),
        [] => Err(BspError::MissingElement { context: ctx, missing: "sequenceOf86 (A3)" }),
        [other, ..] if other.tag() != Tag(0xA3) => Err(unexpected(ctx, "sequenceOf86 (A3)", other.tag())),
        [_, extra, ..] => Err(unexpected(ctx, "end of BoundProfilePackage", extra.tag())),
        [_] => Err(BspError::MissingElement { context: ctx, missing: "sequenceOf86 (A3)" }),
    }
}

/// §5.5.1: checks remoteOpId, the control reference template and smdpSign.
fn verify_initialise_secure_channel<'a, T: HasPublic>(
    bf23: Tlv<'a>,
    pk_dppb_ecdsa: &EcKeyRef<T>,
    otpk_euicc_ecka: &[u8],
) -> Result<InitialiseSecureChannel<'a>, BspError> {
    let ctx = "InitialiseSecureChannelRequest";
    let kids = bf23.children()?;
    let expected: [(u32, &'static str); 5] = [
        (0x82, "remoteOpId (82)"),
        (0x80, "transactionId (80)"),
        (0xA6, "controlRefTemplate (A6)"),
        (0x5F49, "smdpOtpk (5F49)"),
        (0x5F37, "smdpSign (5F37)"),
    ];
    for (i, (tag, name)) in expected.iter().enumerate() {
        match kids.get(i) {
            Some(k) if k.tag() == Tag(*tag) => {}
            Some(k) => return Err(unexpected(ctx, name, k.tag())),
            None => return Err(BspError::MissingElement { context: ctx, missing: name }),
        }
    }
    if let Some(extra) = kids.get(expected.len()) {
        return Err(unexpected(ctx, "end of InitialiseSecureChannelRequest", extra.tag()));
    }
    let [remote_op_id, transaction_id, crt, smdp_otpk, smdp_sign] = [kids[0], kids[1], kids[2], kids[3], kids[4]];

    if remote_op_id.value() != [REMOTE_OP_ID_INSTALL_BPP] {
        return Err(BspError::UnsupportedRemoteOperation(remote_op_id.value().to_vec()));
    }
    if !(1..=16).contains(&transaction_id.value().len()) {
        return Err(invalid("transactionId", "must be 1 to 16 bytes"));
    }
    let host_id = check_control_ref_template(crt)?;

    // smdpSign: ECDSA over the four data objects as received, then `5F49 L otPK.EUICC.ECKA`.
    let mut data_objects = Vec::new();
    for k in &kids[..4] {
        data_objects.extend_from_slice(k.raw());
    }
    let digest = sha256(&smdp_sign_input(&data_objects, otpk_euicc_ecka));
    let sig = smdp_sign.value();
    if sig.len() != 64 {
        return Err(BspError::InvalidSignature);
    }
    let r = BigNum::from_slice(&sig[..32])?;
    let s = BigNum::from_slice(&sig[32..])?;
    let ok =
        EcdsaSig::from_private_components(r, s).and_then(|sig| sig.verify(&digest, pk_dppb_ecdsa)).unwrap_or(false);
    if !ok {
        return Err(BspError::InvalidSignature);
    }
    Ok(InitialiseSecureChannel { transaction_id: transaction_id.value(), host_id, otpk_dp_ecka: smdp_otpk.value() })
}

/// `A6 { 80 keyType '88', 81 keyLen '10', 84 hostId }`; returns hostId.
fn check_control_ref_template<'a>(crt: Tlv<'a>) -> Result<&'a [u8], BspError> {
    let kids = crt.children()?;
    let key_type = kids.first().filter(|k| k.tag() == Tag(0x80)).map(|k| k.value());
    let key_len = kids.get(1).filter(|k| k.tag() == Tag(0x81)).map(|k| k.value());
    let host_id = kids.get(2).filter(|k| k.tag() == Tag(0x84)).map(|k| k.value());
    match (key_type, key_len, host_id, kids.len()) {
        (Some([KEY_TYPE_AES]), Some([KEY_LEN_AES128]), Some(host_id), 3) if (1..=16).contains(&host_id.len()) => {
            Ok(host_id)
        }
        (Some(t), Some(l), Some(_), 3) if t != [KEY_TYPE_AES] || l != [KEY_LEN_AES128] => {
            Err(BspError::UnsupportedCrt { key_type: t.to_vec(), key_len: l.to_vec() })
        }
        _ => Err(invalid("controlRefTemplate", "must be 80 keyType, 81 keyLen, 84 hostId (1 to 16 bytes)")),
    }
}

/// §5.5.4: `BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }`, 16 bytes each.
fn parse_replace_session_keys(plain: &[u8]) -> Result<SessionKeys, BspError> {
    let bf26 = expect_single(plain, 0xBF26, "ReplaceSessionKeysRequest (BF26)")?;
    let kids = bf26.children()?;
    let field = |i: usize, tag: u32, name: &'static str| -> Result<[u8; 16], BspError> {
        kids.get(i)
            .filter(|k| k.tag() == Tag(tag))
            .and_then(|k| <[u8; 16]>::try_from(k.value()).ok())
            .ok_or_else(|| invalid(name, "must be present, in order, 16 bytes"))
    };
    if kids.len() != 3 {
        return Err(invalid("ReplaceSessionKeysRequest", "must hold exactly three data objects"));
    }
    Ok(SessionKeys {
        initial_mcv: field(0, 0x80, "initialMacChainingValue")?,
        s_enc: field(1, 0x81, "ppkEnc")?,
        s_mac: field(2, 0x82, "ppkCmac")?,
    })
}

fn non_empty<'a>(seq: Tlv<'a>, what: &'static str) -> Result<Vec<Tlv<'a>>, BspError> {
    let kids = seq.children()?;
    if kids.is_empty() {
        return Err(BspError::MissingElement { context: "BoundProfilePackage", missing: what });
    }
    Ok(kids)
}

fn expect_single<'a>(plain: &'a [u8], tag: u32, name: &'static str) -> Result<Tlv<'a>, BspError> {
    let t = tlv::parse_single(plain)?;
    if t.tag() != Tag(tag) {
        return Err(unexpected("decrypted data", name, t.tag()));
    }
    Ok(t)
}

fn unexpected(context: &'static str, expected: &'static str, found: Tag) -> BspError {
    BspError::UnexpectedElement { context, expected, found }
}

fn invalid(field: &'static str, reason: &str) -> BspError {
    BspError::InvalidField { field, reason: reason.to_owned() }
}
