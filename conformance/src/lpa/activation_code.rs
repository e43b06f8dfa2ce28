//! Activation codes (SGP.22 v2.5 §4.1): `LPA:1$<SM-DP+ address>$<matching ID>[$<SM-DP+ OID>[$<CC required flag>]]`.
//!
//! §4.1: the activation code is `AC_Format "$" SM-DP+ Address "$" AC_Token ["$" SM-DP+ OID ["$" Confirmation Code
//! Required Flag]]`, with AC_Format `1`; a QR code carries it after the `LPA:` scheme. The AC_Token is the
//! matchingId sent in ctxParams1 (§3.1.3). The flag is `1` when the end user must enter a confirmation code.
//!
//! Parsing is tolerant where real codes vary (no `LPA:` prefix, an empty OID field before the flag, further fields
//! added by later versions are ignored) and strict where a value would break the download (another format
//! version, an empty or malformed address, a malformed OID or flag). [`fmt::Display`] writes the minimal form: the
//! OID and flag fields only when they carry something (INTEROP: extra fields break some LPA parsers).

use std::fmt;
use std::str::FromStr;

/// Why a string is not an activation code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationCodeError {
    #[error("an activation code is `LPA:1$<SM-DP+ address>$<matching ID>`; `{0}` has no `$`-separated fields")]
    NotAnActivationCode(String),
    #[error("activation code format `{0}` is not supported (only AC_Format 1, SGP.22 §4.1)")]
    UnsupportedFormat(String),
    #[error("the activation code has no matching ID field (expected `LPA:1$<address>$<matching ID>`)")]
    MissingMatchingId,
    #[error("the SM-DP+ address is empty")]
    EmptyAddress,
    #[error("the SM-DP+ address `{0}` is not a host name with an optional port")]
    BadAddress(String),
    #[error("the SM-DP+ OID `{0}` is not a dotted object identifier")]
    BadOid(String),
    #[error("the confirmation code required flag is `{0}`; expected `1` (required) or `0`/empty")]
    BadConfirmationCodeFlag(String),
}

/// A checked activation code: once it exists, its address can be dialled and its matching ID sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    /// The SM-DP+ address as written (FQDN, optionally `:port`): the URL host and the `smdpAddress` sent.
    pub smdp_address: String,
    /// AC_Token: the matchingId of ctxParams1 (may be empty: some SM-DP+s accept a default profile).
    pub matching_id: String,
    /// The SM-DP+ OID, when the code names one (the LPA may compare it with the DPauth certificate).
    pub smdp_oid: Option<String>,
    /// The end user must enter a confirmation code (§3.1.3.1).
    pub confirmation_code_required: bool,
}

impl ActivationCode {
    /// Parses `LPA:1$address$matchingId[$oid[$ccFlag]]` (the `LPA:` prefix is optional).
    pub fn parse(text: &str) -> Result<Self, ActivationCodeError> {
        let trimmed = text.trim();
        let body = match trimmed.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("LPA:") => &trimmed[4..],
            _ => trimmed,
        };
        let mut fields = body.split('$');
        let format = fields.next().unwrap_or_default();
        let Some(address) = fields.next() else {
            return Err(ActivationCodeError::NotAnActivationCode(trimmed.to_string()));
        };
        if format != "1" {
            return Err(ActivationCodeError::UnsupportedFormat(format.to_string()));
        }
        let smdp_address = check_address(address)?;
        let matching_id = fields.next().ok_or(ActivationCodeError::MissingMatchingId)?.to_string();
        let smdp_oid = match fields.next() {
            None | Some("") => None,
            Some(oid) => Some(check_oid(oid)?),
        };
        let confirmation_code_required = match fields.next() {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(ActivationCodeError::BadConfirmationCodeFlag(other.to_string())),
        };
        // Later versions append fields (e.g. SGP.22 v3 adds more); they do not change an SGP.22 v2 download.
        Ok(ActivationCode { smdp_address, matching_id, smdp_oid, confirmation_code_required })
    }
}

impl FromStr for ActivationCode {
    type Err = ActivationCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ActivationCode {
    /// The minimal form: `LPA:1$address$matchingId`, then `$oid` and `$1` only when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LPA:1${}${}", self.smdp_address, self.matching_id)?;
        match (&self.smdp_oid, self.confirmation_code_required) {
            (None, false) => Ok(()),
            (Some(oid), false) => write!(f, "${oid}"),
            (None, true) => write!(f, "$$1"),
            (Some(oid), true) => write!(f, "${oid}$1"),
        }
    }
}

