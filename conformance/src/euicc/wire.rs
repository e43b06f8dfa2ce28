//! Data-object helpers shared by the ES10b functions: the `5F37` signature DO (SGP.22 v2.5 §2.6.5, BSI TR-03111
//! `r||s`), the `04` OCTET STRING of `euiccCiPKIdToBeUsed` (§5.7.13), OIDs from certificate bytes.

use rasn::types::ObjectIdentifier;
use rsp_proto::codec::tlv::{self, Tag};

/// The 64-byte value of a `5F37` signature data object, or why it is not one.
pub fn signature_value(data_object: &[u8]) -> Result<&[u8], String> {
    let t = tlv::parse_single(data_object).map_err(|e| e.to_string())?;
    if t.tag() != Tag(0x5F37) {
        return Err(format!("expected a 5F37 signature data object, found tag {}", t.tag()));
    }
    Ok(t.value())
}

/// The value of a DER OCTET STRING (`04 L …`).
pub fn octet_string_value(der: &[u8]) -> Result<&[u8], String> {
    let t = tlv::parse_single(der).map_err(|e| e.to_string())?;
    if t.tag() != Tag(0x04) {
        return Err(format!("expected an OCTET STRING (04), found tag {}", t.tag()));
    }
    Ok(t.value())
}

/// An OID from its encoded contents (no tag, no length), as certificates carry it.
pub fn oid_from_contents(contents: &[u8]) -> Option<ObjectIdentifier> {
    rasn::der::decode::<ObjectIdentifier>(&tlv::encode(Tag(0x06), contents)).ok()
}
