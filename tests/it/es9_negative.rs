//! ES9+ negative suite in the style of SGP.23: each case drives the real `rspd serve` over HTTPS into one
//! failure and asserts its exact SGP.22 v2.5 §5.6 subjectCode/reasonCode (HTTP 200 + `Failed`, never a 500),
//! or — where rspd deliberately tolerates the input — that it succeeds. The whole table runs on SQLite and, when
//! `RSPD_TEST_POSTGRES_URL` is set, on PostgreSQL; every row is printed (`--nocapture`) and all mismatches are
//! reported at once.

// Issue 10 items 4–5 (abuse limits) live here rather than in a binary of their own.

use crate::es9_harness::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::pki::Curve;
use rspd::smdp::ProfileState;
use serde_json::{json, Value};

const SUCCESS: &str = "Executed-Success";
const INVALID: &str = "Failed 1.6/2.1";
const MISSING: &str = "Failed 1.6/2.2";
const UNKNOWN_TX: &str = "Failed 8.10.1/3.9";
const BAD_SIGNATURE: &str = "Failed 8.1/6.1";
const FUNCTIONS: [&str; 5] =
    ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification", "cancelSession"];

/// The rows: (case, expected, got).
#[derive(Default)]
struct Table {
    rows: Vec<(String, String, String)>,
}

impl Table {
    fn check(&mut self, case: impl Into<String>, expected: &str, got: (u16, Value)) {
        let got = outcome(got.0, &got.1);
        self.rows.push((case.into(), expected.to_owned(), got));
    }

    /// A fact about the store rather than a response.
    fn fact(&mut self, case: impl Into<String>, expected: impl std::fmt::Display, got: impl std::fmt::Display) {
        self.rows.push((case.into(), expected.to_string(), got.to_string()));
    }

    fn finish(self, backend: &str) {
        let mut failures = Vec::new();
        for (case, expected, got) in &self.rows {
            let ok = expected == got;
            eprintln!("[{backend}] {} | {case} | expected {expected} | got {got}", if ok { "PASS" } else { "FAIL" });
            if !ok {
                failures.push(format!("{case}: expected {expected}, got {got}"));
            }
        }
        eprintln!("[{backend}] {} cases, {} failed", self.rows.len(), failures.len());
        assert!(failures.is_empty(), "[{backend}] mismatches:\n{}", failures.join("\n"));
    }
}

#[tokio::test]
async fn es9_negative_suite() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let mut t = Table::default();
        let iccids = env.import_profiles(&template, 100..112);
        let mut iccids = iccids.into_iter();
        let mut next_order = |extra: &[&str]| env.create_order(&iccids.next().unwrap(), extra);
        // The order the failing sessions aim at: a failure never claims it.
        let main = next_order(&[]);
        initiate_authentication_cases(&env, &mut t).await;
        headers_and_body_cases(&env, &mut t, &main).await;
        authenticate_client_cases(&env, &mut t, &main, &next_order(&[])).await;
        let other_eid = eid_from_body("899999990000000000000000000777");
        let bound = next_order(&["--eid", &other_eid]);
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &bound).await;
        let r = authenticate_client(&env, &tx, &asr).await;
        assert!(r.1.to_string().contains("EID doesn't match"), "{}", r.1);
        t.check("authenticateClient: order bound to another EID", "Failed 8.1.1/3.8", r);

        get_bpp_cases(&env, &mut t, &next_order(&[]), &next_order(&[])).await;
        confirmation_code_cases(&env, &mut t, &next_order(&["--confirmation-code", "1234"])).await;
        cancel_session_cases(&env, &mut t, &next_order(&[]), &next_order(&[])).await;
        completed_session_cases(&env, &mut t, &next_order(&[])).await;
        payload_cases(&env, &mut t, &main).await;
        t.fact("main order untouched by all failures", ProfileState::Released, env.order_state(&main));
        t.fact("main order unclaimed", "None", format!("{:?}", env.order(&main).session_id));
        t.finish(backend_name(&pg));
    }
}

