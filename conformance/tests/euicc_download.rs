//! The soft eUICC through a whole ES10b download (SGP.22 v2.5 §3.1.2–§3.1.3) against a server simulator built
//! from rspd's library pieces, on both curves, and every check it makes failing with the SGP.22 error a real
//! eUICC returns.

mod support;

use rsp_conformance::euicc::error::error_reason;
use rsp_conformance::euicc::prepare_download::hash_confirmation_code;
use rsp_conformance::euicc::{AuthenticateErrorCode, DownloadErrorCode, Es10Error, EuiccCredentials, SoftEuicc};
use rsp_proto::bsp::BppCommandId;
use rsp_proto::codec::decode;
use rsp_proto::codec::sgp22::{
    AuthenticateServerResponse, CancelSessionResponse, EuiccCancelSessionSigned, EuiccInfo1, EuiccInfo2, FinalResult,
    PendingNotification, PrepareDownloadResponse, ProfileInstallationResult, PATH_PIR_DATA_IN_PIR,
};
use rsp_proto::codec::tlv::{self, Tag};
use rsp_proto::codec::Received;
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::{verify_euicc_chain, Curve};
use rsp_proto::profile::Iccid;
use support::*;

const ICCID: &str = "89000123456789012341";

struct Setup {
    _dir: tempfile::TempDir,
    paths: TestPkiPaths,
    euicc: SoftEuicc,
    server: ServerSim,
}

fn setup(curve: Curve) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pki");
    let (credentials, paths) = EuiccCredentials::generate(&root, curve, &[ADDRESS.to_string()]).unwrap();
    let server = ServerSim::from_test_pki(&paths, curve);
    Setup { _dir: dir, paths, euicc: SoftEuicc::new(credentials), server }
}

/// GetEUICCChallenge → InitiateAuthentication → AuthenticateServer.
fn authenticate(euicc: &mut SoftEuicc, server: &ServerSim) -> Result<Vec<u8>, Es10Error> {
    let challenge = euicc.get_euicc_challenge().unwrap();
    let ia = server.initiate_authentication(challenge);
    euicc.authenticate_server(
        &ia.server_signed1,
        &ia.server_signature1,
        &ia.euicc_ci_pkid_to_be_used,
        &ia.server_certificate,
        &ctx_params1("MATCHING-1"),
        ADDRESS,
    )
}

/// The whole sequence up to a PrepareDownloadResponse.
fn prepare(euicc: &mut SoftEuicc, server: &mut ServerSim, cc: Option<&str>, cc_required: bool) -> Vec<u8> {
    let asr = authenticate(euicc, server).unwrap();
    let ac = server.authenticate_client(&asr, cc_required);
    euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, cc).unwrap()
}

fn install(euicc: &mut SoftEuicc, server: &mut ServerSim, profile: &[u8], iccid: &Iccid) -> Vec<u8> {
    let pdr = prepare(euicc, server, None, false);
    let (otpk, _) = server.check_prepare_download(&pdr);
    server.bound_profile_package(&otpk, &metadata(iccid), profile)
}

fn authenticate_error(r: Result<Vec<u8>, Es10Error>) -> AuthenticateErrorCode {
    match r {
        Err(Es10Error::AuthenticateServer { code, response, .. }) => {
            let decoded = decode::<AuthenticateServerResponse>(&response).unwrap();
            let AuthenticateServerResponse::AuthenticateResponseError(e) = decoded else { panic!("not an error") };
            assert_eq!(e.authenticate_error_code, code as i64);
            code
        }
        other => panic!("expected an AuthenticateServer error, got {other:?}"),
    }
}

fn download_error(r: Result<Vec<u8>, Es10Error>) -> DownloadErrorCode {
    match r {
        Err(Es10Error::PrepareDownload { code, response, .. }) => {
            let PrepareDownloadResponse::DownloadResponseError(e) = decode(&response).unwrap() else { panic!() };
            assert_eq!(e.download_error_code, code as i64);
            code
        }
        other => panic!("expected a PrepareDownload error, got {other:?}"),
    }
}

