//! Black-box tests of `rspd pki init`'s generator: the SGP.22 v2.5 §4.5.2 certificate profiles
//! (checked against what the public SGP.26 test certificates carry), the chains, generic
//! validators (OpenSSL's store and `openssl verify`, rustls for the operator and DP TLS
//! certificates). Disk behaviour: `test_pki_files.rs`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509StoreContext;
use rsp_proto::pki::eid::has_valid_check_digits;
use rsp_proto::pki::test_pki::{GeneratedTestPki, TEST_EID_PREFIX, TEST_EUM_ORGANIZATION};
use rsp_proto::pki::Curve;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256, OID_X509_COMMON_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_SERIALNUMBER,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::test_pki_support::{fresh, load, sgp22_paths};

/// What the SGP.22 v2.5 §4.5.2 profile (as shown by the SGP.26 certificates) requires per role.
struct Expected {
    policy: &'static str,
    policy_critical: bool,
    digital_signature: bool,
    key_cert_sign: bool,
    crl_sign: bool,
    /// `Some((pathlen))` for a CA.
    ca: Option<Option<u32>>,
    tls_eku: bool,
    has_aki: bool,
    registered_id: Option<&'static str>,
    name_constraints: bool,
}

fn expected(role: &str) -> Expected {
    let ee = |policy, rid| Expected {
        policy,
        policy_critical: true,
        digital_signature: true,
        key_cert_sign: false,
        crl_sign: false,
        ca: None,
        tls_eku: false,
        has_aki: true,
        registered_id: rid,
        name_constraints: false,
    };
    match role {
        "ci" => Expected {
            policy: "2.23.146.1.2.1.0",
            policy_critical: true,
            digital_signature: false,
            key_cert_sign: true,
            crl_sign: true,
            ca: Some(None),
            tls_eku: false,
            has_aki: false,
            registered_id: Some("2.999.1"),
            name_constraints: false,
        },
        "eum" => Expected {
            policy: "2.23.146.1.2.1.2",
            policy_critical: true,
            digital_signature: false,
            key_cert_sign: true,
            crl_sign: false,
            ca: Some(Some(0)),
            tls_eku: false,
            has_aki: true,
            registered_id: Some("2.999.5"),
            name_constraints: true,
        },
        "euicc" => ee("2.23.146.1.2.1.1", None),
        "dpauth" => ee("2.23.146.1.2.1.4", Some("2.999.10")),
        "dppb" => ee("2.23.146.1.2.1.5", Some("2.999.10")),
        "dptls" => Expected { policy_critical: false, tls_eku: true, ..ee("2.23.146.1.2.1.3", Some("2.999.10")) },
        other => panic!("unknown role {other}"),
    }
}