/// §5.6.1: the SM-DP+ address (host case-insensitive, port significant), the common CI.
async fn initiate_authentication_cases(env: &Env, t: &mut Table) {
    let mut euicc = env.euicc(Curve::NistP256);
    let ia = |address: &str, euicc: &mut SoftEuicc| initiate_body(euicc, address);
    let body = ia(&format!("other.example:{}", env.port), &mut euicc);
    t.check("initiateAuthentication: wrong host", "Failed 8.8.1/3.8", env.post("initiateAuthentication", body).await);
    let body = ia(&format!("localhost:{}", env.port.wrapping_add(1)), &mut euicc);
    t.check("initiateAuthentication: wrong port", "Failed 8.8.1/3.8", env.post("initiateAuthentication", body).await);
    let body = ia("localhost", &mut euicc);
    t.check("initiateAuthentication: port missing", "Failed 8.8.1/3.8", env.post("initiateAuthentication", body).await);
    let body = ia(&env.address.to_uppercase(), &mut euicc);
    t.check(
        "initiateAuthentication: host in upper case (accepted)",
        SUCCESS,
        env.post("initiateAuthentication", body).await,
    );
    let body = ia(&format!("LocalHost:{}", env.port), &mut euicc);
    t.check(
        "initiateAuthentication: host in mixed case (accepted)",
        SUCCESS,
        env.post("initiateAuthentication", body).await,
    );

    // An eUICC of another PKI entirely: it trusts no CI this SM-DP+ has credentials from.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) =
        EuiccCredentials::generate(&other.path().join("pki"), Curve::NistP256, &["localhost".into()]).unwrap();
    let body = ia(&env.address, &mut SoftEuicc::new(stranger));
    t.check("initiateAuthentication: no common CI", "Failed 8.8.2/3.1", env.post("initiateAuthentication", body).await);

    let mut body = ia(&env.address, &mut euicc);
    body["euiccChallenge"] = json!(B64.encode([1u8; 8]));
    t.check(
        "initiateAuthentication: euiccChallenge of 8 bytes",
        INVALID,
        env.post("initiateAuthentication", body).await,
    );
}

/// `X-Admin-Protocol` (INTEROP.md: any gsma/rsp/v2.1.0 … v3.x.y) and Content-Type.
async fn headers_and_body_cases(env: &Env, t: &mut Table, _main: &str) {
    let mut euicc = env.euicc(Curve::NistP256);
    let json = "application/json";
    for (version, expected) in [
        ("gsma/rsp/v2.1.0", SUCCESS),
        ("gsma/rsp/v2.2.2", SUCCESS),
        ("gsma/rsp/v2.5.0", SUCCESS),
        ("gsma/rsp/v2.6.0", SUCCESS),
        ("gsma/rsp/v3.1.0", SUCCESS),
        ("gsma/rsp/v1.0.0", "Failed 1.3.2/3.1"),
        ("gsma/rsp/v4.0.0", "Failed 1.3.2/3.1"),
        ("nonsense", "Failed 1.3.2/3.1"),
    ] {
        let body = initiate_body(&mut euicc, &env.address).to_string();
        let r = env.post_raw("initiateAuthentication", body, Some(json), Some(version)).await;
        t.check(format!("X-Admin-Protocol: {version}"), expected, r);
    }
    // rspd's choice: a missing header is tolerated on ES9+ (some LPAs send none); the answer still carries one.
    let body = initiate_body(&mut euicc, &env.address).to_string();
    t.check(
        "X-Admin-Protocol missing (tolerated)",
        SUCCESS,
        env.post_raw("initiateAuthentication", body, Some(json), None).await,
    );
    let body = initiate_body(&mut euicc, &env.address).to_string();
    let r = env
        .post_raw("initiateAuthentication", body, Some("application/json;charset=UTF-8"), Some(ADMIN_PROTOCOL))
        .await;
    t.check("Content-Type: application/json;charset=UTF-8", SUCCESS, r);
    // rspd's choice: the body is JSON whatever the Content-Type says (it is never used to pick a parser).
    let body = initiate_body(&mut euicc, &env.address).to_string();
    let r = env.post_raw("initiateAuthentication", body, Some("text/plain"), Some(ADMIN_PROTOCOL)).await;
    t.check("Content-Type: text/plain (tolerated)", SUCCESS, r);
    let body = initiate_body(&mut euicc, &env.address).to_string();
    t.check(
        "Content-Type missing (tolerated)",
        SUCCESS,
        env.post_raw("initiateAuthentication", body, None, Some(ADMIN_PROTOCOL)).await,
    );
    // Unsupported version on every function, before anything else is looked at.
    for function in FUNCTIONS {
        let r = env.post_raw(function, "{}".into(), Some(json), Some("gsma/rsp/v1.1.0")).await;
        t.check(format!("{function}: X-Admin-Protocol v1.1.0"), "Failed 1.3.2/3.1", r);
    }
}