/// Checks the PIR signature with the eUICC's key and returns its final result.
fn check_pir(euicc: &SoftEuicc, pir: &[u8]) -> FinalResult {
    let data = Received::at(pir, PATH_PIR_DATA_IN_PIR).unwrap();
    let decoded: ProfileInstallationResult = decode(pir).unwrap();
    let cert = euicc.credentials().euicc_certificate().unwrap();
    cert.public_key().verify(&data.raw, &decoded.euicc_sign_pir.0).unwrap();
    let data: Received<rsp_proto::codec::sgp22::ProfileInstallationResultData> = data;
    assert_eq!(data.value.smdp_oid.to_string(), "2.999.10");
    data.value.final_result
}

#[test]
fn full_download_installs_a_profile_on_both_curves() {
    for curve in Curve::ALL {
        let Setup { mut euicc, mut server, .. } = setup(curve);
        let info1: EuiccInfo1 = decode(&euicc.get_euicc_info1().unwrap()).unwrap();
        assert_eq!(info1.euicc_ci_pkid_list_for_verification.len(), 2);
        assert_eq!(*info1.euicc_ci_pkid_list_for_signing[0], *server.ci_pkid);
        let info2: EuiccInfo2 = decode(&euicc.get_euicc_info2().unwrap()).unwrap();
        assert_eq!(*info2.svn, [2, 5, 0]);

        let iccid = Iccid::new(ICCID).unwrap();
        let bpp = install(&mut euicc, &mut server, &synthetic_profile(&iccid), &iccid);
        let outcome = euicc.load_bound_profile_package(&bpp).unwrap();
        assert_eq!(outcome.result, Ok(ICCID.to_string()), "{curve}");
        assert!(matches!(check_pir(&euicc, &outcome.profile_installation_result), FinalResult::SuccessResult(_)));
        assert_eq!(euicc.profiles().len(), 1);
        assert_eq!(euicc.profiles()[0].iccid, ICCID);
        assert_eq!(euicc.transaction_id(), None, "the session ends with the installation");

        // The PIR waits as a notification until the LPA removes it.
        let list = euicc.list_notifications();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].seq_number, outcome.seq_number);
        assert_eq!(list[0].notification_address, ADDRESS);
        assert!(matches!(euicc.retrieve_notifications(None)[0], PendingNotification::ProfileInstallationResult(_)));
        assert_eq!(euicc.pending_notification_der(outcome.seq_number), Some(&outcome.profile_installation_result[..]));
        euicc.remove_notification(outcome.seq_number).unwrap();
        assert!(euicc.list_notifications().is_empty());
        assert!(matches!(euicc.remove_notification(outcome.seq_number), Err(Es10Error::NothingToDelete { .. })));

        // The same ICCID again: installFailedDueToIccidAlreadyExistsOnEuicc.
        server.transaction_id = random16().to_vec();
        let bpp = install(&mut euicc, &mut server, &synthetic_profile(&iccid), &iccid);
        let outcome = euicc.load_bound_profile_package(&bpp).unwrap();
        let failure = outcome.result.unwrap_err();
        assert_eq!(failure.error_reason, error_reason::INSTALL_FAILED_DUE_TO_ICCID_ALREADY_EXISTS_ON_EUICC);
        assert!(outcome.seq_number > list[0].seq_number);
    }
}

#[test]
fn wrong_server_address_is_refused_before_the_euicc_signs() {
    let Setup { mut euicc, mut server, .. } = setup(Curve::NistP256);
    server.address = "evil.example.test".into();
    let r = authenticate(&mut euicc, &server);
    assert!(matches!(r, Err(Es10Error::ServerAddressMismatch { .. })), "{r:?}");
    // Host names compare case-insensitively.
    server.address = ADDRESS.to_uppercase();
    authenticate(&mut euicc, &server).unwrap();
}

