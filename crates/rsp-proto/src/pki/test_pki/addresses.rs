//! SM-DP+ addresses (`host` or `host:port`) → the subjectAltName entries of the DP TLS
//! certificate (SGP.22 v2.5 §4.5.2, TLS certificate of the SM-DP+). An IP literal becomes an
//! iPAddress, anything else a dNSName; `localhost`, `127.0.0.1` and `::1` are always added so a
//! local LPA or test client can connect.

use std::net::IpAddr;

use super::TestPkiError;

/// One subjectAltName entry of the DP TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsName {
    Dns(String),
    Ip(IpAddr),
}

impl TlsName {
    pub(crate) fn text(&self) -> String {
        match self {
            TlsName::Dns(d) => d.clone(),
            TlsName::Ip(ip) => ip.to_string(),
        }
    }
}

/// The names of the DP TLS certificate: the hosts of `addresses` in order, then the local names,
/// without duplicates. The first entry is the certificate's CN.
pub(crate) fn tls_names(addresses: &[String]) -> Result<Vec<TlsName>, TestPkiError> {
    let mut names: Vec<TlsName> = Vec::new();
    let local = [
        TlsName::Dns("localhost".to_string()),
        TlsName::Ip(IpAddr::from([127, 0, 0, 1])),
        TlsName::Ip(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
    ];
    for address in addresses {
        let name = parse_host(address)
            .map_err(|reason| TestPkiError::BadAddress { address: address.clone(), reason: reason.to_string() })?;
        names.push(name);
    }
    names.extend(local);
    let mut unique: Vec<TlsName> = Vec::with_capacity(names.len());
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    Ok(unique)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal → the host as a SAN entry.
fn parse_host(address: &str) -> Result<TlsName, &'static str> {
    let address = address.trim();
    if address.is_empty() {
        return Err("empty address");
    }
    let host = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("missing `]`")?;
        if !after.is_empty() {
            check_port(after.strip_prefix(':').ok_or("expected `:port` after `]`")?)?;
        }
        host
    } else if address.matches(':').count() > 1 {
        address // a bare IPv6 literal
    } else if let Some((host, port)) = address.split_once(':') {
        check_port(port)?;
        host
    } else {
        address
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(TlsName::Ip(ip));
    }
    if address.starts_with('[') || host.contains(':') {
        return Err("not an IPv6 address");
    }
    check_dns_name(host)?;
    Ok(TlsName::Dns(host.to_ascii_lowercase()))
}

fn check_port(port: &str) -> Result<(), &'static str> {
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(()),
        _ => Err("port must be a number from 1 to 65535"),
    }
}

/// A DNS host name as RFC 1123 allows it (letters, digits, hyphens; dot-separated labels).
fn check_dns_name(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    if host.len() > 253 {
        return Err("host name longer than 253 characters");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("host name has an empty or over-long label");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err("host name may hold only letters, digits, `-` and `.`");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(addresses: &[&str]) -> Vec<String> {
        let owned: Vec<String> = addresses.iter().map(|s| s.to_string()).collect();
        tls_names(&owned).unwrap().iter().map(TlsName::text).collect()
    }

    #[test]
    fn strips_ports_adds_local_names_and_deduplicates() {
        assert_eq!(
            texts(&["smdp.example.com:8443", "SMDP.example.com", "10.0.0.1:443", "localhost:8443"]),
            ["smdp.example.com", "10.0.0.1", "localhost", "127.0.0.1", "::1"]
        );
    }

    #[test]
    fn no_address_gives_local_names() {
        assert_eq!(texts(&[]), ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(texts(&["[2001:db8::1]:8443"])[0], "2001:db8::1");
        assert_eq!(texts(&["2001:db8::2"])[0], "2001:db8::2");
        assert_eq!(texts(&["[::1]"]), ["::1", "localhost", "127.0.0.1"]);
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in ["", "host:0", "host:99999", "host:x", "bad_host", "[::1", "-a.com", "a..b", "[zz]:1"] {
            let err = tls_names(&[bad.to_string()]).unwrap_err();
            assert!(matches!(err, TestPkiError::BadAddress { .. }), "{bad}: {err}");
        }
    }
}
