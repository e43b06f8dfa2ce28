//! An unprotected profile package (TCA SAIP v2.3 §8.1 "Profile Element" sequence, as carried in the SGP.22
//! §2.5.5 Unprotected Profile Package): a DER series of ProfileElement TLVs, ProfileHeader first and PE-End
//! last. Parsing checks that structure and reads the values rspd needs; encoding writes every element from
//! its raw bytes, so a parsed package re-encodes byte-identically.

use crate::codec::tlv::{self, Tag};

use super::aka::AkaParameter;
use super::elements::{ProfileElement, ProfileElementKind};
use super::error::ProfileError;
use super::files;
use super::header::ProfileHeader;
use super::identities::{Iccid, Imsi};
use super::pins::{self, PinConfiguration, PukConfiguration};
use super::tree;

/// Most profile elements in one package (issue 10 item 8). Real profiles have tens to a few hundred (TCA SAIP
/// v2.3 §8.1); the cap bounds what one upload makes the parser hold.
pub const MAX_PROFILE_ELEMENTS: usize = 4096;
/// Deepest nesting of constructed TLVs inside one profile element. SAIP elements nest about eight levels; the cap
/// bounds the strict-DER walk of [`tree::check_deep_bounded`].
pub const MAX_NESTING_DEPTH: usize = 64;

/// `PEHeader [0]` at the start of every element but the ProfileHeader, and its `identification [1]`.
const PE_HEADER: Tag = Tag(0xA0);
const PE_HEADER_IDENTIFICATION: Tag = Tag(0x81);

/// A checked profile package: its elements (raw bytes kept) and the values read from them.
#[derive(Debug, Clone)]
pub struct ProfilePackage {
    elements: Vec<ProfileElement>,
    header: ProfileHeader,
    ef_iccid: Option<Iccid>,
    imsi: Option<Imsi>,
    aka_parameters: Vec<AkaParameter>,
    pin_codes: Vec<PinConfiguration>,
    puk_codes: Vec<PukConfiguration>,
}

impl ProfilePackage {
    /// Parses and checks an unprotected profile package (strict DER, see [`crate::codec::tlv`]):
    /// every element a TLV whose tag is a ProfileElement alternative, the ProfileHeader first and only once,
    /// PE-End last with nothing after it, each element's PEHeader and the mandatory fields rspd reads present,
    /// the header ICCID (and EF.ICCID, which must name the same ICCID) and EF.IMSI valid.
    pub fn parse(der: &[u8]) -> Result<Self, ProfileError> {
        let elements = split_elements(der)?;
        ProfilePackage::from_elements(elements)
    }

    pub(crate) fn from_elements(elements: Vec<ProfileElement>) -> Result<Self, ProfileError> {
        let first = elements.first().ok_or(ProfileError::Empty)?;
        let header = ProfileHeader::read(first, 0)?;
        let mut package = ProfilePackage {
            header,
            ef_iccid: None,
            imsi: None,
            aka_parameters: Vec::new(),
            pin_codes: Vec::new(),
            puk_codes: Vec::new(),
            elements: Vec::new(),
        };
        for (index, element) in elements.iter().enumerate() {
            check_pe_header(element, index)?;
            match element.kind() {
                ProfileElementKind::Mf => {
                    let iccid = read_ef_iccid(element, index)?;
                    if package.ef_iccid.is_none() {
                        package.ef_iccid = iccid;
                    }
                }
                ProfileElementKind::Usim => {
                    let imsi = read_ef_imsi(element, index)?;
                    if package.imsi.is_none() {
                        package.imsi = imsi;
                    }
                }
                ProfileElementKind::AkaParameter => package.aka_parameters.push(AkaParameter::read(element, index)?),
                ProfileElementKind::PinCodes => package.pin_codes.extend(pins::read_pin_codes(element, index)?),
                ProfileElementKind::PukCodes => package.puk_codes.extend(pins::read_puk_codes(element, index)?),
                _ => {}
            }
        }
        if let Some(ef_iccid) = &package.ef_iccid {
            if *ef_iccid != package.header.iccid {
                return Err(ProfileError::IccidMismatch {
                    header: package.header.iccid.digits(),
                    ef_iccid: ef_iccid.digits(),
                });
            }
        }
        package.elements = elements;
        Ok(package)
    }

