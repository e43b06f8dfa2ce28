//! The soft eUICC's SGP.32 v1.2 side end to end against the eIM simulator, on NIST P-256 and brainpoolP256r1:
//! AddInitialEim (§5.9.4), every PSMO (§5.9.2–§5.9.11) and eCO (§5.9.12–§5.9.15) with signed results verified
//! over the received bytes (§2.11.2.1), and each whole-package refusal (unknown signature, other EID, replayed
//! or out-of-range counterValue).

mod support;

use proptest::prelude::*;
use rasn::types::{FixedOctetString, OctetString};
use rsp_conformance::euicc::eim::load_euicc_package::euicc_package_error_code;
use rsp_conformance::euicc::eim::psmo::result_code;
use rsp_conformance::euicc::profiles::{InstalledProfile, ProfileState};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rsp_proto::codec::sgp22::{Iccid, Signature};
use rsp_proto::codec::sgp32::{
    AddEimResult, ConfigureImmediateEnable, DeleteEim, Eco, EimConfigurationData, EuiccPackage, EuiccPackageRequest,
    EuiccResultData, GetEimConfigurationDataRequest, GetEimConfigurationDataResponse, ListEimResult,
    ProfileInfoListRequest, ProfileInfoListResponse, Psmo, PsmoEnable, PsmoIccid, SetDefaultDpAddressRequest,
};
use rsp_proto::codec::{decode, encode};
use rsp_proto::pki::Curve;
use support::eim_sim::{EimSim, PackageOutcome};
use support::ADDRESS;

const ICCID_A: &str = "89000123456789012341";
const ICCID_B: &str = "89000123456789012358";
const ICCID_C: &str = "8900012345678901230";

struct Setup {
    _dir: tempfile::TempDir,
    euicc: SoftEuicc,
    eim: EimSim,
}

/// A soft eUICC with profile A enabled, B and C disabled, associated with one eIM (with an association token).
fn setup(curve: Curve) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (credentials, _) = EuiccCredentials::generate(&dir.path().join("pki"), curve, &[ADDRESS.to_string()]).unwrap();
    let mut euicc = SoftEuicc::new(credentials);
    euicc.seed_profile(InstalledProfile::seeded(ICCID_A, 0x10, ProfileState::Enabled).unwrap()).unwrap();
    euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, ProfileState::Disabled).unwrap()).unwrap();
    euicc.seed_profile(InstalledProfile::seeded(ICCID_C, 0x12, ProfileState::Disabled).unwrap()).unwrap();
    let mut eim = EimSim::new("eim.example.test", curve, &euicc.credentials().euicc_cert_der, 10);
    let response = euicc.add_initial_eim(&eim.add_initial_eim_request(true)).unwrap();
    eim.accept_add_initial_eim_response(&response).unwrap();
    Setup { _dir: dir, euicc, eim }
}

fn iccid(digits: &str) -> Iccid {
    Iccid(FixedOctetString::new(rsp_proto::profile::Iccid::new(digits).unwrap().to_ef_iccid()))
}

fn state_of(euicc: &SoftEuicc, digits: &str) -> Option<ProfileState> {
    euicc.profiles().iter().find(|p| p.iccid == digits).map(|p| p.state)
}

/// Sends one package and returns the verified outcome.
fn run(s: &mut Setup, euicc_package: EuiccPackage) -> PackageOutcome {
    let sent = s.eim.next_package(euicc_package);
    let result = s.euicc.load_euicc_package(&sent.der).unwrap();
    s.eim.verify_result(&sent, &result).unwrap()
}

fn executed(outcome: PackageOutcome) -> Vec<EuiccResultData> {
    match outcome {
        PackageOutcome::Executed { euicc_result, .. } => euicc_result,
        other => panic!("expected an executed package, got {other:?}"),
    }
}

fn psmos(list: Vec<Psmo>) -> EuiccPackage {
    EuiccPackage::PsmoList(list)
}

