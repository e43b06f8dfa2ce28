//! Learning eUICCs at their first authenticated contact (issue 6 item 1: "registered … or learned at first
//! authenticated contact"): in an indirect download (SGP.32 v1.2 §3.2.3) the eIM relays ESipa.AuthenticateClient
//! (§5.14.3), whose `AuthenticateServerResponse` (SGP.22 v2.5 §5.7.13) carries CERT.EUICC.ECDSA and CERT.EUM.ECDSA
//! and `euiccSignature1` over `euiccSigned1`. When that chain verifies CI → EUM → eUICC against a trusted CI and
//! the signature verifies with PK.EUICC, an eUICC not yet registered is registered under the operator configured
//! as `eim.learn_operator` (off by default).
//!
//! When rspd's own SM-DP+ served the AuthenticateClient it has verified exactly that already: its result is
//! learned as is ([`learn_authenticated`]). A response relayed to an external SM-DP+ is verified here
//! ([`learn_from_authenticate_server_response`]).

use time::OffsetDateTime;

use crate::codec::tlv;
use crate::pki::{ecdsa, CiStore};

use super::campaign::{ImportOutcome, OperatorEuiccs};
use super::{EimError, EimRepository, NewEuicc};
use crate::smdp::es9::authenticate_client::AuthenticatedEuicc;

/// What learning did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learned {
    /// A new eUICC registered under the operator.
    Registered { eid: String },
    /// Already known: nothing changed.
    Known { eid: String },
}

/// The eUICC's certificates and signature from an AuthenticateServerResponse `BF38` (received DER):
/// `authenticateResponseOk [0] { euiccSigned1, euiccSignature1 5F37, euiccCertificate, eumCertificate }`.
struct Authenticated<'a> {
    euicc_signed1: &'a [u8],
    euicc_signature1: &'a [u8],
    euicc_certificate: &'a [u8],
    eum_certificate: &'a [u8],
}

fn authenticated(asr: &[u8]) -> Result<Authenticated<'_>, EimError> {
    let malformed = |reason: String| EimError::Malformed { what: "AuthenticateServerResponse", reason };
    let top = tlv::parse_single(asr).map_err(|e| malformed(e.to_string()))?;
    let ok = top
        .children()
        .map_err(|e| malformed(e.to_string()))?
        .into_iter()
        .find(|c| c.tag().0 == 0xA0)
        .ok_or_else(|| malformed("no authenticateResponseOk".into()))?;
    let parts = ok.children().map_err(|e| malformed(e.to_string()))?;
    let sequences: Vec<_> = parts.iter().filter(|p| p.tag().0 == 0x30).collect();
    let signature = parts.iter().find(|p| p.tag().0 == 0x5F37).ok_or_else(|| malformed("no euiccSignature1".into()))?;
    let [signed1, euicc, eum] = sequences[..] else {
        return Err(malformed(format!("{} SEQUENCEs in authenticateResponseOk, expected 3", sequences.len())));
    };
    Ok(Authenticated {
        euicc_signed1: signed1.raw(),
        euicc_signature1: signature.value(),
        euicc_certificate: euicc.raw(),
        eum_certificate: eum.raw(),
    })
}

/// Registers the eUICC that signed `authenticate_server_response` under `operator_id` unless it is known.
/// Fails (and registers nothing) when the chain or the signature does not verify.
pub fn learn_from_authenticate_server_response<R: EimRepository + OperatorEuiccs + ?Sized>(
    repo: &R,
    trusted_cis: &CiStore,
    eim_id: &str,
    operator_id: &str,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<Learned, EimError> {
    let a = authenticated(authenticate_server_response)?;
    let new = NewEuicc::from_verified_chain(trusted_cis, a.eum_certificate, a.euicc_certificate, eim_id, 0, now)?;
    let public_key = crate::pki::Certificate::from_der(a.euicc_certificate)
        .map_err(|e| EimError::UntrustedCertificate(e.to_string()))?
        .public_key()
        .clone();
    ecdsa::verify(&public_key, a.euicc_signed1, a.euicc_signature1)
        .map_err(|e| EimError::UntrustedCertificate(format!("euiccSignature1: {e}")))?;
    register_unless_known(repo, &new, operator_id)
}

/// Registers the eUICC rspd's SM-DP+ authenticated in ES9+ AuthenticateClient (chain and euiccSignature1 verified
/// there) under `operator_id` unless it is known.
pub fn learn_authenticated<R: EimRepository + OperatorEuiccs + ?Sized>(
    repo: &R,
    eim_id: &str,
    operator_id: &str,
    euicc: &AuthenticatedEuicc,
) -> Result<Learned, EimError> {
    register_unless_known(repo, &NewEuicc::from_authenticated(euicc, eim_id, 0), operator_id)
}

fn register_unless_known<R: EimRepository + OperatorEuiccs + ?Sized>(
    repo: &R,
    new: &NewEuicc,
    operator_id: &str,
) -> Result<Learned, EimError> {
    if repo.find_euicc(&new.eid)?.is_some() {
        return Ok(Learned::Known { eid: new.eid.clone() });
    }
    let eid = new.eid.clone();
    match repo.import_euicc(new, operator_id, None)? {
        ImportOutcome::Registered => Ok(Learned::Registered { eid }),
        ImportOutcome::AlreadyRegistered | ImportOutcome::Refused => Ok(Learned::Known { eid }),
    }
}
