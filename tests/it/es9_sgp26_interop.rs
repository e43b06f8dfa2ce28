//! SGP.26 interop: the `rspd` binary serves ES9+ with the SGP.26 test SM-DP+ credentials (DPauth/DPpb on NIST
//! and brainpool, CERT.DP.TLS NIST for `testsmdpplus1.example.com`), and the `rsp-conformance` LPA + soft eUICC
//! use the SGP.26 eUICC credentials. Each TS.48 profile of `../shared/interop/ts48` is imported as a template,
//! `rspd order create --template … --iccid <fresh>` personalizes it, and the download must install, on each
//! curve, exactly the bytes of rspd's personalized package.
//!
//! Skipped (with a printed reason) when `../shared/interop` is absent. Runs on SQLite and, when
//! `RSPD_TEST_POSTGRES_URL` is set, again on PostgreSQL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::postgres::SchemaGuard;
use crate::common::{backends, open_store, ServerProcess, Setup, TestDir, TestServer};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rsp_conformance::lpa::{download_profile, DownloadRequest, Es9Client, Es9Options, TrustAnchors};
use rspd::config::DatabaseUrl;
use rspd::pki::test_pki::TEST_OPERATOR_ID;
use rspd::pki::Curve;
use rspd::profile::{Iccid, ProfilePackage};
use rspd::smdp::{DownloadRepository, ProfileState};
use rspd::store::Store;

/// The host name of the SGP.26 CERT.DP.TLS (its only DNS SAN).
const HOST: &str = "testsmdpplus1.example.com";
/// Keys written into the brainpool orders' profiles: they must never show in any output.
const KI: &str = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
const OPC: &str = "00112233445566778899AABBCCDDEEFF";

fn interop() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop");
    if dir.join("sgp26/CertificateIssuer").is_dir() && dir.join("ts48").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: SGP.26 credentials / TS.48 profiles not found under {}", dir.display());
        None
    }
}

/// `rspd serve` configured with the SGP.26 SM-DP+ credentials.
struct Sgp26Server {
    dir: TestDir,
    config: PathBuf,
    server: ServerProcess,
    /// `testsmdpplus1.example.com:<port>`.
    address: String,
    db_url: DatabaseUrl,
    _schema: Option<SchemaGuard>,
}

impl Sgp26Server {
    fn start(sgp26: &Path, postgres: Option<&str>) -> Sgp26Server {
        let builder = TestServer::builder().postgres(postgres).device_port_in_config();
        // The device listener wants a PEM chain; SGP.26 ships CERT.DP.TLS as DER.
        let tls_der = std::fs::read(sgp26.join("DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der")).unwrap();
        let tls_pem = builder.data_dir().parent().unwrap().join("dp_tls_nist.pem");
        std::fs::write(&tls_pem, openssl::x509::X509::from_der(&tls_der).unwrap().to_pem().unwrap()).unwrap();
        let g = sgp26.display().to_string();
        let dp = |curve: &str| {
            format!(
                "{{ dpauth_cert = \"{g}/DPauth/CERT_S_SM_DPauth_ECDSA_{curve}.der\", \
                 dpauth_key = \"{g}/DPauth/SK_S_SM_DPauth_ECDSA_{curve}.pem\", \
                 dppb_cert = \"{g}/DPpb/CERT_S_SM_DPpb_ECDSA_{curve}.der\", \
                 dppb_key = \"{g}/DPpb/SK_S_SM_DPpb_ECDSA_{curve}.pem\" }}"
            )
        };
        let (nist, brainpool) = (dp("NIST"), dp("BRP"));
        // The SM-DP+ address carries the device port, so the config names it.
        let TestServer { dir, config, server, db_url, device_port: port, schema, .. } = builder
            .config_with(move |s: &Setup| {
                format!(
                    "[smdp]\naddresses = [\"{HOST}:{port}\"]\nexpiry_interval_secs = 1\n\
                     trusted_ci = [\"{g}/CertificateIssuer/CERT_CI_ECDSA_NIST.der\", \"{g}/CertificateIssuer/CERT_CI_ECDSA_BRP.der\"]\n\
                     nist = {nist}\nbrainpool = {brainpool}\n\
                     [device]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = \"{}\"\ntls_key = \"{g}/DPtls/SK_S_SM_DP_TLS_NIST.pem\"\n",
                    tls_pem.display(),
                    port = s.device_port
                )
            })
            .start();
        let address = format!("{HOST}:{port}");
        Sgp26Server { dir, config, server: server.unwrap(), address, db_url, _schema: schema }
    }