#[test]
fn add_initial_eim_issues_a_token_and_stores_the_configuration() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        assert_eq!(s.eim.association_token, Some(1), "{curve}");
        // A second AddInitialEim is refused: associatedEimAlreadyExists(2).
        let again: rsp_proto::codec::sgp32::AddInitialEimResponse =
            decode(&s.euicc.add_initial_eim(&s.eim.add_initial_eim_request(false)).unwrap()).unwrap();
        assert_eq!(again, rsp_proto::codec::sgp32::AddInitialEimResponse::AddInitialEimError(2));
        let request = encode(&GetEimConfigurationDataRequest::default()).unwrap();
        let response: GetEimConfigurationDataResponse =
            decode(&s.euicc.get_eim_configuration_data(&request).unwrap()).unwrap();
        let [config] = response.eim_configuration_data_list.as_slice() else { panic!("one eIM expected") };
        assert_eq!(config.eim_id, "eim.example.test");
        assert_eq!(config.counter_value, Some(10));
        assert_eq!(config.association_token, Some(1));
        // The counter advances with each accepted package.
        run(&mut s, psmos(vec![Psmo::GetRat(Default::default())]));
        let response: GetEimConfigurationDataResponse =
            decode(&s.euicc.get_eim_configuration_data(&request).unwrap()).unwrap();
        assert_eq!(response.eim_configuration_data_list[0].counter_value, Some(11));
    }
}

#[test]
fn every_psmo_end_to_end() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        // enable B while A is enabled: A is disabled in the same step (one enabled profile).
        let r = executed(run(
            &mut s,
            psmos(vec![Psmo::Enable(PsmoEnable { iccid: iccid(ICCID_B), rollback_flag: Some(()) })]),
        ));
        assert_eq!(r, [EuiccResultData::EnableResult(result_code::OK)], "{curve}");
        assert_eq!(state_of(&s.euicc, ICCID_A), Some(ProfileState::Disabled));
        assert_eq!(state_of(&s.euicc, ICCID_B), Some(ProfileState::Enabled));

        // enable of the enabled profile: profileNotInDisabledState(2).
        let r =
            executed(run(&mut s, psmos(vec![Psmo::Enable(PsmoEnable { iccid: iccid(ICCID_B), rollback_flag: None })])));
        assert_eq!(r, [EuiccResultData::EnableResult(result_code::WRONG_STATE)]);

        // disable B, then delete A, in one package.
        let r = executed(run(
            &mut s,
            psmos(vec![
                Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_B) }),
                Psmo::Delete(PsmoIccid { iccid: iccid(ICCID_A) }),
            ]),
        ));
        assert_eq!(r, [EuiccResultData::DisableResult(0), EuiccResultData::DeleteResult(0)]);
        assert_eq!(state_of(&s.euicc, ICCID_A), None);
        assert_eq!(state_of(&s.euicc, ICCID_B), Some(ProfileState::Disabled));

        // listProfileInfo, getRAT, configureImmediateEnable, fallback attribute, default DP address.
        let immediate = ConfigureImmediateEnable {
            immediate_enable_flag: Some(()),
            default_smdp_oid: None,
            default_smdp_address: Some("smdp.example.test".into()),
        };
        let r = executed(run(
            &mut s,
            psmos(vec![
                Psmo::ListProfileInfo(ProfileInfoListRequest::default()),
                Psmo::GetRat(Default::default()),
                Psmo::ConfigureImmediateEnable(immediate),
                Psmo::SetFallbackAttribute(PsmoIccid { iccid: iccid(ICCID_C) }),
                Psmo::SetDefaultDpAddress(SetDefaultDpAddressRequest { default_dp_address: "dp.example.test".into() }),
            ]),
        ));
        assert_eq!(r.len(), 5);
        let EuiccResultData::ListProfileInfoResult(ProfileInfoListResponse::ProfileInfoListOk(infos)) = &r[0] else {
            panic!("listProfileInfo result expected, got {:?}", r[0])
        };
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[0].iccid, Some(iccid(ICCID_B)));
        assert_eq!(infos[0].profile_state, Some(0));
        assert_eq!(r[1], EuiccResultData::GetRatResult(Vec::new()));
        assert_eq!(r[2], EuiccResultData::ConfigureImmediateEnableResult(0));
        assert_eq!(r[3], EuiccResultData::SetFallbackAttributeResult(0));
        assert!(matches!(&r[4], EuiccResultData::SetDefaultDpAddressResult(d) if d.set_default_dp_address_result == 0));
        assert!(s.euicc.profiles().iter().find(|p| p.iccid == ICCID_C).unwrap().fallback_attribute);

        // The fallback attribute shows in listProfileInfo.
        let r = executed(run(
            &mut s,
            psmos(vec![Psmo::ListProfileInfo(ProfileInfoListRequest {
                search_criteria: Some(rsp_proto::codec::sgp32::ProfileInfoSearchCriteria::Iccid(iccid(ICCID_C))),
                tag_list: None,
            })]),
        ));
        let EuiccResultData::ListProfileInfoResult(ProfileInfoListResponse::ProfileInfoListOk(infos)) = &r[0] else {
            panic!()
        };
        assert_eq!(infos.len(), 1);
        assert!(infos[0].fallback_attribute);

        // unsetFallbackAttribute: ok, then noFallbackAttribute(2).
        let r = executed(run(
            &mut s,
            psmos(vec![
                Psmo::UnsetFallbackAttribute(Default::default()),
                Psmo::UnsetFallbackAttribute(Default::default()),
            ]),
        ));
        assert_eq!(
            r,
            [EuiccResultData::UnsetFallbackAttributeResult(0), EuiccResultData::UnsetFallbackAttributeResult(2)]
        );
    }
}

