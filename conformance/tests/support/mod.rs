//! A minimal SM-DP+ simulator built from rspd's library pieces (codec, pki, bsp) — enough to drive the soft
//! eUICC through ES10b the way ES9+ would, and to tamper with any step.
#![allow(dead_code)]

pub mod eim_sim;
pub mod es9_mock;

use std::path::{Path, PathBuf};

use openssl::rand::rand_bytes;
use rasn::types::{OctetString, Utf8String};
use rsp_conformance::euicc::credentials::sgp26_suffix;
use rsp_proto::bsp::{build_bpp, BppInputs, ReplaceSessionKeys};
use rsp_proto::codec::sgp22::{
    AuthenticateServerResponse, ConfigureIsdpRequest, CtxParams1, CtxParamsForCommonAuthentication, DeviceCapabilities,
    DeviceInfo, Iccid, PrepareDownloadResponse, ServerSigned1, SmdpSigned2, StoreMetadataRequest, TransactionId,
    PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE,
};
use rsp_proto::codec::tlv::{self, Tag};
use rsp_proto::codec::{encode, Received};
use rsp_proto::pki::keystore::{KeyRef, KeyRole, KeyStore};
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::{verify_euicc_chain, Certificate, CiStore, Curve, PemKeyStore, VerifiedEuicc};
use time::OffsetDateTime;

pub const ADDRESS: &str = "smdp.example.test:8443";

/// SGP.26 DP certificates end in 2030; test at a fixed time inside every SGP.26 validity period.
pub fn sgp26_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_788_220_800).unwrap()
}

pub fn sgp26_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/sgp26");
    if dir.join("CertificateIssuer").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: SGP.26 test certificates not found at {}", dir.display());
        None
    }
}

pub fn ts48_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/ts48");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: TS.48 profiles not found at {}", dir.display());
        None
    }
}

pub fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand_bytes(&mut b).unwrap();
    b
}

/// The fields of an InitiateAuthentication response, as an LPA holds them after base64 decoding.
#[derive(Clone)]
pub struct InitiateAuthentication {
    pub server_signed1: Vec<u8>,
    pub server_signature1: Vec<u8>,
    pub euicc_ci_pkid_to_be_used: Vec<u8>,
    pub server_certificate: Vec<u8>,
}

/// The fields of an AuthenticateClient response.
#[derive(Clone)]
pub struct AuthenticateClient {
    pub smdp_signed2: Vec<u8>,
    pub smdp_signature2: Vec<u8>,
    pub smdp_certificate: Vec<u8>,
}

pub struct ServerSim {
    pub address: String,
    pub curve: Curve,
    pub dpauth_cert: Vec<u8>,
    pub dppb_cert: Vec<u8>,
    pub keys: PemKeyStore,
    pub trusted_cis: CiStore,
    pub ci_pkid: Vec<u8>,
    pub now: OffsetDateTime,
    pub transaction_id: Vec<u8>,
    pub server_challenge: [u8; 16],
    pub euicc: Option<VerifiedEuicc>,
    pub euicc_signature1: Vec<u8>,
    pub smdp_signature2: Vec<u8>,
}

fn pem_to_der(path: &Path) -> Vec<u8> {
    Certificate::from_pem(&std::fs::read(path).unwrap()).unwrap().der().to_vec()
}

impl ServerSim {
    pub fn from_test_pki(paths: &TestPkiPaths, curve: Curve) -> Self {
        let keys = PemKeyStore::load(&[
            (KeyRef { role: KeyRole::DpAuth, curve }, paths.dpauth_key(curve)),
            (KeyRef { role: KeyRole::DpPb, curve }, paths.dppb_key(curve)),
        ])
        .unwrap();
        let mut trusted_cis = CiStore::new();
        let ci_pkid = trusted_cis.add_der(&pem_to_der(&paths.ci_cert(curve))).unwrap();
        Self::new(
            curve,
            pem_to_der(&paths.dpauth_cert(curve)),
            pem_to_der(&paths.dppb_cert(curve)),
            keys,
            trusted_cis,
            ci_pkid,
            OffsetDateTime::now_utc(),
        )
    }

