//! SGP.32 v1.2 cases for the asn1play cross-check (module `SGP32Definitions`): every top-level type in
//! `rsp_proto::codec::sgp32`, with the byte facts from `docs/INTEROP.md` § ESipa checked through asn1play's JER.

use rasn::types::FixedOctetString;
use rsp_proto::codec::sgp22::{
    AuthenticateClientRequest, CancelSessionOk, CancelSessionRequestEs9, CancelSessionResponse,
    CancelSessionResponseEs9, CancelSessionResponseOk, CtxParams1, CtxParamsForCommonAuthentication,
    GetBoundProfilePackageRequest, Iccid, Otpk, PendingNotification, PrepareDownloadResponse,
    PrepareDownloadResponseOk, ProfileInstallationResult, ServerSigned1, SmdpSigned2,
};
use rsp_proto::codec::sgp32::ProfileInfo;
use rsp_proto::codec::sgp32::*;
use serde_json::json;

use super::*;

/// Checked: pycrate's JER keeps no type for `AlgorithmIdentifier.parameters` (ANY), so the namedCurve OID
/// `06 08 …` comes back from JER → DER as `04 08 …`.
const SPKI_OPEN_TYPE: &str = "SPKI algorithm parameters are an open type that pycrate JER turns into an OCTET STRING";

const EID: [u8; 16] = [0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34];

fn eid() -> EidValue {
    FixedOctetString::new(EID)
}
fn iccid() -> Iccid {
    Iccid(FixedOctetString::new([0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6]))
}

/// A P-256 SubjectPublicKeyInfo from rcgen.
fn spki() -> SubjectPublicKeyInfo {
    let key = rcgen::KeyPair::generate().unwrap();
    SubjectPublicKeyInfo::from_der(&rcgen::PublicKeyData::subject_public_key_info(&key)).unwrap()
}

fn eim_config() -> EimConfigurationData {
    let mut c = EimConfigurationData::new("eim.example");
    c.eim_fqdn = Some("eim.example:8443".into());
    c.eim_id_type = Some(2);
    c.counter_value = Some(1);
    c.association_token = Some(5);
    c.eim_supported_protocol = Some(bits(&[0xA0], 3));
    c.euicc_ci_pkid = Some(os(&[0xF5; 20]));
    c.indirect_profile_download = Some(());
    c
}

fn psmos() -> Vec<Psmo> {
    vec![
        Psmo::Enable(PsmoEnable { iccid: iccid(), rollback_flag: Some(()) }),
        Psmo::Disable(PsmoIccid { iccid: iccid() }),
        Psmo::Delete(PsmoIccid { iccid: iccid() }),
        Psmo::ListProfileInfo(ProfileInfoListRequest {
            search_criteria: Some(ProfileInfoSearchCriteria::ProfileClass(2)),
            tag_list: Some(os(&[0x5A, 0x9F, 0x70, 0x90, 0x91, 0x92])),
        }),
        Psmo::GetRat(Empty {}),
        Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable {
            immediate_enable_flag: Some(()),
            default_smdp_oid: Some(oid(&[2, 999, 10])),
            default_smdp_address: Some("smdp.example".into()),
        }),
        Psmo::SetFallbackAttribute(PsmoIccid { iccid: iccid() }),
        Psmo::UnsetFallbackAttribute(Empty {}),
        Psmo::SetDefaultDpAddress(SetDefaultDpAddressRequest { default_dp_address: "smdp.example".into() }),
    ]
}

fn ecos() -> Vec<Eco> {
    vec![
        Eco::AddEim(eim_config()),
        Eco::DeleteEim(DeleteEim { eim_id: "old.eim".into() }),
        Eco::UpdateEim(EimConfigurationData::new("eim.example")),
        Eco::ListEim(Empty {}),
    ]
}

fn package_request(package: EuiccPackage) -> EuiccPackageRequest {
    EuiccPackageRequest {
        euicc_package_signed: EuiccPackageSigned {
            eim_id: "eim.example".into(),
            eid_value: eid(),
            counter_value: 7,
            eim_transaction_id: Some(tid()),
            euicc_package: package,
        },
        eim_signature: sig(),
    }
}

