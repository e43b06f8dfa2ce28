//! Checks that need more than a type: ranges, formats, combinations of keys.
//! Files named by the config (certificates, keys) are read, and reported by key, when the
//! listeners are built (`http::tls`).

use super::error::ConfigError;
use super::model::Config;

pub(super) fn validate(c: &Config) -> Result<(), ConfigError> {
    tracing_subscriber::EnvFilter::try_new(&c.log.level)
        .map_err(|e| ConfigError::invalid("log.level", format!("`{}` is not a log filter: {e}", c.log.level)))?;

    if !(1..=1000).contains(&c.database.pool_size) {
        return Err(ConfigError::invalid("database.pool_size", "must be between 1 and 1000"));
    }
    if c.database.connect_timeout_secs == 0 {
        return Err(ConfigError::invalid("database.connect_timeout_secs", "must be at least 1"));
    }
    if c.workers > 1024 {
        return Err(ConfigError::invalid("workers", "must be between 0 (one per core) and 1024"));
    }

    for address in c.smdp_addresses() {
        check_smdp_address(&address).map_err(|m| ConfigError::invalid("smdp.addresses", m))?;
    }

    if !(60..=86_400).contains(&c.smdp.session_timeout_secs) {
        return Err(ConfigError::invalid(
            "smdp.session_timeout_secs",
            "must be between 60 and 86400 (sessions take minutes)",
        ));
    }
    if !(1..=3600).contains(&c.smdp.expiry_interval_secs) {
        return Err(ConfigError::invalid("smdp.expiry_interval_secs", "must be between 1 and 3600"));
    }
    for (name, creds) in [("nist", &c.smdp.nist), ("brainpool", &c.smdp.brainpool)] {
        let set = [&creds.dpauth_cert, &creds.dpauth_key, &creds.dppb_cert, &creds.dppb_key];
        if creds.is_configured() && set.iter().any(|f| f.is_none()) {
            return Err(ConfigError::invalid(
                format!("smdp.{name}"),
                "dpauth_cert, dpauth_key, dppb_cert and dppb_key go together",
            ));
        }
    }

    c.eim.validate()?;
    c.operator.progress.validate()?;
    c.retention.validate()?;
    c.content.validate()?;
    c.limits.validate()?;

    // Port 0 (any free port, used by tests) never clashes.
    let clash = |a: std::net::SocketAddr, b: std::net::SocketAddr| a == b && a.port() != 0;
    if clash(c.device.listen, c.operator.listen) {
        return Err(ConfigError::invalid("operator.listen", "must differ from device.listen"));
    }
    if let Some(m) = c.metrics.listen {
        if clash(m, c.device.listen) || clash(m, c.operator.listen) {
            return Err(ConfigError::invalid("metrics.listen", "must differ from the device and operator listeners"));
        }
    }
    if c.device.tls_cert.is_some() != c.device.tls_key.is_some() {
        return Err(ConfigError::invalid("device.tls_key", "device.tls_cert and device.tls_key go together"));
    }
    if c.operator.tls_cert.is_some() != c.operator.tls_key.is_some() {
        return Err(ConfigError::invalid("operator.tls_key", "operator.tls_cert and operator.tls_key go together"));
    }

    let mut seen = std::collections::HashSet::new();
    for (i, id) in c.operator.identities.iter().enumerate() {
        let key = format!("operator.identities[{i}]");
        if id.operator_id.is_empty()
            || !id.operator_id.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        {
            return Err(ConfigError::invalid(
                format!("{key}.operator_id"),
                "must be non-empty letters, digits, `.`, `_` or `-`",
            ));
        }
        match (&id.subject, &id.fingerprint_sha256) {
            (Some(subject), None) => {
                crate::pki::distinguished_name::DistinguishedName::parse(subject)
                    .map_err(|e| ConfigError::invalid(format!("{key}.subject"), e.to_string()))?;
            }
            (None, Some(fp)) => {
                normalize_fingerprint(fp).map_err(|m| ConfigError::invalid(format!("{key}.fingerprint_sha256"), m))?;
            }
            _ => return Err(ConfigError::invalid(key, "give exactly one of subject or fingerprint_sha256")),
        }
        let subject = id.subject.as_deref().map(crate::pki::distinguished_name::DistinguishedName::parse);
        let match_key = (subject, id.client_ca.clone(), id.fingerprint_sha256.as_deref().map(normalize_fingerprint));
        if !seen.insert(format!("{match_key:?}")) {
            return Err(ConfigError::invalid(key, "the same certificate is mapped twice"));
        }
    }
    Ok(())
}

/// `host` or `host:port`: a DNS name or IP literal, optional port 1–65535 (SGP.22 §4.1: the
/// SM-DP+ address of an activation code is a FQDN, some LPAs include a port).
fn check_smdp_address(address: &str) -> Result<(), String> {
    let (host, port) = match address.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (address, None),
    };
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(format!("`{address}`: bad port `{p}`")),
        }
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{address}` is not a host name with an optional :port"))
    }
}

/// Lower-case hex without separators, exactly 32 bytes.
pub fn normalize_fingerprint(fp: &str) -> Result<String, String> {
    let hex: String = fp.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err("must be 64 hex digits (SHA-256 of the certificate DER), colons allowed".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smdp_addresses() {
        assert!(check_smdp_address("smdp.example.com").is_ok());
        assert!(check_smdp_address("localhost:8443").is_ok());
        assert!(check_smdp_address("localhost:0").is_err());
        assert!(check_smdp_address("bad host").is_err());
        assert!(check_smdp_address("-x.example.com").is_err());
    }

    #[test]
    fn fingerprints() {
        let fp = "AB:".repeat(31) + "AB";
        assert_eq!(normalize_fingerprint(&fp).unwrap(), "ab".repeat(32));
        assert!(normalize_fingerprint("abc").is_err());
    }

    #[test]
    fn identity_needs_exactly_one_matcher() {
        let mut c = Config::default();
        c.operator.identities.push(crate::config::OperatorIdentityConfig {
            operator_id: "acme".into(),
            subject: None,
            fingerprint_sha256: None,
            ..Default::default()
        });
        assert_eq!(
            validate(&c).unwrap_err().to_string(),
            "operator.identities[0]: give exactly one of subject or fingerprint_sha256"
        );
    }

    #[test]
    fn identity_subjects_must_be_unambiguous_names() {
        let mut c = Config::default();
        c.operator.identities.push(crate::config::OperatorIdentityConfig {
            operator_id: "acme".into(),
            subject: Some("CN=acme+O=ACME".into()),
            ..Default::default()
        });
        assert_eq!(
            validate(&c).unwrap_err().to_string(),
            "operator.identities[0].subject: multi-valued RDN (`+`) is not accepted: it makes the name ambiguous"
        );
    }
}