/// §5.6.3: transactionId, the eUICC chain, euiccSignature1, serverChallenge, order matching.
async fn authenticate_client_cases(env: &Env, t: &mut Table, main: &str, replayed: &str) {
    let pki = env.pki();
    let mut euicc = env.euicc(Curve::NistP256);

    let (_, asr) = initiate(env, &mut euicc, main).await;
    let r = authenticate_client(env, "00112233445566778899AABBCCDDEEFF", &asr).await;
    t.check("authenticateClient: unknown transactionId", UNKNOWN_TX, r);

    let (tx, asr) = initiate(env, &mut euicc, main).await;
    env.expire_session(&tx);
    t.check("authenticateClient: expired transactionId", UNKNOWN_TX, authenticate_client(env, &tx, &asr).await);

    let (tx, asr) = initiate(env, &mut euicc, main).await;
    let bad = flip_signature(&asr);
    t.check("authenticateClient: bad euiccSignature1", BAD_SIGNATURE, authenticate_client(env, &tx, &bad).await);
    let r = authenticate_client(env, &tx, &asr).await;
    t.check("authenticateClient: good retry after a failure (challenge used up)", UNKNOWN_TX, r);

    // serverChallenge: the eUICC signed another challenge than this session's.
    let (tx, asr) = initiate(env, &mut euicc, main).await;
    let forged = asr_with_other_challenge(&asr, euicc.credentials());
    t.check(
        "authenticateClient: serverChallenge not the session's",
        BAD_SIGNATURE,
        authenticate_client(env, &tx, &forged).await,
    );

    // Replay: an AuthenticateServerResponse that succeeded once, sent again (same and another session).
    let mut replayer = env.euicc(Curve::NistP256);
    let (tx_done, asr_done) = initiate(env, &mut replayer, replayed).await;
    let r = authenticate_client(env, &tx_done, &asr_done).await;
    t.check("authenticateClient: first use of a serverChallenge", SUCCESS, r);
    let r = authenticate_client(env, &tx_done, &asr_done).await;
    t.check("authenticateClient: replayed (same transactionId)", UNKNOWN_TX, r);
    let (tx_new, _) = initiate(env, &mut euicc, main).await;
    let r = authenticate_client(env, &tx_new, &asr_done).await;
    t.check("authenticateClient: replayed into a new session", UNKNOWN_TX, r);

    // eUICC chains: untrusted CI, EID outside the EUM range, expired certificates.
    let other = tempfile::tempdir().unwrap();
    let (mut stranger, _) =
        EuiccCredentials::generate(&other.path().join("pki"), Curve::NistP256, &["localhost".into()]).unwrap();
    stranger.ci_certs = env.credentials(Curve::NistP256).ci_certs; // verifies our DPauth, chains to its own CI
    let mut e = SoftEuicc::new(stranger);
    let (tx, asr) = initiate(env, &mut e, main).await;
    t.check(
        "authenticateClient: eUICC chain to an untrusted CI",
        "Failed 8.11.1/3.9",
        authenticate_client(env, &tx, &asr).await,
    );

    let outside = eid_from_body("890490320000000000000000000042");
    let mut e = SoftEuicc::new(euicc_with_eid(&pki, Curve::NistP256, &outside));
    let (tx, asr) = initiate(env, &mut e, main).await;
    t.check(
        "authenticateClient: EID outside the EUM range",
        "Failed 8.1.4/6.1",
        authenticate_client(env, &tx, &asr).await,
    );

    let mut e = SoftEuicc::new(euicc_with_expired(&pki, Curve::NistP256, false));
    let (tx, asr) = initiate(env, &mut e, main).await;
    t.check(
        "authenticateClient: expired eUICC certificate",
        "Failed 8.1.3/6.3",
        authenticate_client(env, &tx, &asr).await,
    );
    let mut e = SoftEuicc::new(euicc_with_expired(&pki, Curve::BrainpoolP256r1, true));
    let (tx, asr) = initiate(env, &mut e, main).await;
    t.check(
        "authenticateClient: expired EUM certificate",
        "Failed 8.1.2/6.3",
        authenticate_client(env, &tx, &asr).await,
    );

    // An EUM-signed certificate whose signature is broken.
    let mut creds = env.credentials(Curve::NistP256);
    let n = creds.euicc_cert_der.len();
    creds.euicc_cert_der[n - 5] ^= 0x01;
    let mut e = SoftEuicc::new(creds);
    let (tx, asr) = initiate(env, &mut e, main).await;
    t.check(
        "authenticateClient: eUICC certificate signature broken",
        "Failed 8.1.3/6.1",
        authenticate_client(env, &tx, &asr).await,
    );

    let (tx, asr) = initiate(env, &mut euicc, "NO-SUCH-ORDER").await;
    t.check("authenticateClient: unknown matchingId", "Failed 8.2.6/3.8", authenticate_client(env, &tx, &asr).await);
}