fn result_data() -> EuiccPackageResultDataSigned {
    EuiccPackageResultDataSigned {
        eim_id: "eim.example".into(),
        counter_value: 7,
        eim_transaction_id: Some(tid()),
        seq_number: 3,
        euicc_result: vec![
            EuiccResultData::EnableResult(0),
            EuiccResultData::DisableResult(2),
            EuiccResultData::DeleteResult(21),
            EuiccResultData::ListProfileInfoResult(ProfileInfoListResponse::ProfileInfoListOk(vec![ProfileInfo {
                iccid: Some(iccid()),
                profile_state: Some(1),
                profile_class: Some(2),
                fallback_attribute: true,
                fallback_allowed: Some(true),
                ..Default::default()
            }])),
            EuiccResultData::GetRatResult(vec![ProfilePolicyAuthorisationRule {
                ppr_ids: bits(&[0x60], 3),
                allowed_operators: vec![rsp_proto::codec::sgp22::OperatorId {
                    mcc_mnc: FixedOctetString::new([0x00, 0xF1, 0x10]),
                    gid1: None,
                    gid2: None,
                }],
                ppr_flags: bits(&[0x80], 1),
            }]),
            EuiccResultData::ConfigureImmediateEnableResult(0),
            EuiccResultData::AddEimResult(AddEimResult::AssociationToken(9)),
            EuiccResultData::AddEimResult(AddEimResult::AddEimResultCode(2)),
            EuiccResultData::DeleteEimResult(1),
            EuiccResultData::UpdateEimResult(0),
            EuiccResultData::ListEimResult(ListEimResult::EimIdList(vec![EimIdInfo {
                eim_id: "eim.example".into(),
                eim_id_type: Some(2),
            }])),
            EuiccResultData::RollbackResult(0),
            EuiccResultData::SetFallbackAttributeResult(0),
            EuiccResultData::UnsetFallbackAttributeResult(2),
            EuiccResultData::SetDefaultDpAddressResult(SetDefaultDpAddressResponse {
                set_default_dp_address_result: 0,
            }),
            EuiccResultData::ProcessingTerminated(1),
        ],
    }
}

fn epr() -> EuiccPackageResult {
    EuiccPackageResult::EuiccPackageResultSigned(EuiccPackageResultSigned {
        euicc_package_result_data_signed: result_data(),
        euicc_sign_epr: sig(),
    })
}

fn ipa_data_request() -> IpaEuiccDataRequest {
    IpaEuiccDataRequest {
        tag_list: os(&[0x80, 0xBF, 0x20, 0xBF, 0x22, 0xA8]),
        euicc_ci_pkid_to_be_used: Some(os(&[0xF5; 20])),
        search_criteria_notification: Some(SearchCriteriaNotification::SeqNumber(4)),
        search_criteria_euicc_package_result: Some(SearchCriteriaEuiccPackageResult::SeqNumber(2)),
        eim_transaction_id: Some(tid()),
    }
}

fn ipa_data() -> IpaEuiccData {
    IpaEuiccData {
        notifications_list: Some(vec![PendingNotification::ProfileInstallationResult(ProfileInstallationResult {
            profile_installation_result_data: super::pir_data(true),
            euicc_sign_pir: sig(),
        })]),
        default_smdp_address: Some("smdp.example".into()),
        euicc_package_result_list: Some(vec![epr()]),
        euicc_info1: Some(super::euicc_info1()),
        euicc_info2: Some(super::euicc_info2()),
        root_smds_address: Some("lpa.ds.gsma.com".into()),
        association_token: Some(5),
        eim_transaction_id: Some(tid()),
        ipa_capabilities: Some(IpaCapabilities {
            ipa_features: bits(&[0x64], 6),
            ipa_supported_protocols: Some(bits(&[0x80], 5)),
        }),
        device_info: Some(super::device_info()),
        ..Default::default()
    }
}