#[test]
fn euicc_challenge_mismatch() {
    let Setup { mut euicc, server, .. } = setup(Curve::BrainpoolP256r1);
    euicc.get_euicc_challenge().unwrap();
    let ia = server.initiate_authentication(random16());
    let r = euicc.authenticate_server(
        &ia.server_signed1,
        &ia.server_signature1,
        &ia.euicc_ci_pkid_to_be_used,
        &ia.server_certificate,
        &ctx_params1("M"),
        ADDRESS,
    );
    assert_eq!(authenticate_error(r), AuthenticateErrorCode::EuiccChallengeMismatch);
    // A challenge is used once: replaying a good serverSigned1 fails too.
    let Setup { mut euicc, server, .. } = setup(Curve::NistP256);
    let challenge = euicc.get_euicc_challenge().unwrap();
    let ia = server.initiate_authentication(challenge);
    let call = |e: &mut SoftEuicc| {
        e.authenticate_server(
            &ia.server_signed1,
            &ia.server_signature1,
            &ia.euicc_ci_pkid_to_be_used,
            &ia.server_certificate,
            &ctx_params1("M"),
            ADDRESS,
        )
    };
    call(&mut euicc).unwrap();
    assert_eq!(authenticate_error(call(&mut euicc)), AuthenticateErrorCode::EuiccChallengeMismatch);
}

#[test]
fn dpauth_from_an_untrusted_ci() {
    // The eUICC trusts the CIs of its own test PKI; the server's chain comes from another one.
    let Setup { mut euicc, .. } = setup(Curve::NistP256);
    let other = setup(Curve::NistP256);
    let challenge = euicc.get_euicc_challenge().unwrap();
    let ia = other.server.initiate_authentication(challenge);
    let call = |e: &mut SoftEuicc, ci: &[u8]| {
        e.authenticate_server(
            &ia.server_signed1,
            &ia.server_signature1,
            ci,
            &ia.server_certificate,
            &ctx_params1("M"),
            ADDRESS,
        )
    };
    // Honest euiccCiPKIdToBeUsed naming the rogue CI: ciPKUnknown.
    assert_eq!(authenticate_error(call(&mut euicc, &ia.euicc_ci_pkid_to_be_used)), AuthenticateErrorCode::CiPkUnknown);
    // Naming one of the eUICC's CIs: the certificate does not verify with it.
    let trusted = tlv::encode(Tag(0x04), &euicc.credentials().signing_ci_pkid().unwrap());
    assert_eq!(authenticate_error(call(&mut euicc, &trusted)), AuthenticateErrorCode::InvalidCertificate);
}

#[test]
fn bad_server_signature1() {
    let Setup { mut euicc, server, .. } = setup(Curve::NistP256);
    let challenge = euicc.get_euicc_challenge().unwrap();
    let ia = server.initiate_authentication(challenge);
    let mut sig = ia.server_signature1.clone();
    sig[10] ^= 0x01;
    let r = euicc.authenticate_server(
        &ia.server_signed1,
        &sig,
        &ia.euicc_ci_pkid_to_be_used,
        &ia.server_certificate,
        &ctx_params1("M"),
        ADDRESS,
    );
    assert_eq!(authenticate_error(r), AuthenticateErrorCode::InvalidSignature);
    // A DPpb certificate in place of DPauth: not a DPauth (role policy) → invalidOid.
    let r = euicc.authenticate_server(
        &ia.server_signed1,
        &ia.server_signature1,
        &ia.euicc_ci_pkid_to_be_used,
        &server.dppb_cert,
        &ctx_params1("M"),
        ADDRESS,
    );
    assert_eq!(authenticate_error(r), AuthenticateErrorCode::InvalidOid);
}