#[test]
fn delete_of_the_enabled_profile_is_refused_and_stops_the_package() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let r = executed(run(
            &mut s,
            psmos(vec![
                Psmo::Delete(PsmoIccid { iccid: iccid(ICCID_A) }),
                Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_A) }),
            ]),
        ));
        // profileNotInDisabledState(2), and the disable after it never ran.
        assert_eq!(r, [EuiccResultData::DeleteResult(result_code::WRONG_STATE)], "{curve}");
        assert_eq!(state_of(&s.euicc, ICCID_A), Some(ProfileState::Enabled));
        // An unknown ICCID: iccidOrAidNotFound(1).
        let r = executed(run(&mut s, psmos(vec![Psmo::Disable(PsmoIccid { iccid: iccid("89000000000000000004") })])));
        assert_eq!(r, [EuiccResultData::DisableResult(result_code::ICCID_OR_AID_NOT_FOUND)]);
    }
}

#[test]
fn every_eco_end_to_end() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let other = EimSim::new("eim2.example.test", curve, &s.euicc.credentials().euicc_cert_der, 100);
        let r = executed(run(&mut s, EuiccPackage::EcoList(vec![Eco::AddEim(other.eim_configuration_data(true))])));
        assert_eq!(r, [EuiccResultData::AddEimResult(AddEimResult::AssociationToken(2))], "{curve}");

        // addEim again for the same eimId: associatedEimAlreadyExists(2), as AddInitialEim says it.
        let r = executed(run(&mut s, EuiccPackage::EcoList(vec![Eco::AddEim(other.eim_configuration_data(false))])));
        assert_eq!(r, [EuiccResultData::AddEimResult(AddEimResult::AddEimResultCode(2))]);

        let r = executed(run(&mut s, EuiccPackage::EcoList(vec![Eco::ListEim(Default::default())])));
        let [EuiccResultData::ListEimResult(ListEimResult::EimIdList(ids))] = r.as_slice() else { panic!("{r:?}") };
        let ids: Vec<&str> = ids.iter().map(|i| i.eim_id.as_str()).collect();
        assert_eq!(ids, ["eim.example.test", "eim2.example.test"]);

        let mut update = EimConfigurationData::new("eim2.example.test");
        update.counter_value = Some(500);
        update.eim_fqdn = Some("new.example.test".into());
        let r = executed(run(&mut s, EuiccPackage::EcoList(vec![Eco::UpdateEim(update)])));
        assert_eq!(r, [EuiccResultData::UpdateEimResult(0)]);
        let eim2 = s.euicc.eims().iter().find(|e| e.configuration.eim_id == "eim2.example.test").unwrap();
        assert_eq!(eim2.counter_value, 500);
        assert_eq!(eim2.configuration.eim_fqdn.as_deref(), Some("new.example.test"));
        assert_eq!(eim2.association_token, Some(2), "updateEim without a token keeps the issued one");

        let r = executed(run(
            &mut s,
            EuiccPackage::EcoList(vec![
                Eco::DeleteEim(DeleteEim { eim_id: "eim2.example.test".into() }),
                Eco::DeleteEim(DeleteEim { eim_id: "eim2.example.test".into() }),
            ]),
        ));
        // ok(0), then eimNotFound(1).
        assert_eq!(r, [EuiccResultData::DeleteEimResult(0), EuiccResultData::DeleteEimResult(1)]);
        assert_eq!(s.euicc.eims().len(), 1);
    }
}