fn trigger() -> ProfileDownloadTriggerRequest {
    ProfileDownloadTriggerRequest {
        profile_download_data: Some(ProfileDownloadData::ActivationCode("LPA:1$smdp.example$MATCH-1".into())),
        eim_transaction_id: Some(tid()),
    }
}

fn server_signed1() -> ServerSigned1 {
    ServerSigned1 {
        transaction_id: tid(),
        euicc_challenge: FixedOctetString::new([0x33; 16]),
        server_address: "smdp.example".into(),
        server_challenge: FixedOctetString::new([0x22; 16]),
    }
}

fn bpp() -> BoundProfilePackage {
    BoundProfilePackage {
        initialise_secure_channel_request: InitialiseSecureChannelRequest {
            remote_op_id: 1,
            transaction_id: tid(),
            control_ref_template: ControlRefTemplate {
                key_type: FixedOctetString::new([0x88]),
                key_len: FixedOctetString::new([0x10]),
                host_id: rsp_proto::codec::sgp22::OctetTo16(os(b"smdp.example")),
            },
            smdp_otpk: Otpk(os(&[0x04; 65])),
            smdp_sign: sig(),
        },
        first_sequence_of87: vec![Segment87(os(&[0x87; 40]))],
        sequence_of88: vec![Segment88(os(&[0x88; 24])), Segment88(os(&[0x89; 8]))],
        second_sequence_of87: Some(vec![Segment87(os(&[0x77; 24]))]),
        sequence_of86: vec![Segment86(os(&[0x86; 100])), Segment86(os(&[0x96; 10]))],
    }
}

fn cancel_es9() -> CancelSessionRequestEs9 {
    CancelSessionRequestEs9 {
        transaction_id: tid(),
        cancel_session_response: CancelSessionResponse::CancelSessionResponseOk(CancelSessionResponseOk {
            euicc_cancel_session_signed: super::cancel_signed(),
            euicc_cancel_session_signature: sig(),
        }),
    }
}