#[test]
fn bad_smdp_signature2_and_wrong_transaction_id() {
    for curve in Curve::ALL {
        let Setup { mut euicc, mut server, .. } = setup(curve);
        let asr = authenticate(&mut euicc, &server).unwrap();
        let ac = server.authenticate_client(&asr, false);
        let mut sig = ac.smdp_signature2.clone();
        sig[20] ^= 0x80;
        let r = euicc.prepare_download(&ac.smdp_signed2, &sig, &ac.smdp_certificate, None);
        assert_eq!(download_error(r), DownloadErrorCode::InvalidSignature);
        // DPauth in place of DPpb.
        let r = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &server.dpauth_cert, None);
        assert_eq!(download_error(r), DownloadErrorCode::InvalidCertificate);

        // A correctly signed smdpSigned2 for another transaction.
        let real = server.transaction_id.clone();
        server.transaction_id = random16().to_vec();
        let ac = server.smdp_signed2(false, None);
        let r = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None);
        assert_eq!(download_error(r), DownloadErrorCode::InvalidTransactionId);
        server.transaction_id = real;
        let ac = server.smdp_signed2(false, None);
        euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None).unwrap();
    }
}

#[test]
fn prepare_download_without_a_session() {
    let Setup { mut euicc, mut server, .. } = setup(Curve::NistP256);
    server.euicc_signature1 = vec![0; 64];
    let ac = server.smdp_signed2(false, None);
    let r = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None);
    assert_eq!(download_error(r), DownloadErrorCode::NoSessionContext);
    assert!(matches!(euicc.load_bound_profile_package(&[0xBF, 0x36, 0x00]), Err(Es10Error::NoSession { .. })));
}

#[test]
fn confirmation_code() {
    let Setup { mut euicc, mut server, .. } = setup(Curve::NistP256);
    // Missing while required: the LPA cannot go on.
    let asr = authenticate(&mut euicc, &server).unwrap();
    let ac = server.authenticate_client(&asr, true);
    let r = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None);
    assert!(matches!(r, Err(Es10Error::ConfirmationCodeRequired)), "{r:?}");
    // Given: hashCc = SHA256(SHA256(cc) || transactionId); a wrong code gives a hash the SM-DP+ rejects.
    let pdr =
        euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, Some("1234")).unwrap();
    let (_, hash_cc) = server.check_prepare_download(&pdr);
    let expected = hash_confirmation_code("1234", &server.transaction_id);
    assert_eq!(hash_cc.as_deref(), Some(&expected[..]));
    let pdr =
        euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, Some("9999")).unwrap();
    let (_, wrong) = server.check_prepare_download(&pdr);
    assert_ne!(wrong.as_deref(), Some(&expected[..]));
    // Not required: no hashCc even if the user typed something.
    let pdr = prepare(&mut euicc, &mut server, Some("1234"), false);
    assert_eq!(server.check_prepare_download(&pdr).1, None);
}

#[test]
fn retry_with_bpp_euicc_otpk_reuses_the_one_time_key() {
    let Setup { mut euicc, mut server, .. } = setup(Curve::BrainpoolP256r1);
    let pdr = prepare(&mut euicc, &mut server, None, false);
    let (otpk, _) = server.check_prepare_download(&pdr);
    let ac = server.smdp_signed2(false, Some(otpk.clone()));
    let pdr = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None).unwrap();
    assert_eq!(server.check_prepare_download(&pdr).0, otpk);
    let ac = server.smdp_signed2(false, None);
    let pdr = euicc.prepare_download(&ac.smdp_signed2, &ac.smdp_signature2, &ac.smdp_certificate, None).unwrap();
    assert_ne!(server.check_prepare_download(&pdr).0, otpk);
}

