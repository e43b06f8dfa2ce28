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
        tree::check_deep(&element).map_err(malformed)?;
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
    let missing = |field| ProfileError::MissingField { element_index: index, element: element.kind().spec_name(), field };
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
    })
}