    fn rspd(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.dir.run(&all, &[]);
        assert!(
            out.status.success(),
            "rspd {args:?} ({:?}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)).to_uppercase();
        assert!(!all.contains(KI) && !all.contains(OPC), "a secret was printed: {all}");
        stdout
    }

    fn store(&self) -> Store {
        open_store(&self.db_url, &self.dir.data_dir())
    }

    fn wait_for_state(&self, matching_id: &str, want: ProfileState) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let state = self.store().find_order_by_matching_id(matching_id).unwrap().unwrap().state;
            if state == want {
                return;
            }
            assert!(Instant::now() < deadline, "order {matching_id} stayed {state}, expected {want}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One TS.48 profile on both curves: import as template, personalize per order, download, compare bytes.
fn ts48_downloads_on_both_curves(interop: &Path, ts48: &Path, postgres: Option<&str>, n: u32) {
    let sgp26 = interop.join("sgp26");
    let server = Sgp26Server::start(&sgp26, postgres);
    server.rspd(&["profile", "type", "interop", "--spn", "SGP.26 interop"]);
    let imported = server.rspd(&["template", "upload", ts48.to_str().unwrap(), "--type", "interop"]);
    let template = ProfilePackage::parse(&std::fs::read(ts48).unwrap()).unwrap().iccid().digits();
    assert!(imported.contains(&template), "{imported}");

    for (k, curve) in [Curve::NistP256, Curve::BrainpoolP256r1].into_iter().enumerate() {
        let iccid = crate::common::iccid("8988247000000", n * 10 + k as u32);
        let mut args = vec!["order", "create", "--template", &template, "--iccid", &iccid];
        if curve == Curve::BrainpoolP256r1 {
            // The full personalization set once per profile: IMSI, Ki/OPc.
            args.extend_from_slice(&["--imsi", "001019876543210", "--ki", KI, "--opc", OPC]);
        }
        let code = server.rspd(&args);
        let prefix = format!("LPA:1${}$", server.address);
        let matching_id = code.trim().strip_prefix(&prefix).unwrap_or_else(|| panic!("{code}")).to_owned();

        // What rspd will serve: the template personalized with the fresh ICCID (header and EF.ICCID).
        let stored = server.store().find_profile_package(TEST_OPERATOR_ID, &iccid).unwrap().unwrap();
        let personalized = ProfilePackage::parse(&stored.package_der).unwrap();
        let want = Iccid::new(&iccid).unwrap();
        assert_eq!((personalized.iccid(), personalized.ef_iccid()), (&want, Some(&want)));
        if curve == Curve::BrainpoolP256r1 {
            assert_eq!(personalized.imsi().map(|i| i.digits()), Some("001019876543210"));
            let ki = hex::decode(KI).unwrap();
            assert!(stored.package_der.windows(16).any(|w| w == ki.as_slice()), "Ki written");
        }
        assert_eq!(
            server.store().find_order_by_matching_id(&matching_id).unwrap().unwrap().state,
            ProfileState::Released
        );

        let mut euicc = SoftEuicc::new(EuiccCredentials::from_sgp26_dir(&sgp26, curve).unwrap());
        let mut anchors = TrustAnchors::new();
        anchors.add_file(&sgp26.join("CertificateIssuer/CERT_CI_ECDSA_NIST.pem")).unwrap();
        let options = Es9Options { resolve: Some((HOST.to_owned(), server.server.device)), ..Es9Options::default() };
        let client = Es9Client::new(&server.address, &anchors, options).unwrap();
        let request = DownloadRequest { matching_id: matching_id.clone(), ..DownloadRequest::default() };
        let report = download_profile(&mut euicc, &client, &request)
            .unwrap_or_else(|e| panic!("{} on {curve}: {e}", ts48.display()));
        assert_eq!(report.iccid, iccid);
        assert!(
            report.profile_package == stored.package_der,
            "{} on {curve}: the installed UPP differs from rspd's personalized package",
            ts48.display()
        );
        server.wait_for_state(&matching_id, ProfileState::Installed);
        eprintln!("OK {} × {curve}: ICCID {iccid}, {} bytes", ts48.display(), report.profile_package.len());
    }
}

fn ts48_files(interop: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(interop.join("ts48"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "der"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no TS.48 profiles in {}", interop.join("ts48").display());
    files
}

#[test]
fn every_ts48_profile_downloads_with_sgp26_credentials_on_both_curves() {
    let Some(interop) = interop() else { return };
    for pg in backends() {
        for (n, ts48) in ts48_files(&interop).iter().enumerate() {
            ts48_downloads_on_both_curves(&interop, ts48, pg.as_deref(), n as u32 + 1);
        }
    }
}