    pub fn from_sgp26(dir: &Path, curve: Curve) -> Self {
        let s = sgp26_suffix(curve);
        let keys = PemKeyStore::load(&[
            (KeyRef { role: KeyRole::DpAuth, curve }, dir.join(format!("DPauth/SK_S_SM_DPauth_ECDSA_{s}.pem"))),
            (KeyRef { role: KeyRole::DpPb, curve }, dir.join(format!("DPpb/SK_S_SM_DPpb_ECDSA_{s}.pem"))),
        ])
        .unwrap();
        let mut trusted_cis = CiStore::new();
        let ci_pkid = trusted_cis
            .add_der(&std::fs::read(dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{s}.der"))).unwrap())
            .unwrap();
        Self::new(
            curve,
            std::fs::read(dir.join(format!("DPauth/CERT_S_SM_DPauth_ECDSA_{s}.der"))).unwrap(),
            std::fs::read(dir.join(format!("DPpb/CERT_S_SM_DPpb_ECDSA_{s}.der"))).unwrap(),
            keys,
            trusted_cis,
            ci_pkid,
            sgp26_now(),
        )
    }

    fn new(
        curve: Curve,
        dpauth_cert: Vec<u8>,
        dppb_cert: Vec<u8>,
        keys: PemKeyStore,
        trusted_cis: CiStore,
        ci_pkid: Vec<u8>,
        now: OffsetDateTime,
    ) -> Self {
        ServerSim {
            address: ADDRESS.into(),
            curve,
            dpauth_cert,
            dppb_cert,
            keys,
            trusted_cis,
            ci_pkid,
            now,
            transaction_id: random16().to_vec(),
            server_challenge: random16(),
            euicc: None,
            euicc_signature1: Vec::new(),
            smdp_signature2: Vec::new(),
        }
    }

    fn key(&self, role: KeyRole) -> KeyRef {
        KeyRef { role, curve: self.curve }
    }

    /// §5.6.1: serverSigned1 signed with SK.DPauth.ECDSA.
    pub fn initiate_authentication(&self, euicc_challenge: [u8; 16]) -> InitiateAuthentication {
        let server_signed1 = encode(&ServerSigned1 {
            transaction_id: TransactionId(OctetString::from(self.transaction_id.clone())),
            euicc_challenge: euicc_challenge.into(),
            server_address: Utf8String::from(self.address.as_str()),
            server_challenge: self.server_challenge.into(),
        })
        .unwrap();
        let sig = self.keys.sign(&self.key(KeyRole::DpAuth), &server_signed1).unwrap();
        InitiateAuthentication {
            server_signature1: tlv::encode(Tag(0x5F37), &sig.0),
            server_signed1,
            euicc_ci_pkid_to_be_used: tlv::encode(Tag(0x04), &self.ci_pkid),
            server_certificate: self.dpauth_cert.clone(),
        }
    }

    /// §5.6.3: verify the eUICC (chain, euiccSignature1 over the received euiccSigned1), sign smdpSigned2.
    pub fn authenticate_client(
        &mut self,
        authenticate_server_response: &[u8],
        cc_required: bool,
    ) -> AuthenticateClient {
        let signed1 = Received::<rsp_proto::codec::sgp22::EuiccSigned1>::at(
            authenticate_server_response,
            PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE,
        )
        .unwrap();
        let AuthenticateServerResponse::AuthenticateResponseOk(ok) =
            rsp_proto::codec::decode::<AuthenticateServerResponse>(authenticate_server_response).unwrap()
        else {
            panic!("not an authenticateResponseOk")
        };
        assert_eq!(*signed1.value.transaction_id.0, *self.transaction_id);
        assert_eq!(signed1.value.server_address, self.address);
        assert_eq!(*signed1.value.server_challenge, self.server_challenge);
        let euicc = verify_euicc_chain(
            &self.trusted_cis,
            ok.eum_certificate.as_bytes(),
            ok.euicc_certificate.as_bytes(),
            self.now,
        )
        .unwrap();
        euicc.public_key.verify(&signed1.raw, &ok.euicc_signature1.0).unwrap();
        self.euicc = Some(euicc);
        self.euicc_signature1 = ok.euicc_signature1.0.to_vec();
        self.smdp_signed2(cc_required, None)
    }

    /// smdpSigned2 signed with SK.DPpb.ECDSA over smdpSigned2 || 5F37 40 euiccSignature1.
    pub fn smdp_signed2(&mut self, cc_required: bool, bpp_euicc_otpk: Option<Vec<u8>>) -> AuthenticateClient {
        let smdp_signed2 = encode(&SmdpSigned2 {
            transaction_id: TransactionId(OctetString::from(self.transaction_id.clone())),
            cc_required_flag: cc_required,
            bpp_euicc_otpk: bpp_euicc_otpk.map(|p| rsp_proto::codec::sgp22::Otpk(OctetString::from(p))),
        })
        .unwrap();
        let mut data = smdp_signed2.clone();
        tlv::encode_into(Tag(0x5F37), &self.euicc_signature1, &mut data);
        let sig = self.keys.sign(&self.key(KeyRole::DpPb), &data).unwrap();
        self.smdp_signature2 = tlv::encode(Tag(0x5F37), &sig.0);
        AuthenticateClient {
            smdp_signed2,
            smdp_signature2: self.smdp_signature2.clone(),
            smdp_certificate: self.dppb_cert.clone(),
        }
    }

    /// §5.6.2: verify euiccSignature2; returns (otPK.EUICC.ECKA, hashCc).
    pub fn check_prepare_download(&self, prepare_download_response: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let signed2 = Received::<rsp_proto::codec::sgp22::EuiccSigned2>::at(
            prepare_download_response,
            rsp_proto::codec::sgp22::PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE,
        )
        .unwrap();
        let PrepareDownloadResponse::DownloadResponseOk(ok) =
            rsp_proto::codec::decode::<PrepareDownloadResponse>(prepare_download_response).unwrap()
        else {
            panic!("not a downloadResponseOk")
        };
        let mut data = signed2.raw.clone();
        data.extend_from_slice(&self.smdp_signature2);
        self.euicc.as_ref().unwrap().public_key.verify(&data, &ok.euicc_signature2.0).unwrap();
        assert_eq!(*signed2.value.transaction_id.0, *self.transaction_id);
        (signed2.value.euicc_otpk.0.to_vec(), signed2.value.hash_cc.map(|h| h.to_vec()))
    }

    /// §5.6.2: the BPP for `profile`, bound to the eUICC's otPK.
    pub fn bound_profile_package(
        &self,
        otpk_euicc_ecka: &[u8],
        metadata: &StoreMetadataRequest,
        profile: &[u8],
    ) -> Vec<u8> {
        self.bound_profile_package_for(&self.transaction_id, otpk_euicc_ecka, metadata, profile)
    }

    pub fn bound_profile_package_for(
        &self,
        transaction_id: &[u8],
        otpk_euicc_ecka: &[u8],
        metadata: &StoreMetadataRequest,
        profile: &[u8],
    ) -> Vec<u8> {
        let eid = hex::decode(&self.euicc.as_ref().unwrap().eid).unwrap();
        let (otsk_id, otpk_dp) = self.keys.generate_one_time_key(self.curve).unwrap();
        let bpp = build_bpp(
            &self.keys,
            &BppInputs {
                transaction_id,
                otsk_dp_ecka: &otsk_id,
                otpk_dp_ecka: &otpk_dp,
                otpk_euicc_ecka,
                host_id: b"rspd-sim",
                eid: &eid,
                dppb_key: &self.key(KeyRole::DpPb),
                configure_isdp: &encode(&ConfigureIsdpRequest { dp_proprietary_data: None }).unwrap(),
                store_metadata: &encode(metadata).unwrap(),
                profile,
                replace_session_keys: ReplaceSessionKeys::Random,
            },
        )
        .unwrap();
        self.keys.forget_one_time_key(&otsk_id);
        bpp
    }
}

/// The ctxParams1 an LPA sends for a download with this matchingId.
pub fn ctx_params1(matching_id: &str) -> Vec<u8> {
    encode(&CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
        matching_id: Some(matching_id.into()),
        device_info: DeviceInfo {
            tac: [0x35, 0x29, 0x06, 0x11].into(),
            device_capabilities: DeviceCapabilities::default(),
            imei: None,
        },
    }))
    .unwrap()
}

