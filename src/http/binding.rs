//! What every HTTP binding of rspd shares, once: the `X-Admin-Protocol` header (SGP.22 v2.5 §6.5.1, SGP.32 v1.2
//! §6.3), JSON request bodies, base64 and hex fields, and running store work off the async workers. Each binding
//! (ES9+, ES2+, ESipa JSON and ASN.1, the fleet and inventory APIs) maps these errors to its own status codes.

use actix_web::{web, HttpRequest};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The version rspd answers with (SGP.22 v2.5 §6.5.1.1: `X-Admin-Protocol: gsma/rsp/v<x.y.z>`).
pub const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.5.0";

/// Why a request's `X-Admin-Protocol` is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminProtocolError {
    /// Absent where the binding requires it (the ESipa ASN.1 binding, INTEROP.md).
    Missing,
    /// Names a version rspd does not speak (the value as received, trimmed).
    Unsupported(String),
}

impl std::fmt::Display for AdminProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminProtocolError::Missing => f.write_str("X-Admin-Protocol header missing (SGP.32 v1.2 §6.3)"),
            AdminProtocolError::Unsupported(value) => write!(f, "unsupported X-Admin-Protocol {value:?}"),
        }
    }
}

/// Accepts any `gsma/rsp/v2.x.y` or `v3.x.y` (INTEROP.md: LPAs and IPAs send either); a missing header is an
/// error only when `required`.
pub fn check_admin_protocol(req: &HttpRequest, required: bool) -> Result<(), AdminProtocolError> {
    let Some(value) = req.headers().get("x-admin-protocol") else {
        return if required { Err(AdminProtocolError::Missing) } else { Ok(()) };
    };
    let value = value.to_str().unwrap_or_default().trim();
    let major = value.strip_prefix("gsma/rsp/v").and_then(|v| v.split('.').next());
    if matches!(major, Some("2") | Some("3")) {
        Ok(())
    } else {
        Err(AdminProtocolError::Unsupported(value.to_owned()))
    }
}

/// A JSON body that does not decode: where (the field path, empty at the top) and serde's own words.
#[derive(Debug)]
pub struct JsonBodyError {
    pub path: String,
    pub error: serde_json::Error,
}

impl JsonBodyError {
    /// A value of the wrong shape or content (as opposed to malformed JSON text).
    pub fn is_data(&self) -> bool {
        self.error.classify() == serde_json::error::Category::Data
    }
}

impl std::fmt::Display for JsonBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{}: {}", self.path, self.error)
        }
    }
}

/// Decodes a whole JSON body as `T` (trailing text after the value is refused), naming the field that failed.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonBodyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| JsonBodyError { path: e.path().to_string(), error: e.into_inner() })?;
    de.end().map_err(|error| JsonBodyError { path: String::new(), error })?;
    Ok(value)
}

/// A base64 field's bytes (standard alphabet, padded; surrounding white space ignored).
pub fn base64_bytes(value: &str) -> Result<Vec<u8>, String> {
    BASE64.decode(value.trim()).map_err(|e| format!("not base64: {e}"))
}

/// A hex field's bytes (either case; surrounding white space ignored).
pub fn hex_bytes(value: &str) -> Result<Vec<u8>, String> {
    hex::decode(value.trim()).map_err(|e| format!("not hex: {e}"))
}

/// Runs blocking work (diesel, crypto) on actix' blocking pool; `pool_failed` turns a failure of the pool itself
/// (the closure panicked or was cancelled) into the binding's internal error.
pub async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
    pool_failed: impl FnOnce(String) -> E,
) -> Result<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    web::block(f).await.unwrap_or_else(|e| Err(pool_failed(format!("blocking pool: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn admin_protocol_versions() {
        let with = |v: &str| TestRequest::default().insert_header(("X-Admin-Protocol", v)).to_http_request();
        assert_eq!(check_admin_protocol(&with("gsma/rsp/v2.1.0"), true), Ok(()));
        assert_eq!(check_admin_protocol(&with("gsma/rsp/v3.0.0"), true), Ok(()));
        assert_eq!(
            check_admin_protocol(&with("gsma/rsp/v1.0"), false),
            Err(AdminProtocolError::Unsupported("gsma/rsp/v1.0".into()))
        );
        let none = TestRequest::default().to_http_request();
        assert_eq!(check_admin_protocol(&none, false), Ok(()));
        assert_eq!(check_admin_protocol(&none, true), Err(AdminProtocolError::Missing));
    }

    #[test]
    fn json_errors_name_the_field_and_trailing_text_is_refused() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            a: u8,
        }
        let e = parse_json::<Body>(br#"{"a": "x"}"#).unwrap_err();
        assert!(e.is_data() && e.path == "a", "{e}");
        assert!(parse_json::<Body>(br#"{"a": 1} trailing"#).is_err());
        assert!(!parse_json::<Body>(b"{").unwrap_err().is_data());
        assert_eq!(parse_json::<Body>(br#"{"a": 1}"#).unwrap().a, 1);
    }
}

/// The JSON fields of an InitiateAuthentication answer (SGP.22 v2.5 §6.5.2.6), shared by ES9+ and the ESipa JSON
/// binding; `ci_field` is the binding's name for the CI to use (`euiccCiPKIdToBeUsed` on ES9+,
/// `euiccCiPKIdentifierToBeUsed` on ESipa, SGP.32 v1.2 §6.4).
pub fn initiate_authentication_fields(ok: &crate::smdp::es9::InitiateAuthenticationOk, ci_field: &str) -> Value {
    let mut fields = serde_json::json!({
        "transactionId": ok.transaction_id.to_hex(),
        "serverSigned1": BASE64.encode(&ok.server_signed1),
        "serverSignature1": BASE64.encode(&ok.server_signature1),
        "serverCertificate": BASE64.encode(&ok.server_certificate),
    });
    fields[ci_field] = Value::String(BASE64.encode(&ok.euicc_ci_pkid_to_be_used));
    fields
}

/// The JSON fields of an AuthenticateClient answer (SGP.22 v2.5 §6.5.2.8), shared by ES9+ and the ESipa JSON binding.
pub fn authenticate_client_fields(ok: &crate::smdp::es9::AuthenticateClientOk) -> Value {
    serde_json::json!({
        "transactionId": ok.transaction_id.to_hex(),
        "profileMetadata": BASE64.encode(&ok.profile_metadata),
        "smdpSigned2": BASE64.encode(&ok.smdp_signed2),
        "smdpSignature2": BASE64.encode(&ok.smdp_signature2),
        "smdpCertificate": BASE64.encode(&ok.smdp_certificate),
    })
}