/// §5.6.2: euiccSignature2, otPK on retry, steps out of order.
async fn get_bpp_cases(env: &Env, t: &mut Table, first: &str, second: &str) {
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(env, &mut euicc, first).await;
    t.check("getBoundProfilePackage: before authenticateClient", UNKNOWN_TX, get_bpp(env, &tx, b"\x30\x00").await);
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    t.check(
        "getBoundProfilePackage: bad euiccSignature2",
        BAD_SIGNATURE,
        get_bpp(env, &tx, &flip_signature(&pdr)).await,
    );
    t.check(
        "getBoundProfilePackage: unknown transactionId",
        UNKNOWN_TX,
        get_bpp(env, "0123456789ABCDEF0123456789ABCDEF", &pdr).await,
    );
    let first_bpp = get_bpp(env, &tx, &pdr).await;
    t.check("getBoundProfilePackage: after a bad signature, the good one", SUCCESS, first_bpp.clone());
    let retry = get_bpp(env, &tx, &pdr).await;
    t.fact(
        "getBoundProfilePackage: retry, same otPK → same BPP",
        true,
        retry.1["boundProfilePackage"] == first_bpp.1["boundProfilePackage"],
    );
    // The smdpSignature2 of this session, as the eUICC got it: read back from the store.
    let session = rspd::smdp::DownloadRepository::find_session(&env.store(), &tx).unwrap().unwrap();
    let other_otpk = crafted_pdr(euicc.credentials(), &tx, &session.smdp_signature2.unwrap(), None);
    t.check("getBoundProfilePackage: retry with another otPK", "Failed 8.2/3.7", get_bpp(env, &tx, &other_otpk).await);
    t.fact("order after the refused rebinding", ProfileState::Downloaded, env.order_state(first));

    // Expired between AuthenticateClient and GetBoundProfilePackage: the order is offered again.
    let (tx, asr) = initiate(env, &mut euicc, second).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    env.expire_session(&tx);
    t.check("getBoundProfilePackage: expired transactionId", UNKNOWN_TX, get_bpp(env, &tx, &pdr).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while env.order(second).session_id.is_some() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    t.fact("expired session: order released by the expiry job", "None", format!("{:?}", env.order(second).session_id));
    let (tx, asr) = initiate(env, &mut euicc, second).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    t.check("getBoundProfilePackage: fresh session after expiry", SUCCESS, get_bpp(env, &tx, &pdr).await);
}

/// §3.1.3.1: confirmation code missing, wrong, attempts exhausted (3 wrong, then blocked).
async fn confirmation_code_cases(env: &Env, t: &mut Table, with_cc: &str) {
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(env, &mut euicc, with_cc).await;
    let (_, ac) = authenticate_client(env, &tx, &asr).await;
    let no_cc = crafted_pdr(euicc.credentials(), &tx, &b64(&ac, "smdpSignature2"), None);
    t.check("confirmation code missing", "Failed 8.2.7/2.2", get_bpp(env, &tx, &no_cc).await);
    t.fact("confirmation code missing: order released", ProfileState::Released, env.order_state(with_cc));
    for attempt in 1..=3 {
        let (tx, asr) = initiate(env, &mut euicc, with_cc).await;
        let pdr = prepare(env, &mut euicc, &tx, &asr, Some("9999")).await;
        let expected = if attempt < 3 { "Failed 8.2.7/3.8" } else { "Failed 8.2.7/6.4" };
        t.check(format!("confirmation code wrong, attempt {attempt}"), expected, get_bpp(env, &tx, &pdr).await);
    }
    t.fact("confirmation code attempts exhausted: order blocked", ProfileState::Error, env.order_state(with_cc));
    let (tx, asr) = initiate(env, &mut euicc, with_cc).await;
    t.check(
        "confirmation code: blocked order at authenticateClient",
        "Failed 8.2.7/6.4",
        authenticate_client(env, &tx, &asr).await,
    );
}

/// §5.6.5: every CancelSessionReason before the BPP re-offers the order; after the BPP the profile is Error.
async fn cancel_session_cases(env: &Env, t: &mut Table, order: &str, after_bpp: &str) {
    let mut euicc = env.euicc(Curve::BrainpoolP256r1);
    for (reason, name) in [
        (0, "endUserRejection"),
        (1, "postponed"),
        (2, "timeout"),
        (3, "pprNotAllowed"),
        (4, "metadataMismatch"),
        (5, "loadBppExecutionError"),
        (127, "undefinedReason"),
    ] {
        let (tx, asr) = initiate(env, &mut euicc, order).await;
        let _ = prepare(env, &mut euicc, &tx, &asr, None).await;
        let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), reason).unwrap();
        t.check(
            format!("cancelSession {name}({reason}) after authenticateClient"),
            SUCCESS,
            cancel(env, &tx, &csr).await,
        );
        let o = env.order(order);
        t.fact(
            format!("cancelSession {name}: order re-offered"),
            format!("{}/None", ProfileState::Released),
            format!("{}/{:?}", o.state, o.session_id),
        );
        if reason == 0 {
            t.check("cancelSession: repeated", UNKNOWN_TX, cancel(env, &tx, &csr).await);
        }
    }
    // Before AuthenticateClient: the session ends, the order is untouched.
    let (tx, _) = initiate(env, &mut euicc, order).await;
    let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 1).unwrap();
    t.check("cancelSession postponed before authenticateClient", SUCCESS, cancel(env, &tx, &csr).await);
    t.check("authenticateClient after cancelSession", UNKNOWN_TX, authenticate_client(env, &tx, b"\x30\x00").await);

    let (tx, asr) = initiate(env, &mut euicc, order).await;
    let _ = prepare(env, &mut euicc, &tx, &asr, None).await;
    let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 0).unwrap();
    t.check(
        "cancelSession: bad euiccCancelSessionSignature",
        BAD_SIGNATURE,
        cancel(env, &tx, &flip_signature(&csr)).await,
    );
    t.check(
        "cancelSession: unknown transactionId",
        UNKNOWN_TX,
        cancel(env, "AABBCCDDEEFF00112233445566778899", &csr).await,
    );
    let (tx2, _) = initiate(env, &mut env.euicc(Curve::NistP256), order).await;
    t.check("cancelSession: signed for another transactionId", UNKNOWN_TX, cancel(env, &tx2, &csr).await);
    t.check("cancelSession: the good one after the failures", SUCCESS, cancel(env, &tx, &csr).await);

    // After the BPP: the eUICC may hold part of the profile; the operator decides (profile Error).
    let (tx, asr) = initiate(env, &mut euicc, after_bpp).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    t.check("getBoundProfilePackage before the cancel", SUCCESS, get_bpp(env, &tx, &pdr).await);
    let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 5).unwrap();
    t.check("cancelSession loadBppExecutionError(5) after the BPP", SUCCESS, cancel(env, &tx, &csr).await);
    t.fact("cancelSession after the BPP: profile", ProfileState::Error, env.order_state(after_bpp));
}