fn check_profile(role: &str, curve: Curve, cert: &X509Certificate<'_>, pki: &GeneratedTestPki) {
    let want = expected(role);
    let ctx = format!("{curve} {role}");

    assert_eq!(cert.version().0, 2, "{ctx}: X.509 v3");
    assert_eq!(cert.signature_algorithm.algorithm, OID_SIG_ECDSA_WITH_SHA256, "{ctx}");
    assert!(cert.signature_algorithm.parameters.is_none(), "{ctx}: no sigalg parameters");
    let serial = cert.raw_serial();
    assert!(serial[0] & 0x80 == 0 && serial.iter().any(|b| *b != 0), "{ctx}: positive serial");
    assert!(serial.len() <= 20, "{ctx}: serial at most 20 octets");
    assert!(cert.validity().is_valid(), "{ctx}: valid now");

    let spki = cert.public_key();
    assert_eq!(spki.algorithm.algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY, "{ctx}");
    let curve_oid = spki.algorithm.parameters.as_ref().unwrap().as_oid().unwrap();
    let want_curve = match curve {
        Curve::NistP256 => OID_EC_P256.to_id_string(),
        Curve::BrainpoolP256r1 => "1.3.36.3.3.2.8.1.1.7".to_string(),
    };
    assert_eq!(curve_oid.to_id_string(), want_curve, "{ctx}: named curve");

    let ku = cert.key_usage().unwrap().expect("KeyUsage");
    assert!(ku.critical, "{ctx}: KeyUsage critical");
    assert_eq!(ku.value.digital_signature(), want.digital_signature, "{ctx}: digitalSignature");
    assert_eq!(ku.value.key_cert_sign(), want.key_cert_sign, "{ctx}: keyCertSign");
    assert_eq!(ku.value.crl_sign(), want.crl_sign, "{ctx}: cRLSign");
    assert!(
        !(ku.value.non_repudiation() || ku.value.key_encipherment() || ku.value.key_agreement()),
        "{ctx}: no other key usage"
    );

    match (cert.basic_constraints().unwrap(), want.ca) {
        (Some(bc), Some(path_len)) => {
            assert!(bc.critical && bc.value.ca, "{ctx}: critical CA:TRUE");
            assert_eq!(bc.value.path_len_constraint, path_len, "{ctx}: pathLen");
        }
        (None, None) => {}
        (bc, want) => panic!("{ctx}: BasicConstraints {bc:?}, expected CA {want:?}"),
    }

    match cert.extended_key_usage().unwrap() {
        Some(eku) => {
            assert!(want.tls_eku, "{ctx}: unexpected EKU");
            assert!(eku.critical, "{ctx}: EKU critical");
            assert!(eku.value.server_auth && eku.value.client_auth, "{ctx}: serverAuth+clientAuth");
        }
        None => assert!(!want.tls_eku, "{ctx}: EKU missing"),
    }

    let mut policies = None;
    let mut has_aki = false;
    let mut has_ski = false;
    let mut name_constraints = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::CertificatePolicies(p) => {
                let oids: Vec<String> = p.iter().map(|i| i.policy_id.to_id_string()).collect();
                policies = Some((oids, ext.critical));
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                has_aki = aki.key_identifier.is_some();
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => has_ski = !ski.0.is_empty(),
            ParsedExtension::NameConstraints(nc) => name_constraints = Some((nc.clone(), ext.critical)),
            ParsedExtension::UnsupportedExtension { .. } | ParsedExtension::ParseError { .. } => {
                panic!("{ctx}: unparsable extension {}", ext.oid)
            }
            _ => {}
        }
    }
    assert_eq!(policies, Some((vec![want.policy.to_string()], want.policy_critical)), "{ctx}: certificatePolicies");
    assert!(has_ski, "{ctx}: SubjectKeyIdentifier");
    assert_eq!(has_aki, want.has_aki, "{ctx}: AuthorityKeyIdentifier");

    let rids: Vec<String> = cert
        .subject_alternative_name()
        .unwrap()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::RegisteredID(oid) => Some(rid_text(oid)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(rids, want.registered_id.map(str::to_string).into_iter().collect::<Vec<_>>(), "{ctx}: SAN registeredID");

    match name_constraints {
        Some((nc, critical)) => {
            assert!(want.name_constraints && critical, "{ctx}: critical NameConstraints");
            assert!(nc.excluded_subtrees.is_none(), "{ctx}: no excluded subtrees");
            let permitted = nc.permitted_subtrees.unwrap();
            assert_eq!(permitted.len(), 1, "{ctx}");
            let GeneralName::DirectoryName(dn) = &permitted[0].base else {
                panic!("{ctx}: permitted subtree is not a DirName")
            };
            let attrs: Vec<(String, String)> =
                dn.iter_attributes().map(|a| (a.attr_type().to_id_string(), a.as_str().unwrap().to_string())).collect();
            assert_eq!(
                attrs,
                [
                    (OID_X509_ORGANIZATION_NAME.to_id_string(), TEST_EUM_ORGANIZATION.to_string()),
                    (OID_X509_SERIALNUMBER.to_id_string(), TEST_EID_PREFIX.to_string()),
                ],
                "{ctx}: permitted DirName O=<EUM>, serialNumber=<EID prefix>"
            );
        }
        None => assert!(!want.name_constraints, "{ctx}: NameConstraints missing"),
    }

    if role == "euicc" {
        let serial: Vec<&str> =
            cert.subject().iter_by_oid(&OID_X509_SERIALNUMBER).map(|a| a.as_str().unwrap()).collect();
        assert_eq!(serial, [pki.eid.as_str()], "{ctx}: subject serialNumber = EID");
        let org: Vec<&str> = cert.subject().iter_organization().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(org, [TEST_EUM_ORGANIZATION], "{ctx}: subject O = EUM organisation");
    }
}

#[test]
fn every_certificate_follows_its_sgp22_profile_on_both_curves() {
    let (_dir, pki) = fresh();
    assert_eq!(pki.curves, Curve::ALL);
    for curve in Curve::ALL {
        for (role, cert_path, _) in sgp22_paths(&pki, curve) {
            let der = load(&cert_path).to_der().unwrap();
            let (rest, cert) = X509Certificate::from_der(&der).unwrap();
            assert!(rest.is_empty());
            check_profile(role, curve, &cert, &pki);
        }
    }
}