/// A host name or IP literal (`[v6]` bracketed) with an optional `:port`; no scheme, path or spaces.
fn check_address(address: &str) -> Result<String, ActivationCodeError> {
    if address.is_empty() {
        return Err(ActivationCodeError::EmptyAddress);
    }
    let bad = || ActivationCodeError::BadAddress(address.to_string());
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match address.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    let host_ok = !host.is_empty()
        && (address.starts_with('[')
            || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n != 0));
    if host_ok && port_ok {
        Ok(address.to_string())
    } else {
        Err(bad())
    }
}

/// Dotted decimal arcs, at least two.
fn check_oid(oid: &str) -> Result<String, ActivationCodeError> {
    let arcs: Vec<&str> = oid.split('.').collect();
    if arcs.len() >= 2 && arcs.iter().all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit())) {
        Ok(oid.to_string())
    } else {
        Err(ActivationCodeError::BadOid(oid.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_minimal_form() {
        let code = ActivationCode::parse("LPA:1$rsp.example.com$QR-G-5C-1LS-1W1Z9P7").unwrap();
        assert_eq!(code.smdp_address, "rsp.example.com");
        assert_eq!(code.matching_id, "QR-G-5C-1LS-1W1Z9P7");
        assert_eq!(code.smdp_oid, None);
        assert!(!code.confirmation_code_required);
        assert_eq!(code.to_string(), "LPA:1$rsp.example.com$QR-G-5C-1LS-1W1Z9P7");
    }

    #[test]
    fn keeps_the_port_in_the_address() {
        let code: ActivationCode = "LPA:1$localhost:8443$ID".parse().unwrap();
        assert_eq!(code.smdp_address, "localhost:8443");
        let v6 = ActivationCode::parse("LPA:1$[::1]:8443$ID").unwrap();
        assert_eq!(v6.smdp_address, "[::1]:8443");
        // Without the QR `LPA:` scheme, and with surrounding whitespace.
        assert_eq!(ActivationCode::parse(" 1$127.0.0.1:9443$ID\n").unwrap().smdp_address, "127.0.0.1:9443");
    }

    #[test]
    fn parses_oid_and_confirmation_code_flag() {
        let code = ActivationCode::parse("LPA:1$smdp.example$MID$1.3.6.1.4.1.31746$1").unwrap();
        assert_eq!(code.smdp_oid.as_deref(), Some("1.3.6.1.4.1.31746"));
        assert!(code.confirmation_code_required);
        assert_eq!(code.to_string(), "LPA:1$smdp.example$MID$1.3.6.1.4.1.31746$1");

        let no_oid = ActivationCode::parse("LPA:1$smdp.example$MID$$1").unwrap();
        assert_eq!(no_oid.smdp_oid, None);
        assert!(no_oid.confirmation_code_required);
        assert_eq!(no_oid.to_string(), "LPA:1$smdp.example$MID$$1");

        // An explicit 0 flag, an empty OID, and fields a later version appends: minimal form again.
        let extra = ActivationCode::parse("LPA:1$smdp.example$MID$$0$whatever").unwrap();
        assert_eq!(extra.to_string(), "LPA:1$smdp.example$MID");
        // An empty matching ID is kept (a default-profile order).
        assert_eq!(ActivationCode::parse("LPA:1$smdp.example$").unwrap().matching_id, "");
    }

    #[test]
    fn rejects_bad_codes_with_clear_errors() {
        use ActivationCodeError::*;
        let err = |s: &str| ActivationCode::parse(s).unwrap_err();
        assert_eq!(err("LPA:2$smdp.example$MID"), UnsupportedFormat("2".into()));
        assert_eq!(err("LPA:1$$MID"), EmptyAddress);
        assert_eq!(err("LPA:1$smdp.example"), MissingMatchingId);
        assert!(matches!(err("hello"), NotAnActivationCode(_)));
        assert!(matches!(err("LPA:1$https://smdp.example/x$MID"), BadAddress(_)));
        assert!(matches!(err("LPA:1$smdp example$MID"), BadAddress(_)));
        assert!(matches!(err("LPA:1$smdp.example:99999$MID"), BadAddress(_)));
        assert!(matches!(err("LPA:1$smdp.example$MID$not-an-oid"), BadOid(_)));
        assert!(matches!(err("LPA:1$smdp.example$MID$$yes"), BadConfirmationCodeFlag(_)));
        assert!(err("LPA:2$a$b").to_string().contains("only AC_Format 1"));
    }
}
