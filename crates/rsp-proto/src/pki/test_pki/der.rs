//! The few DER encodings the openssl crate has no builder for: CertificatePolicies
//! (RFC 5280 §4.2.1.4) with one policy OID and no qualifiers, and NameConstraints
//! (RFC 5280 §4.2.1.10) with one permitted directoryName — the two shapes SGP.22 v2.5 §4.5.2
//! uses (role policy of every RSP certificate; permitted EID range of an EUM).

const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;
/// `permittedSubtrees [0] GeneralSubtrees` (IMPLICIT, constructed).
const PERMITTED_SUBTREES: u8 = 0xA0;
/// `directoryName [4] Name`; Name is a CHOICE, so the tag is EXPLICIT (constructed).
const DIRECTORY_NAME: u8 = 0xA4;

/// `certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation` with one
/// `PolicyInformation ::= SEQUENCE { policyIdentifier }`. `None` if `oid` is not dotted decimal.
pub(crate) fn certificate_policies(oid: &str) -> Option<Vec<u8>> {
    let policy_information = tlv(SEQUENCE, &tlv(OBJECT_IDENTIFIER, &oid_content(oid)?));
    Some(tlv(SEQUENCE, &policy_information))
}

/// `NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees }` with one
/// `GeneralSubtree ::= SEQUENCE { base GeneralName }` whose base is `directoryName`;
/// `name_der` is the DER of the Name (an RDNSequence).
pub(crate) fn name_constraints_permitted_dir_name(name_der: &[u8]) -> Vec<u8> {
    let general_subtree = tlv(SEQUENCE, &tlv(DIRECTORY_NAME, name_der));
    tlv(SEQUENCE, &tlv(PERMITTED_SUBTREES, &general_subtree))
}

/// Tag, minimal DER length, content (the shared [`crate::codec::tlv`] builder).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    crate::codec::tlv::encode(crate::codec::tlv::Tag(u32::from(tag)), content)
}

/// Content octets of an OBJECT IDENTIFIER (X.690 §8.19): first two arcs as 40·a + b, then each
/// arc in base 128, high bit set on all but the last octet.
fn oid_content(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse::<u64>().ok()).collect::<Option<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
        return None;
    }
    let first = arcs[0].checked_mul(40)?.checked_add(arcs[1])?;
    let mut out = Vec::new();
    for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers: extension values of the public SGP.26 test EUM certificate
    // (CERT_EUM_ECDSA_NIST.der), read with `openssl asn1parse`.

    #[test]
    fn certificate_policies_matches_sgp26_eum() {
        assert_eq!(hex::encode_upper(certificate_policies("2.23.146.1.2.1.2").unwrap()), "300B3009060767811201020102");
    }

    #[test]
    fn name_constraints_matches_sgp26_eum() {
        // Name: O = "RSP Test EUM" (UTF8String), serialNumber = "89049032" (PrintableString).
        let name =
            hex::decode("302A31153013060355040A0C0C52535020546573742045554D3111300F060355040513083839303439303332")
                .unwrap();
        assert_eq!(
            hex::encode_upper(name_constraints_permitted_dir_name(&name)),
            "3032A030302EA42C302A31153013060355040A0C0C52535020546573742045554D31\
             11300F060355040513083839303439303332"
        );
    }

    #[test]
    fn long_lengths_and_large_arcs() {
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0u8; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(oid_content("2.999.10").unwrap(), [0x88, 0x37, 0x0a]);
        assert_eq!(oid_content("1.2.840.10045.4.3.2").unwrap(), hex::decode("2a8648ce3d040302").unwrap());
        assert_eq!(oid_content("1"), None);
        assert_eq!(oid_content("1.40"), None);
        assert_eq!(oid_content("1.x"), None);
    }
}