#[test]
fn eid_is_valid_and_under_the_eum_prefix() {
    let (_dir, pki) = fresh();
    assert_eq!(pki.eid.len(), 32);
    assert!(pki.eid.starts_with(TEST_EID_PREFIX));
    assert!(has_valid_check_digits(&pki.eid));
    assert!(has_valid_check_digits("89049032123451234512345678901235"), "SGP.26 EID");
    assert!(!has_valid_check_digits("89049032123451234512345678901236"));
}

#[test]
fn chains_link_by_name_and_key_identifier_and_signatures_verify() {
    let (_dir, pki) = fresh();
    for curve in Curve::ALL {
        let ci = load(&pki.paths.ci_cert(curve));
        let eum = load(&pki.paths.eum_cert(curve));
        let links = [
            ("ci", &ci, pki.paths.ci_cert(curve)),
            ("eum", &ci, pki.paths.eum_cert(curve)),
            ("euicc", &eum, pki.paths.euicc_cert(curve)),
            ("dpauth", &ci, pki.paths.dpauth_cert(curve)),
            ("dppb", &ci, pki.paths.dppb_cert(curve)),
            ("dptls", &ci, pki.paths.dptls_cert(curve)),
        ];
        for (role, issuer, path) in links {
            let cert = load(&path);
            let ctx = format!("{curve} {role}");
            assert_eq!(
                cert.issuer_name().to_der().unwrap(),
                issuer.subject_name().to_der().unwrap(),
                "{ctx}: issuer = issuer's subject"
            );
            assert!(cert.verify(&issuer.public_key().unwrap()).unwrap(), "{ctx}: signature");
            let ski = issuer.subject_key_id().expect("issuer SKI").as_slice().to_vec();
            if role == "ci" {
                assert!(cert.authority_key_id().is_none(), "{ctx}: self-signed, no AKI");
                assert_eq!(cert.subject_key_id().unwrap().as_slice(), ski);
            } else {
                assert_eq!(cert.authority_key_id().expect("AKI").as_slice(), ski, "{ctx}: AKI = issuer SKI");
            }
            let key_pem = std::fs::read(path.with_extension("key")).unwrap();
            assert!(key_pem.starts_with(b"-----BEGIN PRIVATE KEY-----"), "{ctx}: PKCS#8 PEM");
            let key = openssl::pkey::PKey::private_key_from_pem(&key_pem).unwrap();
            assert!(key.public_eq(&cert.public_key().unwrap()), "{ctx}: key matches certificate");
        }
    }
}

#[test]
fn openssl_store_verifies_smdp_and_eum_certificates_against_the_ci() {
    let (_dir, pki) = fresh();
    for curve in Curve::ALL {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(load(&pki.paths.ci_cert(curve))).unwrap();
        let store = store.build();
        for path in [
            pki.paths.eum_cert(curve),
            pki.paths.dpauth_cert(curve),
            pki.paths.dppb_cert(curve),
            pki.paths.dptls_cert(curve),
        ] {
            let cert = load(&path);
            let mut ctx = X509StoreContext::new().unwrap();
            let ok = ctx
                .init(&store, &cert, &Stack::new().unwrap(), |c| {
                    let ok = c.verify_cert()?;
                    if !ok {
                        eprintln!("{}: {}", path.display(), c.error());
                    }
                    Ok(ok)
                })
                .unwrap();
            assert!(ok, "{curve}: {} does not verify against the CI", path.display());
        }
    }
}