#[test]
fn the_added_eim_can_send_packages_with_its_own_counter_and_token() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let mut second = EimSim::new("eim2.example.test", curve, &s.euicc.credentials().euicc_cert_der, 100);
        let sent = s.eim.next_package(EuiccPackage::EcoList(vec![Eco::AddEim(second.eim_configuration_data(true))]));
        let result = s.euicc.load_euicc_package(&sent.der).unwrap();
        let r = executed(s.eim.verify_result(&sent, &result).unwrap());
        let [EuiccResultData::AddEimResult(AddEimResult::AssociationToken(token))] = r.as_slice() else { panic!() };
        second.association_token = Some(*token);
        let sent = second.next_package(psmos(vec![Psmo::GetRat(Default::default())]));
        let result = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert!(matches!(second.verify_result(&sent, &result).unwrap(), PackageOutcome::Executed { .. }), "{curve}");
    }
}

#[test]
fn replayed_and_out_of_range_counters_are_refused() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let sent = s.eim.next_package(psmos(vec![Psmo::GetRat(Default::default())]));
        let first = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert!(matches!(s.eim.verify_result(&sent, &first).unwrap(), PackageOutcome::Executed { .. }));
        // The same bytes again: replayError(4), signed.
        let again = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert_eq!(
            s.eim.verify_result(&sent, &again).unwrap(),
            PackageOutcome::ErrorSigned { euicc_package_error_code: euicc_package_error_code::REPLAY_ERROR },
            "{curve}"
        );
        // An older counter, freshly signed: replayError too.
        let old = support::eim_sim::SentPackage {
            counter_value: 5,
            eim_transaction_id: vec![7; 16],
            der: s.eim.package(s.eim.eid_value, 5, &[7; 16], psmos(vec![Psmo::GetRat(Default::default())])),
        };
        let r = s.euicc.load_euicc_package(&old.der).unwrap();
        assert_eq!(
            s.eim.verify_result(&old, &r).unwrap(),
            PackageOutcome::ErrorSigned { euicc_package_error_code: euicc_package_error_code::REPLAY_ERROR }
        );
        // Beyond the eUICC's counter range: counterValueOutOfRange(6).
        let huge = 1i64 << 40;
        let far = support::eim_sim::SentPackage {
            counter_value: huge,
            eim_transaction_id: vec![8; 16],
            der: s.eim.package(s.eim.eid_value, huge, &[8; 16], psmos(vec![Psmo::GetRat(Default::default())])),
        };
        let r = s.euicc.load_euicc_package(&far.der).unwrap();
        assert_eq!(
            s.eim.verify_result(&far, &r).unwrap(),
            PackageOutcome::ErrorSigned {
                euicc_package_error_code: euicc_package_error_code::COUNTER_VALUE_OUT_OF_RANGE
            }
        );
        // Refusals leave the counter alone: the next package is accepted.
        assert!(matches!(run(&mut s, psmos(vec![Psmo::GetRat(Default::default())])), PackageOutcome::Executed { .. }));
    }
}