    /// The elements in order, each with its raw bytes.
    pub fn elements(&self) -> &[ProfileElement] {
        &self.elements
    }

    pub fn header(&self) -> &ProfileHeader {
        &self.header
    }

    /// The profile's ICCID (ProfileHeader `iccid`).
    pub fn iccid(&self) -> &Iccid {
        &self.header.iccid
    }

    /// The ICCID in EF.ICCID of the (first) PE-MF, when the package fills that file.
    pub fn ef_iccid(&self) -> Option<&Iccid> {
        self.ef_iccid.as_ref()
    }

    /// The IMSI in EF.IMSI of the (first) PE-USIM, when the package fills that file.
    pub fn imsi(&self) -> Option<&Imsi> {
        self.imsi.as_ref()
    }

    /// Every PE-AKAParameter (USIM, ISIM…), in package order.
    pub fn aka_parameters(&self) -> &[AkaParameter] {
        &self.aka_parameters
    }

    /// Every PINConfiguration of every PE-PINCodes, in package order.
    pub fn pin_codes(&self) -> &[PinConfiguration] {
        &self.pin_codes
    }

    /// Every PUKConfiguration of every PE-PUKCodes, in package order.
    pub fn puk_codes(&self) -> &[PukConfiguration] {
        &self.puk_codes
    }

    /// The package as DER: the elements' bytes one after the other.
    pub fn to_der(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.elements.iter().map(|e| e.raw().len()).sum());
        for element in &self.elements {
            out.extend_from_slice(element.raw());
        }
        out
    }
}

/// SAIP §8.1: cuts the package into ProfileElement TLVs, checking the header-first / end-last structure.
fn split_elements(der: &[u8]) -> Result<Vec<ProfileElement>, ProfileError> {
    if der.is_empty() {
        return Err(ProfileError::Empty);
    }
    let mut elements: Vec<ProfileElement> = Vec::new();
    let mut rest = der;
    let mut offset = 0;
    while !rest.is_empty() {
        let index = elements.len();
        if index >= MAX_PROFILE_ELEMENTS {
            return Err(ProfileError::TooManyElements { max: MAX_PROFILE_ELEMENTS });
        }
        let malformed = ProfileError::malformed(index, offset);
        let (element, after) = tlv::parse_first(rest).map_err(malformed)?;
        let kind = ProfileElementKind::from_tag(element.tag()).ok_or(ProfileError::NotAProfileElement {
            element_index: index,
            offset,
            tag: element.tag(),
        })?;
        match kind {
            ProfileElementKind::Header if index > 0 => {
                return Err(ProfileError::DuplicateHeader { element_index: index })
            }
            ProfileElementKind::Header => {}
            _ if index == 0 => return Err(ProfileError::MissingHeader { found: element.tag() }),
            _ => {}
        }
        tree::check_deep_bounded(&element, MAX_NESTING_DEPTH).map_err(|e| match e {
            tree::DeepError::Tlv(e) => malformed(e),
            tree::DeepError::TooDeep => {
                ProfileError::NestedTooDeep { element_index: index, offset, max: MAX_NESTING_DEPTH }
            }
        })?;
        elements.push(ProfileElement::new(kind, offset, element.raw().to_vec()));
        offset += element.raw().len();
        rest = after;
        if kind == ProfileElementKind::End {
            if !rest.is_empty() {
                return Err(ProfileError::TrailingData { offset, count: rest.len() });
            }
            return Ok(elements);
        }
    }
    Err(ProfileError::MissingEnd)
}

/// SAIP §8.1: every element but the ProfileHeader (and the RFU dummies) starts with a PEHeader carrying
/// `identification`.
fn check_pe_header(element: &ProfileElement, index: usize) -> Result<(), ProfileError> {
    if !element.kind().has_pe_header() {
        return Ok(());
    }
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    let missing =
        |field| ProfileError::MissingField { element_index: index, element: element.kind().spec_name(), field };
    let first = pe.children().map_err(malformed)?.into_iter().next().filter(|c| c.tag() == PE_HEADER);
    let header = first.ok_or(missing("PEHeader"))?;
    header.child(PE_HEADER_IDENTIFICATION).map_err(malformed)?.ok_or(missing("PEHeader.identification"))?;
    Ok(())
}