#[test]
fn openssl_command_verifies_smdp_certificates_against_the_ci() {
    let Ok(version) = Command::new("openssl").arg("version").output() else {
        println!("skipped: no `openssl` binary on PATH");
        return;
    };
    println!("using {}", String::from_utf8_lossy(&version.stdout).trim());
    let (_dir, pki) = fresh();
    for curve in Curve::ALL {
        for path in [pki.paths.dpauth_cert(curve), pki.paths.dppb_cert(curve), pki.paths.dptls_cert(curve)] {
            let out = Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(pki.paths.ci_cert(curve))
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl verify {}: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Generic validators reject the eUICC under an SGP.22 EUM name constraint (the eUICC's full EID
/// is not inside the DirName subtree `serialNumber=<prefix>`); the SGP.26 certificates behave the
/// same. This pins that the generated EUM really carries the constraint, and reminds readers that
/// eUICC chains need rspd's own SGP.22 check.
#[test]
fn openssl_store_rejects_the_euicc_under_the_eum_name_constraint_like_sgp26() {
    let (_dir, pki) = fresh();
    for curve in Curve::ALL {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(load(&pki.paths.ci_cert(curve))).unwrap();
        let store = store.build();
        let mut chain = Stack::new().unwrap();
        chain.push(load(&pki.paths.eum_cert(curve))).unwrap();
        let mut ctx = X509StoreContext::new().unwrap();
        let error = ctx
            .init(&store, &load(&pki.paths.euicc_cert(curve)), &chain, |c| {
                c.verify_cert()?;
                Ok(c.error().error_string().to_string())
            })
            .unwrap();
        assert_eq!(error, "permitted subtree violation", "{curve}");
    }
}

#[test]
fn dp_tls_names_cover_the_addresses_and_local_hosts() {
    let (_dir, pki) = fresh();
    for curve in Curve::ALL {
        let der = load(&pki.paths.dptls_cert(curve)).to_der().unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let cn: Vec<&str> = cert.subject().iter_by_oid(&OID_X509_COMMON_NAME).map(|a| a.as_str().unwrap()).collect();
        assert_eq!(cn, ["smdp.example.com"]);
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert!(!san.critical);
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(d) => format!("dns:{d}"),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => format!("ip:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap())),
                    _ => format!("ip:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap())),
                },
                GeneralName::RegisteredID(oid) => format!("rid:{}", rid_text(oid)),
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            ["dns:smdp.example.com", "ip:192.0.2.7", "dns:localhost", "ip:127.0.0.1", "ip:::1", "rid:2.999.10"]
        );
    }
}

fn rustls_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn der_of(path: &Path) -> rustls_pki_types::CertificateDer<'static> {
    rustls_pki_types::CertificateDer::from(load(path).to_der().unwrap())
}

#[test]
fn rustls_accepts_the_operator_client_certificate() {
    use rustls::server::WebPkiClientVerifier;

    let (_dir, pki) = fresh();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der_of(&pki.paths.operator_ca_cert())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), rustls_provider()).build().unwrap();
    let client = der_of(&pki.paths.operator_client_cert());
    verifier.verify_client_cert(&client, &[], rustls_pki_types::UnixTime::now()).unwrap();

    assert_eq!(pki.operator_id, "test-operator");
    assert_eq!(pki.operator_client_fingerprint_sha256, hex::encode(openssl::sha::sha256(&client)));
    let (_, cert) = X509Certificate::from_der(&client).unwrap();
    let cn: Vec<&str> = cert.subject().iter_common_name().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(cn, ["test-operator"]);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(!cert.basic_constraints().unwrap().unwrap().value.ca, "end entity");

    let ca = load(&pki.paths.operator_ca_cert());
    let client = load(&pki.paths.operator_client_cert());
    assert!(client.verify(&ca.public_key().unwrap()).unwrap());
    assert_eq!(client.authority_key_id().unwrap().as_slice(), ca.subject_key_id().unwrap().as_slice());
    assert!(client.subject_key_id().is_some());
}

/// rustls has no brainpool: only the NIST DP TLS certificate can serve ES9+ through it.
#[test]
fn rustls_accepts_the_nist_dp_tls_certificate_for_each_name() {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;

    let (_dir, pki) = fresh();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der_of(&pki.paths.ci_cert(Curve::NistP256))).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), rustls_provider()).build().unwrap();
    let server = der_of(&pki.paths.dptls_cert(Curve::NistP256));
    for name in ["smdp.example.com", "192.0.2.7", "localhost", "127.0.0.1", "::1"] {
        let name = rustls_pki_types::ServerName::try_from(name).unwrap();
        verifier
            .verify_server_cert(&server, &[], &name, &[], rustls_pki_types::UnixTime::now())
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
    }
    let other = rustls_pki_types::ServerName::try_from("other.example.com").unwrap();
    assert!(verifier.verify_server_cert(&server, &[], &other, &[], rustls_pki_types::UnixTime::now()).is_err());
}

/// Dotted text of a registeredID. asn1-rs 0.7 prints an OID whose first subidentifier takes two
/// octets (any `2.x` with x ≥ 48, e.g. `2.999` = `88 37`) wrongly (`3.16.55…`), so decode the
/// content octets here (X.690 §8.19).
fn rid_text(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for b in oid.as_bytes() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.extend([first, acc - 40 * first]);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}