fn failed_install(curve: Curve, tamper: impl Fn(&mut ServerSim, &[u8], &Iccid) -> Vec<u8>) -> (u8, BppCommandId) {
    let Setup { mut euicc, mut server, .. } = setup(curve);
    let pdr = prepare(&mut euicc, &mut server, None, false);
    let (otpk, _) = server.check_prepare_download(&pdr);
    let bpp = tamper(&mut server, &otpk, &Iccid::new(ICCID).unwrap());
    let outcome = euicc.load_bound_profile_package(&bpp).unwrap();
    let FinalResult::ErrorResult(e) = check_pir(&euicc, &outcome.profile_installation_result) else {
        panic!("expected an ErrorResult")
    };
    let failure = outcome.result.unwrap_err();
    assert_eq!(e.error_reason, i64::from(failure.error_reason));
    assert_eq!(e.bpp_command_id, failure.bpp_command_id as i64);
    assert!(euicc.profiles().is_empty());
    assert_eq!(euicc.list_notifications().len(), 1, "a failed installation is notified too");
    (failure.error_reason, failure.bpp_command_id)
}

#[test]
fn tampered_bpp_gives_a_failing_profile_installation_result() {
    for curve in Curve::ALL {
        // A flipped byte in the last profile segment: its C-MAC fails.
        let r = failed_install(curve, |s, otpk, iccid| {
            let mut bpp = s.bound_profile_package(otpk, &metadata(iccid), &synthetic_profile(iccid));
            let n = bpp.len();
            bpp[n - 3] ^= 0x01;
            bpp
        });
        assert_eq!(r, (error_reason::SCP03T_SECURITY_ERROR, BppCommandId::LoadProfileElements));
        // smdpSign broken (a byte of otPK.DP inside BF23).
        let r = failed_install(curve, |s, otpk, iccid| {
            let mut bpp = s.bound_profile_package(otpk, &metadata(iccid), &synthetic_profile(iccid));
            let at = bpp.windows(2).position(|w| w == [0x5F, 0x49]).unwrap() + 10;
            bpp[at] ^= 0x01;
            bpp
        });
        assert_eq!(r.1, BppCommandId::InitialiseSecureChannel);
        // Another transactionId in InitialiseSecureChannel.
        let r = failed_install(curve, |s, otpk, iccid| {
            s.bound_profile_package_for(&random16(), otpk, &metadata(iccid), &synthetic_profile(iccid))
        });
        assert_eq!(r, (error_reason::INVALID_TRANSACTION_ID, BppCommandId::InitialiseSecureChannel));
        // StoreMetadata names another ICCID than the profile.
        let r = failed_install(curve, |s, otpk, iccid| {
            let other = Iccid::new("89000123456789012358").unwrap();
            s.bound_profile_package(otpk, &metadata(&other), &synthetic_profile(iccid))
        });
        assert_eq!(r.0, error_reason::INSTALL_FAILED_DUE_TO_DATA_MISMATCH);
        // Not a SAIP package.
        let r = failed_install(curve, |s, otpk, iccid| s.bound_profile_package(otpk, &metadata(iccid), &[0x04, 0x00]));
        assert_eq!(r, (error_reason::INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR, BppCommandId::LoadProfileElements));
        // Garbage instead of a BPP.
        let r = failed_install(curve, |_, _, _| vec![0xBF, 0x36, 0x01, 0x00]);
        assert_eq!(r.1, BppCommandId::InitialiseSecureChannel);
    }
}

#[test]
fn cancel_session_is_signed_and_ends_the_session() {
    let Setup { mut euicc, mut server, .. } = setup(Curve::NistP256);
    prepare(&mut euicc, &mut server, None, false);
    let r = euicc.cancel_session(&random16(), 0);
    assert!(matches!(r, Err(Es10Error::CancelSession { .. })), "{r:?}");
    let response = euicc.cancel_session(&server.transaction_id, 0).unwrap();
    let signed: Received<EuiccCancelSessionSigned> =
        Received::at(&response, rsp_proto::codec::sgp22::PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_RESPONSE).unwrap();
    let CancelSessionResponse::CancelSessionResponseOk(ok) = decode(&response).unwrap() else { panic!() };
    server.euicc.as_ref().unwrap().public_key.verify(&signed.raw, &ok.euicc_cancel_session_signature.0).unwrap();
    assert_eq!(*signed.value.transaction_id.0, *server.transaction_id);
    assert_eq!(euicc.transaction_id(), None);
}