#[test]
fn a_wrong_eim_signature_is_refused_unsigned_and_changes_nothing() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let sent = s.eim.next_package(psmos(vec![Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_A) })]));
        let mut request: EuiccPackageRequest = decode(&sent.der).unwrap();
        let mut sig = request.eim_signature.0.to_vec();
        sig[10] ^= 0x01;
        request.eim_signature = Signature(OctetString::from(sig));
        let result = s.euicc.load_euicc_package(&encode(&request).unwrap()).unwrap();
        assert_eq!(s.eim.verify_result(&sent, &result).unwrap(), PackageOutcome::ErrorUnsigned, "{curve}");
        assert_eq!(state_of(&s.euicc, ICCID_A), Some(ProfileState::Enabled));

        // Signed by another key under the same eimId: refused the same way.
        let impostor = EimSim::new("eim.example.test", curve, &s.euicc.credentials().euicc_cert_der, 10);
        let der = impostor.package(s.eim.eid_value, 50, &[1; 16], psmos(vec![Psmo::GetRat(Default::default())]));
        let result = s.euicc.load_euicc_package(&der).unwrap();
        assert!(matches!(
            decode(&result).unwrap(),
            rsp_proto::codec::sgp32::EuiccPackageResult::EuiccPackageErrorUnsigned(_)
        ));
        // Signed without the association token the eUICC issued (`84 01 00` instead of `84 01 01`): refused.
        s.eim.association_token = None;
        let sent = s.eim.next_package(psmos(vec![Psmo::GetRat(Default::default())]));
        let result = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert_eq!(s.eim.verify_result(&sent, &result).unwrap(), PackageOutcome::ErrorUnsigned);
    }
}

#[test]
fn a_package_for_another_eid_is_refused() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let mut other_eid = s.eim.eid_value;
        other_eid[15] ^= 0x11;
        let sent = support::eim_sim::SentPackage {
            counter_value: 20,
            eim_transaction_id: vec![9; 16],
            der: s.eim.package(
                other_eid,
                20,
                &[9; 16],
                psmos(vec![Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_A) })]),
            ),
        };
        let result = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert_eq!(
            s.eim.verify_result(&sent, &result).unwrap(),
            PackageOutcome::ErrorSigned { euicc_package_error_code: euicc_package_error_code::INVALID_EID },
            "{curve}"
        );
        assert_eq!(state_of(&s.euicc, ICCID_A), Some(ProfileState::Enabled));
    }
}

#[test]
fn a_tampered_result_is_rejected_by_the_eim() {
    for curve in Curve::ALL {
        let mut s = setup(curve);
        let sent = s.eim.next_package(psmos(vec![Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_A) })]));
        let result = s.euicc.load_euicc_package(&sent.der).unwrap();
        assert!(s.eim.verify_result(&sent, &result).is_ok());
        // disableResult ok(0) → 1 inside euiccPackageResultDataSigned: `84 01 00` is the result INTEGER
        // (the association token is not in the result), the last `84 01 00` before the signature.
        let sig_at = result.len() - 67;
        let pos = result[..sig_at].windows(3).rposition(|w| w == [0x84, 0x01, 0x00]).unwrap();
        let mut tampered = result.clone();
        tampered[pos + 2] = 0x01;
        let err = s.eim.verify_result(&sent, &tampered).unwrap_err();
        assert!(err.contains("eUICC signature"), "{curve}: {err}");
        // A result answering another package (the counter of an older one) is not accepted either.
        let mut older = sent.clone();
        older.counter_value -= 1;
        assert!(s.eim.verify_result(&older, &result).unwrap_err().contains("does not answer"));
        // Nor one signed by a different key.
        let stranger = EimSim::new("eim.example.test", curve, &s.euicc.credentials().euicc_cert_der, 0);
        let mut with_wrong_key = EimSim::new("x", curve, &s.euicc.credentials().euicc_cert_der, 0);
        with_wrong_key.eim_id = "eim.example.test".into();
        with_wrong_key.association_token = s.eim.association_token;
        with_wrong_key.euicc_public_key = stranger.public_key();
        assert!(with_wrong_key.verify_result(&sent, &result).is_err());
    }
}