/// Every SGP.32 v1.2 top-level type rspd implements.
pub fn sgp32_cases(c: &mut Corpus) {
    // eIM packages (§2.11.1): every PSMO and eCO.
    c.add("sgp32", package_request(EuiccPackage::PsmoList(psmos())))
        .expect("/euiccPackageSigned/eimId", json!("eim.example"))
        .expect("/euiccPackageSigned/counterValue", json!(7))
        .expect(
            "/euiccPackageSigned/euiccPackage/psmoList/5/configureImmediateEnable/defaultSmdpAddress",
            json!("smdp.example"),
        );
    c.add("sgp32", package_request(EuiccPackage::EcoList(ecos())))
        .expect("/euiccPackageSigned/euiccPackage/ecoList/0/addEim/counterValue", json!(1));
    c.add("sgp32", package_request(EuiccPackage::PsmoList(psmos())).euicc_package_signed)
        .expect("/eidValue", json!(hex::encode(EID)));
    c.add("sgp32", EuiccPackage::EcoList(ecos()));
    for p in psmos() {
        c.add("sgp32", p);
    }
    for e in ecos() {
        c.add("sgp32", e);
    }
    c.add("sgp32", SetDefaultDpAddressRequest { default_dp_address: "smdp.example".into() });
    c.add(
        "sgp32",
        ProfileInfoListRequest { search_criteria: Some(ProfileInfoSearchCriteria::Iccid(iccid())), tag_list: None },
    );

    // eIM configuration (§2.11.1.2, ES10b).
    c.add("sgp32", eim_config()).expect("/counterValue", json!(1)).expect("/associationToken", json!(5));
    let mut with_key = EimConfigurationData::new("eim.example");
    with_key.eim_public_key_data = Some(EimPublicKeyData::EimPublicKey(spki()));
    with_key.trusted_public_key_data_tls = Some(TrustedPublicKeyDataTls::TrustedEimPkTls(spki()));
    c.add("sgp32", with_key).one_way(SPKI_OPEN_TYPE);
    let mut with_cert = EimConfigurationData::new("eim.example");
    with_cert.eim_public_key_data =
        Some(EimPublicKeyData::EimCertificate(ImplicitCertificate::from_der(cert().as_bytes()).unwrap()));
    c.add("sgp32", with_cert).with_certificates();
    c.add("sgp32", spki()).one_way(SPKI_OPEN_TYPE);
    c.add(
        "sgp32",
        GetEimConfigurationDataRequest { search_criteria: Some(EimSearchCriteria::EimId("eim.example".into())) },
    )
    .expect("/searchCriteria/eimId", json!("eim.example"));
    c.add("sgp32", GetEimConfigurationDataRequest::default());
    c.add("sgp32", GetEimConfigurationDataResponse { eim_configuration_data_list: vec![eim_config()] });
    c.add("sgp32", AddInitialEimRequest { eim_configuration_data_list: vec![eim_config()] });
    c.add(
        "sgp32",
        AddInitialEimResponse::AddInitialEimOk(vec![
            AddInitialEimOkItem::AssociationToken(5),
            AddInitialEimOkItem::AddOk(()),
        ]),
    );
    c.add("sgp32", AddInitialEimResponse::AddInitialEimError(2)).expect("/addInitialEimError", json!(2));

    // Results (§2.11.2).
    c.add("sgp32", epr());
    c.add("sgp32", result_data()).expect("/seqNumber", json!(3));
    c.add("sgp32", EuiccResultData::ProcessingTerminated(3)).expect("/processingTerminated", json!(3));
    c.add("sgp32", EuiccResultData::AddEimResult(AddEimResult::AssociationToken(9)));
    c.add("sgp32", AddEimResult::AddEimResultCode(0));
    c.add("sgp32", ListEimResult::ListEimError(127));
    c.add("sgp32", SetDefaultDpAddressResponse { set_default_dp_address_result: 0 });
    c.add(
        "sgp32",
        ProfileInfoListResponse::ProfileInfoListOk(vec![ProfileInfo {
            iccid: Some(iccid()),
            fallback_attribute: true,
            ecall_indication: Some(false),
            ..Default::default()
        }]),
    );
    c.add("sgp32", ProfileInfoListResponse::ProfileInfoListError(11));
    c.add("sgp32", ProfileInfo { iccid: Some(iccid()), profile_name: Some("p".into()), ..Default::default() });
    let epe = EuiccPackageErrorDataSigned {
        eim_id: "eim.example".into(),
        counter_value: 7,
        eim_transaction_id: Some(tid()),
        euicc_package_error_code: 4,
    };
    c.add("sgp32", epe.clone()).expect("/euiccPackageErrorCode", json!(4));
    c.add(
        "sgp32",
        EuiccPackageResult::EuiccPackageErrorSigned(EuiccPackageErrorSigned {
            euicc_package_error_data_signed: epe.clone(),
            euicc_sign_epe: sig(),
        }),
    );
    c.add("sgp32", EuiccPackageErrorSigned { euicc_package_error_data_signed: epe, euicc_sign_epe: sig() });
    let unsigned = EuiccPackageErrorUnsigned {
        eim_id: "eim.example".into(),
        eim_transaction_id: Some(tid()),
        association_token: Some(5),
    };
    c.add("sgp32", unsigned.clone());
    c.add("sgp32", EuiccPackageResult::EuiccPackageErrorUnsigned(unsigned));
    c.add("sgp32", EuiccPackageResultSigned { euicc_package_result_data_signed: result_data(), euicc_sign_epr: sig() });
    c.add("sgp32", EimAcknowledgements(vec![SequenceNumber(1), SequenceNumber(300)])).expect("", json!([1, 300]));

    // IPA / eUICC data (§2.11.1.3, §2.11.2.3).
    c.add("sgp32", ipa_data_request()).expect("/tagList", json!("80bf20bf22a8"));
    c.add("sgp32", IpaEuiccDataResponse::IpaEuiccData(ipa_data()))
        .expect("/ipaEuiccData/defaultSmdpAddress", json!("smdp.example"));
    c.add("sgp32", ipa_data());
    let with_certs = IpaEuiccData {
        eum_certificate: Some(ImplicitCertificate::from_der(cert().as_bytes()).unwrap()),
        euicc_certificate: Some(ImplicitCertificate::from_der(cert().as_bytes()).unwrap()),
        ..Default::default()
    };
    c.add("sgp32", IpaEuiccDataResponse::IpaEuiccData(with_certs)).with_certificates();
    c.add(
        "sgp32",
        IpaEuiccDataResponse::IpaEuiccDataResponseError(IpaEuiccDataResponseError {
            eim_transaction_id: Some(tid()),
            ipa_euicc_data_error_code: 1,
        }),
    );
    c.add("sgp32", IpaCapabilities { ipa_features: bits(&[0x40], 2), ipa_supported_protocols: None });

    // Download trigger (§2.11.1.4, §2.11.2.4).
    c.add("sgp32", trigger()).expect("/profileDownloadData/activationCode", json!("LPA:1$smdp.example$MATCH-1"));
    c.add(
        "sgp32",
        ProfileDownloadTriggerRequest {
            profile_download_data: Some(ProfileDownloadData::ContactSmds(ContactSmds {
                smds_address: Some("lpa.ds.gsma.com".into()),
            })),
            eim_transaction_id: None,
        },
    );
    c.add("sgp32", ProfileDownloadData::ContactDefaultSmdp(()));
    c.add(
        "sgp32",
        ProfileDownloadTriggerResult {
            eim_transaction_id: Some(tid()),
            profile_download_trigger_result_data: ProfileDownloadTriggerResultData::ProfileInstallationResult(
                ProfileInstallationResult {
                    profile_installation_result_data: super::pir_data(false),
                    euicc_sign_pir: sig(),
                },
            ),
        },
    );
    c.add(
        "sgp32",
        ProfileDownloadTriggerResult {
            eim_transaction_id: None,
            profile_download_trigger_result_data: ProfileDownloadTriggerResultData::ProfileDownloadError(
                ProfileDownloadError {
                    profile_download_error_reason: 104,
                    error_response: Some(os(&[0xBF, 0x3B, 0x03, 0x81, 0x01, 0x08])),
                },
            ),
        },
    )
    .expect("/profileDownloadTriggerResultData/profileDownloadError/profileDownloadErrorReason", json!(104));

    // ESipa eIM package transport (§6.3.2).
    let get = GetEimPackageRequest {
        eid_value: eid(),
        notify_state_change: Some(()),
        state_change_cause: Some(1),
        r_plmn: Some(FixedOctetString::new([0x00, 0xF1, 0x10])),
    };
    c.add("sgp32", get.clone()).expect("/eidValue", json!(hex::encode(EID))).expect("/stateChangeCause", json!(1));
    c.add("sgp32", GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE).expect("/eimPackageError", json!(1));
    c.add("sgp32", GetEimPackageResponse::EuiccPackageRequest(package_request(EuiccPackage::PsmoList(psmos()))));
    c.add("sgp32", GetEimPackageResponse::IpaEuiccDataRequest(ipa_data_request()));
    c.add("sgp32", GetEimPackageResponse::ProfileDownloadTriggerRequest(trigger()));
    let provide = ProvideEimPackageResult {
        eid_value: Some(eid()),
        eim_package_result: EimPackageResult::EuiccPackageResult(epr()),
    };
    c.add("sgp32", provide.clone()).expect(
        "/eimPackageResult/euiccPackageResult/euiccPackageResultSigned/euiccPackageResultDataSigned/counterValue",
        json!(7),
    );
    c.add(
        "sgp32",
        ProvideEimPackageResult {
            eid_value: None,
            eim_package_result: EimPackageResult::EprAndNotifications(EprAndNotifications {
                euicc_package_result: epr(),
                notification_list: ipa_data().notifications_list.unwrap(),
            }),
        },
    );
    c.add(
        "sgp32",
        ProvideEimPackageResult {
            eid_value: Some(eid()),
            eim_package_result: EimPackageResult::IpaEuiccDataResponse(IpaEuiccDataResponse::IpaEuiccData(ipa_data())),
        },
    );
    c.add(
        "sgp32",
        ProvideEimPackageResult {
            eid_value: Some(eid()),
            eim_package_result: EimPackageResult::EimPackageResultResponseError(EimPackageResultResponseError {
                eim_transaction_id: Some(tid()),
                eim_package_result_error_code: 2,
            }),
        },
    );
    c.add(
        "sgp32",
        EimPackageResult::ProfileDownloadTriggerResult(ProfileDownloadTriggerResult {
            eim_transaction_id: Some(tid()),
            profile_download_trigger_result_data: ProfileDownloadTriggerResultData::ProfileDownloadError(
                ProfileDownloadError { profile_download_error_reason: 127, error_response: None },
            ),
        }),
    );
    c.add("sgp32", EimPackageResultResponseError { eim_transaction_id: None, eim_package_result_error_code: 1 });
    c.add("sgp32", ProvideEimPackageResultResponse::EmptyResponse(Empty {})).expect("/emptyResponse", json!({}));
    c.add("sgp32", ProvideEimPackageResultResponse::EimAcknowledgements(EimAcknowledgements(vec![SequenceNumber(3)])))
        .expect("/eimAcknowledgements", json!([3]));
    c.add("sgp32", ProvideEimPackageResultResponse::ProvideEimPackageResultError(2));
    c.add("sgp32", TransferEimPackageRequest::EuiccPackageRequest(package_request(EuiccPackage::EcoList(ecos()))));
    c.add("sgp32", TransferEimPackageRequest::EimAcknowledgements(EimAcknowledgements(vec![SequenceNumber(3)])));
    c.add("sgp32", TransferEimPackageResponse::EuiccPackageResult(epr()));
    c.add("sgp32", TransferEimPackageResponse::EimPackageReceived(())).expect("/eimPackageReceived", json!(null));
    c.add("sgp32", TransferEimPackageResponse::EimPackageError(2)).expect("/eimPackageError", json!(2));

    // ESipa indirect profile download (§6.3.2, SGP.22 §5.6 forms).
    let init = InitiateAuthenticationRequestEsipa {
        euicc_challenge: FixedOctetString::new([0x33; 16]),
        smdp_address: Some("smdp.example".into()),
        euicc_info1: Some(super::euicc_info1()),
        eim_transaction_id: Some(tid()),
    };
    c.add("sgp32", init.clone()).expect("/smdpAddress", json!("smdp.example"));
    c.add(
        "sgp32",
        InitiateAuthenticationResponseEsipa::InitiateAuthenticationOkEsipa(InitiateAuthenticationOkEsipa {
            transaction_id: Some(tid()),
            server_signed1: server_signed1(),
            server_signature1: sig(),
            euicc_ci_pkid_to_be_used: os(&[0xF5; 20]),
            server_certificate: cert(),
            matching_id: Some("MATCH-1".into()),
            ctx_params1: Some(CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
                matching_id: Some("MATCH-1".into()),
                device_info: super::device_info(),
            })),
        }),
    )
    .with_certificates();
    c.add("sgp32", InitiateAuthenticationResponseEsipa::InitiateAuthenticationErrorEsipa(52))
        .expect("/initiateAuthenticationErrorEsipa", json!(52));
    let acr = AuthenticateClientRequestEsipa(AuthenticateClientRequest {
        transaction_id: tid(),
        authenticate_server_response: super::authenticate_server_response(),
    });
    c.add("sgp32", acr.clone()).with_certificates();
    c.add(
        "sgp32",
        AuthenticateClientResponseEsipa::AuthenticateClientOkDpEsipa(AuthenticateClientOkDpEsipa {
            transaction_id: Some(tid()),
            profile_meta_data: Some(super::store_metadata()),
            smdp_signed2: SmdpSigned2 { transaction_id: tid(), cc_required_flag: false, bpp_euicc_otpk: None },
            smdp_signature2: sig(),
            smdp_certificate: cert(),
            hash_cc: None,
        }),
    )
    .with_certificates();
    c.add(
        "sgp32",
        AuthenticateClientResponseEsipa::AuthenticateClientOkDsEsipa(AuthenticateClientOkDsEsipa {
            transaction_id: tid(),
            profile_download_trigger: Some(trigger()),
        }),
    );
    c.add("sgp32", AuthenticateClientResponseEsipa::AuthenticateClientErrorEsipa(56))
        .expect("/authenticateClientErrorEsipa", json!(56));
    let euicc_signed2 = rsp_proto::codec::sgp22::EuiccSigned2 {
        transaction_id: tid(),
        euicc_otpk: Otpk(os(&[0x04; 65])),
        hash_cc: None,
    };
    let gbpp = GetBoundProfilePackageRequestEsipa(GetBoundProfilePackageRequest {
        transaction_id: tid(),
        prepare_download_response: PrepareDownloadResponse::DownloadResponseOk(PrepareDownloadResponseOk {
            euicc_signed2,
            euicc_signature2: sig(),
        }),
    });
    c.add("sgp32", gbpp.clone());
    c.add(
        "sgp32",
        GetBoundProfilePackageResponseEsipa::GetBoundProfilePackageOkEsipa(GetBoundProfilePackageOkEsipa {
            transaction_id: Some(tid()),
            bound_profile_package: bpp(),
        }),
    );
    c.add("sgp32", GetBoundProfilePackageResponseEsipa::GetBoundProfilePackageErrorEsipa(95));
    c.add("sgp32", bpp()).expect("/initialiseSecureChannelRequest/remoteOpId", json!(1));
    c.add("sgp32", CancelSessionRequestEsipa(cancel_es9()));
    c.add("sgp32", CancelSessionResponseEsipa(CancelSessionResponseEs9::CancelSessionOk(CancelSessionOk {})));
    c.add(
        "sgp32",
        HandleNotificationEsipa::PendingNotification(PendingNotification::ProfileInstallationResult(
            ProfileInstallationResult {
                profile_installation_result_data: super::pir_data(true),
                euicc_sign_pir: sig(),
            },
        )),
    );
    c.add("sgp32", HandleNotificationEsipa::ProvideEimPackageResult(provide.clone()));

    // The ESipa wrappers.
    c.add("sgp32", EsipaMessageFromIpaToEim::GetEimPackageRequest(get));
    c.add("sgp32", EsipaMessageFromIpaToEim::InitiateAuthenticationRequestEsipa(init));
    c.add("sgp32", EsipaMessageFromIpaToEim::ProvideEimPackageResult(provide));
    c.add("sgp32", EsipaMessageFromIpaToEim::GetBoundProfilePackageRequestEsipa(gbpp));
    c.add("sgp32", EsipaMessageFromIpaToEim::CancelSessionRequestEsipa(CancelSessionRequestEsipa(cancel_es9())));
    c.add(
        "sgp32",
        EsipaMessageFromIpaToEim::TransferEimPackageResponse(TransferEimPackageResponse::EimPackageReceived(())),
    );
    c.add("sgp32", EsipaMessageFromEimToIpa::GetEimPackageResponse(GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE))
        .expect("/getEimPackageResponse/eimPackageError", json!(1));
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::ProvideEimPackageResultResponse(ProvideEimPackageResultResponse::EmptyResponse(
            Empty {},
        )),
    );
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::CancelSessionResponseEsipa(CancelSessionResponseEsipa(
            CancelSessionResponseEs9::CancelSessionError(1),
        )),
    );
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::TransferEimPackageRequest(TransferEimPackageRequest::ProfileDownloadTriggerRequest(
            trigger(),
        )),
    );
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::GetBoundProfilePackageResponseEsipa(
            GetBoundProfilePackageResponseEsipa::GetBoundProfilePackageErrorEsipa(6),
        ),
    );
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::InitiateAuthenticationResponseEsipa(
            InitiateAuthenticationResponseEsipa::InitiateAuthenticationErrorEsipa(1),
        ),
    );
    c.add(
        "sgp32",
        EsipaMessageFromEimToIpa::AuthenticateClientResponseEsipa(
            AuthenticateClientResponseEsipa::AuthenticateClientErrorEsipa(8),
        ),
    );
}