#[test]
fn garbage_inputs_are_errors_not_panics() {
    let Setup { mut euicc, server, .. } = setup(Curve::NistP256);
    let challenge = euicc.get_euicc_challenge().unwrap();
    let ia = server.initiate_authentication(challenge);
    for bad in [&[][..], &[0x30, 0x00], &[0xFF; 40]] {
        let r = euicc.authenticate_server(bad, bad, bad, bad, bad, ADDRESS);
        assert!(matches!(r, Err(Es10Error::IncorrectCommandData { .. })), "{r:?}");
        let r = euicc.authenticate_server(
            &ia.server_signed1,
            bad,
            &ia.euicc_ci_pkid_to_be_used,
            &ia.server_certificate,
            &ctx_params1("M"),
            ADDRESS,
        );
        assert!(r.is_err());
        let r = euicc.prepare_download(bad, bad, bad, None);
        assert!(r.is_err());
    }
    // A bad certificate: invalidCertificate.
    let r = euicc.authenticate_server(
        &ia.server_signed1,
        &ia.server_signature1,
        &ia.euicc_ci_pkid_to_be_used,
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        &ctx_params1("M"),
        ADDRESS,
    );
    assert_eq!(authenticate_error(r), AuthenticateErrorCode::InvalidCertificate);
}

#[test]
fn ts48_profile_installs() {
    let Some(dir) = ts48_dir() else { return };
    let path = dir.join("TS48v2_SAIP2.1_BERTLV.der");
    let Ok(profile) = std::fs::read(&path) else {
        eprintln!("SKIP: {} missing", path.display());
        return;
    };
    let package = rsp_proto::profile::ProfilePackage::parse(&profile).unwrap();
    let iccid = *package.iccid();
    for curve in Curve::ALL {
        let Setup { mut euicc, mut server, .. } = setup(curve);
        let bpp = install(&mut euicc, &mut server, &profile, &iccid);
        let outcome = euicc.load_bound_profile_package(&bpp).unwrap();
        assert_eq!(outcome.result, Ok(iccid.digits()));
        assert_eq!(euicc.profiles()[0].profile_package, profile);
    }
}

#[test]
fn sgp26_credentials_download_on_both_curves() {
    let Some(dir) = sgp26_dir() else { return };
    for curve in Curve::ALL {
        let credentials = EuiccCredentials::from_sgp26_dir(&dir, curve).unwrap();
        assert_eq!(credentials.eid, "89049032123451234512345678901235");
        let chain = verify_euicc_chain(
            &credentials.ci_certs,
            &credentials.eum_cert_der,
            &credentials.euicc_cert_der,
            sgp26_now(),
        )
        .unwrap();
        assert_eq!(chain.eid, credentials.eid);
        let mut euicc = SoftEuicc::new(credentials).with_clock(sgp26_now());
        let mut server = ServerSim::from_sgp26(&dir, curve);
        let iccid = Iccid::new(ICCID).unwrap();
        let bpp = install(&mut euicc, &mut server, &synthetic_profile(&iccid), &iccid);
        let outcome = euicc.load_bound_profile_package(&bpp).unwrap();
        assert_eq!(outcome.result, Ok(ICCID.to_string()), "{curve}");
    }
}

#[test]
fn test_pki_credentials_load_from_disk() {
    let s = setup(Curve::BrainpoolP256r1);
    let again = EuiccCredentials::from_test_pki(&s.paths, Curve::BrainpoolP256r1).unwrap();
    assert_eq!(again.eid, s.euicc.eid());
    assert!(EuiccCredentials::from_test_pki(&s.paths, Curve::NistP256).is_ok());
}