#[test]
fn results_wait_for_acknowledgement() {
    let mut s = setup(Curve::NistP256);
    let outcome = run(&mut s, psmos(vec![Psmo::GetRat(Default::default())]));
    let PackageOutcome::Executed { seq_number, .. } = outcome else { panic!() };
    assert_eq!(s.euicc.pending_euicc_package_results().len(), 1);
    // IpaEuiccDataRequest for the euiccPackageResultList (A2) returns it.
    let request = rsp_proto::codec::sgp32::IpaEuiccDataRequest {
        tag_list: OctetString::from(vec![0xA2, 0xA6]),
        euicc_ci_pkid_to_be_used: None,
        search_criteria_notification: None,
        search_criteria_euicc_package_result: None,
        eim_transaction_id: None,
    };
    let response = s.euicc.get_ipa_euicc_data(&encode(&request).unwrap()).unwrap();
    let rsp_proto::codec::sgp32::IpaEuiccDataResponse::IpaEuiccData(data) = decode(&response).unwrap() else {
        panic!()
    };
    assert_eq!(data.euicc_package_result_list.map(|l| l.len()), Some(1));
    assert!(data.euicc_certificate.is_some());
    let acks = rsp_proto::codec::sgp32::EimAcknowledgements(vec![rsp_proto::codec::sgp32::SequenceNumber(seq_number)]);
    assert_eq!(s.euicc.acknowledge(&encode(&acks).unwrap()).unwrap(), 1);
    assert!(s.euicc.pending_euicc_package_results().is_empty());
}

#[test]
fn the_mutation_target_package_is_accepted_unmodified() {
    let (mut euicc, der) = mutation_target();
    let result = euicc.load_euicc_package(&der).unwrap();
    assert!(matches!(
        decode(&result).unwrap(),
        rsp_proto::codec::sgp32::EuiccPackageResult::EuiccPackageResultSigned(_)
    ));
    assert_eq!(state_of(&euicc, ICCID_B), Some(ProfileState::Enabled));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Garbage in → an error or an answer, never a panic.
    #[test]
    fn load_euicc_package_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut s = garbage_target();
        let _ = s.load_euicc_package(&bytes);
        let mut framed = vec![0xBF, 0x51];
        framed.push(bytes.len().min(127) as u8);
        framed.extend_from_slice(&bytes[..bytes.len().min(127)]);
        let _ = s.load_euicc_package(&framed);
        let _ = s.get_ipa_euicc_data(&bytes);
        let _ = s.add_initial_eim(&bytes);
    }

    /// A valid package with one byte changed: never a panic.
    #[test]
    fn load_euicc_package_never_panics_on_mutations(index in any::<usize>(), xor in 1u8..=255) {
        let (mut s, der) = mutation_target();
        let mut bytes = der.clone();
        let i = index % bytes.len();
        bytes[i] ^= xor;
        let _ = s.load_euicc_package(&bytes);
    }
}

fn garbage_target() -> SoftEuicc {
    mutation_target().0
}

/// A fresh eUICC (one eIM associated, profile B seeded) and one valid package for it; the key material is
/// generated once per thread.
fn mutation_target() -> (SoftEuicc, Vec<u8>) {
    thread_local! {
        static BASE: (tempfile::TempDir, EuiccCredentials, Vec<u8>, Vec<u8>) = {
            let dir = tempfile::tempdir().unwrap();
            let (credentials, _) =
                EuiccCredentials::generate(&dir.path().join("pki"), Curve::NistP256, &[ADDRESS.to_string()]).unwrap();
            let mut eim = EimSim::new("eim.example.test", Curve::NistP256, &credentials.euicc_cert_der, 10);
            let add = eim.add_initial_eim_request(true);
            eim.association_token = Some(1);
            let sent = eim.next_package(psmos(vec![
                Psmo::Enable(PsmoEnable { iccid: iccid(ICCID_B), rollback_flag: None }),
                Psmo::ListProfileInfo(ProfileInfoListRequest::default()),
            ]));
            (dir, credentials, add, sent.der)
        };
    }
    BASE.with(|(_, credentials, add, der)| {
        let mut euicc = SoftEuicc::new(credentials.clone());
        euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, ProfileState::Disabled).unwrap()).unwrap();
        euicc.add_initial_eim(add).unwrap();
        (euicc, der.clone())
    })
}