/// A transactionId whose download completed (PIR processed): every function refuses it.
async fn completed_session_cases(env: &Env, t: &mut Table, order: &str) {
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(env, &mut euicc, order).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    let (_, bpp) = get_bpp(env, &tx, &pdr).await;
    let installation = euicc.load_bound_profile_package(&b64(&bpp, "boundProfilePackage")).unwrap();
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    // A PIR whose euiccSignPIR does not verify: answered 204, rejected by the worker, the profile not Installed.
    let forged = flip_signature(&pending);
    t.check("handleNotification: PIR with bad euiccSignPIR (204)", "HTTP 204", handle_notification(env, &forged).await);
    wait_for_empty_inbox(env).await;
    t.fact("handleNotification: bad euiccSignPIR changes nothing", ProfileState::Downloaded, env.order_state(order));
    t.check("handleNotification: PIR", "HTTP 204", handle_notification(env, &pending).await);
    wait_for_state(env, order, ProfileState::Installed).await;
    t.check("handleNotification: PIR repeated", "HTTP 204", handle_notification(env, &pending).await);
    t.check(
        "authenticateClient: reused transactionId after completion",
        UNKNOWN_TX,
        authenticate_client(env, &tx, &asr).await,
    );
    t.check("getBoundProfilePackage: reused transactionId after completion", UNKNOWN_TX, get_bpp(env, &tx, &pdr).await);
    t.fact("completed order stays Installed", ProfileState::Installed, env.order_state(order));
}

