//! The ProfileHeader element (TCA SAIP v2.3 §8.3 "ProfileHeader"): version, profile type and the profile's
//! ICCID, read with its mandatory fields checked, and the `iccid` field rewritten for personalization.

use crate::codec::tlv::{self, Tag, Tlv};

use super::elements::ProfileElement;
use super::error::ProfileError;
use super::identities::Iccid;

const MAJOR_VERSION: Tag = Tag(0x80);
const MINOR_VERSION: Tag = Tag(0x81);
const PROFILE_TYPE: Tag = Tag(0x82);
/// `iccid [3] OCTET STRING (SIZE (10))`.
pub(crate) const ICCID: Tag = Tag(0x83);
const EUICC_MANDATORY_SERVICES: Tag = Tag(0xA5);
const EUICC_MANDATORY_GFSTE_LIST: Tag = Tag(0xA6);

const NAME: &str = "ProfileHeader";

/// What rspd reads from a ProfileHeader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileHeader {
    pub major_version: u8,
    pub minor_version: u8,
    /// `profileType`, e.g. "GSMA Generic eUICC Test Profile".
    pub profile_type: Option<String>,
    /// `iccid`: plain BCD digits, 'F'-padded.
    pub iccid: Iccid,
}

impl ProfileHeader {
    /// Reads element `index` (the package's first) as a ProfileHeader.
    pub(crate) fn read(element: &ProfileElement, index: usize) -> Result<Self, ProfileError> {
        let malformed = ProfileError::malformed(index, element.offset());
        let pe = element.tlv().map_err(malformed)?;
        let children = pe.children().map_err(malformed)?;
        let field = |tag: Tag, name: &'static str| -> Result<Tlv<'_>, ProfileError> {
            children.iter().find(|c| c.tag() == tag).copied().ok_or(ProfileError::MissingField {
                element_index: index,
                element: NAME,
                field: name,
            })
        };
        let bad = |field: &'static str, reason: &'static str| ProfileError::BadField {
            element_index: index,
            element: NAME,
            field,
            reason,
        };
        let uint8 = |t: Tlv<'_>, name: &'static str| -> Result<u8, ProfileError> {
            super::tree::uint(t.value())
                .and_then(|v| u8::try_from(v).ok())
                .ok_or_else(|| bad(name, "not an INTEGER 0..255"))
        };
        let major_version = uint8(field(MAJOR_VERSION, "major-version")?, "major-version")?;
        let minor_version = uint8(field(MINOR_VERSION, "minor-version")?, "minor-version")?;
        let profile_type = match children.iter().find(|c| c.tag() == PROFILE_TYPE) {
            Some(t) => Some(std::str::from_utf8(t.value()).map_err(|_| bad("profileType", "not UTF-8"))?.to_owned()),
            None => None,
        };
        let iccid_field = field(ICCID, "iccid")?;
        let iccid = Iccid::from_header_bytes(iccid_field.value()).map_err(|e| match e {
            ProfileError::InvalidIccid { reason } => {
                ProfileError::BadIccid { element_index: index, field: "ProfileHeader.iccid", reason }
            }
            other => other,
        })?;
        field(EUICC_MANDATORY_SERVICES, "eUICC-Mandatory-services")?;
        field(EUICC_MANDATORY_GFSTE_LIST, "eUICC-Mandatory-GFSTEList")?;
        Ok(ProfileHeader { major_version, minor_version, profile_type, iccid })
    }

    /// The header element with `iccid` replaced; every other field keeps its bytes.
    pub(crate) fn with_iccid(element: &ProfileElement, index: usize, iccid: &Iccid) -> Result<Vec<u8>, ProfileError> {
        let pe = element.tlv().map_err(ProfileError::malformed(index, element.offset()))?;
        let mut edit = |t: &Tlv<'_>| -> Result<Option<Vec<u8>>, ProfileError> {
            Ok(Some(tlv::encode(t.tag(), &iccid.to_header_bytes())))
        };
        let (bytes, _) =
            super::tree::rewrite(&pe, &[ICCID], &mut edit, &ProfileError::malformed(index, element.offset()))?;
        Ok(bytes)
    }
}
