//! ES9+.InitiateAuthentication (SGP.22 v2.5 §5.6.1; flow §3.1.2 steps 6–10).
//!
//! "The SM-DP+ SHALL verify the SM-DP+ address … verify that it supports the Specification Version Number …
//! verify that it has a CERT.DPauth.ECDSA signed by one of the eSIM CA RootCA public keys indicated by the
//! eUICC … generate a TransactionID and a serverChallenge … generate serverSigned1 and sign it with
//! SK.DPauth.ECDSA" (§5.6.1, paraphrased). The session is stored as Initiated before the answer leaves.

use rasn::types::{OctetString, Utf8String};
use time::OffsetDateTime;

use super::context::{DpCredentials, SmdpContext};
use super::error::Es9Error;
use crate::clock::unix_ms;
use crate::codec::sgp22::{EuiccInfo1, ServerSigned1};
use crate::codec::tlv::{self, Tag};
use crate::codec::{decode, encode};
use crate::smdp::ids::{same_smdp_address, TransactionId};
use crate::smdp::session::NewSession;
use crate::smdp::DownloadRepository;

/// The response fields (§6.5.2.6), as bytes; the HTTP binding base64-encodes them.
#[derive(Debug, Clone)]
pub struct InitiateAuthenticationOk {
    pub transaction_id: TransactionId,
    /// DER of serverSigned1.
    pub server_signed1: Vec<u8>,
    /// serverSignature1 as its `5F37` data object.
    pub server_signature1: Vec<u8>,
    /// euiccCiPKIdToBeUsed as its `04` OCTET STRING.
    pub euicc_ci_pkid_to_be_used: Vec<u8>,
    /// CERT.DPauth.ECDSA, DER.
    pub server_certificate: Vec<u8>,
}

/// §5.6.1. `euicc_challenge` is the decoded 16 bytes; `euicc_info1` the received DER (`BF20…`).
pub fn initiate_authentication(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    euicc_challenge: &[u8],
    euicc_info1: &[u8],
    smdp_address: &str,
    now: OffsetDateTime,
) -> Result<InitiateAuthenticationOk, Es9Error> {
    // "verify that the smdpAddress is the SM-DP+ address" — host case-insensitive, port significant.
    let server_address = ctx
        .addresses
        .iter()
        .find(|a| same_smdp_address(a, smdp_address))
        .ok_or_else(|| Es9Error::InvalidSmdpAddress {
            received: smdp_address.to_owned(),
            configured: ctx.addresses.join(", "),
        })?
        .clone();
    let euicc_challenge: [u8; 16] = euicc_challenge
        .try_into()
        .map_err(|_| Es9Error::InvalidField { field: "euiccChallenge", detail: "must be 16 bytes".into() })?;
    let info1: EuiccInfo1 =
        decode(euicc_info1).map_err(|e| Es9Error::InvalidField { field: "euiccInfo1", detail: e.to_string() })?;

    // SVN: this SM-DP+ implements v2 and accepts v3 eUICCs (they fall back to the v2 functions).
    let svn = &info1.svn;
    if !(2..=3).contains(&svn[0]) {
        return Err(Es9Error::UnsupportedSvn { svn: format!("{}.{}.{}", svn[0], svn[1], svn[2]) });
    }

    let chosen = choose_credentials(ctx, &info1)?;
    check_open_sessions(ctx, repo)?;
    let transaction_id = TransactionId::generate().map_err(Es9Error::internal)?;
    let mut server_challenge = [0u8; 16];
    openssl::rand::rand_bytes(&mut server_challenge).map_err(Es9Error::internal)?;

    let server_signed1 = encode(&ServerSigned1 {
        transaction_id: (&transaction_id).into(),
        euicc_challenge: euicc_challenge.into(),
        server_address: Utf8String::from(server_address.as_str()),
        server_challenge: server_challenge.into(),
    })
    .map_err(Es9Error::internal)?;
    let signature = ctx.keys.sign(&chosen.dpauth_key(), &server_signed1).map_err(Es9Error::internal)?;

    let timeout_ms = i64::try_from(ctx.session_timeout.as_millis()).unwrap_or(i64::MAX);
    repo.insert_session(&NewSession {
        transaction_id: transaction_id.clone(),
        server_address,
        curve: chosen.curve,
        ci_pkid: chosen.ci_pkid.clone(),
        server_challenge,
        euicc_challenge,
        expires_at: unix_ms(now).saturating_add(timeout_ms),
    })?;

    Ok(InitiateAuthenticationOk {
        transaction_id,
        server_signed1,
        server_signature1: tlv::encode(Tag(0x5F37), &signature.0),
        euicc_ci_pkid_to_be_used: tlv::encode(Tag(0x04), &chosen.ci_pkid),
        server_certificate: chosen.dpauth_certificate.clone(),
    })
}

/// How long a caller refused by [`check_open_sessions`] is asked to wait.
const BUSY_RETRY_AFTER_SECS: u64 = 60;

/// Issue 10 item 4: a session row is the one thing an anonymous InitiateAuthentication leaves behind, so sessions
/// that have not bound an order are capped (`limits.max_open_sessions`). The count and the insert are not one
/// transaction: concurrent requests may pass the cap by a few rows.
fn check_open_sessions(ctx: &SmdpContext, repo: &dyn DownloadRepository) -> Result<(), Es9Error> {
    let Some(max) = ctx.max_unbound_sessions else { return Ok(()) };
    if repo.count_unbound_sessions()? >= max {
        return Err(Es9Error::Busy { retry_after_secs: BUSY_RETRY_AFTER_SECS });
    }
    Ok(())
}

/// Picks the DPauth/DPpb credentials (§5.6.1): the eUICC must be able to verify them
/// (`euiccCiPKIdListForVerification`) and sign with a chain to the same CI (`euiccCiPKIdListForSigning`,
/// whose order gives the eUICC's preference). A CI in the verification list only is accepted when no CI
/// is in both. None → 8.8.2/3.1.
fn choose_credentials<'c>(ctx: &'c SmdpContext, info1: &EuiccInfo1) -> Result<&'c DpCredentials, Es9Error> {
    let verification = &info1.euicc_ci_pkid_list_for_verification;
    let signing = &info1.euicc_ci_pkid_list_for_signing;
    let in_list = |list: &[OctetString], c: &DpCredentials| list.iter().any(|p| p.as_ref() == c.ci_pkid.as_slice());
    let both = signing
        .iter()
        .find_map(|p| ctx.credentials.iter().find(|c| c.ci_pkid == p.as_ref() && in_list(verification, c)));
    let verifiable = || verification.iter().find_map(|p| ctx.credentials.iter().find(|c| c.ci_pkid == p.as_ref()));
    both.or_else(verifiable).ok_or_else(|| Es9Error::NoCommonCi {
        offered: verification.iter().chain(signing.iter()).map(hex::encode).collect::<Vec<_>>().join(", "),
    })
}