/// Truncated DER, garbage (valid base64, not DER), not base64, not JSON, missing fields: at all five functions.
async fn payload_cases(env: &Env, t: &mut Table, main: &str) {
    let mut euicc = env.euicc(Curve::NistP256);
    let info1 = euicc.get_euicc_info1().unwrap();
    let garbage: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    let challenge = B64.encode([7u8; 16]);

    for (name, bytes) in [("truncated", info1[..info1.len() / 2].to_vec()), ("garbage", garbage.clone())] {
        let body = json!({ "euiccChallenge": challenge, "euiccInfo1": B64.encode(&bytes), "smdpAddress": env.address });
        t.check(
            format!("initiateAuthentication: {name} euiccInfo1"),
            INVALID,
            env.post("initiateAuthentication", body).await,
        );
    }
    // authenticateClient: a live session each time (a failure ends it).
    for (name, cut) in [("truncated", true), ("garbage", false)] {
        let (tx, asr) = initiate(env, &mut euicc, main).await;
        let bytes = if cut { asr[..asr.len() - 20].to_vec() } else { garbage.clone() };
        t.check(
            format!("authenticateClient: {name} authenticateServerResponse"),
            INVALID,
            authenticate_client(env, &tx, &bytes).await,
        );
    }
    // getBoundProfilePackage and cancelSession: on an Authenticated session (neither failure ends it).
    let (tx, asr) = initiate(env, &mut euicc, main).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 1).unwrap();
    for (name, p, c) in [
        ("truncated", pdr[..pdr.len() - 10].to_vec(), csr[..csr.len() - 10].to_vec()),
        ("garbage", garbage.clone(), garbage.clone()),
    ] {
        t.check(
            format!("getBoundProfilePackage: {name} prepareDownloadResponse"),
            INVALID,
            get_bpp(env, &tx, &p).await,
        );
        t.check(format!("cancelSession: {name} cancelSessionResponse"), INVALID, cancel(env, &tx, &c).await);
    }
    t.check("cancelSession: the good one after garbage", SUCCESS, cancel(env, &tx, &csr).await);
    // handleNotification answers 204 before it parses (SGP.22 §6.5.2: no status for this function; INTEROP.md:
    // answer at once); bytes that are not a PendingNotification are not stored and change nothing (issue 10 item 8).
    t.check(
        "handleNotification: truncated DER (not stored, 204)",
        "HTTP 204",
        handle_notification(env, &garbage[..10]).await,
    );
    t.check("handleNotification: garbage DER (not stored, 204)", "HTTP 204", handle_notification(env, &garbage).await);
    wait_for_empty_inbox(env).await;
    t.fact("handleNotification: garbage rejected by the worker, inbox drained", true, true);

    for function in FUNCTIONS {
        let r = env
            .post_raw(function, "{\"transactionId\": \"AB".into(), Some("application/json"), Some(ADMIN_PROTOCOL))
            .await;
        t.check(format!("{function}: truncated JSON"), INVALID, r);
        t.check(format!("{function}: JSON array"), INVALID, env.post(function, json!([1, 2, 3])).await);
        let r =
            env.post_raw(function, "\u{1}\u{2}garbage".into(), Some("application/json"), Some(ADMIN_PROTOCOL)).await;
        t.check(format!("{function}: garbage body"), INVALID, r);
        let all_bad_base64 = json!({ "transactionId": "00112233445566778899AABBCCDDEEFF", "euiccChallenge": "%%%",
            "euiccInfo1": "%%%", "smdpAddress": env.address, "authenticateServerResponse": "%%%",
            "prepareDownloadResponse": "%%%", "pendingNotification": "%%%", "cancelSessionResponse": "%%%" });
        t.check(format!("{function}: fields not base64"), INVALID, env.post(function, all_bad_base64).await);
        t.check(format!("{function}: empty object (missing fields)"), MISSING, env.post(function, json!({})).await);
    }
    // Each required field missing on its own.
    let (tx, asr) = initiate(env, &mut euicc, main).await;
    let full = json!({ "euiccChallenge": challenge, "euiccInfo1": B64.encode(&info1), "smdpAddress": env.address });
    for field in ["euiccChallenge", "euiccInfo1", "smdpAddress"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        t.check(
            format!("initiateAuthentication: {field} missing"),
            MISSING,
            env.post("initiateAuthentication", body).await,
        );
    }
    let r = env.post("authenticateClient", json!({ "authenticateServerResponse": B64.encode(&asr) })).await;
    t.check("authenticateClient: transactionId missing", MISSING, r);
    t.check(
        "authenticateClient: authenticateServerResponse missing",
        MISSING,
        env.post("authenticateClient", json!({ "transactionId": tx })).await,
    );
    let r = env
        .post("authenticateClient", json!({ "transactionId": "XYZ", "authenticateServerResponse": B64.encode(&asr) }))
        .await;
    t.check("authenticateClient: transactionId not hex", INVALID, r);
    t.check(
        "getBoundProfilePackage: prepareDownloadResponse missing",
        MISSING,
        env.post("getBoundProfilePackage", json!({ "transactionId": tx })).await,
    );
    t.check(
        "cancelSession: cancelSessionResponse missing",
        MISSING,
        env.post("cancelSession", json!({ "transactionId": tx })).await,
    );
    // The session those bad requests named is still usable.
    t.check("authenticateClient: after the malformed requests", SUCCESS, authenticate_client(env, &tx, &asr).await);
    let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 1).unwrap();
    t.check("cancelSession: release the main order again", SUCCESS, cancel(env, &tx, &csr).await);
}