/// PE-MF `ef-iccid` (mandatory in PE-MF) and the ICCID it is filled with.
fn read_ef_iccid(element: &ProfileElement, index: usize) -> Result<Option<Iccid>, ProfileError> {
    let content = read_file(element, index, files::PE_MF_EF_ICCID, "ef-iccid")?;
    content
        .map(|c| {
            Iccid::from_ef_iccid(&c).map_err(|e| match e {
                ProfileError::InvalidIccid { reason } => {
                    ProfileError::BadIccid { element_index: index, field: "EF.ICCID", reason }
                }
                other => other,
            })
        })
        .transpose()
}

/// PE-USIM `ef-imsi` (mandatory in PE-USIM) and the IMSI it is filled with.
fn read_ef_imsi(element: &ProfileElement, index: usize) -> Result<Option<Imsi>, ProfileError> {
    let content = read_file(element, index, files::PE_USIM_EF_IMSI, "ef-imsi")?;
    content
        .map(|c| {
            Imsi::from_ef_imsi(&c).map_err(|e| match e {
                ProfileError::InvalidImsi { reason } => ProfileError::BadImsi { element_index: index, reason },
                other => other,
            })
        })
        .transpose()
}

fn read_file(
    element: &ProfileElement,
    index: usize,
    file_tag: Tag,
    field: &'static str,
) -> Result<Option<Vec<u8>>, ProfileError> {
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    let file = pe.child(file_tag).map_err(malformed)?.ok_or(ProfileError::MissingField {
        element_index: index,
        element: element.kind().spec_name(),
        field,
    })?;
    files::content(&file).map_err(|e| match e {
        files::ContentError::Tlv(source) => malformed(source),
        files::ContentError::BadOffset => ProfileError::BadField {
            element_index: index,
            element: element.kind().spec_name(),
            field,
            reason: "fillFileOffset is not a UInt16",
        },
        files::ContentError::TooLarge => ProfileError::BadField {
            element_index: index,
            element: element.kind().spec_name(),
            field,
            reason: "fillFileOffset/fillFileContent reach past 65535 bytes, the largest file size",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tlv::{encode, TlvError};

    const ICCID: &str = "89000123456789012341";

    fn header(iccid_field: &[u8]) -> Vec<u8> {
        let fields: Vec<Vec<u8>> = vec![
            encode(Tag(0x80), &[2]),
            encode(Tag(0x81), &[3]),
            encode(Tag(0x83), iccid_field),
            encode(Tag(0xA5), &[]),
            encode(Tag(0xA6), &[]),
        ];
        tlv::encode_constructed(Tag(0xA0), fields.iter().map(Vec::as_slice))
    }

    fn pe_header(id: u8) -> Vec<u8> {
        encode(PE_HEADER, &encode(PE_HEADER_IDENTIFICATION, &[id]))
    }

    fn end() -> Vec<u8> {
        encode(Tag(0xAA), &pe_header(9))
    }

    /// PE-MF holding only its PEHeader and an EF.ICCID filled with `ef_iccid`.
    fn mf(ef_iccid: &[u8]) -> Vec<u8> {
        let file = encode(Tag(0xA4), &encode(Tag(0x83), ef_iccid));
        tlv::encode_constructed(Tag(0xB0), [pe_header(1).as_slice(), &file])
    }

    fn package(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn good_header() -> Vec<u8> {
        header(&Iccid::new(ICCID).unwrap().to_header_bytes())
    }

    #[test]
    fn minimal_package_parses_and_reencodes() {
        let der = package(&[good_header(), mf(&Iccid::new(ICCID).unwrap().to_ef_iccid()), end()]);
        let p = ProfilePackage::parse(&der).unwrap();
        assert_eq!(p.iccid().digits(), ICCID);
        assert_eq!(p.ef_iccid(), Some(p.iccid()));
        assert_eq!(p.imsi(), None);
        assert_eq!(p.elements().len(), 3);
        assert_eq!(p.to_der(), der);
    }

    #[test]
    fn rejects_empty_and_truncated_input() {
        assert_eq!(ProfilePackage::parse(&[]).unwrap_err(), ProfileError::Empty);
        let der = package(&[good_header(), end()]);
        let cut = &der[..der.len() - 1];
        let header_len = good_header().len();
        assert_eq!(
            ProfilePackage::parse(cut).unwrap_err(),
            ProfileError::Malformed {
                element_index: 1,
                offset: header_len,
                source: TlvError::Truncated { offset: 0, needed: 1 }
            }
        );
        // Cut at an element boundary: the package just stops.
        assert_eq!(ProfilePackage::parse(&good_header()).unwrap_err(), ProfileError::MissingEnd);
    }

    #[test]
    fn rejects_trailing_garbage() {
        let mut der = package(&[good_header(), end()]);
        let len = der.len();
        der.extend_from_slice(&[0x00, 0xFF]);
        assert_eq!(ProfilePackage::parse(&der).unwrap_err(), ProfileError::TrailingData { offset: len, count: 2 });
        // Even a well-formed element after PE-End.
        let der = package(&[good_header(), end(), end()]);
        assert!(matches!(ProfilePackage::parse(&der), Err(ProfileError::TrailingData { .. })));
    }

    #[test]
    fn rejects_missing_or_repeated_header() {
        assert_eq!(
            ProfilePackage::parse(&package(&[end()])).unwrap_err(),
            ProfileError::MissingHeader { found: Tag(0xAA) }
        );
        assert_eq!(
            ProfilePackage::parse(&package(&[good_header(), good_header(), end()])).unwrap_err(),
            ProfileError::DuplicateHeader { element_index: 1 }
        );
    }

    #[test]
    fn rejects_bad_iccids() {
        let mut wrong_luhn = Iccid::new(ICCID).unwrap().to_header_bytes();
        wrong_luhn[9] ^= 0x01;
        assert!(matches!(
            ProfilePackage::parse(&package(&[header(&wrong_luhn), end()])),
            Err(ProfileError::BadIccid { element_index: 0, field: "ProfileHeader.iccid", .. })
        ));
        assert!(matches!(
            ProfilePackage::parse(&package(&[header(&[0x89; 9]), end()])),
            Err(ProfileError::BadIccid { .. })
        ));
        // EF.ICCID naming another ICCID than the header.
        let other = Iccid::new("8944501234567890124").unwrap();
        assert!(matches!(
            ProfilePackage::parse(&package(&[good_header(), mf(&other.to_ef_iccid()), end()])),
            Err(ProfileError::IccidMismatch { .. })
        ));
        // EF.ICCID not BCD.
        assert!(matches!(
            ProfilePackage::parse(&package(&[good_header(), mf(&[0xAB; 10]), end()])),
            Err(ProfileError::BadIccid { element_index: 1, field: "EF.ICCID", .. })
        ));
    }

    #[test]
    fn rejects_missing_mandatory_fields() {
        let no_iccid = tlv::encode_constructed(
            Tag(0xA0),
            [
                encode(Tag(0x80), &[2]).as_slice(),
                &encode(Tag(0x81), &[3]),
                &encode(Tag(0xA5), &[]),
                &encode(Tag(0xA6), &[]),
            ],
        );
        assert_eq!(
            ProfilePackage::parse(&package(&[no_iccid, end()])).unwrap_err(),
            ProfileError::MissingField { element_index: 0, element: "ProfileHeader", field: "iccid" }
        );
        let end_without_pe_header = encode(Tag(0xAA), &[]);
        assert_eq!(
            ProfilePackage::parse(&package(&[good_header(), end_without_pe_header])).unwrap_err(),
            ProfileError::MissingField { element_index: 1, element: "PE-End", field: "PEHeader" }
        );
    }

    #[test]
    fn rejects_what_is_not_a_profile_element_or_not_der() {
        let der = package(&[good_header(), encode(Tag(0x30), &[]), end()]);
        assert!(matches!(
            ProfilePackage::parse(&der),
            Err(ProfileError::NotAProfileElement { element_index: 1, tag: Tag(0x30), .. })
        ));
        // A non-minimal length deep inside the header.
        let mut der = package(&[good_header(), end()]);
        let h = good_header();
        der.splice(2..5, [0x80, 0x81, 0x01]);
        der[1] += 1;
        assert_eq!(h[2..5], [0x80, 0x01, 0x02]);
        assert!(matches!(
            ProfilePackage::parse(&der),
            Err(ProfileError::Malformed { element_index: 0, source: TlvError::NonMinimalLength { .. }, .. })
        ));
    }
}