/// StoreMetadataRequest for `iccid`.
pub fn metadata(iccid: &rsp_proto::profile::Iccid) -> StoreMetadataRequest {
    StoreMetadataRequest {
        iccid: Iccid(iccid.to_ef_iccid().into()),
        service_provider_name: "rspd test".into(),
        profile_name: "synthetic".into(),
        icon_type: None,
        icon: None,
        profile_class: 2,
        notification_configuration_info: None,
        profile_owner: None,
        profile_policy_rules: None,
        service_specific_data_stored_in_euicc: None,
        service_specific_data_not_stored_in_euicc: None,
    }
}

/// A minimal SAIP package: ProfileHeader (version 2.3, `iccid`) and PE-End.
pub fn synthetic_profile(iccid: &rsp_proto::profile::Iccid) -> Vec<u8> {
    let fields: Vec<Vec<u8>> = vec![
        tlv::encode(Tag(0x80), &[2]),
        tlv::encode(Tag(0x81), &[3]),
        tlv::encode(Tag(0x83), &iccid.to_header_bytes()),
        tlv::encode(Tag(0xA5), &[]),
        tlv::encode(Tag(0xA6), &[]),
    ];
    let header = tlv::encode_constructed(Tag(0xA0), fields.iter().map(Vec::as_slice));
    let end = tlv::encode(Tag(0xAA), &tlv::encode(Tag(0xA0), &tlv::encode(Tag(0x81), &[9])));
    [header, end].concat()
}