/// Polls until the background worker has processed (or rejected) every stored notification.
async fn wait_for_empty_inbox(env: &Env) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !rspd::smdp::DownloadRepository::unprocessed_notifications(&env.store(), 10).unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "notifications left unprocessed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Issue 10 item 6 (log injection): an `smdpAddress` with a newline and a forged log line after it was written to
/// the text log as two lines. Now the refusal is one line, the newline escaped — on both backends.
#[tokio::test]
async fn a_newline_in_a_received_string_cannot_forge_a_log_line() {
    for pg in backends() {
        // At debug the refusal's detail (with the address as received) is logged; above debug only its kind.
        let env = Env::start_full(pg.as_deref(), |_| String::new(), "[log]\nlevel = \"info,rspd=debug\"\n");
        let mut euicc = env.euicc(Curve::NistP256);
        let forged = "2026-12-03T07:00:00.000000Z  INFO rspd::cli: FORGED operator op-a deleted everything";
        let body = initiate_body(&mut euicc, &format!("evil.example\n{forged}"));
        let (code, answer) = env.post("initiateAuthentication", body).await;
        assert_eq!(outcome(code, &answer), "Failed 8.8.1/3.8");
        let log = env.server.as_ref().unwrap().log_with("evil.example", std::time::Duration::from_secs(10));
        assert!(!log.iter().any(|line| line.starts_with(forged)), "a forged line in the log:\n{}", log.join("\n"));
        let refusal = log.iter().find(|l| l.contains("evil.example")).unwrap_or_else(|| panic!("{}", log.join("\n")));
        assert!(refusal.contains(&format!("evil.example\\n{forged}")), "escaped in place: {refusal}");
        println!("log injection escaped on {}", backend_name(&pg));
    }
}
