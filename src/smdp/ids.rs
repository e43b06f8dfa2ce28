//! The SM-DP+ address rule of SGP.22 v2.5 (§5.6.1 / §5.6.3: the address an LPA sent must be the SM-DP+'s own).
//! The checked identifiers themselves live in the wire-format crate (`rsp_proto::ids`).

pub use rsp_proto::ids::{ActivationCode, Eid, MatchingId, TransactionId};

/// Whether the address an LPA sent (`smdpAddress`, `serverAddress`) is `configured`: host compared
/// case-insensitively, the port (when present) exactly, and a port on one side only is a mismatch.
pub fn same_smdp_address(configured: &str, received: &str) -> bool {
    fn split(a: &str) -> (&str, Option<&str>) {
        match a.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            _ => (a, None),
        }
    }
    let (ch, cp) = split(configured.trim());
    let (rh, rp) = split(received.trim());
    ch.eq_ignore_ascii_case(rh) && cp == rp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_host_case_insensitively_with_port() {
        assert!(same_smdp_address("localhost:8443", "LocalHost:8443"));
        assert!(!same_smdp_address("localhost:8443", "localhost:8444"));
        assert!(!same_smdp_address("localhost:8443", "localhost"));
        assert!(same_smdp_address("smdp.example.com", "SMDP.example.COM"));
    }
}
